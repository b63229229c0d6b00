/* test-template.c: unit tests for the template engine (template.c): escaping, sections, inverted
 * sections, partials, name lookup, parse and render errors, whitespace and tpl_load_dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "tap.h"
#include "buf.h"
#include "template.h"

static struct tpl_set *set;
static struct buf out;
static char err[512];

/* Adds src as template "t" and renders it against the JSON text view; returns the output, or NULL
 * when adding or rendering failed (the message is then in err). */
static const char *
render(const char *src, const char *view)
{
	struct json_object *v = view ? json_tokener_parse(view) : NULL;
	int rc;

	if (view && !v) {
		fprintf(stderr, "bad test JSON: %s\n", view);
		exit(2);
	}
	err[0] = '\0';
	buf_reset(&out);
	rc = tpl_add(set, "t", src, strlen(src), err, sizeof(err));
	if (rc == 0)
		rc = tpl_render(set, "t", v, &out, err, sizeof(err));
	json_object_put(v);
	return rc == 0 ? buf_cstr(&out) : NULL;
}

/* Adds src under name, which must parse; helper for partial tests. */
static void
add(const char *name, const char *src)
{
	if (tpl_add(set, name, src, strlen(src), err, sizeof(err)) != 0) {
		fprintf(stderr, "cannot add %s: %s\n", name, err);
		exit(2);
	}
}

/* Expects src to fail (parsing or rendering) with a message containing want. */
static void
fails_with(const char *src, const char *view, const char *want, const char *what)
{
	const char *got = render(src, view);

	OK(got == NULL && strstr(err, want) != NULL, what);
	if (got || !strstr(err, want))
		printf("#   err: \"%s\"\n#   want substring: \"%s\"\n", err, want);
}

static void
test_escaping(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"x\":\"a&b\"}", "a&amp;b"}, {"{\"x\":\"a<b\"}", "a&lt;b"},
	    {"{\"x\":\"a>b\"}", "a&gt;b"},  {"{\"x\":\"a\\\"b\"}", "a&quot;b"},
	    {"{\"x\":\"a'b\"}", "a&#39;b"}, {"{\"x\":\"a`b\"}", "a&#96;b"},
	    {"{\"x\":\"a=b\"}", "a&#61;b"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "escapes %s", cases[i].want + 1);
		STR_EQ(render("{{x}}", cases[i].json), cases[i].want, what);
	}
	STR_EQ(render("<p title=\"{{ x }}\">{{x}}</p>", "{\"x\":\"<script>alert('x')</script>\"}"),
	       "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\">"
	       "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>",
	       "escapes a script in text and attribute");
	STR_EQ(render("{{{x}}}", "{\"x\":\"<b>&'\\\"</b>\"}"), "<b>&'\"</b>",
	       "{{{x}}} is unescaped");
	STR_EQ(render("{{& x }}", "{\"x\":\"<i>\"}"), "<i>", "{{&x}} is unescaped");
	STR_EQ(render("{{#a}}{{.}}{{/a}}", "{\"a\":[\"<\",\"&\"]}"), "&lt;&amp;",
	       "{{.}} is escaped");
	STR_EQ(render("no tags at all", NULL), "no tags at all", "plain text passes through");
	STR_EQ(render("a { b } {c} }} end", NULL), "a { b } {c} }} end", "lone braces are text");
}

static void
test_values(void)
{
	STR_EQ(render("[{{n}}|{{z}}|{{neg}}|{{d}}]", "{\"n\":42,\"z\":0,\"neg\":-7,\"d\":1.5}"),
	       "[42|0|-7|1.5]", "numbers render as json-c prints them");
	STR_EQ(render("{{t}} {{f}}", "{\"t\":true,\"f\":false}"), "true false",
	       "booleans render as true/false");
	STR_EQ(render("[{{nope}}|{{n}}|{{o}}|{{a}}]", "{\"n\":null,\"o\":{\"k\":1},\"a\":[1]}"),
	       "[|||]", "missing, null, objects and arrays render as nothing");
	STR_EQ(render("[{{x}}]", NULL), "[]", "a NULL view renders names as nothing");
	STR_EQ(render("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}"), "deep", "dotted name");
	STR_EQ(render("[{{a.x.c}}|{{a.b.c.d}}|{{q.b}}]", "{\"a\":{\"b\":{\"c\":\"deep\"}}}"),
	       "[||]", "dotted name with a missing segment renders nothing");
	STR_EQ(render("{{#o}}[{{a.b}}]{{/o}}", "{\"a\":{\"b\":\"outer\"},\"o\":{\"a\":{}}}"), "[]",
	       "later segments do not fall back to outer contexts");
	STR_EQ(render("{{#o}}{{a.b}}{{/o}}", "{\"a\":{\"b\":\"outer\"},\"o\":{\"z\":1}}"), "outer",
	       "first segment of a dotted name found in an outer context");
	STR_EQ(render("a{{! a comment }}b{{!\nmulti\nline }}c", NULL), "abc",
	       "comments render nothing");
}

static void
test_sections(void)
{
	STR_EQ(render("<ul>{{#rows}}<li>{{name}}={{id}}</li>{{/rows}}</ul>",
	              "{\"rows\":[{\"name\":\"ann\",\"id\":1},{\"name\":\"bob\",\"id\":2}]}"),
	       "<ul><li>ann=1</li><li>bob=2</li></ul>", "section over an array of objects");
	STR_EQ(render("{{#xs}}({{.}}){{/xs}}", "{\"xs\":[1,\"two\",3.5,true]}"),
	       "(1)(two)(3.5)(true)", "section over an array of scalars with {{.}}");
	STR_EQ(render("{{#t}}yes{{/t}}{{#f}}no{{/f}}", "{\"t\":true,\"f\":false}"), "yes",
	       "boolean sections");
	STR_EQ(render("{{#z}}zero is truthy{{/z}}", "{\"z\":0}"), "zero is truthy",
	       "number 0 is truthy");
	STR_EQ(render("{{#s}}[{{.}}]{{/s}}{{#e}}empty{{/e}}", "{\"s\":\"str\",\"e\":\"\"}"),
	       "[str]", "non-empty string section pushes the string; empty string is falsy");
	STR_EQ(render("{{#p}}{{name}} ({{age}}){{/p}}", "{\"p\":{\"name\":\"Eve\",\"age\":31}}"),
	       "Eve (31)", "object section pushes its context");
	STR_EQ(
	    render(
	        "{{#rows}}{{name}}@{{clinic}};{{/rows}}",
	        "{\"clinic\":\"North\",\"rows\":[{\"name\":\"a\"},{\"name\":\"b\",\"kids\":[]}]}"),
	    "a@North;b@North;", "outer-context lookup from inside a section");
	STR_EQ(render("{{#o}}{{x}}{{/o}}{{x}}", "{\"x\":\"outer\",\"o\":{\"x\":\"inner\"}}"),
	       "innerouter", "inner context shadows outer; popped after the section");
	STR_EQ(render("{{#a}}{{#b}}{{#c}}{{v}}{{/c}}{{/b}}{{/a}}",
	              "{\"v\":1,\"a\":{\"b\":[{\"c\":{\"v\":2}},{\"c\":true}]}}"),
	       "21", "nested sections");
	STR_EQ(
	    render("{{#e}}never{{/e}}{{#n}}never{{/n}}{{#m}}never{{/m}}", "{\"e\":[],\"n\":null}"),
	    "", "empty array, null and missing sections render nothing");
	STR_EQ(render("{{#a.b}}{{c}}{{/a.b}}", "{\"a\":{\"b\":{\"c\":\"ok\"}}}"), "ok",
	       "dotted section name");
	STR_EQ(render("{{^m}}M{{/m}}{{^f}}F{{/f}}{{^e}}E{{/e}}{{^s}}S{{/s}}{{^n}}N{{/n}}",
	              "{\"f\":false,\"e\":[],\"s\":\"\",\"n\":null}"),
	       "MFESN", "inverted sections: missing, false, empty array, empty string, null");
	STR_EQ(render("{{^t}}T{{/t}}{{^z}}Z{{/z}}{{^a}}A{{/a}}{{^o}}O{{/o}}",
	              "{\"t\":true,\"z\":0,\"a\":[0],\"o\":{}}"),
	       "", "inverted sections skip true, 0, non-empty array, object");
	STR_EQ(render("{{#rows}}{{name}} {{/rows}}{{^rows}}No patients.{{/rows}}", "{\"rows\":[]}"),
	       "No patients.", "list-or-empty-message idiom");
}

static void
test_whitespace(void)
{
	STR_EQ(render("<ul>\n  {{#a}}\n  <li>{{.}}</li>\n  {{/a}}\n</ul>\n", "{\"a\":[1,2]}"),
	       "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n", "standalone section lines are removed");
	STR_EQ(render("a\r\n\t{{! note }}\r\nb", NULL), "a\r\nb", "standalone comment with CRLF");
	STR_EQ(render("x {{#t}}y{{/t}} z\n", "{\"t\":true}"), "x y z\n",
	       "inline section tags keep surrounding spaces");
	STR_EQ(render("  {{v}}\n", "{\"v\":1}"), "  1\n", "variable lines are copied verbatim");
	STR_EQ(render("{{#t}}\nbody\n{{/t}}", "{\"t\":true}"), "body\n",
	       "standalone tags at start and end of input");
}

static void
test_partials(void)
{
	add("row", "<td>{{name}}</td>");
	add("hdr", "<h1>{{title}}</h1>");
	STR_EQ(render("{{>hdr}}", "{\"title\":\"Patients\"}"), "<h1>Patients</h1>",
	       "simple partial");
	STR_EQ(render("<tr>{{#rows}}{{> row }}{{/rows}}</tr>",
	              "{\"rows\":[{\"name\":\"a<b\"},{\"name\":\"c\",\"kids\":[]}]}"),
	       "<tr><td>a&lt;b</td><td>c</td></tr>", "partial uses the caller's context");
	add("tree", "{{name}}{{#kids}}({{>tree}}){{/kids}}");
	STR_EQ(render("{{>tree}}", "{\"name\":\"r\",\"kids\":[{\"name\":\"a\",\"kids\":[{\"name\":"
	                           "\"b\",\"kids\":[]}]},"
	                           "{\"name\":\"c\",\"kids\":[]}]}"),
	       "r(a(b))(c)", "bounded recursive partial renders");
	add("loop", "x{{>loop}}");
	OK(tpl_render(set, "loop", NULL, &out, err, sizeof(err)) == -1 &&
	       strstr(err, "nested deeper than") && strstr(err, "'loop'"),
	   "recursive partial fails at the depth limit naming the template");
	add("uses_missing", "a\nb {{>nosuch}}");
	buf_reset(&out);
	OK(tpl_render(set, "uses_missing", NULL, &out, err, sizeof(err)) == -1 &&
	       strstr(err, "unknown partial 'nosuch'") && strstr(err, "'uses_missing' line 2"),
	   "unknown partial is a render error with template and line");
	OK(tpl_render(set, "nosuch", NULL, &out, err, sizeof(err)) == -1 &&
	       strstr(err, "unknown template 'nosuch'"),
	   "unknown template is a render error");
	add("hdr", "<h2>{{title}}</h2>");
	STR_EQ(render("{{>hdr}}", "{\"title\":\"T\"}"), "<h2>T</h2>",
	       "tpl_add replaces a template");
	OK(tpl_add(set, "hdr", "{{#x}}", 6, err, sizeof(err)) == -1 &&
	       tpl_render(set, "hdr", NULL, &out, err, sizeof(err)) == 0,
	   "a failed tpl_add keeps the previous template");
}

static void
test_parse_errors(void)
{
	char deep[64 * (TPL_MAX_DEPTH + 2)] = "";

	fails_with("ab {{name", NULL, "template 't' line 1: unclosed tag", "unclosed tag");
	fails_with("{{{raw}}", NULL, "unclosed tag", "unclosed triple mustache");
	fails_with("{{! never closed", NULL, "unclosed tag", "unclosed comment");
	fails_with("a\n{{#a}}\n{{/b}}", NULL,
	           "line 3: section 'a' (opened line 2) closed by '{{/b}}'",
	           "section closed with a wrong name");
	fails_with("x\ny\n{{#a}}{{^b}}{{/b}}", NULL, "line 3: section 'a' is never closed",
	           "unclosed section");
	fails_with("text {{/a}}", NULL, "closes no open section", "stray closing tag");
	fails_with("{{}}", NULL, "empty tag name", "empty tag name");
	fails_with("{{ }}", NULL, "empty tag name", "blank tag name");
	fails_with("{{#}}{{/}}", NULL, "empty tag name", "empty section name");
	fails_with("{{>}}", NULL, "empty tag name", "empty partial name");
	fails_with("{{{ }}}", NULL, "empty tag name", "empty triple name");
	fails_with("{{a b}}", NULL, "invalid tag name", "name with a space");
	fails_with("{{a {{b}}", NULL, "invalid tag name", "missing close braces caught");
	fails_with("{{a..b}}", NULL, "empty segment", "empty dotted segment");
	fails_with("{{=<% %>=}}", NULL, "not supported", "set-delimiter tag");
	for (int i = 0; i <= TPL_MAX_DEPTH; i++)
		strcat(deep, "{{#a}}");
	fails_with(deep, NULL, "nested deeper than", "section nesting beyond TPL_MAX_DEPTH");
}

/* Every prefix of a valid template and a few byte soups must parse or fail cleanly (valgrind
 * checks the memory side). */
static void
test_robustness(void)
{
	static const char src[] = "<ul>\n{{#rows}}\n <li>{{{a}}} {{&b}} {{c.d}} {{! x }}{{>row}}\n"
	                          "{{^e}}{{.}}{{/e}}</li>\n{{/rows}}\n</ul>";
	static const char *soups[] = {"{{",     "}}{{",   "{{{{}}}}",          "{{#a}}{{/a}}}}",
	                              "{{{a}}", "{{&}}",  "{{#.}}{{.}}{{/.}}", "{{..}}",
	                              "{{.a}}", "{{a.}}", "{{#a}}{{#a}}{{/a}}"};
	const char *view = "{\"rows\":[{\"a\":1,\"c\":{\"d\":[]}}],\"e\":false}";
	int bad = 0, ok = 0;
	char *huge;
	size_t n = 200000;

	for (size_t len = 0; len <= sizeof(src) - 1; len++) {
		char prefix[sizeof(src)];

		memcpy(prefix, src, len);
		prefix[len] = '\0';
		if (render(prefix, view))
			ok++;
		else if (!err[0])
			bad++;
	}
	OK(bad == 0 && ok > 0, "every prefix of a template parses or fails with a message");
	for (size_t i = 0; i < sizeof(soups) / sizeof(soups[0]); i++)
		if (!render(soups[i], view) && !err[0])
			bad++;
	OK(bad == 0, "malformed inputs fail with a message");
	STR_EQ(render("{{#.}}[{{.}}]{{/.}}", "\"s\""), "[s]", "{{#.}} over a scalar view");
	huge = malloc(6 * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(huge + 6 * i, "{{#a}}", 6);
	huge[6 * n] = '\0';
	OK(render(huge, NULL) == NULL && strstr(err, "nested deeper than"),
	   "very deep nesting fails without exhausting the stack");
	free(huge);
	OK(tpl_add(set, "nul", "a\0{{b\0}}", 8, err, sizeof(err)) == -1 && strstr(err, "invalid"),
	   "NUL byte in a tag name is rejected");
	OK(tpl_add(set, "bin", "a\0b{{#x}}\0{{/x}}", 16, err, sizeof(err)) == 0 &&
	       tpl_render(set, "bin", NULL, &out, err, sizeof(err)) == 0,
	   "NUL bytes in text are accepted");
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
remove_files(const char *dir, const char *const *names)
{
	char path[512];

	for (; *names; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		remove(path);
	}
	rmdir(dir);
}

static void
test_load_dir(void)
{
	char good[] = "/tmp/fv-tpl-XXXXXX", bad[] = "/tmp/fv-tpl-XXXXXX";
	static const char *const good_files[] = {"layout.html", "item.html", "notes.txt",
	                                         ".swap.html",  "sub.html",  NULL};
	static const char *const bad_files[] = {"a_ok.html", "b_bad.html", NULL};
	struct tpl_set *s = tpl_set_new();
	struct json_object *v = json_tokener_parse("{\"items\":[\"x\",\"y\"]}");
	char sub[64];

	if (!mkdtemp(good) || !mkdtemp(bad) || !s || !v) {
		perror("setup");
		exit(2);
	}
	write_file(good, "layout.html", "<main>{{#items}}{{>item}}{{/items}}</main>");
	write_file(good, "item.html", "<i>{{.}}</i>");
	write_file(good, "notes.txt", "{{#broken");
	write_file(good, ".swap.html", "{{#broken");
	snprintf(sub, sizeof(sub), "%s/sub.html", good);
	mkdir(sub, 0700);
	OK(tpl_load_dir(s, good, err, sizeof(err)) == 0, "tpl_load_dir loads a directory");
	buf_reset(&out);
	OK(tpl_render(s, "layout", v, &out, err, sizeof(err)) == 0, "loaded template renders");
	STR_EQ(buf_cstr(&out), "<main><i>x</i><i>y</i></main>", "loaded partial is found by name");
	OK(tpl_render(s, "notes", v, &out, err, sizeof(err)) == -1 &&
	       tpl_render(s, "sub", v, &out, err, sizeof(err)) == -1 &&
	       tpl_render(s, ".swap", v, &out, err, sizeof(err)) == -1,
	   "non-.html files, dot files and directories are skipped");

	write_file(bad, "a_ok.html", "fine");
	write_file(bad, "b_bad.html", "line one\n{{#open}}\n");
	OK(tpl_load_dir(s, bad, err, sizeof(err)) == -1 && strstr(err, "b_bad.html") &&
	       strstr(err, "line 2"),
	   "a parse error fails the load naming the file and line");
	OK(tpl_load_dir(s, "/nonexistent/fv-templates", err, sizeof(err)) == -1 &&
	       strstr(err, "/nonexistent/fv-templates"),
	   "a missing directory fails naming it");

	remove_files(good, good_files);
	remove_files(bad, bad_files);
	json_object_put(v);
	tpl_set_free(s);
}

int
main(void)
{
	set = tpl_set_new();
	if (!set)
		return 2;
	test_escaping();
	test_values();
	test_sections();
	test_whitespace();
	test_partials();
	test_parse_errors();
	test_robustness();
	test_load_dir();
	tpl_set_free(set);
	buf_free(&out);
	return tap_done();
}
