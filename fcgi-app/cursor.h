/* cursor.h: opaque keyset-pagination cursors. A cursor names a position (created_at in
 * microseconds since the epoch, id) and a direction; it is base64url text so clients treat it as
 * opaque. Decoding is strict: anything that is not exactly what cursor_encode() writes is refused. */
#ifndef FV_CURSOR_H
#define FV_CURSOR_H

#include <stdbool.h>
#include "arena.h"

struct cursor {
	bool backward;	  /* page before the position (a "previous" link) */
	long long micros; /* created_at */
	char id[37];	  /* lower-case UUID */
};

/* Arena-allocated cursor text. */
const char *cursor_encode(struct arena *a, const struct cursor *c);
/* Returns 0, or -1 when s is not a cursor. */
int cursor_decode(const char *s, struct cursor *c);

#endif
