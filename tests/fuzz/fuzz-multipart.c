/* fuzz-multipart.c: libFuzzer driver for multipart.c (parser, boundary extraction, file-name
 * sanitiser); see README.md in this folder for how to build and run it.
 *
 * Input: byte 0 chooses the mode, byte 1 is a parameter, the rest is the body (or the
 * Content-Type). bit 7 of byte 0: the rest is a Content-Type header value for mp_boundary; bits
 * 0-1: how the body is cut into feeds: whole, byte by byte, pieces of byte1 + 1 bytes, or
 *             pseudo-random sizes seeded by byte 1 (so the fuzzer finds the split that breaks);
 *   bit 2:    small limits (64 header bytes, 3 parts, 2 parameters) instead of the defaults;
 *   bits 3-4: a callback refuses: never, at the first part_end, at the second part_begin, or once
 *             more than byte1 content bytes have arrived.
 * Every parse is checked for the contract's invariants, and unless the refusal depends on how the
 * content is cut, a parse of the same body in one piece must give the same callbacks, content,
 * status and message. Any violation aborts, which libFuzzer reports as a crash. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "input.h"
#include "multipart.h"

#define BOUNDARY "b0undary"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__,         \
			        __LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

enum refuse { R_NEVER, R_FIRST_END, R_SECOND_BEGIN, R_DATA_OVER };

struct run {
	struct buf t; /* callbacks and content, as test-multipart.c writes them */
	struct arena *a;
	struct mp *mp;
	const struct mp_limits *lim;
	enum refuse refuse;
	size_t data_limit;
	bool failed; /* mp_feed or mp_finish has returned an error */
	bool in_part;
	size_t begins, ends, data;
};

static void
check_name(struct arena *a, const char *s)
{
	const char *z;
	size_t i, n;

	if (s == NULL)
		return;
	CHECK(utf8_valid(s, strlen(s)));
	z = mp_sanitize_filename(a, s);
	if (z == NULL)
		return;
	n = strlen(z);
	CHECK(n > 0 && n <= MP_FILENAME_MAX && utf8_valid(z, n));
	CHECK(strcmp(z, ".") != 0 && strcmp(z, "..") != 0);
	CHECK(z[0] != ' ' && z[n - 1] != ' ');
	for (i = 0; i < n; i++)
		CHECK(z[i] != '/' && z[i] != '\\' && (unsigned char)z[i] >= 0x20 && z[i] != 0x7F);
}

static int
on_begin(void *arg, const struct mp_part *p)
{
	struct run *r = arg;

	CHECK(!r->failed && !r->in_part && r->begins == r->ends);
	CHECK(p->index == r->begins && p->index < r->lim->max_parts);
	CHECK(p->name != NULL && utf8_valid(p->name, strlen(p->name)));
	if (p->content_type != NULL)
		CHECK(utf8_valid(p->content_type, strlen(p->content_type)));
	check_name(r->a, p->filename);
	r->in_part = true;
	r->begins++;
	buf_printf(&r->t, "[%zu %s", p->index, p->name);
	if (p->filename != NULL)
		buf_printf(&r->t, " f=%s", p->filename);
	if (p->content_type != NULL)
		buf_printf(&r->t, " t=%s", p->content_type);
	buf_putc(&r->t, ']');
	if (r->refuse == R_SECOND_BEGIN && r->begins == 2) {
		mp_abort(r->mp, "refused at the second part");
		return 1;
	}
	return 0;
}

static int
on_data(void *arg, const char *p, size_t n)
{
	struct run *r = arg;

	CHECK(!r->failed && r->in_part && n > 0);
	buf_append(&r->t, p, n);
	r->data += n;
	return r->refuse == R_DATA_OVER && r->data > r->data_limit;
}

static int
on_end(void *arg)
{
	struct run *r = arg;

	CHECK(!r->failed && r->in_part);
	r->in_part = false;
	r->ends++;
	buf_puts(&r->t, "[/]");
	return r->refuse == R_FIRST_END;
}

/* Parses body with the feeds chosen by pattern/param and checks what the contract promises.
 * Returns the final status; r keeps the transcript. msg receives the error message. */
static int
parse(struct run *r, const uint8_t *body, size_t len, int pattern, uint8_t param, char *msg,
      size_t msglen)
{
	static const struct mp_callbacks cb = {on_begin, on_data, on_end};
	uint32_t seed = param * 2654435761u + 1;
	size_t off = 0, n;
	int st = MP_OK, again;

	r->mp = mp_new(BOUNDARY, r->lim, &cb, r);
	CHECK(r->mp != NULL);
	CHECK(mp_error(r->mp) == NULL);
	while (off < len && st == MP_OK) {
		switch (pattern) {
		case 0:
			n = len - off;
			break;
		case 1:
			n = 1;
			break;
		case 2:
			n = (size_t)param + 1;
			break;
		default:
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % 97; /* zero-length feeds included */
			break;
		}
		if (n > len - off)
			n = len - off;
		st = mp_feed(r->mp, (const char *)body + off, n);
		off += n;
	}
	if (st == MP_OK)
		st = mp_finish(r->mp);
	CHECK(st == MP_OK || st == MP_EBODY || st == MP_EABORT);
	if (st == MP_OK) {
		CHECK(mp_error(r->mp) == NULL && !r->in_part && r->begins == r->ends);
		CHECK(memmem(body, len, "--" BOUNDARY "--", strlen("--" BOUNDARY "--")) != NULL);
		CHECK(mp_finish(r->mp) == MP_OK);
		msg[0] = '\0';
	} else {
		r->failed = true;
		CHECK(mp_error(r->mp) != NULL && mp_error(r->mp)[0] != '\0');
		snprintf(msg, msglen, "%s", mp_error(r->mp));
		again =
		    mp_feed(r->mp, "\r\n--" BOUNDARY "--\r\n", strlen("\r\n--" BOUNDARY "--\r\n"));
		CHECK(again == st && mp_finish(r->mp) == st);
		CHECK(strcmp(msg, mp_error(r->mp)) == 0);
	}
	CHECK(st != MP_EABORT || r->refuse != R_NEVER);
	CHECK(r->data <= len);
	CHECK(r->begins <= r->lim->max_parts);
	mp_free(r->mp);
	r->mp = NULL;
	return st;
}

static void
fuzz_content_type(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[MP_BOUNDARY_MAX + 1];
	const char *err = NULL;
	struct mp *mp;

	memcpy(s, data, size);
	s[size] = '\0';
	if (mp_boundary(s, out, sizeof(out), &err) == 0) {
		CHECK(err == NULL && strlen(out) >= 1 && strlen(out) <= MP_BOUNDARY_MAX);
		mp = mp_new(out, NULL, NULL, NULL);
		CHECK(mp != NULL);
		mp_free(mp);
	} else {
		CHECK(err != NULL && out[0] == '\0');
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mp_limits small = {64, 3, 2},
	                              deflt = {MP_DEFAULT_MAX_HEADER_BYTES, MP_DEFAULT_MAX_PARTS,
	                                       MP_DEFAULT_MAX_PARAMS};
	struct run chunked = {0}, whole = {0};
	char msg_c[256], msg_w[256];
	int st_c, st_w;
	uint8_t mode, param;

	if (size < 2)
		return 0;
	mode = data[0];
	param = data[1];
	if (mode & 0x80) {
		fuzz_content_type(data + 2, size - 2);
		return 0;
	}
	chunked.a = arena_new();
	chunked.lim = whole.lim = (mode & 4) ? &small : &deflt;
	chunked.refuse = whole.refuse = (enum refuse)((mode >> 3) & 3);
	chunked.data_limit = whole.data_limit = param;
	st_c = parse(&chunked, data + 2, size - 2, mode & 3, param, msg_c, sizeof(msg_c));
	if (chunked.refuse != R_DATA_OVER) {
		whole.a = chunked.a;
		st_w = parse(&whole, data + 2, size - 2, 0, param, msg_w, sizeof(msg_w));
		CHECK(st_c == st_w);
		CHECK(strcmp(msg_c, msg_w) == 0);
		CHECK(chunked.t.len == whole.t.len &&
		      (whole.t.len == 0 || memcmp(chunked.t.data, whole.t.data, whole.t.len) == 0));
	}
	buf_free(&chunked.t);
	buf_free(&whole.t);
	arena_free(chunked.a);
	return 0;
}
