"""CSRF (docs/auth.md): every state-changing form carries a hidden csrf_token; a POST with a session but
a missing or wrong token is 403 with a page saying the form expired, and changes nothing; scripts send
the token as X-CSRF-Token on /api/v1/ requests authenticated by the session cookie; bearer-token
requests need none."""

import unittest

from fvtest import API, AuthCase, Client, Page, create_user, psql, safe_dob, same_form, sql_literal, uniq, user_name

WRONG_TOKENS = ("missing", "wrong", "other session's")


class CSRFCase(AuthCase):
    def bad_values(self, kind):
        """(values, drop) for submit_form: the form's csrf_token left out or replaced."""
        if kind == "missing":
            return {}, ("csrf_token",)
        if kind == "wrong":
            return {"csrf_token": "A" * 43}, ()
        other = self.as_role("viewer").csrf  # a real token, of another session
        self.assertNotEqual(other, self.c.csrf)
        return {"csrf_token": other}, ()

    def form_fields(self, tok):
        return {"name": "Csrf %s Roe" % tok, "date_of_birth": safe_dob().isoformat(), "sex": "female",
                "medical_record_number": "", "phone": "", "email": "", "notes": ""}


class PatientFormsTest(CSRFCase):
    def test_forms_carry_hidden_token(self):
        p = self.create_patient()
        for page_path, action in (("/patients/new", "/patients"), ("/patients/%s/edit" % p["id"], "/patients/%s/edit" % p["id"]),
                                  ("/patients/" + p["id"], "/patients/%s/delete" % p["id"]), ("/patients", "/logout")):
            with self.subTest(form=action):
                r = self.c.get(page_path, headers={"Accept": "text/html"})
                self.assertStatus(r, 200)
                page = Page(r.text, page_path)
                form = page.form(action, method="post")
                self.assertIsNotNone(form, "no POST form to %s on %s" % (action, page_path))
                ctl = page.control("csrf_token", form)
                self.assertIsNotNone(ctl, "the form posting to %s has no csrf_token" % action)
                self.assertEqual(ctl["type"], "hidden")
                self.assertEqual(ctl["value"], self.c.csrf, "not the session's token")

    def test_create(self):
        for kind in WRONG_TOKENS:
            with self.subTest(kind):
                tok = uniq()
                values, drop = self.bad_values(kind)
                values.update(self.form_fields(tok))
                _, r = self.c.submit_form("/patients/new", "/patients", values, drop=drop)
                self.assertStalePage(r)
                self.assertNoPatientWith(tok)
        tok = uniq()
        _, r = self.c.submit_form("/patients/new", "/patients", self.form_fields(tok))
        self.assertStatus(r, 303)
        self.assertEqual(len(self.api_ids_for(tok)), 1)

    def test_edit(self):
        p = self.create_patient()
        path = "/patients/%s/edit" % p["id"]
        for kind in WRONG_TOKENS:
            with self.subTest(kind):
                values, drop = self.bad_values(kind)
                values["notes"] = "csrf " + kind
                _, r = self.c.submit_form(path, path, values, drop=drop)
                self.assertStalePage(r)
                self.assertEqual(self.get_patient(p["id"]).json()["notes"], "", "a refused edit was saved")
        _, r = self.c.submit_form(path, path, {"notes": "with token"})
        self.assertStatus(r, 303)
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], "with token")

    def test_delete(self):
        p = self.create_patient()
        action = "/patients/%s/delete" % p["id"]
        for kind in WRONG_TOKENS:
            with self.subTest(kind):
                values, drop = self.bad_values(kind)
                _, r = self.c.submit_form("/patients/" + p["id"], action, values, drop=drop)
                self.assertStalePage(r)
                self.assertStatus(self.get_patient(p["id"]), 200, "a refused archive happened")
        _, r = self.c.submit_form("/patients/" + p["id"], action, {})
        self.assertStatus(r, 303)
        self.assertStatus(self.get_patient(p["id"]), 404)

    def test_token_is_per_session(self):
        user = create_user("viewer")
        a = self.anon().login_as(user, token=False)
        b = self.anon().login_as(user, token=False)
        self.assertTrue(a.csrf and b.csrf)
        self.assertNotEqual(a.csrf, b.csrf, "two sessions share a CSRF token")
        r = a.post("/logout", form={}, headers={"Accept": "text/html"}, csrf=b.csrf)
        self.assertStalePage(r)
        self.assertSessionWorks(a)

    def test_logout(self):
        for kind in ("missing", "wrong"):
            with self.subTest(kind):
                user, c = self.fresh("viewer", token=False)
                values, drop = self.bad_values(kind)
                _, r = c.submit_form("/patients", "/logout", values, drop=drop)
                self.assertStalePage(r)
                self.assertSessionWorks(c, "a refused logout ended the session")
        user, c = self.fresh("viewer", token=False)
        _, r = c.submit_form("/patients", "/logout", {})
        self.assertLocation(r, "/login")
        self.assertSessionEnded(c)


class AdminFormsTest(CSRFCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = Client().login("admin")

    def add_form(self):
        r = self.admin.get("/admin/users", headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        page = Page(r.text, "/admin/users")
        for f in page.forms:
            names = {c["name"] for c in f["controls"]}
            if f["method"] == "post" and "username" in names and "role" in names:
                return f
        self.fail("no POST form with username and role on /admin/users: %s" % page.forms)

    def add_values(self, name):
        vals = {"username": name, "role": "viewer"}
        names = {c["name"] for c in self.add_form()["controls"]}
        for pw in ("password", "password_confirm", "password2", "confirm_password"):
            if pw in names:
                vals[pw] = "pw-" + uniq() + "-long"
        if "password" in vals:
            for k in list(vals):
                if k != "password" and k.startswith(("password", "confirm")):
                    vals[k] = vals["password"]
        return vals

    def exists(self, name):
        return psql("SELECT count(*) FROM users WHERE username = %s" % sql_literal(name)) == "1"

    def is_add_form(self, f):
        return "username" in {c["name"] for c in f["controls"]}

    def test_add_user_form(self):
        form = self.add_form()
        action = form["action_path"]
        for kind in WRONG_TOKENS:
            with self.subTest(kind):
                name = user_name("csrf")
                values, drop = self.bad_values(kind)
                values.update(self.add_values(name))
                _, r = self.admin.submit_form("/admin/users", action, values, drop=drop, form_filter=self.is_add_form)
                self.assertStalePage(r)
                self.assertFalse(self.exists(name), "a refused form created a user")
        name = user_name("csrf")
        _, r = self.admin.submit_form("/admin/users", action, self.add_values(name), form_filter=self.is_add_form)
        self.assertIn(r.status, (200, 303), r)
        self.assertTrue(self.exists(name), "the add-user form with its token created no user")

    def test_disable_user_form(self):
        victim = create_user("viewer", prefix="csrfv")
        r = self.admin.get("/admin/users", headers={"Accept": "text/html"})
        form = self.user_form(Page(r.text, "/admin/users"), victim, "disable")
        for kind in WRONG_TOKENS:
            with self.subTest(kind):
                values, drop = self.bad_values(kind)
                _, resp = self.admin.submit_form("/admin/users", form["action_path"], values, drop=drop,
                                                 form_filter=lambda f: same_form(f, form))
                self.assertStalePage(resp)
                self.assertEqual(psql("SELECT disabled_at IS NULL FROM users WHERE username = %s" % sql_literal(victim.name)),
                                 "t", "a refused form disabled the user")
        _, resp = self.admin.submit_form("/admin/users", form["action_path"], {},
                                         form_filter=lambda f: same_form(f, form))
        self.assertIn(resp.status, (200, 303), resp)
        self.assertEqual(psql("SELECT disabled_at IS NOT NULL FROM users WHERE username = %s" % sql_literal(victim.name)),
                         "t", "the disable form with its token did not disable the user")


class ApiWithSessionTest(CSRFCase):
    """The API called with the session cookie (as the pages' scripts do)."""

    def test_reads_need_no_token(self):
        s = self.session_only(self.c)
        self.assertStatus(s.get(API + "/patients?limit=1", csrf=False), 200)

    def test_create_needs_header(self):
        s = self.session_only(self.c)
        for label, kw in (("no header", dict(csrf=False)), ("wrong header", dict(headers={"X-CSRF-Token": "A" * 43}))):
            with self.subTest(label):
                tok = uniq()
                r = s.post(API + "/patients", json_body=self.valid_patient(tok), **kw)
                self.assertError(r, 403, "forbidden")
                self.assertNoPatientWith(tok)
        tok = uniq()
        r = s.post(API + "/patients", json_body=self.valid_patient(tok))
        self.assertStatus(r, 201)
        self.assertEqual(r.sent_headers.get("X-CSRF-Token"), self.c.csrf)

    def test_patch_and_delete_need_header(self):
        s = self.session_only(self.c)
        p = self.create_patient()
        url = "%s/patients/%s" % (API, p["id"])
        self.assertError(s.patch(url, json_body={"notes": "no header"}, csrf=False), 403, "forbidden")
        self.assertError(s.delete(url, csrf=False), 403, "forbidden")
        got = self.get_patient(p["id"])
        self.assertStatus(got, 200)
        self.assertEqual(got.json()["notes"], "")
        self.assertStatus(s.patch(url, json_body={"notes": "header"}), 200)
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], "header")
        self.assertStatus(s.delete(url), 204)
        self.assertStatus(self.get_patient(p["id"]), 404)

    def test_bearer_needs_no_token(self):
        t = self.token_only(self.c.bearer)
        r = t.post(API + "/patients", json_body=self.valid_patient())
        self.assertStatus(r, 201)
        self.assertNotIn("X-CSRF-Token", r.sent_headers)


if __name__ == "__main__":
    unittest.main()
