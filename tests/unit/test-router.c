/* test-router.c: route matching, captures, 404 and 405 with the Allow list. */
#include "router.h"
#include "tap.h"

static enum fv_err
h_a(struct req *r)
{
	(void)r;
	return FV_OK;
}
static enum fv_err
h_b(struct req *r)
{
	(void)r;
	return FV_OK;
}
static enum fv_err
h_c(struct req *r)
{
	(void)r;
	return FV_OK;
}

static const struct route table[] = {
    {"/", M_GET, h_a, 0, NULL},
    {"/api/v1/patients", M_GET, h_a, 0, NULL},
    {"/api/v1/patients", M_POST, h_b, 0, NULL},
    {"/api/v1/patients/{id}", M_GET, h_c, 0, NULL},
    {"/api/v1/patients/{id}", M_DELETE, h_b, 0, NULL},
    {"/patients/new", M_GET, h_b, 0, NULL},
    {"/patients/{id}", M_GET, h_c, 0, NULL},
    {"/a/{x}/b/{y}", M_GET, h_a, 0, NULL},
};
#define N (sizeof(table) / sizeof(table[0]))

int
main(void)
{
	struct arena *a = arena_new();
	struct route_match m;
	char allow[128];

	OK(router_match(table, N, M_GET, "/", a, &m) == FV_OK && m.route == &table[0], "root");
	OK(router_match(table, N, M_GET, "/api/v1/patients", a, &m) == FV_OK &&
	       m.route->handler == h_a,
	   "GET list");
	OK(router_match(table, N, M_POST, "/api/v1/patients", a, &m) == FV_OK &&
	       m.route->handler == h_b,
	   "POST list");
	OK(router_match(table, N, M_GET, "/api/v1/patients/abc", a, &m) == FV_OK && m.nparams == 1,
	   "capture one segment");
	STR_EQ(m.params[0], "abc", "captured value");
	OK(router_match(table, N, M_HEAD, "/api/v1/patients/abc", a, &m) == FV_OK &&
	       m.route->handler == h_c,
	   "HEAD uses the GET route");
	OK(router_match(table, N, M_GET, "/patients/new", a, &m) == FV_OK &&
	       m.route->handler == h_b,
	   "literal row before the pattern row wins");
	OK(router_match(table, N, M_GET, "/a/1/b/2", a, &m) == FV_OK && m.nparams == 2,
	   "two captures");
	STR_EQ(m.params[1], "2", "second capture");
	OK(router_match(table, N, M_GET, "/api/v1/patients/", a, &m) == FV_ENOTFOUND,
	   "empty capture is not a match");
	OK(router_match(table, N, M_GET, "/api/v1/patients/a/b", a, &m) == FV_ENOTFOUND,
	   "extra segment");
	OK(router_match(table, N, M_GET, "/api/v1/patient", a, &m) == FV_ENOTFOUND, "prefix only");
	OK(router_match(table, N, M_GET, "/api/v1/patientsx", a, &m) == FV_ENOTFOUND,
	   "longer literal");
	OK(router_match(table, N, M_GET, "api/v1/patients", a, &m) == FV_ENOTFOUND,
	   "no leading slash");
	OK(router_match(table, N, M_GET, "", a, &m) == FV_ENOTFOUND, "empty path");
	OK(router_match(table, N, M_GET, "//", a, &m) == FV_ENOTFOUND, "double slash");
	OK(router_match(table, N, M_PUT, "/api/v1/patients", a, &m) == FV_EMETHOD,
	   "wrong method 405");
	OK(m.allow == (M_GET | M_POST), "allow mask of the list");
	method_allow_header(m.allow, allow, sizeof(allow));
	STR_EQ(allow, "GET, HEAD, POST", "Allow header text");
	OK(router_match(table, N, M_PATCH, "/api/v1/patients/x", a, &m) == FV_EMETHOD &&
	       m.allow == (M_GET | M_DELETE),
	   "405 on a pattern route");
	OK(router_match(table, N, 0, "/", a, &m) == FV_EMETHOD, "unknown method on a known path");
	OK(method_bit("GET") == M_GET && method_bit("DELETE") == M_DELETE, "method bits");
	OK(method_bit("get") == 0 && method_bit("BREW") == 0, "unknown methods");
	arena_free(a);
	return tap_done();
}
