/* buf.h: length-carrying growable byte buffer used for all string building. */
#ifndef FV_BUF_H
#define FV_BUF_H

#include <stddef.h>

/* A zeroed struct buf is an empty buffer. data is always NUL-terminated once anything was
 * appended (buf_cstr() returns "" for an empty one). The owner frees with buf_free(). Appends abort
 * on out-of-memory (see arena.h for why). */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *buf_cstr(const struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
void buf_free(struct buf *b);

#endif
