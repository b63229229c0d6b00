"""fv-worker with the optional language model: a worker configured with FV_OLLAMA_URL and
FV_OLLAMA_MODEL asks tests/fakes/fake_ollama.py (a FAKE Ollama server: it runs no model, it answers
what the model name tells it to) after the sandboxed analysis, keeps the built-in numbers, caches the
refined result under the model's own key, and keeps the built-in result when the model fails."""

import hashlib
import os
import secrets
import subprocess
import sys

from fvtest import (analysis_audit_rows, metrics, redis_cli, stack_ctl, wait_for_analysis, wait_until,
                    worker_log, workers)
from test_worker import WorkerCase

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes", "fake_ollama.py")


def panel_text():
    """The numbers the fake's "good" answer speaks of (AMH 8.6 pmol/L = 1.2 ng/mL, FSH 7.4 IU/L)."""
    return ("Day 3 panel %s\nAMH 8.6 pmol/L (reference > 7.1)\nFSH 7.4 IU/L\nE2 45 pg/mL\n"
            % secrets.token_hex(8)).encode("utf-8")


class LLMTest(WorkerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = "/tmp/fvtest-ollama-%s.jsonl" % secrets.token_hex(6)
        cls.fake = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--record", cls.record],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.port = int(cls.fake.stdout.readline().strip())

    @classmethod
    def tearDownClass(cls):
        cls.fake.terminate()
        cls.fake.wait(timeout=10)
        if os.path.exists(cls.record):
            os.unlink(cls.record)
        super().tearDownClass()

    def tearDown(self):
        stack_ctl("stop-worker", timeout=180)
        stack_ctl("start-worker")
        super().tearDown()

    def llm_worker(self, model):
        stack_ctl("stop-worker", timeout=180)
        stack_ctl("start-worker", "1", "FV_OLLAMA_URL=http://127.0.0.1:%d" % self.port, "FV_OLLAMA_MODEL=" + model)
        self.assertEqual(len(workers()), 1)

    def requests(self):
        if not os.path.exists(self.record):
            return 0
        with open(self.record) as f:
            return sum(1 for line in f if line.strip())

    def test_model_refines_the_analysis_and_its_result_is_cached_under_the_model(self):
        self.llm_worker("good")
        pid = self.new_patient()
        data = panel_text()
        sha = hashlib.sha256(data).hexdigest()
        asked = self.requests()
        d = wait_for_analysis(self.c, self.upload_ok(pid, data, "panel.txt", content_type="text/plain")["id"])
        a = self.assertAnalyzed(d)
        self.assertEqual(a["analyzer"], "ollama")
        self.assertEqual(a.get("llm_model"), "good")
        self.assertEqual(a["values"]["amh"]["value"], 1.2, "the numbers stay the built-in analyzer's")
        self.assertEqual(self.requests(), asked + 1)
        keys = redis_cli("--scan", "--pattern", "fv:analysis:*:%s" % sha).split()
        self.assertEqual(len(keys), 1, keys)
        self.assertEqual(keys[0].split(":")[3], "ollama-good")
        before = metrics()
        d2 = wait_for_analysis(self.c, self.upload_ok(pid, data, "again.txt", content_type="text/plain")["id"])
        self.assertEqual(self.assertAnalyzed(d2)["analyzer"], "ollama")
        self.assertEqual(metrics().get("jobs:cached", 0), before.get("jobs:cached", 0) + 1)
        self.assertEqual(self.requests(), asked + 1, "a cached result does not ask the model again")

    def test_model_failure_keeps_the_built_in_result(self):
        self.llm_worker("http500")
        pid = self.new_patient()
        data = panel_text()
        sha = hashlib.sha256(data).hexdigest()
        d = wait_for_analysis(self.c, self.upload_ok(pid, data, "panel.txt", content_type="text/plain")["id"])
        a = self.assertAnalyzed(d)
        self.assertEqual(a["analyzer"], "builtin")
        self.assertNotIn("llm_model", a)
        self.assertEqual(a["values"]["amh"]["value"], 1.2)
        self.assertEqual([r["outcome"] for r in analysis_audit_rows(d["id"])], ["success"])
        self.assertTrue(wait_until(lambda: "job %s: language model not used" % d["id"] in worker_log(), timeout=10))
        # Cached as the built-in result, so the model is asked again for the same bytes later.
        keys = redis_cli("--scan", "--pattern", "fv:analysis:*:%s" % sha).split()
        self.assertEqual([k.split(":")[3] for k in keys], ["builtin"])
