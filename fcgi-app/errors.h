/* errors.h: the one error type. Functions return FV_OK or an fv_err; the request's dispatcher turns
 * an fv_err into an HTTP status and the contract's error body in one place (response.c). */
#ifndef FV_ERRORS_H
#define FV_ERRORS_H

enum fv_err {
	FV_OK = 0,
	FV_EINVAL,     /* 400 invalid */
	FV_EUNAUTH,    /* 401 unauthorized */
	FV_EFORBIDDEN, /* 403 forbidden */
	FV_ENOTFOUND,  /* 404 not_found */
	FV_EMETHOD,    /* 405 method_not_allowed */
	FV_ECONFLICT,  /* 409 conflict */
	FV_EPRECOND,   /* 412 precondition_failed */
	FV_ETOOBIG,    /* 413 payload_too_large */
	FV_EMEDIATYPE, /* 415 unsupported_media_type */
	FV_ERANGE,     /* 416 range_not_satisfiable */
	FV_ERATELIMIT, /* 429 rate_limited */
	FV_EINTERNAL,  /* 500 internal */
	FV_EUNAVAIL,   /* 503 unavailable */
	FV_ERR_COUNT
};

/* HTTP status, contract code ("not_found") and default message of an error. */
int fv_err_status(enum fv_err e);
const char *fv_err_code(enum fv_err e);
const char *fv_err_message(enum fv_err e);

#endif
