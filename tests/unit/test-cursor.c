/* test-cursor.c: cursors round-trip and forged ones are refused. */
#include <sodium.h>

#include "cursor.h"
#include "tap.h"

static const char *
b64(struct arena *a, const char *plain)
{
	size_t n = strlen(plain);
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = arena_alloc(a, len);

	sodium_bin2base64(out, len, (const unsigned char *)plain, n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int
main(void)
{
	struct arena *a = arena_new();
	struct cursor c = {.backward = false, .micros = 1732872248123456LL}, d;
	static const char *const forged[] = {
	    "n1732872248123456.0b8f3c2e-1d2a-4b7e-9f00-123456789abc", /* valid text, not base64 */
	    "", "!!!!",
	    "bjE3MzI4NzIyNDgxMjM0NTYuMGI4ZjNjMmUtMWQyYS00YjdlLTlmMDAtMTIzNDU2Nzg5YWJj=", /* padding
	                                                                                  */
	};
	static const char *const bad_plain[] = {
	    "x1.0b8f3c2e-1d2a-4b7e-9f00-123456789abc",
	    "n-1.0b8f3c2e-1d2a-4b7e-9f00-123456789abc",
	    "n1.0B8F3C2E-1D2A-4B7E-9F00-123456789ABC",
	    "n1.0b8f3c2e-1d2a-4b7e-9f00-123456789ab",
	    "n1.0b8f3c2e-1d2a-4b7e-9f00-123456789abc ",
	    "n99999999999999999999.0b8f3c2e-1d2a-4b7e-9f00-123456789abc",
	    "n1",
	    "n.0b8f3c2e-1d2a-4b7e-9f00-123456789abc",
	    "n1;0b8f3c2e-1d2a-4b7e-9f00-123456789abc",
	};
	size_t i;

	if (sodium_init() < 0)
		return 1;
	snprintf(c.id, sizeof(c.id), "0b8f3c2e-1d2a-4b7e-9f00-123456789abc");
	OK(cursor_decode(cursor_encode(a, &c), &d) == 0, "round trip decodes");
	OK(d.backward == c.backward && d.micros == c.micros && strcmp(d.id, c.id) == 0,
	   "round trip keeps the position");
	c.backward = true;
	c.micros = 0;
	OK(cursor_decode(cursor_encode(a, &c), &d) == 0 && d.backward && d.micros == 0,
	   "backward cursor at the epoch");
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		OK(cursor_decode(forged[i], &d) == -1, forged[i]);
	for (i = 0; i < sizeof(bad_plain) / sizeof(bad_plain[0]); i++)
		OK(cursor_decode(b64(a, bad_plain[i]), &d) == -1, bad_plain[i]);
	OK(cursor_decode(b64(a, "p5.0b8f3c2e-1d2a-4b7e-9f00-123456789abc"), &d) == 0 && d.backward,
	   "a well-formed hand-made cursor is accepted");
	arena_free(a);
	return tap_done();
}
