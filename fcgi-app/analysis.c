/* analysis.c: the built-in analyzer (see analysis.h). */
#include <stdlib.h>

#include "analysis.h"

json_object *
analysis_build(const struct extract_result *text, const struct value_set *vals)
{
	json_object *a = json_object_new_object();

	(void)vals;
	json_object_object_add(a, "analyzer", json_object_new_string("builtin"));
	json_object_object_add(a, "text_chars", json_object_new_int64((int64_t)text->len));
	return a;
}

enum fv_err
analysis_run(const char *path, const char *content_type, const struct extract_limits *lim,
             json_object **out, char **text, char *reason, size_t reasonlen)
{
	struct extract_result r;
	struct value_set vals;
	enum fv_err e;

	*out = NULL;
	if (text)
		*text = NULL;
	if ((e = extract_text(path, content_type, lim, &r, reason, reasonlen)) != FV_OK)
		return e;
	values_extract(r.text, &vals);
	*out = analysis_build(&r, &vals);
	if (text) {
		*text = r.text;
		r.text = NULL;
	}
	extract_result_free(&r);
	return FV_OK;
}
