/* input.c: parsing and validation of untrusted input (see input.h). Every scan is bounded by an
 * explicit length or by a NUL this code has itself checked for; nothing uses the C library's number
 * parsers or <ctype.h>, whose whitespace, sign and locale rules are wider than what we accept. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "input.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define JSON_MAX_DEPTH 16

static const char MSG_REQUIRED[] = "is required";

/* ---- small ASCII helpers ---- */

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

int
hex_digit(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An absent field (NULL) is "is required" everywhere; "" is too for text, where an empty form field
 * means nothing was typed, but a format validator reports its format for "", as "" may be sent for
 * an optional field and "is required" would then be untrue. */
static bool
is_blank(const char *s)
{
	return s == NULL || *s == '\0';
}

/* ---- messages ---- */

/* Some messages carry numbers or choices, yet validators take no arena and a caller keeps one
 * message per bad field. Each distinct message is therefore stored once in a fixed pool that lives
 * as long as the process. The texts derive from the program's own limits, so only a handful exist;
 * should the pool ever fill, the caller's generic fallback is returned instead. The responder is
 * single-threaded (one process per FastCGI child), so the pool needs no lock. */
static char msg_pool[8192];
static size_t msg_pool_used;

static const char *
msg_intern(const char *s, const char *fallback)
{
	size_t n = strlen(s) + 1;
	char *p;

	for (p = msg_pool; p < msg_pool + msg_pool_used; p += strlen(p) + 1)
		if (strcmp(p, s) == 0)
			return p;
	if (n > sizeof(msg_pool) - msg_pool_used)
		return fallback;
	p = msg_pool + msg_pool_used;
	memcpy(p, s, n);
	msg_pool_used += n;
	return p;
}

static const char *msg_printf(const char *fallback, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
msg_printf(const char *fallback, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return fallback;
	return msg_intern(tmp, fallback);
}

/* ---- UTF-8 ---- */

/* Length of the well-formed sequence at p, or 0 (Unicode 15, table 3-7). Narrowing the second
 * byte's range after E0, ED, F0 and F4 is what excludes overlongs, surrogates and code points above
 * U+10FFFF; C0, C1 and F5..FF can never start a sequence. */
static size_t
utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (avail < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

size_t
utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *p != '\0'; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}

/* C0 controls, DEL and the C1 controls U+0080..U+009F (encoded C2 80..C2 9F); all of them can
 * reorder or hide text on a screen or in a log. s must be valid UTF-8. */
static bool
has_control(const char *s, size_t n, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (multiline && (p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
			continue;
		if (p[i] < 0x20 || p[i] == 0x7F)
			return true;
		if (p[i] == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F)
			return true;
	}
	return false;
}

/* ---- form data ---- */

static int
form_fail(struct kvlist *out, const char **errmsg, const char *msg)
{
	out->v = NULL;
	out->n = 0;
	*errmsg = msg;
	return -1;
}

static size_t
form_count_pairs(const char *s, size_t len)
{
	size_t i, n = 0, seglen = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '&') {
			n += seglen > 0;
			seglen = 0;
		} else {
			seglen++;
		}
	}
	return n;
}

/* Decodes src[0..n) into a new arena string; NULL with *errmsg set when it is not acceptable. */
static const char *
form_decode(struct arena *a, const char *src, size_t n, const char **errmsg)
{
	char *dst = arena_alloc(a, n + 1);
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (hi = hex_digit((unsigned char)src[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)src[i + 2])) < 0) {
				*errmsg = "malformed percent-encoding";
				return NULL;
			}
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0') {
			*errmsg = "form data must not contain NUL characters";
			return NULL;
		}
		dst[j++] = (char)c;
	}
	dst[j] = '\0';
	if (!utf8_valid(dst, j)) {
		*errmsg = "form data must be valid UTF-8";
		return NULL;
	}
	return dst;
}

int
form_parse(struct arena *a, const char *s, size_t len, struct kvlist *out, const char **errmsg)
{
	size_t npairs = form_count_pairs(s, len), start = 0, i, k = 0;
	struct kv *kv;

	*errmsg = NULL;
	out->v = NULL;
	out->n = 0;
	if (npairs > FORM_MAX_PAIRS)
		return form_fail(out, errmsg,
		                 "too many form fields (at most " STR(FORM_MAX_PAIRS) ")");
	if (npairs == 0)
		return 0;
	kv = arena_alloc(a, npairs * sizeof(*kv));
	for (i = 0; i <= len; i++) {
		const char *seg = s + start, *eq;
		size_t seglen = i - start;

		if (i < len && s[i] != '&')
			continue;
		start = i + 1;
		if (seglen == 0)
			continue;
		eq = memchr(seg, '=', seglen);
		kv[k].key = form_decode(a, seg, eq ? (size_t)(eq - seg) : seglen, errmsg);
		if (kv[k].key == NULL)
			return form_fail(out, errmsg, *errmsg);
		kv[k].val =
		    eq ? form_decode(a, eq + 1, seglen - (size_t)(eq - seg) - 1, errmsg) : "";
		if (kv[k].val == NULL)
			return form_fail(out, errmsg, *errmsg);
		k++;
	}
	out->v = kv;
	out->n = k;
	return 0;
}

const char *
kv_get(const struct kvlist *l, const char *key)
{
	size_t i;

	if (l == NULL || key == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].val;
	return NULL;
}

static bool
in_list(const char *s, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

const char *
kv_unknown_key(const struct kvlist *l, const char *const *allowed)
{
	size_t i;

	if (l == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (!in_list(l->v[i].key, allowed))
			return l->v[i].key;
	return NULL;
}

/* ---- JSON ----
 * json-c 0.16 is lax even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8: it accepts 'single
 * quotes', NaN, Infinity, "1.", raw control characters in strings, overlong UTF-8, encoded
 * surrogates and code points above U+10FFFF; it replaces a lone \ud800 with U+FFFD, lets a
 * duplicate key silently overwrite the first, clamps integers beyond 64 bits and stops at a NUL
 * byte. So an RFC 8259 scanner checks the text first and json-c only builds the tree from text
 * already known good; a walk of the tree then catches what only the built values show. */

static const char JSON_BAD[] = "request body is not valid JSON";
static const char JSON_NUL[] = "request body must not contain NUL characters";
static const char JSON_RANGE[] = "request body has a number out of range";
static const char JSON_OBJECT[] = "request body must be a JSON object";
static const char JSON_DEEP[] =
    "request body is nested too deeply (at most " STR(JSON_MAX_DEPTH) " levels)";

struct jscan {
	const unsigned char *p, *end;
	int depth;
	size_t members; /* object members seen, compared with the tree's to find duplicate keys */
	const char *err;
};

static bool js_value(struct jscan *j);

/* Keeps the first, innermost message: "nested too deeply" beats the "not valid JSON" of callers. */
static bool
js_fail(struct jscan *j, const char *msg)
{
	if (j->err == NULL)
		j->err = msg;
	return false;
}

static bool
js_peek(const struct jscan *j, unsigned char c)
{
	return j->p < j->end && *j->p == c;
}

/* Only the four RFC 8259 white-space bytes; \f and \v are not JSON white space. */
static void
js_ws(struct jscan *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
js_literal(struct jscan *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return js_fail(j, JSON_BAD);
	j->p += n;
	return true;
}

static bool
js_digits(struct jscan *j)
{
	const unsigned char *start = j->p;

	while (j->p < j->end && is_digit(*j->p))
		j->p++;
	return j->p > start;
}

/* json-c keeps integers as int64 (uint64 above) and saturates beyond, so a larger one would reach
 * the handlers as a different number. The grammar forbids leading zeros, so length decides first.
 */
static bool
js_int64_fits(const unsigned char *s, size_t n)
{
	bool neg = s[0] == '-';
	const char *limit = neg ? "9223372036854775808" : "9223372036854775807";

	n -= neg;
	s += neg;
	if (n != 19)
		return n < 19;
	return memcmp(s, limit, 19) <= 0;
}

static bool
js_number(struct jscan *j)
{
	const unsigned char *start = j->p;
	bool integral = true;

	if (js_peek(j, '-'))
		j->p++;
	if (js_peek(j, '0'))
		j->p++;
	else if (!js_digits(j))
		return js_fail(j, JSON_BAD);
	if (js_peek(j, '.')) {
		j->p++;
		integral = false;
		if (!js_digits(j))
			return js_fail(j, JSON_BAD);
	}
	if (js_peek(j, 'e') || js_peek(j, 'E')) {
		j->p++;
		integral = false;
		if (js_peek(j, '+') || js_peek(j, '-'))
			j->p++;
		if (!js_digits(j))
			return js_fail(j, JSON_BAD);
	}
	if (integral && !js_int64_fits(start, (size_t)(j->p - start)))
		return js_fail(j, JSON_RANGE);
	return true;
}

static bool
js_hex4(struct jscan *j, unsigned *cp)
{
	int i, v;

	if (j->end - j->p < 4)
		return false;
	*cp = 0;
	for (i = 0; i < 4; i++) {
		v = hex_digit(j->p[i]);
		if (v < 0)
			return false;
		*cp = *cp * 16 + (unsigned)v;
	}
	j->p += 4;
	return true;
}

/* After the backslash. A \u escape must name a scalar value: surrogates only as a high-low pair. */
static bool
js_escape(struct jscan *j)
{
	unsigned cp, lo;
	unsigned char c;

	if (j->p >= j->end)
		return js_fail(j, JSON_BAD);
	c = *j->p++;
	if (c != 'u' && memchr("\"\\/bfnrt", c, 8) != NULL)
		return true;
	if (c != 'u')
		return js_fail(j, JSON_BAD);
	if (!js_hex4(j, &cp))
		return js_fail(j, JSON_BAD);
	if (cp == 0)
		return js_fail(j, JSON_NUL);
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return js_fail(j, JSON_BAD);
	if (cp < 0xD800 || cp > 0xDBFF)
		return true;
	if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
		return js_fail(j, JSON_BAD);
	j->p += 2;
	if (!js_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF)
		return js_fail(j, JSON_BAD);
	return true;
}

/* At the opening quote. Multi-byte UTF-8 was validated over the whole body before scanning. */
static bool
js_string(struct jscan *j)
{
	unsigned char c;

	j->p++;
	while (j->p < j->end) {
		c = *j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return js_fail(j, JSON_BAD);
		if (c == '\\' && !js_escape(j))
			return false;
	}
	return js_fail(j, JSON_BAD);
}

static bool
js_enter(struct jscan *j)
{
	j->p++;
	if (++j->depth > JSON_MAX_DEPTH)
		return js_fail(j, JSON_DEEP);
	js_ws(j);
	return true;
}

/* After a member or element: true with *more set when a ',' follows, true when 'close' does. */
static bool
js_next(struct jscan *j, unsigned char close, bool *more)
{
	js_ws(j);
	*more = js_peek(j, ',');
	if (*more || js_peek(j, close)) {
		j->p++;
		js_ws(j);
		j->depth -= !*more;
		return true;
	}
	return js_fail(j, JSON_BAD);
}

static bool
js_object(struct jscan *j)
{
	bool more = true;

	if (!js_enter(j))
		return false;
	if (js_peek(j, '}')) {
		j->p++;
		j->depth--;
		return true;
	}
	while (more) {
		if (!js_peek(j, '"') || !js_string(j))
			return js_fail(j, JSON_BAD);
		js_ws(j);
		if (!js_peek(j, ':'))
			return js_fail(j, JSON_BAD);
		j->p++;
		js_ws(j);
		if (!js_value(j))
			return false;
		j->members++;
		if (!js_next(j, '}', &more))
			return false;
	}
	return true;
}

static bool
js_array(struct jscan *j)
{
	bool more = true;

	if (!js_enter(j))
		return false;
	if (js_peek(j, ']')) {
		j->p++;
		j->depth--;
		return true;
	}
	while (more) {
		if (!js_value(j) || !js_next(j, ']', &more))
			return false;
	}
	return true;
}

static bool
js_value(struct jscan *j)
{
	if (j->p >= j->end)
		return js_fail(j, JSON_BAD);
	switch (*j->p) {
	case '{':
		return js_object(j);
	case '[':
		return js_array(j);
	case '"':
		return js_string(j);
	case 't':
		return js_literal(j, "true");
	case 'f':
		return js_literal(j, "false");
	case 'n':
		return js_literal(j, "null");
	default:
		if (*j->p == '-' || is_digit(*j->p))
			return js_number(j);
		return js_fail(j, JSON_BAD);
	}
}

/* Whole-body checks, then the grammar. Returns NULL or the message. */
static const char *
json_scan(const char *s, size_t len, size_t *members)
{
	struct jscan j = {0};
	unsigned char top;

	if (s == NULL || len == 0)
		return "request body is empty";
	if (len > INT_MAX)
		return "request body is too large"; /* json-c takes an int length */
	j.p = (const unsigned char *)s;
	j.end = j.p + len;
	js_ws(&j);
	if (j.p == j.end)
		return "request body is empty";
	if (memchr(s, '\0', len) != NULL)
		return JSON_NUL;
	if (!utf8_valid(s, len))
		return "request body must be valid UTF-8";
	top = *j.p;
	if (!js_value(&j))
		return j.err;
	js_ws(&j);
	if (j.p != j.end)
		return "request body has unexpected data after the JSON value";
	if (top != '{')
		return JSON_OBJECT;
	*members = j.members;
	return NULL;
}

/* json-c must agree with the scanner: a success that ends anywhere but the end of the text would
 * mean the two read the body differently, so it is refused rather than trusted. json-c's depth
 * counts every value, scalars too, so 16 nested containers holding a number need 17; the scanner
 * has already enforced the nesting limit. */
static struct json_object *
json_build(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
	struct json_object *obj;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* Counts object members and rejects numbers json-c turned into infinities (1e999). Recursion is
 * bounded by JSON_MAX_DEPTH. */
static bool
json_tree_ok(struct json_object *o, size_t *members)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_object: {
		*members += (size_t)json_object_object_length(o);
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			if (!json_tree_ok(val, members))
				return false;
		}
		return true;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!json_tree_ok(json_object_array_get_idx(o, i), members))
				return false;
		return true;
	case json_type_double:
		return isfinite(json_object_get_double(o));
	default:
		return true;
	}
}

static struct json_object *
json_fail(struct json_object *obj, const char **errmsg, const char *msg)
{
	json_object_put(obj);
	*errmsg = msg;
	return NULL;
}

struct json_object *
json_parse_object(const char *s, size_t len, const char **errmsg)
{
	struct json_object *obj;
	size_t scanned = 0, built = 0;
	const char *err;

	*errmsg = NULL;
	err = json_scan(s, len, &scanned);
	if (err != NULL)
		return json_fail(NULL, errmsg, err);
	obj = json_build(s, len);
	if (obj == NULL)
		return json_fail(NULL, errmsg, JSON_BAD);
	if (!json_object_is_type(obj, json_type_object))
		return json_fail(obj, errmsg, JSON_OBJECT);
	if (!json_tree_ok(obj, &built))
		return json_fail(obj, errmsg, JSON_RANGE);
	if (built != scanned)
		return json_fail(obj, errmsg, "request body has a duplicate key");
	return obj;
}

/* ---- validators ---- */

const char *
v_text(const char *s, size_t min, size_t max, bool multiline)
{
	size_t len, chars;

	if (is_blank(s))
		return min > 0 ? MSG_REQUIRED : NULL;
	len = strlen(s);
	if (!utf8_valid(s, len))
		return "must be valid UTF-8 text";
	if (has_control(s, len, multiline))
		return "must not contain control characters";
	chars = utf8_chars(s);
	if (chars < min)
		return msg_printf("is too short", "must be at least %zu character%s", min,
		                  min == 1 ? "" : "s");
	if (chars > max)
		return msg_printf("is too long", "must be at most %zu character%s", max,
		                  max == 1 ? "" : "s");
	return NULL;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* "dddd-dd-dd" and nothing after. Stops at the first mismatch, so a short string's NUL ends it. */
static bool
date_shape_ok(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; i < 10; i++)
		if (shape[i] == 'd' ? !is_digit((unsigned char)s[i]) : s[i] != '-')
			return false;
	return s[10] == '\0';
}

static int
digits_val(const char *s, size_t n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* Today's date as yyyymmdd in UTC, or -1 when the clock cannot be read. */
static long
today_utc(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now == (time_t)-1 || gmtime_r(&now, &tm) == NULL)
		return -1;
	return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void
set_int(int *p, int v)
{
	if (p != NULL)
		*p = v;
}

const char *
v_date(const char *s, bool not_future, int *y, int *m, int *d)
{
	int yy, mm, dd;
	long today;

	set_int(y, 0);
	set_int(m, 0);
	set_int(d, 0);
	if (s == NULL)
		return MSG_REQUIRED;
	if (!date_shape_ok(s))
		return "must be a date YYYY-MM-DD";
	yy = digits_val(s, 4);
	mm = digits_val(s + 5, 2);
	dd = digits_val(s + 8, 2);
	if (yy < 1900)
		return "must have a year between 1900 and 9999";
	if (mm < 1 || mm > 12 || dd < 1 || dd > days_in_month(yy, mm))
		return "must be a real calendar date";
	/* Fails closed: without a clock the date cannot be shown not to be in the future. */
	today = not_future ? today_utc() : 0;
	if (not_future && (today < 0 || yy * 10000L + mm * 100 + dd > today))
		return "must not be in the future";
	set_int(y, yy);
	set_int(m, mm);
	set_int(d, dd);
	return NULL;
}

static const char *
enum_message(const char *const *choices)
{
	static const char fallback[] = "must be one of the allowed values";
	char tmp[512];
	size_t used, i;
	int n;

	used = (size_t)snprintf(tmp, sizeof(tmp), "must be one of:");
	for (i = 0; choices != NULL && choices[i] != NULL; i++) {
		n = snprintf(tmp + used, sizeof(tmp) - used, "%s %s", i ? "," : "", choices[i]);
		if (n < 0 || (size_t)n >= sizeof(tmp) - used)
			return fallback;
		used += (size_t)n;
	}
	return msg_intern(tmp, fallback);
}

const char *
v_enum(const char *s, const char *const *choices)
{
	if (s == NULL)
		return MSG_REQUIRED;
	return in_list(s, choices) ? NULL : enum_message(choices);
}

const char *
v_uuid(const char *s, char out[37])
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (out != NULL)
		out[0] = '\0';
	if (s == NULL)
		return MSG_REQUIRED;
	for (i = 0; i < 36; i++)
		if (shape[i] == 'x' ? hex_digit((unsigned char)s[i]) < 0 : s[i] != '-')
			return "must be a UUID";
	if (s[36] != '\0')
		return "must be a UUID";
	for (i = 0; out != NULL && i < 37; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
	return NULL;
}

/* Optional '-', then one or more digits, then the end. Accumulates the magnitude unsigned so
 * LLONG_MIN, whose magnitude does not fit a long long, parses too. */
static bool
parse_ll(const char *s, long long *out)
{
	bool neg = *s == '-';
	unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX, v = 0;
	const unsigned char *p = (const unsigned char *)s + neg;
	unsigned d;

	if (!is_digit(*p))
		return false;
	for (; is_digit(*p); p++) {
		d = *p - '0';
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (*p != '\0')
		return false;
	if (!neg)
		*out = (long long)v;
	else
		*out = v == limit ? LLONG_MIN : -(long long)v;
	return true;
}

const char *
v_int(const char *s, long long lo, long long hi, long long *out)
{
	long long v;

	if (out != NULL)
		*out = 0;
	if (s == NULL)
		return MSG_REQUIRED;
	if (!parse_ll(s, &v) || v < lo || v > hi)
		return msg_printf("must be an integer in the allowed range",
		                  "must be an integer between %lld and %lld", lo, hi);
	if (out != NULL)
		*out = v;
	return NULL;
}

/* The local part may be UTF-8 (RFC 6531) but not hold spaces, controls or the RFC 5322 specials,
 * which are legal only in quoted local parts that no clinic uses and that confuse mail headers. */
static bool
email_local_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (n == 0 || !utf8_valid(s, n) || has_control(s, n, false))
		return false;
	for (i = 0; i < n; i++)
		if (p[i] == ' ' || memchr("\"(),:;<>[\\]", p[i], 11) != NULL)
			return false;
	return true;
}

/* Two or more dot-separated labels of 1..63 [A-Za-z0-9-], not starting or ending with '-'. */
static bool
email_domain_ok(const char *s)
{
	size_t labels = 0, len;
	const char *end;

	for (;;) {
		end = s;
		while (is_alnum((unsigned char)*end) || *end == '-')
			end++;
		len = (size_t)(end - s);
		if (len == 0 || len > 63 || s[0] == '-' || end[-1] == '-')
			return false;
		labels++;
		if (*end == '\0')
			return labels >= 2;
		if (*end != '.')
			return false;
		s = end + 1;
	}
}

const char *
v_email(const char *s)
{
	static const char bad[] = "must be an e-mail address";
	const char *at;

	if (s == NULL)
		return MSG_REQUIRED;
	if (strnlen(s, 255) > 254)
		return bad;
	at = strchr(s, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return bad;
	if (!email_local_ok(s, (size_t)(at - s)) || !email_domain_ok(at + 1))
		return bad;
	return NULL;
}

const char *
v_phone(const char *s)
{
	static const char bad[] = "must be a phone number";
	size_t len, digits = 0, i;

	if (s == NULL)
		return MSG_REQUIRED;
	len = strnlen(s, 33);
	if (len < 3 || len > 32)
		return bad;
	for (i = 0; i < len; i++) {
		if (is_digit((unsigned char)s[i]))
			digits++;
		else if (memchr(" +()-.", s[i], 6) == NULL)
			return bad;
	}
	return digits >= 3 ? NULL : bad;
}

const char *
v_mrn(const char *s, char out[33])
{
	static const char bad[] =
	    "must be a medical record number (letters, digits and '-', at most 32)";
	size_t len, i;

	if (out != NULL)
		out[0] = '\0';
	if (s == NULL)
		return MSG_REQUIRED;
	len = strnlen(s, 33);
	if (len > 32 || !is_alnum((unsigned char)s[0]))
		return bad;
	for (i = 1; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return bad;
	for (i = 0; out != NULL && i <= len; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	return NULL;
}

const char *
v_local_path(const char *s)
{
	static const char bad[] = "must be a path on this site";
	size_t i, n;

	if (s == NULL)
		return MSG_REQUIRED;
	n = strnlen(s, 2049);
	if (n == 0 || n > 2048 || s[0] != '/' || s[1] == '/')
		return bad;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')
			return bad;
	return NULL;
}
