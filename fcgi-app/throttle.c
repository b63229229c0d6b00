/* throttle.c: failed-login counters (see throttle.h). Keys: fv:throttle:user:<name> and
 * fv:throttle:addr:<address>, each expiring THROTTLE_WINDOW seconds after its first failure. */
#include <string.h>

#include "log.h"
#include "redis.h"
#include "throttle.h"

/* Seconds left on key when its count has reached limit, else 0. */
static long
blocked(const char *kind, const char *who, long limit)
{
	redisReply *r;
	long left = 0;

	if (redis_command(
	        &r, "EVAL %s 1 fv:throttle:%s:%s %ld",
	        "local n = tonumber(redis.call('GET', KEYS[1]) or '0');"
	        " if n < tonumber(ARGV[1]) then return 0 end;"
	        " local t = redis.call('TTL', KEYS[1]); if t < 1 then t = 1 end; return t",
	        kind, who, limit) != FV_OK) {
		log_msg("throttle: redis unavailable, login not throttled");
		return 0;
	}
	if (r->type == REDIS_REPLY_INTEGER)
		left = (long)r->integer;
	freeReplyObject(r);
	return left;
}

long
throttle_check(const char *username, const char *addr)
{
	long u = blocked("user", username, THROTTLE_USER_LIMIT);
	long a = blocked("addr", addr, THROTTLE_ADDR_LIMIT);

	return u > a ? u : a;
}

static void
count(const char *kind, const char *who)
{
	redisReply *r;

	/* The window starts at the first failure: the expiry is set only on a new key. */
	if (redis_command(&r, "EVAL %s 1 fv:throttle:%s:%s %d",
	                  "local n = redis.call('INCR', KEYS[1]);"
	                  " if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end; return n",
	                  kind, who, THROTTLE_WINDOW) == FV_OK)
		freeReplyObject(r);
}

void
throttle_fail(const char *username, const char *addr)
{
	count("user", username);
	count("addr", addr);
}

void
throttle_reset(const char *username)
{
	redisReply *r;

	if (redis_command(&r, "DEL fv:throttle:user:%s", username) == FV_OK)
		freeReplyObject(r);
}
