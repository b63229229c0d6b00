"""fv-worker under faults: a worker killed (-9) in the middle of a job, SIGTERM in the middle of a job,
SIGHUP, Redis restarted with its data lost while jobs wait, PostgreSQL stopped while jobs wait, a
document store that cannot be reached (retries with back-off, then "failed" after 3 attempts, or
success when it returns), analyses that take too long, duplicate jobs. Every test puts the stack back
as it found it (services up, the stack's workers running) and waits with bounded polls only.

The test stack's configuration (scripts/lib/stack.sh) makes the waits short: visibility timeout 3 s,
first retry after 1 s, a sweep every 2 s of documents queued for more than 5 s."""

import os
import secrets

from fvtest import (ANALYSIS_QUEUE, config_seconds, DELAYED_QUEUE, PROCESSING_PREFIX, analysis_audit_rows, child_pids, doc_row,
                    metrics, pid_alive, psql_ok, redis_cli, slot_of_pid, stack_ctl, stack_ctl_run, stack_env,
                    wait_for_analysis, wait_until, worker_holding, worker_log, workers,
                    workers_paused)
from test_worker import SLOW_PAGES, WorkerCase, amh_text

STORE_LOST = "the document store could not be reached"


class FaultCase(WorkerCase):
    def tearDown(self):
        # Whatever a test stopped comes back, and the stack's workers run again.
        if not psql_ok():
            stack_ctl("start-postgres")
            wait_until(psql_ok, timeout=60)
        if stack_ctl_run("redis-cli", "PING").stdout.strip() != "PONG":
            stack_ctl("start-redis")
        self.restore_store()
        if getattr(self, "special_workers", False):
            stack_ctl("stop-worker", timeout=180)
        stack_ctl("start-worker")
        super().tearDown()

    # --- the document store as a lost mount ------------------------------------------------------
    def store(self):
        return stack_env()["FV_STORAGE_DIR"]

    def lose_store(self):
        os.rename(self.store(), self.store() + ".lost")

    def upload_then_lose_store(self, pid):
        """Uploads a document and makes the store unreachable before any worker reads it: the job is
        held back while the workers start (a worker that starts creates a missing store root), then
        queued once the store is gone."""
        with workers_paused(start=False):
            did = self.upload_ok(pid, amh_text(), "s.txt", content_type="text/plain")["id"]
            redis_cli("LREM", ANALYSIS_QUEUE, "0", did)
        stack_ctl("start-worker")
        self.lose_store()
        redis_cli("LPUSH", ANALYSIS_QUEUE, did)
        return did

    def restore_store(self):
        if os.path.isdir(self.store() + ".lost") and not os.path.exists(self.store()):
            os.rename(self.store() + ".lost", self.store())

    # --- slow jobs -------------------------------------------------------------------------------
    def slow_job_in_hand(self, pid):
        """Uploads a scan that takes OCR seconds and waits until a worker is analysing it (status
        "processing", the job in the worker's processing list, its analysis child alive). Returns
        (document id, worker id, worker pid, child pids). Tries again with a new copy if a run was too
        quick to catch."""
        for _ in range(3):
            d = self.upload_ok(pid, self.slow_document(), "scan.pdf", document_type="semen_analysis")
            did = d["id"]
            found = {}

            def in_hand():
                h = worker_holding(did)
                if h and h[1] and doc_row(did, "status") == ["processing"]:
                    kids = child_pids(h[1])
                    if kids:
                        found.update(worker=h[0], pid=h[1], kids=kids)
                        return True
                return doc_row(did, "status")[0] in ("analyzed", "failed")

            wait_until(in_hand, timeout=120, interval=0.05)
            if found:
                return did, found["worker"], found["pid"], found["kids"]
        self.fail("no analysis of a %d-page scan could be caught in progress" % SLOW_PAGES)


class KillTest(FaultCase):
    def test_kill_9_mid_job_completes_on_another_worker_once(self):
        stack_ctl("start-worker", "2")
        pid = self.new_patient()
        did, wid, wpid, kids = self.slow_job_in_hand(pid)
        slot = slot_of_pid(wpid)
        self.assertIsNotNone(slot)
        stack_ctl("kill-worker", str(slot), "KILL")
        self.assertTrue(wait_until(lambda: not pid_alive(wpid), timeout=20), "the worker survived kill -9")
        self.assertTrue(wait_until(lambda: not any(pid_alive(k) for k in kids), timeout=20),
                        "the killed worker's analysis child lives on")
        d = wait_for_analysis(self.c, did, timeout=180)
        self.assertAnalyzed(d)
        self.assertEqual(doc_row(did, "attempts"), ["2"], "one attempt died with its worker, the second finished")
        rows = analysis_audit_rows(did)
        self.assertEqual([r["outcome"] for r in rows], ["success"], "exactly one result")
        self.assertNotEqual(rows[0]["request_id"], wid, "the dead worker cannot have finished it")
        # The reaper gave the job back and unregistered the dead worker.
        self.assertTrue(wait_until(lambda: wid not in redis_cli("SMEMBERS", "fv:workers").split(), timeout=30))
        self.assertEqual(redis_cli("LLEN", PROCESSING_PREFIX + wid), "0")
        self.assertTrue(wait_until(lambda: worker_holding(did) is None, timeout=10))
        self.assertIn("reaper: worker %s stopped heartbeating" % wid, worker_log())

    def test_idle_worker_killed_is_unregistered(self):
        stack_ctl("start-worker", "2")
        slot, wpid = workers()[-1]
        ids = [w for w in redis_cli("SMEMBERS", "fv:workers").split() if w.split(":")[-2] == str(wpid)]
        self.assertEqual(len(ids), 1, ids)
        stack_ctl("kill-worker", str(slot), "KILL")
        self.assertTrue(wait_until(lambda: ids[0] not in redis_cli("SMEMBERS", "fv:workers").split(), timeout=30),
                        "a dead worker stayed registered")
        # The others keep serving.
        d = self.upload_ok(self.new_patient(), amh_text(), "amh.txt", content_type="text/plain")
        self.assertAnalyzed(wait_for_analysis(self.c, d["id"]))


class SignalTest(FaultCase):
    def test_sigterm_mid_job_finishes_the_job_then_exits(self):
        stack_ctl("start-worker", "2")
        pid = self.new_patient()
        did, wid, wpid, _ = self.slow_job_in_hand(pid)
        stack_ctl("kill-worker", str(slot_of_pid(wpid)), "TERM")
        self.assertTrue(wait_until(lambda: not pid_alive(wpid), timeout=120), "the worker did not exit after SIGTERM")
        d = wait_for_analysis(self.c, did, timeout=30)
        self.assertAnalyzed(d)
        self.assertEqual(doc_row(did, "attempts"), ["1"], "the job in hand was finished, not handed on")
        rows = analysis_audit_rows(did)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["request_id"], wid, "the stopping worker itself finished the job")
        self.assertIn("worker %s: stopped" % wid, worker_log())
        self.assertNotIn(wid, redis_cli("SMEMBERS", "fv:workers").split(), "a worker that stopped stays registered")

    def test_sighup_reopens_the_log(self):
        log = stack_env()["FV_WORKER_LOG"]
        rotated = log + "." + secrets.token_hex(4)
        os.rename(log, rotated)
        try:
            for slot, _ in workers():
                stack_ctl("kill-worker", str(slot), "HUP")
            pids = [p for _, p in workers()]

            def reopened():
                text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
                return all("fv-worker[%d] worker: log reopened" % p in text for p in pids)
            self.assertTrue(wait_until(reopened, timeout=20), "the workers did not reopen %s" % log)
            d = self.upload_ok(self.new_patient(), amh_text(), "amh.txt", content_type="text/plain")
            self.assertAnalyzed(wait_for_analysis(self.c, d["id"]))
            self.assertTrue(wait_until(lambda: "job %s: analyzed" % d["id"] in worker_log(), timeout=10))
        finally:
            # Keep one log: what went to the rotated file goes in front of the new one.
            with open(rotated, "rb") as f:
                old = f.read()
            new = open(log, "rb").read() if os.path.exists(log) else b""
            with open(log, "wb") as f:
                f.write(old + new)
            os.unlink(rotated)
            for slot, _ in workers():
                stack_ctl("kill-worker", str(slot), "HUP")


class OutageTest(FaultCase):
    def test_jobs_lost_with_redis_are_found_by_the_sweep(self):
        pid = self.new_patient()
        with workers_paused(start=False):
            docs = [self.upload_ok(pid, amh_text(), "r%d.txt" % i, content_type="text/plain")["id"] for i in range(3)]
            queue = redis_cli("LRANGE", ANALYSIS_QUEUE, "0", "-1").split()
            for did in docs:
                self.assertIn(did, queue)
            stack_ctl("restart-redis")
            self.assertEqual(redis_cli("LLEN", ANALYSIS_QUEUE), "0", "the test stack's Redis keeps no data")
        stack_ctl("start-worker")
        for did in docs:
            self.assertAnalyzed(wait_for_analysis(self.c, did, timeout=120))
            self.assertEqual(doc_row(did, "attempts"), ["1"])
            self.assertEqual(len(analysis_audit_rows(did)), 1)
        self.assertIn("document(s) left queued", worker_log())

    def test_jobs_wait_for_postgresql_and_finish_when_it_returns(self):
        pid = self.new_patient()
        with workers_paused(start=False):
            docs = [self.upload_ok(pid, amh_text(), "p%d.txt" % i, content_type="text/plain")["id"] for i in range(3)]
            stack_ctl("stop-postgres")
        mark = len(worker_log())
        stack_ctl("start-worker")
        # A worker takes a job and keeps it while the database is away, trying its claim again.
        self.assertTrue(wait_until(lambda: any(worker_holding(d) for d in docs), timeout=30),
                        "no worker took a job while PostgreSQL was down")
        self.assertTrue(wait_until(lambda: "worker: database unavailable; the job waits" in worker_log()[mark:],
                                   timeout=30))
        stack_ctl("start-postgres")
        self.assertTrue(wait_until(psql_ok, timeout=60))
        for did in docs:
            self.assertAnalyzed(wait_for_analysis(self.c, did, timeout=120))
            self.assertEqual(doc_row(did, "attempts"), ["1"], "waiting for the database is not an attempt")
            self.assertEqual(len(analysis_audit_rows(did)), 1)


class RetryTest(FaultCase):
    def test_unreachable_store_is_retried_then_failed_after_3_attempts(self):
        pid = self.new_patient()
        before = metrics()
        did = self.upload_then_lose_store(pid)
        d = wait_for_analysis(self.c, did, timeout=120)
        self.restore_store()
        self.assertFailedWith(d)
        self.assertEqual(d["error"], "Analysis failed 3 times: " + STORE_LOST)
        self.assertEqual(doc_row(did, "attempts"), ["3"])
        self.assertEqual([r["outcome"] for r in analysis_audit_rows(did)], ["failure"])
        after = metrics()
        self.assertGreaterEqual(after.get("jobs:retried", 0) - before.get("jobs:retried", 0), 2)
        self.assertGreaterEqual(after.get("jobs:failed", 0) - before.get("jobs:failed", 0), 1)
        # Exponential back-off: the first retry after worker_retry_delay, the second after twice that.
        base, log = config_seconds("worker_retry_delay", 30), worker_log()
        for n in (1, 2):
            self.assertIn("job %s: attempt %d failed (%s); retry in %d s" % (did, n, STORE_LOST, base * 2 ** (n - 1)),
                          log)

    def test_store_back_before_the_last_attempt_and_the_document_is_analyzed(self):
        pid = self.new_patient()
        did = self.upload_then_lose_store(pid)
        rows = {}

        def waiting_for_retry():
            r = doc_row(did, "status, attempts, queued_at > updated_at, error IS NULL")
            rows["r"] = r
            return r[0] == "queued" and r[1] in ("1", "2")
        self.assertTrue(wait_until(waiting_for_retry, timeout=60, interval=0.05), rows)
        self.assertEqual(rows["r"][2:], ["t", "t"], "a retry waits: queued_at is its due time, and no error yet")
        self.restore_store()
        d = wait_for_analysis(self.c, did, timeout=120)
        self.assertAnalyzed(d)
        self.assertIn(doc_row(did, "attempts")[0], ("2", "3"))
        self.assertEqual([r["outcome"] for r in analysis_audit_rows(did)], ["success"])

    def test_analysis_over_the_time_limit_is_retried_then_failed_and_the_worker_goes_on(self):
        self.special_workers = True
        stack_ctl("stop-worker", timeout=180)
        stack_ctl("start-worker", "1", "FV_ANALYSIS_TIME_LIMIT=1")
        (_, wpid), = workers()
        pid = self.new_patient()
        slow = self.upload_ok(pid, self.slow_document(), "scan.pdf")["id"]
        d = wait_for_analysis(self.c, slow, timeout=120)
        self.assertFailedWith(d)
        self.assertEqual(d["error"], "Analysis failed 3 times: the analysis took longer than 1 s")
        nxt = self.upload_ok(pid, amh_text(), "next.txt", content_type="text/plain")["id"]
        self.assertAnalyzed(wait_for_analysis(self.c, nxt, timeout=60))
        self.assertEqual(workers(), [(1, wpid)], "the worker itself survived its analyses being killed")


class DuplicateTest(FaultCase):
    def test_duplicate_jobs_give_one_result(self):
        pid = self.new_patient()
        before = metrics()
        with workers_paused(start=False):
            did = self.upload_ok(pid, amh_text(), "d.txt", content_type="text/plain")["id"]
            redis_cli("LPUSH", ANALYSIS_QUEUE, did, did)
            redis_cli("ZADD", DELAYED_QUEUE, "0", did)
        stack_ctl("start-worker")
        self.assertAnalyzed(wait_for_analysis(self.c, did))
        self.assertTrue(wait_until(lambda: did not in redis_cli("LRANGE", ANALYSIS_QUEUE, "0", "-1").split()
                                   and redis_cli("ZSCORE", DELAYED_QUEUE, did) == ""
                                   and worker_holding(did) is None, timeout=30))
        self.assertEqual(len(analysis_audit_rows(did)), 1)
        self.assertEqual(doc_row(did, "status, attempts"), ["analyzed", "1"])
        self.assertGreaterEqual(metrics().get("jobs:dropped", 0) - before.get("jobs:dropped", 0), 3)
