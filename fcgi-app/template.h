/* template.h: a small mustache-style template engine. Templates are parsed once per process into a
 * tree and rendered against a json-c view model.
 *
 * Syntax: {{name}} (HTML-escaped), {{{name}}} and {{&name}} (unescaped; our templates do not use
 * them), {{#name}}...{{/name}} (section: once for a truthy value, once per element of an array,
 * with an object or array element pushed as the context), {{^name}}...{{/name}} (inverted section:
 * when the value is missing, null, false, "", 0-length array), {{>partial}}, {{! comment}}, {{.}}
 * (the current context) and dotted names (a.b.c). A name is looked up from the innermost context
 * outwards; a missing name renders as nothing. Numbers render as json-c prints them, booleans as
 * true/false. Sections and partials nest to a fixed depth (TPL_MAX_DEPTH) so a recursive partial
 * fails cleanly. */
#ifndef FV_TEMPLATE_H
#define FV_TEMPLATE_H

#include <stddef.h>
#include <json-c/json.h>
#include "buf.h"

#define TPL_MAX_DEPTH 32

struct tpl_set;

/* Returns an empty set (NULL only on out-of-memory). */
struct tpl_set *tpl_set_new(void);
/* Parses src under name (replacing a template of that name). Returns 0, or -1 with a message naming
 * the template, line and problem (unclosed tag, unbalanced section, ...) written to err. */
int tpl_add(struct tpl_set *set, const char *name, const char *src, size_t len, char *err,
            size_t errlen);
/* Loads every "*.html" file of dir as a template named by its file name without ".html"
 * ("patient_list.html" -> "patient_list"). Returns 0, or -1 with a message in err. */
int tpl_load_dir(struct tpl_set *set, const char *dir, char *err, size_t errlen);
/* Renders template name with view as the root context, appending to out. Returns 0, or -1 with a
 * message in err (unknown template or partial, depth exceeded); out may then hold partial output,
 * which the caller discards. */
int tpl_render(const struct tpl_set *set, const char *name, struct json_object *view,
               struct buf *out, char *err, size_t errlen);
void tpl_set_free(struct tpl_set *set);

#endif
