"""Logs never carry credentials: after logins (page and token), failed logins and authenticated
requests, neither the passwords nor the session id, the API token or the CSRF token appear in the
fv-app log or the web server's logs."""

import os
import unittest

from fvtest import API, AuthCase, Client, stack_env, uniq, wait_until


class CredentialsNotLoggedTest(AuthCase):
    def read_logs(self):
        env = stack_env()
        paths = [env["FV_APP_LOG"]] + [os.path.join(env["FV_LOG_DIR"], n) for n in ("nginx-access.log", "nginx-error.log")]
        out = {}
        for p in paths:
            try:
                with open(p, "rb") as f:
                    out[p] = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                out[p] = ""
        return out

    def test_no_credentials_in_logs(self):
        user, c = self.fresh("clinician")
        wrong = "wrong-" + uniq() + "-pw"
        r_fail = self.page_attempt(user.name, wrong)
        self.assertStatus(r_fail, 401)
        self.assertStatus(self.token_attempt(user.name, wrong + "2"), 401)
        last = self.session_only(c).post(API + "/patients", json_body=self.valid_patient())
        self.assertStatus(last, 201)
        self.assertStatus(c.get(API + "/patients?limit=1"), 200)
        rid = last.header("X-Request-Id")
        app_log = stack_env()["FV_APP_LOG"]
        self.assertTrue(wait_until(lambda: rid in self.read_logs()[app_log], timeout=10),
                        "the request %s is not in %s (wrong log file?)" % (rid, app_log))
        secrets_ = {"password": user.password, "wrong password": wrong, "second wrong password": wrong + "2",
                    "session id": c.session, "API token": c.bearer, "API token body": c.bearer[4:],
                    "CSRF token": c.csrf}
        for path, text in self.read_logs().items():
            for label, s in secrets_.items():
                with self.subTest(log=os.path.basename(path), secret=label):
                    self.assertNotIn(s, text, "%s appears in %s" % (label, path))

    def test_user_add_does_not_echo_password(self):
        from fvtest import stack_ctl_run, user_name, new_password
        pw = new_password()
        p = stack_ctl_run("admin", "user", "add", user_name("echo"), "--role", "viewer", "--password-stdin", input=pw)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(pw, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
