/* response.c: building and sending the one response of a request (see response.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "credentials.h"
#include "escape.h"
#include "log.h"
#include "response.h"

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Internal Server Error" : "Status";
	}
}

void
resp_header(struct req *r, const char *name, const char *value)
{
	if (strpbrk(value, "\r\n") != NULL) {
		log_msg("%s dropped header %s with a line break", r->request_id, name);
		return;
	}
	buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

static int
has_header(const struct req *r, const char *name)
{
	const char *p = buf_cstr(&r->headers);
	size_t n = strlen(name);

	while (*p) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return 1;
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	return 0;
}

static void
set_body(struct req *r, int status, const char *type, const char *data, size_t len)
{
	r->status = status;
	r->responded = true;
	buf_reset(&r->body);
	buf_append(&r->body, data, len);
	r->content_type = type;
}

enum fv_err
resp_json(struct req *r, int status, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	set_body(r, status, "application/json; charset=utf-8", s, len);
	json_object_put(obj);
	return FV_OK;
}

static const char *
etag_of(struct arena *a, const char *data, size_t len)
{
	unsigned char h[16];
	char hex[33];

	crypto_generichash(h, sizeof(h), (const unsigned char *)data, len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return arena_printf(a, "\"%s\"", hex);
}

const char *
resp_etag_of(struct req *r, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	return etag_of(r->arena, s, len);
}

/* true when the If-None-Match list names etag (or is "*"). Weak tags compare by their opaque part.
 */
static int
etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list;

	while (*p) {
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '*')
			return 1;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

enum fv_err
resp_if_match(struct req *r, const char *if_match, const char *etag, const char *what)
{
	if (if_match == NULL || strcmp(if_match, "*") == 0 || strstr(if_match, etag) != NULL)
		return FV_OK;
	return req_fail(
	    r, FV_EPRECOND,
	    arena_printf(r->arena, "the %s was changed since you read it; reload it and try again",
	                 what));
}

bool
resp_not_modified(struct req *r, struct json_object *obj)
{
	const char *inm = req_param(r, "HTTP_IF_NONE_MATCH");

	return inm && etag_listed(inm, resp_etag_of(r, obj));
}

enum fv_err
resp_json_etag(struct req *r, struct json_object *obj)
{
	const char *inm = req_param(r, "HTTP_IF_NONE_MATCH");
	const char *etag = resp_etag_of(r, obj);

	resp_header(r, "ETag", etag);
	if (inm && etag_listed(inm, etag)) {
		json_object_put(obj);
		return resp_empty(r, 304);
	}
	return resp_json(r, 200, obj);
}

enum fv_err
resp_page(struct req *r, int status, const char *tpl, struct json_object *view)
{
	char err[256];
	struct buf out = {0};
	enum fv_err e = FV_OK;

	json_object_object_add(view, "request_id", json_object_new_string(r->request_id));
	if (r->cred) {
		json_object_object_add(view, "current_user",
		                       json_object_new_string(r->cred->user.name));
		json_object_object_add(view, "is_admin",
		                       json_object_new_boolean(r->cred->user.role == ROLE_ADMIN));
		json_object_object_add(view, "can_write",
		                       json_object_new_boolean(r->cred->user.role != ROLE_VIEWER));
		if (r->cred->kind == CRED_SESSION)
			json_object_object_add(view, "csrf_token",
			                       json_object_new_string(r->cred->csrf));
	}
	if (tpl_render(r->tpl, tpl, view, &out, err, sizeof(err)) != 0) {
		log_msg("%s template %s: %s", r->request_id, tpl, err);
		e = req_fail(r, FV_EINTERNAL, NULL);
	} else {
		set_body(r, status, "text/html; charset=utf-8", out.data, out.len);
	}
	buf_free(&out);
	json_object_put(view);
	return e;
}

enum fv_err
resp_redirect(struct req *r, int status, const char *location)
{
	resp_header(r, "Location", location);
	set_body(r, status, NULL, "", 0);
	return FV_OK;
}

enum fv_err
resp_empty(struct req *r, int status)
{
	set_body(r, status, NULL, "", 0);
	return FV_OK;
}

static void
error_page_fallback(struct req *r, int status, const char *msg)
{
	struct buf b = {0};

	/* The template set itself failed; a minimal page built with the same escaping helper. */
	esc_raw(&b, "<!doctype html><title>Error</title><h1>Error</h1><p>");
	esc_html(&b, msg, strlen(msg));
	esc_raw(&b, "</p>");
	set_body(r, status, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

void
resp_error(struct req *r, enum fv_err e, const char *msg, struct json_object *fields)
{
	int status = fv_err_status(e);
	struct json_object *body, *err;

	/* Internal errors never show their cause; the request id leads to the log line. */
	if (msg == NULL || (e == FV_EINTERNAL && !r->err_public))
		msg = fv_err_message(e);
	/* Headers the handler set for this error (Retry-After, Set-Cookie) stay; the defaults below
	 * only fill in what is missing. */
	if (e == FV_EUNAUTH && !r->page && !has_header(r, "WWW-Authenticate"))
		resp_header(r, "WWW-Authenticate", "Bearer realm=\"fertivision\"");
	if (e == FV_EMETHOD && r->match.allow) {
		char allow[128];
		method_allow_header(r->match.allow, allow, sizeof(allow));
		resp_header(r, "Allow", allow);
	}
	if ((e == FV_ERATELIMIT || e == FV_EUNAVAIL) && !has_header(r, "Retry-After"))
		resp_header(r, "Retry-After", e == FV_EUNAVAIL ? "5" : "60");
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(fv_err_code(e)));
	json_object_object_add(err, "message", json_object_new_string(msg));
	if (fields)
		json_object_object_add(err, "fields", fields);
	body = json_object_new_object();
	json_object_object_add(body, "error", err);
	if (!r->page) {
		resp_json(r, status, body);
		return;
	}
	if (fields) {
		/* Templates cannot walk an object's keys: the page gets the fields as a list. */
		struct json_object *list = json_object_new_array();
		json_object_object_foreach(fields, k, v)
		{
			struct json_object *item = json_object_new_object();
			json_object_object_add(item, "field", json_object_new_string(k));
			json_object_object_add(item, "message", json_object_get(v));
			json_object_array_add(list, item);
		}
		json_object_object_add(body, "field_list", list);
	}
	json_object_object_add(body, "status", json_object_new_int(status));
	json_object_object_add(body, "title", json_object_new_string(status_text(status)));
	if (resp_page(r, status, "error", body) != FV_OK)
		error_page_fallback(r, status, msg);
}

/* Status line and headers; length is the Content-Length to announce (-1 for none). */
static void
write_head(struct req *r, long long length)
{
	FCGX_Stream *out = r->fcgx->out;

	FCGX_FPrintF(out, "Status: %d %s\r\n", r->status, status_text(r->status));
	FCGX_FPrintF(out, "X-Request-Id: %s\r\n", r->request_id);
	/* Every response: no sniffing, no framing, no inline script, no caching of health data. */
	FCGX_PutS("X-Content-Type-Options: nosniff\r\n"
	          "X-Frame-Options: DENY\r\n"
	          "Referrer-Policy: same-origin\r\n"
	          "Content-Security-Policy: default-src 'self'; script-src 'self'; "
	          "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
	          "form-action 'self'; frame-ancestors 'none'\r\n"
	          "Cache-Control: no-store\r\n",
	          out);
	if (length >= 0)
		FCGX_FPrintF(out, "Content-Length: %lld\r\n", length);
	if (r->content_type)
		FCGX_FPrintF(out, "Content-Type: %s\r\n", r->content_type);
	FCGX_PutStr(r->headers.data ? r->headers.data : "", (int)r->headers.len, out);
	FCGX_PutS("\r\n", out);
}

void
resp_stream_begin(struct req *r, int status, const char *content_type, unsigned long long length)
{
	r->status = status;
	r->content_type = content_type;
	r->responded = true;
	r->streamed = true;
	write_head(r, (long long)length);
}

int
resp_stream_write(struct req *r, const void *p, size_t n)
{
	if (strcmp(r->method_name, "HEAD") == 0)
		return 0;
	return FCGX_PutStr(p, (int)n, r->fcgx->out) == (int)n ? 0 : -1;
}

void
resp_send(struct req *r)
{
	if (r->streamed)
		return;
	write_head(r, r->status == 204 || r->status == 304 ? -1 : (long long)r->body.len);
	if (r->body.len && strcmp(r->method_name, "HEAD") != 0)
		FCGX_PutStr(r->body.data, (int)r->body.len, r->fcgx->out);
}
