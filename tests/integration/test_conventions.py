"""Conventions of the contract: X-Request-Id, content types, caching headers, routing errors (404/405)."""

import re
import unittest
import uuid

from fvtest import API, FVTestCase, cache_tokens, uniq

SANE_GENERATED = re.compile(r"^[A-Za-z0-9._:_+/=-]{1,128}$")


class RequestIdTest(FVTestCase):
    def sample_requests(self):
        """(label, response) for many kinds of responses: success, redirect, 304, client errors, pages."""
        p = self.create_patient()
        pid = p["id"]
        etag = self.get_patient(pid).header("ETag")
        gone = self.create_patient()
        c = self.c
        return [
            ("list 200", c.get(API + "/patients?limit=1")),
            ("create 201", c.post(API + "/patients", json_body=self.valid_patient())),
            ("get 200", self.get_patient(pid)),
            ("get 304", self.get_patient(pid, headers={"If-None-Match": etag})),
            ("patch 200", c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "rid"})),
            ("patch 412", c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "x"}, headers={"If-Match": etag})),
            ("delete 204", c.delete("%s/patients/%s" % (API, gone["id"]))),
            ("create 400", c.post(API + "/patients", json_body={})),
            ("create 415", c.post(API + "/patients", body=b"x", content_type="text/plain")),
            ("get 404", self.get_patient(str(uuid.uuid4()))),
            ("bad uuid 404", self.get_patient("not-a-uuid")),
            ("route 404", c.get(API + "/no-such-thing")),
            ("put 405", c.put(API + "/patients", json_body={})),
            ("list 400", c.get(API + "/patients?foo=1")),
            ("health", c.get("/health")),
            ("ready", c.get("/ready")),
            ("page /patients", c.get("/patients")),
            ("page new", c.get("/patients/new")),
            ("page detail", c.get("/patients/" + pid)),
            ("page 404", c.get("/no-such-page-" + uniq())),
            ("page bad uuid", c.get("/patients/not-a-uuid")),
        ]

    def test_every_response_has_request_id(self):
        for label, r in self.sample_requests():
            with self.subTest(label):
                rid = r.header("X-Request-Id")
                self.assertTrue(rid, "%s: no X-Request-Id (%r)" % (label, r))
                self.assertRegex(rid, SANE_GENERATED)

    def test_generated_ids_are_unique(self):
        ids = [self.c.get("/health").header("X-Request-Id") for _ in range(6)]
        ids += [self.c.get(API + "/patients?limit=1").header("X-Request-Id") for _ in range(6)]
        self.assertTrue(all(ids), ids)
        self.assertEqual(len(set(ids)), len(ids), ids)

    def test_sane_request_id_is_echoed(self):
        u = str(uuid.uuid4())
        for rid in ("abc-123", u, "req.42_A"):
            for label, path in (("list", API + "/patients?limit=1"), ("404", API + "/patients/" + u),
                                ("route404", API + "/nope"), ("page", "/patients"), ("health", "/health")):
                with self.subTest(rid=rid, path=label):
                    r = self.c.get(path, headers={"X-Request-Id": rid})
                    self.assertEqual(r.header("X-Request-Id"), rid, r)

    def test_insane_request_id_is_replaced(self):
        for rid in ("a" * 200, "has space", 'quo"te', "it's", "<script>"):
            with self.subTest(rid=rid[:30]):
                r = self.c.get(API + "/patients?limit=1", headers={"X-Request-Id": rid})
                self.assertStatus(r, 200)
                got = r.header("X-Request-Id")
                self.assertTrue(got, r)
                self.assertNotEqual(got, rid)
                self.assertNotIn(rid, got)
                self.assertRegex(got, SANE_GENERATED)


    def test_static_responses_have_request_id(self):
        for path in ("/static/app.css", "/static/no-such-file-%s.css" % uniq()):
            with self.subTest(path=path):
                r = self.c.get(path)
                self.assertIn(r.status, (200, 404), r)
                self.assertTrue(r.header("X-Request-Id"), "%s: no X-Request-Id" % r.describe())


class HeaderTest(FVTestCase):
    def test_json_content_type(self):
        p = self.create_patient()
        pid = p["id"]
        c = self.c
        for label, r in (
            ("create", c.post(API + "/patients", json_body=self.valid_patient())),
            ("list", c.get(API + "/patients?limit=2")),
            ("get", self.get_patient(pid)),
            ("patch", c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "ct"})),
            ("400", c.post(API + "/patients", json_body={})),
            ("404", self.get_patient(str(uuid.uuid4()))),
            ("405", c.put(API + "/patients", json_body={})),
            ("409", c.post(API + "/patients", json_body=self.valid_patient(medical_record_number=p["medical_record_number"]))),
            ("415", c.post(API + "/patients", body=b"x", content_type="text/plain")),
            ("health", c.get("/health")),
        ):
            with self.subTest(label):
                self.assertJSONType(r)
                r.json()

    def test_patient_responses_are_no_store(self):
        p = self.create_patient()
        pid = p["id"]
        c = self.c
        etag = self.get_patient(pid).header("ETag")
        for label, r in (
            ("create", c.post(API + "/patients", json_body=self.valid_patient())),
            ("list", c.get(API + "/patients?limit=2")),
            ("get", self.get_patient(pid)),
            ("304", self.get_patient(pid, headers={"If-None-Match": etag})),
            ("patch", c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "cache"})),
            ("page list", c.get("/patients")),
            ("page detail", c.get("/patients/" + pid)),
            ("page edit", c.get("/patients/%s/edit" % pid)),
        ):
            with self.subTest(label):
                self.assertIn(r.status, (200, 201, 304), r)
                self.assertIn("no-store", cache_tokens(r), "%s: Cache-Control %r" % (label, r.header("Cache-Control")))


class RoutingTest(FVTestCase):
    def test_unknown_api_routes_are_json_404(self):
        pid = self.create_patient()["id"]
        for path in (API + "/nope", API + "/", API, "/api/v2/patients", "/api/nothing",
                     "%s/patients/%s/nope" % (API, pid),
                     API + "/patientsx"):
            with self.subTest(path=path):
                self.assertError(self.c.get(path), 404, "not_found")

    def test_unknown_api_route_is_json_even_for_browsers(self):
        r = self.c.get(API + "/nope", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        self.assertError(r, 404, "not_found")

    def allow(self, r):
        v = r.header("Allow")
        self.assertTrue(v, "405 without Allow header: %r" % r)
        return {m.strip().upper() for m in v.split(",") if m.strip()}

    def test_wrong_method_on_collection(self):
        for method in ("PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = self.c.request(method, API + "/patients", json_body={} if method != "DELETE" else None)
                self.assertError(r, 405, "method_not_allowed")
                allow = self.allow(r)
                self.assertTrue({"GET", "POST"} <= allow, allow)
                self.assertNotIn(method, allow)

    def test_wrong_method_on_item(self):
        pid = self.create_patient()["id"]
        for method in ("PUT", "POST"):
            with self.subTest(method=method):
                r = self.c.request(method, "%s/patients/%s" % (API, pid), json_body={"notes": "x"})
                self.assertError(r, 405, "method_not_allowed")
                allow = self.allow(r)
                self.assertTrue({"GET", "PATCH", "DELETE"} <= allow, allow)
                self.assertNotIn(method, allow)
        self.assertEqual(self.get_patient(pid).json()["notes"], "")


if __name__ == "__main__":
    unittest.main()
