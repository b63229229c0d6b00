"""fv-worker: a document's analysis as the API shows it (queued -> processing -> analyzed), reanalyze,
the result cache (same bytes twice, another analyzer version), the audit row of each outcome, the
metrics, hostile files (a PDF of thousands of pages, images too large) and `fv-worker --analyze`.
The fault tests (workers killed, Redis and PostgreSQL lost, retries, signals) are in
test_worker_faults.py. Documents are made unique per test, so no result comes from another test's
cache entry unless the test wants it to."""

import hashlib
import json
import os
import secrets

from fvtest import (ANALYSIS_QUEUE, API, DELAYED_QUEUE, METRICS_KEY, analysis_audit_rows, doc_row, metrics,
                    parse_ts, pdf_pages, png_blank, redis_cli, scan_pdf, shared_temp, stack_ctl_run,
                    wait_analysis_idle, wait_for_analysis, wait_until, worker_holding, worker_log, workers,
                    workers_paused)
from test_documents_api import DocCase, corpus_dir

# A slow document made of a real scan: an image-only PDF of SLOW_PAGES pages, each the corpus's
# SLOW_SCAN, so every page needs OCR (seconds in all): long enough to see "processing" through the API,
# to kill or stop a worker in the middle of it, and to pass a time limit of 1 s.
SLOW_SCAN = "SA_report.JPG"
SLOW_PAGES = 8


def amh_text(token=None):
    """A plain-text lab report whose bytes are new each call: one AMH value, 2.5 ng/mL."""
    token = token or secrets.token_hex(8)
    return ("Lab report %s\nAMH 2.5 ng/mL\n" % token).encode("utf-8")


class WorkerCase(DocCase):
    def setUp(self):
        super().setUp()
        self.assertTrue(workers(), "no fv-worker is running in the stack ($FV_STACK_CTL workers)")
        wait_analysis_idle()

    def analysed(self, did, timeout=120, seen=None):
        d = wait_for_analysis(self.c, did, timeout=timeout, seen=seen)
        self.assertIsNotNone(d, "document %s could not be read" % did)
        self.assertIn(d["status"], ("analyzed", "failed"),
                      "document %s still %s after %d s" % (did, d["status"], timeout))
        return d

    def assertAnalyzed(self, d):
        self.assertEqual(d["status"], "analyzed", "document %s: %s (error %r)" % (d["id"], d["status"], d["error"]))
        self.assertIsNone(d["error"])
        a = d["analysis"]
        self.assertIsInstance(a, dict)
        self.assertIsInstance(a.get("processing_ms"), int)
        self.assertGreaterEqual(a["processing_ms"], 0)
        parse_ts(a.get("analyzed_at"))
        self.assertIsInstance(a.get("values"), dict)
        return a

    def assertFailedWith(self, d, *words):
        self.assertEqual(d["status"], "failed", "document %s: %s" % (d["id"], d["status"]))
        self.assertIsNone(d["analysis"])
        self.assertIsInstance(d["error"], str)
        self.assertTrue(d["error"].strip(), "a failed document must say why")
        for w in words:
            self.assertIn(w.lower(), d["error"].lower())

    def corpus(self, name):
        return os.path.join(corpus_dir(), "docs", name)

    def slow_document(self):
        """New bytes each call (never in the result cache): see SLOW_SCAN."""
        with open(self.corpus(SLOW_SCAN), "rb") as f:
            return scan_pdf(f.read(), SLOW_PAGES)


class LifecycleTest(WorkerCase):
    def test_text_document_is_analyzed_with_its_values(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, amh_text(), "amh.txt", document_type="hormone_panel", content_type="text/plain")
        self.assertEqual(d["status"], "queued")
        d = self.analysed(d["id"])
        a = self.assertAnalyzed(d)
        self.assertEqual(a["values"]["amh"]["value"], 2.5)
        self.assertEqual(a["values"]["amh"]["unit"], "ng/mL")
        self.assertEqual(doc_row(d["id"], "attempts"), ["1"])

    def test_status_moves_queued_processing_analyzed(self):
        pid = self.new_patient()
        with workers_paused():
            d = self.upload_ok(pid, self.slow_document(), "scan.pdf", document_type="semen_analysis")
            seen = [self.doc(d["id"]).json()["status"]]
        d = self.analysed(d["id"], seen=seen)
        self.assertAnalyzed(d)
        self.assertEqual(seen, ["queued", "processing", "analyzed"], "statuses seen through the API, in order")
        self.assertGreater(len(d["analysis"]["values"]), 0, "the scan's values were not found")
        self.assertEqual(d["analysis"].get("ocr_pages"), SLOW_PAGES)

    def test_analysis_is_audited_once_as_the_worker(self):
        pid = self.new_patient()
        d = self.analysed(self.upload_ok(pid, amh_text(), "amh.txt", content_type="text/plain")["id"])
        self.assertAnalyzed(d)
        rows = analysis_audit_rows(d["id"])
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["username"], "fv-worker")
        self.assertIsNone(rows[0]["user_id"])
        self.assertEqual(rows[0]["entity_type"], "document")
        self.assertEqual(rows[0]["outcome"], "success")

    def test_reanalyze_runs_the_analysis_again(self):
        pid = self.new_patient()
        d = self.analysed(self.upload_ok(pid, amh_text(), "amh.txt", content_type="text/plain")["id"])
        self.assertAnalyzed(d)
        first = d["analysis"]["analyzed_at"]
        r = self.c.post(API + "/documents/%s/reanalyze" % d["id"])
        self.assertStatus(r, 202)
        # A second outcome row says the second analysis happened (analyzed_at has whole seconds).
        self.assertTrue(wait_for_analysis_rows(d["id"], 2), analysis_audit_rows(d["id"]))
        d = self.analysed(d["id"])
        self.assertAnalyzed(d)
        self.assertGreaterEqual(parse_ts(d["analysis"]["analyzed_at"]), parse_ts(first))
        self.assertEqual(doc_row(d["id"], "attempts"), ["1"], "reanalyze starts the attempts again")

    def test_archived_document_is_not_analyzed(self):
        pid = self.new_patient()
        with workers_paused():
            d = self.upload_ok(pid, amh_text(), "amh.txt", content_type="text/plain")
            self.assertStatus(self.c.delete(API + "/documents/" + d["id"]), 204)
        # Its job is taken and dropped: the row stays as it was.
        self.assertTrue(wait_until_not_queued(d["id"]), "the job of an archived document stayed on the queue")
        self.assertEqual(doc_row(d["id"], "status, attempts"), ["queued", "0"])
        self.assertEqual(analysis_audit_rows(d["id"]), [])


def wait_for_analysis_rows(did, n, timeout=60):
    return wait_until(lambda: len(analysis_audit_rows(did)) >= n, timeout=timeout)


def wait_until_not_queued(did, timeout=30):
    """Until no queue, delayed set or processing list holds did."""
    def gone():
        return (did not in redis_cli("LRANGE", ANALYSIS_QUEUE, "0", "-1").split()
                and redis_cli("ZSCORE", DELAYED_QUEUE, did) == ""
                and worker_holding(did) is None)
    return wait_until(gone, timeout=timeout)


class CacheTest(WorkerCase):
    def cache_keys(self, sha):
        return redis_cli("--scan", "--pattern", "fv:analysis:*:%s" % sha).split()

    def test_same_bytes_twice_come_from_the_cache(self):
        pid = self.new_patient()
        data = amh_text()
        sha = hashlib.sha256(data).hexdigest()
        first = self.analysed(self.upload_ok(pid, data, "amh.txt", content_type="text/plain")["id"])
        a1 = self.assertAnalyzed(first)
        version = a1.get("analyzer_version")
        keys = self.cache_keys(sha)
        self.assertEqual(len(keys), 1, keys)
        if version is not None:
            self.assertEqual(keys[0], "fv:analysis:%s:builtin:%s" % (version, sha))
        ttl = int(redis_cli("TTL", keys[0]))
        self.assertGreater(ttl, 0, "the cache entry must expire")
        before = metrics()
        second = self.analysed(self.upload_ok(pid, data, "again.txt", content_type="text/plain")["id"])
        a2 = self.assertAnalyzed(second)
        self.assertGreaterEqual(metrics().get("jobs:cached", 0), before.get("jobs:cached", 0) + 1)
        log = worker_log()
        self.assertIn("job %s: analyzed (attempt 1, from the cache)" % second["id"], log,
                      "the second analysis of the same bytes was not served from the cache")
        self.assertIn("job %s: analyzed (attempt 1)\n" % first["id"], log, "the first one was analysed")
        strip = ("processing_ms", "analyzed_at")
        self.assertEqual({k: v for k, v in a1.items() if k not in strip},
                         {k: v for k, v in a2.items() if k not in strip})

    def test_the_cache_is_read_by_sha256_and_version(self):
        """An entry under the current key is used as it is; one under another analyzer version never."""
        pid = self.new_patient()
        probe = self.analysed(self.upload_ok(pid, amh_text(), "probe.txt", content_type="text/plain")["id"])
        self.assertAnalyzed(probe)
        keys = self.cache_keys(probe["sha256"])
        self.assertEqual(len(keys), 1, keys)
        parts = keys[0].split(":")  # fv:analysis:VERSION:MODE:SHA256
        self.assertEqual(len(parts), 5, keys[0])
        version, mode = parts[2], parts[3]
        self.assertEqual(mode, "builtin", keys[0])
        data = amh_text()
        sha = hashlib.sha256(data).hexdigest()
        planted = {"analyzer": "builtin", "values": {}, "key_findings": ["planted by test_worker"],
                   "fertility_domains": [], "confidence": 0.5, "summary": "planted", "text_chars": 1}
        other = "fv:analysis:%s-old:builtin:%s" % (version, sha)
        redis_cli("SET", other, json.dumps(dict(planted, summary="another version")), "EX", "600")
        try:
            d = self.analysed(self.upload_ok(pid, data, "v.txt", content_type="text/plain")["id"])
            a = self.assertAnalyzed(d)
            self.assertNotEqual(a.get("summary"), "another version", "an entry of another analyzer version was used")
            self.assertIn("amh", a["values"])
            # The same bytes with a planted entry under the current key: served from it.
            current = "fv:analysis:%s:builtin:%s" % (version, sha)
            redis_cli("SET", current, json.dumps(planted), "EX", "600")
            d2 = self.analysed(self.upload_ok(pid, data, "v2.txt", content_type="text/plain")["id"])
            a2 = self.assertAnalyzed(d2)
            self.assertEqual(a2["summary"], "planted")
            self.assertEqual(a2["key_findings"], ["planted by test_worker"])
        finally:
            redis_cli("DEL", other, "fv:analysis:%s:builtin:%s" % (version, sha))


class MetricsTest(WorkerCase):
    def test_outcomes_durations_and_depths_are_counted(self):
        before = metrics()
        pid = self.new_patient()
        d = self.analysed(self.upload_ok(pid, amh_text(), "amh.txt", content_type="text/plain")["id"])
        self.assertAnalyzed(d)
        after = metrics()
        # At least: a sweep may analyse another test's document meanwhile.
        self.assertGreaterEqual(after.get("jobs:analyzed", 0), before.get("jobs:analyzed", 0) + 1)
        self.assertGreaterEqual(after.get("duration_count", 0), before.get("duration_count", 0) + 1)
        self.assertGreaterEqual(after.get("duration_sum_ms", 0), before.get("duration_sum_ms", 0))
        # Buckets are cumulative: the largest bound counts every observation under 120 s.
        self.assertGreaterEqual(after.get("duration_bucket:120000", 0), before.get("duration_bucket:120000", 0) + 1)
        self.assertLessEqual(after.get("duration_bucket:100", 0), after.get("duration_bucket:120000", 0))
        self.assertLessEqual(after.get("duration_bucket:120000", 0), after.get("duration_count", 0))
        p = stack_ctl_run("worker", "--metrics")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout
        for line in ('fv_analysis_jobs_total{outcome="analyzed"} ', 'fv_analysis_duration_seconds_bucket{le="+Inf"} ',
                     'fv_analysis_queue_jobs{state="waiting"} ', 'fv_analysis_queue_jobs{state="delayed"} ',
                     'fv_analysis_queue_jobs{state="processing"} ', 'fv_analysis_workers{state="live"} '):
            self.assertIn(line, text)
        self.assertIn("# TYPE fv_analysis_duration_seconds histogram", text)
        live = [l for l in text.splitlines() if l.startswith('fv_analysis_workers{state="live"}')][0]
        self.assertGreaterEqual(int(live.split()[-1]), len(workers()))
        self.assertEqual(redis_cli("TYPE", METRICS_KEY), "hash")


class HostileTest(WorkerCase):
    def test_pdf_of_thousands_of_pages_fails_and_the_worker_goes_on(self):
        pid = self.new_patient()
        r = self.upload(pid, pdf_pages(5000), "5000-pages.pdf")
        self.assertStatus(r, 202, "a plain PDF of 5000 pages passes upload validation")
        bomb = r.json()
        nxt = self.upload_ok(pid, amh_text(), "next.txt", content_type="text/plain")
        d = self.analysed(bomb["id"])
        self.assertFailedWith(d, "pages")
        self.assertEqual(doc_row(d["id"], "attempts"), ["1"], "a file that cannot be analysed is not retried")
        self.assertEqual(analysis_audit_rows(d["id"])[-1]["outcome"], "failure")
        self.assertAnalyzed(self.analysed(nxt["id"]))

    def test_image_over_the_pixel_limit_fails_and_the_worker_goes_on(self):
        """14000 x 14000 pixels: accepted at upload (under 20000 x 20000), over the analysis limit."""
        pid = self.new_patient()
        r = self.upload(pid, png_blank(14000, 14000), "huge.png", timeout=60)
        self.assertStatus(r, 202)
        nxt = self.upload_ok(pid, amh_text(), "next.txt", content_type="text/plain")
        self.assertFailedWith(self.analysed(r.json()["id"]), "megapixel")
        self.assertAnalyzed(self.analysed(nxt["id"]))

    def test_30000_pixel_square_png_is_refused_at_upload_and_by_analyze(self):
        data = png_blank(30000, 30000)
        pid = self.new_patient()
        r = self.upload(pid, data, "bomb.png", timeout=60)
        self.assertError(r, 400, "invalid")
        with shared_temp(data, ".png") as path:
            p = stack_ctl_run("worker", "--analyze", path, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("too large", p.stderr)
        self.assertEqual(p.stdout.strip(), "")


class AnalyzeCommandTest(WorkerCase):
    def test_analyze_prints_the_analysis(self):
        with shared_temp(amh_text(), ".txt") as path:
            p = stack_ctl_run("worker", "--analyze", path, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        a = json.loads(p.stdout)
        self.assertEqual(a["values"]["amh"]["value"], 2.5)
        self.assertIsInstance(a["processing_ms"], int)
        parse_ts(a["analyzed_at"])

    def test_analyze_a_corpus_pdf(self):
        with open(self.corpus("northbridge_day3_panel.pdf"), "rb") as f:
            data = f.read()
        with shared_temp(data, ".pdf") as path:
            p = stack_ctl_run("worker", "--analyze", path, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("fsh", json.loads(p.stdout)["values"])

    def test_analyze_refuses_what_upload_refuses(self):
        with shared_temp(b"PK\x03\x04" + os.urandom(64), ".zip") as path:
            p = stack_ctl_run("worker", "--analyze", path, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refused", p.stderr)

    def test_time_limit_kills_the_analysis(self):
        with shared_temp(self.slow_document(), ".pdf") as path:
            p = stack_ctl_run("worker", "FV_ANALYSIS_TIME_LIMIT=1", "--analyze", path, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("took longer than 1 s", p.stderr)

    def test_memory_limit_stops_the_analysis_with_a_reason(self):
        with shared_temp(self.slow_document(), ".pdf") as path:
            p = stack_ctl_run("worker", "FV_ANALYSIS_MEMORY_LIMIT=40000000", "--analyze", path, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("analysis failed:", p.stderr)
        self.assertEqual(p.stdout.strip(), "")

    def test_help_lists_options_and_keys(self):
        p = stack_ctl_run("worker", "--help")
        self.assertEqual(p.returncode, 0)
        for word in ("--analyze", "--pidfile", "--metrics", "worker_visibility_timeout", "analysis_time_limit",
                     "analysis_memory_limit", "analysis_max_pages", "analysis_max_pixels", "ollama_url"):
            self.assertIn(word, p.stdout)
