/* config.c: the configuration file and its environment overrides (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifndef FV_SYSCONFDIR
#define FV_SYSCONFDIR "/etc/fertivision"
#endif
#ifndef FV_PKGDATADIR
#define FV_PKGDATADIR "/usr/share/fertivision"
#endif

enum kind { K_STR, K_SIZE };

static const struct key {
	const char *name;
	const char *env;
	enum kind kind;
	size_t off;
	const char *def;
} keys[] = {
    {"database_url", "FV_DATABASE_URL", K_STR, offsetof(struct fv_config, database_url),
     "postgresql:///fertivision"},
    {"redis_url", "FV_REDIS_URL", K_STR, offsetof(struct fv_config, redis_url),
     "redis://127.0.0.1:6379/0"},
    {"storage_url", "FV_STORAGE_URL", K_STR, offsetof(struct fv_config, storage_url),
     "file:///var/lib/fertivision/documents"},
    {"storage_keys_file", "FV_STORAGE_KEYS_FILE", K_STR,
     offsetof(struct fv_config, storage_keys_file), FV_SYSCONFDIR "/storage.keys"},
    {"spool_dir", "FV_SPOOL_DIR", K_STR, offsetof(struct fv_config, spool_dir), "/var/tmp"},
    {"templates_dir", "FV_TEMPLATES_DIR", K_STR, offsetof(struct fv_config, templates_dir),
     FV_PKGDATADIR "/templates"},
    {"static_dir", "FV_STATIC_DIR", K_STR, offsetof(struct fv_config, static_dir),
     FV_PKGDATADIR "/static"},
    {"sql_dir", "FV_SQL_DIR", K_STR, offsetof(struct fv_config, sql_dir), FV_PKGDATADIR "/sql"},
    {"log_file", "FV_LOG_FILE", K_STR, offsetof(struct fv_config, log_file), "-"},
    {"migrate_database_url", "FV_MIGRATE_DATABASE_URL", K_STR,
     offsetof(struct fv_config, migrate_database_url), ""},
    {"audit_key_file", "FV_AUDIT_KEY_FILE", K_STR, offsetof(struct fv_config, audit_key_file),
     FV_SYSCONFDIR "/audit.key"},
    {"session_idle_timeout", "FV_SESSION_IDLE_TIMEOUT", K_SIZE,
     offsetof(struct fv_config, session_idle_timeout), "1800"},
    {"session_lifetime", "FV_SESSION_LIFETIME", K_SIZE,
     offsetof(struct fv_config, session_lifetime), "43200"},
    {"token_lifetime", "FV_TOKEN_LIFETIME", K_SIZE, offsetof(struct fv_config, token_lifetime),
     "2592000"},
    {"max_body", "FV_MAX_BODY", K_SIZE, offsetof(struct fv_config, max_body), "52428800"},
    {"max_json_body", "FV_MAX_JSON_BODY", K_SIZE, offsetof(struct fv_config, max_json_body),
     "1048576"},
    {"worker_visibility_timeout", "FV_WORKER_VISIBILITY_TIMEOUT", K_SIZE,
     offsetof(struct fv_config, worker_visibility_timeout), "30"},
    {"worker_max_attempts", "FV_WORKER_MAX_ATTEMPTS", K_SIZE,
     offsetof(struct fv_config, worker_max_attempts), "3"},
    {"worker_retry_delay", "FV_WORKER_RETRY_DELAY", K_SIZE,
     offsetof(struct fv_config, worker_retry_delay), "30"},
    {"worker_sweep_interval", "FV_WORKER_SWEEP_INTERVAL", K_SIZE,
     offsetof(struct fv_config, worker_sweep_interval), "60"},
    {"worker_sweep_age", "FV_WORKER_SWEEP_AGE", K_SIZE,
     offsetof(struct fv_config, worker_sweep_age), "300"},
    {"analysis_max_pages", "FV_ANALYSIS_MAX_PAGES", K_SIZE,
     offsetof(struct fv_config, analysis_max_pages), "50"},
    {"analysis_max_pixels", "FV_ANALYSIS_MAX_PIXELS", K_SIZE,
     offsetof(struct fv_config, analysis_max_pixels), "60000000"},
    {"analysis_time_limit", "FV_ANALYSIS_TIME_LIMIT", K_SIZE,
     offsetof(struct fv_config, analysis_time_limit), "120"},
    {"analysis_memory_limit", "FV_ANALYSIS_MEMORY_LIMIT", K_SIZE,
     offsetof(struct fv_config, analysis_memory_limit), "2147483648"},
    {"analysis_cache_ttl", "FV_ANALYSIS_CACHE_TTL", K_SIZE,
     offsetof(struct fv_config, analysis_cache_ttl), "2592000"},
    {"ollama_url", "FV_OLLAMA_URL", K_STR, offsetof(struct fv_config, ollama_url), ""},
    {"ollama_model", "FV_OLLAMA_MODEL", K_STR, offsetof(struct fv_config, ollama_model), ""},
    {"ollama_timeout", "FV_OLLAMA_TIMEOUT", K_SIZE, offsetof(struct fv_config, ollama_timeout),
     "60"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int
set(struct fv_config *cfg, const struct key *k, const char *val, char *err, size_t errlen,
    const char *where)
{
	char *p = (char *)cfg + k->off;

	if (k->kind == K_STR) {
		char *copy = strdup(val), *old;
		if (copy == NULL)
			abort();
		/* Every string value is our own copy: a later source replaces and frees it. */
		memcpy(&old, p, sizeof(old));
		free(old);
		memcpy(p, &copy, sizeof(copy));
	} else {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(val, &end, 10);
		if (errno || end == val || *end != '\0' || !isdigit((unsigned char)val[0]) ||
		    v == 0) {
			snprintf(err, errlen, "%s: %s must be a positive whole number", where,
			         k->name);
			return -1;
		}
		size_t sz = (size_t)v;
		memcpy(p, &sz, sizeof(sz));
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
load_file(struct fv_config *cfg, const char *path, int required, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], where[512];
	int lineno = 0, rc = 0;

	if (f == NULL) {
		if (!required && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *name, *val;
		size_t i;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s: expected 'key = value'", where);
			rc = -1;
			break;
		}
		*eq = '\0';
		name = trim(s);
		val = trim(eq + 1);
		for (i = 0; i < NKEYS && strcmp(keys[i].name, name) != 0; i++)
			;
		if (i == NKEYS) {
			snprintf(err, errlen, "%s: unknown key '%s'", where, name);
			rc = -1;
			break;
		}
		if ((rc = set(cfg, &keys[i], val, err, errlen, where)) != 0)
			break;
	}
	fclose(f);
	return rc;
}

int
config_load(struct fv_config *cfg, const char *path, char *err, size_t errlen)
{
	const char *file = path ? path : getenv("FV_CONFIG");
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (set(cfg, &keys[i], keys[i].def, err, errlen, "default") != 0)
			return -1;
	if (load_file(cfg, file ? file : FV_SYSCONFDIR "/fertivision.conf", file != NULL, err,
	              errlen) != 0)
		return -1;
	for (i = 0; i < NKEYS; i++) {
		const char *v = getenv(keys[i].env);
		if (v != NULL && set(cfg, &keys[i], v, err, errlen, keys[i].env) != 0)
			return -1;
	}
	return 0;
}

void
config_free(struct fv_config *cfg)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		char *p;

		if (keys[i].kind != K_STR)
			continue;
		memcpy(&p, (char *)cfg + keys[i].off, sizeof(p));
		free(p);
	}
	memset(cfg, 0, sizeof(*cfg));
}

void
config_usage(void)
{
	size_t i;

	printf("Configuration: --config FILE, else $FV_CONFIG, else %s/fertivision.conf\n",
	       FV_SYSCONFDIR);
	printf("Keys (file 'key = value'; the environment variable overrides the file):\n");
	for (i = 0; i < NKEYS; i++)
		printf("  %-25s %-28s default: %s\n", keys[i].name, keys[i].env,
		       keys[i].def[0] ? keys[i].def : "(none)");
}
