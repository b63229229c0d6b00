/* request.h: one request's context. Everything it allocates comes from its arena or its response
 * buffers, all released by req_end(); nothing survives into the next request. */
#ifndef FV_REQUEST_H
#define FV_REQUEST_H

#include <stdbool.h>
#include <time.h>
#include <fcgiapp.h>
#include <json-c/json.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "errors.h"
#include "input.h"
#include "router.h"
#include "template.h"

struct credential;

struct req {
	struct arena *arena;
	FCGX_Request *fcgx;
	const struct fv_config *cfg;
	const struct tpl_set *tpl;
	struct timespec start;

	const char *method_name;
	unsigned method; /* M_* bit, 0 when unknown */
	const char *path;
	const char *query;  /* raw query string, "" when none */
	struct kvlist args; /* parsed query */
	const char *request_id;
	const char *remote_addr;
	bool page; /* answer in HTML (else JSON) */
	struct route_match match;
	const char *user;        /* authenticated user name, for the log; NULL when anonymous */
	const char *user_id;     /* and their id, for the audit trail */
	struct credential *cred; /* the session or token used; NULL when anonymous */
	struct kvlist form; /* the urlencoded body of a page POST, parsed before authorization */

	/* Set by a handler before returning an error, read by the dispatcher. */
	const char *err_msg;
	bool err_public; /* err_msg may be shown even for a 500 (it reveals no internals) */
	struct json_object *err_fields;

	/* Response being built. */
	int status;
	const char *content_type; /* NULL: no body */
	struct buf headers;
	struct buf body;
	bool responded;
	bool streamed; /* headers already sent (resp_stream_begin) */
};

/* Prepares r for the request just accepted on fcgx. Parses the query string; returns FV_EINVAL
 * with r->err_msg when it is malformed (the request can still be answered). */
enum fv_err req_begin(struct req *r, FCGX_Request *fcgx, struct arena *a,
                      const struct fv_config *cfg, const struct tpl_set *tpl);
/* Releases everything the request holds (the arena is reset by the caller). */
void req_end(struct req *r);

/* The value of cookie name from the Cookie header (arena copy), or NULL. */
const char *req_cookie(struct req *r, const char *name);
/* A request header by its CGI name ("HTTP_IF_MATCH"), or NULL. */
const char *req_param(const struct req *r, const char *name);
/* The n-th captured path segment. */
const char *req_path_param(const struct req *r, size_t n);

/* Reads the whole body (at most limit bytes) into the arena, NUL-terminated. Errors:
 * FV_ETOOBIG when the declared length exceeds limit, FV_EINVAL when the body is shorter than
 * declared. */
enum fv_err req_read_body(struct req *r, size_t limit, char **data, size_t *len);

/* Parses a JSON object body: FV_EMEDIATYPE unless Content-Type is application/json, FV_ETOOBIG
 * over max_json_body, FV_EINVAL for malformed JSON (r->err_msg says why). *obj is owned by the
 * caller. */
enum fv_err req_json_body(struct req *r, struct json_object **obj);
/* Parses an urlencoded form body into out (same errors, for application/x-www-form-urlencoded). */
enum fv_err req_form_body(struct req *r, struct kvlist *out);

/* Checks that every query parameter is in allowed (NULL-terminated); else FV_EINVAL naming it. */
enum fv_err req_check_args(struct req *r, const char *const *allowed);

/* Sets the error message and a fields entry for the dispatcher; returns FV_EINVAL. */
enum fv_err req_invalid(struct req *r, const char *field, const char *msg);
/* Returns e with r->err_msg set to msg. */
enum fv_err req_fail(struct req *r, enum fv_err e, const char *msg);

#endif
