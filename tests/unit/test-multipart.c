/* test-multipart.c: the multipart/form-data parser (boundary, body syntax, headers, limits,
 * callbacks, chunking) and the file-name sanitiser. */
#include <stdbool.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "input.h"
#include "multipart.h"
#include "tap.h"

#define B "AaB03x"
#define CRLF "\r\n"
#define DASH "--" B CRLF
#define CLOSE CRLF "--" B "--" CRLF
#define FIELD(name) "Content-Disposition: form-data; name=\"" name "\"" CRLF
#define FILEP(name, fn)                                                                            \
	"Content-Disposition: form-data; name=\"" name "\"; filename=\"" fn "\"" CRLF

/* What the callbacks saw, written as one string so that a whole parse compares at once:
 * "[index name f=filename t=type]" for a part's headers, its content bytes as they are, and "[/]"
 * at its end. */
struct rec {
	struct buf t;
	struct mp *mp;
	char err[256];
	char fname[2048];
	int calls, fail_at;    /* callbacks made; the one (1-based) that refuses, 0 for none */
	const char *abort_msg; /* given to mp_abort by the refusing callback, if not NULL */
	bool returned_error;   /* mp_feed already returned an error */
	int after_error;       /* callbacks made after that: must stay 0 */
	int empty_pieces;      /* part_data calls with n == 0: must stay 0 */
	size_t data_bytes;
};

static int
hook(struct rec *r)
{
	if (r->returned_error)
		r->after_error++;
	if (++r->calls != r->fail_at)
		return 0;
	if (r->abort_msg != NULL)
		mp_abort(r->mp, r->abort_msg);
	return 1;
}

static int
on_begin(void *arg, const struct mp_part *p)
{
	struct rec *r = arg;

	buf_printf(&r->t, "[%zu %s", p->index, p->name);
	if (p->filename != NULL) {
		buf_printf(&r->t, " f=%s", p->filename);
		snprintf(r->fname, sizeof(r->fname), "%s", p->filename);
	}
	if (p->content_type != NULL)
		buf_printf(&r->t, " t=%s", p->content_type);
	buf_putc(&r->t, ']');
	return hook(r);
}

static int
on_data(void *arg, const char *p, size_t n)
{
	struct rec *r = arg;

	if (n == 0)
		r->empty_pieces++;
	buf_append(&r->t, p, n);
	r->data_bytes += n;
	return hook(r);
}

static int
on_end(void *arg)
{
	struct rec *r = arg;

	buf_puts(&r->t, "[/]");
	return hook(r);
}

static const struct mp_callbacks cbs = {on_begin, on_data, on_end};

/* Parses body[0..len) fed in pieces ending at cuts[0..ncuts) (ascending) and at len, then finishes.
 * Returns the first non-OK status of mp_feed or mp_finish; r holds the transcript and message. */
static int
parse_cuts(struct rec *r, const char *boundary, const char *body, size_t len, const size_t *cuts,
           size_t ncuts, const struct mp_limits *lim)
{
	size_t i, from = 0, to;
	int st = MP_OK;

	buf_reset(&r->t);
	r->err[0] = '\0';
	r->fname[0] = '\0';
	r->calls = r->after_error = r->empty_pieces = 0;
	r->returned_error = false;
	r->data_bytes = 0;
	r->mp = mp_new(boundary, lim, &cbs, r);
	if (r->mp == NULL)
		return 99;
	for (i = 0; i <= ncuts && st == MP_OK; i++) {
		to = i < ncuts ? cuts[i] : len;
		st = mp_feed(r->mp, body + from, to - from);
		from = to;
	}
	if (st == MP_OK)
		st = mp_finish(r->mp);
	if (st != MP_OK) {
		r->returned_error = true;
		/* Errors are sticky and silence the callbacks. */
		if (mp_feed(r->mp, CRLF "--" B CRLF, strlen(CRLF "--" B CRLF)) != st ||
		    mp_finish(r->mp) != st)
			st = 98;
		snprintf(r->err, sizeof(r->err), "%s", mp_error(r->mp));
	}
	mp_free(r->mp);
	r->mp = NULL;
	return st;
}

static int
parse(struct rec *r, const char *body, size_t len)
{
	return parse_cuts(r, B, body, len, NULL, 0, NULL);
}

static int
parse_s(struct rec *r, const char *body)
{
	return parse(r, body, strlen(body));
}

static int
parse_lim(struct rec *r, const char *body, const struct mp_limits *lim)
{
	return parse_cuts(r, B, body, strlen(body), NULL, 0, lim);
}

/* The transcript of body parsed whole, then compared with byte-by-byte feeding, every split in two
 * and (when pairs) every split in three. Returns the number of chunkings that differed. */
static int
chunkings_differ(struct rec *r, const char *body, bool pairs)
{
	size_t len = strlen(body), i, j, *cuts = malloc(len * sizeof(*cuts) + 1);
	struct buf want = {0};
	int st, bad = 0;

	st = parse(r, body, len);
	buf_append(&want, r->t.data, r->t.len);
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	if (parse_cuts(r, B, body, len, cuts, len, NULL) != st || r->t.len != want.len ||
	    memcmp(r->t.data, want.data, want.len) != 0 || r->empty_pieces != 0)
		bad++;
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		if (parse_cuts(r, B, body, len, cuts, 1, NULL) != st || r->t.len != want.len ||
		    memcmp(r->t.data, want.data, want.len) != 0 || r->empty_pieces != 0)
			bad++;
		for (j = i; pairs && j <= len; j++) {
			cuts[1] = j;
			if (parse_cuts(r, B, body, len, cuts, 2, NULL) != st ||
			    r->t.len != want.len || memcmp(r->t.data, want.data, want.len) != 0 ||
			    r->empty_pieces != 0)
				bad++;
		}
	}
	buf_free(&want);
	free(cuts);
	return bad;
}

static void
test_boundary(void)
{
	char out[MP_BOUNDARY_MAX + 1], small[4];
	char ct[200];
	const char *e;

	OK(mp_boundary("multipart/form-data; boundary=AaB03x", out, sizeof(out), &e) == 0 &&
	       e == NULL,
	   "boundary: token form");
	STR_EQ(out, "AaB03x", "boundary: token value");
	OK(mp_boundary("Multipart/Form-Data;BOUNDARY=xyz", out, sizeof(out), &e) == 0,
	   "boundary: any case");
	STR_EQ(out, "xyz", "boundary: any case, value kept as sent");
	mp_boundary("multipart/form-data; boundary=\"a b:c=d?\"", out, sizeof(out), &e);
	STR_EQ(out, "a b:c=d?", "boundary: quoted with space and specials");
	mp_boundary("multipart/form-data; boundary=\"x\\-y\"", out, sizeof(out), &e);
	STR_EQ(out, "x-y", "boundary: quoted-string backslash escape");
	mp_boundary(
	    "multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW;"
	    " x=\"1;2\"",
	    out, sizeof(out), &e);
	STR_EQ(out, "----WebKitFormBoundary7MA4YWxkTrZu0gW", "boundary: among other parameters");
	OK(mp_boundary("application/json", out, sizeof(out), &e) == -1,
	   "boundary: other type refused");
	STR_EQ(e, "the request body must be multipart/form-data", "boundary: other type message");
	OK(mp_boundary("multipart/mixed; boundary=x", out, sizeof(out), &e) == -1 && out[0] == '\0',
	   "boundary: multipart/mixed refused, out emptied");
	OK(mp_boundary(NULL, out, sizeof(out), &e) == -1, "boundary: no Content-Type refused");
	mp_boundary("multipart/form-data; charset=utf-8", out, sizeof(out), &e);
	STR_EQ(e, "the Content-Type has no boundary", "boundary: missing");
	OK(mp_boundary("multipart/form-data; boundary=\"\"", out, sizeof(out), &e) == -1 &&
	       strstr(e, "invalid") != NULL,
	   "boundary: empty refused");
	OK(mp_boundary("multipart/form-data; boundary=\"abc \"", out, sizeof(out), &e) == -1,
	   "boundary: trailing space refused");
	OK(mp_boundary("multipart/form-data; boundary=\"a@b\"", out, sizeof(out), &e) == -1,
	   "boundary: character outside bchars refused");
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%070d", 7);
	OK(mp_boundary(ct, out, sizeof(out), &e) == 0 && strlen(out) == 70,
	   "boundary: 70 characters accepted");
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 7);
	OK(mp_boundary(ct, out, sizeof(out), &e) == -1, "boundary: 71 characters refused");
	OK(mp_boundary("multipart/form-data; boundary=a; boundary=b", out, sizeof(out), &e) == -1,
	   "boundary: repeated refused");
	OK(mp_boundary("multipart/form-data boundary=a", out, sizeof(out), &e) == -1,
	   "boundary: missing ';' refused");
	OK(mp_boundary("multipart/form-data; boundary=abcdef", small, sizeof(small), &e) == -1,
	   "boundary: output too small refused");
}

static void
test_basic(struct rec *r)
{
	const char *two = "preamble to ignore" CRLF DASH FIELD("document_type") CRLF
	    "hormone_panel" CRLF DASH FILEP("file",
	                                    "day3.pdf") "Content-Type: application/pdf" CRLF CRLF
	                                                "%PDF-1.4 data" CLOSE "epilogue";
	char wrong[] = DASH FIELD("a") CRLF "x" CLOSE;

	OK(parse_s(r, two) == MP_OK, "two parts parse");
	STR_EQ(buf_cstr(&r->t),
	       "[0 document_type]hormone_panel[/][1 file f=day3.pdf t=application/pdf]%PDF-1.4 "
	       "data[/]",
	       "two parts: headers, content, ends; preamble and epilogue dropped");
	OK(chunkings_differ(r, two, true) == 0,
	   "two parts: same result byte by byte and at every split into two and three pieces");

	OK(parse_s(r, DASH FILEP("file", "a.bin") CRLF "a\r\nb\r\n\r\nc\r" CLOSE) == MP_OK,
	   "CRLF inside content parses");
	STR_EQ(buf_cstr(&r->t), "[0 file f=a.bin]a\r\nb\r\n\r\nc\r[/]",
	       "CRLF and a final CR inside content are kept");

	OK(parse_s(r, DASH FILEP("file", "empty.pdf") CRLF CLOSE) == MP_OK,
	   "empty file part parses");
	STR_EQ(buf_cstr(&r->t), "[0 file f=empty.pdf][/]",
	       "empty file part: begin and end, no data");

	OK(parse_s(r, DASH FILEP("file",
	                         "") "Content-Type: application/octet-stream" CRLF CRLF CLOSE) ==
	           MP_OK &&
	       strcmp(r->fname, "") == 0,
	   "empty filename is \"\" (nothing chosen), not NULL");

	OK(parse_s(r, DASH FILEP("file", "a.pdf") CRLF "A" CRLF DASH FILEP("file", "b.pdf") CRLF
	           "B" CLOSE) == MP_OK,
	   "two file parts parse");
	STR_EQ(buf_cstr(&r->t), "[0 file f=a.pdf]A[/][1 file f=b.pdf]B[/]",
	       "two file parts are both reported");

	OK(parse_s(r, "--" B "--" CRLF) == MP_OK && r->t.len == 0,
	   "a body with no parts is accepted");
	OK(parse_s(r, DASH FIELD("a") CRLF "1" CRLF "--" B " \t " CRLF FIELD("b") CRLF
	           "2" CRLF "--" B "\t" CRLF FIELD("c") CRLF "3" CLOSE) == MP_OK &&
	       strcmp(buf_cstr(&r->t), "[0 a]1[/][1 b]2[/][2 c]3[/]") == 0,
	   "transport padding after a boundary");
	OK(parse_s(r, DASH FIELD("a") CRLF "1" CRLF "--" B " x" CRLF FIELD("b") CRLF "2" CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "boundary line") != NULL,
	   "text after the padding of a boundary line is refused");
	OK(parse_s(r, DASH FIELD("a") CRLF "1" CRLF "--" B "\rx" CLOSE) == MP_EBODY,
	   "CR without LF after a boundary is refused");
	OK(parse_s(r, "x--" B CRLF "--" B "x" CRLF "\r\n--" B "-" CRLF DASH FIELD("a") CRLF
	           "1" CLOSE) == MP_OK &&
	       strcmp(buf_cstr(&r->t), "[0 a]1[/]") == 0,
	   "boundary lookalikes in the preamble are skipped");
	OK(parse_s(r, DASH "Content-disposition: form-data; name=\"x\"" CRLF CRLF "--" B CRLF
	                   "v" CLOSE) == MP_OK &&
	       strcmp(buf_cstr(&r->t), "[0 x]--" B CRLF "v[/]") == 0,
	   "\"--boundary\" opening the content (no CRLF before it) is content");

	OK(parse_s(r, DASH FILEP("file", "a.pdf") CRLF "data with no end") == MP_EBODY,
	   "missing closing boundary fails");
	STR_EQ(r->err, "the upload was cut off before its end", "missing closing boundary message");
	OK(parse_s(r, DASH FILEP("file", "a.pdf") CRLF "data" CRLF "--" B) == MP_EBODY &&
	       strstr(buf_cstr(&r->t), "[/]") == NULL,
	   "a body cut right after a boundary fails with no part_end");
	OK(parse_s(r, DASH) == MP_EBODY, "a body cut after the first boundary line fails");
	OK(parse_cuts(r, "other", wrong, strlen(wrong), NULL, 0, NULL) == MP_EBODY && r->t.len == 0,
	   "wrong boundary: nothing reported, fails");
	STR_EQ(r->err, "the body does not contain the multipart boundary",
	       "wrong boundary message");
	OK(parse(r, "", 0) == MP_EBODY, "empty body fails");
}

static void
test_lookalikes(struct rec *r)
{
	const char *content = "--" B CRLF "\r\n--" B "X\r\n--" B "-x\r\n--" B "-\r\n--AaB03\r\n-"
	                      "\r\r\n--" B "x\r\n\r\n";
	const char *body =
	    DASH FILEP("file", "tricky.txt") CRLF "--" B CRLF "\r\n--" B "X\r\n--" B "-x\r\n--" B
	                                          "-\r\n--AaB03\r\n-\r\r\n--" B "x\r\n\r\n" CLOSE;
	struct buf want = {0};

	buf_puts(&want, "[0 file f=tricky.txt]");
	buf_puts(&want, content);
	buf_puts(&want, "[/]");
	OK(parse_s(r, body) == MP_OK, "content with boundary lookalikes parses");
	STR_EQ(buf_cstr(&r->t), buf_cstr(&want), "boundary lookalikes are delivered as content");
	OK(chunkings_differ(r, body, false) == 0,
	   "lookalikes: same content byte by byte and at every split");
	buf_free(&want);
}

static void
test_headers(struct rec *r, struct arena *a)
{
	char body[12000], name[1001];
	const char *s;

	OK(parse_s(r, DASH "CONTENT-DISPOSITION: FORM-DATA; NAME=x; FileName=\"a.pdf\"" CRLF
	                   "content-TYPE:   text/plain; charset=utf-8  " CRLF
	                   "X-Other: ignored" CRLF CRLF "v" CLOSE) == MP_OK,
	   "header and parameter names in any case");
	STR_EQ(buf_cstr(&r->t), "[0 x f=a.pdf t=text/plain; charset=utf-8]v[/]",
	       "token name, Content-Type trimmed, other headers ignored");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=\"x\"; filename=\"a\\\"b\\\\c.pdf\"" CRLF
	               CRLF CLOSE) == MP_OK,
	   "quoted-string escapes parse");
	STR_EQ(r->fname, "a\"b\\c.pdf", "quoted-string escapes are decoded");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=\"x\"; filename=\"C:\\x\\y.pdf\"" CRLF CRLF
	               CLOSE) == MP_OK,
	   "unescaped Windows path parses");
	STR_EQ(r->fname, "C:\\x\\y.pdf", "a backslash before another character is kept");
	STR_EQ(mp_sanitize_filename(a, r->fname), "y.pdf",
	       "... and the sanitiser takes the base name");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=\"x\";filename=\"f.pdf\"; "
	                   "filename*=UTF-8''%e2%82%ac.pdf" CRLF CRLF CLOSE) == MP_OK,
	   "filename* parses");
	STR_EQ(r->fname, "\xe2\x82\xac.pdf", "filename* takes precedence over filename");
	parse_s(r, DASH "Content-Disposition: form-data; filename*=utf-8'en'%E2%82%AC.pdf; name=x; "
	                "filename=\"f.pdf\"" CRLF CRLF CLOSE);
	STR_EQ(r->fname, "\xe2\x82\xac.pdf",
	       "filename* wins in either order, language tag allowed");
	parse_s(
	    r, DASH
	    "Content-Disposition: form-data; name=x; filename*=ISO-8859-1''%E9t%E9.txt" CRLF CRLF
	        CLOSE);
	STR_EQ(r->fname, "\xc3\xa9t\xc3\xa9.txt", "filename* in ISO-8859-1 becomes UTF-8");
	OK(parse_s(
	       r, DASH
	       "Content-Disposition: form-data; name=x; filename*=UTF-8''%e2%8" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "percent-encoding") != NULL,
	   "filename* with a truncated %-escape refused");
	OK(parse_s(r,
	           DASH "Content-Disposition: form-data; name=x; filename*=UTF-8''%zz.pdf" CRLF CRLF
	               CLOSE) == MP_EBODY,
	   "filename* with a non-hex %-escape refused");
	OK(parse_s(r,
	           DASH "Content-Disposition: form-data; name=x; filename*=UTF-8''%ff.pdf" CRLF CRLF
	               CLOSE) == MP_EBODY &&
	       strcmp(r->err, "the file name is not valid UTF-8") == 0,
	   "filename* decoding to invalid UTF-8 refused");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=x; filename*=UTF-8''a%00.pdf" CRLF CRLF
	               CLOSE) == MP_EBODY &&
	       strstr(r->err, "NUL") != NULL,
	   "filename* with %00 refused");
	OK(parse_s(
	       r, DASH
	       "Content-Disposition: form-data; name=x; filename*=KOI8-R''a.pdf" CRLF CRLF CLOSE) ==
	       MP_EBODY,
	   "filename* in another charset refused");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=x; filename*=\"UTF-8''a.pdf\"" CRLF CRLF
	               CLOSE) == MP_EBODY,
	   "quoted filename* refused");
	OK(parse_s(r,
	           DASH "Content-Disposition: form-data; name=x; filename*=UTF-8''a'b.pdf" CRLF CRLF
	               CLOSE) == MP_EBODY,
	   "filename* with an unencoded quote refused");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=x; filename*=UTF-8''a%0Ab%01.pdf" CRLF CRLF
	               CLOSE) == MP_OK &&
	       strcmp(r->fname, "a\nb\001.pdf") == 0,
	   "filename* control characters reach the caller raw");
	s = mp_sanitize_filename(a, r->fname);
	STR_EQ(s, "ab.pdf", "... and the sanitiser removes them");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=\"x\"; filename=\"\xff.pdf\"" CRLF CRLF
	               CLOSE) == MP_EBODY &&
	       strcmp(r->err, "the file name is not valid UTF-8") == 0,
	   "non-UTF-8 filename refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=\"\xc3\"" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strcmp(r->err, "a field name is not valid UTF-8") == 0,
	   "non-UTF-8 field name refused");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=\"\xc3\xa9t\xc3\xa9\"" CRLF CRLF CLOSE) ==
	       MP_OK,
	   "UTF-8 field name accepted");
	OK(parse(r, DASH "Content-Disposition: form-data; name=\"a\0b\"" CRLF CRLF CLOSE,
	         sizeof(DASH "Content-Disposition: form-data; name=\"a\0b\"" CRLF CRLF CLOSE) -
	             1) == MP_EBODY &&
	       strstr(r->err, "NUL") != NULL,
	   "NUL byte in a header refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=\"a\x01\"" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "control") != NULL,
	   "control character in a header refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data;" CRLF " name=\"a\"" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "folded") != NULL,
	   "folded header refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=a\n" CRLF CLOSE) == MP_EBODY,
	   "header line ending in a bare LF refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=a\rx" CRLF CRLF CLOSE) == MP_EBODY,
	   "bare CR in a header refused");
	OK(parse_s(r, DASH "Content-Type: text/plain" CRLF CRLF "x" CLOSE) == MP_EBODY &&
	       strcmp(r->err, "a part has no Content-Disposition header") == 0,
	   "part without Content-Disposition refused");
	OK(parse_s(r, DASH CRLF "x" CLOSE) == MP_EBODY, "part without headers refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; filename=\"a.pdf\"" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "no name") != NULL,
	   "part without name refused");
	OK(parse_s(r, DASH "Content-Disposition: attachment; name=\"a\"" CRLF CRLF CLOSE) ==
	           MP_EBODY &&
	       strstr(r->err, "malformed Content-Disposition") != NULL,
	   "disposition other than form-data refused");
	OK(parse_s(r,
	           DASH "Content-Disposition: form-data; name=\"a\"; name=\"b\"" CRLF CRLF CLOSE) ==
	       MP_EBODY,
	   "repeated parameter refused");
	OK(parse_s(r, DASH FIELD("a") FIELD("b") CRLF CLOSE) == MP_EBODY,
	   "two Content-Disposition headers refused");
	OK(parse_s(r, DASH FIELD("a") "Content-Type: a" CRLF "Content-Type: b" CRLF CRLF CLOSE) ==
	       MP_EBODY,
	   "two Content-Type headers refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name=\"a" CRLF CRLF CLOSE) == MP_EBODY,
	   "unterminated quoted string refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data; name" CRLF CRLF CLOSE) == MP_EBODY,
	   "parameter without value refused");
	OK(parse_s(r, DASH "Content-Disposition: form-data name=a" CRLF CRLF CLOSE) == MP_EBODY,
	   "missing ';' refused");
	OK(parse_s(r, DASH "Content-Disposition : form-data; name=a" CRLF CRLF CLOSE) == MP_EBODY,
	   "space before the colon refused");
	OK(parse_s(r,
	           DASH "Content-Disposition: form-data; name=\"a\"; foo=\"b;c\"; size=3;" CRLF CRLF
	                "v" CLOSE) == MP_OK &&
	       strcmp(buf_cstr(&r->t), "[0 a]v[/]") == 0,
	   "unknown parameters and a trailing ';' are ignored");
	OK(parse_s(r, DASH FIELD("a") "Content-Transfer-Encoding: base64" CRLF CRLF "dg==" CLOSE) ==
	       MP_EBODY,
	   "Content-Transfer-Encoding base64 refused");
	OK(parse_s(r, DASH FIELD("a") "Content-Transfer-Encoding: Binary" CRLF CRLF "v" CLOSE) ==
	       MP_OK,
	   "Content-Transfer-Encoding binary accepted");

	memset(name, 'n', 996);
	memcpy(name + 996, ".pdf", 5);
	snprintf(body, sizeof(body), DASH FILEP("file", "%s") CRLF "x" CLOSE, name);
	OK(parse_s(r, body) == MP_OK && strcmp(r->fname, name) == 0,
	   "1,000-byte filename is passed on whole");
	s = mp_sanitize_filename(a, r->fname);
	OK(s != NULL && strlen(s) == 255 && strcmp(s + 251, ".pdf") == 0,
	   "... and sanitised to 255 bytes keeping .pdf");
}

static void
test_limits(struct rec *r)
{
	struct mp_limits lim = {0};
	struct buf b = {0};
	char line[9000];
	int i;

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	buf_printf(&b, DASH FIELD("a") "X-Big: %s" CRLF CRLF "v" CLOSE, line);
	OK(parse_s(r, buf_cstr(&b)) == MP_EBODY, "9,000-byte header refused by default");
	STR_EQ(r->err, "part headers too large (at most 8192 bytes)", "header size message");

	lim.max_header_bytes = strlen(FIELD("a") CRLF);
	OK(parse_lim(r, DASH FIELD("a") CRLF "v" CLOSE, &lim) == MP_OK,
	   "headers exactly at the limit");
	lim.max_header_bytes = strlen(FIELD("a") CRLF) - 1;
	OK(parse_lim(r, DASH FIELD("a") CRLF "v" CLOSE, &lim) == MP_EBODY,
	   "headers one byte over the limit");
	lim.max_header_bytes = 0;

	buf_reset(&b);
	for (i = 0; i < 16; i++)
		buf_printf(&b, DASH FIELD("f%d") CRLF "%d" CRLF, i, i);
	buf_puts(&b, "--" B "--");
	OK(parse_s(r, buf_cstr(&b)) == MP_OK, "16 parts accepted by default");
	buf_reset(&b);
	for (i = 0; i < 17; i++)
		buf_printf(&b, DASH FIELD("f%d") CRLF "%d" CRLF, i, i);
	buf_puts(&b, "--" B "--");
	OK(parse_s(r, buf_cstr(&b)) == MP_EBODY, "17 parts refused");
	STR_EQ(r->err, "too many parts (at most 16)", "too many parts message");
	lim.max_parts = 2;
	OK(parse_lim(r,
	             DASH FIELD("a") CRLF "1" CRLF DASH FIELD("b") CRLF "2" CRLF DASH FIELD("c")
	                 CRLF "3" CLOSE,
	             &lim) == MP_EBODY &&
	       strcmp(buf_cstr(&r->t), "[0 a]1[/][1 b]2[/]") == 0,
	   "a configured part limit stops before the extra part's headers");
	lim.max_parts = 0;

	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=a; b=1; c=2; d=3; e=4; f=5; g=6; h=7" CRLF
	               CRLF CLOSE) == MP_OK,
	   "8 parameters accepted");
	OK(parse_s(r, DASH
	           "Content-Disposition: form-data; name=a; b=1; c=2; d=3; e=4; f=5; g=6; h=7; "
	           "i=8" CRLF CRLF CLOSE) == MP_EBODY &&
	       strstr(r->err, "too many parameters") != NULL,
	   "9 parameters refused");
	buf_free(&b);
}

static void
test_callbacks(struct rec *r)
{
	const char *body = DASH FIELD("a") CRLF "1" CRLF DASH FILEP("file", "x.pdf") CRLF "2" CLOSE;
	struct mp_limits lim = {0};
	struct mp *mp;
	int st;

	r->fail_at = 1;
	r->abort_msg = "document_type must come first";
	st = parse_s(r, body);
	OK(st == MP_EABORT, "part_begin refusing stops the parse with MP_EABORT");
	STR_EQ(r->err, "document_type must come first", "the callback's message is the error");
	OK(r->calls == 1 && r->after_error == 0, "no callback after the refusal, sticky error");
	r->fail_at = 4; /* begin a, data 1, end a, begin file */
	r->abort_msg = NULL;
	OK(parse_s(r, body) == MP_EABORT && strcmp(r->err, "the upload was refused") == 0,
	   "refusal without a message gets the default one");
	r->fail_at = 5;
	r->abort_msg = "the file is larger than 50 MiB";
	OK(parse_s(r, body) == MP_EABORT && r->calls == 5 && r->after_error == 0,
	   "part_data refusing stops the parse");
	r->fail_at = 0;
	r->abort_msg = NULL;
	OK(parse_s(r, body) == MP_OK && r->calls == 6 && r->after_error == 0,
	   "all six callbacks run when none refuses");

	mp = mp_new(B, NULL, NULL, NULL);
	OK(mp != NULL && mp_error(mp) == NULL, "no callbacks at all is fine; no error yet");
	OK(mp_feed(mp, body, strlen(body)) == MP_OK && mp_finish(mp) == MP_OK &&
	       mp_finish(mp) == MP_OK,
	   "parse without callbacks; mp_finish twice");
	OK(mp_feed(mp, "x", 1) == MP_EBODY && mp_error(mp) != NULL,
	   "mp_feed after mp_finish fails");
	mp_free(mp);
	mp = mp_new(B, NULL, NULL, NULL);
	mp_abort(mp, "client went away");
	OK(mp_feed(mp, body, strlen(body)) == MP_EABORT && mp_finish(mp) == MP_EABORT,
	   "mp_abort between feeds");
	STR_EQ(mp_error(mp), "client went away", "mp_abort message kept");
	mp_free(mp);
	mp_free(NULL);
	OK(mp_new("", NULL, NULL, NULL) == NULL && mp_new("bad@", NULL, NULL, NULL) == NULL &&
	       mp_new("trailing ", NULL, NULL, NULL) == NULL &&
	       mp_new(NULL, NULL, NULL, NULL) == NULL,
	   "mp_new refuses invalid boundaries");
	lim.max_header_bytes = MP_MAX_HEADER_LIMIT + 1;
	OK(mp_new(B, &lim, NULL, NULL) == NULL, "mp_new refuses an oversized header limit");
}

/* A 1 MiB file fed in 64 KiB reads: content must come out as it goes in, short of at most one
 * delimiter's worth of bytes held back. */
static void
test_streaming(struct rec *r)
{
	const size_t size = 1 << 20, chunk = 65536;
	struct buf body = {0};
	size_t i, fed, hdr, lag = 0, delim = strlen(CRLF "--" B);
	bool same;

	buf_puts(&body, DASH FILEP("file", "big.bin") CRLF);
	hdr = body.len;
	for (i = 0; i < size; i++)
		buf_putc(&body, (char)(i % 251 == 0 ? '\r' : 'a' + i % 26));
	buf_puts(&body, CLOSE);
	buf_reset(&r->t);
	r->data_bytes = 0;
	r->fail_at = 0;
	r->returned_error = false;
	r->mp = mp_new(B, NULL, &cbs, r);
	for (fed = 0; fed < body.len; fed += chunk) {
		mp_feed(r->mp, body.data + fed, fed + chunk < body.len ? chunk : body.len - fed);
		if (fed + chunk < hdr + size && hdr + r->data_bytes + delim < fed + chunk)
			lag++;
	}
	OK(mp_finish(r->mp) == MP_OK, "1 MiB file in 64 KiB pieces parses");
	OK(lag == 0, "content is passed on as it arrives, not held");
	same = r->data_bytes == size;
	for (i = 0; same && i < size; i++)
		same = r->t.data[strlen("[0 file f=big.bin]") + i] == body.data[hdr + i];
	OK(same, "1 MiB content delivered intact");
	mp_free(r->mp);
	r->mp = NULL;
	buf_free(&body);
}

static void
test_sanitize(struct arena *a)
{
	STR_EQ(mp_sanitize_filename(a, "day3.pdf"), "day3.pdf", "sanitise: plain name kept");
	STR_EQ(mp_sanitize_filename(a, "../../etc/passwd"), "passwd", "sanitise: ../../etc/passwd");
	STR_EQ(mp_sanitize_filename(a, "..\\..\\x.pdf"), "x.pdf", "sanitise: ..\\..\\x.pdf");
	STR_EQ(mp_sanitize_filename(a, "C:\\x\\y.pdf"), "y.pdf", "sanitise: C:\\x\\y.pdf");
	STR_EQ(mp_sanitize_filename(a, "C:y.pdf"), "y.pdf", "sanitise: drive-relative name");
	STR_EQ(mp_sanitize_filename(a, "/abs/path/r\xc3\xa9sultat.pdf"), "r\xc3\xa9sultat.pdf",
	       "sanitise: absolute path, UTF-8 kept");
	OK(mp_sanitize_filename(a, "..") == NULL, "sanitise: .. refused");
	OK(mp_sanitize_filename(a, ".") == NULL, "sanitise: . refused");
	OK(mp_sanitize_filename(a, "a/..") == NULL, "sanitise: a/.. refused");
	OK(mp_sanitize_filename(a, "x/") == NULL, "sanitise: name ending in / refused");
	OK(mp_sanitize_filename(a, "") == NULL, "sanitise: empty refused");
	OK(mp_sanitize_filename(a, "  \t ") == NULL, "sanitise: blank refused");
	OK(mp_sanitize_filename(a, ".\x01.") == NULL, "sanitise: .. hidden by a control refused");
	OK(mp_sanitize_filename(a, NULL) == NULL, "sanitise: NULL refused");
	STR_EQ(mp_sanitize_filename(a, "a\tb\r\n\x1b[31mc\x7f.pdf"), "ab[31mc.pdf",
	       "sanitise: C0 controls and DEL removed");
	STR_EQ(mp_sanitize_filename(a, "a\xc2\x85"
	                               "b\xe2\x80\xae"
	                               "fdp.exe"),
	       "abfdp.exe", "sanitise: C1 control and bidi override removed");
	STR_EQ(mp_sanitize_filename(a, "  spaced name.pdf  "), "spaced name.pdf",
	       "sanitise: outer spaces trimmed");
	OK(mp_sanitize_filename(a, "\xff.pdf") == NULL, "sanitise: invalid UTF-8 refused");
	OK(mp_sanitize_filename(a, "a\xc0\xaf.pdf") == NULL, "sanitise: overlong UTF-8 refused");
	OK(mp_sanitize_filename(a, "...") != NULL, "sanitise: ... is a plain name");
}

/* Long names: cut to 255 bytes on a character boundary with the extension kept. */
static void
test_sanitize_long(struct arena *a)
{
	char name[1200];
	const char *s;
	size_t i;

	for (i = 0; i < 300; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3);
	memcpy(name + 900, ".pdf", 5);
	s = mp_sanitize_filename(a, name);
	OK(s != NULL && strlen(s) <= 255 && strlen(s) == 249 + 4 &&
	       strcmp(s + strlen(s) - 4, ".pdf") == 0 && utf8_valid(s, strlen(s)),
	   "sanitise: 3-byte characters cut on a boundary, .pdf kept");
	memset(name, 'x', 300);
	memcpy(name + 300, ".averyveryverylongextension", 28);
	s = mp_sanitize_filename(a, name);
	OK(s != NULL && strlen(s) == 255 && s[254] == 'x',
	   "sanitise: a long extension is not kept");
	memset(name, ' ', 400);
	name[0] = 'a';
	memcpy(name + 400, "b", 2);
	s = mp_sanitize_filename(a, name);
	STR_EQ(s, "a", "sanitise: a cut among spaces leaves no trailing space");
	memcpy(name + 400, "b.pdf", 6);
	s = mp_sanitize_filename(a, name);
	STR_EQ(s, "a.pdf", "sanitise: ... nor before the extension");
	memset(name, 'y', 255);
	name[255] = '\0';
	s = mp_sanitize_filename(a, name);
	OK(s != NULL && strlen(s) == 255, "sanitise: 255 bytes untouched");
}

int
main(void)
{
	struct arena *a = arena_new();
	struct rec r = {0};

	test_boundary();
	test_basic(&r);
	test_lookalikes(&r);
	test_headers(&r, a);
	test_limits(&r);
	test_callbacks(&r);
	test_streaming(&r);
	test_sanitize(a);
	test_sanitize_long(a);
	buf_free(&r.t);
	arena_free(a);
	return tap_done();
}
