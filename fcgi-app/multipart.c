/* multipart.c: streaming multipart/form-data parser and file-name sanitiser (see multipart.h).
 *
 * The boundary search relies on one property of the delimiter CRLF "--" boundary: the boundary
 * holds no CR (RFC 2046 bchars), so a CR occurs only as its first byte. When a partial match fails,
 * no later match can start inside the bytes already matched, so the scan resumes at the byte that
 * failed and the matched prefix, being a prefix of the known delimiter, can be replayed from the
 * delimiter itself. The parser therefore keeps a match count across feeds, never the bytes. Like
 * input.c, nothing here uses <ctype.h>, whose classes depend on the locale. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "multipart.h"

#define DELIM_PREFIX 4 /* CR LF '-' '-' */
#define EXT_MAX 16     /* longest extension mp_sanitize_filename keeps when it shortens a name */

enum state {
	S_PREAMBLE,    /* before the first delimiter: bytes are dropped */
	S_DATA,        /* a part's content */
	S_AFTER_DELIM, /* a whole delimiter matched: the next byte says whether it is one */
	S_AFTER_DASH,  /* ... and one '-' after it */
	S_PADDING,     /* a delimiter line: spaces and tabs until CR */
	S_LF,          /* a delimiter line: CR seen, LF expected */
	S_HEADERS,     /* a part's header lines */
	S_EPILOGUE,    /* after the closing delimiter: bytes are dropped */
	S_DONE,        /* mp_finish succeeded */
	S_ERROR,
};

struct mp {
	enum state state;
	int status; /* MP_OK until an error, then the sticky error */
	struct mp_callbacks cb;
	void *arg;
	struct mp_limits lim;

	/* "\r\n--" boundary "-": the delimiter (dlen bytes) plus the dash replayed as data when
	 * "--boundary-" turns out not to close the body. */
	char delim[DELIM_PREFIX + MP_BOUNDARY_MAX + 1];
	size_t dlen;
	size_t m;      /* bytes of delim matched so far, carried across feeds */
	bool in_part;  /* bytes before the delimiter belong to a part (else to the preamble) */
	size_t nparts; /* parts begun */

	char *hdr; /* the current part's header bytes, max_header_bytes long */
	size_t hdr_len;
	size_t line_start; /* offset in hdr of the line being read */

	char *vals; /* decoded header values the current mp_part points into */
	size_t vals_cap, vals_len;
	struct mp_part part;

	char errbuf[224]; /* the message of the sticky error */
};

/* ---- characters ---- */

static bool
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar: what header names and unquoted parameter names and values are made of. */
static bool
is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 2046 bcharsnospace. */
static bool
is_bchar_nospace(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("'()+_,-./:=?", c) != NULL);
}

/* RFC 8187 attr-char: what may appear unencoded in an ext-value. */
static bool
is_attr_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static bool
ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

static bool
boundary_valid(const char *b, size_t n)
{
	size_t i;

	if (n == 0 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if (b[i] != ' ' && !is_bchar_nospace((unsigned char)b[i]))
			return false;
	return true;
}

/* ---- Content-Type of the request ---- */

static size_t
skip_ows(const char *s, size_t i)
{
	while (is_ows((unsigned char)s[i]))
		i++;
	return i;
}

static size_t
span_token(const char *s, size_t i)
{
	while (is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

int
mp_boundary(const char *content_type, char *out, size_t outlen, const char **errmsg)
{
	const char *s = content_type, *msg = "malformed Content-Type";
	size_t i, t, n, vlen;
	bool found = false, name_is_boundary;
	char val[MP_BOUNDARY_MAX + 2];

	if (outlen > 0)
		out[0] = '\0';
	if (s == NULL) {
		msg = "the request body must be multipart/form-data";
		goto fail;
	}
	i = skip_ows(s, 0);
	t = span_token(s, i);
	if (s[t] != '/') {
		msg = "the request body must be multipart/form-data";
		goto fail;
	}
	n = span_token(s, t + 1);
	if (!ieq(s + i, t - i, "multipart") || !ieq(s + t + 1, n - t - 1, "form-data")) {
		msg = "the request body must be multipart/form-data";
		goto fail;
	}
	i = n;
	for (;;) {
		i = skip_ows(s, i);
		if (s[i] == '\0')
			break;
		if (s[i] != ';')
			goto fail;
		i = skip_ows(s, i + 1);
		if (s[i] == '\0')
			break; /* a trailing ';' is harmless */
		t = span_token(s, i);
		if (t == i)
			goto fail;
		name_is_boundary = ieq(s + i, t - i, "boundary");
		i = skip_ows(s, t);
		if (s[i] != '=')
			goto fail;
		i = skip_ows(s, i + 1);
		vlen = 0;
		if (s[i] == '"') {
			for (i++; s[i] != '"'; i++) {
				if (s[i] == '\\' && s[i + 1] != '\0')
					i++;
				if (s[i] == '\0' || (unsigned char)s[i] < 0x20)
					goto fail;
				if (vlen < sizeof(val) - 1)
					val[vlen] = s[i];
				vlen++;
			}
			i++;
		} else {
			/* Unquoted, a boundary may use every bchar but space, although
			 * '(' ')' ',' '/' ':' '=' '?' are not token characters: clients
			 * send them and none of them can end the value early. */
			for (;
			     is_bchar_nospace((unsigned char)s[i]) || is_tchar((unsigned char)s[i]);
			     i++) {
				if (vlen < sizeof(val) - 1)
					val[vlen] = s[i];
				vlen++;
			}
			if (vlen == 0)
				goto fail;
		}
		if (!name_is_boundary)
			continue;
		if (found)
			goto fail;
		found = true;
		if (vlen >= sizeof(val) || !boundary_valid(val, vlen)) {
			msg =
			    "the multipart boundary is invalid (1 to 70 letters, digits, spaces or "
			    "'()+_,-./:=? not ending in a space)";
			goto fail;
		}
		if (vlen + 1 > outlen) {
			msg = "the multipart boundary is too long";
			goto fail;
		}
		memcpy(out, val, vlen);
		out[vlen] = '\0';
	}
	if (!found) {
		msg = "the Content-Type has no boundary";
		goto fail;
	}
	if (errmsg != NULL)
		*errmsg = NULL;
	return 0;
fail:
	if (outlen > 0)
		out[0] = '\0';
	if (errmsg != NULL)
		*errmsg = msg;
	return -1;
}

/* ---- parser life cycle and errors ---- */

struct mp *
mp_new(const char *boundary, const struct mp_limits *lim, const struct mp_callbacks *cb, void *arg)
{
	struct mp *mp;
	size_t blen;

	if (boundary == NULL)
		return NULL;
	blen = strlen(boundary);
	if (!boundary_valid(boundary, blen) ||
	    (lim != NULL && lim->max_header_bytes > MP_MAX_HEADER_LIMIT))
		return NULL;
	mp = calloc(1, sizeof(*mp));
	if (mp == NULL)
		return NULL;
	if (lim != NULL)
		mp->lim = *lim;
	if (mp->lim.max_header_bytes == 0)
		mp->lim.max_header_bytes = MP_DEFAULT_MAX_HEADER_BYTES;
	if (mp->lim.max_parts == 0)
		mp->lim.max_parts = MP_DEFAULT_MAX_PARTS;
	if (mp->lim.max_params == 0)
		mp->lim.max_params = MP_DEFAULT_MAX_PARAMS;
	if (cb != NULL)
		mp->cb = *cb;
	mp->arg = arg;
	memcpy(mp->delim, "\r\n--", DELIM_PREFIX);
	memcpy(mp->delim + DELIM_PREFIX, boundary, blen);
	mp->dlen = DELIM_PREFIX + blen;
	mp->delim[mp->dlen] = '-';
	/* The first delimiter may open the body without a CRLF before it: start as if one had
	 * been matched. Should it not be a delimiter, the replayed CRLF lands in the preamble. */
	mp->state = S_PREAMBLE;
	mp->m = 2;
	/* Decoded values are never longer than their encoded form plus a NUL, and every value
	 * comes from a distinct stretch of the header bytes, so this much always suffices. */
	mp->vals_cap = mp->lim.max_header_bytes + 1;
	mp->hdr = malloc(mp->lim.max_header_bytes);
	mp->vals = malloc(mp->vals_cap);
	if (mp->hdr == NULL || mp->vals == NULL) {
		mp_free(mp);
		return NULL;
	}
	return mp;
}

void
mp_free(struct mp *mp)
{
	if (mp == NULL)
		return;
	free(mp->hdr);
	free(mp->vals);
	free(mp);
}

/* Records the first error; later ones would only describe its consequences. Always returns -1 so
 * that callers can "return fail(...)". */
static int fail_status(struct mp *mp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail_status(struct mp *mp, int status, const char *fmt, ...)
{
	va_list ap;

	if (mp->status != MP_OK)
		return -1;
	va_start(ap, fmt);
	vsnprintf(mp->errbuf, sizeof(mp->errbuf), fmt, ap);
	va_end(ap);
	mp->status = status;
	mp->state = S_ERROR;
	return -1;
}

#define fail(mp, ...) fail_status((mp), MP_EBODY, __VA_ARGS__)

void
mp_abort(struct mp *mp, const char *msg)
{
	fail_status(mp, MP_EABORT, "%s", msg != NULL ? msg : "the upload was refused");
}

const char *
mp_error(const struct mp *mp)
{
	return mp->status == MP_OK ? NULL : mp->errbuf;
}

/* ---- callbacks ---- */

static int
callback_failed(struct mp *mp)
{
	mp_abort(mp, NULL); /* keeps a message the callback set itself */
	return -1;
}

/* Passes part content on; preamble bytes are dropped. */
static int
emit(struct mp *mp, const char *p, size_t n)
{
	if (!mp->in_part || n == 0 || mp->cb.part_data == NULL)
		return 0;
	if (mp->cb.part_data(mp->arg, p, n) != 0 || mp->status != MP_OK)
		return callback_failed(mp);
	return 0;
}

/* A delimiter is certain: the part before it, if any, is complete. */
static int
end_part(struct mp *mp)
{
	if (!mp->in_part)
		return 0;
	mp->in_part = false;
	if (mp->cb.part_end != NULL && (mp->cb.part_end(mp->arg) != 0 || mp->status != MP_OK))
		return callback_failed(mp);
	return 0;
}

/* ---- part headers ---- */

/* Appends to the decoded values. The bound is only a guard: vals_cap suffices by construction. */
static int
val_put(struct mp *mp, char c)
{
	if (mp->vals_len >= mp->vals_cap)
		return fail(mp, "part headers too large (at most %zu bytes)",
		            mp->lim.max_header_bytes);
	mp->vals[mp->vals_len++] = c;
	return 0;
}

/* Decodes a parameter value (token or quoted string) at v[*i..n) into vals, NUL-terminated, and
 * advances *i past it. Returns the offset of the value in vals, or -1. */
static long
param_value(struct mp *mp, const char *v, size_t n, size_t *i, bool *quoted)
{
	size_t j = *i, start = mp->vals_len;

	*quoted = j < n && v[j] == '"';
	if (*quoted) {
		for (j++;; j++) {
			if (j >= n)
				return fail(mp,
				            "malformed Content-Disposition (unterminated quoted "
				            "string)");
			if (v[j] == '"')
				break;
			/* Browsers do not escape backslashes (the HTML form encoding only
			 * percent-encodes '"', CR and LF), so a Windows path or a name with a
			 * backslash arrives as is: "\\" escapes only '"' and itself. */
			if (v[j] == '\\' && j + 1 < n && (v[j + 1] == '"' || v[j + 1] == '\\'))
				j++;
			if (val_put(mp, v[j]) != 0)
				return -1;
		}
		j++;
	} else {
		for (; j < n && is_tchar((unsigned char)v[j]); j++)
			if (val_put(mp, v[j]) != 0)
				return -1;
		if (j == *i)
			return fail(mp, "malformed Content-Disposition (a parameter has no value)");
	}
	if (val_put(mp, '\0') != 0)
		return -1;
	*i = j;
	return (long)start;
}

/* Decodes an RFC 8187 ext-value (charset'language'pct-encoded) in place in vals at off, turning
 * ISO-8859-1 into UTF-8; the result is never longer than the input. */
static int
ext_value(struct mp *mp, size_t off, const char *what)
{
	char *s = mp->vals + off;
	const char *q1 = strchr(s, '\''), *q2, *p;
	bool latin1;
	size_t o = 0;
	int hi, lo, c;

	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return fail(mp, "malformed %s* parameter (expected charset'language'value)", what);
	if (ieq(s, (size_t)(q1 - s), "utf-8"))
		latin1 = false;
	else if (ieq(s, (size_t)(q1 - s), "iso-8859-1"))
		latin1 = true;
	else
		return fail(mp, "the %s* parameter must use the UTF-8 character set", what);
	for (p = q1 + 1; p < q2; p++)
		if (!is_alpha((unsigned char)*p) && !is_digit((unsigned char)*p) && *p != '-')
			return fail(mp, "malformed %s* parameter (bad language tag)", what);
	for (p = q2 + 1; *p != '\0'; p++) {
		if (*p == '%') {
			hi = hex_digit((unsigned char)p[1]);
			lo = hi < 0 ? -1 : hex_digit((unsigned char)p[2]);
			if (lo < 0)
				return fail(mp, "malformed percent-encoding in the %s* parameter",
				            what);
			c = hi * 16 + lo;
			p += 2;
		} else if (is_attr_char((unsigned char)*p)) {
			c = (unsigned char)*p;
		} else {
			return fail(mp,
			            "malformed %s* parameter (character '%c' must be "
			            "percent-encoded)",
			            what, *p);
		}
		if (c == 0)
			return fail(mp, "the %s must not contain NUL characters", what);
		if (latin1 && c >= 0x80) {
			s[o++] = (char)(0xC0 | (c >> 6));
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			s[o++] = (char)c;
		}
	}
	s[o] = '\0';
	return 0;
}

/* Content-Disposition: form-data *( ";" name "=" value ). Sets part.name and part.filename. */
static int
parse_disposition(struct mp *mp, const char *v, size_t n)
{
	size_t i, t, saved, nparams = 0;
	long off, name = -1, fname = -1, fname_ext = -1, *slot;
	bool quoted;

	t = 0;
	while (t < n && is_tchar((unsigned char)v[t]))
		t++;
	if (!ieq(v, t, "form-data"))
		return fail(mp, "malformed Content-Disposition (the type must be form-data)");
	i = t;
	for (;;) {
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i == n)
			break;
		if (v[i] != ';')
			return fail(mp, "malformed Content-Disposition (expected ';' between "
			                "parameters)");
		i++;
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i == n)
			break; /* a trailing ';' is harmless */
		if (++nparams > mp->lim.max_params)
			return fail(mp, "too many parameters in Content-Disposition (at most %zu)",
			            mp->lim.max_params);
		t = i;
		while (t < n && is_tchar((unsigned char)v[t]))
			t++;
		if (t == i)
			return fail(mp, "malformed Content-Disposition (bad parameter name)");
		if (ieq(v + i, t - i, "name"))
			slot = &name;
		else if (ieq(v + i, t - i, "filename"))
			slot = &fname;
		else if (ieq(v + i, t - i, "filename*"))
			slot = &fname_ext;
		else
			slot = NULL;
		if (slot != NULL && *slot >= 0)
			return fail(mp, "malformed Content-Disposition (parameter %.*s repeated)",
			            (int)(t - i), v + i);
		i = t;
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i == n || v[i] != '=')
			return fail(mp, "malformed Content-Disposition (a parameter has no value)");
		i++;
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		saved = mp->vals_len;
		off = param_value(mp, v, n, &i, &quoted);
		if (off < 0)
			return -1;
		if (slot == NULL) {
			mp->vals_len = saved; /* an unknown parameter: checked, not kept */
			continue;
		}
		if (slot == &fname_ext && quoted)
			return fail(mp, "malformed filename* parameter (it must not be quoted)");
		if (slot == &fname_ext && ext_value(mp, (size_t)off, "filename") != 0)
			return -1;
		*slot = off;
	}
	if (name < 0)
		return fail(mp, "malformed Content-Disposition (a part has no name)");
	mp->part.name = mp->vals + name;
	if (fname_ext >= 0)
		mp->part.filename = mp->vals + fname_ext;
	else if (fname >= 0)
		mp->part.filename = mp->vals + fname;
	if (!utf8_valid(mp->part.name, strlen(mp->part.name)))
		return fail(mp, "a field name is not valid UTF-8");
	if (mp->part.filename != NULL && !utf8_valid(mp->part.filename, strlen(mp->part.filename)))
		return fail(mp, "the file name is not valid UTF-8");
	return 0;
}

/* Parses the complete header block hdr[0..line_start): lines ending in CRLF, none empty. */
static int
parse_headers(struct mp *mp)
{
	const char *h = mp->hdr, *line, *colon, *val;
	size_t pos = 0, end = mp->line_start, llen, nlen, vlen, i;
	bool have_cd = false, have_ct = false;

	memset(&mp->part, 0, sizeof(mp->part));
	mp->part.index = mp->nparts - 1;
	mp->vals_len = 0;
	while (pos < end) {
		line = h + pos;
		llen = (size_t)((const char *)memchr(line, '\r', end - pos) - line);
		pos += llen + 2;
		colon = memchr(line, ':', llen);
		if (colon == NULL || colon == line)
			return fail(mp, "malformed part header (expected Name: value)");
		nlen = (size_t)(colon - line);
		for (i = 0; i < nlen; i++)
			if (!is_tchar((unsigned char)line[i]))
				return fail(mp, "malformed part header (bad header name)");
		val = colon + 1;
		vlen = llen - nlen - 1;
		while (vlen > 0 && is_ows((unsigned char)val[0])) {
			val++;
			vlen--;
		}
		while (vlen > 0 && is_ows((unsigned char)val[vlen - 1]))
			vlen--;
		if (ieq(line, nlen, "content-disposition")) {
			if (have_cd)
				return fail(mp, "a part has two Content-Disposition headers");
			have_cd = true;
			if (parse_disposition(mp, val, vlen) != 0)
				return -1;
		} else if (ieq(line, nlen, "content-type")) {
			if (have_ct)
				return fail(mp, "a part has two Content-Type headers");
			have_ct = true;
			if (!utf8_valid(val, vlen))
				return fail(mp, "a part's Content-Type is not valid UTF-8");
			mp->part.content_type = mp->vals + mp->vals_len;
			for (i = 0; i < vlen; i++)
				if (val_put(mp, val[i]) != 0)
					return -1;
			if (val_put(mp, '\0') != 0)
				return -1;
		} else if (ieq(line, nlen, "content-transfer-encoding")) {
			if (!ieq(val, vlen, "binary") && !ieq(val, vlen, "8bit") &&
			    !ieq(val, vlen, "7bit"))
				return fail(mp, "Content-Transfer-Encoding must be binary, 8bit or "
				                "7bit (send the bytes as they are)");
		}
	}
	if (!have_cd)
		return fail(mp, "a part has no Content-Disposition header");
	return 0;
}

/* One header byte. At the empty line that ends the block the part begins. */
static int
header_byte(struct mp *mp, char c)
{
	unsigned char u = (unsigned char)c;
	bool after_cr = mp->hdr_len > mp->line_start && mp->hdr[mp->hdr_len - 1] == '\r';

	if (mp->hdr_len == mp->lim.max_header_bytes)
		return fail(mp, "part headers too large (at most %zu bytes)",
		            mp->lim.max_header_bytes);
	if (u == 0)
		return fail(mp, "part headers must not contain NUL bytes");
	if (after_cr != (u == '\n'))
		return fail(mp, "malformed part headers (lines must end with CRLF)");
	if ((u < 0x20 && u != '\t' && u != '\r' && u != '\n') || u == 0x7F)
		return fail(mp, "part headers must not contain control characters");
	if (mp->hdr_len == mp->line_start && is_ows(u))
		return fail(mp, "folded part headers are not allowed");
	mp->hdr[mp->hdr_len++] = c;
	if (u != '\n')
		return 0;
	if (mp->hdr_len - mp->line_start > 2) {
		mp->line_start = mp->hdr_len;
		return 0;
	}
	if (parse_headers(mp) != 0)
		return -1;
	mp->in_part = true;
	mp->state = S_DATA;
	mp->m = 0;
	if (mp->cb.part_begin != NULL &&
	    (mp->cb.part_begin(mp->arg, &mp->part) != 0 || mp->status != MP_OK))
		return callback_failed(mp);
	return 0;
}

/* ---- the body ---- */

/* Scans preamble or part content from p[i] for the delimiter, passing content on in runs as long
 * as the input allows. Returns the index of the first byte not consumed. */
static size_t
scan_body(struct mp *mp, const char *p, size_t len, size_t i)
{
	size_t run, j, k, m;
	const char *cr;

	if (mp->m > 0) {
		/* A delimiter prefix left by the previous feed; its bytes are not in p. */
		while (mp->m < mp->dlen && i < len && p[i] == mp->delim[mp->m]) {
			mp->m++;
			i++;
		}
		if (mp->m == mp->dlen) {
			mp->m = 0;
			mp->state = S_AFTER_DELIM;
			return i;
		}
		if (i == len)
			return i;
		m = mp->m;
		mp->m = 0;
		if (emit(mp, mp->delim, m) != 0)
			return len;
	}
	run = i;
	for (;;) {
		cr = memchr(p + i, '\r', len - i);
		if (cr == NULL) {
			emit(mp, p + run, len - run);
			return len;
		}
		j = (size_t)(cr - p);
		for (k = 0; k < mp->dlen && j + k < len && p[j + k] == mp->delim[k]; k++)
			;
		if (k == mp->dlen || j + k == len) {
			if (emit(mp, p + run, j - run) != 0)
				return len;
			if (k == mp->dlen) {
				mp->state = S_AFTER_DELIM;
				return j + k;
			}
			mp->m = k;
			return len;
		}
		i = j + k; /* k >= 1: the byte that failed may itself be a CR */
	}
}

/* "--boundary" was followed by something that makes it content after all: replay it (and the '-'
 * seen after it, if any) and go on scanning at the current byte. */
static void
not_a_delimiter(struct mp *mp, bool dash)
{
	mp->state = mp->in_part ? S_DATA : S_PREAMBLE;
	mp->m = 0;
	emit(mp, mp->delim, mp->dlen + (dash ? 1 : 0));
}

int
mp_feed(struct mp *mp, const char *data, size_t len)
{
	size_t i = 0;
	unsigned char c;

	if (mp->state == S_DONE)
		fail(mp, "internal error: mp_feed after mp_finish");
	while (i < len && mp->state != S_ERROR) {
		c = (unsigned char)data[i];
		switch (mp->state) {
		case S_PREAMBLE:
		case S_DATA:
			i = scan_body(mp, data, len, i);
			break;
		case S_AFTER_DELIM:
			if (c == '-') {
				mp->state = S_AFTER_DASH;
				i++;
			} else if (is_ows(c) || c == '\r') {
				if (end_part(mp) == 0)
					mp->state = c == '\r' ? S_LF : S_PADDING;
				i++;
			} else {
				not_a_delimiter(mp, false);
			}
			break;
		case S_AFTER_DASH:
			if (c == '-') {
				if (end_part(mp) == 0)
					mp->state = S_EPILOGUE;
				i++;
			} else {
				not_a_delimiter(mp, true);
			}
			break;
		case S_PADDING:
			if (c == '\r')
				mp->state = S_LF;
			else if (!is_ows(c))
				fail(mp,
				     "malformed multipart boundary line (only spaces may follow "
				     "the boundary)");
			i++;
			break;
		case S_LF:
			if (c != '\n') {
				fail(mp, "malformed multipart boundary line (expected CRLF)");
			} else if (mp->nparts >= mp->lim.max_parts) {
				fail(mp, "too many parts (at most %zu)", mp->lim.max_parts);
			} else {
				mp->nparts++;
				mp->hdr_len = 0;
				mp->line_start = 0;
				mp->state = S_HEADERS;
			}
			i++;
			break;
		case S_HEADERS:
			header_byte(mp, data[i++]);
			break;
		case S_EPILOGUE:
			i = len;
			break;
		case S_DONE:
		case S_ERROR:
			break;
		}
	}
	return mp->status;
}

int
mp_finish(struct mp *mp)
{
	switch (mp->state) {
	case S_EPILOGUE:
	case S_DONE:
		mp->state = S_DONE;
		return MP_OK;
	case S_ERROR:
		return mp->status;
	case S_PREAMBLE:
		fail(mp, "the body does not contain the multipart boundary");
		return mp->status;
	default:
		fail(mp, "the upload was cut off before its end");
		return mp->status;
	}
}

/* ---- file names ---- */

/* Code point and length of the character at s, which is valid UTF-8. */
static unsigned
utf8_at(const unsigned char *s, size_t *len)
{
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] < 0xE0) {
		*len = 2;
		return (unsigned)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
	}
	if (s[0] < 0xF0) {
		*len = 3;
		return (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	}
	*len = 4;
	return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3F) << 12 |
	       (unsigned)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Characters that can hide, reorder or break a name when it is shown: the controls, and the
 * bidirectional overrides that make "invoice\u202Efdp.exe" read "invoiceexe.pdf". */
static bool
unsafe_char(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *
mp_sanitize_filename(struct arena *a, const char *name)
{
	size_t n, i, k, start = 0, len = 0, dot, ext, cut;
	char *out;

	if (name == NULL)
		return NULL;
	n = strlen(name);
	if (!utf8_valid(name, n))
		return NULL;
	for (i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\\')
			start = i + 1;
	if (n - start >= 2 && is_alpha((unsigned char)name[start]) && name[start + 1] == ':')
		start += 2;
	out = arena_alloc(a, n - start + 1);
	for (i = start; i < n; i += k)
		if (!unsafe_char(utf8_at((const unsigned char *)name + i, &k))) {
			memcpy(out + len, name + i, k);
			len += k;
		}
	for (i = 0; i < len && out[i] == ' '; i++)
		;
	memmove(out, out + i, len - i);
	len -= i;
	while (len > 0 && out[len - 1] == ' ')
		len--;
	if (len > MP_FILENAME_MAX) {
		dot = len;
		for (i = len; i > 1; i--)
			if (out[i - 1] == '.') {
				dot = i - 1;
				break;
			}
		ext = len - dot;
		if (ext > EXT_MAX) {
			ext = 0;
			dot = len;
		}
		/* out[cut] is the first byte dropped; it must start a character. */
		for (cut = MP_FILENAME_MAX - ext; ((unsigned char)out[cut] & 0xC0) == 0x80; cut--)
			;
		/* A cut among spaces would leave the trailing space trimmed above; out[0] is not
		 * one, so the stem cannot vanish. */
		while (out[cut - 1] == ' ')
			cut--;
		memmove(out + cut, out + dot, ext);
		len = cut + ext;
	}
	out[len] = '\0';
	if (len == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		return NULL;
	return out;
}
