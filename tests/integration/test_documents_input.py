"""Documents: refused uploads. Bad file names, fields and multipart framing, media types, unknown or
archived patients, roles and CSRF, hostile and damaged files, sizes (the app's limit and nginx's).
After every refusal: no documents row, no stored object, no temporary file."""

import hashlib
import threading

from fvtest import (API, Client, Part, file_part, multipart_body, raw_request, upload_parts)
from test_documents_api import DocCase, samples

MAX_BODY = 52428800  # max_body of the test stack (50 MiB)


class FileNameTest(DocCase):
    def disp(self, raw):
        return b'form-data; name="file"; ' + raw

    def post_disp(self, pid, raw, data=None):
        return self.post_parts(pid, [("document_type", "lab_report"),
                                     Part("file", data or samples.unique_text(), disposition=self.disp(raw))])

    def test_path_traversal_keeps_the_base_name(self):
        pid = self.new_patient()
        for sent, kept in (("../../../../etc/passwd.txt", "passwd.txt"),
                           ("/var/lib/fertivision/documents/x.txt", "x.txt"),
                           ("..\\..\\Windows\\System32\\drivers.txt", "drivers.txt"),
                           ("C:\\Users\\dr\\Desktop\\scan report.txt", "scan report.txt"),
                           ("C:evil.txt", "evil.txt"),
                           ("./.hidden.txt", ".hidden.txt")):
            with self.subTest(name=sent):
                before = self.object_files()
                data = samples.unique_text()
                d = self.upload_ok(pid, data, sent)
                self.assertEqual(d["filename"], kept)
                self.assertEqual(self.object_files() - before,
                                 {self.object_path(d["sha256"])[len(self.storage_dir()) + 1:]},
                                 "the only new file is the object named by its hash")
                disp = self.content(d["id"]).header("Content-Disposition")
                self.assertIn('filename="%s"' % kept, disp)

    def test_names_that_name_no_file_are_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        for name in ("..", ".", "../", "a/..", "   ", "/", "\u202e"):
            with self.subTest(name=name):
                self.assertRefused(self.upload(pid, samples.unique_text(), name), 400, "invalid", before, pid)

    def test_empty_file_name_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        # What a browser sends for a file input with nothing chosen.
        r = self.post_parts(pid, [("document_type", "lab_report"), Part("file", b"", filename="",
                                                                         content_type="application/octet-stream")])
        self.assertRefused(r, 400, "invalid", before, pid)

    def test_nul_in_the_file_name_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        for raw in (b'filename="report\x00.txt"', b'filename="report.pdf\x00.txt"',
                    b"filename*=UTF-8''report%00.txt", b'filename="x.txt"; filename*=UTF-8\'\'a%00b.txt'):
            with self.subTest(raw=raw):
                self.assertRefused(self.post_disp(pid, raw), 400, "invalid", before, pid)

    def test_non_utf8_file_name_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        for raw in (b'filename="r\xe9sultat.txt"', b'filename="\xff\xfe.txt"', b"filename*=UTF-8''%FF%FE.txt",
                    b'filename="\xc3\x28.txt"', b'filename="\xed\xa0\x80.txt"'):
            with self.subTest(raw=raw):
                self.assertRefused(self.post_disp(pid, raw), 400, "invalid", before, pid)

    def test_latin1_filename_star_is_converted(self):
        pid = self.new_patient()
        r = self.post_disp(pid, b"filename*=ISO-8859-1''r%E9sultat.txt")
        self.assertStatus(r, 202)
        self.assertEqual(r.json()["filename"], "r\u00e9sultat.txt")

    def test_long_name_is_cut_to_255_bytes_keeping_the_extension(self):
        pid = self.new_patient()
        for name, ext in (("a" * 996 + ".pdf", ".pdf"), ("\u00e9" * 498 + ".txt", ".txt"),
                          ("\U0001F600" * 250 + ".tiff", ".tiff"), ("b" * 1000, "")):
            with self.subTest(name=name[:10], length=len(name.encode("utf-8"))):
                d = self.upload_ok(pid, samples.unique_text(), name)
                stored = d["filename"].encode("utf-8")
                self.assertLessEqual(len(stored), 255)
                self.assertGreater(len(stored), 200, "cut far shorter than needed")
                self.assertTrue(d["filename"].endswith(ext), d["filename"])
                stem = d["filename"][:len(d["filename"]) - len(ext)]
                self.assertTrue(name.startswith(stem), "the kept part is not the start of the name: %r" % stem)
        # A name of exactly 255 bytes is kept as it is.
        name = "c" * 251 + ".txt"
        self.assertEqual(self.upload_ok(pid, samples.unique_text(), name)["filename"], name)

    def test_control_and_bidi_characters_are_removed(self):
        pid = self.new_patient()
        for sent, kept in (("report\u202egpj.txt", "reportgpj.txt"), ("a\tb.txt", "ab.txt"),
                           ("  spaced.txt  ", "spaced.txt"), ("x\u2028y.txt", "xy.txt")):
            with self.subTest(name=sent):
                d = self.upload_ok(pid, samples.unique_text(), sent)
                self.assertEqual(d["filename"], kept)


class FieldTest(DocCase):
    def test_unknown_document_type_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        for t in ("x-ray", "LAB_REPORT", "", "lab_report ", "a" * 200):
            with self.subTest(document_type=t):
                r = self.upload(pid, samples.unique_text(), document_type=t)
                if len(t) > 64:
                    self.assertRefused(r, 400, "invalid", before, pid)
                else:
                    self.assertRefused(r, 400, "invalid", before, pid, fields=("document_type",))

    def test_nul_in_field_values_is_refused(self):
        """Strings must not contain NUL (docs/api.md): a value is not cut at a NUL and then accepted."""
        for t in ("lab_report\x00", "lab_report\x00junk"):
            with self.subTest(document_type=t):
                pid = self.new_patient()
                before = self.snapshot()
                r = self.upload(pid, samples.unique_text(), document_type=t)
                self.assertRefused(r, 400, "invalid", before, pid)
        with self.subTest(csrf_token="token + NUL + junk"):
            pid = self.new_patient()
            before = self.snapshot()
            s = self.session_only(Client().login("clinician"))
            parts = [("csrf_token", s.csrf + "\x00junk")] + upload_parts(samples.unique_text(), "a.txt")
            r = self.post_parts(pid, parts, client=s, csrf=False)
            self.assertIn(r.status, (400, 403), r)
            self.assertNothingStored(before, pid)

    def test_missing_document_type_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.post_parts(pid, [file_part(samples.unique_text(), "a.txt")])
        self.assertRefused(r, 400, "invalid", before, pid, fields=("document_type",))

    def test_no_file_part_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.post_parts(pid, [("document_type", "lab_report")])
        self.assertRefused(r, 400, "invalid", before, pid, fields=("file",))
        r = self.post_parts(pid, [])
        self.assertRefused(r, 400, "invalid", before, pid, fields=("file", "document_type"))

    def test_file_sent_as_a_plain_field_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.post_parts(pid, [("document_type", "lab_report"), ("file", samples.unique_text())])
        self.assertRefused(r, 400, "invalid", before, pid)

    def test_two_file_parts_are_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        parts = upload_parts(samples.unique_text(), "a.txt") + [file_part(samples.unique_text(), "b.txt")]
        self.assertRefused(self.post_parts(pid, parts), 400, "invalid", before, pid)

    def test_unknown_field_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        parts = upload_parts(samples.unique_text(), "a.txt") + [("comment", "hello")]
        self.assertRefused(self.post_parts(pid, parts), 400, "invalid", before, pid)

    def test_too_many_parts_and_oversized_part_headers_are_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        parts = [("document_type", "lab_report")] * 20 + [file_part(samples.unique_text(), "a.txt")]
        self.assertRefused(self.post_parts(pid, parts), 400, "invalid", before, pid)
        r = self.upload(pid, samples.unique_text(), "n" * 9000 + ".txt")
        self.assertRefused(r, 400, "invalid", before, pid)

    def test_empty_file_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.upload(pid, b"", "empty.txt")
        self.assertRefused(r, 400, "invalid", before, pid, fields=("file",))


class FramingTest(DocCase):
    def test_missing_final_boundary_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.post_parts(pid, upload_parts(samples.unique_text(), "a.txt"), close=False)
        self.assertRefused(r, 400, "invalid", before, pid)
        # Cut inside the file's bytes.
        body, ct = multipart_body(upload_parts(samples.unique_pdf(), "a.pdf"))
        r = self.c.post(self.upload_path(pid), body=body[:len(body) - 200], content_type=ct)
        self.assertRefused(r, 400, "invalid", before, pid)

    def test_body_cut_off_on_the_wire(self):
        """Content-Length promises more than is sent, then the client closes its side: nginx drops the
        request (no answer) or somebody answers 400; nothing is stored either way."""
        pid = self.new_patient()
        before = self.snapshot()
        body, ct = multipart_body(upload_parts(samples.unique_pdf(), "cut.pdf"))
        r = raw_request(self.c, "POST", self.upload_path(pid), body=body[:len(body) // 2],
                        headers={"Content-Type": ct}, content_length=len(body), shutdown_write=True, timeout=15)
        self.assertIn(r.status, (None, 400), r)
        self.assertNothingStored(before, pid)

    def test_wrong_boundary_is_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        body, _ = multipart_body(upload_parts(samples.unique_text(), "a.txt"), boundary="right-boundary")
        r = self.c.post(self.upload_path(pid), body=body, content_type="multipart/form-data; boundary=wrong-boundary")
        self.assertRefused(r, 400, "invalid", before, pid)

    def test_bad_boundaries_are_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        body, _ = multipart_body(upload_parts(samples.unique_text(), "a.txt"), boundary="b")
        for ct in ("multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=" + "x" * 71,
                   'multipart/form-data; boundary="unterminated'):
            with self.subTest(content_type=ct):
                r = self.c.post(self.upload_path(pid), body=body, content_type=ct)
                self.assertRefused(r, 400, "invalid", before, pid)

    def test_quoted_boundary_and_charset_parameter_are_accepted(self):
        pid = self.new_patient()
        body, _ = multipart_body(upload_parts(samples.unique_text(), "a.txt"), boundary="quoted boundary")
        r = self.c.post(self.upload_path(pid), body=body,
                        content_type='Multipart/Form-Data; charset=utf-8; boundary="quoted boundary"')
        self.assertStatus(r, 202)

    def test_not_multipart_is_415(self):
        pid = self.new_patient()
        before = self.snapshot()
        data = samples.unique_text()
        for ct in ("application/json", "text/plain", "application/x-www-form-urlencoded", "application/pdf", None):
            with self.subTest(content_type=ct):
                r = self.c.post(self.upload_path(pid), body=data, content_type=ct)
                self.assertRefused(r, 415, "unsupported_media_type", before, pid)

    def test_other_multipart_type_is_415(self):
        pid = self.new_patient()
        before = self.snapshot()
        body, ct = multipart_body(upload_parts(samples.unique_text(), "a.txt"))
        r = self.c.post(self.upload_path(pid), body=body, content_type=ct.replace("form-data", "mixed"))
        self.assertRefused(r, 415, "unsupported_media_type", before, pid)

    def test_malformed_part_headers_are_400(self):
        pid = self.new_patient()
        before = self.snapshot()
        data = samples.unique_text()
        for disp in (b'form-data; filename="a.txt"', b'attachment; name="file"; filename="a.txt"',
                     b'form-data; name="file"; filename="a.txt"; filename="b.txt"'):
            with self.subTest(disposition=disp):
                r = self.post_parts(pid, [("document_type", "lab_report"), Part("file", data, disposition=disp)])
                self.assertRefused(r, 400, "invalid", before, pid)
        r = self.post_parts(pid, [("document_type", "lab_report"),
                                  Part("file", data, filename="a.txt", headers=b"Content-Transfer-Encoding: base64\r\n")])
        self.assertRefused(r, 400, "invalid", before, pid)


class AccessTest(DocCase):
    def test_unknown_malformed_or_archived_patient_is_404(self):
        before = self.snapshot()
        for pid in ("00000000-0000-4000-8000-000000000000", "nope"):
            with self.subTest(patient=pid):
                self.assertRefused(self.upload(pid, samples.unique_text()), 404, "not_found", before)
        pid = self.new_patient()
        self.assertStatus(self.c.delete(API + "/patients/" + pid), 204)
        self.assertRefused(self.upload(pid, samples.unique_text()), 404, "not_found", before, pid)

    def test_viewer_upload_is_403(self):
        pid = self.new_patient()
        before = self.snapshot()
        v = Client().login("viewer")
        self.assertRefused(self.upload(pid, samples.unique_text(), client=v), 403, "forbidden", before, pid)

    def test_no_credentials_is_401(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.upload(pid, samples.unique_text(), client=Client())
        self.assertUnauthorized(r)
        self.assertNothingStored(before, pid)

    def session_client(self):
        return self.session_only(Client().login("clinician"))

    def test_session_upload_without_csrf_token_is_403(self):
        pid = self.new_patient()
        before = self.snapshot()
        s = self.session_client()
        r = self.upload(pid, samples.unique_text(), client=s, csrf=False)
        self.assertRefused(r, 403, "forbidden", before, pid)
        r = self.upload(pid, samples.unique_text(), client=s, csrf="wrong-token-" + "x" * 31)
        self.assertRefused(r, 403, "forbidden", before, pid)
        # A token field after the file comes too late: the file is refused before it is read.
        parts = upload_parts(samples.unique_text(), "a.txt") + [("csrf_token", s.csrf)]
        self.assertRefused(self.post_parts(pid, parts, client=s, csrf=False), 403, "forbidden", before, pid)
        # Another session's token.
        other = self.session_only(self.fresh()[1])
        r = self.upload(pid, samples.unique_text(), client=s, csrf=other.csrf)
        self.assertRefused(r, 403, "forbidden", before, pid)

    def test_session_upload_with_csrf_header_or_field_is_202(self):
        pid = self.new_patient()
        s = self.session_client()
        r = self.upload(pid, samples.unique_text(), client=s)  # X-CSRF-Token added by the client
        self.assertEqual(r.sent_headers.get("X-CSRF-Token"), s.csrf)
        self.assertStatus(r, 202)
        self.assertEqual(r.json()["uploaded_by"], s.user.name)
        parts = [("csrf_token", s.csrf)] + upload_parts(samples.unique_text(), "b.txt")
        r = self.post_parts(pid, parts, client=s, csrf=False)
        self.assertStatus(r, 202)


class HostileFileTest(DocCase):
    CASES = [
        # sample, name sent, client's type, status, words the message must contain
        ("x.pdf", "x.pdf", "application/pdf", 415, ("ELF",)),
        ("setup.pdf", "setup.pdf", "application/pdf", 415, ("Windows",)),
        ("report.pdf", "report.pdf", "application/pdf", 415, ("shell script",)),
        ("lab.txt", "lab.txt", "text/plain", 415, ("Python",)),
        ("html/scan.jpg", "scan.jpg", "image/jpeg", 415, ("HTML",)),
        ("svg/scan.jpg", "scan.jpg", "image/jpeg", 415, ("SVG",)),
        ("archive.zip", "results.pdf", "application/pdf", 415, ("ZIP",)),
        ("report.docx", "report.pdf", "application/pdf", 415, ("accepted: PDF",)),
        ("results.gz", "results.txt", "text/plain", 415, ("gzip",)),
        ("panel.json", "panel.txt", "text/plain", 415, ("JSON",)),
        ("js.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("js-hex.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("js-objstm.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("js-in-string.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("js-nul-name.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("objstm-in-comment.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("objstm-lzw-in-comment.pdf", "day3.pdf", "application/pdf", 415, ("cannot be checked",)),
        ("objstm-lzw.pdf", "day3.pdf", "application/pdf", 415, ("cannot be checked",)),
        ("js-across-pieces.pdf", "day3.pdf", "application/pdf", 415, ("JavaScript",)),
        ("launch.pdf", "day3.pdf", "application/pdf", 415, ("Launch",)),
        ("submitform.pdf", "day3.pdf", "application/pdf", 415, ("SubmitForm",)),
        ("embedded.pdf", "day3.pdf", "application/pdf", 415, ("embedded",)),
        ("jpeg-zip.jpg", "scan.jpg", "image/jpeg", 415, ("JPEG", "ZIP")),
        ("png-zip.png", "scan.png", "image/png", 415, ("PNG", "ZIP")),
        ("pdf-zip.pdf", "day3.pdf", "application/pdf", 415, ("PDF", "ZIP")),
        ("png-html.png", "scan.png", "image/png", 415, ("PNG", "HTML")),
        ("tiff-zip.tif", "scan.tif", "image/tiff", 415, ("TIFF", "ZIP")),
        ("pdf-html.pdf", "day3.pdf", "application/pdf", 415, ("PDF", "HTML")),
        ("pdf-late-header.pdf", "day3.pdf", "application/pdf", 415, ("GIF",)),
        ("truncated.pdf", "day3.pdf", "application/pdf", 400, ("damaged",)),
        ("corrupt-idat.png", "scan.png", "image/png", 400, ("damaged",)),
        ("truncated.png", "scan.png", "image/png", 400, ("damaged",)),
        ("truncated.jpg", "scan.jpg", "image/jpeg", 400, ("damaged",)),
        ("truncated.tif", "scan.tif", "image/tiff", 400, ("damaged",)),
        ("huge.png", "scan.png", "image/png", 400, ("too large",)),
        ("latin1.txt", "notes.txt", "text/plain", 415, ("UTF-8",)),
        ("nul.txt", "notes.txt", "text/plain", 415, ("binary data",)),
        ("utf16.txt", "notes.txt", "text/plain", 415, ("NUL",)),
    ]

    def test_hostile_and_damaged_files_are_refused(self):
        pid = self.new_patient()
        before = self.snapshot()
        for sample, name, ctype, status, words in self.CASES:
            with self.subTest(sample=sample):
                r = self.upload(pid, samples.sample(sample), name, content_type=ctype)
                code = "unsupported_media_type" if status == 415 else "invalid"
                self.assertRefused(r, status, code, before, pid, words=words)

    def test_unaccepted_types_name_the_detected_type(self):
        pid = self.new_patient()
        for sample, mime in (("x.pdf", "application/x-"), ("archive.zip", "application/zip"),
                             ("html/scan.jpg", "text/html"), ("svg/scan.jpg", "image/svg+xml"),
                             ("report.pdf", "text/x-shellscript")):
            with self.subTest(sample=sample):
                r = self.upload(pid, samples.sample(sample), "x.pdf", content_type="application/pdf")
                self.assertStatus(r, 415)
                self.assertIn(mime, r.json()["error"]["message"])

    def test_valid_samples_are_accepted(self):
        pid = self.new_patient()
        for sample, mime in (("valid.pdf", "application/pdf"), ("valid-objstm.pdf", "application/pdf"),
                             ("valid-incremental.pdf", "application/pdf"),
                             ("valid-plain-content.pdf", "application/pdf"), ("valid.png", "image/png"),
                             ("valid-interlaced.png", "image/png"), ("valid-padded.png", "image/png"),
                             ("valid.jpg", "image/jpeg"), ("valid.tif", "image/tiff"),
                             ("valid-deflate.tif", "image/tiff"), ("valid.txt", "text/plain"),
                             ("valid-ascii.txt", "text/plain")):
            with self.subTest(sample=sample):
                data = samples.sample(sample)
                d = self.upload_ok(pid, data, sample)
                self.assertEqual(d["content_type"], mime)
                self.assertEqual(self.content(d["id"]).body, data)


class SizeTest(DocCase):
    """The big uploads: kept few, they cost time."""

    def test_exactly_max_body_is_accepted(self):
        pid = self.new_patient()
        data = samples.big_text(MAX_BODY)
        r = self.upload(pid, data, "max.txt", timeout=120)
        self.assertStatus(r, 202)
        d = r.json()
        self.assertEqual(d["size"], MAX_BODY)
        self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
        tail = self.content(d["id"], headers={"Range": "bytes=-100"})
        self.assertStatus(tail, 206)
        self.assertEqual(tail.body, data[-100:])
        full = self.content(d["id"], timeout=120)
        self.assertStatus(full, 200)
        self.assertTrue(full.body == data, "the 50 MiB download differs")

    def test_one_byte_over_max_body_is_413(self):
        pid = self.new_patient()
        before = self.snapshot()
        r = self.upload(pid, samples.big_text(MAX_BODY + 1), "over.txt", timeout=120)
        self.assertRefused(r, 413, "payload_too_large", before, pid)

    def test_body_over_the_web_server_limit_is_413_json(self):
        pid = self.new_patient()
        before = self.snapshot()
        body, ct = multipart_body(upload_parts(samples.unique_text(), "a.txt"))
        for length in (MAX_BODY + (1 << 20) + 1, 60 << 20, 1 << 40):
            with self.subTest(content_length=length):
                r = raw_request(self.c, "POST", self.upload_path(pid), body=body, headers={"Content-Type": ct},
                                content_length=length, timeout=15)
                self.assertEqual(r.status, 413, r)
                self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r)
                self.assertEqual(r.json()["error"]["code"], "payload_too_large")
                self.assertTrue(r.header("X-Request-Id"), r)
        self.assertNothingStored(before, pid)

    def test_two_concurrent_large_uploads_both_succeed(self):
        pid = self.new_patient()
        datas = [samples.big_text(40 << 20), samples.big_text((45 << 20) + 7)]
        results = [None, None]

        def go(i):
            try:
                results[i] = self.upload(pid, datas[i], "big%d.txt" % i, client=Client().login("clinician"),
                                         timeout=120)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = e

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        for i, r in enumerate(results):
            with self.subTest(upload=i):
                self.assertNotIsInstance(r, Exception, r)
                self.assertIsNotNone(r, "upload thread did not finish")
                self.assertEqual(r.status, 202, r)
                self.assertEqual(r.json()["sha256"], hashlib.sha256(datas[i]).hexdigest())
                self.assertEqual(r.json()["size"], len(datas[i]))
        self.assertEqual(self.temp_files(), [])
