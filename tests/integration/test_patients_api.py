"""Patients JSON API: create, read (ETag), update (If-Match), archive, list (pagination, search)."""

import datetime
import unittest
import uuid

from fvtest import (API, AUTO_MRN_RE, ETAG_RE, FVTestCase, age_on, parse_ts, psql, qs,
                    safe_dob, uniq, uniq_mrn, utc_today)


class CreateTest(FVTestCase):
    def test_create_returns_201_location_and_full_patient(self):
        tok = uniq()
        dob = safe_dob(35)
        body = {"name": "Jane %s Roe" % tok, "date_of_birth": dob.isoformat(), "sex": "female"}
        r = self.c.post(API + "/patients", json_body=body)
        self.assertStatus(r, 201)
        self.assertJSONType(r)
        p = r.json()
        self.assertPatientShape(p)
        self.assertEqual(r.location_path(), "/api/v1/patients/" + p["id"])
        self.assertEqual(p["name"], body["name"])
        self.assertEqual(p["date_of_birth"], body["date_of_birth"])
        self.assertEqual(p["sex"], "female")
        self.assertEqual(p["age"], age_on(dob, utc_today()))
        self.assertRegex(p["medical_record_number"], AUTO_MRN_RE)
        self.assertEqual(p["document_count"], 0)
        self.assertIsNone(p["fertility_score"])
        self.assertIsNone(p["phone"])
        self.assertIsNone(p["email"])
        self.assertIsNone(p["partner_id"])
        self.assertEqual(p["notes"], "")

    def test_created_patient_is_readable_at_location(self):
        p = self.create_patient()
        r = self.get_patient(p["id"])
        self.assertStatus(r, 200)
        got = r.json()
        self.assertPatientShape(got, with_documents=True)
        self.assertEqual(got["documents"], [])
        for f in ("id", "medical_record_number", "name", "date_of_birth", "age", "sex", "phone", "email",
                  "partner_id", "notes", "document_count", "fertility_score", "created_at"):
            self.assertEqual(got[f], p[f], f)

    def test_create_with_all_optional_fields(self):
        tok = uniq()
        mrn = uniq_mrn()
        body = self.valid_patient(tok, sex="male", medical_record_number=mrn, phone="+1 (555) 010-9999",
                                  email="john.roe@example.org", notes="line one\nline two\ttabbed")
        r = self.c.post(API + "/patients", json_body=body)
        self.assertStatus(r, 201)
        p = r.json()
        self.assertPatientShape(p)
        for f in ("name", "sex", "medical_record_number", "phone", "email", "notes", "date_of_birth"):
            self.assertEqual(p[f], body[f], f)

    def test_explicit_nulls_for_optional_fields(self):
        r = self.c.post(API + "/patients", json_body=self.valid_patient(phone=None, email=None, partner_id=None))
        self.assertStatus(r, 201)
        p = r.json()
        self.assertIsNone(p["phone"])
        self.assertIsNone(p["email"])
        self.assertIsNone(p["partner_id"])

    def test_auto_mrns_are_unique(self):
        tok = uniq()
        mrns = [self.create_patient(tok)["medical_record_number"] for _ in range(3)]
        for m in mrns:
            self.assertRegex(m, AUTO_MRN_RE)
        self.assertEqual(len(set(mrns)), 3, mrns)

    def test_client_mrn_is_stored_upper_case(self):
        mrn = uniq_mrn()
        p = self.create_patient(medical_record_number=mrn.lower())
        self.assertEqual(p["medical_record_number"], mrn)
        self.assertEqual(self.get_patient(p["id"]).json()["medical_record_number"], mrn)

    def test_duplicate_mrn_is_409(self):
        mrn = uniq_mrn()
        self.create_patient(medical_record_number=mrn)
        tok = uniq()
        r = self.c.post(API + "/patients", json_body=self.valid_patient(tok, medical_record_number=mrn))
        self.assertError(r, 409, "conflict")
        self.assertNoPatientWith(tok)

    def test_duplicate_mrn_differing_in_case_is_409(self):
        mrn = uniq_mrn()
        self.create_patient(medical_record_number=mrn)
        tok = uniq()
        r = self.c.post(API + "/patients", json_body=self.valid_patient(tok, medical_record_number=mrn.lower()))
        self.assertError(r, 409, "conflict")
        self.assertNoPatientWith(tok)

    def test_age_is_whole_years(self):
        for years in (0, 1, 30, 61):
            with self.subTest(years=years):
                dob = safe_dob(years)
                p = self.create_patient(date_of_birth=dob.isoformat())
                self.assertEqual(p["age"], age_on(dob, utc_today()))

    def test_leap_day_is_a_real_date(self):
        p = self.create_patient(date_of_birth="2024-02-29")
        self.assertEqual(p["date_of_birth"], "2024-02-29")

    def test_date_of_birth_yesterday_is_accepted(self):
        dob = utc_today() - datetime.timedelta(days=1)
        p = self.create_patient(date_of_birth=dob.isoformat())
        self.assertEqual(p["age"], 0)

    def test_name_of_200_characters_is_accepted(self):
        tok = uniq()
        name = tok + "a" * (200 - len(tok))
        p = self.create_patient(tok, name=name)
        self.assertEqual(p["name"], name)

    def test_name_of_200_multibyte_characters_is_accepted(self):
        # 200 characters, ~390 bytes: the limit counts characters, not bytes
        tok = uniq()
        name = tok + "\u00e9" * (200 - len(tok))
        p = self.create_patient(tok, name=name)
        self.assertEqual(p["name"], name)
        self.assertEqual(self.get_patient(p["id"]).json()["name"], name)

    def test_unicode_name_round_trips(self):
        tok = uniq()
        name = "Zo\u00eb \u00d1and\u00fa \u674e \U0001F476 %s" % tok
        p = self.create_patient(tok, name=name)
        self.assertEqual(p["name"], name)
        self.assertEqual(self.get_patient(p["id"]).json()["name"], name)

    def test_json_unicode_escapes_are_decoded(self):
        tok = uniq()
        raw = ('{"name": "Ren\\u00e9e \\ud83d\\ude00 %s", "date_of_birth": "%s", "sex": "other"}'
               % (tok, safe_dob().isoformat()))
        r = self.c.post(API + "/patients", body=raw.encode(), content_type="application/json")
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["name"], "Ren\u00e9e \U0001F600 %s" % tok)

    def test_content_type_with_charset_is_accepted(self):
        import json as _json
        body = _json.dumps(self.valid_patient()).encode()
        r = self.c.post(API + "/patients", body=body, content_type="application/json; charset=utf-8")
        self.assertStatus(r, 201)

    def test_body_under_the_limit_is_accepted(self):
        # ~1,000,000 bytes of valid JSON (whitespace padding) is below the 1 MiB default limit
        import json as _json
        tok = uniq()
        core = _json.dumps(self.valid_patient(tok))
        body = "{" + " " * (1000000 - len(core)) + core[1:]
        r = self.c.post(API + "/patients", body=body.encode(), content_type="application/json")
        self.assertStatus(r, 201)
        self.assertEqual(len(self.api_ids_for(tok)), 1)


class ReadTest(FVTestCase):
    def test_get_has_etag_and_documents(self):
        p = self.create_patient()
        r = self.get_patient(p["id"])
        self.assertStatus(r, 200)
        self.assertRegex(r.header("ETag") or "", ETAG_RE)
        self.assertIsInstance(r.json()["documents"], list)

    def test_if_none_match_gives_304(self):
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        self.assertTrue(etag)
        r = self.get_patient(p["id"], headers={"If-None-Match": etag})
        self.assertStatus(r, 304)
        self.assertEqual(r.body, b"")
        self.assertRequestId(r)
        self.assertEqual(r.header("ETag"), etag, "a 304 repeats the ETag")

    def test_if_none_match_list_gives_304(self):
        # If-None-Match carries a list of entity tags (RFC 9110 13.1.2); any match is a 304
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        r = self.get_patient(p["id"], headers={"If-None-Match": '"other", %s' % etag})
        self.assertStatus(r, 304)

    def test_if_none_match_other_etag_gives_200(self):
        p = self.create_patient()
        r = self.get_patient(p["id"], headers={"If-None-Match": '"not-the-etag"'})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["id"], p["id"])

    def test_etag_changes_after_update(self):
        p = self.create_patient()
        etag1 = self.get_patient(p["id"]).header("ETag")
        self.assertStatus(self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"notes": "changed"}), 200)
        r = self.get_patient(p["id"], headers={"If-None-Match": etag1})
        self.assertStatus(r, 200)
        self.assertNotEqual(r.header("ETag"), etag1)
        self.assertEqual(r.json()["notes"], "changed")

    def test_unknown_and_malformed_ids_are_404(self):
        for pid in (str(uuid.uuid4()), "not-a-uuid", "12345", str(uuid.uuid4())[:-1] + "g"):
            with self.subTest(pid=pid):
                self.assertError(self.get_patient(pid), 404, "not_found")

    def test_upper_case_uuid_finds_patient_or_404_never_500(self):
        p = self.create_patient()
        r = self.get_patient(p["id"].upper())
        self.assertIn(r.status, (200, 404), r)
        if r.status == 200:
            self.assertEqual(r.json()["id"], p["id"])


class UpdateTest(FVTestCase):
    def url(self, p):
        return "%s/patients/%s" % (API, p["id"])

    def test_patch_partial_update(self):
        tok = uniq()
        p = self.create_patient(tok, phone="555-0100")
        newname = "Patched %s Roe" % tok
        r = self.c.patch(self.url(p), json_body={"name": newname, "email": "p@example.org"})
        self.assertStatus(r, 200)
        self.assertJSONType(r)
        q = r.json()
        self.assertPatientShape(q)
        self.assertEqual(q["name"], newname)
        self.assertEqual(q["email"], "p@example.org")
        for f in ("id", "medical_record_number", "date_of_birth", "age", "sex", "phone", "notes", "created_at"):
            self.assertEqual(q[f], p[f], f)
        self.assertGreaterEqual(parse_ts(q["updated_at"]), parse_ts(p["updated_at"]))
        got = self.get_patient(p["id"]).json()
        self.assertEqual(got["name"], newname)
        self.assertEqual(got["email"], "p@example.org")
        self.assertEqual(got["phone"], "555-0100")

    def test_patch_date_of_birth_updates_age(self):
        p = self.create_patient(date_of_birth=safe_dob(30).isoformat())
        dob = safe_dob(40)
        r = self.c.patch(self.url(p), json_body={"date_of_birth": dob.isoformat()})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["age"], age_on(dob, utc_today()))

    def test_patch_null_clears_optional_field(self):
        p = self.create_patient(phone="555-0100", email="x@example.org")
        r = self.c.patch(self.url(p), json_body={"phone": None, "email": None})
        self.assertStatus(r, 200)
        got = self.get_patient(p["id"]).json()
        self.assertIsNone(got["phone"])
        self.assertIsNone(got["email"])

    def test_patch_mrn_upper_cases_and_conflicts(self):
        other = self.create_patient(medical_record_number=uniq_mrn())
        p = self.create_patient()
        mrn = uniq_mrn()
        r = self.c.patch(self.url(p), json_body={"medical_record_number": mrn.lower()})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["medical_record_number"], mrn)
        r = self.c.patch(self.url(p), json_body={"medical_record_number": other["medical_record_number"].lower()})
        self.assertError(r, 409, "conflict")
        self.assertEqual(self.get_patient(p["id"]).json()["medical_record_number"], mrn)

    def test_patch_with_stale_if_match_is_412_and_changes_nothing(self):
        p = self.create_patient()
        stale = self.get_patient(p["id"]).header("ETag")
        self.assertStatus(self.c.patch(self.url(p), json_body={"notes": "first"}), 200)
        before = self.get_patient(p["id"]).json()
        r = self.c.patch(self.url(p), json_body={"notes": "second", "sex": "other"}, headers={"If-Match": stale})
        self.assertError(r, 412, "precondition_failed")
        after = self.get_patient(p["id"]).json()
        self.assertEqual(after, before)

    def test_patch_with_current_if_match_succeeds(self):
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        r = self.c.patch(self.url(p), json_body={"notes": "with if-match"}, headers={"If-Match": etag})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["notes"], "with if-match")

    def test_patch_invalid_changes_nothing(self):
        p = self.create_patient()
        before = self.get_patient(p["id"]).json()
        r = self.c.patch(self.url(p), json_body={"notes": "should not be stored", "sex": "unknown"})
        self.assertError(r, 400, "invalid", fields=("sex",))
        self.assertEqual(self.get_patient(p["id"]).json(), before)

    def test_patch_required_fields_cannot_be_nulled_or_emptied(self):
        p = self.create_patient()
        for body, field in (({"name": None}, "name"), ({"name": ""}, "name"), ({"sex": None}, "sex"),
                            ({"date_of_birth": None}, "date_of_birth"), ({"date_of_birth": "2023-02-30"}, "date_of_birth")):
            with self.subTest(body=body):
                self.assertError(self.c.patch(self.url(p), json_body=body), 400, "invalid", fields=(field,))
        got = self.get_patient(p["id"]).json()
        self.assertEqual((got["name"], got["sex"], got["date_of_birth"]), (p["name"], p["sex"], p["date_of_birth"]))

    def test_patch_unknown_field_is_400(self):
        p = self.create_patient()
        r = self.c.patch(self.url(p), json_body={"notes": "x", "favourite_colour": "blue"})
        self.assertError(r, 400, "invalid", fields=("favourite_colour",))
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], "")

    def test_patch_wrong_content_type_is_415(self):
        p = self.create_patient()
        r = self.c.patch(self.url(p), body=b'{"notes": "x"}', content_type="text/plain")
        self.assertError(r, 415, "unsupported_media_type")
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], "")

    def test_patch_malformed_json_is_400(self):
        p = self.create_patient()
        r = self.c.patch(self.url(p), body=b'{"notes": "x",}', content_type="application/json")
        self.assertError(r, 400, "invalid")
        self.assertEqual(self.get_patient(p["id"]).json()["notes"], "")

    def test_patch_unknown_patient_is_404(self):
        r = self.c.patch("%s/patients/%s" % (API, uuid.uuid4()), json_body={"notes": "x"})
        self.assertError(r, 404, "not_found")


class DeleteTest(FVTestCase):
    def url(self, p):
        return "%s/patients/%s" % (API, p["id"])

    def test_delete_archives(self):
        tok = uniq()
        p = self.create_patient(tok)
        keep = self.create_patient(tok)
        r = self.c.delete(self.url(p))
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertRequestId(r)
        self.assertError(self.get_patient(p["id"]), 404, "not_found")
        self.assertEqual(self.api_ids_for(tok), [keep["id"]])
        self.assertError(self.c.patch(self.url(p), json_body={"notes": "x"}), 404, "not_found")
        self.assertError(self.c.delete(self.url(p)), 404, "not_found")
        # archived, not erased: the row is kept for the audit trail
        self.assertEqual(psql("SELECT count(*) FROM patients WHERE id = '%s'" % p["id"]), "1")

    def test_delete_with_stale_if_match_is_412(self):
        p = self.create_patient()
        stale = self.get_patient(p["id"]).header("ETag")
        self.assertStatus(self.c.patch(self.url(p), json_body={"notes": "moved on"}), 200)
        r = self.c.delete(self.url(p), headers={"If-Match": stale})
        self.assertError(r, 412, "precondition_failed")
        self.assertStatus(self.get_patient(p["id"]), 200)

    def test_delete_with_current_if_match_is_204(self):
        p = self.create_patient()
        etag = self.get_patient(p["id"]).header("ETag")
        self.assertStatus(self.c.delete(self.url(p), headers={"If-Match": etag}), 204)
        self.assertStatus(self.get_patient(p["id"]), 404)

    def test_delete_unknown_is_404(self):
        self.assertError(self.c.delete("%s/patients/%s" % (API, uuid.uuid4())), 404, "not_found")
        self.assertError(self.c.delete("%s/patients/not-a-uuid" % API), 404, "not_found")


class ListTest(FVTestCase):
    def test_list_shape_and_newest_first(self):
        tok = uniq()
        created = [self.create_patient(tok) for _ in range(3)]
        r = self.list_patients(q=tok)
        self.assertStatus(r, 200)
        self.assertJSONType(r)
        body = r.json()
        self.assertTrue({"items", "next_cursor"} <= set(body), body)
        self.assertIsNone(body["next_cursor"])
        self.assertEqual(len(body["items"]), 3)
        for item in body["items"]:
            self.assertPatientShape(item)
        self.assertEqual(sorted(i["id"] for i in body["items"]), sorted(p["id"] for p in created))
        # newest first: the one created last comes first
        self.assertEqual(body["items"][0]["id"], created[-1]["id"])
        self.assertEqual(body["items"][-1]["id"], created[0]["id"])
        ts = [parse_ts(i["created_at"]) for i in body["items"]]
        self.assertEqual(ts, sorted(ts, reverse=True))

    def test_list_without_query_works(self):
        self.create_patient()
        r = self.list_patients()
        self.assertStatus(r, 200)
        body = r.json()
        self.assertIsInstance(body["items"], list)
        self.assertGreaterEqual(len(body["items"]), 1)
        self.assertLessEqual(len(body["items"]), 20)

    def test_default_limit_is_20(self):
        tok = uniq()
        ids = [self.create_patient(tok)["id"] for _ in range(21)]
        r = self.list_patients(q=tok)
        self.assertStatus(r, 200)
        body = r.json()
        self.assertEqual(len(body["items"]), 20)
        self.assertIsInstance(body["next_cursor"], str)
        self.assertTrue(body["next_cursor"])
        r2 = self.list_patients(q=tok, cursor=body["next_cursor"])
        self.assertStatus(r2, 200)
        b2 = r2.json()
        self.assertEqual([i["id"] for i in b2["items"]], [ids[0]])
        self.assertIsNone(b2["next_cursor"])

    def test_limit_bounds(self):
        tok = uniq()
        for _ in range(2):
            self.create_patient(tok)
        r = self.list_patients(q=tok, limit=1)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json()["items"]), 1)
        self.assertIsNotNone(r.json()["next_cursor"])
        r = self.list_patients(q=tok, limit=100)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json()["items"]), 2)
        self.assertIsNone(r.json()["next_cursor"])

    def test_bad_limits_are_400(self):
        for bad in ("0", "101", "abc", "-1", "1.5", "5x", "99999999999999999999"):
            with self.subTest(limit=bad):
                r = self.c.get(API + "/patients?" + qs({"limit": bad}))
                self.assertError(r, 400, "invalid", fields=("limit",))

    def test_cursor_walk_visits_each_once_in_order(self):
        tok = uniq()
        created = [self.create_patient(tok) for _ in range(7)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"q": tok, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            r = self.list_patients(**params)
            self.assertStatus(r, 200)
            body = r.json()
            self.assertLessEqual(len(body["items"]), 2)
            seen.extend(body["items"])
            cursor = body["next_cursor"]
            pages += 1
            self.assertLessEqual(pages, 5, "too many pages for 7 patients with limit 2")
            if cursor is None:
                break
            self.assertIsInstance(cursor, str)
        ids = [i["id"] for i in seen]
        self.assertEqual(len(ids), len(set(ids)), "a patient was visited twice: %s" % ids)
        self.assertEqual(set(ids), {p["id"] for p in created})
        self.assertEqual(ids, [p["id"] for p in reversed(created)])
        ts = [parse_ts(i["created_at"]) for i in seen]
        self.assertEqual(ts, sorted(ts, reverse=True))

    def test_cursor_is_stable_when_patients_are_added(self):
        tok = uniq()
        created = [self.create_patient(tok) for _ in range(5)]
        r = self.list_patients(q=tok, limit=2)
        first = r.json()
        newer = self.create_patient(tok)  # keyset pagination: a newer patient does not shift later pages
        rest = []
        cursor = first["next_cursor"]
        while cursor:
            body = self.list_patients(q=tok, limit=2, cursor=cursor).json()
            rest.extend(body["items"])
            cursor = body["next_cursor"]
        ids = [i["id"] for i in first["items"] + rest]
        self.assertEqual(ids, [p["id"] for p in reversed(created)])
        self.assertNotIn(newer["id"], ids)

    def test_archived_patients_are_not_listed_and_do_not_break_pages(self):
        tok = uniq()
        created = [self.create_patient(tok) for _ in range(5)]
        first = self.list_patients(q=tok, limit=2).json()
        # archive the last one seen on the first page: the cursor must still work
        self.assertStatus(self.c.delete("%s/patients/%s" % (API, first["items"][-1]["id"])), 204)
        rest, cursor = [], first["next_cursor"]
        while cursor:
            r = self.list_patients(q=tok, limit=2, cursor=cursor)
            self.assertStatus(r, 200)
            rest.extend(r.json()["items"])
            cursor = r.json()["next_cursor"]
        self.assertEqual([i["id"] for i in rest], [p["id"] for p in reversed(created[:3])])
        self.assertEqual(len(self.api_ids_for(tok)), 4)


class SearchTest(FVTestCase):
    def test_q_matches_any_part_of_name_case_insensitively(self):
        tok = uniq()
        p = self.create_patient(name="Alice %s Marchetti" % tok)
        for q in (tok, tok.upper(), tok[3:9], "%s march" % tok.upper(), "ALICE " + tok):
            with self.subTest(q=q):
                self.assertIn(p["id"], [i["id"] for i in self.walk(q=q)])

    def test_q_does_not_match_other_names(self):
        tok1, tok2 = uniq(), uniq()
        p1 = self.create_patient(tok1)
        p2 = self.create_patient(tok2)
        self.assertEqual(self.api_ids_for(tok1), [p1["id"]])
        self.assertEqual(self.api_ids_for(tok2), [p2["id"]])

    def test_q_matches_mrn_prefix_case_insensitively(self):
        tok = uniq("")
        mrn = ("Q" + tok).upper()
        other = uniq()
        p = self.create_patient(other, name="Mrn Search %s" % other, medical_record_number=mrn)
        for q in (mrn, mrn.lower(), mrn[:6], mrn[:6].lower()):
            with self.subTest(q=q):
                self.assertIn(p["id"], [i["id"] for i in self.walk(q=q)])

    def test_q_matches_mrn_only_as_prefix(self):
        tok = uniq("")
        mrn = ("Q" + tok).upper()
        other = uniq()
        p = self.create_patient(other, name="Mrn Infix %s" % other, medical_record_number=mrn)
        self.assertNotIn(p["id"], [i["id"] for i in self.walk(q=mrn[3:])])

    def test_q_percent_is_literal(self):
        tok = uniq()
        with_pct = self.create_patient(name="Pct %s%%x" % tok)
        without = self.create_patient(name="Pct %sAx" % tok)
        ids = self.api_ids_for(tok + "%x")
        self.assertEqual(ids, [with_pct["id"]])
        self.assertNotIn(without["id"], ids)
        self.assertEqual(self.api_ids_for(tok + "%"), [with_pct["id"]])

    def test_q_underscore_is_literal(self):
        tok = uniq()
        with_us = self.create_patient(name="Us %s_x" % tok)
        without = self.create_patient(name="Us %sBx" % tok)
        ids = self.api_ids_for(tok + "_x")
        self.assertEqual(ids, [with_us["id"]])
        self.assertNotIn(without["id"], ids)

    def test_q_backslash_is_literal(self):
        tok = uniq()
        with_bs = self.create_patient(name="Bs %s\\x" % tok)
        self.create_patient(name="Bs %sx" % tok)
        self.assertEqual(self.api_ids_for(tok + "\\x"), [with_bs["id"]])
        self.assertEqual(self.api_ids_for(tok + "\\"), [with_bs["id"]])

    def test_q_with_no_match_is_empty(self):
        r = self.list_patients(q=uniq("nomatch"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["items"], [])
        self.assertIsNone(r.json()["next_cursor"])

    def test_q_with_quotes_and_unicode(self):
        tok = uniq()
        p = self.create_patient(name="O'Brien \"%s\" Nu\u00f1ez" % tok)
        self.assertEqual(self.api_ids_for("'Brien \"%s" % tok), [p["id"]])
        self.assertEqual(self.api_ids_for("%s\" Nu\u00f1" % tok), [p["id"]])


class PartnerTest(FVTestCase):
    def test_partner_link(self):
        a = self.create_patient(sex="female")
        b = self.create_patient(sex="male", partner_id=a["id"])
        self.assertEqual(b["partner_id"], a["id"])
        self.assertEqual(self.get_patient(b["id"]).json()["partner_id"], a["id"])
        r = self.c.patch("%s/patients/%s" % (API, a["id"]), json_body={"partner_id": b["id"]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["partner_id"], b["id"])
        r = self.c.patch("%s/patients/%s" % (API, a["id"]), json_body={"partner_id": None})
        self.assertStatus(r, 200)
        self.assertIsNone(self.get_patient(a["id"]).json()["partner_id"])

    def test_partner_must_exist(self):
        for bad in (str(uuid.uuid4()), "not-a-uuid", 42):
            with self.subTest(partner_id=bad):
                tok = uniq()
                r = self.c.post(API + "/patients", json_body=self.valid_patient(tok, partner_id=bad))
                self.assertError(r, 400, "invalid", fields=("partner_id",))
                self.assertNoPatientWith(tok)

    def test_partner_must_not_be_archived(self):
        gone = self.create_patient()
        self.assertStatus(self.c.delete("%s/patients/%s" % (API, gone["id"])), 204)
        tok = uniq()
        r = self.c.post(API + "/patients", json_body=self.valid_patient(tok, partner_id=gone["id"]))
        self.assertError(r, 400, "invalid", fields=("partner_id",))
        self.assertNoPatientWith(tok)
        p = self.create_patient()
        r = self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"partner_id": gone["id"]})
        self.assertError(r, 400, "invalid", fields=("partner_id",))
        self.assertIsNone(self.get_patient(p["id"]).json()["partner_id"])

    def test_partner_must_not_be_self(self):
        p = self.create_patient()
        r = self.c.patch("%s/patients/%s" % (API, p["id"]), json_body={"partner_id": p["id"]})
        self.assertError(r, 400, "invalid", fields=("partner_id",))
        self.assertIsNone(self.get_patient(p["id"]).json()["partner_id"])


if __name__ == "__main__":
    unittest.main()
