/* request.c: one request's context (see request.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "request.h"

/* An incoming X-Request-Id is kept when it is 1..64 bytes of [A-Za-z0-9._-]; anything else could
 * forge log lines or headers, so a fresh one is generated instead. */
static int
sane_request_id(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

static const char *
new_request_id(struct arena *a)
{
	unsigned char raw[16];
	char *hex = arena_alloc(a, sizeof(raw) * 2 + 1);

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(raw) * 2 + 1, raw, sizeof(raw));
	return hex;
}

enum fv_err
req_begin(struct req *r, FCGX_Request *fcgx, struct arena *a, const struct fv_config *cfg,
          const struct tpl_set *tpl)
{
	const char *id, *uri, *errmsg;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->arena = a;
	r->fcgx = fcgx;
	r->cfg = cfg;
	r->tpl = tpl;
	r->status = 200;
	r->method_name = req_param(r, "REQUEST_METHOD");
	if (r->method_name == NULL)
		r->method_name = "GET";
	r->method = method_bit(r->method_name);
	/* DOCUMENT_URI is nginx's decoded, normalised path; REQUEST_URI is the fallback for other
	 * servers. */
	uri = req_param(r, "DOCUMENT_URI");
	if (uri == NULL) {
		uri = req_param(r, "REQUEST_URI");
		uri = uri ? arena_strndup(a, uri, strcspn(uri, "?")) : "/";
	}
	r->path = uri[0] ? uri : "/";
	r->query = req_param(r, "QUERY_STRING");
	if (r->query == NULL)
		r->query = "";
	r->remote_addr = req_param(r, "REMOTE_ADDR");
	if (r->remote_addr == NULL)
		r->remote_addr = "-";
	id = req_param(r, "HTTP_X_REQUEST_ID");
	r->request_id = id && sane_request_id(id) ? id : new_request_id(a);
	r->page = strncmp(r->path, "/api/", 5) != 0 && strcmp(r->path, "/api") != 0 &&
	          strcmp(r->path, "/health") != 0 && strcmp(r->path, "/ready") != 0;
	if (form_parse(a, r->query, strlen(r->query), &r->args, &errmsg) != 0)
		return req_fail(r, FV_EINVAL, arena_printf(a, "query string: %s", errmsg));
	return FV_OK;
}

void
req_end(struct req *r)
{
	if (r->err_fields)
		json_object_put(r->err_fields);
	buf_free(&r->headers);
	buf_free(&r->body);
}

const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

const char *
req_cookie(struct req *r, const char *name)
{
	const char *p = req_param(r, "HTTP_COOKIE");
	size_t n = strlen(name);

	while (p && *p) {
		p += strspn(p, " \t;");
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return arena_strndup(r->arena, p + n + 1, strcspn(p + n + 1, ";"));
		p = strchr(p, ';');
	}
	return NULL;
}

const char *
req_path_param(const struct req *r, size_t n)
{
	return n < r->match.nparams ? r->match.params[n] : "";
}

enum fv_err
req_read_body(struct req *r, size_t limit, char **data, size_t *len)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	unsigned long long n = 0;
	char *end, *p;
	int got;

	*data = NULL;
	*len = 0;
	if (cl != NULL && cl[0] != '\0') {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno || *end != '\0' || cl[0] < '0' || cl[0] > '9')
			return req_fail(r, FV_EINVAL, "Content-Length is malformed");
	}
	if (n > limit)
		return req_fail(
		    r, FV_ETOOBIG,
		    arena_printf(r->arena, "request body is larger than %zu bytes", limit));
	p = arena_alloc(r->arena, (size_t)n + 1);
	got = n ? FCGX_GetStr(p, (int)n, r->fcgx->in) : 0;
	if (got < 0 || (unsigned long long)got != n)
		return req_fail(r, FV_EINVAL, "request body is shorter than its Content-Length");
	p[n] = '\0';
	*data = p;
	*len = (size_t)n;
	return FV_OK;
}

/* true when the request's Content-Type is type, ignoring case and parameters. */
static int
content_type_is(const struct req *r, const char *type)
{
	const char *ct = req_param(r, "CONTENT_TYPE");
	size_t n = strlen(type);

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

enum fv_err
req_json_body(struct req *r, struct json_object **obj)
{
	const char *errmsg;
	char *data;
	size_t len;
	enum fv_err e;

	*obj = NULL;
	if (!content_type_is(r, "application/json"))
		return req_fail(r, FV_EMEDIATYPE, "request body must be application/json");
	if ((e = req_read_body(r, r->cfg->max_json_body, &data, &len)) != FV_OK)
		return e;
	*obj = json_parse_object(data, len, &errmsg);
	if (*obj == NULL)
		return req_fail(r, FV_EINVAL, arena_printf(r->arena, "malformed JSON: %s", errmsg));
	return FV_OK;
}

enum fv_err
req_form_body(struct req *r, struct kvlist *out)
{
	const char *errmsg;
	char *data;
	size_t len;
	enum fv_err e;

	memset(out, 0, sizeof(*out));
	if (!content_type_is(r, "application/x-www-form-urlencoded"))
		return req_fail(r, FV_EMEDIATYPE,
		                "form must be sent as application/x-www-form-urlencoded");
	if ((e = req_read_body(r, r->cfg->max_json_body, &data, &len)) != FV_OK)
		return e;
	if (form_parse(r->arena, data, len, out, &errmsg) != 0)
		return req_fail(r, FV_EINVAL, arena_printf(r->arena, "form: %s", errmsg));
	return FV_OK;
}

enum fv_err
req_check_args(struct req *r, const char *const *allowed)
{
	const char *bad = kv_unknown_key(&r->args, allowed);

	if (bad == NULL)
		return FV_OK;
	return req_invalid(r, bad, "is not a known parameter");
}

enum fv_err
req_invalid(struct req *r, const char *field, const char *msg)
{
	if (r->err_fields == NULL)
		r->err_fields = json_object_new_object();
	if (!json_object_object_get_ex(r->err_fields, field, NULL))
		json_object_object_add(r->err_fields, field, json_object_new_string(msg));
	if (r->err_msg == NULL)
		r->err_msg = "some fields are invalid";
	return FV_EINVAL;
}

enum fv_err
req_fail(struct req *r, enum fv_err e, const char *msg)
{
	r->err_msg = msg;
	return e;
}
