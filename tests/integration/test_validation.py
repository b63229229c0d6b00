"""Patients JSON API: rejected input. Every bad request answers the contract's error envelope with the
right status and code, names each bad field, and writes nothing."""

import datetime
import json
import unittest

from fvtest import API, FVTestCase, psql, qs, safe_dob, sql_literal, uniq, uniq_mrn, utc_today


class BadCreateMixin:
    def fresh(self, **over):
        """A valid body with a unique name token and MRN, plus those two for the no-write check."""
        tok, mrn = uniq(), uniq_mrn()
        body = self.valid_patient(tok, medical_record_number=mrn)
        body.update(over)
        return tok, mrn, body

    def assertNothingWritten(self, tok, mrn):
        self.assertEqual(self.api_ids_for(tok), [], "a rejected request left a patient (by name)")
        self.assertEqual(self.api_ids_for(mrn), [], "a rejected request left a patient (by MRN)")
        n = psql("SELECT count(*) FROM patients WHERE name LIKE '%%%s%%' OR mrn = %s"
                 % (tok, sql_literal(mrn)))
        self.assertEqual(n, "0", "a rejected request left a row in patients")

    def post_bad(self, body, status, code, fields=(), tok=None, mrn=None, raw=None, content_type="application/json"):
        if raw is None:
            r = self.c.post(API + "/patients", json_body=body) if content_type == "application/json" else \
                self.c.post(API + "/patients", body=json.dumps(body).encode(), content_type=content_type)
        else:
            r = self.c.post(API + "/patients", body=raw, content_type=content_type)
        err = self.assertError(r, status, code, fields)
        if tok:
            self.assertNothingWritten(tok, mrn)
        return err


class RequiredFieldsTest(BadCreateMixin, FVTestCase):
    def test_each_missing_required_field_is_named(self):
        for field in ("name", "sex", "date_of_birth"):
            with self.subTest(missing=field):
                tok, mrn, body = self.fresh()
                del body[field]
                self.post_bad(body, 400, "invalid", (field,), tok, mrn)

    def test_all_missing_required_fields_are_named(self):
        tok, mrn, _ = self.fresh()
        self.post_bad({"medical_record_number": mrn, "notes": tok}, 400, "invalid",
                      ("name", "sex", "date_of_birth"), tok, mrn)

    def test_empty_object(self):
        self.post_bad({}, 400, "invalid", ("name", "sex", "date_of_birth"))

    def test_several_bad_fields_are_all_named(self):
        tok, mrn, body = self.fresh(sex="unknown", date_of_birth="2023-02-30", email="nope", phone="x")
        body["notes"] = tok
        body["name"] = ""
        self.post_bad(body, 400, "invalid", ("name", "sex", "date_of_birth", "email", "phone"), tok, mrn)


class NameTest(BadCreateMixin, FVTestCase):
    def test_name_of_201_characters(self):
        tok, mrn = uniq(), uniq_mrn()
        name = tok + "a" * (201 - len(tok))
        self.post_bad(self.valid_patient(tok, name=name, medical_record_number=mrn), 400, "invalid", ("name",), tok, mrn)

    def test_name_of_201_multibyte_characters(self):
        tok, mrn = uniq(), uniq_mrn()
        name = tok + "\u00e9" * (201 - len(tok))
        self.post_bad(self.valid_patient(tok, name=name, medical_record_number=mrn), 400, "invalid", ("name",), tok, mrn)

    def test_empty_name(self):
        tok, mrn, body = self.fresh(name="")
        self.post_bad(body, 400, "invalid", ("name",), tok, mrn)

    def test_control_characters_in_name(self):
        for ctl in ("\u0001", "\u001b", "\n", "\u007f"):
            with self.subTest(ctl=repr(ctl)):
                tok, mrn = uniq(), uniq_mrn()
                body = self.valid_patient(tok, name="Ctl %s%sx" % (tok, ctl), medical_record_number=mrn)
                self.post_bad(body, 400, "invalid", ("name",), tok, mrn)


    def test_nul_in_string_is_rejected(self):
        # "\u0000" is valid JSON but cannot be stored in a C string: rejected as a whole (field optional)
        tok, mrn = uniq(), uniq_mrn()
        body = self.valid_patient(tok, name="Nul %s\u0000x" % tok, medical_record_number=mrn)
        self.post_bad(body, 400, "invalid", (), tok, mrn)


class SexTest(BadCreateMixin, FVTestCase):
    def test_bad_sex_values(self):
        for bad in ("unknown", "", "f"):
            with self.subTest(sex=bad):
                tok, mrn, body = self.fresh(sex=bad)
                self.post_bad(body, 400, "invalid", ("sex",), tok, mrn)

    def test_each_sex_value_is_accepted(self):
        for sex in ("female", "male", "other"):
            with self.subTest(sex=sex):
                self.assertEqual(self.create_patient(sex=sex)["sex"], sex)


class DateTest(BadCreateMixin, FVTestCase):
    def test_bad_dates(self):
        future = (utc_today() + datetime.timedelta(days=400)).isoformat()
        for bad in ("2023-02-30", "2023-13-01", "02/03/2020", future, "2023-02-29", "2023-1-5", "20230105",
                    "2023-01-05T00:00:00Z", "", "2023-00-10", "2023-04-31"):
            with self.subTest(date_of_birth=bad):
                tok, mrn, body = self.fresh(date_of_birth=bad)
                self.post_bad(body, 400, "invalid", ("date_of_birth",), tok, mrn)


class TypeTest(BadCreateMixin, FVTestCase):
    def test_wrong_json_types(self):
        cases = [("name", 5), ("name", None), ("name", ["Jane"]), ("name", {"first": "Jane"}),
                 ("date_of_birth", True), ("date_of_birth", None), ("date_of_birth", 19880402),
                 ("sex", None), ("sex", 1), ("notes", 5), ("phone", 5551234), ("email", False),
                 ("medical_record_number", 7), ("partner_id", True)]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                tok, mrn, body = self.fresh()
                body[field] = value
                self.post_bad(body, 400, "invalid", (field,), tok, mrn)

    def test_unknown_fields_are_named(self):
        for extra in ("favourite_colour", "Name", "dob"):
            with self.subTest(field=extra):
                tok, mrn, body = self.fresh()
                body[extra] = "x"
                self.post_bad(body, 400, "invalid", (extra,), tok, mrn)


class FormatTest(BadCreateMixin, FVTestCase):
    def test_bad_emails(self):
        for bad in ("not-an-email", "a@b", "a b@example.org", "@example.org", "jane@", "jane@@example.org"):
            with self.subTest(email=bad):
                tok, mrn, body = self.fresh(email=bad)
                self.post_bad(body, 400, "invalid", ("email",), tok, mrn)

    def test_bad_phones(self):
        for bad in ("abc", "12", "555-0100 ext. 5", "1" * 40):
            with self.subTest(phone=bad):
                tok, mrn, body = self.fresh(phone=bad)
                self.post_bad(body, 400, "invalid", ("phone",), tok, mrn)

    def test_good_emails_and_phones(self):
        for email, phone in (("jane.roe@example.org", "+44 20 7946 0958"), ("a+b@sub.example.co.uk", "(555) 010.9999")):
            with self.subTest(email=email):
                p = self.create_patient(email=email, phone=phone)
                self.assertEqual((p["email"], p["phone"]), (email, phone))

    def test_bad_mrns(self):
        for bad in ("bad mrn!", "MR_0001", "A" * 100, "<script>"):
            with self.subTest(mrn=bad):
                tok = uniq()
                body = self.valid_patient(tok, medical_record_number=bad)
                self.post_bad(body, 400, "invalid", ("medical_record_number",))
                self.assertEqual(self.api_ids_for(tok), [])


class BodyTest(BadCreateMixin, FVTestCase):
    def raw_valid(self, tok, mrn):
        return json.dumps(self.valid_patient(tok, medical_record_number=mrn))

    def test_malformed_json(self):
        tok, mrn = uniq(), uniq_mrn()
        good = self.raw_valid(tok, mrn)
        for raw in (good[:-1], good[:-1] + ",}", good.replace('"name"', "'name'", 1),
                    "/* c */" + good, good.replace(":", "=", 1), "{", "nul", "{\"name\": \"x\" \"sex\": \"male\"}"):
            with self.subTest(raw=raw[:60]):
                self.post_bad(None, 400, "invalid", raw=raw.encode())
        self.assertNothingWritten(tok, mrn)

    def test_trailing_garbage(self):
        tok, mrn = uniq(), uniq_mrn()
        good = self.raw_valid(tok, mrn)
        for raw in (good + " x", good + good, good + "}", good + "\x00"):
            with self.subTest(raw=raw[-20:]):
                self.post_bad(None, 400, "invalid", raw=raw.encode())
        self.assertNothingWritten(tok, mrn)

    def test_non_object_top_level(self):
        tok, mrn = uniq(), uniq_mrn()
        good = self.raw_valid(tok, mrn)
        for raw in ("[" + good + "]", "[]", '"%s"' % tok, "42", "null", "true"):
            with self.subTest(raw=raw[:40]):
                self.post_bad(None, 400, "invalid", raw=raw.encode())
        self.assertNothingWritten(tok, mrn)

    def test_empty_body(self):
        self.post_bad(None, 400, "invalid", raw=b"")

    def test_invalid_utf8_in_string(self):
        for bad in (b"\xff\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"):
            with self.subTest(bytes=bad):
                tok, mrn = uniq(), uniq_mrn()
                raw = ('{"name": "Bad %s ' % tok).encode() + bad + \
                      ('", "date_of_birth": "%s", "sex": "female", "medical_record_number": "%s"}'
                       % (safe_dob().isoformat(), mrn)).encode()
                self.post_bad(None, 400, "invalid", raw=raw, tok=tok, mrn=mrn)

    def test_lone_surrogate_escape(self):
        tok, mrn = uniq(), uniq_mrn()
        raw = ('{"name": "Bad %s \\ud800", "date_of_birth": "%s", "sex": "female", "medical_record_number": "%s"}'
               % (tok, safe_dob().isoformat(), mrn)).encode()
        self.post_bad(None, 400, "invalid", raw=raw, tok=tok, mrn=mrn)

    def test_deep_nesting(self):
        tok, mrn, body = self.fresh()
        raw = json.dumps(body)[:-1] + ', "notes": ' + "[" * 200 + "]" * 200 + "}"
        self.post_bad(None, 400, "invalid", raw=raw.encode(), tok=tok, mrn=mrn)

    def test_body_over_limit_is_413(self):
        tok, mrn, body = self.fresh()
        body["notes"] = "a" * (2 * 1024 * 1024)
        self.post_bad(body, 413, "payload_too_large", tok=tok, mrn=mrn)

    def test_body_over_web_server_limit_is_413_json(self):
        # larger than the upload limit (50 MiB): refused before the app sees it, still in the API's format
        r = self.c.post(API + "/patients", body=b" " * (60 * 1024 * 1024), content_type="application/json",
                        timeout=30)
        self.assertError(r, 413, "payload_too_large")

    def test_non_json_content_type_is_415(self):
        tok, mrn, body = self.fresh()
        for ct in ("text/plain", "application/x-www-form-urlencoded", "text/html", "application/xml",
                   "multipart/form-data; boundary=x"):
            with self.subTest(content_type=ct):
                self.post_bad(body, 415, "unsupported_media_type", content_type=ct)
        # a urlencoded body that would be valid as a form is still not accepted by the JSON API
        r = self.c.post(API + "/patients", form={k: v for k, v in body.items()})
        self.assertError(r, 415, "unsupported_media_type")
        self.assertNothingWritten(tok, mrn)


class ListQueryTest(FVTestCase):
    def test_unknown_query_parameter(self):
        r = self.c.get(API + "/patients?foo=1")
        self.assertError(r, 400, "invalid", fields=("foo",))
        r = self.c.get(API + "/patients?" + qs({"q": "x", "Limit": "5"}))
        self.assertError(r, 400, "invalid", fields=("Limit",))

    def test_garbage_cursor(self):
        tok = uniq()
        for _ in range(3):
            self.create_patient(tok)
        real = self.list_patients(q=tok, limit=1).json()["next_cursor"]
        self.assertTrue(real)
        for bad in ("garbage", "!!!", "AAAA", "eyJ4IjoxfQ", "eyJ4IjoxfQ==", "%00", "x" * 2000,
                    real[: len(real) // 2], "null", "-1"):
            with self.subTest(cursor=bad[:40]):
                r = self.c.get(API + "/patients?" + qs({"q": tok, "limit": 1, "cursor": bad}))
                self.assertError(r, 400, "invalid", fields=("cursor",))

    def test_query_with_bad_percent_escape(self):
        r = self.c.get(API + "/patients?q=%zz")
        self.assertError(r, 400, "invalid")

    def test_query_with_invalid_utf8(self):
        r = self.c.get(API + "/patients?q=%ff%fe")
        self.assertError(r, 400, "invalid")


if __name__ == "__main__":
    unittest.main()
