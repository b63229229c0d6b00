"""Concurrent requests against the several fv-app processes: conditional updates, unique MRNs.
The assertions are about outcomes (how many succeeded), never about timing."""

import collections
import unittest
from concurrent.futures import ThreadPoolExecutor

from fvtest import API, AUTO_MRN_RE, Client, FVTestCase, psql, uniq, uniq_mrn

N = 8  # concurrent requests: twice the app's processes


def parallel(fn, n=N):
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(fn, range(n)))


class ConcurrencyTest(FVTestCase):
    def test_concurrent_patches_with_same_if_match_one_wins(self):
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        url = "%s/patients/%s" % (API, p["id"])
        rs = parallel(lambda i: Client().login().patch(url, json_body={"notes": "writer %d" % i},
                                                       headers={"If-Match": etag}))
        counts = collections.Counter(r.status for r in rs)
        self.assertEqual(counts, collections.Counter({200: 1, 412: N - 1}), [repr(r) for r in rs])
        winner = [r for r in rs if r.status == 200][0].json()["notes"]
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], winner)

    def test_concurrent_creates_with_same_mrn_one_wins(self):
        mrn = uniq_mrn()
        tok = uniq()
        rs = parallel(lambda i: Client().login().post(API + "/patients", json_body=self.valid_patient(
            tok, medical_record_number=mrn)))
        counts = collections.Counter(r.status for r in rs)
        self.assertEqual(counts, collections.Counter({201: 1, 409: N - 1}), [repr(r) for r in rs])
        for r in rs:
            if r.status == 409:
                self.assertError(r, 409, "conflict")
        self.assertEqual(len(self.api_ids_for(tok)), 1)

    def test_concurrent_creates_get_distinct_mrns(self):
        tok = uniq()
        rs = parallel(lambda i: Client().login().post(API + "/patients", json_body=self.valid_patient(tok)))
        self.assertEqual([r.status for r in rs], [201] * N, [repr(r) for r in rs])
        mrns = [r.json()["medical_record_number"] for r in rs]
        for m in mrns:
            self.assertRegex(m, AUTO_MRN_RE)
        self.assertEqual(len(set(mrns)), N, mrns)

    def test_auto_mrn_skips_numbers_taken_by_clients(self):
        # A client may store a number of the server's own form; the server must then pick another one
        # instead of failing. Take the next few numbers of the sequence, then create without an MRN.
        nxt = int(psql("SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM patient_mrn_seq"))
        taken = []
        for k in range(3):
            mrn = "MR-%08d" % (nxt + k)
            r = self.c.post(API + "/patients", json_body=self.valid_patient(medical_record_number=mrn))
            if r.status == 201:
                taken.append(mrn)
            else:  # another test took it in between: fine, it is taken either way
                self.assertError(r, 409, "conflict")
        p = self.create_patient()
        self.assertRegex(p["medical_record_number"], AUTO_MRN_RE)
        self.assertNotIn(p["medical_record_number"], taken)


if __name__ == "__main__":
    unittest.main()
