/* metrics.c: analysis metrics in Redis (see metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "queue.h"
#include "redis.h"

static const char *const outcome_names[M_OUTCOME_COUNT] = {
    [M_ANALYZED] = "analyzed", [M_CACHED] = "cached",   [M_FAILED] = "failed",
    [M_RETRIED] = "retried",   [M_DROPPED] = "dropped",
};

/* Upper bounds of the histogram's buckets, in milliseconds (the field names) and seconds (the
 * exposition). Stored cumulatively, as Prometheus wants them. */
static const struct {
	long ms;
	const char *le;
} buckets[] = {{100, "0.1"}, {250, "0.25"}, {500, "0.5"},  {1000, "1"},   {2500, "2.5"},
               {5000, "5"},  {10000, "10"}, {30000, "30"}, {60000, "60"}, {120000, "120"}};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* One round trip: the outcome and, when ARGV[2] >= 0, every bucket whose bound is at least the
 * duration, the count and the sum. ARGV[3..]: the bounds in ms. */
static const char record_lua[] =
    "redis.call('HINCRBY', KEYS[1], 'jobs:' .. ARGV[1], 1)\n"
    "local d = tonumber(ARGV[2])\n"
    "if d >= 0 then\n"
    "  for i = 3, #ARGV do\n"
    "    if d <= tonumber(ARGV[i]) then\n"
    "      redis.call('HINCRBY', KEYS[1], 'duration_bucket:' .. ARGV[i], 1)\n"
    "    end\n"
    "  end\n"
    "  redis.call('HINCRBY', KEYS[1], 'duration_count', 1)\n"
    "  redis.call('HINCRBY', KEYS[1], 'duration_sum_ms', d)\n"
    "end\n"
    "return 1\n";

void
metrics_record(enum metrics_outcome o, long duration_ms)
{
	redisReply *r;

	if ((int)o < 0 || o >= M_OUTCOME_COUNT)
		return;
	/* hiredis takes a fixed argument list: the bounds are spelled out. */
	if (redis_command(&r, "EVAL %s 1 %s %s %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld",
	                  record_lua, METRICS_KEY, outcome_names[o], duration_ms, buckets[0].ms,
	                  buckets[1].ms, buckets[2].ms, buckets[3].ms, buckets[4].ms, buckets[5].ms,
	                  buckets[6].ms, buckets[7].ms, buckets[8].ms, buckets[9].ms) == FV_OK)
		freeReplyObject(r);
}

/* The value of field in a flat HGETALL reply, or 0. */
static long long
field(const redisReply *all, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements; i += 2) {
		const redisReply *k = all->element[i], *v = all->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && k->len == n && memcmp(k->str, name, n) == 0 &&
		    v->type == REDIS_REPLY_STRING)
			return strtoll(v->str, NULL, 10);
	}
	return 0;
}

enum fv_err
metrics_render(struct buf *out)
{
	struct queue_depths d;
	redisReply *all;
	char name[64];
	enum fv_err e;
	size_t i;

	if ((e = queue_depths(&d)) != FV_OK)
		return e;
	if ((e = redis_command(&all, "HGETALL %s", METRICS_KEY)) != FV_OK)
		return e;
	buf_puts(out, "# HELP fv_analysis_jobs_total Analysis jobs by outcome.\n"
	              "# TYPE fv_analysis_jobs_total counter\n");
	for (i = 0; i < M_OUTCOME_COUNT; i++) {
		snprintf(name, sizeof(name), "jobs:%s", outcome_names[i]);
		buf_printf(out, "fv_analysis_jobs_total{outcome=\"%s\"} %lld\n", outcome_names[i],
		           field(all, name));
	}
	buf_puts(out, "# HELP fv_analysis_duration_seconds Time an analysis took (sandboxed "
	              "analysis and language model).\n"
	              "# TYPE fv_analysis_duration_seconds histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		snprintf(name, sizeof(name), "duration_bucket:%ld", buckets[i].ms);
		buf_printf(out, "fv_analysis_duration_seconds_bucket{le=\"%s\"} %lld\n",
		           buckets[i].le, field(all, name));
	}
	buf_printf(out, "fv_analysis_duration_seconds_bucket{le=\"+Inf\"} %lld\n",
	           field(all, "duration_count"));
	buf_printf(out, "fv_analysis_duration_seconds_sum %.3f\n",
	           (double)field(all, "duration_sum_ms") / 1000.0);
	buf_printf(out, "fv_analysis_duration_seconds_count %lld\n", field(all, "duration_count"));
	freeReplyObject(all);
	buf_printf(out,
	           "# HELP fv_analysis_queue_jobs Analysis jobs waiting, delayed for a retry, or "
	           "being processed.\n"
	           "# TYPE fv_analysis_queue_jobs gauge\n"
	           "fv_analysis_queue_jobs{state=\"waiting\"} %ld\n"
	           "fv_analysis_queue_jobs{state=\"delayed\"} %ld\n"
	           "fv_analysis_queue_jobs{state=\"processing\"} %ld\n",
	           d.waiting, d.delayed, d.processing);
	buf_printf(out,
	           "# HELP fv_analysis_workers Workers registered, and those with a live "
	           "heartbeat.\n"
	           "# TYPE fv_analysis_workers gauge\n"
	           "fv_analysis_workers{state=\"registered\"} %ld\n"
	           "fv_analysis_workers{state=\"live\"} %ld\n",
	           d.workers, d.live);
	return FV_OK;
}
