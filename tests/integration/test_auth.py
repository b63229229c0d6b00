"""Authentication (docs/auth.md): the login page and its double-submit CSRF cookie, the session cookie and
its flags, redirects after login (local `next` only), session fixation, logout, idle and absolute
expiry, disabling a user, hashed session ids; API tokens (create, wrong password, tampered, expired,
revoked, fv-admin token create), requests without credentials.

Every test that changes or ends credentials uses a user of its own (fvtest.create_user); expiry is
simulated by moving timestamps of the user's credentials rows back (psql as superuser)."""

import base64
import datetime
import re
import unittest
import uuid

from fvtest import (API, LOGIN_CSRF_COOKIE, SESSION_COOKIE, AuthCase, Client, Page, config_seconds,
                    create_user, form_values, parse_ts, psql, qs, sha256_hex, sql_literal,
                    stack_ctl, stack_ctl_run, uniq)

B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
WRONG = "wrong user name or password"


def b64url_bytes(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def user_creds(user, kind):
    return psql("SELECT count(*) FROM credentials WHERE user_id = %s AND kind = %s"
                % (sql_literal(user.id), sql_literal(kind)))


class LoginPageTest(AuthCase):
    def test_login_page_form_and_login_csrf_cookie(self):
        c = self.anon()
        r = c.get("/login", headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertHTMLType(r)
        page = Page(r.text, "/login")
        form = page.form("/login", method="post")
        self.assertIsNotNone(form, "no <form method=post action=/login>: %s" % page.forms)
        self.assertIsNotNone(page.control("username", form), "no username field")
        pw = page.control("password", form)
        self.assertIsNotNone(pw, "no password field")
        self.assertEqual(pw["type"], "password")
        tok = page.control("csrf_token", form)
        self.assertIsNotNone(tok, "no csrf_token field")
        self.assertEqual(tok["type"], "hidden")
        self.assertTrue(tok["value"], "empty csrf_token")
        nxt = page.control("next", form)
        self.assertIsNotNone(nxt, "no hidden next field")
        self.assertEqual(nxt["type"], "hidden")
        cookies = r.set_cookies()
        self.assertIn(LOGIN_CSRF_COOKIE, cookies, "no %s cookie: %r" % (LOGIN_CSRF_COOKIE, r.headers.get_all("Set-Cookie")))
        value, attrs = cookies[LOGIN_CSRF_COOKIE]
        self.assertEqual(value, tok["value"], "the login CSRF cookie must equal the form field (double submit)")
        self.assertIn("httponly", attrs, attrs)
        self.assertEqual(str(attrs.get("samesite", "")).lower(), "strict", attrs)
        self.assertEqual(attrs.get("path"), "/login", attrs)
        self.assertNotIn(SESSION_COOKIE, cookies, "GET /login must not start a session")

    def test_login_page_keeps_next(self):
        r = self.anon().get("/login?" + qs({"next": "/patients?q=abc"}), headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertEqual(Page(r.text, "/login").control("next")["value"], "/patients?q=abc")

    def test_login_page_escapes_next_and_username(self):
        nasty = '"><script>alert(1)</script>'
        r = self.anon().get("/login?" + qs({"next": "/patients" + nasty}), headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertNotIn("<script>alert(1)", r.text)
        r = self.page_attempt(nasty, "wrong-password-9")
        self.assertIn(r.status, (400, 401), r)
        self.assertNotIn("<script>alert(1)", r.text)

    def test_login_without_matching_csrf_is_refused(self):
        user = create_user("viewer")
        cases = {
            "no field": dict(drop=("csrf_token",)),
            "wrong field": dict(override={"csrf_token": "x" * 43}),
        }
        for label, kw in cases.items():
            with self.subTest(label):
                c = self.anon()
                _, r = c.session_login(user.name, user.password, **kw)
                self.throttle_cleanup()
                self.assertIn(r.status, (400, 403), r)
                self.assertNotIn(SESSION_COOKIE, r.set_cookies(), "a session was started: %r" % r)
        with self.subTest("no cookie"):
            c = self.anon()
            g = c.get("/login", headers={"Accept": "text/html"})
            tok = Page(g.text, "/login").control("csrf_token")["value"]
            c.drop_cookie(LOGIN_CSRF_COOKIE)
            r = c.post("/login", form={"username": user.name, "password": user.password, "csrf_token": tok, "next": ""},
                       headers={"Accept": "text/html"})
            self.throttle_cleanup()
            self.assertIn(r.status, (400, 403), r)
            self.assertNotIn(SESSION_COOKIE, r.set_cookies())
        # and the real login still works
        _, r = self.anon().session_login(user.name, user.password)
        self.assertStatus(r, 303)


class SessionCookieTest(AuthCase):
    def test_session_cookie_flags(self):
        user = create_user("viewer")
        c = self.anon()
        _, r = c.session_login(user.name, user.password)
        self.assertLocation(r, "/patients")
        cookies = r.set_cookies()
        self.assertIn(SESSION_COOKIE, cookies, "no %s cookie: %r" % (SESSION_COOKIE, r.headers.get_all("Set-Cookie")))
        value, attrs = cookies[SESSION_COOKIE]
        self.assertRegex(value, B64URL_RE, "session id is not base64url")
        self.assertGreaterEqual(len(b64url_bytes(value)), 32, "session id has fewer than 256 bits")
        self.assertIn("httponly", attrs, "fv_session without HttpOnly: %r" % attrs)
        self.assertEqual(str(attrs.get("samesite", "")).lower(), "lax", "fv_session SameSite: %r" % attrs)
        self.assertEqual(attrs.get("path"), "/", "fv_session Path: %r" % attrs)
        if c.scheme == "http":
            self.assertNotIn("secure", attrs, "Secure over plain http: the browser would never send it back")
        else:
            self.assertIn("secure", attrs)
        self.assertSessionWorks(c)

    def test_login_is_case_insensitive(self):
        user = create_user("viewer", prefix="Case")
        self.assertEqual(psql("SELECT username FROM users WHERE id = %s" % sql_literal(user.id)), user.name.lower(),
                         "user names are stored lower-case")
        _, r = self.anon().session_login(user.name.upper(), user.password)
        self.assertLocation(r, "/patients")
        r = self.token_attempt(user.name.upper(), user.password)
        self.assertStatus(r, 201)

    def test_failed_logins_say_the_same(self):
        user = create_user("viewer")
        off = create_user("viewer")
        stack_ctl("admin", "user", "disable", off.name)
        for label, name, pw in (("wrong password", user.name, user.password + "x"),
                                ("unknown user", "nobody-" + uniq(), user.password),
                                ("disabled user", off.name, off.password)):
            with self.subTest(label):
                c = self.anon()
                r = self.page_attempt(name, pw, client=c)
                self.assertStatus(r, 401)
                self.assertHTMLType(r)
                page = Page(r.text, "/login")
                self.assertIn(WRONG, page.text.lower())
                self.assertIsNotNone(page.form("/login", method="post"), "the form is not shown again")
                self.assertNotIn(SESSION_COOKIE, r.set_cookies())
                self.assertNotIn(pw, r.text, "the password is echoed")
                self.assertEqual(page.control("password")["value"], "", "the password field is refilled")
                if name == user.name:
                    self.assertEqual(page.control("username")["value"], name, "the user name is kept")

    def test_login_redirects_to_local_next(self):
        user = create_user("viewer")
        for nxt in ("/patients?q=abc", "/patients/new", "/admin/users"):
            with self.subTest(next=nxt):
                _, r = self.anon().session_login(user.name, user.password, next=nxt)
                self.assertLocation(r, nxt)

    def test_open_redirects_go_to_patients(self):
        user = create_user("viewer")
        evil = ("//evil.example", "//evil.example/patients", "https://evil.example", "http://evil.example/x",
                "/\\evil.example", "\\\\evil.example", "///evil.example", "javascript:alert(1)",
                "%2F%2Fevil.example", "/\t/evil.example", "/patients\r\nX-Injected: 1",
                "/patients\nLocation: https://evil.example", "evil.example", " //evil.example")
        for nxt in evil:
            # every value posted in the form; the main ones also through GET /login?next= (the hidden field)
            for how in (("query", "form") if nxt in evil[:4] + ("/\\evil.example", "javascript:alert(1)") else ("form",)):
                with self.subTest(next=nxt, via=how):
                    c = self.anon()
                    if how == "query":
                        _, r = c.session_login(user.name, user.password, next=nxt)
                    else:
                        _, r = c.session_login(user.name, user.password, override={"next": nxt})
                    self.assertLocation(r, "/patients")
                    self.assertIsNone(r.header("X-Injected"), "header injection through next")
                    self.assertTrue(c.session, "no session after a good login")

    def test_redirect_to_login_then_back(self):
        user = create_user("viewer")
        c = self.anon()
        r = c.get("/patients?" + qs({"q": "back"}), headers={"Accept": "text/html"})
        self.assertLoginRedirect(r, "/patients?q=back")
        g = c.get(r.location_path(), headers={"Accept": "text/html"})
        self.assertStatus(g, 200)
        form = Page(g.text, "/login").form("/login", method="post")
        self.assertIsNotNone(form, "no login form")
        data = [(k, v) for k, v in form_values(form) if k not in ("username", "password")]
        data += [("username", user.name), ("password", user.password)]
        p = c.post("/login", form=data, headers={"Accept": "text/html"}, csrf=False)
        self.assertLocation(p, "/patients?q=back")

    def test_new_session_at_each_login_and_old_one_revoked(self):
        user = create_user("viewer")
        c = self.anon()
        _, r1 = c.session_login(user.name, user.password)
        self.assertStatus(r1, 303)
        s1 = c.session
        self.assertSessionWorks(c)
        _, r2 = c.session_login(user.name, user.password)  # the login request carries s1
        self.assertStatus(r2, 303)
        s2 = c.session
        self.assertTrue(s2)
        self.assertNotEqual(s1, s2, "the same session id after a second login (fixation)")
        self.assertSessionWorks(c)
        old = Client()
        old.set_cookie(SESSION_COOKIE, s1)
        self.assertSessionEnded(old, "the session cookie sent with a login must be revoked by it")
        self.assertUnauthorized(old.get(API + "/patients?limit=1"))

    def test_planted_session_cookie_is_replaced(self):
        user = create_user("viewer")
        c = self.anon()
        planted = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
        c.set_cookie(SESSION_COOKIE, planted)
        _, r = c.session_login(user.name, user.password)
        self.assertStatus(r, 303)
        self.assertIn(SESSION_COOKIE, r.set_cookies(), "login did not set a new session cookie")
        self.assertNotEqual(c.session, planted)
        self.assertSessionWorks(c)

    def test_logout(self):
        user, c = self.fresh("viewer", token=False)
        s = c.session
        page_r, r = c.submit_form("/patients", "/logout", {})
        self.assertLocation(r, "/login")
        cookies = r.set_cookies()
        self.assertIn(SESSION_COOKIE, cookies, "logout does not clear the cookie")
        value, attrs = cookies[SESSION_COOKIE]
        cleared = value == "" or str(attrs.get("max-age", "1")) == "0" or "expires" in attrs
        self.assertTrue(cleared, "logout's Set-Cookie does not clear fv_session: %r" % (cookies[SESSION_COOKIE],))
        old = Client()
        old.set_cookie(SESSION_COOKIE, s)
        self.assertSessionEnded(old, "the session still works after logout")
        self.assertUnauthorized(old.get(API + "/patients?limit=1"))

    def test_logout_needs_csrf_token(self):
        user, c = self.fresh("viewer", token=False)
        r = c.post("/logout", form={}, headers={"Accept": "text/html"}, csrf=False)
        self.assertStalePage(r)
        self.assertSessionWorks(c, "a logout without the CSRF token ended the session")
        r = c.post("/logout", form={}, headers={"Accept": "text/html"}, csrf="A" * 43)
        self.assertStalePage(r)
        self.assertSessionWorks(c, "a logout with a wrong CSRF token ended the session")

    def test_logout_by_get_does_nothing(self):
        user, c = self.fresh("viewer", token=False)
        r = c.get("/logout", headers={"Accept": "text/html"})
        self.assertNotEqual(r.status, 500, r)
        self.assertSessionWorks(c, "GET /logout ended the session (a link or an image could log users out)")


class SessionExpiryTest(AuthCase):
    def sessions(self, user):
        return "user_id = %s AND kind = 'session'" % sql_literal(user.id)

    def test_idle_session_expires(self):
        idle = config_seconds("session_idle_timeout", 1800)
        user, c = self.fresh("viewer", token=False)
        self.assertSessionWorks(c)
        psql("UPDATE credentials SET last_seen_at = now() - interval '%d seconds' WHERE %s"
             % (idle + 120, self.sessions(user)))
        self.assertSessionEnded(c, "a session idle for longer than session_idle_timeout still works")
        self.assertUnauthorized(self.session_only(c).get(API + "/patients?limit=1"))

    def test_activity_is_recorded_at_most_once_a_minute(self):
        user, c = self.fresh("viewer", token=False)
        psql("UPDATE credentials SET last_seen_at = now() - interval '20 seconds' WHERE %s" % self.sessions(user))
        self.assertSessionWorks(c)
        age = float(psql("SELECT extract(epoch FROM now() - max(last_seen_at)) FROM credentials WHERE %s"
                         % self.sessions(user)))
        self.assertGreaterEqual(age, 19, "last_seen_at written again within a minute")

    def test_activity_keeps_session_alive(self):
        idle = config_seconds("session_idle_timeout", 1800)
        user, c = self.fresh("viewer", token=False)
        psql("UPDATE credentials SET last_seen_at = now() - interval '%d seconds' WHERE %s"
             % (max(idle - 300, 90), self.sessions(user)))
        self.assertSessionWorks(c, "a session idle for less than session_idle_timeout was ended")
        age = float(psql("SELECT extract(epoch FROM now() - max(last_seen_at)) FROM credentials WHERE %s"
                         % self.sessions(user)))
        self.assertLess(age, 120, "activity on a session was not recorded (last_seen_at %d s ago)" % age)

    def test_absolute_lifetime(self):
        life = config_seconds("session_lifetime", 43200)
        user, c = self.fresh("viewer", token=False)
        self.assertSessionWorks(c)
        psql("UPDATE credentials SET created_at = now() - interval '%d seconds', "
             "expires_at = now() - interval '60 seconds', last_seen_at = now() WHERE %s"
             % (life + 60, self.sessions(user)))
        self.assertSessionEnded(c, "a session older than session_lifetime still works (though active)")

    def test_session_id_not_stored_in_clear(self):
        user, c = self.fresh("viewer", token=False)
        s = c.session
        self.assertEqual(psql("SELECT count(*) FROM credentials c WHERE strpos(c::text, %s) > 0" % sql_literal(s)), "0",
                         "the session id is stored in clear")
        self.assertEqual(psql("SELECT count(*) FROM credentials c WHERE strpos(c::text, %s) > 0"
                              % sql_literal(b64url_bytes(s).hex())), "0", "the session id's bytes are stored in clear")
        hashes = psql("SELECT encode(token_hash, 'hex') FROM credentials WHERE %s" % self.sessions(user)).split()
        self.assertEqual(len(hashes), 1, hashes)
        self.assertIn(hashes[0], (sha256_hex(s), sha256_hex(b64url_bytes(s))),
                      "token_hash is not the SHA-256 of the session id")


class DisableTest(AuthCase):
    def test_disable_ends_sessions_and_tokens_at_once(self):
        user, c = self.fresh("clinician")
        c2 = Client().login_as(user, token=False)  # a second browser
        self.assertStatus(c.get(API + "/patients?limit=1"), 200)
        self.assertSessionWorks(c)
        out = stack_ctl("admin", "user", "disable", user.name)
        self.assertUnauthorized(c.get(API + "/patients?limit=1"))
        self.assertSessionEnded(c)
        self.assertSessionEnded(c2)
        self.assertUnauthorized(self.session_only(c).get(API + "/patients?limit=1"))
        r = self.token_attempt(user.name, user.password)
        self.assertError(r, 401, "unauthorized")
        r = self.page_attempt(user.name, user.password)
        self.assertStatus(r, 401)
        self.assertIn(WRONG, Page(r.text).text.lower())
        listing = stack_ctl("admin", "user", "list")
        line = [l for l in listing.splitlines() if l.split()[:1] == [user.name]]
        self.assertTrue(line and "disabled" in line[0].lower(), "user list does not show %s disabled: %r" % (user.name, line))
        # enabling lets the user log in again, but the old credentials stay dead
        stack_ctl("admin", "user", "enable", user.name)
        self.assertUnauthorized(c.get(API + "/patients?limit=1"))
        self.assertSessionEnded(c2)
        fresh = Client().login_as(user)
        self.assertStatus(fresh.get(API + "/patients?limit=1"), 200)


class TokenTest(AuthCase):
    def test_create_token(self):
        user = create_user("viewer")
        r = self.token_attempt(user.name, user.password)
        self.assertStatus(r, 201)
        self.assertJSONType(r)
        body = r.json()
        self.assertTrue(body["token"].startswith("fvt_"), body)
        rest = body["token"][4:]
        self.assertRegex(rest, B64URL_RE)
        self.assertGreaterEqual(len(b64url_bytes(rest)), 32, "token carries fewer than 256 bits")
        exp = parse_ts(body["expires_at"])
        want = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=config_seconds("token_lifetime", 30 * 86400))
        self.assertLess(abs((exp - want).total_seconds()), 600, "expires_at %s, expected about %s" % (exp, want))
        self.assertStatus(self.token_only(body["token"]).get(API + "/patients?limit=1"), 200)
        # stored as SHA-256 only
        tok = body["token"]
        self.assertEqual(psql("SELECT count(*) FROM credentials c WHERE strpos(c::text, %s) > 0" % sql_literal(rest)), "0",
                         "the token is stored in clear")
        hashes = psql("SELECT encode(token_hash, 'hex') FROM credentials WHERE user_id = %s AND kind = 'token'"
                      % sql_literal(user.id)).split()
        self.assertEqual(len(hashes), 1, hashes)
        self.assertIn(hashes[0], (sha256_hex(tok), sha256_hex(rest), sha256_hex(b64url_bytes(rest))))

    def test_wrong_credentials_401(self):
        user = create_user("viewer")
        for label, name, pw in (("wrong password", user.name, user.password + "x"),
                                ("unknown user", "nobody-" + uniq(), "whatever-password")):
            with self.subTest(label):
                r = self.token_attempt(name, pw)
                self.assertError(r, 401, "unauthorized")
                self.assertNotIn("token", r.json())

    def test_malformed_token_requests_rejected(self):
        for label, kw in (("malformed json", dict(body=b"{", content_type="application/json")),
                          ("not an object", dict(json_body=["a", "b"])),
                          ("missing password", dict(json_body={"username": "someone"}))):
            with self.subTest(label):
                r = self.anon().post(API + "/auth/token", **kw)
                self.throttle_cleanup()
                self.assertIn(r.status, (400, 401), r)
                self.assertJSONType(r)
                self.assertIn(r.json()["error"]["code"], ("invalid", "unauthorized"))

    def test_tampered_token_401(self):
        user = create_user("viewer")
        tok = self.token_attempt(user.name, user.password).json()["token"]
        i = len(tok) - 5
        swapped = tok[:i] + ("A" if tok[i] != "A" else "B") + tok[i + 1:]
        for label, t in (("one character changed", swapped), ("truncated", tok[:-1]), ("extended", tok + "A"),
                         ("prefix only", "fvt_"), ("without prefix", tok[4:])):
            with self.subTest(label):
                self.assertUnauthorized(self.token_only(t).get(API + "/patients?limit=1"))
        self.assertStatus(self.token_only(tok).get(API + "/patients?limit=1"), 200)

    def test_expired_token_401(self):
        user = create_user("viewer")
        tok = self.token_attempt(user.name, user.password).json()["token"]
        self.assertStatus(self.token_only(tok).get(API + "/patients?limit=1"), 200)
        psql("UPDATE credentials SET expires_at = now() - interval '1 minute', created_at = now() - interval '31 days' "
             "WHERE user_id = %s AND kind = 'token'" % sql_literal(user.id))
        self.assertUnauthorized(self.token_only(tok).get(API + "/patients?limit=1"))

    def test_revoke_token(self):
        user = create_user("viewer")
        t1 = self.token_attempt(user.name, user.password).json()["token"]
        t2 = self.token_attempt(user.name, user.password).json()["token"]
        self.assertNotEqual(t1, t2)
        r = self.token_only(t1).delete(API + "/auth/token")
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertUnauthorized(self.token_only(t1).get(API + "/patients?limit=1"))
        self.assertUnauthorized(self.token_only(t1).delete(API + "/auth/token"))
        self.assertStatus(self.token_only(t2).get(API + "/patients?limit=1"), 200, "revoking one token revoked another")

    def test_revoke_without_credentials_401(self):
        self.assertUnauthorized(self.anon().delete(API + "/auth/token"))

    def test_fv_admin_token_create(self):
        user = create_user("clinician", prefix="svc")
        out = stack_ctl("admin", "token", "create", user.name)
        m = re.findall(r"fvt_[A-Za-z0-9_-]+", out)
        self.assertEqual(len(m), 1, "fv-admin token create printed %r" % out)
        c = self.token_only(m[0])
        self.assertStatus(c.get(API + "/patients?limit=1"), 200)
        self.assertStatus(c.post(API + "/patients", json_body=self.valid_patient()), 201)
        out = stack_ctl("admin", "token", "create", user.name, "--days", "2")
        t2 = re.findall(r"fvt_[A-Za-z0-9_-]+", out)[0]
        self.assertStatus(self.token_only(t2).get(API + "/patients?limit=1"), 200)
        days = float(psql("SELECT extract(epoch FROM max(expires_at) - now()) / 86400 FROM credentials "
                          "WHERE user_id = %s AND kind = 'token' AND expires_at < now() + interval '10 days'"
                          % sql_literal(user.id)) or "0")
        self.assertAlmostEqual(days, 2, delta=0.1, msg="--days 2 gives a token valid for %.2f days" % days)

    def test_fv_admin_token_create_for_unknown_user_fails(self):
        p = stack_ctl_run("admin", "token", "create", "nobody-" + uniq())
        self.assertNotEqual(p.returncode, 0, p)
        self.assertNotIn("fvt_", p.stdout)


class NoCredentialsTest(AuthCase):
    def test_api_without_credentials_401(self):
        pid = self.create_patient()["id"]
        c = self.anon()
        for label, r in (
            ("list", c.get(API + "/patients")),
            ("one", c.get("%s/patients/%s" % (API, pid))),
            ("missing one", c.get("%s/patients/%s" % (API, uuid.uuid4()))),
            ("create", c.post(API + "/patients", json_body=self.valid_patient())),
            ("patch", c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "anon"})),
            ("delete", c.delete("%s/patients/%s" % (API, pid))),
        ):
            with self.subTest(label):
                self.assertUnauthorized(r)
        self.assertEqual(self.get_patient(pid).json()["notes"], "")

    def test_401_says_www_authenticate_bearer(self):
        user = create_user("viewer")
        tok = self.token_attempt(user.name, user.password).json()["token"]
        self.token_only(tok).delete(API + "/auth/token")
        for label, r in (("no credentials", self.anon().get(API + "/patients")),
                         ("unknown token", self.token_only("fvt_" + "A" * 43).get(API + "/patients")),
                         ("revoked token", self.token_only(tok).get(API + "/patients")),
                         ("no credentials, POST", self.anon().post(API + "/patients", json_body={}))):
            with self.subTest(label):
                self.assertUnauthorized(r, www=True)

    def test_bad_authorization_headers_401(self):
        tok = self.c.bearer
        for label, value in (("empty bearer", "Bearer "), ("scheme only", "Bearer"), ("basic", "Basic dXNlcjpwYXNz"),
                             ("garbage", "Bearer fvt_" + "x" * 43),
                             ("token without scheme", tok)):
            with self.subTest(label):
                self.assertUnauthorized(self.anon().get(API + "/patients?limit=1", headers={"Authorization": value}))

    def test_pages_redirect_to_login_with_next(self):
        pid = self.create_patient()["id"]
        c = self.anon()
        for path in ("/patients", "/patients?q=abc", "/patients/new", "/patients/" + pid,
                     "/patients/%s/edit" % pid, "/admin/users", "/admin/audit"):
            with self.subTest(path=path):
                r = c.get(path, headers={"Accept": "text/html"})
                self.assertLoginRedirect(r, path)
                self.assertNotIn(SESSION_COOKIE, r.set_cookies())

    def test_page_posts_without_session_change_nothing(self):
        p = self.create_patient()
        c = self.anon()
        for path, form in (("/patients", {"name": "Anon %s" % uniq(), "date_of_birth": "1990-01-01", "sex": "male"}),
                           ("/patients/%s/edit" % p["id"], {"name": "Anon edit"}),
                           ("/patients/%s/delete" % p["id"], {})):
            with self.subTest(path=path):
                r = c.post(path, form=form, headers={"Accept": "text/html"})
                self.assertIn(r.status, (303, 401, 403), r)
                if r.status == 303:
                    self.assertEqual((r.location_path() or "").split("?")[0], "/login", r)
        got = self.get_patient(p["id"])
        self.assertStatus(got, 200)
        self.assertEqual(got.json()["name"], p["name"])

    def test_open_routes_need_no_credentials(self):
        c = self.anon()
        for path in ("/health", "/ready", "/login", "/static/app.css"):
            with self.subTest(path=path):
                r = c.get(path)
                self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
