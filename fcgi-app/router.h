/* router.h: routes are data. A const table of (pattern, method, handler, flags); the dispatcher
 * looks a request up and calls the handler. Patterns are literal segments and "{name}" segments
 * that capture one non-empty path segment: "/api/v1/patients/{id}". */
#ifndef FV_ROUTER_H
#define FV_ROUTER_H

#include <stddef.h>
#include "arena.h"
#include "errors.h"

#define ROUTE_MAX_PARAMS 4

enum method {
	M_GET = 1 << 0,
	M_POST = 1 << 1,
	M_PUT = 1 << 2,
	M_PATCH = 1 << 3,
	M_DELETE = 1 << 4,
	M_HEAD = 1 << 5, /* answered by the GET route; the web server drops the body */
	M_OPTIONS = 1 << 6,
};

enum route_flag {
	R_PAGE = 1 << 0,   /* HTML representation (else JSON) */
	R_PUBLIC = 1 << 1, /* no authentication (health, login, static) */
	R_WRITE = 1 << 2,  /* changes data: needs a role that may write */
	R_ADMIN = 1 << 3,  /* administrators only */
	R_STREAM = 1 << 4, /* the handler reads the body itself (uploads) and checks CSRF in it */
};

struct req;
typedef enum fv_err (*route_handler)(struct req *r);

struct route {
	const char *pattern;
	unsigned method; /* one M_* bit */
	route_handler handler;
	unsigned flags;
	const char *action; /* audit action ("patient.update"), recorded also when refused */
};

struct route_match {
	const struct route *route;
	const char *params[ROUTE_MAX_PARAMS]; /* arena copies of the captured segments */
	size_t nparams;
	unsigned allow; /* when the path matched but the method did not: the methods it has */
};

/* M_* bit of a method name, or 0 for one we do not serve. */
unsigned method_bit(const char *method);
/* Writes "GET, HEAD, PATCH" for an allow mask into out. */
void method_allow_header(unsigned allow, char *out, size_t outlen);

/* Looks up method+path. Returns FV_OK with m->route set; FV_EMETHOD when the path exists under
 * other methods (m->allow says which); FV_ENOTFOUND otherwise. HEAD matches GET routes. */
enum fv_err router_match(const struct route *table, size_t n, unsigned method, const char *path,
                         struct arena *a, struct route_match *m);

#endif
