"""HTML pages for patients: list (search, next/previous), new, detail, edit, archive, error pages,
escaping of user data on every page, and the stylesheet."""

import re
import unittest
import uuid

from fvtest import FVTestCase, Page, control_value, qs, safe_dob, uniq, uniq_mrn

PATIENT_PAGE_RE = re.compile(r"^/patients/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NASTY = "<script>alert(1)</script> O'Brien & \"Co\""


class HTMLCase(FVTestCase):
    def html(self, path, status=200):
        r = self.c.get(path, headers={"Accept": "text/html"})
        self.assertStatus(r, status)
        self.assertHTMLType(r)
        self.assertRequestId(r)
        return r, Page(r.text, path)

    def form_fields(self, **over):
        tok = uniq()
        data = {"name": "Form %s Roe" % tok, "date_of_birth": safe_dob().isoformat(), "sex": "female",
                "medical_record_number": "", "phone": "", "email": "", "notes": ""}
        data.update(over)
        return tok, data

    def ids_linked(self, page, ids):
        return {i for i in ids if page.links_to("/patients/" + i)}

    def assertNotRawNasty(self, r):
        self.assertNotIn("<script>alert(1)", r.text, "unescaped user input in %s" % r.describe())


class ListPageTest(HTMLCase):
    def test_list_page_has_search_form(self):
        r, page = self.html("/patients")
        self.assertNoStore(r)
        form = page.form("/patients", method="get")
        self.assertIsNotNone(form, "no <form method=get action=/patients>: %s" % page.forms)
        self.assertIsNotNone(page.control("q", form), "search form has no input named q")

    def test_rows_link_to_patients_and_q_filters(self):
        tok_a, tok_b = uniq(), uniq()
        a = self.create_patient(tok_a)
        b = self.create_patient(tok_b)
        r, page = self.html("/patients?" + qs({"q": tok_a}))
        self.assertTrue(page.links_to("/patients/" + a["id"]), "row for %s does not link to its page" % a["id"])
        self.assertFalse(page.links_to("/patients/" + b["id"]), "q did not filter the list")
        self.assertIn(a["name"], page.text)
        self.assertIn(a["medical_record_number"], page.text)
        self.assertNotIn(b["name"], page.text)

    def test_q_matches_mrn_on_page(self):
        mrn = uniq_mrn()
        p = self.create_patient(medical_record_number=mrn)
        r, page = self.html("/patients?" + qs({"q": mrn.lower()}))
        self.assertTrue(page.links_to("/patients/" + p["id"]))

    def test_next_and_previous_links(self):
        tok = uniq()
        created = [self.create_patient(tok) for _ in range(21)]
        ids = [p["id"] for p in created]
        r1, p1 = self.html("/patients?" + qs({"q": tok}))
        on1 = self.ids_linked(p1, ids)
        self.assertEqual(len(on1), 20, "first page should list 20 of the 21 patients")
        self.assertIn(ids[-1], on1, "newest first")
        self.assertNotIn(ids[0], on1, "oldest is on the second page")
        self.assertFalse(p1.link_with_text("previous"), "a Previous link on the first page")
        nxt = [l for l in p1.link_with_text("next") if l["path"] and "cursor=" in l["path"]]
        self.assertTrue(nxt, "no Next link with cursor= on the first page; links: %s"
                        % [(l["text"], l["href"]) for l in p1.links])
        r2, p2 = self.html(nxt[0]["path"])
        on2 = self.ids_linked(p2, ids)
        self.assertEqual(on2, {ids[0]}, "second page (the q filter must be kept by the Next link)")
        self.assertFalse([l for l in p2.link_with_text("next") if l["path"] and "cursor=" in l["path"]],
                         "a Next link on the last page")
        prev = [l for l in p2.link_with_text("previous") if l["path"]]
        self.assertTrue(prev, "no Previous link on the second page; links: %s" % [(l["text"], l["href"]) for l in p2.links])
        r3, p3 = self.html(prev[0]["path"])
        self.assertEqual(self.ids_linked(p3, ids), on1, "Previous does not lead back to the first page")
        self.assertFalse(p3.link_with_text("previous"), "a Previous link on the first page (reached via Previous)")


class NewPageTest(HTMLCase):
    def test_new_form(self):
        r, page = self.html("/patients/new")
        form = page.form("/patients", method="post")
        self.assertIsNotNone(form, "no <form method=post action=/patients>: %s" % page.forms)
        for name in ("name", "date_of_birth", "sex", "medical_record_number", "phone", "email", "notes"):
            self.assertIsNotNone(page.control(name, form), "no control named %s" % name)
        sex = page.control("sex", form)
        self.assertEqual(sex["tag"], "select")
        self.assertTrue({"female", "male", "other"} <= {o["value"] for o in sex["options"]}, sex["options"])

    def test_create_via_form(self):
        tok, data = self.form_fields()
        _, r = self.c.submit_form("/patients/new", "/patients", data)
        self.assertStatus(r, 303)
        loc = r.location_path()
        self.assertRegex(loc or "", PATIENT_PAGE_RE)
        pid = loc.rsplit("/", 1)[1]
        page_r, page = self.html(loc)
        self.assertIn(data["name"], page.text)
        p = self.get_patient(pid).json()
        self.assertEqual(p["name"], data["name"])
        self.assertEqual(p["date_of_birth"], data["date_of_birth"])
        self.assertEqual(p["sex"], "female")
        # empty optional fields of a browser form mean "not given"
        self.assertRegex(p["medical_record_number"], r"^MR-\d{8}$")
        self.assertIsNone(p["phone"])
        self.assertIsNone(p["email"])
        self.assertEqual(p["notes"], "")

    def test_create_via_form_with_all_fields_and_unicode(self):
        tok = uniq()
        mrn = uniq_mrn()
        _, data = self.form_fields(name="Ren\u00e9e \u00d1and\u00fa %s" % tok, sex="other", medical_record_number=mrn.lower(),
                                   phone="+1 555 010 9999", email="renee@example.org", notes="two\r\nlines")
        _, r = self.c.submit_form("/patients/new", "/patients", data)
        self.assertStatus(r, 303)
        p = self.get_patient(r.location_path().rsplit("/", 1)[1]).json()
        self.assertEqual(p["name"], data["name"])
        self.assertEqual(p["sex"], "other")
        self.assertEqual(p["medical_record_number"], mrn)
        self.assertEqual(p["phone"], data["phone"])
        self.assertEqual(p["email"], data["email"])
        self.assertIn(p["notes"], ("two\r\nlines", "two\nlines"))

    def test_invalid_form_rerenders_with_escaped_input_and_errors(self):
        tok = uniq()
        mrn = uniq_mrn()
        name = "%s %s" % (NASTY, tok)
        _, data = self.form_fields(name=name, date_of_birth="2023-02-30", sex="male", medical_record_number=mrn,
                                   notes="kept %s" % tok)
        _, r = self.c.submit_form("/patients/new", "/patients", data)
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        self.assertNotRawNasty(r)
        self.assertIn("&lt;script&gt;", r.text)
        page = Page(r.text, "/patients")
        form = page.form("/patients", method="post")
        self.assertIsNotNone(form, "the form is not re-rendered")
        self.assertEqual(page.control("name", form)["value"], name, "submitted name not kept (or not escaped right)")
        self.assertEqual(page.control("medical_record_number", form)["value"], mrn)
        sex = page.control("sex", form)
        self.assertEqual([o["value"] for o in sex["options"] if o["selected"]], ["male"], "selected sex not kept")
        self.assertFieldErrors(page, ["date_of_birth"])
        self.assertNoPatientWith(tok)

    def test_empty_form_names_each_missing_field(self):
        tok, data = self.form_fields(name="", date_of_birth="", sex="", notes="")
        _, r = self.c.submit_form("/patients/new", "/patients", data)
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        page = Page(r.text, "/patients")
        self.assertFieldErrors(page, ["name", "date_of_birth", "sex"])

    def test_invalid_email_and_phone_in_form(self):
        tok, data = self.form_fields(email="not-an-email", phone="abc")
        _, r = self.c.submit_form("/patients/new", "/patients", data)
        self.assertStatus(r, 400)
        page = Page(r.text, "/patients")
        self.assertFieldErrors(page, ["email", "phone"])
        self.assertEqual(page.control("name")["value"], data["name"])
        self.assertNoPatientWith(tok)


    def test_invalid_utf8_in_form_says_what_is_wrong(self):
        tok = uniq()
        body = ("name=Bad%%20%s%%ff&date_of_birth=%s&sex=male" % (tok, safe_dob().isoformat())).encode()
        r = self.c.post("/patients", body=body, content_type="application/x-www-form-urlencoded",
                        headers={"Accept": "text/html"})
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        blank_r = self.c.get("/patients/new")
        blank = Page(blank_r.text, "/patients/new").text.replace(blank_r.header("X-Request-Id") or "?", "")
        shown = Page(r.text, "/patients").text.replace(r.header("X-Request-Id") or "?", "")
        self.assertTrue(shown != blank, "the 400 page is the blank form: it does not say what is wrong "
                                          "and drops the other fields")
        self.assertNoPatientWith(tok)


class ReflectionTest(HTMLCase):
    """Whatever the request carries and a page shows again is escaped."""

    def test_search_query_is_escaped(self):
        q = '"><script>alert(1)</script>'
        r, page = self.html("/patients?" + qs({"q": q}))
        self.assertNotRawNasty(r)
        self.assertEqual(page.control("q")["value"], q)

    def test_unknown_parameter_name_is_escaped(self):
        r = self.c.get("/patients?" + qs({"<script>alert(1)</script>": "1"}))
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        self.assertNotRawNasty(r)

    def test_unknown_path_is_escaped(self):
        r = self.c.get("/nope/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        self.assertStatus(r, 404)
        self.assertNotRawNasty(r)
        r = self.c.get("/patients/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        self.assertStatus(r, 404)
        self.assertNotRawNasty(r)

    def test_search_with_special_characters_survives_paging(self):
        tok = uniq()
        q = '%s & "x" +1 #y' % tok
        created = [self.create_patient(name="Sp %s z" % q) for _ in range(21)]
        ids = [p["id"] for p in created]
        r1, p1 = self.html("/patients?" + qs({"q": q}))
        self.assertNotIn('"x" +1', r1.text.replace("&quot;", ""), "raw quotes in the page")
        self.assertEqual(p1.control("q")["value"], q)
        nxt = [l for l in p1.link_with_text("next") if l["path"] and "cursor=" in l["path"]]
        self.assertTrue(nxt, "no Next link")
        r2, p2 = self.html(nxt[0]["path"])
        self.assertEqual(self.ids_linked(p2, ids), {ids[0]}, "the Next link lost or mangled q")


class DetailPageTest(HTMLCase):
    def test_detail_page(self):
        tok = uniq()
        mrn = uniq_mrn()
        p = self.create_patient(tok, name="%s %s" % (NASTY, tok), medical_record_number=mrn)
        r, page = self.html("/patients/" + p["id"])
        self.assertNoStore(r)
        self.assertNotRawNasty(r)
        self.assertIn(p["name"], page.text)
        self.assertIn(mrn, page.text)
        self.assertTrue(page.links_to("/patients/%s/edit" % p["id"]), "no Edit link")
        self.assertIsNotNone(page.form("/patients/%s/delete" % p["id"], method="post"), "no archive form: %s" % page.forms)

    def test_missing_patient_pages_are_404_html(self):
        for path in ("/patients/not-a-uuid", "/patients/" + str(uuid.uuid4()),
                     "/patients/%s/edit" % uuid.uuid4(), "/patients/not-a-uuid/edit"):
            with self.subTest(path=path):
                r, page = self.html(path, status=404)
                self.assertIn("not found", page.text.lower())

    def test_unknown_page_is_404_html(self):
        r, page = self.html("/no-such-page-" + uniq(), status=404)
        self.assertIn("not found", page.text.lower())
        self.assertIn(b"<html", r.body.lower(), "not an HTML document: %r" % r.body[:100])

    def test_posting_to_missing_patient_is_404(self):
        for path in ("/patients/%s/edit" % uuid.uuid4(), "/patients/%s/delete" % uuid.uuid4()):
            with self.subTest(path=path):
                r = self.c.post(path, form={"name": "x"}, headers={"Accept": "text/html"})
                self.assertStatus(r, 404)
                self.assertHTMLType(r)


class EditPageTest(HTMLCase):
    def test_edit_form_prefilled(self):
        tok = uniq()
        p = self.create_patient(tok, name="%s %s" % (NASTY, tok), sex="other", medical_record_number=uniq_mrn(),
                                phone="555-0100", email="e@example.org", notes="some <b>notes</b> & more")
        r, page = self.html("/patients/%s/edit" % p["id"])
        self.assertNoStore(r)
        self.assertNotRawNasty(r)
        self.assertNotIn("<b>notes</b>", r.text)
        form = page.form("/patients/%s/edit" % p["id"], method="post")
        self.assertIsNotNone(form, "no <form method=post> posting to /patients/{id}/edit: %s" % page.forms)
        for f in ("name", "date_of_birth", "medical_record_number", "phone", "email", "notes"):
            ctl = page.control(f, form)
            self.assertIsNotNone(ctl, "no control %s" % f)
            self.assertEqual(ctl["value"], p[f], f)
        sex = page.control("sex", form)
        self.assertEqual([o["value"] for o in sex["options"] if o["selected"]], ["other"])

    def test_edit_form_prefills_partner(self):
        a = self.create_patient()
        b = self.create_patient(partner_id=a["id"])
        r, page = self.html("/patients/%s/edit" % b["id"])
        ctl = page.control("partner_id")
        if ctl is not None:  # the contract's form lists no partner field; when there is one, it is prefilled
            self.assertEqual(control_value(ctl), a["id"])
        _, r = self.c.submit_form("/patients/%s/edit" % b["id"], "/patients/%s/edit" % b["id"], {"notes": "kept partner"})
        self.assertStatus(r, 303)
        got = self.get_patient(b["id"]).json()
        self.assertEqual(got["partner_id"], a["id"], "saving the edit form dropped the partner")
        self.assertEqual(got["notes"], "kept partner")

    def test_edit_valid(self):
        tok = uniq()
        p = self.create_patient(tok, phone="555-0100", email="e@example.org", notes="keep me")
        newname = "Edited %s O'Hara" % tok
        _, r = self.c.submit_form("/patients/%s/edit" % p["id"], "/patients/%s/edit" % p["id"], {"name": newname})
        self.assertStatus(r, 303)
        self.assertEqual(r.location_path(), "/patients/" + p["id"])
        got = self.get_patient(p["id"]).json()
        self.assertEqual(got["name"], newname)
        for f in ("medical_record_number", "date_of_birth", "sex", "phone", "email", "notes", "partner_id"):
            self.assertEqual(got[f], p[f], f)

    def test_edit_keeps_absent_optional_fields_null(self):
        p = self.create_patient()
        _, r = self.c.submit_form("/patients/%s/edit" % p["id"], "/patients/%s/edit" % p["id"], {"sex": "male"})
        self.assertStatus(r, 303)
        got = self.get_patient(p["id"]).json()
        self.assertEqual(got["sex"], "male")
        self.assertIsNone(got["phone"])
        self.assertIsNone(got["email"])
        self.assertIsNone(got["partner_id"])
        self.assertEqual(got["medical_record_number"], p["medical_record_number"])

    def test_edit_invalid(self):
        tok = uniq()
        p = self.create_patient(tok)
        before = self.get_patient(p["id"]).json()
        bad_name = "%s %s" % (NASTY, tok)
        _, r = self.c.submit_form("/patients/%s/edit" % p["id"], "/patients/%s/edit" % p["id"],
                                  {"name": bad_name, "date_of_birth": "2023-13-01", "email": "nope"})
        self.assertStatus(r, 400)
        self.assertHTMLType(r)
        self.assertNotRawNasty(r)
        page = Page(r.text, "/patients/%s/edit" % p["id"])
        self.assertFieldErrors(page, ["date_of_birth", "email"])
        self.assertEqual(page.control("name")["value"], bad_name)
        self.assertEqual(self.get_patient(p["id"]).json(), before)


class ArchivePageTest(HTMLCase):
    def test_archive_via_form(self):
        tok = uniq()
        p = self.create_patient(tok)
        _, r = self.c.submit_form("/patients/" + p["id"], "/patients/%s/delete" % p["id"], {})
        self.assertStatus(r, 303)
        self.assertEqual((r.location_path() or "").split("?")[0], "/patients")
        self.html("/patients/" + p["id"], status=404)
        self.assertStatus(self.get_patient(p["id"]), 404)
        _, page = self.html("/patients?" + qs({"q": tok}))
        self.assertFalse(page.links_to("/patients/" + p["id"]))

    def test_get_on_delete_url_does_not_archive(self):
        p = self.create_patient()
        r = self.c.get("/patients/%s/delete" % p["id"])
        self.assertLess(r.status, 500, r)
        self.assertStatus(self.get_patient(p["id"]), 200)


class EscapingTest(HTMLCase):
    def test_names_are_escaped_on_every_page(self):
        tok = uniq()
        name = "<b>Bold</b> & \"dq\" 'sq' <i %s" % tok
        p = self.create_patient(tok, name=name, notes="<img src=x onerror=alert(1)>")
        partner = self.create_patient(partner_id=p["id"])  # a page that may show the partner's name
        for path in ("/patients?" + qs({"q": tok}), "/patients/" + p["id"], "/patients/%s/edit" % p["id"],
                     "/patients/" + partner["id"]):
            with self.subTest(path=path):
                r, page = self.html(path)
                self.assertNotIn("<b>Bold</b>", r.text)
                self.assertNotIn("<i %s" % tok, r.text)
                self.assertNotIn("<img src=x", r.text)
                if path.endswith("/edit"):
                    self.assertEqual(page.control("name")["value"], name)
                elif path.endswith(partner["id"]):
                    pass
                else:
                    self.assertIn(" ".join(name.split()), page.text)


class StaticTest(FVTestCase):
    def test_stylesheet(self):
        r = self.c.get("/static/app.css")
        self.assertStatus(r, 200)
        self.assertTrue(r.content_type.lower().startswith("text/css"), r.content_type)
        self.assertTrue(r.body.strip(), "empty stylesheet")

    def test_missing_static_file_is_404(self):
        r = self.c.get("/static/no-such-file-%s.css" % uniq())
        self.assertStatus(r, 404)


if __name__ == "__main__":
    unittest.main()
