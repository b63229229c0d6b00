/* escape.h: the one place where output is escaped; one function per output context. */
#ifndef FV_ESCAPE_H
#define FV_ESCAPE_H

#include <stddef.h>
#include "buf.h"

/* HTML text and quoted attribute values: escapes & < > " ' ` = (safe in both contexts). */
void esc_html(struct buf *out, const char *s, size_t n);
/* One URL query component (RFC 3986 unreserved characters kept, everything else %XX). */
void esc_url(struct buf *out, const char *s, size_t n);
/* Appends trusted literal markup unchanged. Only for string literals in the program. */
void esc_raw(struct buf *out, const char *literal);

#endif
