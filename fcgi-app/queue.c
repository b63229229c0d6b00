/* queue.c: the analysis queue (see queue.h). */
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "queue.h"
#include "redis.h"

enum fv_err
queue_push(const char *document_id)
{
	redisReply *r;
	enum fv_err e = redis_command(&r, "LPUSH %s %s", QUEUE_KEY, document_id);

	if (e != FV_OK) {
		log_msg(
		    "queue: document %s not queued (redis unavailable); the sweep will queue it",
		    document_id);
		return e;
	}
	freeReplyObject(r);
	return FV_OK;
}

enum fv_err
queue_requeue_stale(long older_than, long *count)
{
	char secs[24];
	const char *params[1] = {secs};
	PGresult *res;
	enum fv_err e;
	int i;

	*count = 0;
	snprintf(secs, sizeof(secs), "%ld", older_than);
	/* Touching queued_at keeps a document from being queued again on every sweep while its job
	 * waits behind others. */
	if ((e = db_query("UPDATE documents SET queued_at = clock_timestamp()"
	                  " WHERE status = 'queued' AND archived_at IS NULL"
	                  " AND queued_at < now() - $1::bigint * interval '1 second' RETURNING id",
	                  1, params, &res)) != FV_OK)
		return e;
	for (i = 0; i < PQntuples(res) && e == FV_OK; i++)
		if ((e = queue_push(PQgetvalue(res, i, 0))) == FV_OK)
			(*count)++;
	PQclear(res);
	return e;
}

long
queue_depth(void)
{
	redisReply *r;
	long n;

	if (redis_command(&r, "LLEN %s", QUEUE_KEY) != FV_OK)
		return -1;
	n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
	freeReplyObject(r);
	return n;
}
