/* worker.h: the analysis worker's loop (main-worker.c starts it; docs/worker.md explains it).
 *
 * One job at a time: take a document id from the queue (queue.h), claim the document in
 * PostgreSQL (jobs.h), answer from the result cache (rescache.h) or read the document into an
 * anonymous spool file (docfile.h) and analyse it in a limited child (sandbox.h), let the language
 * model refine it when one is configured (llm.h), then commit the outcome with its audit row and
 * only then remove the job from the processing list. Between jobs the worker heartbeats, moves due
 * retries back to the queue, gives the jobs of dead workers back (reaper) and sweeps documents
 * left "queued" or stuck "processing".
 *
 * Signals: SIGTERM/SIGINT finish the job in hand, then exit 0 (a second one gives up waiting for
 * PostgreSQL and leaves the job to the reaper); SIGHUP reopens the log file. */
#ifndef FV_WORKER_H
#define FV_WORKER_H

#include "config.h"
#include "llm.h"
#include "sandbox.h"
#include "storage.h"

/* The analysis limits and the language model's settings from the configuration. */
void worker_limits(const struct fv_config *cfg, struct sandbox_limits *lim);
void worker_llm(const struct fv_config *cfg, struct llm_config *llm);

/* Adds "processing_ms" and "analyzed_at" (RFC 3339 UTC, now) to an analysis. */
void worker_stamp(json_object *analysis, long processing_ms);

/* Serves jobs until SIGTERM/SIGINT. The caller has loaded the configuration, opened the log, the
 * store (st) and the audit trail, called db_init, redis_init and extract_init. Returns the exit
 * status (0). */
int worker_run(const struct fv_config *cfg, struct storage *st);

#endif
