/* rescache.c: the analysis result cache (see rescache.h). */
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "log.h"
#include "redis.h"
#include "rescache.h"

void
rescache_key(const char *sha256, const char *model, char out[RESCACHE_KEY_MAX])
{
	if (model && *model)
		snprintf(out, RESCACHE_KEY_MAX, "fv:analysis:%s:ollama-%s:%s", ANALYZER_VERSION,
		         model, sha256);
	else
		snprintf(out, RESCACHE_KEY_MAX, "fv:analysis:%s:builtin:%s", ANALYZER_VERSION,
		         sha256);
}

json_object *
rescache_get(const char *key)
{
	json_object *a = NULL;
	redisReply *r;

	if (redis_command(&r, "GET %s", key) != FV_OK)
		return NULL;
	if (r->type == REDIS_REPLY_STRING) {
		json_tokener *tok = json_tokener_new();

		if (tok) {
			a = json_tokener_parse_ex(tok, r->str, (int)r->len);
			if (json_tokener_get_error(tok) != json_tokener_success ||
			    !json_object_is_type(a, json_type_object)) {
				json_object_put(a);
				a = NULL;
				log_msg("worker: cache entry %s is not an analysis; ignored", key);
			}
			json_tokener_free(tok);
		}
	}
	freeReplyObject(r);
	return a;
}

void
rescache_put(const char *key, json_object *analysis, long ttl_s)
{
	size_t len;
	const char *s = json_object_to_json_string_length(analysis, JSON_C_TO_STRING_PLAIN, &len);
	redisReply *r;

	if (s && redis_command(&r, "SET %s %b EX %ld", key, s, len, ttl_s) == FV_OK)
		freeReplyObject(r);
}
