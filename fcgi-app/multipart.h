/* multipart.h: streaming multipart/form-data parser (RFC 7578, body syntax of RFC 2046) for
 * uploads.
 *
 * The request body is pushed through in chunks of any size (mp_feed); each part's headers are
 * decoded and handed to part_begin, its content goes to part_data as it arrives, and part_end marks
 * its end. The body is never held: besides one part's headers (bounded by max_header_bytes) the
 * parser keeps only a count of how much of a possible boundary it has seen, never the bytes. All
 * memory is allocated by mp_new and released by mp_free; feeding allocates nothing.
 *
 * Syntax accepted (everything else is an error with a message for the client, see mp_error):
 * - the preamble before the first boundary and the epilogue after the closing one are ignored;
 * - a delimiter is CRLF "--" boundary (or "--" boundary at the very start of the body) followed by
 *   "--" (the end) or by optional spaces/tabs and CRLF. "--" boundary followed by anything else
 *   (another letter, a single '-') is part content, not a delimiter; after a space, tab or CR the
 *   line must be a delimiter line, else the body is malformed;
 * - part headers: lines ending in CRLF (bare CR or LF refused), names case-insensitive, no folded
 *   (continuation) lines, no NUL or other control characters except tab, at most max_header_bytes
 *   for all lines of one part including their CRLFs and the empty line that ends them;
 * - every part needs "Content-Disposition: form-data" with a name parameter; parameter values are
 *   tokens or quoted strings, where a backslash escapes '"' and '\\' (any other backslash is kept,
 * as browsers send Windows paths unescaped); filename*=charset'lang'pct-encoded (RFC 8187, charset
 * UTF-8 or ISO-8859-1, which is converted to UTF-8) takes precedence over filename=; parameter
 * names are case-insensitive, may not repeat, and unknown ones are ignored;
 * - Content-Transfer-Encoding, when present, must be 7bit, 8bit or binary (nothing is decoded);
 * - a body with no parts ("--boundary--") is accepted: the caller finds its required fields
 *   missing.
 * The parser sets no limit on the size of the body, the preamble, the epilogue or a part's content:
 * the caller counts what it feeds (and what part_data receives) and stops at its own limit (413).
 */
#ifndef FV_MULTIPART_H
#define FV_MULTIPART_H

#include <stddef.h>
#include "arena.h"

/* RFC 2046: a boundary is 1..70 characters. */
#define MP_BOUNDARY_MAX 70

#define MP_DEFAULT_MAX_HEADER_BYTES 8192
#define MP_DEFAULT_MAX_PARTS 16
#define MP_DEFAULT_MAX_PARAMS 8
#define MP_MAX_HEADER_LIMIT (1024 * 1024)

/* The longest name mp_sanitize_filename returns, in bytes. */
#define MP_FILENAME_MAX 255

/* mp_feed and mp_finish results. */
enum mp_status {
	MP_OK = 0,
	MP_EBODY = -1,  /* the body is malformed or exceeds a limit: answer 400 */
	MP_EABORT = -2, /* a callback refused (returned non-zero or called mp_abort): the caller
	                   knows why and picks the status (413, 415, 500...) */
};

/* Copies the boundary parameter of a Content-Type header value ("multipart/form-data;
 * boundary=..." with the type and parameter names in any case, the value a token or a quoted
 * string, other parameters allowed) into out as a NUL-terminated string; outlen should be at least
 * MP_BOUNDARY_MAX + 1. Returns 0, or -1 with *errmsg (when errmsg is not NULL) set to a static
 * message for the client: "the request body must be multipart/form-data", "the Content-Type has no
 * boundary", "the multipart boundary is invalid (...)", "the multipart boundary is too long" (for
 * outlen), "malformed Content-Type". out is "" on error. */
int mp_boundary(const char *content_type, char *out, size_t outlen, const char **errmsg);

/* The headers of one part. The strings are owned by the parser and valid until part_end returns
 * (or mp_free, if the body ends in an error first): copy what you keep. All are NUL-terminated,
 * valid UTF-8 and free of NUL bytes. */
struct mp_part {
	size_t index;             /* 0 for the first part */
	const char *name;         /* the form field's name, never NULL (may be "") */
	const char *filename;     /* decoded but NOT sanitised (see mp_sanitize_filename); NULL
	                             when the part has none, "" when the client sent an empty one
	                             (a file input with nothing chosen) */
	const char *content_type; /* the part's Content-Type value as sent (parameters included,
	                             white space trimmed), or NULL; informational only */
};

/* Every callback may be NULL. A non-zero return stops the parse: the mp_feed in progress returns
 * MP_EABORT and mp_error gives the message set with mp_abort, or "the upload was refused" when
 * none was. part_data receives a part's content in pieces of any size (possibly 0 pieces for an
 * empty part, never a zero-length piece); the pointer is valid only during the call. After
 * part_begin, exactly one part_end follows unless the parse fails first (then none: clean up on
 * the error). Callbacks must not call mp_feed, mp_finish or mp_free on their own parser. */
struct mp_callbacks {
	int (*part_begin)(void *arg, const struct mp_part *part);
	int (*part_data)(void *arg, const char *p, size_t n);
	int (*part_end)(void *arg);
};

/* Zero fields take the defaults above. max_header_bytes counts every header byte of one part (at
 * most MP_MAX_HEADER_LIMIT, as mp_new allocates it twice); max_parts counts parts begun; max_params
 * counts the parameters of one Content-Disposition. */
struct mp_limits {
	size_t max_header_bytes;
	size_t max_parts;
	size_t max_params;
};

struct mp;

/* A parser for a body with this boundary (as returned by mp_boundary: 1..70 characters of the
 * RFC 2046 set, not ending in a space). lim may be NULL for the defaults, cb NULL for no callbacks;
 * both are copied. arg is passed to every callback. Returns NULL for an invalid boundary, a
 * max_header_bytes above MP_MAX_HEADER_LIMIT, or when out of memory. Free with mp_free. */
struct mp *mp_new(const char *boundary, const struct mp_limits *lim, const struct mp_callbacks *cb,
                  void *arg);
/* Pushes the next len bytes of the body. Returns MP_OK, or MP_EBODY / MP_EABORT. Errors are
 * sticky: once one happened, every later mp_feed and mp_finish returns it again and no callback is
 * called any more. Feeding after mp_finish is a programming error (MP_EBODY). */
int mp_feed(struct mp *mp, const char *data, size_t len);
/* Declares the end of the body. Returns MP_OK when the closing boundary was seen, else MP_EBODY
 * with "the upload was cut off before its end" (or "the body does not contain the multipart
 * boundary" when not even the first boundary came), or the earlier sticky error. Calls no
 * callback. */
int mp_finish(struct mp *mp);
/* The message of the error that stopped the parse, for the client and the log, or NULL when there
 * was none. Valid until mp_free. */
const char *mp_error(const struct mp *mp);
/* Stops the parse with msg (copied, truncated to about 200 bytes; NULL for the default). Meant for
 * callbacks ("the file is larger than 50 MiB") before returning non-zero; called between feeds it
 * makes the next mp_feed/mp_finish fail with MP_EABORT. An earlier error is kept. */
void mp_abort(struct mp *mp, const char *msg);
/* Releases everything the parser owns, including the strings of the current part. NULL is fine. */
void mp_free(struct mp *mp);

/* A safe display and storage name made from a client's file name: the part after the last '/' or
 * '\\' (and after a leading drive letter "C:"), without control characters (C0, DEL, C1), the
 * Unicode bidirectional controls and the line/paragraph separators, without leading and trailing
 * spaces, and cut to at most MP_FILENAME_MAX bytes on a character boundary, keeping an extension of
 * up to 16 bytes. Returns a string allocated in a, or NULL when name is NULL, not valid UTF-8, or
 * ends up empty, "." or "..": the caller answers 400. The result may still contain quotes,
 * semicolons, '%' and so on: escape it wherever it is written (a header, HTML, a log). */
const char *mp_sanitize_filename(struct arena *a, const char *name);

#endif
