"""Login throttling (docs/auth.md): failed logins (page and token endpoint) counted in Redis for 15 minutes
under fv:throttle:user:<name> (limit 5) and fv:throttle:addr:<client address> (limit 20); at the limit
429 with Retry-After (the login page with a message); a success resets the user's count; without Redis,
logins are not throttled.

All tests come from 127.0.0.1: every test here deletes the fv:throttle:* keys before and after itself."""

import os
import unittest

from fvtest import (API, AuthCase, Page, clear_throttle, create_user, redis_cli, stack_ctl, stack_env,
                    throttle_keys, uniq, wait_until)

USER_LIMIT = 5
ADDR_LIMIT = 20
WINDOW = 15 * 60
ADDR_KEY = "fv:throttle:addr:127.0.0.1"


def user_key(name):
    return "fv:throttle:user:" + name.lower()


class ThrottleCase(AuthCase):
    def setUp(self):
        super().setUp()
        clear_throttle()
        self.throttle_cleanup()

    def count(self, key):
        v = redis_cli("GET", key)
        return int(v) if v.strip().lstrip("-").isdigit() else 0

    def assertRetryAfter(self, r, key=None):
        """Retry-After: the seconds left (the TTL of the counter that blocks, when key is given)."""
        ra = r.header("Retry-After")
        self.assertTrue(ra, "%s: 429 without Retry-After" % r.describe())
        self.assertTrue(ra.strip().isdigit(), "Retry-After %r is not a number of seconds" % ra)
        self.assertTrue(0 < int(ra) <= WINDOW, "Retry-After %r is not within the 15-minute window" % ra)
        if key is not None:
            ttl = int(redis_cli("TTL", key))
            self.assertLessEqual(abs(int(ra) - ttl), 5, "%s: Retry-After %s, but %s expires in %d s"
                                 % (r.describe(), ra, key, ttl))

    def assertApiLimited(self, r, key=None):
        self.assertError(r, 429, "rate_limited")
        self.assertRetryAfter(r, key)
        self.assertNotIn("token", r.json())

    def assertPageLimited(self, r, key=None):
        self.assertStatus(r, 429)
        self.assertHTMLType(r)
        self.assertRetryAfter(r, key)
        page = Page(r.text, "/login")
        self.assertIsNotNone(page.form("/login", method="post"), "the 429 login page has no login form")
        text = page.text.lower()
        self.assertTrue(any(w in text for w in ("too many", "try again", "later", "locked", "wait")),
                        "the 429 login page says nothing about the lock: %r" % text[:300])
        self.assertNotIn("fv_session", r.set_cookies())


class UserLimitTest(ThrottleCase):
    def test_api_user_limit(self):
        user = create_user("viewer")
        for i in range(USER_LIMIT):
            r = self.token_attempt(user.name, user.password + "x")
            self.assertError(r, 401, "unauthorized", )
        self.assertEqual(self.count(user_key(user.name)), USER_LIMIT, "keys: %s" % throttle_keys())
        ttl = int(redis_cli("TTL", user_key(user.name)))
        self.assertTrue(0 < ttl <= WINDOW, "TTL of %s is %d" % (user_key(user.name), ttl))
        r = self.token_attempt(user.name, user.password)
        self.assertApiLimited(r)
        self.assertApiLimited(self.token_attempt(user.name, user.password + "x"))
        # the page login is locked as well, and so is the same user in other letter cases
        self.assertPageLimited(self.page_attempt(user.name, user.password), user_key(user.name))
        self.assertApiLimited(self.token_attempt(user.name.upper(), user.password))
        # another user is not affected
        other = create_user("viewer")
        self.assertStatus(self.token_attempt(other.name, other.password), 201)

    def test_page_user_limit(self):
        user = create_user("viewer")
        for i in range(USER_LIMIT):
            r = self.page_attempt(user.name, user.password + "x")
            self.assertStatus(r, 401, "failed page login %d" % (i + 1))
        self.assertEqual(self.count(user_key(user.name)), USER_LIMIT)
        self.assertPageLimited(self.page_attempt(user.name, user.password))
        self.assertApiLimited(self.token_attempt(user.name, user.password))

    def test_retry_after_is_the_time_left(self):
        user = create_user("viewer")
        for i in range(USER_LIMIT):
            self.assertStatus(self.token_attempt(user.name, "wrong-" + uniq()), 401)
        redis_cli("EXPIRE", user_key(user.name), "600")  # as if the first failure was 5 minutes ago
        self.assertApiLimited(self.token_attempt(user.name, user.password), user_key(user.name))
        self.assertPageLimited(self.page_attempt(user.name, user.password), user_key(user.name))

    def test_page_and_api_failures_count_together(self):
        user = create_user("viewer")
        for i in range(3):
            self.assertStatus(self.token_attempt(user.name, "wrong-" + uniq()), 401)
        for i in range(2):
            self.assertStatus(self.page_attempt(user.name, "wrong-" + uniq()), 401)
        self.assertApiLimited(self.token_attempt(user.name, user.password))

    def test_success_resets_user_count(self):
        user = create_user("viewer")
        for i in range(USER_LIMIT - 1):
            self.assertStatus(self.token_attempt(user.name, user.password + "x"), 401)
        self.assertStatus(self.token_attempt(user.name, user.password), 201)
        self.assertEqual(self.count(user_key(user.name)), 0, "a successful login did not reset the user's count")
        for i in range(USER_LIMIT - 1):
            self.assertStatus(self.page_attempt(user.name, user.password + "x"), 401, "after the reset, failure %d" % (i + 1))
        r = self.page_attempt(user.name, user.password)
        self.assertStatus(r, 303, "the count was not reset by the earlier success")

    def test_unknown_users_are_counted_too(self):
        name = "nobody-" + uniq()
        for i in range(USER_LIMIT):
            self.assertStatus(self.token_attempt(name, "whatever-password"), 401)
        self.assertApiLimited(self.token_attempt(name, "whatever-password"))


class AddressLimitTest(ThrottleCase):
    def test_address_limit(self):
        victim = create_user("viewer")
        for i in range(ADDR_LIMIT):
            name = "nobody-%d-%s" % (i, uniq())  # a different user each time: only the address count grows
            attempt = self.token_attempt if i % 2 else self.page_attempt
            r = attempt(name, "wrong-password-%d" % i)
            self.assertEqual(r.status, 401, "failed login %d from one address: %r" % (i + 1, r))
        self.assertEqual(self.count(ADDR_KEY), ADDR_LIMIT, "keys: %s" % throttle_keys())
        self.assertApiLimited(self.token_attempt(victim.name, victim.password))
        self.assertPageLimited(self.page_attempt(victim.name, victim.password))
        # the lock is the address's, not the user's
        self.assertEqual(self.count(user_key(victim.name)), 0)
        clear_throttle()
        self.assertStatus(self.token_attempt(victim.name, victim.password), 201)

    def test_forwarded_headers_do_not_dodge_the_address_limit(self):
        victim = create_user("viewer")
        for i in range(ADDR_LIMIT):
            spoof = "10.%d.%d.%d" % (i, i, i + 1)
            r = self.anon().post(API + "/auth/token", json_body={"username": "nobody-%d-%s" % (i, uniq()), "password": "wrong-pw-123"},
                                 headers={"X-Forwarded-For": spoof, "X-Real-IP": spoof, "Forwarded": "for=" + spoof})
            self.assertEqual(r.status, 401, r)
        self.assertApiLimited(self.token_attempt(victim.name, victim.password))
        self.assertEqual(self.count(ADDR_KEY), ADDR_LIMIT, "the address count follows client-supplied headers: %s" % throttle_keys())


class RedisDownTest(ThrottleCase):
    def tearDown(self):
        try:
            stack_ctl("start-redis")
        except AssertionError:
            pass
        wait_until(lambda: self.anon().get("/health", timeout=5).status == 200, 20)
        super().tearDown()

    def test_no_throttling_without_redis(self):
        user, c = self.fresh("viewer", token=False)
        log = stack_env()["FV_APP_LOG"]
        start = os.path.getsize(log)
        stack_ctl("stop-redis")
        try:
            for i in range(USER_LIMIT + 2):
                r = self.token_attempt(user.name, user.password + "x")
                self.assertError(r, 401, "unauthorized")
            r = self.token_attempt(user.name, user.password)
            self.assertStatus(r, 201, "a Redis outage must not lock users out")
            self.assertSessionWorks(c, "sessions must work without Redis")
            _, r = self.anon().session_login(user.name, user.password)
            self.assertStatus(r, 303)
            with open(log, "rb") as f:
                f.seek(start)
                lines = [l for l in f.read().decode("utf-8", "replace").splitlines()
                         if "redis" in l.lower() and "throttl" in l.lower()]
            self.assertTrue(lines, "no log line says that logins are not throttled without Redis")
        finally:
            stack_ctl("start-redis")
        self.assertTrue(wait_until(lambda: self.anon().get("/health", timeout=5).status == 200, 20))


if __name__ == "__main__":
    unittest.main()
