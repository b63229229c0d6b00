/* patients.c: the patient resource (contract: Patients). One handler per action; each builds a view
 * model (a json-c object) and answers it as JSON or through a template. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cursor.h"
#include "db.h"
#include "documents.h"
#include "escape.h"
#include "patients.h"
#include "response.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX 100
#define MRN_ATTEMPTS 5
#define NOTES_MAX 10000

/* The patient object of the contract, built by PostgreSQL in one pass. Times are RFC 3339 UTC (the
 * connection's time zone is UTC). fertility_score comes with the assessment feature. */
#define PATIENT_JSON                                                                               \
	"json_build_object('id', p.id, 'medical_record_number', p.mrn, 'name', p.name,"            \
	" 'date_of_birth', p.date_of_birth,"                                                       \
	" 'age', date_part('year', age(current_date, p.date_of_birth))::int,"                      \
	" 'sex', p.sex, 'phone', p.phone, 'email', p.email, 'partner_id', p.partner_id,"           \
	" 'notes', p.notes, 'fertility_score', NULL,"                                              \
	" 'document_count', (SELECT count(*) FROM documents d"                                     \
	"   WHERE d.patient_id = p.id AND d.archived_at IS NULL),"                                 \
	" 'created_at', to_char(p.created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                  \
	" 'updated_at', to_char(p.updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"
#define PATIENT_KEY "(extract(epoch from p.created_at) * 1000000)::bigint, p.id"
#define LIST_NEXT                                                                                  \
	" AND (p.created_at, p.id) < ($1::timestamptz, $2::uuid) ORDER BY p.created_at DESC, "     \
	"p.id DESC LIMIT $3"
#define LIST_PREV                                                                                  \
	" AND (p.created_at, p.id) > ($1::timestamptz, $2::uuid) ORDER BY p.created_at, p.id "     \
	"LIMIT $3"
#define SEARCH " AND (p.mrn LIKE upper($4) || '%' OR p.name ILIKE '%' || $4 || '%')"
#define LIST_FROM                                                                                  \
	"SELECT " PATIENT_JSON ", " PATIENT_KEY " FROM patients p WHERE p.archived_at IS NULL"

static const struct db_stmt stmts[] = {
    {"patient_get",
     "SELECT " PATIENT_JSON ", p.version, p.mrn, p.name, p.date_of_birth, p.sex, p.phone, p.email,"
     " p.partner_id, p.notes, (" DOCUMENTS_OF_PATIENT_JSON ") FROM patients p"
     " WHERE p.id = $1 AND p.archived_at IS NULL",
     1},
    {"patient_exists", "SELECT 1 FROM patients WHERE id = $1 AND archived_at IS NULL", 1},
    {"patient_insert",
     "INSERT INTO patients (mrn, name, date_of_birth, sex, phone, email, partner_id, notes)"
     " VALUES (COALESCE($1, 'MR-' || lpad(nextval('patient_mrn_seq')::text, 8, '0')),"
     " $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (mrn) DO NOTHING RETURNING id",
     8},
    {"patient_update",
     "UPDATE patients SET mrn = $3, name = $4, date_of_birth = $5, sex = $6, phone = $7,"
     " email = $8, partner_id = $9, notes = $10, version = version + 1, updated_at = now()"
     " WHERE id = $1 AND version = $2 AND archived_at IS NULL RETURNING id",
     10},
    {"patient_archive",
     "UPDATE patients SET archived_at = now(), updated_at = now(), version = version + 1"
     " WHERE id = $1 AND version = $2 AND archived_at IS NULL RETURNING id",
     2},
    {"patient_list_next", LIST_FROM LIST_NEXT, 3},
    {"patient_list_prev", LIST_FROM LIST_PREV, 3},
};

/* Searches are planned at every call (not prepared): how selective a fragment is decides between
 * the keyset index and the search indexes, and a prepared statement's generic plan, chosen once,
 * scans the whole table for rare fragments. Planning costs ~0.2 ms. */
static const char search_next[] = LIST_FROM SEARCH LIST_NEXT;
static const char search_prev[] = LIST_FROM SEARCH LIST_PREV;

void
patients_init(void)
{
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

/* The writable fields; NULL is SQL NULL. */
struct patient {
	const char *mrn, *name, *dob, *sex, *phone, *email, *partner_id, *notes;
};

static const char *const sexes[] = {"female", "male", "other", NULL};
/* Form fields that are not patient fields. */
static const char *const form_extra[] = {"etag", "csrf_token", NULL};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static struct json_object *
parse_json_text(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	if (o == NULL)
		abort(); /* PostgreSQL produced it: only out-of-memory gets here */
	return o;
}

/* A path id that is not a UUID names no patient. */
static enum fv_err
path_id_or_404(struct req *r, char id[37])
{
	if (v_uuid(req_path_param(r, 0), id) != NULL)
		return req_fail(r, FV_ENOTFOUND, "patient not found");
	return FV_OK;
}

struct loaded {
	struct json_object *view; /* patient object with "documents" */
	char version[24];
	struct patient cur;
};

/* Loads a live patient. On FV_OK l->view is owned by the caller; FV_ENOTFOUND when the patient
 * does not exist or is archived. */
static enum fv_err
load_patient(struct req *r, const char *id, struct loaded *l)
{
	const char *params[1] = {id};
	PGresult *res;
	enum fv_err e;
	int c = 2;

	memset(l, 0, sizeof(*l));
	if ((e = db_exec("patient_get", 1, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return req_fail(r, FV_ENOTFOUND, "patient not found");
	}
	l->view = parse_json_text(PQgetvalue(res, 0, 0));
	snprintf(l->version, sizeof(l->version), "%s", PQgetvalue(res, 0, 1));
#define COL()                                                                                      \
	(PQgetisnull(res, 0, c) ? (c++, (const char *)NULL)                                        \
	                        : arena_strdup(r->arena, PQgetvalue(res, 0, c++)))
	l->cur.mrn = COL();
	l->cur.name = COL();
	l->cur.dob = COL();
	l->cur.sex = COL();
	l->cur.phone = COL();
	l->cur.email = COL();
	l->cur.partner_id = COL();
	l->cur.notes = COL();
#undef COL
	json_object_object_add(l->view, "documents", parse_json_text(PQgetvalue(res, 0, c)));
	PQclear(res);
	return FV_OK;
}

/* The string value of a JSON member: FV_OK with *out NULL for JSON null; else a fields error. */
static int
json_string(struct req *r, const char *key, struct json_object *v, const char **out)
{
	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		req_invalid(r, key, "must be a string");
		return -1;
	}
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
		req_invalid(r, key, "must not contain NUL characters");
		return -1;
	}
	return 0;
}

/* Applies one input member to p, recording a fields error for a bad value. */
static void
apply_field(struct req *r, const char *key, struct json_object *v, bool creating, struct patient *p)
{
	const char *s, *msg = NULL;
	char norm[37];
	int y, m, d;

	static const char *const known[] = {"medical_record_number",
	                                    "name",
	                                    "date_of_birth",
	                                    "sex",
	                                    "phone",
	                                    "email",
	                                    "partner_id",
	                                    "notes",
	                                    NULL};

	if (!in_list(known, key)) {
		req_invalid(r, key, "is not a known field");
		return;
	}
	if (json_string(r, key, v, &s) != 0)
		return;
	if (strcmp(key, "name") == 0) {
		msg = s ? v_text(s, 1, 200, false) : "is required";
		p->name = s;
	} else if (strcmp(key, "date_of_birth") == 0) {
		msg = s ? v_date(s, true, &y, &m, &d) : "is required";
		p->dob = s;
	} else if (strcmp(key, "sex") == 0) {
		msg = s ? v_enum(s, sexes) : "is required";
		p->sex = s;
	} else if (strcmp(key, "medical_record_number") == 0) {
		char mrn[33];

		if (s == NULL && !creating)
			msg = "is required";
		else if (s != NULL && (msg = v_mrn(s, mrn)) == NULL)
			s = arena_strdup(r->arena, mrn);
		p->mrn = s;
	} else if (strcmp(key, "phone") == 0) {
		msg = s ? v_phone(s) : NULL;
		p->phone = s;
	} else if (strcmp(key, "email") == 0) {
		msg = s ? v_email(s) : NULL;
		p->email = s;
	} else if (strcmp(key, "partner_id") == 0) {
		if (s != NULL && (msg = v_uuid(s, norm)) == NULL)
			s = arena_strdup(r->arena, norm);
		p->partner_id = s;
	} else if (strcmp(key, "notes") == 0) {
		msg = s ? v_text(s, 0, NOTES_MAX, true) : NULL;
		p->notes = s ? s : "";
	}
	if (msg)
		req_invalid(r, key, msg);
}

/* Validates input onto p (which holds the current values, or zeroes when creating). Returns FV_OK,
 * FV_EINVAL with r->err_fields naming every bad field, or a database error. */
static enum fv_err
apply_input(struct req *r, struct json_object *in, bool creating, const char *self_id,
            struct patient *p)
{
	static const char *const required[] = {"name", "date_of_birth", "sex", NULL};
	const char *const *k;
	struct json_object *partner;

	json_object_object_foreach(in, key, val) apply_field(r, key, val, creating, p);
	if (creating)
		for (k = required; *k; k++)
			if (!json_object_object_get_ex(in, *k, NULL))
				req_invalid(r, *k, "is required");
	if (p->notes == NULL)
		p->notes = "";
	/* The partner must be another live patient; checked only when the input names one. */
	if (json_object_object_get_ex(in, "partner_id", &partner) && p->partner_id &&
	    !(r->err_fields && json_object_object_get_ex(r->err_fields, "partner_id", NULL))) {
		const char *params[1] = {p->partner_id};
		PGresult *res;
		enum fv_err e;

		if (self_id && strcmp(self_id, p->partner_id) == 0) {
			req_invalid(r, "partner_id", "must be another patient");
		} else {
			if ((e = db_exec("patient_exists", 1, params, &res)) != FV_OK)
				return e;
			if (PQntuples(res) == 0)
				req_invalid(r, "partner_id",
				            "must be the id of an existing patient");
			PQclear(res);
		}
	}
	return r->err_fields ? FV_EINVAL : FV_OK;
}

/* The request's input as a JSON object: the JSON body for the API, the urlencoded form for pages
 * (empty optional fields mean "none"). */
static enum fv_err
read_input(struct req *r, struct json_object **in, const char **etag)
{
	static const char *const nullable[] = {"medical_record_number", "phone", "email",
	                                       "partner_id", NULL};
	const struct kvlist *form = &r->form;
	size_t i;

	*etag = req_param(r, "HTTP_IF_MATCH");
	if (!r->page)
		return req_json_body(r, in);
	*in = json_object_new_object();
	for (i = 0; i < form->n; i++) {
		const char *k = form->v[i].key, *v = form->v[i].val;

		if (strcmp(k, "etag") == 0)
			*etag = v[0] ? v : NULL;
		if (in_list(form_extra, k))
			continue;
		json_object_object_add(
		    *in, k,
		    v[0] == '\0' && in_list(nullable, k) ? NULL : json_object_new_string(v));
	}
	return FV_OK;
}

/* The form page's view: the submitted or current values, the errors next to their fields. */
static struct json_object *
form_view(struct req *r, const char *title, const char *action, const struct patient *p,
          const char *etag, const char *problem)
{
	struct json_object *view = json_object_new_object(), *form = json_object_new_object();
	struct json_object *opts = json_object_new_array();
	const char *const *s;

#define PUT(k, v) json_object_object_add(form, k, json_object_new_string((v) ? (v) : ""))
	PUT("medical_record_number", p->mrn);
	PUT("name", p->name);
	PUT("date_of_birth", p->dob);
	PUT("phone", p->phone);
	PUT("email", p->email);
	PUT("partner_id", p->partner_id);
	PUT("notes", p->notes);
#undef PUT
	for (s = sexes; *s; s++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_string(*s));
		json_object_object_add(o, "selected",
		                       json_object_new_boolean(p->sex && strcmp(p->sex, *s) == 0));
		json_object_array_add(opts, o);
	}
	json_object_object_add(view, "title", json_object_new_string(title));
	json_object_object_add(view, "action", json_object_new_string(action));
	json_object_object_add(view, "form", form);
	json_object_object_add(view, "sex_options", opts);
	json_object_object_add(view, "errors", json_object_get(r->err_fields));
	if (etag)
		json_object_object_add(view, "etag", json_object_new_string(etag));
	if (problem)
		json_object_object_add(view, "problem", json_object_new_string(problem));
	return view;
}

static const char *
patient_path(struct req *r, const char *id)
{
	return arena_printf(r->arena, "%s/%s", r->page ? "/patients" : "/api/v1/patients", id);
}

/* A duplicate MRN: a 409 for the API, the form again for a person. */
static enum fv_err
mrn_conflict(struct req *r)
{
	req_invalid(r, "medical_record_number", "is already used by another patient");
	r->err_msg = "a patient with this medical record number already exists";
	return FV_ECONFLICT;
}

enum fv_err
patients_create(struct req *r)
{
	struct json_object *in = NULL;
	struct patient p = {0};
	const char *etag, *id = NULL;
	enum fv_err e;
	int attempt;

	if ((e = read_input(r, &in, &etag)) != FV_OK)
		goto out;
	if ((e = apply_input(r, in, true, NULL, &p)) != FV_OK)
		goto out;
	/* A server-assigned MRN can collide with one a client chose; take the next number. */
	for (attempt = 0; attempt < MRN_ATTEMPTS; attempt++) {
		const char *params[8] = {p.mrn,   p.name,  p.dob,        p.sex,
		                         p.phone, p.email, p.partner_id, p.notes};
		PGresult *res;

		/* ON CONFLICT DO NOTHING: a taken MRN returns no row and leaves the transaction
		 * (and its audit row) usable, where a unique violation would abort it. */
		if ((e = db_exec("patient_insert", 8, params, &res)) != FV_OK)
			break;
		if (PQntuples(res) == 1)
			id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
		PQclear(res);
		e = id ? FV_OK : FV_ECONFLICT;
		if (id || p.mrn != NULL)
			break;
	}
	if (e == FV_ECONFLICT) {
		e = mrn_conflict(r);
		goto out;
	}
	if (e != FV_OK || (e = auth_audit(r, "patient.create", "patient", id, "success")) != FV_OK)
		goto out;
	if (r->page) {
		e = resp_redirect(r, 303, patient_path(r, id));
	} else {
		struct loaded l;

		if ((e = load_patient(r, id, &l)) != FV_OK)
			goto out;
		json_object_object_del(l.view, "documents");
		resp_header(r, "Location", patient_path(r, id));
		e = resp_json(r, 201, l.view);
	}
out:
	if (r->page && (e == FV_EINVAL || e == FV_ECONFLICT))
		e = resp_page(r, 400, "patient_form",
		              form_view(r, "New patient", "/patients", &p, NULL, NULL));
	json_object_put(in);
	return e;
}

enum fv_err
patients_new_form(struct req *r)
{
	struct patient p = {0};

	return resp_page(r, 200, "patient_form",
	                 form_view(r, "New patient", "/patients", &p, NULL, NULL));
}

enum fv_err
patients_show(struct req *r)
{
	struct json_object *view;
	struct loaded l;
	char id[37];
	enum fv_err e;

	if ((e = path_id_or_404(r, id)) != FV_OK || (e = load_patient(r, id, &l)) != FV_OK)
		return e;
	if ((e = auth_audit(r, "patient.read", "patient", id, "success")) != FV_OK) {
		json_object_put(l.view);
		return e;
	}
	if (!r->page)
		return resp_json_etag(r, l.view);
	view = json_object_new_object();
	json_object_object_add(view, "title", json_object_new_string("Patient"));
	json_object_object_add(view, "patient", l.view);
	return resp_page(r, 200, "patient_show", view);
}

enum fv_err
patients_edit_form(struct req *r)
{
	struct loaded l;
	char id[37];
	enum fv_err e;

	if ((e = path_id_or_404(r, id)) != FV_OK || (e = load_patient(r, id, &l)) != FV_OK)
		return e;
	const char *etag = resp_etag_of(r, l.view);
	json_object_put(l.view);
	if ((e = auth_audit(r, "patient.read", "patient", id, "success")) != FV_OK)
		return e;
	return resp_page(r, 200, "patient_form",
	                 form_view(r, "Edit patient",
	                           arena_printf(r->arena, "/patients/%s/edit", id), &l.cur, etag,
	                           NULL));
}

enum fv_err
patients_update(struct req *r)
{
	struct json_object *in = NULL;
	struct loaded l = {0};
	const char *if_match, *etag = NULL;
	char id[37];
	enum fv_err e;

	if ((e = path_id_or_404(r, id)) != FV_OK)
		return e;
	if ((e = load_patient(r, id, &l)) != FV_OK)
		goto out;
	etag = resp_etag_of(r, l.view);
	if ((e = read_input(r, &in, &if_match)) != FV_OK)
		goto out;
	if ((e = resp_if_match(r, if_match, etag, "patient")) != FV_OK)
		goto out;
	if ((e = apply_input(r, in, false, id, &l.cur)) != FV_OK)
		goto out;

	const char *params[10] = {
	    id,        l.version,   l.cur.mrn,   l.cur.name,       l.cur.dob,
	    l.cur.sex, l.cur.phone, l.cur.email, l.cur.partner_id, l.cur.notes};
	PGresult *res;

	if ((e = db_exec("patient_update", 10, params, &res)) == FV_ECONFLICT) {
		e = mrn_conflict(r);
		goto out;
	}
	if (e != FV_OK)
		goto out;
	if (PQntuples(res) == 0)
		e = resp_if_match(r, "", etag,
		                  "patient"); /* changed between our read and our write */
	PQclear(res);
	if (e != FV_OK || (e = auth_audit(r, "patient.update", "patient", id, "success")) != FV_OK)
		goto out;
	if (r->page) {
		e = resp_redirect(r, 303, patient_path(r, id));
		goto out;
	}
	json_object_put(l.view);
	if ((e = load_patient(r, id, &l)) != FV_OK)
		goto out;
	resp_header(r, "ETag", resp_etag_of(r, l.view));
	e = resp_json(r, 200, l.view);
	l.view = NULL;
out:
	if (r->page && (e == FV_EINVAL || e == FV_ECONFLICT || e == FV_EPRECOND) && l.view) {
		/* The person's input is kept; on a stale form the new etag lets them save it
		 * anyway. */
		const char *problem = e == FV_EPRECOND ? r->err_msg : NULL;
		e = resp_page(r, e == FV_EPRECOND ? 412 : 400, "patient_form",
		              form_view(r, "Edit patient",
		                        arena_printf(r->arena, "/patients/%s/edit", id), &l.cur,
		                        etag, problem));
	}
	json_object_put(l.view);
	json_object_put(in);
	return e;
}

enum fv_err
patients_archive(struct req *r)
{
	struct loaded l;
	const char *etag, *params[2];
	PGresult *res;
	char id[37];
	enum fv_err e;

	if ((e = path_id_or_404(r, id)) != FV_OK || (e = load_patient(r, id, &l)) != FV_OK)
		return e;
	etag = resp_etag_of(r, l.view);
	json_object_put(l.view);
	if (!r->page &&
	    (e = resp_if_match(r, req_param(r, "HTTP_IF_MATCH"), etag, "patient")) != FV_OK)
		return e;
	params[0] = id;
	params[1] = l.version;
	if ((e = db_exec("patient_archive", 2, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) == 1 && (e = documents_archive_of_patient(id)) != FV_OK) {
		PQclear(res);
		return e;
	}
	if (PQntuples(res) == 0)
		e = resp_if_match(r, "", etag, "patient");
	PQclear(res);
	if (e != FV_OK || (e = auth_audit(r, "patient.archive", "patient", id, "success")) != FV_OK)
		return e;
	return r->page ? resp_redirect(r, 303, "/patients") : resp_empty(r, 204);
}

/* q with LIKE's wildcards and escape character made literal. */
static const char *
like_literal(struct arena *a, const char *q)
{
	char *out = arena_alloc(a, strlen(q) * 2 + 1), *o = out;

	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o = '\0';
	return out;
}

/* A page link keeping the search; cursor NULL for none. */
static const char *
list_url(struct req *r, const char *q, const char *cursor, long long limit)
{
	struct buf b = {0};
	const char *url;

	buf_puts(&b, "/patients?");
	if (q[0]) {
		buf_puts(&b, "q=");
		esc_url(&b, q, strlen(q));
		buf_putc(&b, '&');
	}
	if (limit != PAGE_DEFAULT)
		buf_printf(&b, "limit=%lld&", limit);
	buf_puts(&b, "cursor=");
	esc_url(&b, cursor, strlen(cursor));
	url = arena_strdup(r->arena, buf_cstr(&b));
	buf_free(&b);
	return url;
}

static struct cursor
row_cursor(PGresult *res, int row, bool backward)
{
	struct cursor c = {.backward = backward};

	c.micros = strtoll(PQgetvalue(res, row, 1), NULL, 10);
	snprintf(c.id, sizeof(c.id), "%s", PQgetvalue(res, row, 2));
	return c;
}

enum fv_err
patients_list(struct req *r)
{
	static const char *const allowed[] = {"q", "limit", "cursor", NULL};
	const char *q = kv_get(&r->args, "q"), *lim = kv_get(&r->args, "limit");
	const char *cur = kv_get(&r->args, "cursor"), *msg, *next = NULL, *prev = NULL;
	struct cursor c = {.micros = -1};
	long long limit = PAGE_DEFAULT;
	struct json_object *items, *view;
	PGresult *res;
	enum fv_err e;
	int n, i, more;

	if ((e = req_check_args(r, allowed)) != FV_OK)
		return e;
	if (q == NULL)
		q = "";
	if ((msg = v_text(q, 0, 200, false)) != NULL)
		req_invalid(r, "q", msg);
	if (lim && (msg = v_int(lim, 1, PAGE_MAX, &limit)) != NULL)
		req_invalid(r, "limit", msg);
	if (cur && cur[0] && cursor_decode(cur, &c) != 0)
		req_invalid(r, "cursor",
		            "is not a cursor this server issued; start from the first page");
	if (r->err_fields)
		return FV_EINVAL;

	const char *params[4] = {NULL, NULL, arena_printf(r->arena, "%lld", limit + 1),
	                         like_literal(r->arena, q)};
	cursor_params(r->arena, &c, &params[0], &params[1]);
	const char *stmt = c.backward ? "patient_list_prev" : "patient_list_next";

	if ((e = auth_audit(r, "patient.list", "patient", NULL, "success")) != FV_OK ||
	    (e = q[0] ? db_query(c.backward ? search_prev : search_next, 4, params, &res)
	              : db_exec(stmt, 3, params, &res)) != FV_OK)
		return e;
	n = PQntuples(res);
	more = n > limit;
	if (more)
		n = (int)limit;
	items = json_object_new_array_ext(n);
	/* A backward page comes oldest first; it is shown newest first like every page. */
	for (i = 0; i < n; i++)
		json_object_array_add(
		    items, parse_json_text(PQgetvalue(res, c.backward ? n - 1 - i : i, 0)));
	if (n > 0) {
		int first = c.backward ? n - 1 : 0, last = c.backward ? 0 : n - 1;
		struct cursor nc = row_cursor(res, last, false), pc = row_cursor(res, first, true);

		if (c.backward || more)
			next = cursor_encode(r->arena, &nc);
		if ((c.backward && more) || (!c.backward && c.micros >= 0))
			prev = cursor_encode(r->arena, &pc);
	}
	PQclear(res);

	view = json_object_new_object();
	json_object_object_add(view, "items", items);
	json_object_object_add(view, "next_cursor", next ? json_object_new_string(next) : NULL);
	json_object_object_add(view, "prev_cursor", prev ? json_object_new_string(prev) : NULL);
	if (!r->page)
		return resp_json(r, 200, view);
	json_object_object_add(view, "title", json_object_new_string("Patients"));
	json_object_object_add(view, "q", json_object_new_string(q));
	json_object_object_add(view, "has_items", json_object_new_boolean(n > 0));
	if (next)
		json_object_object_add(view, "next_url",
		                       json_object_new_string(list_url(r, q, next, limit)));
	if (prev)
		json_object_object_add(view, "prev_url",
		                       json_object_new_string(list_url(r, q, prev, limit)));
	return resp_page(r, 200, "patient_list", view);
}
