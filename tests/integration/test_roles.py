"""Roles (docs/auth.md, Authorization), table-driven: for each role (admin, clinician, viewer, and no
credentials) and each kind of route, the expected status, and that a refused request changes nothing.

viewer: reads 200, writes 403; clinician: patients yes, admin pages 403; admin: everything;
no credentials: 401 (API, with WWW-Authenticate) or 303 to /login (pages)."""

import unittest

from fvtest import API, AuthCase, Client, Page, psql, safe_dob, sql_literal, uniq, user_name

ROLES = ("admin", "clinician", "viewer", None)


def role_label(role):
    return role or "none"


# route kind -> (expected status per role, how to call it). The callables get (test, client, ctx) and
# return (response, check) where check() verifies the side effect (or its absence) afterwards.
def api_list(t, c, ctx):
    return c.get(API + "/patients?limit=2"), None


def api_one(t, c, ctx):
    return c.get("%s/patients/%s" % (API, ctx["pid"])), None


def api_create(t, c, ctx):
    tok = uniq()
    r = c.post(API + "/patients", json_body=t.valid_patient(tok))
    return r, (lambda ok: t.assertEqual(len(t.api_ids_for(tok)), 1 if ok else 0))


def api_patch(t, c, ctx):
    p = t.create_patient()
    r = c.patch("%s/patients/%s" % (API, p["id"]), json_body={"notes": "role"})
    return r, (lambda ok: t.assertEqual(t.get_patient(p["id"]).json()["notes"], "role" if ok else ""))


def api_delete(t, c, ctx):
    p = t.create_patient()
    r = c.delete("%s/patients/%s" % (API, p["id"]))
    return r, (lambda ok: t.assertStatus(t.get_patient(p["id"]), 404 if ok else 200))


def page(path_fn):
    def call(t, c, ctx):
        return c.get(path_fn(ctx), headers={"Accept": "text/html"}), None
    return call


def page_create(t, c, ctx):
    tok = uniq()
    form = {"name": "Role %s Roe" % tok, "date_of_birth": safe_dob().isoformat(), "sex": "female",
            "medical_record_number": "", "phone": "", "email": "", "notes": ""}
    r = c.post("/patients", form=form, headers={"Accept": "text/html"})
    return r, (lambda ok: t.assertEqual(len(t.api_ids_for(tok)), 1 if ok else 0))


def page_edit(t, c, ctx):
    p = t.create_patient()
    form = {"name": p["name"], "date_of_birth": p["date_of_birth"], "sex": p["sex"],
            "medical_record_number": p["medical_record_number"], "phone": "", "email": "", "notes": "role"}
    r = c.post("/patients/%s/edit" % p["id"], form=form, headers={"Accept": "text/html"})
    return r, (lambda ok: t.assertEqual(t.get_patient(p["id"]).json()["notes"], "role" if ok else ""))


def page_delete(t, c, ctx):
    p = t.create_patient()
    r = c.post("/patients/%s/delete" % p["id"], form={}, headers={"Accept": "text/html"})
    return r, (lambda ok: t.assertStatus(t.get_patient(p["id"]), 404 if ok else 200))


def admin_users_post(t, c, ctx):
    name = user_name("role")
    values = dict(ctx["add_values"])
    values["username"] = name
    r = c.post(ctx["add_action"], form=values, headers={"Accept": "text/html"})
    exists = lambda: psql("SELECT count(*) FROM users WHERE username = %s" % sql_literal(name)) == "1"  # noqa: E731
    return r, (lambda ok: t.assertEqual(exists(), ok, "user %s %s" % (name, "not created" if ok else "created")))


R, W = "read", "write"
TABLE = {
    # route:              (admin, clinician, viewer, none), call, read/write, api?
    "api_list":           ((200, 200, 200, 401), api_list, R, True),
    "api_one":            ((200, 200, 200, 401), api_one, R, True),
    "api_create":         ((201, 201, 403, 401), api_create, W, True),
    "api_patch":          ((200, 200, 403, 401), api_patch, W, True),
    "api_delete":         ((204, 204, 403, 401), api_delete, W, True),
    "page_list":          ((200, 200, 200, 303), page(lambda ctx: "/patients"), R, False),
    "page_one":           ((200, 200, 200, 303), page(lambda ctx: "/patients/" + ctx["pid"]), R, False),
    "page_new":           ((200, 200, 403, 303), page(lambda ctx: "/patients/new"), R, False),
    "page_edit":          ((200, 200, 403, 303), page(lambda ctx: "/patients/%s/edit" % ctx["pid"]), R, False),
    "page_create_post":   ((303, 303, 403, 303), page_create, W, False),
    "page_edit_post":     ((303, 303, 403, 303), page_edit, W, False),
    "page_delete_post":   ((303, 303, 403, 303), page_delete, W, False),
    "admin_users":        ((200, 403, 403, 303), page(lambda ctx: "/admin/users"), R, False),
    "admin_users_post":   (((200, 303), 403, 403, 303), admin_users_post, W, False),
    "admin_audit":        ((200, 403, 403, 303), page(lambda ctx: "/admin/audit"), R, False),
}


class RolesTest(AuthCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clients = {role: Client().login(role) for role in ROLES}
        cls.ctx = {"pid": None}

    def setUp(self):
        super().setUp()
        if self.ctx["pid"] is None:
            self.ctx["pid"] = self.create_patient()["id"]
        if "add_action" not in self.ctx:
            self.ctx.update(self.add_form_of_admin())

    def add_form_of_admin(self):
        """Action and field values of the add-user form (as the admin sees it), for posting as any role."""
        r = self.clients["admin"].get("/admin/users", headers={"Accept": "text/html"})
        if r.status != 200:
            return {"add_action": "/admin/users", "add_values": {"role": "viewer", "password": "pw-" + uniq()}}
        pg = Page(r.text, "/admin/users")
        for f in pg.forms:
            names = {c["name"] for c in f["controls"]}
            if f["method"] == "post" and "username" in names and "role" in names:
                vals = {"role": "viewer"}
                pw = "pw-" + uniq() + "-long"
                for n in names:
                    if n and (n.startswith("password") or n.startswith("confirm")):
                        vals[n] = pw
                return {"add_action": f["action_path"], "add_values": vals}
        return {"add_action": "/admin/users", "add_values": {"role": "viewer", "password": "pw-" + uniq()}}

    def check_cell(self, route, role):
        expected_all, call, kind, api = TABLE[route]
        expected = expected_all[ROLES.index(role)]
        c = self.clients[role]
        r, check = call(self, c, self.ctx)
        ok_statuses = expected if isinstance(expected, tuple) else (expected,)
        self.assertIn(r.status, ok_statuses, "%s as %s: %r" % (route, role_label(role), r))
        if api:
            if r.status == 401:
                self.assertUnauthorized(r)
            elif r.status == 403:
                self.assertError(r, 403, "forbidden")
            elif r.status != 204:
                self.assertJSONType(r)
        else:
            if role is None:
                self.assertLoginRedirect(r)
            elif r.status == 403:
                self.assertForbiddenPage(r)
                self.assertNotIn("expired", r.text.lower(), "a role refusal reported as a stale form")
            elif r.status == 200:
                self.assertHTMLType(r)
        if check is not None:
            check(r.status < 400 and role is not None)


def _make(route):
    def test(self):
        for role in ROLES:
            with self.subTest(role=role_label(role)):
                self.check_cell(route, role)
    test.__name__ = "test_" + route
    test.__doc__ = "%s: %s" % (route, ", ".join("%s %s" % (role_label(r), s) for r, s in zip(ROLES, TABLE[route][0])))
    return test


for _route in TABLE:
    setattr(RolesTest, "test_" + _route, _make(_route))


class RoleDetailsTest(AuthCase):
    def test_viewer_cannot_raise_own_role(self):
        """A viewer's session cannot change its own role through the API or pages (no such route)."""
        v = self.as_role("viewer")
        for method, path in (("POST", "/admin/users"), ("PATCH", API + "/users/" + v.user.name)):
            with self.subTest(path=path):
                r = v.request(method, path, form={"username": v.user.name, "role": "admin"} if method == "POST" else None,
                              json_body={"role": "admin"} if method != "POST" else None, headers={"Accept": "text/html"})
                self.assertIn(r.status, (403, 404, 405), r)
        self.assertEqual(psql("SELECT role FROM users WHERE username = %s" % sql_literal(v.user.name)), "viewer")


if __name__ == "__main__":
    unittest.main()
