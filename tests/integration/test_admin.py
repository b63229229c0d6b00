"""The administrators' pages (docs/auth.md): /admin/users lists users, adds users (who can then log in),
rejects bad input, and disables users (which ends their sessions and tokens at once)."""

import re
import unittest

from fvtest import (API, AuthCase, Client, Page, User, create_user, new_password, psql, same_form, sql_literal,
                    stack_ctl, user_name)


class AdminUsersCase(AuthCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = Client().login("admin")

    def users_page(self):
        r = self.admin.get("/admin/users", headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertHTMLType(r)
        return r, Page(r.text, "/admin/users")

    def add_form(self, page):
        for f in page.forms:
            names = {c["name"] for c in f["controls"]}
            if f["method"] == "post" and "username" in names and "role" in names:
                return f
        self.fail("no POST form with username and role fields on /admin/users: %s" % page.forms)

    def password_fields(self, form):
        return [c["name"] for c in form["controls"]
                if c["name"] and c["type"] == "password" or (c["name"] or "").startswith("password")]

    def add_user(self, name, role="viewer", password=None, **extra):
        """Submits the add-user form; returns (response, password to log in with or None)."""
        _, page = self.users_page()
        form = self.add_form(page)
        values = {"username": name, "role": role}
        pw_fields = self.password_fields(form)
        if pw_fields:
            password = password or new_password()
            for f in pw_fields:
                values[f] = password
        values.update(extra)
        _, r = self.admin.submit_form("/admin/users", form["action_path"], values,
                                      form_filter=lambda f: "username" in {c["name"] for c in f["controls"]})
        return r, (password if pw_fields else None)

    def user_row(self, name):
        out = psql("SELECT role, disabled_at IS NOT NULL FROM users WHERE username = %s" % sql_literal(name))
        return tuple(out.split("|")) if out else None


class UsersPageTest(AdminUsersCase):
    def test_lists_users_with_roles(self):
        clin = self.as_role("clinician").user
        view = self.as_role("viewer").user
        off = create_user("clinician", prefix="off")
        stack_ctl("admin", "user", "disable", off.name)
        r, page = self.users_page()
        self.assertNoStore(r)
        for u in (clin, view, self.admin.user, off):
            self.assertIn(u.name, page.text, "%s is not listed" % u.name)
        for word in ("admin", "clinician", "viewer", "disabled"):
            self.assertIn(word, page.text.lower())
        self.assertNotIn("$argon2", r.text, "password hashes on the page")

    def test_add_user_then_login(self):
        name = user_name("ui")
        r, password = self.add_user(name, role="clinician")
        self.assertIn(r.status, (200, 303), r)
        if r.status == 303:
            self.assertEqual((r.location_path() or "").split("?")[0], "/admin/users", r)
        self.assertEqual(self.user_row(name), ("clinician", "f"), "the form did not create an active clinician")
        if password is None:  # the page shows a generated password once
            shown = r if r.status == 200 else self.admin.get(r.location_path(), headers={"Accept": "text/html"})
            m = re.search(r"password\W{1,5}(\S{10,})", Page(shown.text).text, re.I)
            self.assertTrue(m, "no password field and no generated password shown: %r" % Page(shown.text).text[:500])
            password = m.group(1)
        c = Client()
        _, lr = c.session_login(name, password)
        self.assertLocation(lr, "/patients")
        self.assertStatus(Client().login_as(User(name, password, "clinician"), session=False)
                          .post(API + "/patients", json_body=self.valid_patient()), 201)

    def test_add_user_rejects_bad_input(self):
        taken = self.as_role("viewer").user.name
        cases = [("bad name", dict(name="Bad Name!")), ("name too long", dict(name="a" * 65)),
                 ("empty name", dict(name="")), ("taken name", dict(name=taken)),
                 ("unknown role", dict(role="superuser"))]
        _, page = self.users_page()
        if self.password_fields(self.add_form(page)):
            cases.append(("short password", dict(password="short")))
        for label, kw in cases:
            with self.subTest(label):
                name = kw.get("name", user_name("bad"))
                before = psql("SELECT count(*) FROM users")
                r, _ = self.add_user(name, role=kw.get("role", "viewer"), password=kw.get("password"))
                self.assertIn(r.status, (400, 409, 422), r)
                self.assertHTMLType(r)
                self.assertEqual(psql("SELECT count(*) FROM users"), before, "a rejected form created a user")
        self.assertEqual(self.user_row(taken), ("viewer", "f"), "a rejected add changed the existing user")

    def test_disable_via_form_ends_sessions_and_tokens(self):
        victim, vc = self.fresh("clinician")
        self.assertSessionWorks(vc)
        self.assertStatus(vc.get(API + "/patients?limit=1"), 200)
        _, page = self.users_page()
        form = self.user_form(page, victim, "disable")
        _, r = self.admin.submit_form("/admin/users", form["action_path"], {}, form_filter=lambda f: same_form(f, form))
        self.assertIn(r.status, (200, 303), r)
        self.assertEqual(self.user_row(victim.name), ("clinician", "t"))
        self.assertSessionEnded(vc, "the disabled user's session still works")
        self.assertUnauthorized(vc.get(API + "/patients?limit=1"))
        r = self.page_attempt(victim.name, victim.password)
        self.assertStatus(r, 401)
        # the page now offers to enable the user again (CLI: user enable)
        _, page = self.users_page()
        enable = [f for f in page.forms if f["method"] == "post" and victim.name in (f["action"] or "") + " ".join(
            str(c["value"]) for c in f["controls"]) and "enable" in ((f["action"] or "") + " ".join(
                str(c.get("value")) + str(c.get("text", "")) for c in f["controls"])).lower()]
        if enable:
            _, r = self.admin.submit_form("/admin/users", enable[0]["action_path"], {},
                                          form_filter=lambda f: same_form(f, enable[0]))
            self.assertIn(r.status, (200, 303), r)
            self.assertEqual(self.user_row(victim.name), ("clinician", "f"))
            self.assertUnauthorized(vc.get(API + "/patients?limit=1"))
            _, lr = Client().session_login(victim.name, victim.password)
            self.assertStatus(lr, 303)


if __name__ == "__main__":
    unittest.main()
