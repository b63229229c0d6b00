"""Security headers on every kind of response (JSON, page, error, redirect): Content-Security-Policy
without 'unsafe-inline' in script-src and with frame-ancestors 'none', X-Content-Type-Options nosniff,
Referrer-Policy same-origin; Cache-Control no-store on everything that carries patient data."""

import unittest
import uuid

from fvtest import API, AuthCase, Client, cache_tokens, uniq


def csp_directives(values):
    """{directive: [sources]} of every Content-Security-Policy header (a directive's first occurrence)."""
    out = {}
    for v in values:
        for part in v.split(";"):
            words = part.split()
            if words and words[0].lower() not in out:
                out[words[0].lower()] = [w.lower() for w in words[1:]]
    return out


class SecurityHeadersTest(AuthCase):
    def samples(self):
        p = self.create_patient()
        pid = p["id"]
        anon = Client()
        viewer = self.as_role("viewer")
        admin = self.as_role("admin")
        user, fresh = self.fresh("viewer", token=False)
        _, login_post = Client().session_login(user.name, user.password)
        html = {"Accept": "text/html"}
        return [
            ("json 200 list", self.c.get(API + "/patients?limit=1")),
            ("json 200 one", self.get_patient(pid)),
            ("json 201", self.c.post(API + "/patients", json_body=self.valid_patient())),
            ("json 400", self.c.post(API + "/patients", json_body={})),
            ("json 401", anon.get(API + "/patients")),
            ("json 403", viewer.post(API + "/patients", json_body=self.valid_patient())),
            ("json 404", self.get_patient(str(uuid.uuid4()))),
            ("json 405", self.c.put(API + "/patients", json_body={})),
            ("json token 201", anon.post(API + "/auth/token", json_body={"username": user.name, "password": user.password})),
            ("health", anon.get("/health")),
            ("page 200 list", self.c.get("/patients", headers=html)),
            ("page 200 detail", self.c.get("/patients/" + pid, headers=html)),
            ("page 200 login", anon.get("/login", headers=html)),
            ("page 200 admin", admin.get("/admin/users", headers=html)),
            ("page 200 audit", admin.get("/admin/audit", headers=html)),
            ("page 401 login failed", Client().session_login(user.name, "wrong-" + uniq())[1]),
            ("page 403 role", viewer.get("/patients/new", headers=html)),
            ("page 403 csrf", fresh.post("/logout", form={}, headers=html, csrf=False)),
            ("page 404", self.c.get("/no-such-page-" + uniq(), headers=html)),
            ("redirect 303 to login", anon.get("/patients", headers=html)),
            ("redirect 303 after login", login_post),
        ]

    def test_security_headers_everywhere(self):
        samples = self.samples()
        self.throttle_cleanup()
        for label, r in samples:
            with self.subTest(label, status=r.status):
                csp = r.headers.get_all("Content-Security-Policy") or []
                self.assertTrue(csp, "%s: no Content-Security-Policy" % r.describe())
                d = csp_directives(csp)
                script = d.get("script-src", d.get("default-src"))
                self.assertIsNotNone(script, "CSP %r restricts no scripts (no script-src or default-src)" % csp)
                self.assertNotIn("'unsafe-inline'", script, "CSP %r" % csp)
                self.assertNotIn("*", script, "CSP %r" % csp)
                self.assertEqual(d.get("frame-ancestors"), ["'none'"], "CSP %r" % csp)
                self.assertEqual([v.strip().lower() for v in r.headers.get_all("X-Content-Type-Options") or []][:1],
                                 ["nosniff"], r.describe())
                self.assertEqual([v.strip().lower() for v in r.headers.get_all("Referrer-Policy") or []][:1],
                                 ["same-origin"], r.describe())

    def test_patient_data_is_no_store(self):
        p = self.create_patient()
        pid = p["id"]
        etag = self.get_patient(pid).header("ETag")
        html = {"Accept": "text/html"}
        admin = self.as_role("admin")
        viewer = self.as_role("viewer")
        for label, r in (
            ("api list", self.c.get(API + "/patients?limit=1")),
            ("api one", self.get_patient(pid)),
            ("api 304", self.get_patient(pid, headers={"If-None-Match": etag})),
            ("api create", self.c.post(API + "/patients", json_body=self.valid_patient())),
            ("api patch", self.c.patch("%s/patients/%s" % (API, pid), json_body={"notes": "ns"})),
            ("viewer api one", viewer.get("%s/patients/%s" % (API, pid))),
            ("page list", self.c.get("/patients", headers=html)),
            ("page detail", self.c.get("/patients/" + pid, headers=html)),
            ("page edit", self.c.get("/patients/%s/edit" % pid, headers=html)),
            ("viewer page detail", viewer.get("/patients/" + pid, headers=html)),
            ("audit page for the patient", admin.get("/admin/audit?patient=" + pid, headers=html)),
            ("token", Client().post(API + "/auth/token", json_body={"username": viewer.user.name,
                                                                    "password": viewer.user.password})),
        ):
            with self.subTest(label):
                self.assertLess(r.status, 400, r)
                self.assertIn("no-store", cache_tokens(r), "%s: Cache-Control %r" % (label, r.header("Cache-Control")))


if __name__ == "__main__":
    unittest.main()
