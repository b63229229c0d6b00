"""fv-admin's account commands (docs/auth.md, fv-admin and Users and roles): user name and password
rules, generated passwords, passwd, list, token create options, keygen."""

import os
import re
import secrets
import stat
import unittest

from fvtest import API, AuthCase, create_user, psql, sql_literal, stack_ctl, stack_ctl_run, user_name


class UserAddTest(AuthCase):
    def add(self, name, role="viewer", password=None):
        args = ["admin", "user", "add", name, "--role", role]
        if password is not None:
            args.append("--password-stdin")
        return stack_ctl_run(*args, input=password)

    def exists(self, name):
        return psql("SELECT count(*) FROM users WHERE username = lower(%s)" % sql_literal(name)) == "1"

    def assertRefused(self, p, name, why):
        self.assertNotEqual(p.returncode, 0, "%s: user add succeeded: %s" % (why, p.stdout))
        self.assertTrue(p.stderr.strip(), "%s: refused without a message" % why)
        if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name or ""):
            self.assertFalse(self.exists(name), "%s: a refused add created the user" % why)

    def test_name_rules(self):
        for why, name in (("space", "bad name"), ("slash", "bad/name"), ("unicode", "b\u00e4d"), ("empty", ""),
                          ("65 characters", "a" * 65), ("quote", "o'brien")):
            with self.subTest(why):
                self.assertRefused(self.add(name, password="pw-long-enough"), name, why)
        ok = ("n" * 56) + secrets.token_hex(4)  # 64 characters
        self.assertEqual(self.add(ok, password="pw-long-enough").returncode, 0)
        self.assertTrue(self.exists(ok))
        mixed = "Mixed.Case_" + secrets.token_hex(4)
        self.assertEqual(self.add(mixed, password="pw-long-enough").returncode, 0)
        self.assertEqual(psql("SELECT count(*) FROM users WHERE username = %s" % sql_literal(mixed.lower())), "1",
                         "user names are stored lower-case")
        self.assertRefused(self.add(mixed.lower(), password="pw-long-enough"), "", "the same name in other letter case")

    def test_password_rules(self):
        for why, pw in (("9 bytes", "123456789"), ("empty", ""), ("1025 bytes", "p" * 1025)):
            with self.subTest(why):
                name = user_name("pw")
                self.assertRefused(self.add(name, password=pw), name, why)
        for why, pw in (("10 bytes", "0123456789"), ("1024 bytes", "q" * 1024), ("unicode", "p\u00e4ssw\u00f6rd-\u2603")):
            with self.subTest(why):
                name = user_name("pw")
                p = self.add(name, password=pw)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertStatus(self.token_attempt(name, pw), 201)
                self.assertNotIn(pw, p.stdout + p.stderr)

    def test_password_line_from_stdin(self):
        name = user_name("nl")
        p = self.add(name, password="pw-with-newline\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertStatus(self.token_attempt(name, "pw-with-newline"), 201, "the newline ending the line is not part of the password")

    def test_unknown_role_and_duplicate(self):
        name = user_name("dup")
        self.assertRefused(self.add(name, role="superuser", password="pw-long-enough"), name, "unknown role")
        self.assertEqual(self.add(name, password="pw-long-enough").returncode, 0)
        p = self.add(name, role="admin", password="other-password")
        self.assertNotEqual(p.returncode, 0, "a duplicate add succeeded")
        self.assertEqual(psql("SELECT role FROM users WHERE username = %s" % sql_literal(name)), "viewer")
        self.assertStatus(self.token_attempt(name, "pw-long-enough"), 201)

    def test_generated_password(self):
        name = user_name("gen")
        p = stack_ctl_run("admin", "user", "add", name, "--role", "clinician")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"password:\s*(\S+)", p.stdout)
        self.assertTrue(m, "no 'password: ...' in %r" % p.stdout)
        pw = m.group(1)
        self.assertGreaterEqual(len(pw), 10)
        self.assertStatus(self.token_attempt(name, pw), 201)

    def test_list(self):
        u = create_user("clinician")
        off = create_user("viewer")
        stack_ctl("admin", "user", "disable", off.name)
        rows = {l.split()[0]: l.split() for l in stack_ctl("admin", "user", "list").splitlines() if l.strip()}
        self.assertIn(u.name, rows)
        self.assertEqual(rows[u.name][1:3], ["clinician", "active"], rows[u.name])
        self.assertEqual(rows[off.name][1:3], ["viewer", "disabled"], rows[off.name])
        self.assertNotIn(u.password, " ".join(" ".join(r) for r in rows.values()))


class PasswdTest(AuthCase):
    def test_passwd(self):
        user, c = self.fresh("viewer", session=False)
        new = "new-" + secrets.token_hex(8)
        p = stack_ctl_run("admin", "user", "passwd", user.name, "--password-stdin", input=new)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(new, p.stdout + p.stderr)
        self.assertStatus(self.token_attempt(user.name, user.password), 401)
        self.assertStatus(self.token_attempt(user.name, new), 201)
        p = stack_ctl_run("admin", "user", "passwd", user.name, "--password-stdin", input="short")
        self.assertNotEqual(p.returncode, 0, "a 5-byte password was accepted")
        self.assertStatus(self.token_attempt(user.name, new), 201)

    def test_passwd_unknown_user(self):
        p = stack_ctl_run("admin", "user", "passwd", user_name("none"), "--password-stdin", input="pw-long-enough")
        self.assertNotEqual(p.returncode, 0)


class TokenCreateTest(AuthCase):
    def test_bad_days(self):
        u = create_user("viewer")
        for days in ("0", "-1", "x", "100000"):
            with self.subTest(days=days):
                p = stack_ctl_run("admin", "token", "create", u.name, "--days", days)
                if days == "100000" and p.returncode == 0:
                    continue  # a long-lived service token may be allowed
                self.assertNotEqual(p.returncode, 0, "--days %s accepted: %r" % (days, p.stdout))
                self.assertNotIn("fvt_", p.stdout)

    def test_disabled_user_gets_no_token(self):
        u = create_user("viewer")
        stack_ctl("admin", "user", "disable", u.name)
        p = stack_ctl_run("admin", "token", "create", u.name)
        if p.returncode == 0:
            tok = re.findall(r"fvt_[A-Za-z0-9_-]+", p.stdout)
            self.assertTrue(tok)
            self.assertUnauthorized(self.token_only(tok[0]).get(API + "/patients?limit=1"))


class KeygenTest(AuthCase):
    def test_keygen(self):
        path = "/tmp/fvtest-audit-%s.key" % secrets.token_hex(6)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        p = stack_ctl_run("admin", "keygen", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "key file mode %o" % stat.S_IMODE(st.st_mode))
        with open(path, "rb") as f:
            key = f.read()
        self.assertGreaterEqual(len(key.strip()), 32, "a 256-bit key is at least 32 bytes")
        p = stack_ctl_run("admin", "keygen", path)
        self.assertNotEqual(p.returncode, 0, "keygen overwrote an existing key file")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), key, "the existing key changed")
        other = "/tmp/fvtest-audit-%s.key" % secrets.token_hex(6)
        self.addCleanup(lambda: os.path.exists(other) and os.unlink(other))
        self.assertEqual(stack_ctl_run("admin", "keygen", other).returncode, 0)
        with open(other, "rb") as f:
            self.assertNotEqual(f.read(), key, "two keys are the same")


if __name__ == "__main__":
    unittest.main()


class DisableByNameTest(AuthCase):
    def test_a_name_that_looks_like_another_users_id(self):
        """`user disable NAME` disables that user only, even when the name is another user's id."""
        victim = user_name("victim")
        stack_ctl("admin", "user", "add", victim, "--role", "viewer", "--password-stdin",
                  input="pw-long-enough")
        victim_id = psql("SELECT id FROM users WHERE username = %s" % sql_literal(victim))
        stack_ctl("admin", "user", "add", victim_id, "--role", "viewer", "--password-stdin",
                  input="pw-long-enough")
        stack_ctl("admin", "user", "disable", victim_id)
        self.assertEqual(psql("SELECT disabled_at IS NULL FROM users WHERE username = %s"
                              % sql_literal(victim)), "t", "the user whose id was the name stays active")
        self.assertEqual(psql("SELECT disabled_at IS NULL FROM users WHERE username = %s"
                              % sql_literal(victim_id)), "f", "the named user is disabled")
