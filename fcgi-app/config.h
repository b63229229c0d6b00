/* config.h: the one configuration file ("key = value", '#' comments) with FV_<KEY> environment
 * overrides. Loaded once per process; values live until process exit. */
#ifndef FV_CONFIG_H
#define FV_CONFIG_H

#include <stddef.h>

struct fv_config {
	const char *database_url;
	const char *redis_url;
	const char *storage_url;
	const char *storage_keys_file;
	const char *spool_dir; /* uploads in progress (anonymous files); local disk */
	const char *templates_dir;
	const char *static_dir;
	const char *sql_dir;
	const char *log_file;
	const char *migrate_database_url; /* "" = database_url */
	const char *audit_key_file;
	size_t session_idle_timeout; /* seconds */
	size_t session_lifetime;     /* seconds */
	size_t token_lifetime;       /* seconds */
	size_t max_body;             /* uploads */
	size_t max_json_body;        /* JSON and urlencoded bodies */
	/* fv-worker (docs/worker.md) */
	size_t worker_visibility_timeout; /* seconds without a heartbeat before a worker's jobs
	                                     go back to the queue */
	size_t worker_max_attempts;       /* analyses of one document before it is "failed" */
	size_t worker_retry_delay;        /* seconds before the first retry; doubles each time */
	size_t worker_sweep_interval;     /* seconds between sweeps of documents left "queued" */
	size_t worker_sweep_age;          /* ... that have waited this many seconds */
	size_t analysis_max_pages;
	size_t analysis_max_pixels;   /* per page image */
	size_t analysis_time_limit;   /* seconds of wall-clock time per analysis */
	size_t analysis_memory_limit; /* bytes of address space of the analysing process */
	size_t analysis_cache_ttl;    /* seconds a result stays in the cache */
	const char *ollama_url;       /* "" = no LLM */
	const char *ollama_model;     /* "" = no LLM */
	size_t ollama_timeout;        /* seconds per request */
};

/* Fills cfg from defaults, then the file (path, else $FV_CONFIG, else the installed default), then
 * the environment. A missing file is an error only when it was named explicitly. Returns 0, or -1
 * with a message naming the file, line and key in err. */
int config_load(struct fv_config *cfg, const char *path, char *err, size_t errlen);
/* Releases the strings config_load() copied. */
void config_free(struct fv_config *cfg);
/* Prints the keys, their environment variables and defaults (for --help). */
void config_usage(void);

#endif
