"""Operations: /health and /ready, and how the app behaves when PostgreSQL or Redis go away and come back
(503 `unavailable`, never 500; transparent reconnection without restarting the app).

These tests stop and restart services of the throwaway stack; each restores them in tearDown."""

import unittest

from fvtest import API, FVTestCase, psql_ok, stack_ctl, wait_until

APP_PROCESSES = 4
CONSECUTIVE = 12  # more than APP_PROCESSES, so every process has to serve at least one after the event
PG_UP_TIMEOUT = 20.0


class HealthTest(FVTestCase):
    def test_health_ok(self):
        r = self.c.get("/health")
        self.assertStatus(r, 200)
        self.assertJSONType(r)
        self.assertRequestId(r)
        body = r.json()
        self.assertEqual(body.get("status"), "ok", body)
        self.assertIsInstance(body.get("checks"), dict, body)
        self.assertEqual(body["checks"].get("database"), "ok", body)
        self.assertEqual(body["checks"].get("redis"), "ok", body)
        for k, v in body["checks"].items():
            self.assertEqual(v, "ok", "check %s: %r" % (k, body))

    def test_ready(self):
        r = self.c.get("/ready")
        self.assertStatus(r, 200)
        self.assertRequestId(r)

    def test_health_and_ready_are_stable_across_processes(self):
        for _ in range(CONSECUTIVE):
            self.assertStatus(self.c.get("/health"), 200)
            self.assertStatus(self.c.get("/ready"), 200)


class OutageCase(FVTestCase):
    def ensure_services(self):
        """Best effort: leave PostgreSQL running and the app answering, whatever the test did."""
        if not psql_ok():
            try:
                stack_ctl("start-postgres")
            except AssertionError:
                pass
            wait_until(psql_ok, PG_UP_TIMEOUT)
        wait_until(lambda: self.c.get("/health", timeout=5).status == 200, PG_UP_TIMEOUT)

    def tearDown(self):
        self.ensure_services()
        super().tearDown()

    def warm_up(self, pid):
        """Enough requests that every app process holds an open database connection."""
        for _ in range(CONSECUTIVE):
            self.assertStatus(self.get_patient(pid), 200)

    def mixed_requests_succeed(self, pid, n=CONSECUTIVE):
        """n consecutive requests of several kinds; every one must succeed (no retry, no poll)."""
        for i in range(n):
            kind = i % 4
            if kind == 0:
                r = self.c.get(API + "/patients?limit=1")
                self.assertEqual(r.status, 200, "request %d of %d after the event: %r" % (i + 1, n, r))
            elif kind == 1:
                r = self.get_patient(pid)
                self.assertEqual(r.status, 200, "request %d of %d after the event: %r" % (i + 1, n, r))
            elif kind == 2:
                r = self.c.post(API + "/patients", json_body=self.valid_patient())
                self.assertEqual(r.status, 201, "request %d of %d after the event: %r" % (i + 1, n, r))
            else:
                r = self.c.get("/patients/" + pid)
                self.assertEqual(r.status, 200, "request %d of %d after the event: %r" % (i + 1, n, r))


class PostgresStoppedTest(OutageCase):
    def test_stopped_postgres_gives_503_and_recovers(self):
        p = self.create_patient()
        pid = p["id"]
        self.warm_up(pid)
        stack_ctl("stop-postgres")
        try:
            r = wait_until(lambda: (lambda x: x if x.status != 200 else None)(self.c.get("/health", timeout=5)),
                           PG_UP_TIMEOUT)
            self.assertIsNotNone(r, "/health still 200 with PostgreSQL stopped")
            self.assertStatus(r, 503)
            self.assertJSONType(r)
            body = r.json()
            self.assertNotEqual(body.get("status"), "ok", body)
            self.assertNotEqual(body.get("checks", {}).get("database"), "ok", "database not named as failing: %r" % body)
            self.assertEqual(body.get("checks", {}).get("redis"), "ok", "redis is up: %r" % body)

            for i in range(CONSECUTIVE):
                with self.subTest(request=i):
                    kind = i % 4
                    if kind == 0:
                        r = self.c.get(API + "/patients?limit=1")
                    elif kind == 1:
                        r = self.get_patient(pid)
                    elif kind == 2:
                        r = self.c.post(API + "/patients", json_body=self.valid_patient())
                    else:
                        r = self.c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "written during outage"})
                    self.assertError(r, 503, "unavailable")
            self.assertStatus(self.c.get("/ready"), 503, "/ready with the database down")
            r = self.c.get("/patients", headers={"Accept": "text/html"})
            self.assertStatus(r, 503)
            self.assertHTMLType(r)
            self.assertRequestId(r)
        finally:
            stack_ctl("start-postgres")

        # the app recovers by itself: a bounded poll for PostgreSQL, then every request succeeds
        self.assertTrue(wait_until(psql_ok, PG_UP_TIMEOUT), "PostgreSQL did not come back")
        ok = wait_until(lambda: self.c.get(API + "/patients?limit=1", timeout=5).status == 200, PG_UP_TIMEOUT)
        self.assertTrue(ok, "the app did not recover after PostgreSQL came back")
        self.mixed_requests_succeed(pid)
        got = self.get_patient(pid).json()
        self.assertEqual(got["notes"], "", "a PATCH answered 503 was written")
        self.assertStatus(self.c.get("/health"), 200)


class PostgresRestartTest(OutageCase):
    def test_restart_postgres_reconnects_transparently(self):
        p = self.create_patient()
        pid = p["id"]
        self.warm_up(pid)
        stack_ctl("restart-postgres")
        self.assertTrue(wait_until(psql_ok, PG_UP_TIMEOUT), "PostgreSQL did not come back after restart")
        # every process had a connection that the restart broke; each must reconnect on its own
        self.mixed_requests_succeed(pid)
        for _ in range(CONSECUTIVE):
            self.assertStatus(self.c.get("/health"), 200)


class AppRestartTest(OutageCase):
    def test_restart_app_keeps_data(self):
        p = self.create_patient()
        stack_ctl("restart-app")
        ok = wait_until(lambda: self.c.get("/ready", timeout=5).status == 200, PG_UP_TIMEOUT)
        self.assertTrue(ok, "/ready not 200 after restart-app")
        self.mixed_requests_succeed(p["id"])
        self.assertEqual(self.get_patient(p["id"]).json()["name"], p["name"])


class RedisRestartTest(OutageCase):
    def test_restart_redis(self):
        p = self.create_patient()
        pid = p["id"]
        self.warm_up(pid)
        for _ in range(CONSECUTIVE):
            self.assertStatus(self.c.get("/health"), 200)
        stack_ctl("restart-redis")
        ok = wait_until(lambda: self.c.get("/health", timeout=5).status == 200, PG_UP_TIMEOUT)
        self.assertTrue(ok, "/health not 200 after Redis restart")
        for i in range(CONSECUTIVE):
            r = self.c.get("/health")
            self.assertStatus(r, 200, "health %d after Redis restart" % (i + 1))
            self.assertEqual(r.json()["checks"].get("redis"), "ok")
        self.mixed_requests_succeed(pid)


if __name__ == "__main__":
    unittest.main()
