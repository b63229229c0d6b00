/* queue.h: the analysis queue in Redis. A job is a document id pushed onto QUEUE_KEY after the
 * document's row is committed; workers move jobs atomically to their own processing list (BLMOVE).
 * PostgreSQL is the truth: a job lost with Redis is found again by the sweep of documents left
 * "queued" (queue_requeue_stale), run by the worker and by fv-admin requeue. */
#ifndef FV_QUEUE_H
#define FV_QUEUE_H

#include "errors.h"

#define QUEUE_KEY "fv:queue:analysis"

/* Queues one document. FV_EUNAVAIL when Redis is unreachable (the caller carries on: the sweep
 * will queue it). */
enum fv_err queue_push(const char *document_id);
/* Queues again every live document that has been "queued" for more than older_than seconds.
 * Writes how many were queued. */
enum fv_err queue_requeue_stale(long older_than, long *count);
/* Jobs waiting in the queue, or -1 when Redis is unreachable. */
long queue_depth(void);

#endif
