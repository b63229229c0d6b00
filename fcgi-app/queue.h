/* queue.h: the analysis queue in Redis. A job is a document id pushed onto QUEUE_KEY after the
 * document's row is committed. A worker moves a job atomically to its own processing list (BLMOVE)
 * and removes it from there only once the outcome is committed to PostgreSQL; a worker proves it
 * is alive with a heartbeat key that expires after the visibility timeout, and any worker may give
 * the jobs of a worker whose heartbeat expired back to the queue (queue_reap_worker). Retries wait
 * in a sorted set by due time until queue_promote_due moves them back.
 *
 * PostgreSQL is the truth: a job lost with Redis is found again by the sweep of documents left
 * "queued" (queue_requeue_stale), run by the workers and by fv-admin requeue. Keys: docs/worker.md.
 *
 * Every function returns FV_EUNAVAIL when Redis cannot be reached (the caller waits and tries
 * again: nothing here loses a job by failing). Strings passed in are only read during the call. */
#ifndef FV_QUEUE_H
#define FV_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "errors.h"

#define QUEUE_KEY "fv:queue:analysis"
#define QUEUE_DELAYED_KEY "fv:queue:delayed"
#define QUEUE_PROCESSING_PREFIX "fv:queue:processing:"
#define QUEUE_WORKERS_KEY "fv:workers"
#define QUEUE_HEARTBEAT_PREFIX "fv:worker:"
#define QUEUE_CLAIM_PREFIX "fv:claim:"
#define QUEUE_ID_MAX 128 /* a worker id and its NUL */
#define QUEUE_JOB_MAX 64 /* a job (document id) and its NUL */

/* Queues one document. FV_EUNAVAIL when Redis is unreachable (the caller carries on: the sweep
 * will queue it). */
enum fv_err queue_push(const char *document_id);
/* Queues again every live document that has been "queued" for more than older_than seconds.
 * Writes how many were queued. */
enum fv_err queue_requeue_stale(long older_than, long *count);
/* Queues the document ids in the first column of res, adding to *count; stops at the first
 * failure (the sweeps queue the rest next time). */
enum fv_err queue_push_rows(PGresult *res, long *count);
/* Jobs waiting in the queue, or -1 when Redis is unreachable. */
long queue_depth(void);

/* --- workers ---------------------------------------------------------------------------------- */

/* Waits up to timeout_ms (less than a second: the connection's read timeout is one) for a job and
 * moves it to worker's processing list. FV_OK and job[0] != '\0': a job; FV_OK and job "": none
 * came. A job longer than QUEUE_JOB_MAX - 1 is dropped from the processing list and logged. */
enum fv_err queue_take(const char *worker, long timeout_ms, char job[QUEUE_JOB_MAX]);
/* Removes job from worker's processing list: its outcome is committed (or it was dropped). */
enum fv_err queue_ack(const char *worker, const char *job);
/* Puts a job that was taken but not started back at the head of the queue (a worker stopping). */
enum fv_err queue_untake(const char *worker, const char *job);
/* Schedules job again in delay_s seconds (Redis clock) and removes it from worker's processing
 * list, in one step. */
enum fv_err queue_delay(const char *worker, const char *job, long delay_s);
/* Moves the delayed jobs that are due back to the queue; writes how many (count may be NULL). */
enum fv_err queue_promote_due(long *count);

/* Records that worker owns the claim of job (the reaper leaves claims of live workers alone). */
enum fv_err queue_claim_set(const char *worker, const char *job);
void queue_claim_clear(const char *worker, const char *job);
/* Whether job's claim belongs to worker or to nobody (the reaper may reset the document). */
enum fv_err queue_claim_is(const char *worker, const char *job, bool *mine_or_none);

/* Sets worker's heartbeat (expires after ttl_ms) with a line of information for operators, and
 * registers the worker in QUEUE_WORKERS_KEY (again, after Redis lost its data). */
enum fv_err queue_heartbeat(const char *worker, const char *info, long ttl_ms);
/* A worker stopping: deletes its heartbeat, and unregisters it when its processing list is empty
 * (otherwise the reaper finds its jobs at once). */
void queue_worker_gone(const char *worker);

/* Takes the lock named name ("fv:lock:<name>") for ttl_ms; *got says whether this worker has it. */
enum fv_err queue_lock(const char *name, const char *worker, long ttl_ms, bool *got);

/* Calls fn for each registered worker whose heartbeat expired (never self), until fn returns
 * non-zero. */
enum fv_err queue_dead_workers(const char *self, int (*fn)(void *arg, const char *worker),
                               void *arg);
/* The jobs in worker's processing list: up to max ids into jobs[] (each QUEUE_JOB_MAX bytes);
 * writes the count. */
enum fv_err queue_processing_jobs(const char *worker, char (*jobs)[QUEUE_JOB_MAX], size_t max,
                                  size_t *count);
/* Moves every job of a dead worker's processing list back to the head of the queue and
 * unregisters the worker; writes how many jobs moved. The caller has put the documents back to
 * "queued" in PostgreSQL first. */
enum fv_err queue_reap_worker(const char *worker, long *moved);
/* Between jobs a worker's processing list is empty; a job found there is one whose BLMOVE reply
 * was lost with the connection: moves it back to the queue. */
enum fv_err queue_recover_own(const char *worker, long *moved);

/* Depths for the metrics: waiting, delayed, and in the processing lists of registered workers;
 * live: workers with a heartbeat. */
struct queue_depths {
	long waiting, delayed, processing, workers, live;
};
enum fv_err queue_depths(struct queue_depths *d);

#endif
