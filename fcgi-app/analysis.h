/* analysis.h: the built-in analyzer: a document file in, the contract's `analysis` object out
 * (docs/api.md): text (extract.h), values (values.h), key findings, fertility domains, confidence
 * and a one-paragraph summary. Deterministic for the same bytes and ANALYZER_VERSION, which is part
 * of the result cache's key: change it whenever results would change. */
#ifndef FV_ANALYSIS_H
#define FV_ANALYSIS_H

#include <json-c/json.h>

#include "errors.h"
#include "extract.h"
#include "values.h"

#define ANALYZER_VERSION "1"

/* Builds the analysis object from extracted text and values: "analyzer", "values",
 * "key_findings", "fertility_domains", "confidence", "summary", "text_chars". The caller adds
 * "processing_ms" and "analyzed_at". Returns a new object (json_object_put to release). */
json_object *analysis_build(const struct extract_result *text, const struct value_set *vals);

/* The whole pipeline on a file: extract_text, values_extract, analysis_build. On FV_OK *out is the
 * analysis and *text (if not NULL) the extracted text (malloc'd, for the LLM); errors as
 * extract_text. */
enum fv_err analysis_run(const char *path, const char *content_type,
                         const struct extract_limits *lim, json_object **out, char **text,
                         char *reason, size_t reasonlen);

#endif
