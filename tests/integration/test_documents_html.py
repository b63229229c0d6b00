"""Documents on the HTML pages: the patient page's document list and upload form, posting that form
as a browser does (multipart, session cookie, csrf_token field), /documents/{id} with its Download
link, the page download, refusals as pages, escaping of file names, /static/upload.js."""

import hashlib

from fvtest import API, Client, Page, Part, form_values, media_type
from test_documents_api import DocCase, samples

DOC_TYPES = ["lab_report", "hormone_panel", "semen_analysis", "ultrasound_image", "microscopy_image",
             "medical_report", "prescription", "consultation_notes", "surgical_report", "imaging_study",
             "pathology_report"]


class DocumentPagesTest(DocCase):
    def patient_page(self, pid, client=None):
        r = (client or self.c).get("/patients/%s" % pid, headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertHTMLType(r)
        return r, Page(r.text, "/patients/%s" % pid)

    def upload_form(self, page, pid):
        form = page.form("/patients/%s/documents" % pid, method="post")
        self.assertIsNotNone(form, "no <form method=post action=/patients/%s/documents>: %s"
                             % (pid, [(f["method"], f["action_path"]) for f in page.forms]))
        return form

    def browser_post(self, pid, form, data, filename, content_type="application/octet-stream", client=None,
                     drop=()):
        """Posts form as a browser does: its fields (hidden csrf_token included) in document order, the
        file where the form's file input is; multipart/form-data; nothing added."""
        parts = []
        values = [(k, v) for k, v in form_values(form) if k not in drop]
        for ctl in form["controls"]:
            if ctl["type"] == "file" and ctl["name"]:
                parts.append(Part(ctl["name"], data, filename=filename, content_type=content_type))
            elif ctl["name"] and ctl["name"] not in drop and any(k == ctl["name"] for k, _ in values):
                parts.append((ctl["name"], dict(values)[ctl["name"]]))
        return self.post_parts(pid, parts, client=client, page=True, csrf=False)

    def test_patient_page_has_the_upload_form(self):
        pid = self.new_patient()
        r, page = self.patient_page(pid)
        form = self.upload_form(page, pid)
        self.assertEqual(form["attrs"].get("enctype", "").lower(), "multipart/form-data")
        file_input = page.control("file", form)
        self.assertIsNotNone(file_input, "no control named file")
        self.assertEqual(file_input["type"], "file")
        sel = page.control("document_type", form)
        self.assertIsNotNone(sel, "no document_type control")
        self.assertEqual(sel["tag"], "select")
        self.assertEqual([o["value"] for o in sel["options"]], DOC_TYPES)
        tok = page.control("csrf_token", form)
        self.assertIsNotNone(tok, "no csrf_token in the upload form")
        self.assertEqual(tok["type"], "hidden")
        self.assertEqual(tok["value"], self.c.csrf)
        self.assertRegex(r.text, r'<script[^>]+src="/static/upload\.js"')
        self.assertIn("No documents", page.text)

    def test_viewer_sees_no_upload_form(self):
        pid = self.new_patient()
        _, page = self.patient_page(pid, client=Client().login("viewer"))
        self.assertIsNone(page.form("/patients/%s/documents" % pid, method="post"))

    def test_posting_the_form_uploads_and_lists_the_document(self):
        pid = self.new_patient()
        _, page = self.patient_page(pid)
        form = self.upload_form(page, pid)
        data = samples.unique_pdf()
        name = 'Day 3 <img src=x onerror=alert(1)> & "panel".pdf'  # no '/': that would cut the name
        r = self.browser_post(pid, form, data, name, "application/pdf")
        self.assertStatus(r, 303)
        self.assertEqual(r.location_path(), "/patients/%s" % pid)
        docs = self.list_docs(pid).json()["items"]
        self.assertEqual(len(docs), 1, docs)
        d = docs[0]
        self.assertEqual(d["document_type"], DOC_TYPES[0], "the select's first option is the default")
        self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(d["uploaded_by"], self.c.user.name)
        r2, page = self.patient_page(pid)
        links = page.links_to("/documents/%s" % d["id"])
        self.assertTrue(links, "the patient page does not link to the new document")
        self.assertEqual(links[0]["text"], name)
        self.assertNotIn("<img src=x", r2.text, "the file name is not escaped")
        self.assertIn("queued", page.text)
        self.assertRegex(r2.text, r'data-status="queued"')

    def test_form_post_without_csrf_token_is_403_and_stores_nothing(self):
        pid = self.new_patient()
        before = self.snapshot()
        _, page = self.patient_page(pid)
        form = self.upload_form(page, pid)
        r = self.browser_post(pid, form, samples.unique_text(), "a.txt", drop=("csrf_token",))
        self.assertStalePage(r)
        self.assertNothingStored(before, pid)

    def test_form_post_of_a_refused_file_is_an_error_page(self):
        pid = self.new_patient()
        before = self.snapshot()
        _, page = self.patient_page(pid)
        form = self.upload_form(page, pid)
        r = self.browser_post(pid, form, samples.sample("archive.zip"), "scan.pdf")
        self.assertStatus(r, 415)
        self.assertHTMLType(r)
        self.assertIn("ZIP", Page(r.text).text)
        r = self.browser_post(pid, form, b"", "empty.txt")
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        self.assertNothingStored(before, pid)

    def test_document_page_has_a_download_link(self):
        pid = self.new_patient()
        data = samples.unique_text()
        name = '<script>alert(1)<script> & "notes".txt'
        d = self.upload_ok(pid, data, name, document_type="consultation_notes")
        r = self.c.get("/documents/%s" % d["id"], headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertHTMLType(r)
        self.assertNotIn("<script>alert", r.text, "the file name is not escaped")
        page = Page(r.text, "/documents/%s" % d["id"])
        self.assertIn(name, page.text)
        self.assertIn("consultation_notes", page.text)
        self.assertIn("queued", page.text)
        self.assertIn(d["sha256"], page.text)
        dl = page.links_to("/documents/%s/content" % d["id"])
        self.assertTrue(dl, "no link to /documents/%s/content" % d["id"])
        self.assertIn("download", dl[0]["text"].lower())
        self.assertTrue(page.links_to("/patients/%s" % pid), "no link back to the patient")
        got = self.c.get(dl[0]["path"])
        self.assertStatus(got, 200)
        self.assertEqual(got.body, data)
        self.assertTrue((got.header("Content-Disposition") or "").startswith("attachment"))
        self.assertEqual((got.header("X-Content-Type-Options") or "").lower(), "nosniff")

    def test_document_pages_need_a_session_and_a_live_document(self):
        pid = self.new_patient()
        data = samples.unique_text()
        d = self.upload_ok(pid, data)
        r = Client().get("/documents/%s" % d["id"], headers={"Accept": "text/html"})
        self.assertEqual(r.status, 303, r)
        self.assertEqual((r.location_path() or "").split("?")[0], "/login")
        r = Client().get("/documents/%s/content" % d["id"], headers={"Accept": "text/html"})
        self.assertIn(r.status, (303, 401), r)
        self.assertNotIn(data[:30], r.body)
        self.assertStatus(self.c.delete(API + "/documents/" + d["id"]), 204)
        r = self.c.get("/documents/%s" % d["id"], headers={"Accept": "text/html"})
        self.assertStatus(r, 404)
        self.assertHTMLType(r)

    def test_archive_form_on_the_document_page(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        _, r = self.c.submit_form("/documents/%s" % d["id"], "/documents/%s/delete" % d["id"], {})
        self.assertStatus(r, 303)
        self.assertEqual(r.location_path(), "/patients/%s" % pid)
        self.assertError(self.doc(d["id"]), 404, "not_found")

    def test_viewer_form_post_is_403(self):
        pid = self.new_patient()
        before = self.snapshot()
        v = Client().login("viewer")
        parts = [("csrf_token", v.csrf)] + [("document_type", "lab_report"),
                                            Part("file", samples.unique_text(), filename="a.txt")]
        r = self.post_parts(pid, parts, client=v, page=True, csrf=False)
        self.assertForbiddenPage(r)
        self.assertNothingStored(before, pid)

    def test_reanalyze_form_on_the_document_page(self):
        pid = self.new_patient()
        d = self.upload_ok(pid, samples.unique_text())
        _, r = self.c.submit_form("/documents/%s" % d["id"], "/documents/%s/reanalyze" % d["id"], {})
        self.assertStatus(r, 303)
        self.assertEqual(r.location_path(), "/documents/%s" % d["id"])
        self.assertEqual(self.doc(d["id"]).json()["status"], "queued")

    def test_upload_script_is_served(self):
        r = Client().get("/static/upload.js")
        self.assertStatus(r, 200)
        self.assertIn(media_type(r.content_type).split(";")[0], ("application/javascript", "text/javascript"))
        self.assertEqual((r.header("X-Content-Type-Options") or "").lower(), "nosniff")
        self.assertIn(b"FormData", r.body)
