/* errors.c: the table of errors: HTTP status, contract code and default message. */
#include "errors.h"

static const struct {
	int status;
	const char *code;
	const char *message;
} table[FV_ERR_COUNT] = {
    [FV_OK] = {200, "ok", "ok"},
    [FV_EINVAL] = {400, "invalid", "the request is invalid"},
    [FV_EUNAUTH] = {401, "unauthorized", "authentication required"},
    [FV_EFORBIDDEN] = {403, "forbidden", "you are not allowed to do this"},
    [FV_ENOTFOUND] = {404, "not_found", "not found"},
    [FV_EMETHOD] = {405, "method_not_allowed", "method not allowed for this resource"},
    [FV_ECONFLICT] = {409, "conflict", "the request conflicts with the current state"},
    [FV_EPRECOND] = {412, "precondition_failed",
                     "the resource has changed since you read it; reload and try again"},
    [FV_ETOOBIG] = {413, "payload_too_large", "request body is too large"},
    [FV_EMEDIATYPE] = {415, "unsupported_media_type", "unsupported media type"},
    [FV_ERANGE] = {416, "range_not_satisfiable", "the requested range is outside the document"},
    [FV_ERATELIMIT] = {429, "rate_limited", "too many requests; try again later"},
    [FV_EINTERNAL] = {500, "internal", "internal error; the request id identifies it in the logs"},
    [FV_EUNAVAIL] = {503, "unavailable", "service temporarily unavailable; try again shortly"},
};

static int
valid(enum fv_err e)
{
	return (int)e >= 0 && e < FV_ERR_COUNT;
}

int
fv_err_status(enum fv_err e)
{
	return valid(e) ? table[e].status : 500;
}

const char *
fv_err_code(enum fv_err e)
{
	return valid(e) ? table[e].code : "internal";
}

const char *
fv_err_message(enum fv_err e)
{
	return valid(e) ? table[e].message : table[FV_EINTERNAL].message;
}
