/* response.h: building and sending the one response of a request. A handler calls exactly one of
 * the resp_* producers (or returns an error for the dispatcher to answer with resp_error());
 * resp_send() writes it out with the headers every response carries. */
#ifndef FV_RESPONSE_H
#define FV_RESPONSE_H

#include <stdbool.h>
#include <json-c/json.h>
#include "request.h"

/* Adds a header; the value must not contain CR or LF (such a header is dropped and logged). */
void resp_header(struct req *r, const char *name, const char *value);

/* JSON body from obj (consumed: json_object_put is called). */
enum fv_err resp_json(struct req *r, int status, struct json_object *obj);
/* Like resp_json with status 200, an ETag computed from the body, and 304 when the request's
 * If-None-Match matches it. */
enum fv_err resp_json_etag(struct req *r, struct json_object *obj);
/* The ETag ("\"<hex>\"") resp_json_etag() would send for obj. Arena-allocated. */
const char *resp_etag_of(struct req *r, struct json_object *obj);
/* True when resp_json_etag() would answer 304 (the client already holds obj). */
bool resp_not_modified(struct req *r, struct json_object *obj);
/* FV_OK when if_match (the client's If-Match, or a form's etag; NULL = none) is absent, "*" or
 * names etag; else FV_EPRECOND with "the <what> was changed since you read it ...". */
enum fv_err resp_if_match(struct req *r, const char *if_match, const char *etag, const char *what);
/* An HTML page rendered from template with view (consumed). Adds "request_id" to the view. */
enum fv_err resp_page(struct req *r, int status, const char *tpl, struct json_object *view);
/* 303 See Other (or other 3xx) to a local path. */
enum fv_err resp_redirect(struct req *r, int status, const char *location);
/* A response without a body (204, 304). */
enum fv_err resp_empty(struct req *r, int status);
/* The contract's error, as JSON or as the HTML error page depending on r->page. msg may be NULL
 * (the error's default message); fields (consumed) may be NULL. */
void resp_error(struct req *r, enum fv_err e, const char *msg, struct json_object *fields);

/* A response whose body is written as it is produced (downloads): status and headers go out now,
 * the body follows through resp_stream_write() (which fails when the client is gone). After this
 * no error can be answered any more; a failure mid-body is ended by ending the request, which the
 * web server reports to the client as a cut-off response, never as complete. */
void resp_stream_begin(struct req *r, int status, const char *content_type,
                       unsigned long long length);
int resp_stream_write(struct req *r, const void *p, size_t n);

/* Writes status, headers and body to the FastCGI stream (nothing for a streamed response). */
void resp_send(struct req *r);

#endif
