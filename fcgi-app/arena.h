/* arena.h: per-request bump allocator; everything a request allocates is released by one
 * arena_reset(). */
#ifndef FV_ARENA_H
#define FV_ARENA_H

#include <stddef.h>

struct arena;

/* Returns a new arena or NULL when out of memory. Free with arena_free(). */
struct arena *arena_new(void);
/* Releases every allocation made since the last reset; keeps the first block for reuse. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

/* Allocation never fails: on out-of-memory the process aborts, as a responder that cannot
 * allocate a few KiB cannot answer anyway and spawn-fcgi's siblings keep serving. Memory is zeroed
 * and aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
