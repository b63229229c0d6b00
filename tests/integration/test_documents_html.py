"""Documents on the HTML pages: the patient page's document list and upload form, posting that form
as a browser does (multipart, session cookie, csrf_token field), /documents/{id} with its Download
link, the page download, refusals as pages, escaping of file names, /static/upload.js; the analysis on
the document page (values, flags, findings, failure reason, escaping) and the live status of documents
being analysed (/static/status.js)."""

import hashlib
import html.parser
import json
import re

from fvtest import (API, Client, Page, Part, form_values, media_type, psql, sql_literal, stack_ctl_run, uniq,
                    wait_until)
from test_documents_api import DocCase, samples

STATUSES = ("queued", "processing", "analyzed", "failed")
STATUS_RE = r"\b(queued|processing|analyzed|failed)\b"


def workers_running():
    """True when the stack runs fv-workers (which move uploaded documents on from "queued")."""
    p = stack_ctl_run("workers", timeout=30)
    return p.returncode == 0 and p.stdout.strip() != ""


DOC_TYPES = ["lab_report", "hormone_panel", "semen_analysis", "ultrasound_image", "microscopy_image",
             "medical_report", "prescription", "consultation_notes", "surgical_report", "imaging_study",
             "pathology_report"]


class DocStateCase(DocCase):
    """Helpers for tests that write a document's analysis state themselves."""

    def settle(self, did):
        """Waits (bounded) until the stack's workers are done with a new document, so that a state a
        test then writes into its row is not overwritten by the analysis finishing."""
        if workers_running():
            wait_until(lambda: self.doc(did).json()["status"] in ("analyzed", "failed"), timeout=60)

    def set_state(self, did, status, analysis=None, error=None):
        """Writes a document's status, analysis and error directly (as a worker would). Fresh
        updated_at and queued_at keep the workers' sweeps of old "queued" and stuck "processing"
        documents away from it while the test looks at it."""
        psql("UPDATE documents SET status = %s, analysis = %s, error = %s, updated_at = clock_timestamp()%s"
             " WHERE id = %s" % (
            sql_literal(status),
            "NULL" if analysis is None else sql_literal(json.dumps(analysis)) + "::jsonb",
            "NULL" if error is None else sql_literal(error),
            ", queued_at = clock_timestamp()" if status == "queued" else "", sql_literal(did)))


class DocumentPagesTest(DocStateCase):
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
        self.assertRegex(page.text, STATUS_RE)  # queued, or further on when workers run
        self.assertRegex(r2.text, r'data-document="%s" data-status="(queued|processing|analyzed|failed)"' % d["id"])

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
        self.assertRegex(page.text, "Status " + STATUS_RE)
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
        self.settle(d["id"])
        marker = "fvtest: an earlier failure"
        self.set_state(d["id"], "failed", error=marker)
        _, r = self.c.submit_form("/documents/%s" % d["id"], "/documents/%s/reanalyze" % d["id"], {})
        self.assertStatus(r, 303)
        self.assertEqual(r.location_path(), "/documents/%s" % d["id"])
        doc = self.doc(d["id"]).json()
        self.assertIn(doc["status"], STATUSES)
        self.assertNotEqual(doc["error"], marker, "the document was not queued again")

    def test_upload_script_is_served(self):
        r = Client().get("/static/upload.js")
        self.assertStatus(r, 200)
        self.assertIn(media_type(r.content_type).split(";")[0], ("application/javascript", "text/javascript"))
        self.assertEqual((r.header("X-Content-Type-Options") or "").lower(), "nosniff")
        self.assertIn(b"FormData", r.body)


# ------------------------------------------------------------------------------------ analyses on pages

class _ValuesTable(html.parser.HTMLParser):
    """The rows of the document page's values table (<tr data-value=KEY>): for each, its cells' text,
    the classes of the flag badge and the small-print source text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows = {}
        self._row = None
        self._cell = None
        self._small = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-value" in a:
            self._row = {"cells": [], "flag_classes": [], "source": ""}
            self.rows[a["data-value"]] = self._row
        elif self._row is not None and tag == "td":
            self._cell = []
        elif self._row is not None and tag == "span" and "flag" in (a.get("class") or "").split():
            self._row["flag_classes"] = (a.get("class") or "").split()
        elif self._row is not None and tag == "small":
            self._small = True

    def handle_endtag(self, tag):
        if tag == "small":
            self._small = False
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is None:
            return
        if self._small:
            self._row["source"] += data
        elif self._cell is not None:
            self._cell.append(data)


HOSTILE = '<script>alert("source")</script> & <img src=x onerror=alert(2)>'

ANALYSIS = {
    "analyzer": "builtin",
    "values": {
        "amh": {"value": 1.2, "unit": "ng/mL", "qualifier": None, "flag": "low",
                "original": {"value": 8.6, "unit": "pmol/L"}, "source_text": "AMH 8.6 pmol/L"},
        "fsh": {"value": 7.4, "unit": "IU/L", "qualifier": None, "flag": "normal", "source_text": "FSH 7.4 IU/L"},
        "estradiol": {"value": 130.48, "unit": "pg/mL", "qualifier": None, "flag": "high",
                      "original": {"value": 479, "unit": "pmol/L"}, "source_text": "E2 479 pmol/L"},
        "sperm_concentration": {"value": 0.5, "unit": "million/mL", "qualifier": "<", "flag": None,
                                "source_text": HOSTILE},
    },
    "key_findings": ["AMH is low for age.", "Finding with <b>markup</b> & an ampersand"],
    "fertility_domains": ["ovarian_function", "male_factor"],
    "confidence": 0.92,
    "summary": "Low ovarian reserve <script>alert('summary')</script>.",
    "text_chars": 1834,
    "processing_ms": 140,
    "analyzed_at": "2024-06-11T09:30:00Z",
}


class AnalysisPagesTest(DocStateCase):
    """The analysis on /documents/{id} (values, flags, findings, domains, confidence, summary,
    analyzer, processing time), the failure reason, and the live status of documents still being
    analysed (static/status.js polling the API) on the document and patient pages. States are written
    into the rows directly, after the stack's workers are done with each new document."""

    def new_doc(self, pid=None):
        pid = pid or self.new_patient()
        d = self.upload_ok(pid, samples.unique_text(), "panel.txt", document_type="hormone_panel")
        self.settle(d["id"])
        return pid, d

    def page(self, path):
        r = self.c.get(path, headers={"Accept": "text/html"})
        self.assertStatus(r, 200)
        self.assertHTMLType(r)
        return r, Page(r.text, path)

    def assertNoInlineScript(self, text):
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
            self.assertRegex(m.group(1), r'\bsrc="/static/[a-z]+\.js"', "a script without a static src: %s" % m.group(0))
            self.assertEqual(m.group(2).strip(), "", "an inline script: %s" % m.group(0))
        self.assertNotRegex(text, r"(?i)\son[a-z]+\s*=", "an inline event handler")

    def test_analysed_document_shows_its_values(self):
        _, d = self.new_doc()
        self.set_state(d["id"], "analyzed", ANALYSIS)
        r, page = self.page("/documents/%s" % d["id"])
        rows = _ValuesTable(r.text).rows
        self.assertEqual(list(rows), ["amh", "fsh", "estradiol", "sperm_concentration"],
                         "the values in their canonical order")
        amh = rows["amh"]
        self.assertEqual(amh["cells"][0].replace(amh["source"].strip(), "").strip(), "AMH")
        self.assertEqual(amh["cells"][1:], ["1.2", "ng/mL", "low", "8.6 pmol/L"])
        self.assertIn("flag-low", amh["flag_classes"])
        self.assertEqual(amh["source"], "AMH 8.6 pmol/L")
        self.assertEqual(rows["fsh"]["cells"][1:4], ["7.4", "IU/L", "normal"])
        self.assertIn("flag-normal", rows["fsh"]["flag_classes"])
        self.assertEqual(rows["fsh"]["cells"][4], "", "no 'as printed' for a value not converted")
        self.assertEqual(rows["estradiol"]["cells"][1:], ["130.48", "pg/mL", "high", "479 pmol/L"])
        self.assertIn("flag-high", rows["estradiol"]["flag_classes"])
        sc = rows["sperm_concentration"]
        self.assertTrue(sc["cells"][0].startswith("Sperm concentration"), sc)
        self.assertEqual(sc["cells"][1:3], ["<0.5", "million/mL"], "the qualifier goes with the value")
        self.assertNotIn("flag-low", sc["flag_classes"])
        for words in ("AMH is low for age.", "Ovarian function", "Male factor", "92%", "140 ms",
                      "Built-in analyzer", "Low ovarian reserve", "Key findings"):
            self.assertIn(words, page.text)
        self.assertRegex(r.text, r'data-status="analyzed"')
        self.assertNotIn("analysis-pending", r.text, "an analysed document is not waiting")
        self.assertNoInlineScript(r.text)

    def test_analysis_text_is_escaped(self):
        _, d = self.new_doc()
        self.set_state(d["id"], "analyzed", ANALYSIS)
        r, page = self.page("/documents/%s" % d["id"])
        for raw in ("<script>alert(", "<img src=x", "<b>markup</b>"):
            self.assertNotIn(raw, r.text, "analysis text is not escaped")
        self.assertIn("&lt;script&gt;alert(&quot;source&quot;)&lt;/script&gt;", r.text)
        self.assertEqual(_ValuesTable(r.text).rows["sperm_concentration"]["source"], HOSTILE,
                         "the source text round-trips through escaping")
        self.assertIn("Finding with <b>markup</b> & an ampersand", page.text)
        self.assertIn("Low ovarian reserve <script>alert('summary')</script>.", page.text)
        self.assertNoInlineScript(r.text)

    def test_llm_refined_analysis_names_the_model(self):
        _, d = self.new_doc()
        a = dict(ANALYSIS, analyzer="ollama", llm_model="llama3.1:8b <x>")
        self.set_state(d["id"], "analyzed", a)
        r, page = self.page("/documents/%s" % d["id"])
        self.assertIn("Ollama", page.text)
        self.assertIn("llama3.1:8b <x>", page.text)
        self.assertNotIn("llama3.1:8b <x>", r.text)

    def test_analysis_without_values_or_optional_fields(self):
        _, d = self.new_doc()
        self.set_state(d["id"], "analyzed", {"analyzer": "builtin", "values": {}, "key_findings": [],
                                             "fertility_domains": [], "confidence": 0.3, "summary": ""})
        r, page = self.page("/documents/%s" % d["id"])
        self.assertEqual(_ValuesTable(r.text).rows, {})
        self.assertIn("No lab values were found", page.text)
        self.assertIn("30%", page.text)

    def test_failed_document_shows_the_reason(self):
        _, d = self.new_doc()
        reason = "the PDF is encrypted <b>and cannot be read</b>"
        self.set_state(d["id"], "failed", error=reason)
        r, page = self.page("/documents/%s" % d["id"])
        self.assertIn("The analysis failed: " + reason, page.text)
        self.assertNotIn("<b>and", r.text)
        self.assertRegex(r.text, r'data-status="failed"')
        self.assertNotIn("analysis-pending", r.text)
        self.assertEqual(_ValuesTable(r.text).rows, {})

    def test_pending_document_page_watches_its_status(self):
        for status in ("queued", "processing"):
            _, d = self.new_doc()
            self.set_state(d["id"], status)
            resp = self.c.get("/documents/%s" % d["id"], headers={"Accept": "text/html"})
            self.assertStatus(resp, 200)
            csp = resp.header("Content-Security-Policy") or ""
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn("unsafe-inline", csp)
            page = Page(resp.text, "/documents/%s" % d["id"])
            self.assertIn("has not finished yet", page.text)
            m = re.search(r'<[^>]*\bdata-document="%s"[^>]*>' % d["id"], resp.text)
            self.assertIsNotNone(m, "no element carries the document's id for the status script")
            self.assertIn('data-status="%s"' % status, m.group(0))
            self.assertIn("data-reload", m.group(0), "the document page reloads once the analysis is in")
            self.assertRegex(resp.text, r'<script src="/static/status\.js"')
            self.assertNoInlineScript(resp.text)

    def test_reanalysis_keeps_the_earlier_result_visible(self):
        _, d = self.new_doc()
        self.set_state(d["id"], "queued", ANALYSIS)
        r, page = self.page("/documents/%s" % d["id"])
        self.assertIn("Earlier analysis", page.text)
        self.assertIn("amh", _ValuesTable(r.text).rows)
        self.assertIn("has not finished yet", page.text)

    def test_patient_page_watches_its_pending_documents(self):
        pid, d1 = self.new_doc()
        _, d2 = self.new_doc(pid)
        _, d3 = self.new_doc(pid)
        self.set_state(d1["id"], "analyzed", ANALYSIS)
        self.set_state(d2["id"], "processing")
        self.set_state(d3["id"], "failed", error="no text <i>could</i> be read")
        r, page = self.page("/patients/%s" % pid)
        for doc, status in ((d1, "analyzed"), (d2, "processing"), (d3, "failed")):
            self.assertRegex(r.text, r'data-document="%s" data-status="%s"' % (doc["id"], status))
        self.assertIn("no text <i>could</i> be read", page.text)
        self.assertNotIn("<i>could", r.text)
        self.assertEqual(len(re.findall(r'<script src="/static/status\.js"', r.text)), 1,
                         "one status script (one poll loop) for the whole page")
        self.assertNoInlineScript(r.text)

    def test_status_script_is_served_and_polls_the_api(self):
        r = Client().get("/static/status.js")
        self.assertStatus(r, 200)
        self.assertIn(media_type(r.content_type).split(";")[0], ("application/javascript", "text/javascript"))
        self.assertIn(b"/api/v1/documents/", r.body)
        self.assertIn(b"2000", r.body)
        self.assertNotIn(b"innerHTML", r.body, "the script writes text, never HTML")

    def test_the_poll_request_works_with_the_session_cookie(self):
        _, d = self.new_doc()
        self.set_state(d["id"], "processing")
        browser = Client().login()
        browser.bearer = None  # what status.js sends: the session cookie only
        r = browser.get(API + "/documents/%s" % d["id"], headers={"Accept": "application/json"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["status"], "processing")
        self.set_state(d["id"], "analyzed", ANALYSIS)
        r = browser.get(API + "/documents/%s" % d["id"], headers={"Accept": "application/json"})
        self.assertEqual(r.json()["status"], "analyzed")
        r = Client().get(API + "/documents/%s" % d["id"], headers={"Accept": "application/json"})
        self.assertEqual(r.status, 401, "no session, no status")

    def test_a_workers_analysis_is_shown(self):
        """End to end: the stack's own worker analyses an upload and the page shows its values (without
        workers, the page shows the document waiting)."""
        pid = self.new_patient()
        text = ("Hormone panel, cycle day 3\nFSH 7.4 IU/L\nRef %s\n" % uniq()).encode()
        d = self.upload_ok(pid, text, "day3.txt", document_type="hormone_panel")
        self.settle(d["id"])
        r, page = self.page("/documents/%s" % d["id"])
        status = self.doc(d["id"]).json()["status"]
        if status == "analyzed":
            rows = _ValuesTable(r.text).rows
            self.assertIn("fsh", rows, r.text)
            self.assertEqual(rows["fsh"]["cells"][1:3], ["7.4", "IU/L"])
            self.assertIn("FSH 7.4 IU/L", rows["fsh"]["source"])
            self.assertRegex(page.text, r"Confidence \d{1,3}%")
        elif status == "failed":
            self.assertIn("The analysis failed:", page.text)
        else:
            self.assertIn("has not finished yet", page.text)
