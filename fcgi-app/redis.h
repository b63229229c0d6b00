/* redis.h: the process's one Redis connection ("redis://host:port/db" or "unix:///path?db=N"),
 * opened lazily with short timeouts and re-opened after a failure. */
#ifndef FV_REDIS_H
#define FV_REDIS_H

#include <hiredis/hiredis.h>
#include "errors.h"

/* Parses and remembers the URL. Returns 0, or -1 when it is malformed. */
int redis_init(const char *url);
/* Runs a command (hiredis format); on FV_OK *reply is a non-error reply the caller frees with
 * freeReplyObject(). FV_EUNAVAIL when Redis cannot be reached or answers an error. */
enum fv_err redis_command(redisReply **reply, const char *fmt, ...);
/* PING. */
enum fv_err redis_ping(void);
void redis_close(void);

#endif
