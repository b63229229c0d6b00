/* jobs.h: the PostgreSQL side of an analysis job: the document row moves
 * queued -> processing (claim) -> analyzed | failed, or back to queued (a retry, a dead worker).
 *
 * A claim returns a token (the row's updated_at as the claim wrote it); every later step of that
 * job changes the row only while it still carries the token, so a job that was given to another
 * worker meanwhile (its worker thought dead, the document re-analysed or archived) can never write
 * a second result: one result per document, whatever runs twice.
 *
 * Errors: FV_EUNAVAIL PostgreSQL cannot be reached (the caller keeps the job and tries again);
 * FV_EINTERNAL anything else (logged by db.c). */
#ifndef FV_JOBS_H
#define FV_JOBS_H

#include <stdbool.h>

#include "errors.h"

#define JOBS_TOKEN_MAX 64

struct job_claim {
	char sha256[65];
	char content_type[32];
	char token[JOBS_TOKEN_MAX];
	int attempts; /* including this one */
};

/* Registers the statements (before the first db call). */
void jobs_init(void);

/* Claims the document for analysis. *claimed false: it is not "queued" any more (a duplicate or
 * stale job, a document archived or analysed meanwhile) or the id is not a document id: drop it.
 */
enum fv_err jobs_claim(const char *id, struct job_claim *c, bool *claimed);

/* The outcome, with its audit row ("document.analyze" by "fv-worker", worker_id as request id), in
 * one transaction. analysis_json: the analysis object as JSON text; error: the reason a person
 * reads. *stored false: the claim was lost meanwhile and nothing was written. */
enum fv_err jobs_analyzed(const char *id, const char *token, const char *analysis_json,
                          const char *worker_id, bool *stored);
enum fv_err jobs_failed(const char *id, const char *token, const char *error, const char *worker_id,
                        bool *stored);
/* Back to "queued", due in delay_s seconds (queued_at moves to then, so the sweep leaves it to
 * the delayed queue). */
enum fv_err jobs_retry_later(const char *id, const char *token, long delay_s, bool *stored);

/* The reaper: a dead worker's document goes back to "queued" (if it is still "processing"). */
enum fv_err jobs_reset(const char *id);
/* The sweep's second half: documents "processing" for more than older_than seconds (their job
 * lost with Redis while their worker died) go back to "queued" and are queued again. Writes how
 * many. */
enum fv_err jobs_requeue_stuck(long older_than, long *count);

#endif
