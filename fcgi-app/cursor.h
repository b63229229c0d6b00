/* cursor.h: opaque keyset-pagination cursors. A cursor names a position (created_at in
 * microseconds since the epoch, id) and a direction; it is base64url text so clients treat it as
 * opaque. Decoding is strict: anything that is not exactly what cursor_encode() writes is refused.
 */
#ifndef FV_CURSOR_H
#define FV_CURSOR_H

#include <stdbool.h>
#include "arena.h"

struct cursor {
	bool backward;    /* page before the position (a "previous" link) */
	long long micros; /* created_at */
	char id[37];      /* lower-case UUID */
};

/* The keyset statement parameters of a position: a timestamp ("2026-11-29 07:24:08.123456+00")
 * and the id. The first page (micros < 0) starts after everything: "infinity" and the largest
 * UUID, which need no arena (a may then be NULL). */
void cursor_params(struct arena *a, const struct cursor *c, const char **ts, const char **id);

/* Arena-allocated cursor text. */
const char *cursor_encode(struct arena *a, const struct cursor *c);
/* Returns 0, or -1 when s is not a cursor. */
int cursor_decode(const char *s, struct cursor *c);

#endif
