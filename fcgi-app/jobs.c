/* jobs.c: the document row of an analysis job (see jobs.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "input.h"
#include "jobs.h"
#include "log.h"
#include "queue.h"

/* The claim token is updated_at as text (microseconds, UTC: db.c sets the session's time zone),
 * which reads back as exactly the same timestamp. */
#define JOB_MINE " WHERE id = $1 AND status = 'processing' AND updated_at = $2::timestamptz"

static const struct db_stmt stmts[] = {
    {"job_claim",
     "UPDATE documents SET status = 'processing', attempts = attempts + 1,"
     " updated_at = clock_timestamp()"
     " WHERE id = $1 AND status = 'queued' AND archived_at IS NULL"
     " RETURNING sha256, content_type, attempts, updated_at::text",
     1},
    {"job_analyzed",
     "UPDATE documents SET status = 'analyzed', analysis = $3::jsonb, error = NULL,"
     " updated_at = clock_timestamp()" JOB_MINE " RETURNING id",
     3},
    {"job_failed",
     "UPDATE documents SET status = 'failed', analysis = NULL, error = $3,"
     " updated_at = clock_timestamp()" JOB_MINE " RETURNING id",
     3},
    {"job_retry",
     "UPDATE documents SET status = 'queued',"
     " queued_at = clock_timestamp() + $3::bigint * interval '1 second',"
     " updated_at = clock_timestamp()" JOB_MINE " RETURNING id",
     3},
    {"job_reset",
     "UPDATE documents SET status = 'queued', queued_at = clock_timestamp(),"
     " updated_at = clock_timestamp() WHERE id = $1 AND status = 'processing'",
     1},
    {"job_stuck",
     "UPDATE documents SET status = 'queued', queued_at = clock_timestamp(),"
     " updated_at = clock_timestamp() WHERE status = 'processing' AND archived_at IS NULL"
     " AND updated_at < now() - $1::bigint * interval '1 second' RETURNING id",
     1},
};

void
jobs_init(void)
{
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

/* A job id that is not a uuid cannot be a document: do not send it to the server. */
static bool
uuid_like(const char *s)
{
	return v_uuid(s, NULL) == NULL;
}

enum fv_err
jobs_claim(const char *id, struct job_claim *c, bool *claimed)
{
	const char *params[1] = {id};
	PGresult *res;
	enum fv_err e;

	*claimed = false;
	memset(c, 0, sizeof(*c));
	if (!uuid_like(id))
		return FV_OK;
	if ((e = db_exec("job_claim", 1, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) == 1) {
		snprintf(c->sha256, sizeof(c->sha256), "%s", PQgetvalue(res, 0, 0));
		snprintf(c->content_type, sizeof(c->content_type), "%s", PQgetvalue(res, 0, 1));
		c->attempts = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(c->token, sizeof(c->token), "%s", PQgetvalue(res, 0, 3));
		*claimed = true;
	}
	PQclear(res);
	return FV_OK;
}

/* One outcome statement and its audit row in one transaction. */
static enum fv_err
outcome(const char *stmt, const char *id, const char *token, const char *value,
        const char *worker_id, const char *result, bool *stored)
{
	const char *params[3] = {id, token, value};
	struct audit_event ev = {.user_id = NULL,
	                         .username = "fv-worker",
	                         .action = "document.analyze",
	                         .entity_type = "document",
	                         .entity_id = id,
	                         .request_id = worker_id,
	                         .client_addr = "local",
	                         .outcome = result};
	PGresult *res;
	enum fv_err e;

	*stored = false;
	if ((e = db_begin()) != FV_OK)
		return e;
	if ((e = db_exec(stmt, 3, params, &res)) != FV_OK)
		goto out;
	*stored = PQntuples(res) == 1;
	PQclear(res);
	if (*stored && (e = audit_record(&ev)) != FV_OK)
		goto out;
	e = db_commit();
out:
	if (e != FV_OK) {
		*stored = false;
		db_rollback();
	}
	return e;
}

enum fv_err
jobs_analyzed(const char *id, const char *token, const char *analysis_json, const char *worker_id,
              bool *stored)
{
	return outcome("job_analyzed", id, token, analysis_json, worker_id, "success", stored);
}

enum fv_err
jobs_failed(const char *id, const char *token, const char *error, const char *worker_id,
            bool *stored)
{
	return outcome("job_failed", id, token, error, worker_id, "failure", stored);
}

enum fv_err
jobs_retry_later(const char *id, const char *token, long delay_s, bool *stored)
{
	char delay[24];
	const char *params[3] = {id, token, delay};
	PGresult *res;
	enum fv_err e;

	*stored = false;
	snprintf(delay, sizeof(delay), "%ld", delay_s);
	if ((e = db_exec("job_retry", 3, params, &res)) != FV_OK)
		return e;
	*stored = PQntuples(res) == 1;
	PQclear(res);
	return FV_OK;
}

enum fv_err
jobs_reset(const char *id)
{
	const char *params[1] = {id};
	PGresult *res;
	enum fv_err e;

	if (!uuid_like(id))
		return FV_OK;
	if ((e = db_exec("job_reset", 1, params, &res)) != FV_OK)
		return e;
	PQclear(res);
	return FV_OK;
}

enum fv_err
jobs_requeue_stuck(long older_than, long *count)
{
	char secs[24];
	const char *params[1] = {secs};
	PGresult *res;
	enum fv_err e;

	*count = 0;
	snprintf(secs, sizeof(secs), "%ld", older_than);
	if ((e = db_exec("job_stuck", 1, params, &res)) != FV_OK)
		return e;
	e = queue_push_rows(res, count);
	PQclear(res);
	return e;
}
