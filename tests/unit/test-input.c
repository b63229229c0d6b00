/* test-input.c: table-driven checks of the input parsers and validators (input.h). The JSON cases
 * pin down where json-c 0.16 alone would have accepted bad input, so a json-c upgrade or a change
 * to the scanner that reopens one of those holes fails here. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* Length of a string literal including any embedded NULs. */
#define LIT(s) s, sizeof(s) - 1

/* A printable test name: non-printable bytes as \xNN, long inputs cut. */
static const char *
name(const char *fn, const char *s, size_t n)
{
	static char out[160];
	size_t used, i;

	used = (size_t)snprintf(out, sizeof(out), "%s(\"", fn);
	for (i = 0; s != NULL && i < n && used < sizeof(out) - 16; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F)
			out[used++] = (char)c;
		else
			used += (size_t)snprintf(out + used, sizeof(out) - used, "\\x%02x", c);
	}
	snprintf(out + used, sizeof(out) - used, "%s\")", i < n ? "..." : "");
	return out;
}

static const char *
cname(const char *fn, const char *s)
{
	return s ? name(fn, s, strlen(s)) : name(fn, "(null)", 6);
}

/* ---- UTF-8 ---- */

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
		bool ok;
	} t[] = {
	    {LIT(""), true},
	    {LIT("plain ascii"), true},
	    {LIT("caf\xc3\xa9"), true},
	    {LIT("\xe2\x82\xac"), true},      /* U+20AC */
	    {LIT("\xf0\x9f\x98\x80"), true},  /* U+1F600 */
	    {LIT("\xc2\x80"), true},          /* U+0080, smallest 2-byte */
	    {LIT("\xe0\xa0\x80"), true},      /* U+0800, smallest 3-byte */
	    {LIT("\xed\x9f\xbf"), true},      /* U+D7FF, just below surrogates */
	    {LIT("\xee\x80\x80"), true},      /* U+E000, just above */
	    {LIT("\xef\xbf\xbf"), true},      /* U+FFFF */
	    {LIT("\xf0\x90\x80\x80"), true},  /* U+10000 */
	    {LIT("\xf4\x8f\xbf\xbf"), true},  /* U+10FFFF */
	    {LIT("a\0b"), true},              /* U+0000 is well-formed */
	    {LIT("\xc0\x80"), false},         /* overlong NUL */
	    {LIT("\xc1\xbf"), false},         /* overlong */
	    {LIT("\xe0\x80\x80"), false},     /* overlong */
	    {LIT("\xe0\x9f\xbf"), false},     /* overlong U+07FF */
	    {LIT("\xf0\x80\x80\x80"), false}, /* overlong */
	    {LIT("\xf0\x8f\xbf\xbf"), false}, /* overlong U+FFFF */
	    {LIT("\xed\xa0\x80"), false},     /* U+D800 */
	    {LIT("\xed\xbf\xbf"), false},     /* U+DFFF */
	    {LIT("\xf4\x90\x80\x80"), false}, /* U+110000 */
	    {LIT("\xc3"), false},             /* truncated */
	    {LIT("\xe2\x82"), false},         /* truncated */
	    {LIT("\xf0\x9f\x98"), false},     /* truncated */
	    {LIT("\xe2\x82"
	         "a"),
	     false},                              /* truncated mid-string */
	    {LIT("\x80"), false},                 /* stray continuation */
	    {LIT("a\xbf"), false},                /* stray continuation */
	    {LIT("\xc3\xa9\xa9"), false},         /* one continuation too many */
	    {LIT("\xf5\x80\x80\x80"), false},     /* F5 never valid */
	    {LIT("\xf8\x88\x80\x80\x80"), false}, /* 5-byte form */
	    {LIT("\xfe"), false},
	    {LIT("\xff"), false},
	};
	size_t i;

	for (i = 0; i < N(t); i++)
		OK(utf8_valid(t[i].s, t[i].n) == t[i].ok, name("utf8_valid", t[i].s, t[i].n));
	OK(utf8_valid(NULL, 0), "utf8_valid(NULL, 0)");
	/* The length bounds the scan: a valid prefix of a longer, broken buffer is valid. */
	OK(utf8_valid("ab\xff", 2), "utf8_valid stops at n");
	OK(!utf8_valid("\xc3\xa9", 1), "utf8_valid: sequence cut by n");

	OK(utf8_chars("") == 0, "utf8_chars(\"\")");
	OK(utf8_chars(NULL) == 0, "utf8_chars(NULL)");
	OK(utf8_chars("abc") == 3, "utf8_chars(\"abc\")");
	OK(utf8_chars("caf\xc3\xa9") == 4, "utf8_chars(caf\\xc3\\xa9)");
	OK(utf8_chars("\xe2\x82\xac\xf0\x9f\x98\x80") == 2, "utf8_chars(euro, emoji)");
}

/* ---- form data ---- */

/* Renders a parsed list as "k=v|k=v" for comparison. */
static const char *
render(const struct kvlist *l)
{
	static char out[4096];
	size_t used = 0, i;

	out[0] = '\0';
	for (i = 0; i < l->n; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s=%s", i ? "|" : "",
		                         l->v[i].key, l->v[i].val);
	return out;
}

static void
test_form(struct arena *a)
{
	static const struct {
		const char *s;
		size_t n;
		const char *err;
		const char *want; /* rendered pairs when err is NULL */
	} t[] = {
	    {LIT(""), NULL, ""},
	    {LIT("a=1"), NULL, "a=1"},
	    {LIT("a=1&b=2"), NULL, "a=1|b=2"},
	    {LIT("b=2&a=1"), NULL, "b=2|a=1"}, /* input order */
	    {LIT("a=x+y%20z"), NULL, "a=x y z"},
	    {LIT("a+b=c"), NULL, "a b=c"}, /* keys are decoded too */
	    {LIT("a=%2b%2B"), NULL, "a=++"},
	    {LIT("a=%e2%82%AC"), NULL, "a=\xe2\x82\xac"},
	    {LIT("a=%26%3D"), NULL, "a=&="},
	    {LIT("flag"), NULL, "flag="},
	    {LIT("flag&a=1"), NULL, "flag=|a=1"},
	    {LIT("a="), NULL, "a="},
	    {LIT("=v"), NULL, "=v"},
	    {LIT("a=1=2"), NULL, "a=1=2"}, /* only the first '=' splits */
	    {LIT("a=1&&b=2"), NULL, "a=1|b=2"},
	    {LIT("&&a=1&"), NULL, "a=1"},
	    {LIT("&"), NULL, ""},
	    {LIT("a=1&a=2"), NULL, "a=1|a=2"},
	    {LIT("a=caf\xc3\xa9"), NULL, "a=caf\xc3\xa9"}, /* raw UTF-8 */
	    {LIT("a=%0D%0A"), NULL, "a=\r\n"},
	    {LIT("a=%4"), "malformed percent-encoding", NULL},
	    {LIT("a=%"), "malformed percent-encoding", NULL},
	    {LIT("a=%zz"), "malformed percent-encoding", NULL},
	    {LIT("a=%g0"), "malformed percent-encoding", NULL},
	    {LIT("a=%4&b=1"), "malformed percent-encoding", NULL},
	    {LIT("%zz=1"), "malformed percent-encoding", NULL},
	    {LIT("a=%00"), "form data must not contain NUL characters", NULL},
	    {LIT("a%00b=1"), "form data must not contain NUL characters", NULL},
	    {LIT("a=x\0y"), "form data must not contain NUL characters", NULL},
	    {LIT("a=%ff"), "form data must be valid UTF-8", NULL},
	    {LIT("a=%C0%80"), "form data must be valid UTF-8", NULL},
	    {LIT("a=%ED%A0%80"), "form data must be valid UTF-8", NULL},
	    {LIT("a=%e2%82"), "form data must be valid UTF-8", NULL},
	    {LIT("%ff=1"), "form data must be valid UTF-8", NULL},
	    {LIT("a=\xff"), "form data must be valid UTF-8", NULL},
	};
	struct kvlist l;
	const char *err;
	size_t i;
	int rc;

	for (i = 0; i < N(t); i++) {
		const char *what = name("form_parse", t[i].s, t[i].n);

		rc = form_parse(a, t[i].s, t[i].n, &l, &err);
		if (t[i].err == NULL) {
			OK(rc == 0, what);
			STR_EQ(render(&l), t[i].want, what);
		} else {
			OK(rc == -1 && l.n == 0 && l.v == NULL, what);
			STR_EQ(err, t[i].err, what);
		}
	}

	/* The length, not a NUL, ends the input. */
	rc = form_parse(a, "a=1&b=2", 3, &l, &err);
	OK(rc == 0 && l.n == 1, "form_parse honours len");
	STR_EQ(render(&l), "a=1", "form_parse honours len: pairs");
	/* A '%' at the end of len must not read the bytes after it. */
	rc = form_parse(a, "a=%41", 3, &l, &err);
	STR_EQ(rc == -1 ? err : "accepted", "malformed percent-encoding",
	       "form_parse: % cut by len");
	rc = form_parse(a, NULL, 0, &l, &err);
	OK(rc == 0 && l.n == 0, "form_parse(NULL, 0)");
}

static void
test_form_limits(struct arena *a)
{
	char buf[1024];
	struct kvlist l;
	const char *err;
	size_t used = 0;
	int i, rc;

	for (i = 0; i < FORM_MAX_PAIRS; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%sk%d=%d", i ? "&" : "",
		                         i, i);
	rc = form_parse(a, buf, used, &l, &err);
	OK(rc == 0 && l.n == FORM_MAX_PAIRS, "form_parse: FORM_MAX_PAIRS pairs accepted");
	STR_EQ(kv_get(&l, "k63"), "63", "form_parse: last of FORM_MAX_PAIRS pairs");

	used += (size_t)snprintf(buf + used, sizeof(buf) - used, "&&&");
	rc = form_parse(a, buf, used, &l, &err);
	OK(rc == 0 && l.n == FORM_MAX_PAIRS, "form_parse: empty pairs do not count");

	used += (size_t)snprintf(buf + used, sizeof(buf) - used, "x");
	rc = form_parse(a, buf, used, &l, &err);
	OK(rc == -1 && l.n == 0, "form_parse: FORM_MAX_PAIRS + 1 pairs rejected");
	STR_EQ(err, "too many form fields (at most 64)", "form_parse: too many pairs message");
}

static void
test_kv(struct arena *a)
{
	static const char *const allowed[] = {"name", "dob", NULL};
	static const char *const none[] = {NULL};
	struct kvlist l, empty = {NULL, 0};
	const char *err;

	form_parse(a, LIT("name=Ann&dob=2000-01-01&name=Bob&flag"), &l, &err);
	STR_EQ(kv_get(&l, "name"), "Ann", "kv_get: first of duplicates");
	STR_EQ(kv_get(&l, "dob"), "2000-01-01", "kv_get: dob");
	STR_EQ(kv_get(&l, "flag"), "", "kv_get: key without '='");
	STR_EQ(kv_get(&l, "missing"), NULL, "kv_get: missing key");
	STR_EQ(kv_get(&l, "Name"), NULL, "kv_get: case-sensitive");
	STR_EQ(kv_get(&empty, "name"), NULL, "kv_get: empty list");
	STR_EQ(kv_get(NULL, "name"), NULL, "kv_get: NULL list");
	STR_EQ(kv_unknown_key(&l, allowed), "flag", "kv_unknown_key: finds flag");
	STR_EQ(kv_unknown_key(&empty, allowed), NULL, "kv_unknown_key: empty list");
	STR_EQ(kv_unknown_key(&empty, none), NULL, "kv_unknown_key: empty list, none allowed");

	form_parse(a, LIT("dob=x&name=y&name=z"), &l, &err);
	STR_EQ(kv_unknown_key(&l, allowed), NULL, "kv_unknown_key: all allowed");
	STR_EQ(kv_unknown_key(&l, none), "dob", "kv_unknown_key: nothing allowed");
}

/* ---- JSON ---- */

static const char BAD[] = "request body is not valid JSON";

static void
test_json_table(void)
{
	static const struct {
		const char *s;
		size_t n;
		const char *err;
	} t[] = {
	    {LIT("{}"), NULL},
	    {LIT("{\"a\":1}"), NULL},
	    {LIT(" \t\r\n{\"a\" : [1, -2.5e+3, true, false, null, \"x\", {}]} \n"), NULL},
	    {LIT("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9\"}"), NULL},
	    {LIT("{\"a\":\"\\ud83d\\ude00\"}"), NULL},
	    {LIT("{\"a\":\"caf\xc3\xa9\"}"), NULL},
	    {LIT("{\"\":0}"), NULL},
	    {LIT("{\"a\":-0}"), NULL},
	    {LIT("{\"a\":9223372036854775807}"), NULL},
	    {LIT("{\"a\":-9223372036854775808}"), NULL},
	    {LIT("{\"a\":1e308}"), NULL},
	    {LIT("{\"a\":0.0001E-5}"), NULL},
	    {LIT("{\"a\":{\"a\":1}}"), NULL}, /* same key in different objects */
	    {LIT(""), "request body is empty"},
	    {LIT(" \r\n\t "), "request body is empty"},
	    {LIT("[1,2]"), "request body must be a JSON object"},
	    {LIT("\"x\""), "request body must be a JSON object"},
	    {LIT("1"), "request body must be a JSON object"},
	    {LIT("null"), "request body must be a JSON object"},
	    {LIT("{\"a\":1,}"), BAD},
	    {LIT("{\"a\":[1,]}"), BAD},
	    {LIT("{,}"), BAD},
	    {LIT("{\"a\":1 \"b\":2}"), BAD},
	    {LIT("{/*c*/\"a\":1}"), BAD},
	    {LIT("{\"a\":1}//c"), "request body has unexpected data after the JSON value"},
	    {LIT("{}x"), "request body has unexpected data after the JSON value"},
	    {LIT("{} {}"), "request body has unexpected data after the JSON value"},
	    {LIT("{}]"), "request body has unexpected data after the JSON value"},
	    {LIT("{\"a\":1}\0"), "request body must not contain NUL characters"},
	    {LIT("{\"a\":\"b\0c\"}"), "request body must not contain NUL characters"},
	    {LIT("{\"a\":\"\\u0000\"}"), "request body must not contain NUL characters"},
	    {LIT("{\"a\":\"\xff\"}"), "request body must be valid UTF-8"},
	    {LIT("{\"a\":\"\xc0\x80\"}"), "request body must be valid UTF-8"},
	    {LIT("{\"a\":\"\xed\xa0\x80\"}"), "request body must be valid UTF-8"},
	    {LIT("{\"a\":\"\xf4\x90\x80\x80\"}"), "request body must be valid UTF-8"},
	    {LIT("\xef\xbb\xbf{}"), BAD}, /* byte order mark */
	    {LIT("{\"a\":\"\\ud800\"}"), BAD},
	    {LIT("{\"a\":\"\\udc00\"}"), BAD},
	    {LIT("{\"a\":\"\\ud800\\ud800\"}"), BAD},
	    {LIT("{\"a\":\"\\ud800x\"}"), BAD},
	    {LIT("{\"a\":\"\\u12\"}"), BAD},
	    {LIT("{\"a\":\"\\x41\"}"), BAD},
	    {LIT("{\"a\":\"\\a\"}"), BAD},
	    {LIT("{\"a\":\"\x01\"}"), BAD},
	    {LIT("{\"a\":\"\t\"}"), BAD},
	    {LIT("{\"a\":\"\x7f\"}"), NULL}, /* DEL is allowed raw by RFC 8259 */
	    {LIT("{'a':1}"), BAD},
	    {LIT("{\"a\":'x'}"), BAD},
	    {LIT("{a:1}"), BAD},
	    {LIT("{\"a\":NaN}"), BAD},
	    {LIT("{\"a\":Infinity}"), BAD},
	    {LIT("{\"a\":-Infinity}"), BAD},
	    {LIT("{\"a\":True}"), BAD},
	    {LIT("{\"a\":nul}"), BAD},
	    {LIT("{\"a\":1.}"), BAD},
	    {LIT("{\"a\":.5}"), BAD},
	    {LIT("{\"a\":01}"), BAD},
	    {LIT("{\"a\":+1}"), BAD},
	    {LIT("{\"a\":1e}"), BAD},
	    {LIT("{\"a\":-}"), BAD},
	    {LIT("{\"a\":0x10}"), BAD},
	    {LIT("{\f\"a\":1}"), BAD},
	    {LIT("{\"a\":1"), BAD},
	    {LIT("{\"a\":\"x"), BAD},
	    {LIT("{\"a\""), BAD},
	    {LIT("{"), BAD},
	    {LIT("}"), BAD},
	    {LIT("{\"a\":9223372036854775808}"), "request body has a number out of range"},
	    {LIT("{\"a\":-9223372036854775809}"), "request body has a number out of range"},
	    {LIT("{\"a\":99999999999999999999999}"), "request body has a number out of range"},
	    {LIT("{\"a\":1e999}"), "request body has a number out of range"},
	    {LIT("{\"a\":[-1e999]}"), "request body has a number out of range"},
	    {LIT("{\"a\":1,\"a\":2}"), "request body has a duplicate key"},
	    {LIT("{\"b\":{\"a\":1,\"a\":1}}"), "request body has a duplicate key"},
	    {LIT("{\"a\":1,\"\\u0061\":2}"), "request body has a duplicate key"},
	};
	struct json_object *o;
	const char *err;
	size_t i;

	for (i = 0; i < N(t); i++) {
		const char *what = name("json_parse_object", t[i].s, t[i].n);

		o = json_parse_object(t[i].s, t[i].n, &err);
		OK((o != NULL) == (t[i].err == NULL), what);
		STR_EQ(err, t[i].err, what);
		json_object_put(o);
	}
}

/* levels - 1 nested arrays inside a top-level object ({"a":[[...]]}), the innermost holding
 * 'inner'. json-c counts a scalar as a level of its own, so "1" and "" differ there. */
static void
check_depth(int levels, const char *inner, const char *want, const char *what)
{
	char buf[256];
	size_t used;
	int i, arrays = levels - 1;
	struct json_object *o;
	const char *err;

	used = (size_t)snprintf(buf, sizeof(buf), "{\"a\":");
	for (i = 0; i < arrays; i++)
		buf[used++] = '[';
	used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s", inner);
	for (i = 0; i < arrays; i++)
		buf[used++] = ']';
	buf[used++] = '}';
	o = json_parse_object(buf, used, &err);
	STR_EQ(err, want, what);
	OK((o != NULL) == (want == NULL), what);
	json_object_put(o);
}

static void
test_json_values(void)
{
	struct json_object *o, *v;
	const char *err;
	const char doc[] = "{\"name\":\"\\u00e9\\ud83d\\ude00\",\"n\":-42,\"x\":{\"y\":[true]}}";

	o = json_parse_object(doc, strlen(doc), &err);
	OK(o != NULL && err == NULL, "json_parse_object: values parse");
	OK(o && json_object_object_get_ex(o, "name", &v) &&
	       strcmp(json_object_get_string(v), "\xc3\xa9\xf0\x9f\x98\x80") == 0,
	   "json_parse_object: escapes decoded to UTF-8");
	OK(o && json_object_object_get_ex(o, "n", &v) && json_object_get_int64(v) == -42,
	   "json_parse_object: integer value");
	json_object_put(o);

	/* The length, not a NUL, ends the input. */
	o = json_parse_object("{}garbage", 2, &err);
	OK(o != NULL, "json_parse_object honours len");
	json_object_put(o);
	o = json_parse_object(NULL, 0, &err);
	STR_EQ(err, "request body is empty", "json_parse_object(NULL, 0)");

	check_depth(16, "", NULL, "json_parse_object: 16 levels accepted");
	check_depth(16, "1", NULL, "json_parse_object: 16 levels, innermost holding a number");
	check_depth(16, "\"x\",null,1.5", NULL,
	            "json_parse_object: 16 levels, innermost holding scalars");
	check_depth(16, "{\"b\":1}", "request body is nested too deeply (at most 16 levels)",
	            "json_parse_object: 17 levels, innermost an object");
	check_depth(17, "", "request body is nested too deeply (at most 16 levels)",
	            "json_parse_object: 17 levels rejected");
	check_depth(17, "1", "request body is nested too deeply (at most 16 levels)",
	            "json_parse_object: 17 levels with a number rejected");
	check_depth(60, "", "request body is nested too deeply (at most 16 levels)",
	            "json_parse_object: 60 levels rejected");
}

/* ---- validators ---- */

static void
test_text(void)
{
	static const struct {
		const char *s;
		size_t min, max;
		bool multi;
		const char *err;
	} t[] = {
	    {"Ann", 1, 200, false, NULL},
	    {"a", 1, 1, false, NULL},
	    {"\xc3\xa9\xc3\xa9", 1, 2, false, NULL}, /* counts characters, not bytes */
	    {"\xc3\xa9\xc3\xa9\xc3\xa9", 1, 2, false, "must be at most 2 characters"},
	    {"ab", 1, 1, false, "must be at most 1 character"},
	    {"", 1, 200, false, "is required"},
	    {NULL, 1, 200, false, "is required"},
	    {"", 0, 200, false, NULL},
	    {NULL, 0, 200, false, NULL},
	    {"a", 2, 10, false, "must be at least 2 characters"},
	    {" a ", 3, 3, false, NULL}, /* white space counts */
	    {"a\nb", 1, 10, false, "must not contain control characters"},
	    {"a\nb\r\n\tc", 1, 10, true, NULL},
	    {"a\x01", 1, 10, true, "must not contain control characters"},
	    {"a\x1b[31m", 1, 10, true, "must not contain control characters"},
	    {"a\x7f", 1, 10, false, "must not contain control characters"},
	    {"a\xc2\x85", 1, 10, true, "must not contain control characters"}, /* U+0085 */
	    {"a\xc2\xa0", 1, 10, false, NULL},                                 /* U+00A0 */
	    {"a\xff", 1, 10, false, "must be valid UTF-8 text"},
	    {"\xed\xa0\x80", 1, 10, false, "must be valid UTF-8 text"},
	};
	char buf[512];
	size_t i;

	for (i = 0; i < N(t); i++)
		STR_EQ(v_text(t[i].s, t[i].min, t[i].max, t[i].multi), t[i].err,
		       cname("v_text", t[i].s));
	memset(buf, 'x', 200);
	buf[200] = '\0';
	STR_EQ(v_text(buf, 1, 200, false), NULL, "v_text: 200 characters");
	strcat(buf, "x");
	STR_EQ(v_text(buf, 1, 200, false), "must be at most 200 characters",
	       "v_text: 201 characters");
	for (i = 0; i < 200; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	buf[400] = '\0';
	STR_EQ(v_text(buf, 1, 200, false), NULL, "v_text: 200 two-byte characters");
	strcat(buf, "\xc3\xa9");
	STR_EQ(v_text(buf, 1, 200, false), "must be at most 200 characters",
	       "v_text: 201 two-byte characters");
	memset(buf, 'x', 201);
	buf[201] = '\0';
	/* Messages carrying numbers are interned: the same text comes back as the same pointer and
	 * survives later calls with other numbers. */
	OK(v_text(buf, 1, 200, false) == v_text(buf, 1, 200, false), "v_text: message interned");
	{
		const char *m200 = v_text(buf, 1, 200, false);

		v_text(buf, 1, 5, false);
		STR_EQ(m200, "must be at most 200 characters", "v_text: message stable");
	}
}

static void
test_date(void)
{
	static const struct {
		const char *s;
		const char *err;
		int y, m, d;
	} t[] = {
	    {"2024-02-29", NULL, 2024, 2, 29},
	    {"2000-02-29", NULL, 2000, 2, 29},
	    {"1900-01-01", NULL, 1900, 1, 1},
	    {"1999-12-31", NULL, 1999, 12, 31},
	    {"2023-04-30", NULL, 2023, 4, 30},
	    {"2023-02-29", "must be a real calendar date", 0, 0, 0},
	    {"1900-02-29", "must be a real calendar date", 0, 0, 0},
	    {"2023-02-30", "must be a real calendar date", 0, 0, 0},
	    {"2023-04-31", "must be a real calendar date", 0, 0, 0},
	    {"2023-13-01", "must be a real calendar date", 0, 0, 0},
	    {"2023-00-10", "must be a real calendar date", 0, 0, 0},
	    {"2023-01-00", "must be a real calendar date", 0, 0, 0},
	    {"2023-01-32", "must be a real calendar date", 0, 0, 0},
	    {"1899-12-31", "must have a year between 1900 and 9999", 0, 0, 0},
	    {"0000-01-01", "must have a year between 1900 and 9999", 0, 0, 0},
	    {"", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {NULL, "is required", 0, 0, 0},
	    {"2023-1-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023-01-1", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"23-01-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023/01/01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023-01-01 ", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {" 2023-01-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023-01-01T00:00", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"+023-01-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023-0a-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"20230101", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"10000-01-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"2023", "must be a date YYYY-MM-DD", 0, 0, 0},
	    {"\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa3-01-01", "must be a date YYYY-MM-DD", 0, 0, 0},
	};
	int y, m, d;
	size_t i;

	for (i = 0; i < N(t); i++) {
		const char *what = cname("v_date", t[i].s);

		y = m = d = -1;
		STR_EQ(v_date(t[i].s, false, &y, &m, &d), t[i].err, what);
		OK(y == t[i].y && m == t[i].m && d == t[i].d, what);
	}
}

static void
test_date_future(void)
{
	time_t now = time(NULL);
	struct tm tm;
	char today[16], tomorrow[16], yesterday[16];
	int y, m, d;

	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	now += 86400;
	gmtime_r(&now, &tm);
	strftime(tomorrow, sizeof(tomorrow), "%Y-%m-%d", &tm);
	now -= 2 * 86400;
	gmtime_r(&now, &tm);
	strftime(yesterday, sizeof(yesterday), "%Y-%m-%d", &tm);

	STR_EQ(v_date(today, true, &y, &m, &d), NULL, "v_date: today is not future");
	STR_EQ(v_date(yesterday, true, &y, &m, &d), NULL, "v_date: yesterday is not future");
	STR_EQ(v_date(tomorrow, true, &y, &m, &d), "must not be in the future", "v_date: tomorrow");
	OK(y == 0 && m == 0 && d == 0, "v_date: outputs cleared on failure");
	STR_EQ(v_date("9999-12-31", true, &y, &m, &d), "must not be in the future", "v_date: 9999");
	STR_EQ(v_date("9999-12-31", false, NULL, NULL, NULL), NULL, "v_date: NULL outputs");
	STR_EQ(v_date("2023-02-30", true, &y, &m, &d), "must be a real calendar date",
	       "v_date: impossible date reported before future");
}

static void
test_enum(void)
{
	static const char *const sex[] = {"female", "male", "other", NULL};
	static const char *const one[] = {"yes", NULL};
	static const struct {
		const char *s;
		const char *err;
	} t[] = {
	    {"female", NULL},
	    {"male", NULL},
	    {"other", NULL},
	    {"Female", "must be one of: female, male, other"},
	    {"fem", "must be one of: female, male, other"},
	    {"females", "must be one of: female, male, other"},
	    {" male", "must be one of: female, male, other"},
	    {"male ", "must be one of: female, male, other"},
	    {"", "must be one of: female, male, other"},
	    {NULL, "is required"},
	};
	size_t i;

	for (i = 0; i < N(t); i++)
		STR_EQ(v_enum(t[i].s, sex), t[i].err, cname("v_enum", t[i].s));
	STR_EQ(v_enum("no", one), "must be one of: yes", "v_enum: single choice message");
	OK(v_enum("x", sex) == v_enum("y", sex), "v_enum: message interned");
}

static void
test_uuid(void)
{
	static const struct {
		const char *s;
		const char *want; /* lower-case form, or NULL when invalid */
	} t[] = {
	    {"123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"},
	    {"123E4567-E89B-12D3-A456-426614174ABC", "123e4567-e89b-12d3-a456-426614174abc"},
	    {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
	    {"123e4567e89b12d3a456426614174000", NULL},
	    {"123e4567-e89b-12d3-a456-42661417400", NULL},
	    {"123e4567-e89b-12d3-a456-4266141740000", NULL},
	    {"123e4567-e89b-12d3-a456-42661417400g", NULL},
	    {"123e4567_e89b-12d3-a456-426614174000", NULL},
	    {"{123e4567-e89b-12d3-a456-426614174000}", NULL},
	    {" 123e4567-e89b-12d3-a456-426614174000", NULL},
	    {"123e4567-e89b-12d3-a456-426614174000 ", NULL},
	    {"123e", NULL},
	};
	char out[37];
	size_t i;

	for (i = 0; i < N(t); i++) {
		const char *what = cname("v_uuid", t[i].s);

		memset(out, 'Z', sizeof(out));
		STR_EQ(v_uuid(t[i].s, out), t[i].want ? NULL : "must be a UUID", what);
		STR_EQ(out, t[i].want ? t[i].want : "", what);
	}
	STR_EQ(v_uuid("", out), "must be a UUID", "v_uuid(\"\")");
	STR_EQ(v_uuid(NULL, out), "is required", "v_uuid(NULL)");
}

static void
test_int(void)
{
	static const char *const range = "must be an integer between 1 and 100";
	static const struct {
		const char *s;
		long long lo, hi;
		const char *err;
		long long want;
	} t[] = {
	    {"1", 1, 100, NULL, 1},
	    {"100", 1, 100, NULL, 100},
	    {"42", 1, 100, NULL, 42},
	    {"007", 1, 100, NULL, 7},
	    {"0", 1, 100, range, 0},
	    {"101", 1, 100, range, 0},
	    {"-1", 1, 100, range, 0},
	    {"+1", 1, 100, range, 0},
	    {" 1", 1, 100, range, 0},
	    {"1 ", 1, 100, range, 0},
	    {"0x10", 1, 100, range, 0},
	    {"1e3", 1, 100, range, 0},
	    {"1.0", 1, 100, range, 0},
	    {"1,000", 1, 100, range, 0},
	    {"-", 1, 100, range, 0},
	    {"--1", 1, 100, range, 0},
	    {"1-", 1, 100, range, 0},
	    {"abc", 1, 100, range, 0},
	    {"\xd9\xa1", 1, 100, range, 0}, /* ARABIC-INDIC DIGIT ONE */
	    {"", 1, 100, range, 0},
	    {NULL, 1, 100, "is required", 0},
	    {"-5", -10, 10, NULL, -5},
	    {"-0", -10, 10, NULL, 0},
	    {"9223372036854775807", LLONG_MIN, LLONG_MAX, NULL, LLONG_MAX},
	    {"-9223372036854775808", LLONG_MIN, LLONG_MAX, NULL, LLONG_MIN},
	    {"9223372036854775808", LLONG_MIN, LLONG_MAX,
	     "must be an integer between -9223372036854775808 and 9223372036854775807", 0},
	    {"-9223372036854775809", LLONG_MIN, LLONG_MAX,
	     "must be an integer between -9223372036854775808 and 9223372036854775807", 0},
	    {"18446744073709551617", LLONG_MIN, LLONG_MAX,
	     "must be an integer between -9223372036854775808 and 9223372036854775807", 0},
	    {"99999999999999999999999999999999", 0, 10, "must be an integer between 0 and 10", 0},
	};
	long long v;
	size_t i;

	for (i = 0; i < N(t); i++) {
		const char *what = cname("v_int", t[i].s);

		v = 12345;
		STR_EQ(v_int(t[i].s, t[i].lo, t[i].hi, &v), t[i].err, what);
		OK(v == t[i].want, what);
	}
	STR_EQ(v_int("5", 1, 10, NULL), NULL, "v_int: NULL out");
}

static void
test_int_long(void)
{
	char *s = malloc(10001);

	memset(s, '9', 10000);
	s[10000] = '\0';
	STR_EQ(v_int(s, 0, 10, NULL), "must be an integer between 0 and 10", "v_int: 10000 digits");
	free(s);
}

static void
test_email(void)
{
	static const char *const bad = "must be an e-mail address";
	static const struct {
		const char *s;
		const char *err;
	} t[] = {
	    {"ann@example.org", NULL},
	    {"ann.lee+ivf@clinic.example.co.uk", NULL},
	    {"a@b.c", NULL},
	    {"A_B-c@Sub-Domain.Example.COM", NULL},
	    {"j\xc3\xb6rg@example.de", NULL}, /* UTF-8 local part */
	    {"", bad},
	    {NULL, "is required"},
	    {"ann", bad},
	    {"@example.org", bad},
	    {"ann@", bad},
	    {"ann@example", bad},
	    {"ann@@example.org", bad},
	    {"ann@x@example.org", bad},
	    {"ann lee@example.org", bad},
	    {"ann@exa mple.org", bad},
	    {"ann@.example.org", bad},
	    {"ann@example.org.", bad},
	    {"ann@example..org", bad},
	    {"ann@-example.org", bad},
	    {"ann@example-.org", bad},
	    {"ann@exa_mple.org", bad},
	    {"ann@ex\xc3\xa4mple.org", bad},
	    {"ann\r\nbcc:x@example.org", bad},
	    {"ann\t@example.org", bad},
	    {"<ann>@example.org", bad},
	    {"\"ann\"@example.org", bad},
	    {"ann,bob@example.org", bad},
	    {"a\xff@example.org", bad},
	    {"a\xc2\x85@example.org", bad},
	};
	char buf[300];
	size_t i;

	for (i = 0; i < N(t); i++)
		STR_EQ(v_email(t[i].s), t[i].err, cname("v_email", t[i].s));

	/* 64 + '@' + 63 + '.' + 63 + '.' + 61 = 254 bytes */
	memset(buf, 'a', 64);
	buf[64] = '@';
	memset(buf + 65, 'b', 63);
	buf[128] = '.';
	memset(buf + 129, 'c', 63);
	buf[192] = '.';
	memset(buf + 193, 'd', 61);
	buf[254] = '\0';
	STR_EQ(v_email(buf), NULL, "v_email: 254 bytes");
	buf[254] = 'd';
	buf[255] = '\0';
	STR_EQ(v_email(buf), bad, "v_email: 255 bytes");
	memset(buf, 'a', 10);
	buf[10] = '@';
	memset(buf + 11, 'b', 64);
	strcpy(buf + 75, ".org");
	STR_EQ(v_email(buf), bad, "v_email: 64-byte label");
}

static void
test_phone(void)
{
	static const char *const bad = "must be a phone number";
	static const struct {
		const char *s;
		const char *err;
	} t[] = {
	    {"123", NULL},
	    {"+44 (0)20 7946 0958", NULL},
	    {"555-0100", NULL},
	    {"030.1234.5678", NULL},
	    {"12345678901234567890123456789012", NULL},
	    {"123456789012345678901234567890123", bad},
	    {"12", bad},
	    {"1-2", bad},
	    {"+()-. 12", bad},
	    {"555-0100 ext 2", bad},
	    {"555\n0100", bad},
	    {"555/0100", bad},
	    {"\xd9\xa1\xd9\xa2\xd9\xa3", bad},
	    {"", bad},
	    {NULL, "is required"},
	};
	size_t i;

	for (i = 0; i < N(t); i++)
		STR_EQ(v_phone(t[i].s), t[i].err, cname("v_phone", t[i].s));
}

static void
test_mrn(void)
{
	static const char *const bad =
	    "must be a medical record number (letters, digits and '-', at most 32)";
	static const struct {
		const char *s;
		const char *want; /* upper-cased, or NULL when invalid */
	} t[] = {
	    {"a", "A"},
	    {"7", "7"},
	    {"mrn-00042", "MRN-00042"},
	    {"Ab-cD-9", "AB-CD-9"},
	    {"abcdefghijklmnopqrstuvwxyz012345", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"},
	    {"abcdefghijklmnopqrstuvwxyz0123456", NULL},
	    {"-123", NULL},
	    {"12 34", NULL},
	    {"12_34", NULL},
	    {"12/34", NULL},
	    {"\xc3\xa9", NULL},
	    {"12\n", NULL},
	};
	char out[33];
	size_t i;

	for (i = 0; i < N(t); i++) {
		const char *what = cname("v_mrn", t[i].s);

		memset(out, 'Z', sizeof(out));
		STR_EQ(v_mrn(t[i].s, out), t[i].want ? NULL : bad, what);
		STR_EQ(out, t[i].want ? t[i].want : "", what);
	}
	STR_EQ(v_mrn("", out), bad, "v_mrn(\"\")");
	STR_EQ(v_mrn(NULL, out), "is required", "v_mrn(NULL)");
}

static void
test_local_path(void)
{
	static const char *const good[] = {"/", "/patients", "/patients?q=a%2Fb&cursor=x",
	                                   "/patients/new#top", NULL};
	static const char *const bad[] = {"",
	                                  "patients",
	                                  "//evil.example",
	                                  "///evil.example",
	                                  "/\\evil.example",
	                                  "/a\\b",
	                                  "https://evil.example",
	                                  "javascript:alert(1)",
	                                  "/a\r\nSet-Cookie: x=1",
	                                  "/a\tb",
	                                  "/a\x7f",
	                                  NULL};
	const char *const *p;
	char longpath[2100];

	for (p = good; *p; p++)
		OK(v_local_path(*p) == NULL, *p);
	for (p = bad; *p; p++)
		OK(v_local_path(*p) != NULL, *p);
	OK(v_local_path(NULL) != NULL, "local path: NULL");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	OK(v_local_path(longpath) != NULL, "local path: over 2048 bytes");
}

int
main(void)
{
	struct arena *a = arena_new();

	if (a == NULL)
		return 1;
	test_utf8();
	test_form(a);
	test_form_limits(a);
	test_kv(a);
	test_json_table();
	test_json_values();
	test_text();
	test_date();
	test_date_future();
	test_enum();
	test_uuid();
	test_int();
	test_int_long();
	test_email();
	test_phone();
	test_mrn();
	arena_free(a);
	test_local_path();
	return tap_done();
}
