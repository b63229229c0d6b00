/* queue.c: the analysis queue (see queue.h). Steps that touch two keys run as one Lua script, so
 * that a job is always in exactly one of the queue, a processing list or the delayed set. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "queue.h"
#include "redis.h"

#define KEY_MAX (QUEUE_ID_MAX + 64)

/* Back at the head (the right end, where BLMOVE takes from) of the queue: a job taken earlier
 * than those waiting should not wait behind them. ARGV[1] = 1: also unregister the worker. */
static const char reap_lua[] =
    "local n = 0\n"
    "while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT') do n = n + 1 end\n"
    "if ARGV[1] == '1' then redis.call('SREM', KEYS[3], ARGV[2]) end\n"
    "return n\n";

static const char untake_lua[] = "if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then\n"
                                 "  redis.call('RPUSH', KEYS[2], ARGV[1])\n"
                                 "end\n"
                                 "return 1\n";

/* Due times come from Redis's clock, so workers on hosts with skewed clocks agree. */
static const char delay_lua[] =
    "local t = redis.call('TIME')\n"
    "redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(ARGV[2]), ARGV[1])\n"
    "redis.call('LREM', KEYS[2], 1, ARGV[1])\n"
    "return 1\n";

static const char promote_lua[] =
    "local t = redis.call('TIME')\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t[1], 'LIMIT', 0, 100)\n"
    "for _, id in ipairs(due) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('LPUSH', KEYS[2], id)\n"
    "end\n"
    "return #due\n";

static const char gone_lua[] = "redis.call('DEL', KEYS[1])\n"
                               "if redis.call('LLEN', KEYS[2]) == 0 then\n"
                               "  redis.call('SREM', KEYS[3], ARGV[1])\n"
                               "end\n"
                               "return 1\n";

static const char claim_clear_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return 1\n";

static void
key(char out[KEY_MAX], const char *prefix, const char *id)
{
	snprintf(out, KEY_MAX, "%s%s", prefix, id);
}

/* Runs a command whose reply does not matter beyond success. */
static enum fv_err
simple(redisReply **r, enum fv_err e)
{
	if (e == FV_OK)
		freeReplyObject(*r);
	return e;
}

static long
integer(redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
}

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
queue_push_rows(PGresult *res, long *count)
{
	enum fv_err e = FV_OK;

	for (int i = 0; i < PQntuples(res) && e == FV_OK; i++)
		if ((e = queue_push(PQgetvalue(res, i, 0))) == FV_OK)
			(*count)++;
	return e;
}

enum fv_err
queue_requeue_stale(long older_than, long *count)
{
	char secs[24];
	const char *params[1] = {secs};
	PGresult *res;
	enum fv_err e;

	*count = 0;
	snprintf(secs, sizeof(secs), "%ld", older_than);
	/* Touching queued_at keeps a document from being queued again on every sweep while its job
	 * waits behind others. */
	if ((e = db_query("UPDATE documents SET queued_at = clock_timestamp()"
	                  " WHERE status = 'queued' AND archived_at IS NULL"
	                  " AND queued_at < now() - $1::bigint * interval '1 second' RETURNING id",
	                  1, params, &res)) != FV_OK)
		return e;
	e = queue_push_rows(res, count);
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

enum fv_err
queue_take(const char *worker, long timeout_ms, char job[QUEUE_JOB_MAX])
{
	char list[KEY_MAX], secs[32];
	redisReply *r;
	enum fv_err e;

	job[0] = '\0';
	key(list, QUEUE_PROCESSING_PREFIX, worker);
	snprintf(secs, sizeof(secs), "%ld.%03ld", timeout_ms / 1000, timeout_ms % 1000);
	if ((e = redis_command(&r, "BLMOVE %s %s RIGHT LEFT %s", QUEUE_KEY, list, secs)) != FV_OK)
		return e;
	if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < QUEUE_JOB_MAX) {
		memcpy(job, r->str, r->len);
		job[r->len] = '\0';
	} else if (r->type == REDIS_REPLY_STRING) {
		redisReply *r2;

		log_msg("queue: dropped a malformed job of %zu bytes", (size_t)r->len);
		e = simple(&r2, redis_command(&r2, "LREM %s 1 %b", list, r->str, (size_t)r->len));
	}
	freeReplyObject(r);
	return e;
}

enum fv_err
queue_ack(const char *worker, const char *job)
{
	char list[KEY_MAX];
	redisReply *r;

	key(list, QUEUE_PROCESSING_PREFIX, worker);
	return simple(&r, redis_command(&r, "LREM %s 1 %s", list, job));
}

enum fv_err
queue_untake(const char *worker, const char *job)
{
	char list[KEY_MAX];
	redisReply *r;

	key(list, QUEUE_PROCESSING_PREFIX, worker);
	return simple(&r,
	              redis_command(&r, "EVAL %s 2 %s %s %s", untake_lua, list, QUEUE_KEY, job));
}

enum fv_err
queue_delay(const char *worker, const char *job, long delay_s)
{
	char list[KEY_MAX];
	redisReply *r;

	key(list, QUEUE_PROCESSING_PREFIX, worker);
	return simple(&r, redis_command(&r, "EVAL %s 2 %s %s %s %ld", delay_lua, QUEUE_DELAYED_KEY,
	                                list, job, delay_s));
}

enum fv_err
queue_promote_due(long *count)
{
	redisReply *r;
	enum fv_err e;

	if ((e = redis_command(&r, "EVAL %s 2 %s %s", promote_lua, QUEUE_DELAYED_KEY, QUEUE_KEY)) !=
	    FV_OK)
		return e;
	if (count)
		*count = integer(r);
	freeReplyObject(r);
	return FV_OK;
}

enum fv_err
queue_claim_set(const char *worker, const char *job)
{
	char k[KEY_MAX];
	redisReply *r;

	key(k, QUEUE_CLAIM_PREFIX, job);
	return simple(&r, redis_command(&r, "SET %s %s", k, worker));
}

void
queue_claim_clear(const char *worker, const char *job)
{
	char k[KEY_MAX];
	redisReply *r;

	key(k, QUEUE_CLAIM_PREFIX, job);
	simple(&r, redis_command(&r, "EVAL %s 1 %s %s", claim_clear_lua, k, worker));
}

enum fv_err
queue_claim_is(const char *worker, const char *job, bool *mine_or_none)
{
	char k[KEY_MAX];
	redisReply *r;
	enum fv_err e;

	key(k, QUEUE_CLAIM_PREFIX, job);
	if ((e = redis_command(&r, "GET %s", k)) != FV_OK)
		return e;
	*mine_or_none = r->type != REDIS_REPLY_STRING ||
	                (strlen(worker) == r->len && memcmp(worker, r->str, r->len) == 0);
	freeReplyObject(r);
	return FV_OK;
}

enum fv_err
queue_heartbeat(const char *worker, const char *info, long ttl_ms)
{
	char k[KEY_MAX];
	redisReply *r;
	enum fv_err e;

	key(k, QUEUE_HEARTBEAT_PREFIX, worker);
	if ((e = simple(&r, redis_command(&r, "SET %s %s PX %ld", k, info, ttl_ms))) != FV_OK)
		return e;
	return simple(&r, redis_command(&r, "SADD %s %s", QUEUE_WORKERS_KEY, worker));
}

void
queue_worker_gone(const char *worker)
{
	char hb[KEY_MAX], list[KEY_MAX];
	redisReply *r;

	key(hb, QUEUE_HEARTBEAT_PREFIX, worker);
	key(list, QUEUE_PROCESSING_PREFIX, worker);
	simple(&r, redis_command(&r, "EVAL %s 3 %s %s %s %s", gone_lua, hb, list, QUEUE_WORKERS_KEY,
	                         worker));
}

enum fv_err
queue_lock(const char *name, const char *worker, long ttl_ms, bool *got)
{
	char k[KEY_MAX];
	redisReply *r;
	enum fv_err e;

	*got = false;
	snprintf(k, sizeof(k), "fv:lock:%s", name);
	if ((e = redis_command(&r, "SET %s %s NX PX %ld", k, worker, ttl_ms)) != FV_OK)
		return e;
	*got = r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	return FV_OK;
}

enum fv_err
queue_dead_workers(const char *self, int (*fn)(void *arg, const char *worker), void *arg)
{
	redisReply *members, *r;
	enum fv_err e;
	size_t i;

	if ((e = redis_command(&members, "SMEMBERS %s", QUEUE_WORKERS_KEY)) != FV_OK)
		return e;
	for (i = 0; members->type == REDIS_REPLY_ARRAY && i < members->elements; i++) {
		const redisReply *m = members->element[i];
		char hb[KEY_MAX], id[QUEUE_ID_MAX];
		long alive;

		if (m->type != REDIS_REPLY_STRING || m->len == 0 || m->len >= QUEUE_ID_MAX)
			continue;
		memcpy(id, m->str, m->len);
		id[m->len] = '\0';
		if (strcmp(id, self) == 0)
			continue;
		key(hb, QUEUE_HEARTBEAT_PREFIX, id);
		if ((e = redis_command(&r, "EXISTS %s", hb)) != FV_OK)
			break;
		alive = integer(r);
		freeReplyObject(r);
		if (!alive && fn(arg, id) != 0)
			break;
	}
	freeReplyObject(members);
	return e;
}

enum fv_err
queue_processing_jobs(const char *worker, char (*jobs)[QUEUE_JOB_MAX], size_t max, size_t *count)
{
	char list[KEY_MAX];
	redisReply *r;
	enum fv_err e;
	size_t i;

	*count = 0;
	key(list, QUEUE_PROCESSING_PREFIX, worker);
	if ((e = redis_command(&r, "LRANGE %s 0 %ld", list, (long)max - 1)) != FV_OK)
		return e;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && *count < max; i++) {
		const redisReply *j = r->element[i];

		if (j->type == REDIS_REPLY_STRING && j->len > 0 && j->len < QUEUE_JOB_MAX) {
			memcpy(jobs[*count], j->str, j->len);
			jobs[(*count)++][j->len] = '\0';
		}
	}
	freeReplyObject(r);
	return FV_OK;
}

static enum fv_err
move_back(const char *worker, bool unregister, long *moved)
{
	char list[KEY_MAX];
	redisReply *r;
	enum fv_err e;

	key(list, QUEUE_PROCESSING_PREFIX, worker);
	if ((e = redis_command(&r, "EVAL %s 3 %s %s %s %s %s", reap_lua, list, QUEUE_KEY,
	                       QUEUE_WORKERS_KEY, unregister ? "1" : "0", worker)) != FV_OK)
		return e;
	*moved = integer(r);
	freeReplyObject(r);
	return FV_OK;
}

enum fv_err
queue_reap_worker(const char *worker, long *moved)
{
	return move_back(worker, true, moved);
}

enum fv_err
queue_recover_own(const char *worker, long *moved)
{
	return move_back(worker, false, moved);
}

enum fv_err
queue_depths(struct queue_depths *d)
{
	redisReply *members, *r;
	enum fv_err e;
	size_t i;

	memset(d, 0, sizeof(*d));
	if ((e = redis_command(&r, "LLEN %s", QUEUE_KEY)) != FV_OK)
		return e;
	d->waiting = integer(r);
	freeReplyObject(r);
	if ((e = redis_command(&r, "ZCARD %s", QUEUE_DELAYED_KEY)) != FV_OK)
		return e;
	d->delayed = integer(r);
	freeReplyObject(r);
	if ((e = redis_command(&members, "SMEMBERS %s", QUEUE_WORKERS_KEY)) != FV_OK)
		return e;
	for (i = 0; members->type == REDIS_REPLY_ARRAY && i < members->elements && e == FV_OK;
	     i++) {
		const redisReply *m = members->element[i];
		char k[KEY_MAX];

		if (m->type != REDIS_REPLY_STRING || m->len >= QUEUE_ID_MAX)
			continue;
		d->workers++;
		snprintf(k, sizeof(k), "%s%.*s", QUEUE_PROCESSING_PREFIX, (int)m->len, m->str);
		if ((e = redis_command(&r, "LLEN %s", k)) != FV_OK)
			break;
		d->processing += integer(r);
		freeReplyObject(r);
		snprintf(k, sizeof(k), "%s%.*s", QUEUE_HEARTBEAT_PREFIX, (int)m->len, m->str);
		if ((e = redis_command(&r, "EXISTS %s", k)) != FV_OK)
			break;
		d->live += integer(r);
		freeReplyObject(r);
	}
	freeReplyObject(members);
	return e;
}
