#!/usr/bin/env python3
"""run.py: runs the FertiVision integration tests against a running stack.

Usage: FV_BASE_URL=http://127.0.0.1:18080 FV_STACK_CTL=/path/to/ctl tests/integration/run.py [PATTERN...]

Discovers tests/integration/test_*.py, runs every test with unittest, prints one line per test
("name ... ok" / "name ... FAIL: why" / "name ... ERROR: why"), writes the full tracebacks of the
failures to stderr, and ends with the line `integration: N passed, N failed`. Errors, skips and
expected failures count as failed. Exit status: 0 when every test passed (and there was at least one),
1 when any failed, 2 when the environment is missing.
PATTERN (optional): run only tests whose id contains one of the given substrings.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fvtest  # noqa: E402


def _short(exc_text):
    """The exception line of a traceback (with its continuation lines), squeezed onto one line."""
    lines = exc_text.rstrip().splitlines()
    last_frame = max([i for i, l in enumerate(lines) if l.startswith("  File ")], default=-1)
    idx = next((i for i in range(last_frame + 1, len(lines)) if lines[i] and not lines[i][0].isspace()),
               max(len(lines) - 1, 0))
    last = " ".join(" ".join(lines[idx:]).split())
    return last[:400] + ("..." if len(last) > 400 else "")


class LineResult(unittest.TestResult):
    """Collects outcomes per test (subtests folded into their test) and prints one line per test."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.passed = 0
        self.failed = 0
        self.details = []
        self.durations = []
        self._cur = None

    def startTest(self, test):
        super().startTest(test)
        self._cur = {"status": "ok", "why": [], "t0": time.monotonic()}

    def _bad(self, test, kind, err, sub=None):
        text = self._exc_info_to_string(err, test)
        if self._cur is None:  # class/module fixture failures have no startTest
            self.failed += 1
            self.stream.write("%s ... %s: %s\n" % (test.id() if hasattr(test, "id") else test, kind, _short(text)))
            self.stream.flush()
            self.details.append((str(test), kind, text))
            return
        if self._cur["status"] == "ok" or kind == "ERROR":
            self._cur["status"] = kind
        label = ("[%s] " % sub._subDescription()) if sub is not None else ""
        self._cur["why"].append(label + _short(text))
        self.details.append(((test.id() + " " + label).strip(), kind, text))

    def addSuccess(self, test):
        super().addSuccess(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad(test, "FAIL", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad(test, "ERROR", err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self._bad(test, kind, err, sub=subtest)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if self._cur is not None:
            self._cur["status"] = "SKIP"
            self._cur["why"].append("skipped (counts as failed): %s" % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._cur["status"] = "FAIL"
        self._cur["why"].append("expected failure (counts as failed)")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._cur["status"] = "FAIL"
        self._cur["why"].append("unexpected success (counts as failed)")

    def stopTest(self, test):
        super().stopTest(test)
        cur, self._cur = self._cur, None
        name = test.id()
        self.durations.append((time.monotonic() - cur["t0"], name))
        if cur["status"] == "ok":
            self.passed += 1
            self.stream.write("%s ... ok\n" % name)
        else:
            self.failed += 1
            self.stream.write("%s ... %s: %s\n" % (name, cur["status"], " | ".join(cur["why"])))
        self.stream.flush()


def _iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter_tests(t)
        else:
            yield t


def _filter(suite, patterns):
    if not patterns:
        return suite
    out = unittest.TestSuite()
    for t in _iter_tests(suite):
        if any(p in t.id() for p in patterns):
            out.addTest(t)
    return out


def main(argv):
    out = sys.stdout
    try:
        base = fvtest.base_url()
    except fvtest.ConfigError as e:
        sys.stderr.write("run.py: %s\n" % e)
        out.write("integration: 0 passed, 1 failed\n")
        return 2
    if not os.environ.get("FV_STACK_CTL"):
        sys.stderr.write("run.py: warning: FV_STACK_CTL is not set: tests that need psql or "
                         "service restarts will fail\n")

    # Preflight: say early and clearly when nothing answers (the tests then fail quickly).
    try:
        r = fvtest.Client(base).get("/health", timeout=10)
        sys.stderr.write("run.py: %s/health -> %d\n" % (base, r.status))
    except AssertionError as e:
        sys.stderr.write("run.py: warning: %s\n" % e)

    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    suite = _filter(suite, argv[1:])
    result = LineResult(out)
    t0 = time.monotonic()
    suite.run(result)
    elapsed = time.monotonic() - t0

    if result.details:
        sys.stderr.write("\n==== failure details ====\n")
        for name, kind, text in result.details:
            sys.stderr.write("---- %s: %s\n%s\n" % (kind, name, text))
        sys.stderr.flush()
    total = result.passed + result.failed
    slow = sorted(result.durations, reverse=True)[:8]
    if slow:
        sys.stderr.write("run.py: slowest: %s\n" % ", ".join("%s %.1fs" % (n.split(".", 1)[-1], d) for d, n in slow))
    sys.stderr.write("run.py: %d tests in %.1f s\n" % (total, elapsed))
    failed = result.failed
    if total == 0:
        sys.stderr.write("run.py: no tests ran\n")
        failed = max(failed, 1)
    out.write("integration: %d passed, %d failed\n" % (result.passed, failed))
    out.flush()
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.stderr.write("run.py: interrupted\n")
        sys.stdout.write("integration: 0 passed, 1 failed\n")
        sys.exit(1)
