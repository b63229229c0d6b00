/* migrate.c: numbered SQL migrations (see migrate.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "migrate.h"

#define MIGRATE_LOCK "7340210915"

static int
is_migration(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] >= '0' && d->d_name[0] <= '9' && n > 4 &&
	       strcmp(d->d_name + n - 4, ".sql") == 0;
}

static int
read_file(const char *path, struct buf *out)
{
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
	fclose(f);
	return 0;
}

/* Applies one file unless recorded. Returns 1 when applied, 0 when skipped, -1 on failure. */
static int
apply_one(const char *dir, const char *name, char *err, size_t errlen)
{
	const char *params[1] = {name}, *msg;
	struct buf sql = {0};
	PGresult *res;
	char path[4096];
	int rc = -1, skip;

	if (db_begin() != FV_OK) {
		snprintf(err, errlen, "cannot begin a transaction");
		return -1;
	}
	if (db_query("SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &res) !=
	    FV_OK) {
		snprintf(err, errlen, "%s: cannot read schema_migrations", name);
		goto out;
	}
	skip = PQntuples(res) > 0;
	PQclear(res);
	if (skip) {
		rc = 0;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, &sql) != 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		goto out;
	}
	if (db_exec_script(buf_cstr(&sql), &msg) != FV_OK) {
		snprintf(err, errlen, "%s: %s", name, msg);
		goto out;
	}
	if (db_query("INSERT INTO schema_migrations (version) VALUES ($1)", 1, params, &res) !=
	    FV_OK) {
		snprintf(err, errlen, "%s: cannot record", name);
		goto out;
	}
	PQclear(res);
	rc = 1;
out:
	if (rc < 0)
		db_rollback();
	else if (db_commit() != FV_OK) {
		snprintf(err, errlen, "%s: commit failed", name);
		rc = -1;
	}
	buf_free(&sql);
	return rc;
}

int
migrate_run(const char *dir, int *applied, char *err, size_t errlen)
{
	struct dirent **list = NULL;
	const char *msg;
	int n, i, rc = 0;

	*applied = 0;
	if (db_ensure() != FV_OK) {
		snprintf(err, errlen, "cannot connect to the database");
		return -1;
	}
	/* One migrator at a time, whichever host runs it. */
	if (db_exec_script(
	        "SELECT pg_advisory_lock(" MIGRATE_LOCK ");"
	        "CREATE TABLE IF NOT EXISTS schema_migrations ("
	        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	        &msg) != FV_OK) {
		snprintf(err, errlen, "schema_migrations: %s", msg);
		return -1;
	}
	n = scandir(dir, &list, is_migration, alphasort);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot list migrations", dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		int r = rc == 0 ? apply_one(dir, list[i]->d_name, err, errlen) : 0;

		if (r < 0)
			rc = -1;
		else
			*applied += r;
		free(list[i]);
	}
	free(list);
	db_exec_script("SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", &msg);
	return rc;
}
