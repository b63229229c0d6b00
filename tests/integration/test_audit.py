"""The audit trail (docs/auth.md): one row per read and change of patient data, login, logout, token and
user administration, with the user, the request id of the response, the client address and the outcome
(success, failure, denied); the app's role may only SELECT and INSERT it; `fv-admin audit verify` finds
an edited row and a deleted one (then the trail is restored exactly); `fv-admin audit export`; the
/admin/audit page and its filters."""

import datetime
import json
import re
import secrets
import unittest
import uuid

from fvtest import (API, AuthCase, Client, Page, User, UUID_RE, create_user, parse_ts, psql, qs, safe_dob,
                    same_form, sql_literal, stack_ctl, stack_ctl_run, uniq, user_name)

FIELDS = ("id", "chain", "seq", "at", "user_id", "username", "action", "entity_type", "entity_id",
          "request_id", "client_addr", "outcome", "mac")


class AuditCase(AuthCase):
    def event(self, resp, action, outcome="success", username=None, entity_id=None, entity_type=None, user=None):
        """The one audit row of resp's request with this action; checks its fields."""
        rows = self.audit_for_request(resp)
        mine = [r for r in rows if r["action"] == action]
        self.assertEqual(len(mine), 1, "%s: expected one %s row for request %s, got %s"
                         % (resp.describe(), action, resp.header("X-Request-Id"), rows))
        row = mine[0]
        self.assertEqual(row["outcome"], outcome, row)
        if user is not None:
            self.assertEqual(row["username"], user.name.lower(), row)
            self.assertEqual(row["user_id"], user.id, row)
        elif username is not None:
            self.assertEqual(row["username"], username, row)
        if entity_id is not None:
            self.assertEqual(row["entity_id"], entity_id, row)
        if entity_type is not None:
            self.assertEqual(row["entity_type"], entity_type, row)
        self.assertEqual(row["request_id"], resp.header("X-Request-Id"), row)
        self.assertEqual(row["client_addr"], "127.0.0.1", row)
        self.assertRegex(row["chain"], UUID_RE)
        self.assertGreater(int(row["seq"]), 0)
        self.assertTrue(row["mac"], row)
        at = row["at"]
        at = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else at
        self.assertLess(abs((datetime.datetime.now(datetime.timezone.utc) - at).total_seconds()), 300, row)
        return row

    def verify(self):
        p = stack_ctl_run("admin", "audit", "verify", timeout=120)
        return p.returncode, (p.stdout + "\n" + p.stderr)


class PatientEventsTest(AuditCase):
    def test_api_read(self):
        p = self.create_patient()
        r = self.get_patient(p["id"])
        self.assertStatus(r, 200)
        self.event(r, "patient.read", user=self.c.user, entity_id=p["id"], entity_type="patient")

    def test_page_read(self):
        p = self.create_patient()
        r = self.c.get("/patients/" + p["id"], headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.event(r, "patient.read", user=self.c.user, entity_id=p["id"], entity_type="patient")

    def test_request_id_from_client_is_recorded(self):
        p = self.create_patient()
        rid = "audit-" + uniq()
        r = self.get_patient(p["id"], headers={"X-Request-Id": rid})
        self.assertEqual(r.header("X-Request-Id"), rid)
        self.event(r, "patient.read", entity_id=p["id"])

    def test_lists(self):
        r = self.c.get(API + "/patients?limit=1")
        self.event(r, "patient.list", user=self.c.user)
        r = self.c.get("/patients", headers={"Accept": "text/html"})
        self.event(r, "patient.list", user=self.c.user)

    def test_api_changes(self):
        r = self.c.post(API + "/patients", json_body=self.valid_patient())
        self.assertStatus(r, 201)
        pid = r.json()["id"]
        self.event(r, "patient.create", user=self.c.user, entity_id=pid, entity_type="patient")
        r = self.c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "audited"})
        self.assertStatus(r, 200)
        self.event(r, "patient.update", user=self.c.user, entity_id=pid)
        r = self.c.delete("%s/patients/%s" % (API, pid))
        self.assertStatus(r, 204)
        self.event(r, "patient.archive", user=self.c.user, entity_id=pid)

    def test_page_changes(self):
        form = {"name": "Audit %s Roe" % uniq(), "date_of_birth": safe_dob().isoformat(), "sex": "male",
                "medical_record_number": "", "phone": "", "email": "", "notes": ""}
        _, r = self.c.submit_form("/patients/new", "/patients", form)
        self.assertStatus(r, 303)
        pid = r.location_path().rsplit("/", 1)[1]
        self.event(r, "patient.create", user=self.c.user, entity_id=pid)
        _, r = self.c.submit_form("/patients/%s/edit" % pid, "/patients/%s/edit" % pid, {"notes": "page audit"})
        self.assertStatus(r, 303)
        self.event(r, "patient.update", user=self.c.user, entity_id=pid)
        _, r = self.c.submit_form("/patients/" + pid, "/patients/%s/delete" % pid, {})
        self.assertStatus(r, 303)
        self.event(r, "patient.archive", user=self.c.user, entity_id=pid)

    def test_refused_change_is_not_recorded_as_success(self):
        p = self.create_patient()
        r = self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"date_of_birth": "nope"})
        self.assertStatus(r, 400)
        self.assertFalse([e for e in self.audit_for_request(r) if e["outcome"] == "success" and e["action"] == "patient.update"],
                         "a rejected update was audited as a success")
        r = self.c.post(API + "/patients", json_body=self.valid_patient(medical_record_number=p["medical_record_number"]))
        self.assertStatus(r, 409)
        self.assertFalse([e for e in self.audit_for_request(r) if e["outcome"] == "success"],
                         "a refused create was audited as a success")

    def test_viewer_denied(self):
        p = self.create_patient()
        v = self.as_role("viewer")
        r = v.patch("%s/patients/%s" % (API, p["id"]), json_body={"notes": "viewer"})
        self.assertStatus(r, 403)
        self.event(r, "patient.update", "denied", user=v.user, entity_id=p["id"])
        r = v.delete("%s/patients/%s" % (API, p["id"]))
        self.assertStatus(r, 403)
        self.event(r, "patient.archive", "denied", user=v.user, entity_id=p["id"])
        r = v.post(API + "/patients", json_body=self.valid_patient())
        self.assertStatus(r, 403)
        self.event(r, "patient.create", "denied", user=v.user)
        r = v.post("/patients/%s/edit" % p["id"], form={"notes": "viewer"}, headers={"Accept": "text/html"})
        self.assertStatus(r, 403)
        self.event(r, "patient.update", "denied", user=v.user, entity_id=p["id"])


class AuthEventsTest(AuditCase):
    def test_failed_login(self):
        user = create_user("viewer")
        name = "nobody-" + uniq()
        r = self.page_attempt(name, "wrong-password-1")
        self.assertStatus(r, 401)
        row = self.event(r, "auth.login", "failure", username=name)
        self.assertIsNone(row["user_id"])
        r = self.page_attempt(user.name, user.password + "x")
        self.assertStatus(r, 401)
        self.event(r, "auth.login", "failure", username=user.name)
        r = self.token_attempt(name, "wrong-password-2")
        self.assertStatus(r, 401)
        rows = [e for e in self.audit_for_request(r) if e["outcome"] == "failure"]
        self.assertEqual(len(rows), 1, "failed token request: %s" % rows)
        self.assertIn(rows[0]["action"], ("auth.login", "auth.token_create"))
        self.assertEqual(rows[0]["username"], name)

    def test_hostile_username_is_recorded_safely(self):
        for name in ("<script>alert(1)</script>", "x" * 2000, "quote' \"; --", "ünïcødé"):
            with self.subTest(name=name[:20]):
                r = self.page_attempt(name, "wrong-password-3")
                self.assertStatus(r, 401)
                self.assertNotIn("<script>alert(1)", r.text)
                rows = self.audit_for_request(r)
                self.assertEqual([e["outcome"] for e in rows if e["action"] == "auth.login"], ["failure"], rows)
        admin = self.as_role("admin")
        r = admin.get("/admin/audit?" + qs({"user": "<script>alert(1)</script>"}), headers={"Accept": "text/html"})
        self.assertIn(r.status, (200, 400), r)  # not a valid user name: refusing the filter is fine
        self.assertNotIn("<script>alert(1)", r.text)
        r = admin.get("/admin/audit", headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertNotIn("<script>alert(1)", r.text)

    def test_login_token_logout(self):
        user = create_user("viewer")
        name = user.name.lower()
        rows = []
        c = Client()
        _, r = c.session_login(user.name, user.password)
        self.assertStatus(r, 303)
        rows.append(self.event(r, "auth.login", username=name))
        c.fetch_csrf()
        r = self.token_attempt(user.name, user.password)
        self.assertStatus(r, 201)
        rows.append(self.event(r, "auth.token_create", username=name))
        tok = r.json()["token"]
        r = self.token_only(tok).delete(API + "/auth/token")
        self.assertStatus(r, 204)
        rows.append(self.event(r, "auth.token_revoke", username=name))
        _, r = c.submit_form("/patients", "/logout", {})
        self.assertStatus(r, 303)
        rows.append(self.event(r, "auth.logout", username=name))
        # the acting user is the user who logged in / asked for the token: user_id says who
        wrong = [(e["action"], e["user_id"]) for e in rows if e["user_id"] != user.id]
        self.assertEqual(wrong, [], "events whose user_id is not the user's id %s" % user.id)


class UserAdminEventsTest(AuditCase):
    def test_admin_page_user_events(self):
        admin = self.as_role("admin")
        name = user_name("aud")
        _, r = admin.submit_form("/admin/users", "/admin/users",
                                 {"username": name, "role": "viewer", "password": "pw-" + uniq()},
                                 form_filter=lambda f: "username" in {c["name"] for c in f["controls"]})
        self.assertIn(r.status, (200, 303), r)
        uid = psql("SELECT id FROM users WHERE username = %s" % sql_literal(name))
        row = self.event(r, "user.create", user=admin.user)
        self.assertIn(row["entity_id"], (uid, name), row)
        victim = User(name, "", "viewer")
        page = Page(admin.get("/admin/users", headers={"Accept": "text/html"}).text, "/admin/users")
        form = self.user_form(page, victim, "disable")
        _, r = admin.submit_form("/admin/users", form["action_path"], {}, form_filter=lambda f: same_form(f, form))
        self.assertIn(r.status, (200, 303), r)
        row = self.event(r, "user.disable", user=admin.user)
        self.assertIn(row["entity_id"], (uid, name), row)
        page = Page(admin.get("/admin/users", headers={"Accept": "text/html"}).text, "/admin/users")
        form = self.user_form(page, victim, "enable")
        _, r = admin.submit_form("/admin/users", form["action_path"], {}, form_filter=lambda f: same_form(f, form))
        self.assertIn(r.status, (200, 303), r)
        self.event(r, "user.enable", user=admin.user)

    def test_cli_user_administration_is_audited(self):
        before = int(psql("SELECT coalesce(max(id), 0) FROM audit_events"))
        user = create_user("viewer", prefix="cli")
        stack_ctl("admin", "user", "passwd", user.name, "--password-stdin", input="pw-" + uniq() + "-new")
        stack_ctl("admin", "user", "disable", user.name)
        stack_ctl("admin", "user", "enable", user.name)
        rows = self.audit_rows("id > %d AND (entity_id = %s OR entity_id = %s)"
                               % (before, sql_literal(user.id), sql_literal(user.name)))
        self.assertEqual([r["action"] for r in rows], ["user.create", "user.passwd", "user.disable", "user.enable"], rows)
        self.assertTrue(all(r["outcome"] == "success" for r in rows), rows)


class PrivilegesTest(AuditCase):
    def test_app_role_may_only_select_and_insert(self):
        for priv, want in (("SELECT", "t"), ("INSERT", "t"), ("UPDATE", "f"), ("DELETE", "f"), ("TRUNCATE", "f")):
            with self.subTest(priv):
                self.assertEqual(psql("SELECT has_table_privilege('fertivision', 'audit_events', '%s')" % priv), want)

    def test_app_role_cannot_change_rows(self):
        self.create_patient()
        for stmt in ("UPDATE audit_events SET action = action WHERE id = (SELECT max(id) FROM audit_events)",
                     "DELETE FROM audit_events WHERE id = -1",
                     "TRUNCATE audit_events"):
            with self.subTest(stmt.split()[0]):
                p = stack_ctl_run("psql", "-c", "BEGIN; SET ROLE fertivision; %s; ROLLBACK;" % stmt)
                self.assertNotEqual(p.returncode, 0, "the app's role could run: %s" % stmt)
                self.assertIn("permission denied", (p.stdout + p.stderr).lower())
        self.assertGreater(int(psql("SELECT count(*) FROM audit_events")), 0)


class VerifyTest(AuditCase):
    """Tampering with the trail (as superuser) and `fv-admin audit verify`. Every test restores the row
    it touched exactly (a copy in a scratch table), so the trail verifies again afterwards."""

    def setUp(self):
        super().setUp()
        p = self.create_patient()
        for _ in range(16):  # enough rows that every process's chain has a middle
            self.get_patient(p["id"])
        rc, out = self.verify()
        self.assertEqual(rc, 0, "verify fails before any tampering: %s" % out)
        self.saved = "fvtest_audit_saved_" + secrets.token_hex(4)

    def middle_row(self):
        out = psql("SELECT a.id, a.chain, a.seq FROM audit_events a WHERE a.seq > 1 AND EXISTS "
                   "(SELECT 1 FROM audit_events b WHERE b.chain = a.chain AND b.seq = a.seq + 1) "
                   "ORDER BY a.id DESC LIMIT 1")
        self.assertTrue(out, "no audit row with a successor in its chain")
        i, chain, seq = out.split("|")
        return int(i), chain, int(seq)

    def save(self, row_id):
        psql("CREATE TABLE %s AS SELECT * FROM audit_events WHERE id = %d" % (self.saved, row_id))
        self.addCleanup(psql, "DROP TABLE IF EXISTS %s" % self.saved)

    def restore_update(self, row_id):
        cols = [f for f in FIELDS if f != "id"]
        psql("UPDATE audit_events a SET (%s) = (SELECT %s FROM %s s WHERE s.id = a.id) WHERE a.id = %d"
             % (", ".join(cols), ", ".join("s." + c for c in cols), self.saved, row_id))

    def restore_insert(self):
        psql("INSERT INTO audit_events SELECT * FROM %s ON CONFLICT (id) DO NOTHING" % self.saved)

    def assertNames(self, out, value, what):
        """value appears in out as a word of its own (counts such as "1234 rows" do not count)."""
        stripped = re.sub(r"\b\d+ (rows?|chains?|problems?|events?)\b", "", out)
        self.assertRegex(stripped, r"(?<![0-9A-Za-z-])%s(?![0-9A-Za-z-])" % re.escape(str(value)),
                         "verify's output does not name %s %s: %r" % (what, value, out[-600:]))

    def test_edited_row_is_found(self):
        row_id, chain, seq = self.middle_row()
        self.save(row_id)
        try:
            psql("UPDATE audit_events SET action = 'x' WHERE id = %d" % row_id)
            rc, out = self.verify()
            self.assertNotEqual(rc, 0, "verify passes an edited row: %s" % out)
            self.assertEqual(rc, 1, "exit status 1 documented: %s" % out)
            self.assertNames(out, row_id, "the edited row id")
        finally:
            self.restore_update(row_id)
        rc, out = self.verify()
        self.assertEqual(rc, 0, "verify fails after the edit was undone: %s" % out)

    def test_every_field_is_covered_by_the_mac(self):
        edits = {
            "at": "at = at + interval '1 second'",
            "user_id": "user_id = CASE WHEN user_id IS NULL THEN gen_random_uuid() ELSE NULL END",
            "username": "username = coalesce(username, '') || 'x'",
            "entity_type": "entity_type = coalesce(entity_type, '') || 'x'",
            "entity_id": "entity_id = coalesce(entity_id, '') || 'x'",
            "request_id": "request_id = coalesce(request_id, '') || 'x'",
            "client_addr": "client_addr = coalesce(client_addr, '') || 'x'",
            "outcome": "outcome = CASE WHEN outcome = 'denied' THEN 'success' ELSE 'denied' END",
            "mac": "mac = md5(mac)",
        }
        row_id, chain, seq = self.middle_row()
        self.save(row_id)
        for field, sql in edits.items():
            with self.subTest(field=field):
                try:
                    psql("UPDATE audit_events SET %s WHERE id = %d" % (sql, row_id))
                    rc, out = self.verify()
                    self.assertNotEqual(rc, 0, "verify misses an edit of %s" % field)
                    self.assertNames(out, row_id, "the edited row id")
                finally:
                    self.restore_update(row_id)
        rc, out = self.verify()
        self.assertEqual(rc, 0, out)

    def test_deleted_row_is_found(self):
        row_id, chain, seq = self.middle_row()
        self.save(row_id)
        try:
            psql("DELETE FROM audit_events WHERE id = %d" % row_id)
            rc, out = self.verify()
            self.assertNotEqual(rc, 0, "verify passes a chain with a deleted row: %s" % out)
            self.assertEqual(rc, 1, "exit status 1 documented: %s" % out)
            self.assertNames(out, chain, "the chain")
            self.assertNames(out, seq, "the missing seq")
        finally:
            self.restore_insert()
        rc, out = self.verify()
        self.assertEqual(rc, 0, "verify fails after the row was put back: %s" % out)

    def test_failed_requests_leave_no_gap(self):
        """Requests that fail inside a transaction (409, 412, 400, 404) must not leave holes in a chain."""
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"notes": "1"})
        for _ in range(4):
            self.assertStatus(self.c.post(API + "/patients", json_body=self.valid_patient(
                medical_record_number=p["medical_record_number"])), 409)
            self.assertStatus(self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"notes": "2"},
                                           headers={"If-Match": etag}), 412)
            self.assertStatus(self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"sex": "x"}), 400)
            self.assertStatus(self.get_patient(str(uuid.uuid4())), 404)
            self.assertStatus(self.as_role("viewer").delete("%s/patients/%s" % (API, p["id"])), 403)
        self.get_patient(p["id"])
        rc, out = self.verify()
        self.assertEqual(rc, 0, out)


class ExportTest(AuditCase):
    def test_export_since(self):
        p = self.create_patient()
        for _ in range(3):
            self.get_patient(p["id"])
        since = int(psql("SELECT max(id) - 5 FROM audit_events"))
        out = stack_ctl("admin", "audit", "export", "--since", str(since))
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, "nothing exported")
        for ev in lines:
            for f in FIELDS:
                self.assertIn(f, ev, "exported event lacks %s: %r" % (f, ev))
        ids = [int(ev["id"]) for ev in lines]
        self.assertEqual(ids, sorted(set(ids)), "not ordered by id")
        self.assertGreaterEqual(min(ids), since)
        want = [int(x) for x in psql("SELECT id FROM audit_events WHERE id > %d ORDER BY id" % since).split()]
        self.assertTrue(set(want) <= set(ids), "missing: %s" % (set(want) - set(ids)))
        db = {int(r["id"]): r for r in self.audit_rows("id > %d" % since)}
        for ev in lines:
            if int(ev["id"]) not in db:
                continue
            row = db[int(ev["id"])]
            for f in ("chain", "user_id", "username", "action", "entity_type", "entity_id", "request_id",
                      "client_addr", "outcome", "mac"):
                self.assertEqual(ev[f], row[f], "field %s of event %s" % (f, ev["id"]))
            self.assertEqual(int(ev["seq"]), int(row["seq"]))
            self.assertEqual(parse_ts(ev["at"]).replace(microsecond=0),
                             datetime.datetime.fromisoformat(row["at"]).astimezone(datetime.timezone.utc).replace(microsecond=0))

    def test_export_all(self):
        out = stack_ctl("admin", "audit", "export")
        n = len([l for l in out.splitlines() if l.strip()])
        self.assertGreaterEqual(n, int(psql("SELECT count(*) FROM audit_events")))


class AuditPageTest(AuditCase):
    def test_filter_by_patient(self):
        admin = self.as_role("admin")
        r1 = self.c.post(API + "/patients", json_body=self.valid_patient())
        pid = r1.json()["id"]
        r2 = self.get_patient(pid)
        other = self.c.post(API + "/patients", json_body=self.valid_patient())
        r3 = self.get_patient(other.json()["id"])
        page_r = admin.get("/admin/audit?" + qs({"patient": pid}), headers={"Accept": "text/html"})
        self.assertStatus(page_r, 200)
        self.assertHTMLType(page_r)
        self.assertNoStore(page_r)
        text = Page(page_r.text).text
        for r in (r1, r2):
            self.assertIn(r.header("X-Request-Id"), text, "an event of the patient is missing")
        self.assertIn("patient.create", text)
        self.assertIn("patient.read", text)
        for r in (other, r3):
            self.assertNotIn(r.header("X-Request-Id"), text, "an event of another patient is shown")
        self.assertNotIn(other.json()["id"], text)
        self.event(page_r, "audit.read", user=admin.user)

    def test_filter_by_user(self):
        admin = self.as_role("admin")
        user, c = self.fresh("viewer", session=False)
        p = self.create_patient()
        mine = c.get("%s/patients/%s" % (API, p["id"]))
        theirs = self.get_patient(p["id"])
        page_r = admin.get("/admin/audit?" + qs({"user": user.name}), headers={"Accept": "text/html"})
        self.assertStatus(page_r, 200)
        text = Page(page_r.text).text
        self.assertIn(mine.header("X-Request-Id"), text)
        self.assertIn("auth.token_create", text)
        self.assertNotIn(theirs.header("X-Request-Id"), text, "another user's event is shown")
        self.assertNotIn(self.c.user.name, text)


if __name__ == "__main__":
    unittest.main()
