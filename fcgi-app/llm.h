/* llm.h: optional refinement of an analysis by a language model served by Ollama
 * (POST <url>/api/generate, "format": "json", "stream": false), through libcurl. The model is asked
 * for key findings and a summary only; its answer is validated strictly (a JSON object with
 * "key_findings": array of 1..12 non-empty strings of at most 300 bytes, and "summary": a non-empty
 * string of at most 2000 bytes, nothing else required) and the built-in values stay the truth
 * for numbers. Any error, timeout or invalid answer leaves the analysis exactly as it was.
 *
 * Configured by ollama_url / ollama_model (FV_OLLAMA_URL, FV_OLLAMA_MODEL); both must be set. */
#ifndef FV_LLM_H
#define FV_LLM_H

#include <json-c/json.h>

#include "errors.h"

struct llm_config {
	const char *url;   /* "http://127.0.0.1:11434"; NULL or "" = no LLM */
	const char *model; /* "llama3.1:8b"; NULL or "" = no LLM */
	long timeout_ms;   /* whole request */
};

/* True when both url and model are set. */
int llm_enabled(const struct llm_config *cfg);

/* Asks the model about text (the document's extracted text) and analysis (the built-in result:
 * "values", "key_findings", "summary", ...). On success replaces analysis's "key_findings" and
 * "summary" with the model's, sets "analyzer" to "ollama" and adds "llm_model"; returns FV_OK. On
 * failure returns FV_EUNAVAIL (unreachable, HTTP error, timeout) or FV_EINVAL (answer not valid),
 * leaves analysis untouched, and writes the reason (for the log: never document text) to reason. */
enum fv_err llm_refine(const struct llm_config *cfg, const char *text, json_object *analysis,
                       char *reason, size_t reasonlen);

#endif
