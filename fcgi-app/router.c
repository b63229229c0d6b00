/* router.c: matching a request against the route table (see router.h). */
#include <stdio.h>
#include <string.h>

#include "router.h"

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
    {"GET", M_GET},     {"HEAD", M_HEAD},     {"POST", M_POST},       {"PUT", M_PUT},
    {"PATCH", M_PATCH}, {"DELETE", M_DELETE}, {"OPTIONS", M_OPTIONS},
};

unsigned
method_bit(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, method) == 0)
			return methods[i].bit;
	return 0;
}

void
method_allow_header(unsigned allow, char *out, size_t outlen)
{
	size_t i, len = 0;

	if (allow & M_GET)
		allow |= M_HEAD;
	out[0] = '\0';
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!(allow & methods[i].bit))
			continue;
		int n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", methods[i].name);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
}

/* Matches path against pattern; on success fills m's params. Both start with '/'. */
static int
match_pattern(const char *pattern, const char *path, struct arena *a, struct route_match *m)
{
	const char *p = pattern, *s = path;

	m->nparams = 0;
	while (*p == '/' && *s == '/') {
		const char *pe, *se;

		p++;
		s++;
		pe = strchrnul(p, '/');
		se = strchrnul(s, '/');
		if (*p == '{') {
			if (se == s || m->nparams == ROUTE_MAX_PARAMS)
				return 0;
			m->params[m->nparams++] = arena_strndup(a, s, (size_t)(se - s));
		} else if (pe - p != se - s || memcmp(p, s, (size_t)(pe - p)) != 0) {
			return 0;
		}
		p = pe;
		s = se;
	}
	return *p == '\0' && *s == '\0';
}

enum fv_err
router_match(const struct route *table, size_t n, unsigned method, const char *path,
             struct arena *a, struct route_match *m)
{
	unsigned want = method == M_HEAD ? M_GET : method;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (path[0] != '/')
		return FV_ENOTFOUND;
	for (i = 0; i < n; i++) {
		struct route_match tmp;

		if (!match_pattern(table[i].pattern, path, a, &tmp))
			continue;
		if (table[i].method == want) {
			tmp.route = &table[i];
			tmp.allow = 0;
			*m = tmp;
			return FV_OK;
		}
		m->allow |= table[i].method;
	}
	return m->allow ? FV_EMETHOD : FV_ENOTFOUND;
}
