/* template.c: the mustache-style template engine declared in template.h.
 *
 * Each template is parsed once (tpl_add) into a tree of nodes: text, escaped variable, unescaped
 * variable, section, inverted section and partial. Rendering only walks that tree with a stack of
 * json-c contexts; names were already split into their dotted segments at parse time, so a render
 * allocates nothing but the output it appends.
 *
 * Parsing is a single left-to-right pass with an explicit stack of open sections (no recursion, so
 * hostile nesting cannot exhaust the C stack); sections nest at most TPL_MAX_DEPTH deep in a
 * template. Rendering recurses and counts every section, inverted section and partial it enters
 * against TPL_MAX_DEPTH, which bounds both the C stack and the context stack and turns a recursive
 * partial into an error.
 *
 * Whitespace (deliberately simpler than the mustache spec): a section, inverted section, closing,
 * partial or comment tag that is alone on its line (only spaces and tabs around it) removes that
 * whole line, indentation and newline included, so block tags leave no blank lines in the HTML. A
 * partial's text is inserted as is, not re-indented. Everything else, including lines holding
 * variables, is copied verbatim.
 *
 * Names are trimmed of surrounding spaces and must not contain whitespace, control characters or
 * braces (this catches typos such as "{{a {{b}}"); a dotted name must not have an empty segment
 * ("a..b", ".a"). The first segment is looked up from the innermost context outwards and stops at
 * the first object that has the key, even when its value is null; later segments only descend.
 * Set-delimiter tags ({{=<% %>=}}) are not supported and are a parse error.
 *
 * A section pushes its value as the context: each element in turn for an array, the value itself
 * otherwise (so {{.}} inside {{#name}} is name's value).
 *
 * Out-of-memory aborts, as everywhere in the responder (see arena.h): templates are parsed at
 * start-up, where there is nothing sensible to fall back to. */
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"

/* How much of a bad name an error message quotes. */
#define NAME_QUOTE_MAX 40

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL };

struct node;

struct node_list {
	struct node *v;
	size_t n, cap;
};

struct node {
	enum node_kind kind;
	size_t line; /* source line of the tag, for render-time messages */
	/* N_TEXT: the bytes. Otherwise the name as written, NUL-terminated; for variables and
	 * sections followed in the same allocation by its segments, each NUL-terminated. */
	char *str;
	size_t len;            /* N_TEXT: byte count; otherwise strlen(str) */
	const char *path;      /* first segment, inside str */
	size_t nseg;           /* number of segments; 0 for "." (the current context) */
	struct node_list kids; /* N_SECTION and N_INVERTED */
};

struct tpl {
	char *name;
	struct node_list root;
};

struct tpl_set {
	struct tpl *v;
	size_t n, cap;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Returns a zeroed node appended to l. Pointers into l stay valid only until the next append. */
static struct node *
list_add(struct node_list *l)
{
	struct node *n;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	n = &l->v[l->n++];
	memset(n, 0, sizeof(*n));
	return n;
}

/* Recursion is bounded by the parse-time nesting limit. */
static void
list_free(struct node_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].str);
		list_free(&l->v[i].kids);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A linear scan: a site has a few dozen templates at most. */
static struct tpl *
find(const struct tpl_set *set, const char *name)
{
	if (!set || !name)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

/* ---- parsing ---- */

struct parser {
	const char *src;
	size_t len;
	const char *tname;
	char *err;
	size_t errlen;
	size_t line;    /* line number at offset counted */
	size_t counted; /* newlines before this offset are included in line */
	struct node_list root;
	struct node *open[TPL_MAX_DEPTH]; /* open sections, innermost last */
	int nopen;
};

/* The tag being parsed: "{{", an optional sigil, the name, the closing braces. */
struct tag {
	char sigil;       /* one of # ^ / > ! & { =, or 0 for a plain variable */
	size_t start;     /* offset of "{{" */
	size_t end;       /* offset just past the closing braces */
	const char *name; /* contents, trimmed */
	size_t nlen;
	size_t line;
};

static void parse_err(struct parser *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
parse_err(struct parser *p, size_t line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(p->err, p->errlen, "template '%s' line %zu: %s", p->tname, line, msg);
}

/* Tags are visited left to right, so counting on from the previous call keeps this linear. */
static size_t
line_at(struct parser *p, size_t off)
{
	while (p->counted < off) {
		const char *nl = memchr(p->src + p->counted, '\n', off - p->counted);

		if (!nl) {
			p->counted = off;
			break;
		}
		p->line++;
		p->counted = (size_t)(nl - p->src) + 1;
	}
	return p->line;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct node_list *
current(struct parser *p)
{
	return p->nopen ? &p->open[p->nopen - 1]->kids : &p->root;
}

/* Finds the end of the tag starting at t->start and fills in t. */
static int
scan_tag(struct parser *p, struct tag *t)
{
	const char *s = p->src, *end = p->src + p->len;
	const char *c = s + t->start + 2, *close, *e;
	size_t clen;

	t->line = line_at(p, t->start);
	t->sigil = (c < end && *c && strchr("#^/>!&{=", *c)) ? *c : 0;
	if (t->sigil)
		c++;
	close = t->sigil == '{' ? "}}}" : "}}";
	clen = strlen(close);
	e = memmem(c, (size_t)(end - c), close, clen);
	if (!e) {
		parse_err(p, t->line, "unclosed tag (no '%s')", close);
		return -1;
	}
	t->end = (size_t)(e - s) + clen;
	while (c < e && (is_blank(*c) || *c == '\n' || *c == '\r'))
		c++;
	while (e > c && (is_blank(e[-1]) || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	t->name = c;
	t->nlen = (size_t)(e - c);
	return 0;
}

static int
check_name(struct parser *p, const struct tag *t, int dotted)
{
	const char *n = t->name;
	size_t len = t->nlen;
	int quote = len > NAME_QUOTE_MAX ? NAME_QUOTE_MAX : (int)len;

	if (len == 0) {
		parse_err(p, t->line, "empty tag name");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)n[i] <= ' ' || n[i] == '{' || n[i] == '}' || n[i] == 0x7f) {
			parse_err(p, t->line, "invalid tag name '%.*s'", quote, n);
			return -1;
		}
	}
	if (dotted && !(len == 1 && n[0] == '.') &&
	    (n[0] == '.' || n[len - 1] == '.' || memmem(n, len, "..", 2))) {
		parse_err(p, t->line, "empty segment in dotted name '%.*s'", quote, n);
		return -1;
	}
	return 0;
}

/* Stores the tag's name in n; a dotted name also gets its segments, "a.b" -> "a.b\0a\0b\0". */
static void
node_set_name(struct node *n, const struct tag *t, int dotted)
{
	char *path;

	n->str = xrealloc(NULL, 2 * t->nlen + 2);
	memcpy(n->str, t->name, t->nlen);
	n->str[t->nlen] = '\0';
	n->len = t->nlen;
	n->line = t->line;
	n->path = n->str;
	n->nseg = 1;
	if (!dotted)
		return;
	if (t->nlen == 1 && t->name[0] == '.') {
		n->nseg = 0;
		return;
	}
	path = n->str + t->nlen + 1;
	memcpy(path, t->name, t->nlen);
	path[t->nlen] = '\0';
	for (char *c = path; *c; c++) {
		if (*c == '.') {
			*c = '\0';
			n->nseg++;
		}
	}
	n->path = path;
}

static void
add_text(struct parser *p, size_t from, size_t to)
{
	struct node *n;

	if (to <= from)
		return;
	n = list_add(current(p));
	n->kind = N_TEXT;
	n->str = xstrndup(p->src + from, to - from);
	n->len = to - from;
}

/* Narrows the text before the tag (*text_end) and moves the resume offset (*next) so that a tag
 * alone on its line takes the whole line with it. text is where the pending text starts: the scan
 * back stops there, and a tag ending just before it ends in '}', which is not blank. */
static void
strip_standalone(const struct parser *p, size_t text, size_t *text_end, size_t *next)
{
	size_t b = *text_end, f = *next;

	while (b > text && is_blank(p->src[b - 1]))
		b--;
	if (b > 0 && p->src[b - 1] != '\n')
		return;
	while (f < p->len && is_blank(p->src[f]))
		f++;
	if (f < p->len && p->src[f] == '\r' && f + 1 < p->len && p->src[f + 1] == '\n')
		f++;
	if (f < p->len && p->src[f] != '\n')
		return;
	*text_end = b;
	*next = f < p->len ? f + 1 : f;
}

static int
open_section(struct parser *p, const struct tag *t)
{
	struct node *n;

	if (check_name(p, t, 1))
		return -1;
	if (p->nopen == TPL_MAX_DEPTH) {
		parse_err(p, t->line, "sections nested deeper than %d", TPL_MAX_DEPTH);
		return -1;
	}
	n = list_add(current(p));
	n->kind = t->sigil == '#' ? N_SECTION : N_INVERTED;
	node_set_name(n, t, 1);
	/* Safe to keep: only the innermost open section's list grows until this one is closed. */
	p->open[p->nopen++] = n;
	return 0;
}

static int
close_section(struct parser *p, const struct tag *t)
{
	const struct node *open;
	int quote = t->nlen > NAME_QUOTE_MAX ? NAME_QUOTE_MAX : (int)t->nlen;

	if (check_name(p, t, 1))
		return -1;
	if (!p->nopen) {
		parse_err(p, t->line, "'{{/%.*s}}' closes no open section", quote, t->name);
		return -1;
	}
	open = p->open[p->nopen - 1];
	if (open->len != t->nlen || memcmp(open->str, t->name, t->nlen) != 0) {
		parse_err(p, t->line, "section '%s' (opened line %zu) closed by '{{/%.*s}}'",
		          open->str, open->line, quote, t->name);
		return -1;
	}
	p->nopen--;
	return 0;
}

static int
add_leaf(struct parser *p, const struct tag *t, enum node_kind kind)
{
	int dotted = kind != N_PARTIAL;
	struct node *n;

	if (check_name(p, t, dotted))
		return -1;
	n = list_add(current(p));
	n->kind = kind;
	node_set_name(n, t, dotted);
	return 0;
}

static int
add_tag(struct parser *p, const struct tag *t)
{
	switch (t->sigil) {
	case '!':
		return 0;
	case '=':
		parse_err(p, t->line, "set-delimiter tags are not supported");
		return -1;
	case '#':
	case '^':
		return open_section(p, t);
	case '/':
		return close_section(p, t);
	case '>':
		return add_leaf(p, t, N_PARTIAL);
	case '{':
	case '&':
		return add_leaf(p, t, N_RAW);
	default:
		return add_leaf(p, t, N_VAR);
	}
}

static int
parse(struct parser *p)
{
	size_t text = 0; /* start of the text not yet turned into a node */
	const char *o;

	while (text < p->len && (o = memmem(p->src + text, p->len - text, "{{", 2))) {
		struct tag t = {.start = (size_t)(o - p->src)};
		size_t text_end, next;

		if (scan_tag(p, &t))
			return -1;
		text_end = t.start;
		next = t.end;
		if (t.sigil && strchr("#^/>!", t.sigil))
			strip_standalone(p, text, &text_end, &next);
		add_text(p, text, text_end);
		if (add_tag(p, &t))
			return -1;
		text = next;
	}
	add_text(p, text, p->len);
	if (p->nopen) {
		const struct node *open = p->open[p->nopen - 1];

		parse_err(p, open->line, "section '%s' is never closed", open->str);
		return -1;
	}
	return 0;
}

struct tpl_set *
tpl_set_new(void)
{
	return calloc(1, sizeof(struct tpl_set));
}

int
tpl_add(struct tpl_set *set, const char *name, const char *src, size_t len, char *err,
        size_t errlen)
{
	struct parser p = {
	    .src = src ? src : "",
	    .len = src ? len : 0,
	    .tname = name ? name : "",
	    .err = err,
	    .errlen = errlen,
	    .line = 1,
	};
	struct tpl *t;

	if (!set || !name) {
		set_err(err, errlen, "tpl_add: no template set or name");
		return -1;
	}
	if (parse(&p)) {
		list_free(&p.root);
		return -1;
	}
	t = find(set, name);
	if (t) {
		list_free(&t->root);
	} else {
		if (set->n == set->cap) {
			set->cap = set->cap ? 2 * set->cap : 16;
			set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
		}
		t = &set->v[set->n++];
		t->name = xstrndup(name, strlen(name));
	}
	t->root = p.root;
	return 0;
}

/* ---- loading ---- */

static int
read_all(int fd, struct buf *b)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf_append(b, chunk, (size_t)n);
	}
}

/* Loads dir/file as a template; anything but a regular file is skipped. */
static int
load_file(struct tpl_set *set, const char *dir, const char *file, char *err, size_t errlen)
{
	char path[PATH_MAX], perr[512];
	struct buf src = {0};
	char *name = NULL;
	struct stat st;
	int fd = -1, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		set_err(err, errlen, "%s/%s: path too long", dir, file);
		goto out;
	}
	/* O_NONBLOCK so that a FIFO named *.html cannot hang start-up; it is skipped below. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = 0;
		goto out;
	}
	if (read_all(fd, &src) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	name = xstrndup(file, strlen(file) - strlen(".html"));
	if (tpl_add(set, name, src.data, src.len, perr, sizeof(perr)) < 0) {
		set_err(err, errlen, "%s: %s", path, perr);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(name);
	buf_free(&src);
	return rc;
}

/* Dot files are skipped: they are editor swap and lock files, not templates. */
static int
is_template_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name), ext = strlen(".html");

	return d->d_name[0] != '.' && n > ext && strcmp(d->d_name + n - ext, ".html") == 0;
}

int
tpl_load_dir(struct tpl_set *set, const char *dir, char *err, size_t errlen)
{
	struct dirent **ents = NULL;
	int n, rc = 0;

	if (!set || !dir) {
		set_err(err, errlen, "tpl_load_dir: no template set or directory");
		return -1;
	}
	/* Sorted, so that which file an error names does not depend on the file system. */
	n = scandir(dir, &ents, is_template_file, alphasort);
	if (n < 0) {
		set_err(err, errlen, "cannot read template directory %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = load_file(set, dir, ents[i]->d_name, err, errlen);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* ---- rendering ---- */

struct render {
	const struct tpl_set *set;
	const struct tpl *tpl; /* the template being walked, for messages */
	struct buf *out;
	char *err;
	size_t errlen;
	int depth; /* sections and partials entered */
	int nctx;
	struct json_object *ctx[TPL_MAX_DEPTH + 1]; /* the view, then one per entered section */
};

static int render_list(struct render *r, const struct node_list *l);

static void render_err(struct render *r, const struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
render_err(struct render *r, const struct node *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(r->err, r->errlen, "template '%s' line %zu: %s", r->tpl->name, n->line, msg);
}

static struct json_object *
lookup(const struct render *r, const struct node *n)
{
	const char *key = n->path;
	struct json_object *v = NULL;
	int i;

	if (n->nseg == 0)
		return r->ctx[r->nctx - 1];
	for (i = r->nctx - 1; i >= 0; i--)
		if (json_object_is_type(r->ctx[i], json_type_object) &&
		    json_object_object_get_ex(r->ctx[i], key, &v))
			break;
	if (i < 0)
		return NULL;
	/* Once the first segment is found the rest must be below it: no fallback outwards. */
	for (size_t s = 1; s < n->nseg; s++) {
		key += strlen(key) + 1;
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, key, &v))
			return NULL;
	}
	return v;
}

static int
truthy(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_string:
		return json_object_get_string_len(v) > 0;
	case json_type_array:
		return json_object_array_length(v) > 0;
	default: /* numbers, 0 included, and objects */
		return 1;
	}
}

static void
render_var(struct render *r, const struct node *n)
{
	struct json_object *v = lookup(r, n);
	const char *s;
	size_t len;

	switch (json_object_get_type(v)) {
	case json_type_string:
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		break;
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		s = json_object_get_string(v);
		len = strlen(s);
		break;
	default: /* missing, null, objects and arrays render as nothing */
		return;
	}
	if (n->kind == N_VAR)
		esc_html(r->out, s, len);
	else
		buf_append(r->out, s, len);
}

static int
enter(struct render *r, const struct node *n)
{
	if (r->depth >= TPL_MAX_DEPTH) {
		render_err(r, n, "sections and partials nested deeper than %d (recursive partial?)",
		           TPL_MAX_DEPTH);
		return -1;
	}
	r->depth++;
	return 0;
}

static int
render_with(struct render *r, const struct node_list *l, struct json_object *ctx)
{
	int rc;

	r->ctx[r->nctx++] = ctx;
	rc = render_list(r, l);
	r->nctx--;
	return rc;
}

static int
render_section(struct render *r, const struct node *n)
{
	struct json_object *v = lookup(r, n);
	int rc = 0;

	if (!truthy(v))
		return 0;
	if (enter(r, n))
		return -1;
	if (json_object_is_type(v, json_type_array)) {
		size_t len = json_object_array_length(v);

		for (size_t i = 0; i < len && rc == 0; i++)
			rc = render_with(r, &n->kids, json_object_array_get_idx(v, i));
	} else {
		rc = render_with(r, &n->kids, v);
	}
	r->depth--;
	return rc;
}

static int
render_inverted(struct render *r, const struct node *n)
{
	int rc;

	if (truthy(lookup(r, n)))
		return 0;
	if (enter(r, n))
		return -1;
	rc = render_list(r, &n->kids);
	r->depth--;
	return rc;
}

static int
render_partial(struct render *r, const struct node *n)
{
	const struct tpl *t = find(r->set, n->str), *caller = r->tpl;
	int rc;

	if (!t) {
		render_err(r, n, "unknown partial '%s'", n->str);
		return -1;
	}
	if (enter(r, n))
		return -1;
	r->tpl = t;
	rc = render_list(r, &t->root);
	r->tpl = caller;
	r->depth--;
	return rc;
}

static int
render_list(struct render *r, const struct node_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct node *n = &l->v[i];
		int rc = 0;

		switch (n->kind) {
		case N_TEXT:
			buf_append(r->out, n->str, n->len);
			break;
		case N_VAR:
		case N_RAW:
			render_var(r, n);
			break;
		case N_SECTION:
			rc = render_section(r, n);
			break;
		case N_INVERTED:
			rc = render_inverted(r, n);
			break;
		case N_PARTIAL:
			rc = render_partial(r, n);
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int
tpl_render(const struct tpl_set *set, const char *name, struct json_object *view, struct buf *out,
           char *err, size_t errlen)
{
	struct render r = {.set = set, .out = out, .err = err, .errlen = errlen, .nctx = 1};

	r.tpl = find(set, name);
	if (!r.tpl) {
		set_err(err, errlen, "unknown template '%s'", name ? name : "(null)");
		return -1;
	}
	if (!out) {
		set_err(err, errlen, "template '%s': no output buffer", name);
		return -1;
	}
	r.ctx[0] = view;
	return render_list(&r, &r.tpl->root);
}

void
tpl_set_free(struct tpl_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].name);
		list_free(&set->v[i].root);
	}
	free(set->v);
	free(set);
}
