"""Documents JSON API: upload (type from the bytes, hash, Location), read (ETag), list (newest first,
keyset pagination), download (headers, ranges), reanalyze, archive, the patient's documents,
deduplicated storage, the corpus, the analysis queue (Redis up and down), audit rows and the
integrity check of stored objects. DocCase, the base of every test_documents*.py, is here."""

import datetime
import hashlib
import os
import re
import sys
import threading
import urllib.parse

from fvtest import (API, AuthCase, Client, ETAG_RE, UUID_RE, Part, multipart_body, parse_ts, psql, qs, raw_request,
                    redis_cli, sql_literal, stack_ctl, stack_ctl_run, stack_env, upload_parts, wait_for_analysis,
                    wait_until, workers_paused)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "files"))
import samples  # noqa: E402

DOC_FIELDS = ("id", "patient_id", "document_type", "filename", "content_type", "size", "sha256", "status",
              "uploaded_at", "uploaded_by", "analysis", "error")
QUEUE = "fv:queue:analysis"
INTEGRITY_MSG = "the stored document failed its integrity check"
CORPUS_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".tif": "image/tiff", ".tiff": "image/tiff", ".txt": "text/plain"}


def corpus_dir():
    d = os.environ.get("FV_CORPUS_DIR")
    if d:
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(os.path.join(here, "..", "..", "..", "shared", "corpus"))


class DocCase(AuthCase):
    """Upload helpers and the storage-side checks (rows, object files, temporary files)."""

    # --- paths -----------------------------------------------------------------------------------
    @staticmethod
    def storage_dir():
        return stack_env()["FV_STORAGE_DIR"]

    @classmethod
    def spool_dir(cls):
        return os.path.join(stack_env()["FV_STACK_DIR"], "spool")

    @classmethod
    def object_path(cls, sha):
        return os.path.join(cls.storage_dir(), sha[:2], sha[2:4], sha + ".fve")

    @classmethod
    def object_files(cls):
        """Every stored object (*.fve) under the storage directory, as paths relative to it."""
        root = cls.storage_dir()
        out = set()
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith(".fve"):
                    out.add(os.path.relpath(os.path.join(d, f), root))
        return out

    @classmethod
    def temp_files(cls):
        """Files left in the spool directory and the storage's tmp directory (uploads in progress)."""
        out = []
        for d in (cls.spool_dir(), os.path.join(cls.storage_dir(), "tmp")):
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in os.listdir(d)]
        return out

    # --- requests --------------------------------------------------------------------------------
    def new_patient(self, client=None):
        c = client or self.c
        r = c.post(API + "/patients", json_body=self.valid_patient())
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def upload_path(self, pid, page=False):
        return ("" if page else API) + "/patients/%s/documents" % pid

    def post_parts(self, pid, parts, client=None, boundary=None, close=True, page=False, timeout=30, **kw):
        body, ctype = multipart_body(parts, boundary=boundary, close=close)
        hdrs = kw.pop("headers", {})
        if page:
            hdrs.setdefault("Accept", "text/html")
        return (client or self.c).post(self.upload_path(pid, page), body=body, content_type=ctype, headers=hdrs,
                                       timeout=timeout, **kw)

    def upload(self, pid, data, filename="report.txt", document_type="lab_report",
               content_type="application/octet-stream", client=None, **kw):
        return self.post_parts(pid, upload_parts(data, filename, document_type, content_type), client=client, **kw)

    def upload_ok(self, pid, data, filename="report.txt", **kw):
        r = self.upload(pid, data, filename, **kw)
        self.assertEqual(r.status, 202, r)
        return r.json()

    def doc(self, did, client=None, **kw):
        return (client or self.c).get(API + "/documents/%s" % did, **kw)

    def content(self, did, client=None, **kw):
        kw.setdefault("timeout", 60)
        return (client or self.c).get(API + "/documents/%s/content" % did, **kw)

    def list_docs(self, pid, client=None, **params):
        return (client or self.c).get(API + "/patients/%s/documents" % pid + ("?" + qs(params) if params else ""))

    # --- database --------------------------------------------------------------------------------
    @staticmethod
    def doc_rows(pid):
        """documents rows of patient pid, archived ones included."""
        return int(psql("SELECT count(*) FROM documents WHERE patient_id = %s" % sql_literal(pid)))

    @staticmethod
    def all_doc_rows():
        return int(psql("SELECT count(*) FROM documents"))

    # --- assertions ------------------------------------------------------------------------------
    def snapshot(self):
        return {"objects": self.object_files(), "rows": self.all_doc_rows()}

    def assertNothingStored(self, before, pid=None, msg=None):
        """No new documents row (none at all for pid), no new object file, no temporary file left."""
        total, mine = psql("SELECT count(*) || ' ' || count(*) FILTER (WHERE patient_id::text = %s) FROM documents"
                           % sql_literal(pid or "")).split()
        if pid is not None:
            self.assertEqual(int(mine), 0, msg or "a refused upload left a documents row")
        self.assertEqual(int(total), before["rows"], msg or "a refused upload left a documents row")
        self.assertEqual(self.object_files() - before["objects"], set(),
                         msg or "a refused upload left a stored object")
        self.assertEqual(self.temp_files(), [], msg or "a refused upload left a temporary file")

    def assertDocShape(self, d, full=True):
        fields = DOC_FIELDS if full else [f for f in DOC_FIELDS if f != "analysis"]
        for f in fields:
            self.assertIn(f, d, "document lacks %r: %r" % (f, d))
        self.assertRegex(d["id"], UUID_RE)
        self.assertRegex(d["patient_id"], UUID_RE)
        self.assertRegex(d["sha256"], r"^[0-9a-f]{64}$")
        self.assertIsInstance(d["size"], int)
        self.assertIn(d["status"], ("queued", "processing", "analyzed", "failed"))
        parse_ts(d["uploaded_at"])

    def assertRefused(self, resp, status, code, before, pid=None, fields=(), words=()):
        err = self.assertError(resp, status, code, fields=fields)
        for w in words:
            self.assertIn(w.lower(), err["message"].lower(), "%s: message should name %r" % (resp.describe(), w))
        self.assertNothingStored(before, pid, "%s left something behind" % resp.describe())
        return err


# ================================================================================================

class UploadTest(DocCase):
    def test_upload_answers_202_with_location_and_document(self):
        # A worker would take the job (and change the status) at once.
        with workers_paused():
            pid = self.new_patient()
            data = samples.unique_text()
            r = self.upload(pid, data, "day3 panel.txt", document_type="hormone_panel", content_type="text/plain")
            self.assertStatus(r, 202)
            self.assertJSONType(r)
            d = r.json()
            self.assertDocShape(d)
            self.assertEqual(r.location_path(), "/api/v1/documents/" + d["id"])
            self.assertEqual(d["patient_id"], pid)
            self.assertEqual(d["document_type"], "hormone_panel")
            self.assertEqual(d["filename"], "day3 panel.txt")
            self.assertEqual(d["content_type"], "text/plain")
            self.assertEqual(d["size"], len(data))
            self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(d["status"], "queued")
            self.assertEqual(d["uploaded_by"], self.c.user.name)
            self.assertIsNone(d["analysis"])
            self.assertIsNone(d["error"])
            now = datetime.datetime.now(datetime.timezone.utc)
            self.assertLess(abs((parse_ts(d["uploaded_at"]) - now).total_seconds()), 300,
                            "uploaded_at %s is not now in UTC" % d["uploaded_at"])
            got = self.doc(d["id"])
            self.assertStatus(got, 200)
            self.assertEqual(got.json(), d)

    def test_content_type_comes_from_the_bytes(self):
        pid = self.new_patient()
        cases = [
            (samples.unique_pdf(), "x.png", "image/png", "application/pdf"),
            (samples.unique_png(), "x.pdf", "application/pdf", "image/png"),
            (samples.sample("valid.jpg"), "scan.tiff", "image/tiff", "image/jpeg"),
            (samples.sample("valid.tif"), "scan.txt", "text/plain", "image/tiff"),
            (samples.unique_text(), "notes.pdf", "application/pdf", "text/plain"),
        ]
        for data, name, claimed, real in cases:
            with self.subTest(name=name, real=real):
                d = self.upload_ok(pid, data, name, content_type=claimed)
                self.assertEqual(d["content_type"], real)
                self.assertEqual(d["filename"], name)
                self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
                self.assertEqual(d["size"], len(data))
                r = self.content(d["id"])
                self.assertStatus(r, 200)
                self.assertEqual(r.content_type.split(";")[0].strip(), real)
                self.assertEqual(r.body, data)

    def test_every_document_type_is_accepted(self):
        pid = self.new_patient()
        types = ("lab_report", "hormone_panel", "semen_analysis", "ultrasound_image", "microscopy_image",
                 "medical_report", "prescription", "consultation_notes", "surgical_report", "imaging_study",
                 "pathology_report")
        data = samples.unique_text()
        for t in types:
            with self.subTest(document_type=t):
                self.assertEqual(self.upload_ok(pid, data, document_type=t)["document_type"], t)

    def test_document_type_after_the_file_is_accepted(self):
        pid = self.new_patient()
        data = samples.unique_text()
        parts = list(reversed(upload_parts(data, "late-type.txt", "semen_analysis")))
        r = self.post_parts(pid, parts)
        self.assertStatus(r, 202)
        self.assertEqual(r.json()["document_type"], "semen_analysis")

    def test_same_bytes_twice_are_two_documents_and_one_object(self):
        pid = self.new_patient()
        data = samples.unique_text()
        sha = hashlib.sha256(data).hexdigest()
        before = self.object_files()
        a = self.upload_ok(pid, data, "first.txt")
        b = self.upload_ok(pid, data, "second.txt")
        self.assertNotEqual(a["id"], b["id"])
        self.assertEqual((a["sha256"], b["sha256"]), (sha, sha))
        new = self.object_files() - before
        self.assertEqual(new, {os.path.relpath(self.object_path(sha), self.storage_dir())},
                         "identical uploads should be stored once, as <aa>/<bb>/<sha>.fve")
        self.assertEqual(int(psql("SELECT count(*) FROM documents WHERE sha256 = %s" % sql_literal(sha))), 2)
        for d in (a, b):
            self.assertEqual(self.content(d["id"]).body, data)
        # Archiving one keeps the other readable (the shared object stays).
        self.assertStatus(self.c.delete(API + "/documents/" + a["id"]), 204)
        self.assertEqual(self.content(b["id"]).body, data)

    def test_concurrent_identical_uploads_store_one_object(self):
        pid = self.new_patient()
        data = samples.unique_text()
        before = self.object_files()
        results = []

        def go():
            try:
                results.append(self.upload(pid, data, "same.txt", client=Client().login("clinician")))
            except Exception as e:  # noqa: BLE001 - reported below
                results.append(e)

        threads = [threading.Thread(target=go) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([getattr(r, "status", r) for r in results], [202] * 6)
        self.assertEqual(len({r.json()["id"] for r in results}), 6)
        self.assertEqual(len(self.object_files() - before), 1)
        self.assertEqual(self.temp_files(), [])
        self.assertEqual(self.content(results[0].json()["id"]).body, data)

    def test_upload_that_fails_to_commit_leaves_no_object(self):
        """The row's INSERT fails (a superuser trigger refuses this one file name): the answer is an
        error and, as for every refused upload, no stored object may stay behind (the object is new:
        nothing else refers to it)."""
        pid = self.new_patient()
        name = "fail-insert-%s.txt" % os.urandom(6).hex()
        psql("CREATE OR REPLACE FUNCTION fvtest_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
             "$$BEGIN RAISE EXCEPTION 'fvtest: insert refused'; END$$")
        psql("CREATE TRIGGER fvtest_refuse_%s BEFORE INSERT ON documents FOR EACH ROW WHEN (NEW.filename = %s) "
             "EXECUTE FUNCTION fvtest_refuse_insert()" % (name[12:24], sql_literal(name)))
        try:
            before = self.snapshot()
            r = self.upload(pid, samples.unique_text(), name)
            self.assertIn(r.status, (500, 503), r)
            self.assertNothingStored(before, pid, "an upload whose row was not written left its object behind")
        finally:
            psql("DROP TRIGGER IF EXISTS fvtest_refuse_%s ON documents" % name[12:24])
            psql("DROP FUNCTION IF EXISTS fvtest_refuse_insert()")
            # Remove what the failed upload left, so the store holds only referenced objects.
            for rel in self.object_files() - before["objects"]:
                sha = os.path.basename(rel)[:-4]
                if psql("SELECT count(*) FROM documents WHERE sha256 = %s" % sql_literal(sha)) == "0":
                    os.unlink(os.path.join(self.storage_dir(), rel))

    def test_stored_object_is_not_the_plaintext(self):
        pid = self.new_patient()
        data = samples.unique_text(lines=50)
        d = self.upload_ok(pid, data)
        with open(self.object_path(d["sha256"]), "rb") as f:
            stored = f.read()
        self.assertNotIn(data[:40], stored, "the stored object holds the document in the clear")
        self.assertEqual(self.temp_files(), [])

    def test_patient_counts_and_lists_its_documents(self):
        pid = self.new_patient()
        r0 = self.get_patient(pid)
        etag0 = r0.header("ETag")
        self.assertEqual(r0.json()["document_count"], 0)
        a = self.upload_ok(pid, samples.unique_text(), "a.txt")
        b = self.upload_ok(pid, samples.unique_pdf(), "b.pdf")
        r = self.get_patient(pid)
        self.assertStatus(r, 200)
        p = r.json()
        self.assertEqual(p["document_count"], 2)
        self.assertEqual([d["id"] for d in p["documents"]], [b["id"], a["id"]], "documents: newest first")
        for d in p["documents"]:
            self.assertDocShape(d, full=False)
        self.assertEqual({d["id"]: d["filename"] for d in p["documents"]}, {a["id"]: "a.txt", b["id"]: "b.pdf"})
        # The patient's representation changed, so the old ETag must not give 304.
        self.assertNotEqual(r.header("ETag"), etag0)
        self.assertStatus(self.get_patient(pid, headers={"If-None-Match": etag0}), 200)
        self.assertStatus(self.c.delete(API + "/documents/" + a["id"]), 204)
        p = self.get_patient(pid).json()
        self.assertEqual(p["document_count"], 1)
        self.assertEqual([d["id"] for d in p["documents"]], [b["id"]])
        # In the patient list too.
        items = self.list_patients(q=p["name"].split()[1]).json()["items"]
        self.assertEqual([i["document_count"] for i in items if i["id"] == pid], [1])


class ReadTest(DocCase):
    def test_get_has_etag_and_if_none_match_gives_304(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        wait_for_analysis(self.c, d["id"])  # the analysis changes the document (and its ETag)
        r = self.doc(d["id"])
        self.assertStatus(r, 200)
        self.assertJSONType(r)
        etag = r.header("ETag")
        self.assertTrue(etag and ETAG_RE.match(etag), "ETag %r" % etag)
        r2 = self.doc(d["id"], headers={"If-None-Match": etag})
        self.assertStatus(r2, 304)
        self.assertEqual(r2.body, b"")
        self.assertStatus(self.doc(d["id"], headers={"If-None-Match": '"other"'}), 200)

    def test_not_modified_read_is_not_audited(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        wait_for_analysis(self.c, d["id"])
        reads = "action = 'document.read' AND entity_id = %s" % sql_literal(d["id"])
        r = self.doc(d["id"])
        self.assertStatus(r, 200)
        n = len(self.audit_rows(reads))
        self.assertGreaterEqual(n, 1)
        # A 304 discloses nothing the client does not hold: not recorded (the pages poll with it).
        self.assertStatus(self.doc(d["id"], headers={"If-None-Match": r.header("ETag")}), 304)
        self.assertEqual(len(self.audit_rows(reads)), n)
        self.assertStatus(self.doc(d["id"], headers={"If-None-Match": '"other"'}), 200)
        self.assertEqual(len(self.audit_rows(reads)), n + 1)

    def test_unknown_and_malformed_ids_are_404(self):
        for did in ("00000000-0000-4000-8000-000000000000", "not-a-uuid", "1"):
            with self.subTest(id=did):
                self.assertError(self.doc(did), 404, "not_found")
                self.assertError(self.content(did), 404, "not_found")
                self.assertError(self.c.post(API + "/documents/%s/reanalyze" % did), 404, "not_found")
                self.assertError(self.c.delete(API + "/documents/%s" % did), 404, "not_found")
        self.assertError(self.list_docs("00000000-0000-4000-8000-000000000000"), 404, "not_found")

    def test_viewer_reads_but_cannot_change(self):
        pid = self.new_patient()
        data = samples.unique_text()
        d = self.upload_ok(pid, data)
        v = Client().login("viewer")
        self.assertStatus(self.doc(d["id"], client=v), 200)
        self.assertEqual(self.content(d["id"], client=v).body, data)
        self.assertStatus(self.list_docs(pid, client=v), 200)
        self.assertError(v.delete(API + "/documents/" + d["id"]), 403, "forbidden")
        self.assertError(v.post(API + "/documents/%s/reanalyze" % d["id"]), 403, "forbidden")
        self.assertStatus(self.doc(d["id"]), 200)

    def test_no_credentials_is_401(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        anon = Client()
        self.assertUnauthorized(self.doc(d["id"], client=anon))
        self.assertUnauthorized(self.content(d["id"], client=anon))
        self.assertUnauthorized(self.list_docs(pid, client=anon))


class ListTest(DocCase):
    def test_newest_first_with_keyset_pagination(self):
        pid = self.new_patient()
        ids = [self.upload_ok(pid, samples.unique_text(), "n%d.txt" % i)["id"] for i in range(5)]
        newest_first = list(reversed(ids))
        r = self.list_docs(pid)
        self.assertStatus(r, 200)
        body = r.json()
        self.assertEqual([d["id"] for d in body["items"]], newest_first)
        self.assertIsNone(body["next_cursor"])
        for d in body["items"]:
            self.assertDocShape(d, full=False)
            self.assertEqual(d["patient_id"], pid)
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            r = self.list_docs(pid, **params)
            self.assertStatus(r, 200)
            page = r.json()
            self.assertLessEqual(len(page["items"]), 2)
            seen += [d["id"] for d in page["items"]]
            cursor = page["next_cursor"]
            pages += 1
            if cursor is None:
                break
            self.assertIsInstance(cursor, str)
            self.assertLess(pages, 10)
        self.assertEqual(seen, newest_first)
        self.assertEqual(pages, 3)
        # A page that ends exactly at the last item has no next cursor.
        self.assertIsNone(self.list_docs(pid, limit=5).json()["next_cursor"])
        self.assertEqual(len(self.list_docs(pid, limit=100).json()["items"]), 5)

    def test_archived_documents_are_not_listed(self):
        pid = self.new_patient()
        a = self.upload_ok(pid, samples.unique_text())
        b = self.upload_ok(pid, samples.unique_text())
        self.assertStatus(self.c.delete(API + "/documents/" + a["id"]), 204)
        self.assertEqual([d["id"] for d in self.list_docs(pid).json()["items"]], [b["id"]])

    def test_bad_parameters_are_400(self):
        pid = self.new_patient()
        for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"),
                              ({"cursor": "garbage!"}, "cursor"), ({"colour": "red"}, "colour")):
            with self.subTest(params=params):
                self.assertError(self.list_docs(pid, **params), 400, "invalid", fields=(field,))

    def test_lists_of_other_patients_are_separate(self):
        p1, p2 = self.new_patient(), self.new_patient()
        a = self.upload_ok(p1, samples.unique_text())
        self.assertEqual(self.list_docs(p2).json()["items"], [])
        self.assertEqual([d["id"] for d in self.list_docs(p1).json()["items"]], [a["id"]])


class DownloadTest(DocCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        r = c.post(API + "/patients", json_body={"name": "Dl Test Roe", "date_of_birth": "1990-04-02", "sex": "female"})
        cls.pid = r.json()["id"]
        cls.data = samples.unique_text(lines=40)[:1000]
        cls.data = cls.data[:-1] + b"\n"
        body, ct = multipart_body(upload_parts(cls.data, "range.txt"))
        r = c.post(API + "/patients/%s/documents" % cls.pid, body=body, content_type=ct)
        assert r.status == 202, r
        cls.did = r.json()["id"]

    def test_content_headers_and_exact_bytes(self):
        pdf = samples.unique_pdf()
        d = self.upload_ok(self.pid, pdf, "Day 3 panel.pdf")
        r = self.content(d["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.body, pdf)
        self.assertEqual(r.content_type, "application/pdf")
        self.assertEqual(r.header("Content-Length"), str(len(pdf)))
        self.assertEqual((r.header("X-Content-Type-Options") or "").lower(), "nosniff")
        self.assertNoStore(r)
        self.assertRequestId(r)
        disp = r.header("Content-Disposition") or ""
        self.assertTrue(disp.startswith("attachment"), disp)
        self.assertIn('filename="Day 3 panel.pdf"', disp)
        self.assertIn("filename*=UTF-8''Day%203%20panel.pdf", disp)
        t = self.content(self.did)
        self.assertEqual(t.body, self.data)
        self.assertEqual(t.content_type.replace(" ", "").lower(), "text/plain;charset=utf-8")

    def test_content_disposition_of_awkward_names(self):
        names = ["résultat été.txt", 'quote"semi;colon%25 back\\slash.txt', "Ünïcødé 日本語.txt",
                 "tab\tand\x1bescape.txt", "new\r\nline: x.txt", "rtl\u202etxt.exe.txt"]
        for name in names:
            with self.subTest(name=name):
                # RFC 8187 filename*, so control characters can be sent at all
                disp = (b'form-data; name="file"; filename="fallback.txt"; filename*=UTF-8\'\'' +
                        urllib.parse.quote(name, safe="").encode("ascii"))
                r = self.post_parts(self.pid, [("document_type", "lab_report"),
                                               Part("file", samples.unique_text(), disposition=disp)])
                self.assertStatus(r, 202)
                d = r.json()
                stored = d["filename"]
                self.assertNotEqual(stored, "fallback.txt", "filename* must win over filename")
                for bad in ("\t", "\x1b", "\r", "\n", "\u202e"):
                    self.assertNotIn(bad, stored)
                disp = self.content(d["id"]).header("Content-Disposition") or ""
                m = re.match(r'^attachment; filename="((?:[^"\\]|\\.)*)"; filename\*=UTF-8\'\'([^;\s]*)$', disp)
                self.assertTrue(m, "Content-Disposition %r" % disp)
                self.assertRegex(m.group(1), r"^[\x20-\x7e]*$")
                self.assertRegex(m.group(2), r"^[A-Za-z0-9!#$&+\-.^_`|~%]*$", "filename* has unencoded characters")
                self.assertEqual(urllib.parse.unquote(m.group(2), errors="strict"), stored,
                                 "filename* does not decode to the stored name")

    def range_get(self, spec, did=None):
        return self.content(did or self.did, headers={"Range": spec})

    def test_single_ranges_are_206(self):
        data, n = self.data, len(self.data)
        for spec, lo, hi in (("bytes=0-99", 0, 99), ("bytes=100-", 100, n - 1), ("bytes=-50", n - 50, n - 1),
                             ("bytes=990-5000", 990, n - 1), ("bytes=0-0", 0, 0), ("bytes=-5000", 0, n - 1)):
            with self.subTest(range=spec):
                r = self.range_get(spec)
                self.assertStatus(r, 206)
                self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (lo, hi, n))
                self.assertEqual(r.body, data[lo:hi + 1])
                self.assertEqual(r.header("Content-Length"), str(hi + 1 - lo))

    def test_unsatisfiable_range_is_416(self):
        n = len(self.data)
        for spec in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0"):
            with self.subTest(range=spec):
                r = self.range_get(spec)
                self.assertStatus(r, 416)
                self.assertEqual(r.header("Content-Range"), "bytes */%d" % n)
                self.assertNotEqual(r.body, self.data)

    def test_multiple_or_invalid_ranges_give_the_whole_document(self):
        for spec in ("bytes=0-9,20-29", "bytes=0-1, -1", "bytes=50-10", "items=0-9", "bytes=x-y"):
            with self.subTest(range=spec):
                r = self.range_get(spec)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, self.data)
                self.assertIsNone(r.header("Content-Range"))

    def test_ranges_across_encryption_chunks(self):
        data = samples.big_text(300 * 1024)
        d = self.upload_ok(self.pid, data, "multi-chunk.txt")
        self.assertEqual(self.content(d["id"]).body, data)
        for lo, hi in ((65530, 65545), (65536, 65536), (131000, 200000), (0, 65535), (len(data) - 70000, len(data) - 1)):
            with self.subTest(lo=lo, hi=hi):
                r = self.range_get("bytes=%d-%d" % (lo, hi), d["id"])
                self.assertStatus(r, 206)
                self.assertEqual(r.body, data[lo:hi + 1])


class ChangeTest(DocCase):
    def test_reanalyze_is_202_and_queues_again(self):
        # A worker would take the job (and change the status) at once.
        with workers_paused():
            pid = self.new_patient()
            d = self.upload_ok(pid, samples.unique_text())
            redis_cli("LREM", QUEUE, "0", d["id"])
            r = self.c.post(API + "/documents/%s/reanalyze" % d["id"])
            self.assertStatus(r, 202)
            self.assertJSONType(r)
            self.assertEqual(r.json().get("status"), "queued")
            self.assertEqual(r.json().get("id"), d["id"])
            self.assertIn(d["id"], redis_cli("LRANGE", QUEUE, "0", "-1").split())
            self.assertEqual(self.doc(d["id"]).json()["status"], "queued")

    def test_delete_is_204_then_404(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        r = self.c.delete(API + "/documents/" + d["id"])
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertError(self.doc(d["id"]), 404, "not_found")
        self.assertError(self.content(d["id"]), 404, "not_found")
        self.assertError(self.c.post(API + "/documents/%s/reanalyze" % d["id"]), 404, "not_found")
        self.assertError(self.c.delete(API + "/documents/" + d["id"]), 404, "not_found")
        # Archived, not erased: the row stays for the audit trail.
        self.assertEqual(psql("SELECT archived_at IS NOT NULL FROM documents WHERE id = %s" % sql_literal(d["id"])), "t")

    def test_delete_honours_if_match(self):
        """Contract conventions: PATCH/DELETE honour If-Match, 412 when stale."""
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        wait_for_analysis(self.c, d["id"])  # the analysis changes the document (and its ETag)
        etag = self.doc(d["id"]).header("ETag")
        self.assertTrue(etag)
        r = self.c.delete(API + "/documents/" + d["id"], headers={"If-Match": '"stale-etag"'})
        self.assertError(r, 412, "precondition_failed")
        self.assertStatus(self.doc(d["id"]), 200, "a refused DELETE archived the document")
        self.assertStatus(self.c.delete(API + "/documents/" + d["id"], headers={"If-Match": etag}), 204)
        self.assertError(self.doc(d["id"]), 404, "not_found")

    def test_archiving_the_patient_hides_its_documents(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        self.assertStatus(self.c.delete(API + "/patients/" + pid), 204)
        self.assertError(self.doc(d["id"]), 404, "not_found")
        self.assertError(self.content(d["id"]), 404, "not_found")
        self.assertError(self.list_docs(pid), 404, "not_found")
        self.assertError(self.c.post(API + "/documents/%s/reanalyze" % d["id"]), 404, "not_found")
        self.assertError(self.c.delete(API + "/documents/" + d["id"]), 404, "not_found")
        page = self.c.get("/documents/%s" % d["id"], headers={"Accept": "text/html"})
        self.assertStatus(page, 404)
        self.assertHTMLType(page)


class CorpusTest(DocCase):
    def test_every_corpus_document_uploads_and_downloads_identically(self):
        d = os.path.join(corpus_dir(), "docs")
        names = sorted(os.listdir(d)) if os.path.isdir(d) else []
        self.assertTrue(names, "no corpus at %s (set FV_CORPUS_DIR)" % d)
        pid = self.new_patient()
        for name in names:
            with self.subTest(file=name):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                r = self.upload(pid, data, name, document_type="lab_report")
                self.assertStatus(r, 202)
                doc = r.json()
                self.assertEqual(doc["content_type"], CORPUS_TYPES[os.path.splitext(name)[1].lower()])
                self.assertEqual(doc["sha256"], hashlib.sha256(data).hexdigest())
                self.assertEqual(doc["size"], len(data))
                self.assertEqual(doc["filename"], name)
                got = self.content(doc["id"])
                self.assertStatus(got, 200)
                self.assertTrue(got.body == data, "%s: downloaded bytes differ (%d vs %d bytes)"
                                % (name, len(got.body), len(data)))


class QueueTest(DocCase):
    def queue(self):
        return redis_cli("LRANGE", QUEUE, "0", "-1").split()

    def test_upload_puts_the_document_on_the_queue(self):
        # A worker would take the job (and change the status) at once.
        with workers_paused():
            pid = self.new_patient()
            d = self.upload_ok(pid, samples.unique_text())
            self.assertIn(d["id"], self.queue())

    def test_upload_without_redis_is_queued_by_requeue(self):
        # A worker would take the job (and change the status) at once.
        with workers_paused():
            pid = self.new_patient()
            try:
                stack_ctl("stop-redis")
                r = self.upload(pid, samples.unique_text(), "while-redis-down.txt")
                self.assertStatus(r, 202, "an upload must not need Redis")
                d = r.json()
                self.assertEqual(d["status"], "queued")
            finally:
                stack_ctl("start-redis")
                wait_until(lambda: stack_ctl_run("redis-cli", "PING").stdout.strip() == "PONG", timeout=20)
            self.assertNotIn(d["id"], self.queue())
            self.assertEqual(self.doc(d["id"]).json()["status"], "queued")
            out = stack_ctl("admin", "requeue", "--older-than", "0")
            self.assertIn("queued again", out)
            self.assertIn(d["id"], self.queue())


class AuditTest(DocCase):
    def event(self, action, did):
        return self.audit_rows("action = %s AND entity_id = %s" % (sql_literal(action), sql_literal(did)))

    def test_upload_download_archive_are_audited(self):
        pid = self.new_patient()
        r = self.upload(pid, samples.unique_text())
        self.assertStatus(r, 202)
        did = r.json()["id"]
        rows = self.event("document.upload", did)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["outcome"], "success")
        self.assertEqual(rows[0]["username"], self.c.user.name)
        self.assertEqual(rows[0]["entity_type"], "document")
        self.assertEqual(rows[0]["request_id"], r.header("X-Request-Id"))
        dl = self.content(did)
        self.assertStatus(dl, 200)
        rows = self.event("document.download", did)
        self.assertEqual([x["request_id"] for x in rows], [dl.header("X-Request-Id")], rows)
        rng = self.content(did, headers={"Range": "bytes=0-9"})
        self.assertStatus(rng, 206)
        self.assertEqual(len(self.event("document.download", did)), 2, "a range download is a download too")
        de = self.c.delete(API + "/documents/" + did)
        self.assertStatus(de, 204)
        rows = self.event("document.archive", did)
        self.assertEqual([(x["outcome"], x["request_id"]) for x in rows], [("success", de.header("X-Request-Id"))])

    def test_download_refused_by_the_integrity_check_is_not_a_success(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        path = self.object_path(d["sha256"])
        old = flip_byte(path, 60)
        try:
            r = self.content(d["id"])
            self.assertEqual(r.status, 500, r)
        finally:
            restore_byte(path, 60, old)
        rows = [(x["action"], x["outcome"]) for x in self.audit_for_request(r)]
        self.assertTrue(any(a == "document.download" and o != "success" for a, o in rows),
                        "a download that delivered nothing (500, integrity check) is on record as %s" % rows)

    def test_refused_upload_writes_no_upload_success(self):
        pid = self.new_patient()
        r = self.upload(pid, samples.sample("archive.zip"), "a.zip")
        self.assertStatus(r, 415)
        rows = [x for x in self.audit_for_request(r) if x["action"] == "document.upload" and x["outcome"] == "success"]
        self.assertEqual(rows, [])


def flip_byte(path, offset):
    """Flips the low bit of the byte at offset (as root); returns the old byte for restore_byte."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))
    return b


def restore_byte(path, offset, b):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b)


class IntegrityTest(DocCase):
    def flip(self, path, offset):
        return flip_byte(path, offset)

    def restore(self, path, offset, b):
        restore_byte(path, offset, b)

    def assertIntegrityError(self, did, headers=None):
        r = self.content(did, headers=headers)
        self.assertError(r, 500, "internal")
        self.assertEqual(r.json()["error"]["message"], INTEGRITY_MSG)
        return r

    def test_flipped_byte_is_an_error_never_wrong_bytes(self):
        pid = self.new_patient()
        data = samples.unique_text(lines=60)
        d = self.upload_ok(pid, data)
        path = self.object_path(d["sha256"])
        size = os.path.getsize(path)
        for offset in (10, size // 2, size - 1):
            with self.subTest(offset=offset):
                old = self.flip(path, offset)
                try:
                    self.assertIntegrityError(d["id"])
                    self.assertIntegrityError(d["id"], headers={"Range": "bytes=0-9"})
                finally:
                    self.restore(path, offset, old)
                self.assertEqual(self.content(d["id"]).body, data, "restored object should read again")

    def test_flip_in_a_later_chunk_never_delivers_wrong_bytes(self):
        pid = self.new_patient()
        data = samples.big_text(200 * 1024)
        d = self.upload_ok(pid, data)
        path = self.object_path(d["sha256"])
        offset = os.path.getsize(path) - 100  # in the last chunk
        old = self.flip(path, offset)
        try:
            r = raw_request(self.c, "GET", API + "/documents/%s/content" % d["id"], timeout=20)
            self.assertIsNotNone(r.status, "no answer")
            if r.status == 200:
                # Headers went out with the first (verified) chunks: the body must then be cut off,
                # a strict prefix of the document.
                self.assertLess(len(r.body), len(data), "the whole body was delivered from a damaged object")
                self.assertTrue(data.startswith(r.body), "wrong bytes were delivered")
            else:
                self.assertEqual(r.status, 500, r)
                self.assertEqual(r.json()["error"]["message"], INTEGRITY_MSG)
            # A range inside the intact first chunk is still served exactly.
            rg = self.content(d["id"], headers={"Range": "bytes=0-99"})
            self.assertStatus(rg, 206)
            self.assertEqual(rg.body, data[:100])
            self.assertIntegrityError(d["id"], headers={"Range": "bytes=-10"})
        finally:
            self.restore(path, offset, old)
        self.assertEqual(self.content(d["id"]).body, data)

    def test_swapped_or_truncated_object_is_an_error(self):
        pid = self.new_patient()
        a_data, b_data = samples.unique_text(), samples.unique_text()
        a, b = self.upload_ok(pid, a_data), self.upload_ok(pid, b_data)
        pa, pb = self.object_path(a["sha256"]), self.object_path(b["sha256"])
        with open(pb, "rb") as f:
            b_obj = f.read()
        try:
            with open(pa, "rb") as f:
                a_obj = f.read()
            with open(pb, "wb") as f:  # B's name now holds A's (valid, sealed) object
                f.write(a_obj)
            r = self.assertIntegrityError(b["id"])
            self.assertNotIn(a_data[:20], r.body)
            with open(pb, "wb") as f:  # B's object without its last byte
                f.write(b_obj[:-1])
            self.assertIntegrityError(b["id"])
            with open(pb, "wb") as f:  # B's object without its whole (final) chunk: header only
                f.write(b_obj[:48])
            self.assertIntegrityError(b["id"])
        finally:
            with open(pb, "wb") as f:
                f.write(b_obj)
        self.assertEqual(self.content(b["id"]).body, b_data)
        self.assertEqual(self.content(a["id"]).body, a_data)

    def test_missing_object_is_an_error(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        path = self.object_path(d["sha256"])
        os.rename(path, path + ".away")
        try:
            r = self.content(d["id"])
            self.assertIn(r.status, (500, 503), r)
            self.assertNotEqual(r.body, b"")
            self.assertJSONType(r)
        finally:
            os.rename(path + ".away", path)
        self.assertStatus(self.content(d["id"]), 200)
