/* documents.c: the document resource. An upload is streamed: the multipart parser writes the file
 * part to an anonymous spool file while hashing it, libmagic and the decoders judge the bytes, the
 * storage layer encrypts them under the plaintext's SHA-256, the row is committed "queued" and only
 * then is the job queued. Nothing of a refused upload is kept anywhere. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "fileio.h"
#include "cursor.h"
#include "db.h"
#include "documents.h"
#include "escape.h"
#include "filetype.h"
#include "log.h"
#include "multipart.h"
#include "queue.h"
#include "response.h"
#include "sha256.h"
#include "storage.h"

#define READ_CHUNK 65536
/* Room for the multipart framing and the small fields around a file of max_body bytes; the web
 * server's client_max_body_size is max_body plus this, so both refuse the same uploads. */
#define MULTIPART_SLACK (1024 * 1024)
#define FIELD_MAX 64
#define PAGE_DEFAULT 20
#define PAGE_MAX 100

static struct storage *storage;

static const char *const doc_types[] = {"lab_report",       "hormone_panel",      "semen_analysis",
                                        "ultrasound_image", "microscopy_image",   "medical_report",
                                        "prescription",     "consultation_notes", "surgical_report",
                                        "imaging_study",    "pathology_report",   NULL};

#define DOC_JSON "json_build_object(" DOCUMENT_FIELDS ", 'analysis', d.analysis)::text"
#define DOC_SUMMARY "json_build_object(" DOCUMENT_FIELDS ")::text"
/* A document is reachable only through a live patient. */
#define DOC_LIVE                                                                                   \
	" FROM documents d JOIN patients p ON p.id = d.patient_id"                                 \
	" WHERE d.archived_at IS NULL AND p.archived_at IS NULL"

static const struct db_stmt stmts[] = {
    {"doc_patient_live", "SELECT 1 FROM patients WHERE id = $1 AND archived_at IS NULL", 1},
    {"doc_insert",
     "INSERT INTO documents (patient_id, document_type, filename, content_type, size, sha256,"
     " storage_key_id, uploaded_by, uploaded_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
     " RETURNING id",
     9},
    {"doc_set_key", "UPDATE documents SET storage_key_id = $2 WHERE id = $1", 2},
    {"doc_get",
     "SELECT " DOC_JSON ", d.sha256, d.content_type, d.filename, d.size, d.patient_id" DOC_LIVE
     " AND d.id = $1",
     1},
    {"doc_list",
     "SELECT " DOC_SUMMARY ", (extract(epoch from d.uploaded_at) * 1000000)::bigint, d.id" DOC_LIVE
     " AND d.patient_id = $1 AND (d.uploaded_at, d.id) < ($2::timestamptz, $3::uuid)"
     " ORDER BY d.uploaded_at DESC, d.id DESC LIMIT $4",
     4},
    {"doc_reanalyze",
     "UPDATE documents SET status = 'queued', queued_at = clock_timestamp(), attempts = 0,"
     " error = NULL, updated_at = now() WHERE id = $1 AND archived_at IS NULL RETURNING id",
     1},
    {"doc_archive",
     "UPDATE documents SET archived_at = now(), updated_at = now()"
     " WHERE id = $1 AND archived_at IS NULL RETURNING id",
     1},
    {"doc_archive_patient",
     "UPDATE documents SET archived_at = now(), updated_at = now()"
     " WHERE patient_id = $1 AND archived_at IS NULL",
     1},
};

void
documents_init(struct storage *st)
{
	storage = st;
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

/* Rows whose first column is JSON text, as an array. */
static struct json_object *
json_column(PGresult *res, int n)
{
	struct json_object *a = json_object_new_array_ext(n);
	int i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_tokener_parse(PQgetvalue(res, i, 0)));
	return a;
}

enum fv_err
documents_archive_of_patient(const char *patient_id)
{
	const char *params[1] = {patient_id};
	PGresult *res;
	enum fv_err e;

	if ((e = db_exec("doc_archive_patient", 1, params, &res)) != FV_OK)
		return e;
	PQclear(res);
	return FV_OK;
}

static enum fv_err
id_or_404(struct req *r, char id[37], const char *what)
{
	if (v_uuid(req_path_param(r, 0), id) != NULL)
		return req_fail(r, FV_ENOTFOUND, arena_printf(r->arena, "%s not found", what));
	return FV_OK;
}

static enum fv_err
patient_live_or_404(struct req *r, const char *id)
{
	const char *params[1] = {id};
	PGresult *res;
	enum fv_err e;
	int found;

	if ((e = db_exec("doc_patient_live", 1, params, &res)) != FV_OK)
		return e;
	found = PQntuples(res) == 1;
	PQclear(res);
	return found ? FV_OK : req_fail(r, FV_ENOTFOUND, "patient not found");
}

/* One live document; *res (caller clears) has the columns of "doc_get". */
static enum fv_err
load_document(struct req *r, const char *id, PGresult **res)
{
	const char *params[1] = {id};
	enum fv_err e;

	if ((e = db_exec("doc_get", 1, params, res)) != FV_OK)
		return e;
	if (PQntuples(*res) != 1) {
		PQclear(*res);
		*res = NULL;
		return req_fail(r, FV_ENOTFOUND, "document not found");
	}
	return FV_OK;
}

/* ---- upload ---- */

enum field { F_NONE, F_FILE, F_TYPE, F_CSRF };

struct upload {
	struct req *r;
	struct mp *mp;
	int fd;
	fv_sha256_state sha;
	unsigned long long size, limit;
	enum field field;
	char value[FIELD_MAX + 1];
	size_t value_len;
	int files;
	bool csrf_ok;
	const char *filename, *document_type;
	enum fv_err err; /* why a callback stopped the parse */
};

static int
refuse(struct upload *u, enum fv_err e, const char *msg)
{
	u->err = e;
	mp_abort(u->mp, msg);
	return -1;
}

static int
on_part_begin(void *arg, const struct mp_part *part)
{
	struct upload *u = arg;

	u->value_len = 0;
	if (strcmp(part->name, "file") == 0) {
		if (++u->files > 1)
			return refuse(u, FV_EINVAL, "send one file per upload");
		if (part->filename == NULL || part->filename[0] == '\0')
			return refuse(u, FV_EINVAL, "no file was chosen");
		u->filename = mp_sanitize_filename(u->r->arena, part->filename);
		if (u->filename == NULL)
			return refuse(
			    u, FV_EINVAL,
			    "the file name is not usable: it must be valid UTF-8 and name a "
			    "file, not a folder");
		/* The form's token comes before the file, so a forged upload is refused before
		 * a byte of it is spooled. */
		if (!u->csrf_ok)
			return refuse(u, FV_EFORBIDDEN, auth_csrf_message());
		u->field = F_FILE;
	} else if (strcmp(part->name, "document_type") == 0) {
		if (u->document_type != NULL)
			return refuse(u, FV_EINVAL, "document_type is given twice");
		u->field = F_TYPE;
	} else if (strcmp(part->name, "csrf_token") == 0) {
		u->field = F_CSRF;
	} else {
		return refuse(u, FV_EINVAL,
		              arena_printf(u->r->arena, "unknown form field '%.64s'", part->name));
	}
	return 0;
}

static int
on_part_data(void *arg, const char *p, size_t n)
{
	struct upload *u = arg;

	if (u->field != F_FILE) {
		if (memchr(p, '\0', n) != NULL)
			return refuse(u, FV_EINVAL, "form fields must not contain NUL characters");
		if (u->value_len + n > FIELD_MAX)
			return refuse(u, FV_EINVAL, "a form field is too long");
		memcpy(u->value + u->value_len, p, n);
		u->value_len += n;
		return 0;
	}
	u->size += n;
	if (u->size > u->limit)
		return refuse(
		    u, FV_ETOOBIG,
		    arena_printf(u->r->arena, "the file is larger than %llu MiB", u->limit >> 20));
	if (fd_write_all(u->fd, p, n) != 0) {
		log_msg("%s upload: spool write failed: %s", u->r->request_id, strerror(errno));
		return refuse(u, FV_EUNAVAIL, "the upload could not be stored; try again");
	}
	fv_sha256_update(&u->sha, (const unsigned char *)p, n);
	return 0;
}

static int
on_part_end(void *arg)
{
	struct upload *u = arg;

	u->value[u->value_len] = '\0';
	if (u->field == F_TYPE)
		u->document_type = arena_strdup(u->r->arena, u->value);
	else if (u->field == F_CSRF)
		u->csrf_ok = u->csrf_ok || auth_csrf_ok(u->r, u->value);
	u->field = F_NONE;
	return 0;
}

/* Streams the request body through the parser into the spool file. */
static enum fv_err
receive(struct req *r, struct upload *u)
{
	const char *ct = req_param(r, "CONTENT_TYPE"), *cl = req_param(r, "CONTENT_LENGTH"), *msg;
	static const struct mp_callbacks cb = {on_part_begin, on_part_data, on_part_end};
	char boundary[MP_BOUNDARY_MAX + 1], *chunk;
	unsigned long long left;
	int rc = MP_OK;

	if (mp_boundary(ct ? ct : "", boundary, sizeof(boundary), &msg) != 0)
		return req_fail(r,
		                ct && strncasecmp(ct, "multipart/form-data", 19) == 0
		                    ? FV_EINVAL
		                    : FV_EMEDIATYPE,
		                msg);
	if (v_int(cl ? cl : "0", 0, 0x7fffffffffffffffLL, (long long *)&left) != NULL)
		return req_fail(r, FV_EINVAL, "Content-Length is malformed");
	if (left > u->limit + MULTIPART_SLACK)
		return req_fail(
		    r, FV_ETOOBIG,
		    arena_printf(r->arena, "the upload is larger than %llu MiB", u->limit >> 20));
	if ((u->mp = mp_new(boundary, NULL, &cb, u)) == NULL)
		return req_fail(r, FV_EINVAL, "the multipart boundary is invalid");
	chunk = arena_alloc(r->arena, READ_CHUNK);
	while (left > 0 && rc == MP_OK) {
		int want = left < READ_CHUNK ? (int)left : READ_CHUNK;
		int got = FCGX_GetStr(chunk, want, r->fcgx->in);

		if (got <= 0)
			break; /* cut off: mp_finish says so */
		left -= (unsigned long long)got;
		rc = mp_feed(u->mp, chunk, (size_t)got);
	}
	if (rc == MP_OK)
		rc = mp_finish(u->mp);
	if (rc == MP_EABORT)
		return req_fail(r, u->err ? u->err : FV_EINVAL,
		                arena_strdup(r->arena, mp_error(u->mp)));
	if (rc != MP_OK)
		return req_fail(r, FV_EINVAL, arena_strdup(r->arena, mp_error(u->mp)));
	if (u->files == 0)
		req_invalid(r, "file", "is required: send the document as the form field 'file'");
	if (u->document_type == NULL)
		req_invalid(r, "document_type", "is required");
	else if ((msg = v_enum(u->document_type, doc_types)) != NULL)
		req_invalid(r, "document_type", msg);
	return r->err_fields ? FV_EINVAL : FV_OK;
}

/* The document's JSON by id (after commit). */
static enum fv_err
document_view(struct req *r, const char *id, struct json_object **view)
{
	PGresult *res;
	enum fv_err e;

	if ((e = load_document(r, id, &res)) != FV_OK)
		return e;
	*view = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	return FV_OK;
}

enum fv_err
documents_upload(struct req *r)
{
	struct upload u = {.r = r, .fd = -1, .limit = r->cfg->max_body};
	unsigned char digest[crypto_hash_sha256_BYTES];
	char pid[37], sha[65], key_id[16], size[24], spool[64], *doc_id = NULL;
	const char *mime, *msg, *params[9];
	struct json_object *view;
	PGresult *res;
	bool existed;
	enum fv_err e;

	if ((e = id_or_404(r, pid, "patient")) != FV_OK ||
	    (e = patient_live_or_404(r, pid)) != FV_OK)
		return e;
	u.csrf_ok = auth_csrf_ok(r, NULL);
	/* An anonymous spool file: a crash or a refused upload leaves nothing on disk. */
	u.fd = open(r->cfg->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (u.fd < 0) {
		log_msg("%s upload: spool %s: %s", r->request_id, r->cfg->spool_dir,
		        strerror(errno));
		return FV_EUNAVAIL;
	}
	fv_sha256_init(&u.sha);
	if ((e = receive(r, &u)) != FV_OK)
		goto out;
	if (u.size == 0) {
		e = req_invalid(r, "file", "is empty");
		goto out;
	}
	snprintf(spool, sizeof(spool), "/proc/self/fd/%d", u.fd);
	if ((e = filetype_check(spool, (size_t)u.size, &mime, &msg)) != FV_OK) {
		if (e == FV_EINTERNAL)
			log_msg("%s upload: content check failed: %s", r->request_id, msg);
		e = req_fail(r, e, msg); /* resp_error hides the message of an internal error */
		goto out;
	}
	fv_sha256_final(&u.sha, digest);
	sodium_bin2hex(sha, sizeof(sha), digest, sizeof(digest));
	snprintf(size, sizeof(size), "%llu", u.size);
	params[0] = pid;
	params[1] = u.document_type;
	params[2] = u.filename;
	params[3] = mime;
	params[4] = size;
	params[5] = sha;
	params[6] = storage_current_key(storage);
	params[7] = r->user;
	params[8] = r->user_id;
	if ((e = db_exec("doc_insert", 9, params, &res)) != FV_OK)
		goto out;
	doc_id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	PQclear(res);
	/* The row goes in first (uncommitted): a database that refuses it stops the upload before
	 * anything is stored. An object that already existed keeps the key it was sealed with. */
	if ((e = storage_put(storage, sha, spool, key_id, &existed)) != FV_OK)
		goto out;
	if (strcmp(key_id, params[6]) != 0) {
		const char *kp[2] = {doc_id, key_id};

		if ((e = db_exec("doc_set_key", 2, kp, &res)) != FV_OK)
			goto out;
		PQclear(res);
	}
	/* Committed before the job is queued: a worker must find the row. */
	if ((e = auth_audit(r, "document.upload", "document", doc_id, "success")) != FV_OK ||
	    (e = db_commit()) != FV_OK)
		goto out;
	/* The answer shows the document as committed ("queued"): read it before a worker can take
	 * the job. */
	if (!r->page && (e = document_view(r, doc_id, &view)) != FV_OK)
		goto out;
	queue_push(doc_id);
	if (r->page) {
		e = resp_redirect(r, 303, arena_printf(r->arena, "/patients/%s", pid));
		goto out;
	}
	resp_header(r, "Location", arena_printf(r->arena, "/api/v1/documents/%s", doc_id));
	e = resp_json(r, 202, view);
out:
	mp_free(u.mp);
	close(u.fd);
	return e;
}

/* ---- reading ---- */

enum fv_err
documents_list(struct req *r)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	const char *lim = kv_get(&r->args, "limit"), *cur = kv_get(&r->args, "cursor"),
	           *next = NULL;
	struct cursor c = {.micros = -1};
	struct json_object *view;
	long long limit = PAGE_DEFAULT;
	const char *params[4], *msg;
	PGresult *res;
	char pid[37];
	enum fv_err e;
	int n;

	if ((e = id_or_404(r, pid, "patient")) != FV_OK ||
	    (e = req_check_args(r, allowed)) != FV_OK)
		return e;
	if (lim && (msg = v_int(lim, 1, PAGE_MAX, &limit)) != NULL)
		req_invalid(r, "limit", msg);
	if (cur && cur[0] && (cursor_decode(cur, &c) != 0 || c.backward))
		req_invalid(r, "cursor",
		            "is not a cursor this server issued; start from the first page");
	if (r->err_fields)
		return FV_EINVAL;
	if ((e = patient_live_or_404(r, pid)) != FV_OK ||
	    (e = auth_audit(r, "document.list", "patient", pid, "success")) != FV_OK)
		return e;
	params[0] = pid;
	cursor_params(r->arena, &c, &params[1], &params[2]);
	params[3] = arena_printf(r->arena, "%lld", limit + 1);
	if ((e = db_exec("doc_list", 4, params, &res)) != FV_OK)
		return e;
	n = PQntuples(res);
	if (n > limit) {
		struct cursor nc = {.backward = false};

		n = (int)limit;
		nc.micros = strtoll(PQgetvalue(res, n - 1, 1), NULL, 10);
		snprintf(nc.id, sizeof(nc.id), "%s", PQgetvalue(res, n - 1, 2));
		next = cursor_encode(r->arena, &nc);
	}
	view = json_object_new_object();
	json_object_object_add(view, "items", json_column(res, n));
	json_object_object_add(view, "next_cursor", next ? json_object_new_string(next) : NULL);
	PQclear(res);
	return resp_json(r, 200, view);
}

/* ---- the HTML document page ----
 * The page's view model: the document as the API gives it, plus "result" (the analysis with its
 * numbers and words made ready for display), "pending" and "failed". Only words and numbers are
 * prepared here; every byte of HTML comes from the template, which escapes them. */

/* Canonical keys in words, in the order the page lists them (docs/api.md). */
static const struct {
	const char *key, *name;
} value_names[] = {
    {"amh", "AMH"},
    {"fsh", "FSH"},
    {"lh", "LH"},
    {"estradiol", "Estradiol (E2)"},
    {"progesterone", "Progesterone"},
    {"prolactin", "Prolactin"},
    {"tsh", "TSH"},
    {"testosterone", "Testosterone"},
    {"afc", "Antral follicle count"},
    {"endometrial_thickness", "Endometrial thickness"},
    {"semen_volume", "Semen volume"},
    {"semen_ph", "Semen pH"},
    {"sperm_concentration", "Sperm concentration"},
    {"total_sperm_count", "Total sperm count"},
    {"total_motility", "Total motility"},
    {"progressive_motility", "Progressive motility"},
    {"normal_morphology", "Normal morphology"},
    {"vitality", "Vitality"},
};

#define N_VALUE_NAMES (sizeof(value_names) / sizeof(value_names[0]))

static bool
is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

static const char *
str_or_null(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

static struct json_object *
new_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* A number as a person writes it: at most 2 decimals, no trailing zeros ("1.2", "4", "0.03"). */
static void
put_number(char *out, size_t len, struct json_object *v)
{
	char *end;

	if (json_object_is_type(v, json_type_int)) {
		snprintf(out, len, "%lld", (long long)json_object_get_int64(v));
		return;
	}
	snprintf(out, len, "%.2f", json_object_get_double(v));
	if (strchr(out, '.') == NULL)
		return;
	end = out + strlen(out) - 1;
	while (*end == '0')
		*end-- = '\0';
	if (*end == '.')
		*end = '\0';
}

/* "ovarian_function" -> "Ovarian function". */
static struct json_object *
words(const char *key)
{
	struct json_object *o;
	char *s = strdup(key);
	size_t i;

	if (s == NULL)
		abort(); /* out of memory: see arena.h */
	for (i = 0; s[i]; i++)
		if (s[i] == '_')
			s[i] = ' ';
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* One row of the values table. Every key is set (null when absent), so that the template never
 * finds a name of an outer context instead. */
static struct json_object *
value_row(const char *key, const char *name, struct json_object *v)
{
	struct json_object *row = json_object_new_object(), *x, *orig;
	const char *q = str_or_null(v, "qualifier"), *flag = str_or_null(v, "flag");
	char num[64], text[96];

	json_object_object_add(row, "key", json_object_new_string(key));
	json_object_object_add(row, "name", name ? json_object_new_string(name) : words(key));
	text[0] = '\0';
	if (json_object_object_get_ex(v, "value", &x) && is_number(x)) {
		put_number(num, sizeof(num), x);
		snprintf(text, sizeof(text), "%s%s",
		         q && (strcmp(q, "<") == 0 || strcmp(q, ">") == 0) ? q : "", num);
	}
	json_object_object_add(row, "value", new_str_or_null(text));
	json_object_object_add(row, "unit", new_str_or_null(str_or_null(v, "unit")));
	/* Only the three flags of the contract become a badge (and a class name). */
	if (flag && strcmp(flag, "low") != 0 && strcmp(flag, "normal") != 0 &&
	    strcmp(flag, "high") != 0)
		flag = NULL;
	json_object_object_add(row, "flag", new_str_or_null(flag));
	text[0] = '\0';
	if (json_object_object_get_ex(v, "original", &orig) &&
	    json_object_object_get_ex(orig, "value", &x) && is_number(x)) {
		const char *u = str_or_null(orig, "unit");

		put_number(num, sizeof(num), x);
		snprintf(text, sizeof(text), "%s%s%.32s", num, u ? " " : "", u ? u : "");
	}
	json_object_object_add(row, "original", new_str_or_null(text));
	json_object_object_add(row, "source_text", new_str_or_null(str_or_null(v, "source_text")));
	return row;
}

static struct json_object *
value_rows(struct json_object *values)
{
	struct json_object *rows = json_object_new_array(), *v;
	size_t i;

	if (!json_object_is_type(values, json_type_object))
		return rows;
	for (i = 0; i < N_VALUE_NAMES; i++)
		if (json_object_object_get_ex(values, value_names[i].key, &v) &&
		    json_object_is_type(v, json_type_object))
			json_object_array_add(
			    rows, value_row(value_names[i].key, value_names[i].name, v));
	/* Keys this page does not know yet still show, after the known ones. */
	json_object_object_foreach(values, key, val)
	{
		for (i = 0; i < N_VALUE_NAMES; i++)
			if (strcmp(key, value_names[i].key) == 0)
				break;
		if (i == N_VALUE_NAMES && json_object_is_type(val, json_type_object))
			json_object_array_add(rows, value_row(key, NULL, val));
	}
	return rows;
}

/* Strings of an array, skipping anything else. */
static struct json_object *
string_list(struct json_object *a, bool in_words)
{
	struct json_object *out = json_object_new_array();
	size_t i, n;

	if (!json_object_is_type(a, json_type_array))
		return out;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		if (json_object_is_type(s, json_type_string) && json_object_get_string_len(s) > 0)
			json_object_array_add(
			    out, in_words ? words(json_object_get_string(s))
			                  : json_object_new_string(json_object_get_string(s)));
	}
	return out;
}

/* The analysis made ready for the page (see the section comment). */
static struct json_object *
result_view(struct json_object *a, bool stale)
{
	struct json_object *res = json_object_new_object(), *v, *rows;
	const char *analyzer = str_or_null(a, "analyzer"), *model = str_or_null(a, "llm_model");
	char s[160];

	json_object_object_get_ex(a, "values", &v);
	rows = value_rows(v);
	json_object_object_add(res, "has_values",
	                       json_object_new_boolean(json_object_array_length(rows) > 0));
	json_object_object_add(res, "values", rows);
	json_object_object_get_ex(a, "key_findings", &v);
	json_object_object_add(res, "key_findings", string_list(v, false));
	json_object_object_get_ex(a, "fertility_domains", &v);
	json_object_object_add(res, "domains", string_list(v, true));
	json_object_object_add(res, "summary", new_str_or_null(str_or_null(a, "summary")));
	s[0] = '\0';
	if (json_object_object_get_ex(a, "confidence", &v) && is_number(v)) {
		double c = json_object_get_double(v);

		snprintf(s, sizeof(s), "%.0f%%", c < 0 ? 0 : c > 1 ? 100 : c * 100);
	}
	json_object_object_add(res, "confidence", new_str_or_null(s));
	s[0] = '\0';
	if (analyzer && strcmp(analyzer, "builtin") == 0)
		snprintf(s, sizeof(s), "Built-in analyzer");
	else if (analyzer && strcmp(analyzer, "ollama") == 0)
		snprintf(s, sizeof(s), "Built-in values; findings and summary by Ollama%s%.64s%s",
		         model ? " (" : "", model ? model : "", model ? ")" : "");
	else if (analyzer)
		snprintf(s, sizeof(s), "%.64s", analyzer);
	json_object_object_add(res, "analyzer", new_str_or_null(s));
	s[0] = '\0';
	if (json_object_object_get_ex(a, "processing_ms", &v) && is_number(v))
		snprintf(s, sizeof(s), "%lld ms", (long long)json_object_get_int64(v));
	json_object_object_add(res, "processing_time", new_str_or_null(s));
	s[0] = '\0';
	if (json_object_object_get_ex(a, "text_chars", &v) && is_number(v))
		snprintf(s, sizeof(s), "%lld", (long long)json_object_get_int64(v));
	json_object_object_add(res, "text_chars", new_str_or_null(s));
	json_object_object_add(res, "analyzed_at", new_str_or_null(str_or_null(a, "analyzed_at")));
	json_object_object_add(res, "stale", json_object_new_boolean(stale));
	return res;
}

/* Adds "result", "pending" and "failed" for document doc to the page's view. */
static void
page_view(struct json_object *view, struct json_object *doc)
{
	const char *status = str_or_null(doc, "status");
	struct json_object *a;
	bool analyzed = status && strcmp(status, "analyzed") == 0,
	     pending =
	         status && (strcmp(status, "queued") == 0 || strcmp(status, "processing") == 0);

	json_object_object_add(view, "pending", json_object_new_boolean(pending));
	json_object_object_add(view, "failed",
	                       json_object_new_boolean(status && strcmp(status, "failed") == 0));
	/* A document queued again keeps its earlier analysis until the new one is in. */
	if (json_object_object_get_ex(doc, "analysis", &a) &&
	    json_object_is_type(a, json_type_object))
		json_object_object_add(view, "result", result_view(a, !analyzed));
	else
		json_object_object_add(view, "result", NULL);
}

enum fv_err
documents_show(struct req *r)
{
	struct json_object *doc, *view;
	char id[37];
	enum fv_err e;

	if ((e = id_or_404(r, id, "document")) != FV_OK ||
	    (e = document_view(r, id, &doc)) != FV_OK)
		return e;
	/* A 304 tells a client that what it holds is current and discloses nothing: not an access
	 * to audit (the pages' live status asks every 2 s with the ETag it was given). */
	if (!r->page && resp_not_modified(r, doc))
		return resp_json_etag(r, doc);
	if ((e = auth_audit(r, "document.read", "document", id, "success")) != FV_OK) {
		json_object_put(doc);
		return e;
	}
	if (!r->page)
		return resp_json_etag(r, doc);
	view = json_object_new_object();
	json_object_object_add(view, "title", json_object_new_string("Document"));
	json_object_object_add(view, "document", doc);
	page_view(view, doc);
	return resp_page(r, 200, "document_show", view);
}

/* ---- download ---- */

struct range {
	unsigned long long start, len;
	bool partial;
};

/* Parses one "bytes=" range against size. Returns 0 (r->partial false when the header is absent,
 * not "bytes=", or names several ranges: the whole document is sent), or -1 when the range cannot
 * be satisfied (416). */
static int
parse_range(const char *h, unsigned long long size, struct range *rg)
{
	long long a = -1, b = -1;
	const char *dash;

	rg->start = 0;
	rg->len = size;
	rg->partial = false;
	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	h += 6;
	if ((dash = strchr(h, '-')) == NULL)
		return 0;
	char *first = strndup(h, (size_t)(dash - h));
	if (first == NULL)
		return 0;
	if (first[0] && v_int(first, 0, 0x7fffffffffffffffLL, &a) != NULL) {
		free(first);
		return 0;
	}
	free(first);
	if (dash[1] && v_int(dash + 1, 0, 0x7fffffffffffffffLL, &b) != NULL)
		return 0;
	if (a < 0 && b < 0)
		return 0;
	if (a < 0) { /* the last b bytes */
		if (b == 0)
			return -1;
		rg->start = (unsigned long long)b >= size ? 0 : size - (unsigned long long)b;
	} else {
		if ((unsigned long long)a >= size || (b >= 0 && b < a))
			return (unsigned long long)a >= size ? -1 : 0;
		rg->start = (unsigned long long)a;
		if (b >= 0 && (unsigned long long)b < size - 1)
			size = (unsigned long long)b + 1;
	}
	rg->len = size - rg->start;
	rg->partial = true;
	return 0;
}

/* "attachment; filename="x.pdf"; filename*=UTF-8''x.pdf": a plain ASCII fallback and the exact
 * name percent-encoded (RFC 6266). */
static const char *
disposition(struct req *r, const char *name)
{
	struct buf b = {0};
	const char *out, *p;

	buf_puts(&b, "attachment; filename=\"");
	for (p = name; *p; p++)
		buf_putc(&b, (*p & 0x80) || *p == '"' || *p == '\\' || *p < 0x20 ? '_' : *p);
	buf_puts(&b, "\"; filename*=UTF-8''");
	esc_url(&b, name, strlen(name));
	out = arena_strdup(r->arena, buf_cstr(&b));
	buf_free(&b);
	return out;
}

struct download {
	struct req *r;
	const char *type;
	unsigned long long length;
	int status;
	bool begun;
};

/* Headers go out with the first verified bytes, so a document that fails its check before any
 * byte is answered with a proper error instead of a cut-off body. */
static int
download_sink(void *arg, const void *p, size_t n)
{
	struct download *d = arg;

	if (!d->begun) {
		resp_stream_begin(d->r, d->status, d->type, d->length);
		d->begun = true;
	}
	return resp_stream_write(d->r, p, n);
}

enum fv_err
documents_content(struct req *r)
{
	struct download d = {.r = r};
	struct range rg;
	const char *sha, *msg = NULL;
	unsigned long long size;
	PGresult *res;
	char id[37];
	enum fv_err e;

	if ((e = id_or_404(r, id, "document")) != FV_OK ||
	    (e = load_document(r, id, &res)) != FV_OK)
		return e;
	sha = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
	d.type = strcmp(PQgetvalue(res, 0, 2), "text/plain") == 0
	             ? "text/plain; charset=utf-8"
	             : arena_strdup(r->arena, PQgetvalue(res, 0, 2));
	resp_header(r, "Content-Disposition", disposition(r, PQgetvalue(res, 0, 3)));
	size = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	resp_header(r, "Accept-Ranges", "bytes");
	if (parse_range(req_param(r, "HTTP_RANGE"), size, &rg) != 0) {
		resp_header(r, "Content-Range", arena_printf(r->arena, "bytes */%llu", size));
		return req_fail(r, FV_ERANGE, "the requested range is outside the document");
	}
	if (rg.partial)
		resp_header(r, "Content-Range",
		            arena_printf(r->arena, "bytes %llu-%llu/%llu", rg.start,
		                         rg.start + rg.len - 1, size));
	d.status = rg.partial ? 206 : 200;
	d.length = rg.len;
	/* The access is on record before a byte leaves. */
	if ((e = auth_audit(r, "document.download", "document", id, "success")) != FV_OK ||
	    (e = db_commit()) != FV_OK)
		return e;
	e = storage_get(storage, sha, rg.start, rg.len, download_sink, &d, &msg);
	if (e == FV_OK && !d.begun)
		download_sink(&d, "", 0); /* an empty range still gets its headers */
	if (e != FV_OK && d.begun) {
		log_msg("%s download of document %s stopped: %s", r->request_id, id,
		        msg ? msg : fv_err_message(e));
		return FV_OK; /* the body is cut off; the web server tells the client */
	}
	if (e != FV_OK) {
		/* A missing object is data lost on the server, not an unknown document. */
		if (e == FV_ENOTFOUND) {
			e = FV_EINTERNAL;
			msg = "the stored document is missing; the administrator has been told";
		}
		log_msg("%s download of document %s refused: %s", r->request_id, id,
		        msg ? msg : fv_err_message(e));
		if (db_begin() == FV_OK) {
			auth_audit(r, "document.download", "document", id, "failure");
			db_commit();
		}
		r->err_public = msg != NULL;
		return req_fail(r, e, msg);
	}
	return FV_OK;
}

/* ---- changes ---- */

static enum fv_err
change(struct req *r, const char *stmt, const char *action, int status)
{
	const char *params[1];
	PGresult *res;
	char id[37], *pid;
	enum fv_err e;

	if ((e = id_or_404(r, id, "document")) != FV_OK ||
	    (e = load_document(r, id, &res)) != FV_OK)
		return e;
	pid = arena_strdup(r->arena, PQgetvalue(res, 0, 5));
	if (!r->page) {
		struct json_object *doc = json_tokener_parse(PQgetvalue(res, 0, 0));

		e = resp_if_match(r, req_param(r, "HTTP_IF_MATCH"), resp_etag_of(r, doc),
		                  "document");
		json_object_put(doc);
	}
	PQclear(res);
	if (e != FV_OK)
		return e;
	params[0] = id;
	if ((e = db_exec(stmt, 1, params, &res)) != FV_OK)
		return e;
	PQclear(res);
	if ((e = auth_audit(r, action, "document", id, "success")) != FV_OK)
		return e;
	if (strcmp(action, "document.reanalyze") == 0) {
		if ((e = db_commit()) != FV_OK)
			return e;
		queue_push(id);
	}
	if (r->page)
		return resp_redirect(
		    r, 303,
		    arena_printf(r->arena,
		                 strcmp(action, "document.archive") == 0 ? "/patients/%s"
		                                                         : "/documents/%s",
		                 strcmp(action, "document.archive") == 0 ? pid : id));
	if (status == 204)
		return resp_empty(r, 204);
	struct json_object *view = json_object_new_object();
	json_object_object_add(view, "id", json_object_new_string(id));
	json_object_object_add(view, "status", json_object_new_string("queued"));
	return resp_json(r, status, view);
}

enum fv_err
documents_reanalyze(struct req *r)
{
	return change(r, "doc_reanalyze", "document.reanalyze", 202);
}

enum fv_err
documents_archive(struct req *r)
{
	return change(r, "doc_archive", "document.archive", 204);
}
