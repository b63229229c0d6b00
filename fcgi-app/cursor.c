/* cursor.c: opaque keyset-pagination cursors (see cursor.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cursor.h"
#include "input.h"

#define CURSOR_TEXT_MAX 80

const char *
cursor_encode(struct arena *a, const struct cursor *c)
{
	char plain[CURSOR_TEXT_MAX];
	int n =
	    snprintf(plain, sizeof(plain), "%c%lld.%s", c->backward ? 'p' : 'n', c->micros, c->id);
	size_t outlen =
	    sodium_base64_encoded_len((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = arena_alloc(a, outlen);

	sodium_bin2base64(out, outlen, (const unsigned char *)plain, (size_t)n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

void
cursor_params(struct arena *a, const struct cursor *c, const char **ts, const char **id)
{
	time_t secs;
	struct tm tm;

	if (c->micros < 0) {
		*ts = "infinity";
		*id = "ffffffff-ffff-ffff-ffff-ffffffffffff";
		return;
	}
	secs = (time_t)(c->micros / 1000000);
	gmtime_r(&secs, &tm);
	*ts = arena_printf(a, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
	                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                   c->micros % 1000000);
	*id = c->id;
}

int
cursor_decode(const char *s, struct cursor *c)
{
	unsigned char plain[CURSOR_TEXT_MAX];
	char text[CURSOR_TEXT_MAX + 1], *dot;
	size_t n, slen = strlen(s);
	const char *trailing;

	memset(c, 0, sizeof(*c));
	if (slen == 0 || slen > 2 * CURSOR_TEXT_MAX)
		return -1;
	if (sodium_base642bin(plain, sizeof(plain), s, slen, NULL, &n, &trailing,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *trailing != '\0' || n < 3)
		return -1;
	memcpy(text, plain, n);
	text[n] = '\0';
	if (strlen(text) != n || (text[0] != 'n' && text[0] != 'p'))
		return -1;
	c->backward = text[0] == 'p';
	dot = strchr(text + 1, '.');
	if (dot == NULL)
		return -1;
	*dot = '\0';
	if (v_int(text + 1, 0, 253402300799999999LL, &c->micros) != NULL)
		return -1;
	if (v_uuid(dot + 1, c->id) != NULL || strcmp(c->id, dot + 1) != 0)
		return -1;
	return 0;
}
