/* llm.c: optional refinement by Ollama (see llm.h). */
#include <stdio.h>

#include "llm.h"

int
llm_enabled(const struct llm_config *cfg)
{
	return cfg->url && *cfg->url && cfg->model && *cfg->model;
}

enum fv_err
llm_refine(const struct llm_config *cfg, const char *text, json_object *analysis, char *reason,
           size_t reasonlen)
{
	(void)cfg, (void)text, (void)analysis;
	snprintf(reason, reasonlen, "not implemented");
	return FV_EUNAVAIL;
}
