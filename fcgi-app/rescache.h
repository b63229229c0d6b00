/* rescache.h: analysis results cached in Redis by the document's SHA-256, under
 * "fv:analysis:<ANALYZER_VERSION>:<mode>:<sha256>" (mode "builtin", or "ollama-<model>" when a
 * language model refined it), so the same bytes are analysed once per analyzer version and mode
 * and a new version misses. The value is the analysis JSON as stored (with "processing_ms" and
 * "analyzed_at" of the analysis that made it). A cache that cannot be reached is a miss. */
#ifndef FV_RESCACHE_H
#define FV_RESCACHE_H

#include <stddef.h>

#include <json-c/json.h>

#define RESCACHE_KEY_MAX 256

/* The key for sha256 in mode (NULL model: builtin). */
void rescache_key(const char *sha256, const char *model, char out[RESCACHE_KEY_MAX]);
/* The cached analysis (json_object_put), or NULL. */
json_object *rescache_get(const char *key);
/* Stores analysis for ttl_s seconds; failures are logged and otherwise ignored. */
void rescache_put(const char *key, json_object *analysis, long ttl_s);

#endif
