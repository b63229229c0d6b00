"""Runs last (file order): the audit trail the whole run wrote, with its outages, restarts, conflicts and
refusals, still verifies (`fv-admin audit verify` exits 0)."""

import unittest

from fvtest import FVTestCase, stack_ctl_run


class TrailAfterRunTest(FVTestCase):
    def test_trail_verifies_after_the_run(self):
        p = stack_ctl_run("admin", "audit", "verify", timeout=120)
        self.assertEqual(p.returncode, 0, "audit verify after the whole run: %s %s" % (p.stdout[-800:], p.stderr[-800:]))


if __name__ == "__main__":
    unittest.main()
