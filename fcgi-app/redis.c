/* redis.c: the process's Redis connection (see redis.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis.h"

static char host[256], sock[512];
static int port = 6379, dbnum;
static redisContext *ctx;

int
redis_init(const char *url)
{
	const char *p;
	char *end;

	host[0] = sock[0] = '\0';
	dbnum = 0;
	if (strncmp(url, "unix://", 7) == 0) {
		size_t n = strcspn(url + 7, "?");
		if (n == 0 || n >= sizeof(sock))
			return -1;
		memcpy(sock, url + 7, n);
		sock[n] = '\0';
		p = strstr(url + 7, "?db=");
		if (p)
			dbnum = (int)strtol(p + 4, NULL, 10);
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	p = url + 8;
	size_t n = strcspn(p, ":/");
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	p += n;
	if (*p == ':') {
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || v <= 0 || v > 65535)
			return -1;
		port = (int)v;
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0' || v < 0 || v > 1000)
			return -1;
		dbnum = (int)v;
	}
	return 0;
}

void
redis_close(void)
{
	if (ctx)
		redisFree(ctx);
	ctx = NULL;
}

static enum fv_err
ensure(void)
{
	struct timeval connect_tv = {0, 300000}, cmd_tv = {1, 0};
	redisReply *r;

	if (ctx != NULL)
		return FV_OK;
	ctx = sock[0] ? redisConnectUnixWithTimeout(sock, connect_tv)
	              : redisConnectWithTimeout(host, port, connect_tv);
	if (ctx == NULL || ctx->err) {
		log_msg("redis: connect failed: %s", ctx ? ctx->errstr : "out of memory");
		redis_close();
		return FV_EUNAVAIL;
	}
	redisSetTimeout(ctx, cmd_tv);
	if (dbnum != 0) {
		r = redisCommand(ctx, "SELECT %d", dbnum);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			if (r)
				freeReplyObject(r);
			redis_close();
			return FV_EUNAVAIL;
		}
		freeReplyObject(r);
	}
	return FV_OK;
}

static enum fv_err
vcommand(redisReply **out, const char *fmt, va_list ap)
{
	redisReply *r;

	*out = NULL;
	if (ensure() != FV_OK)
		return FV_EUNAVAIL;
	r = redisvCommand(ctx, fmt, ap);
	if (r == NULL) {
		log_msg("redis: command failed: %s", ctx->errstr);
		redis_close();
		return FV_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_msg("redis: error reply: %.*s", (int)r->len, r->str);
		freeReplyObject(r);
		return FV_EUNAVAIL;
	}
	*out = r;
	return FV_OK;
}

enum fv_err
redis_command(redisReply **reply, const char *fmt, ...)
{
	va_list ap;
	enum fv_err e;
	int attempt;

	/* A connection broken while idle (Redis restarted) is retried once on a fresh one. */
	for (attempt = 0; attempt < 2; attempt++) {
		int was_connected = ctx != NULL;

		va_start(ap, fmt);
		e = vcommand(reply, fmt, ap);
		va_end(ap);
		if (e == FV_OK || !was_connected || ctx != NULL)
			break;
	}
	return e;
}

enum fv_err
redis_ping(void)
{
	redisReply *r;
	enum fv_err e = redis_command(&r, "PING");

	if (e == FV_OK)
		freeReplyObject(r);
	return e;
}
