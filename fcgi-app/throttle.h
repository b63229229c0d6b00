/* throttle.h: failed-login counters in Redis, per user name and per client address, over a
 * 15-minute window. When Redis is unreachable nothing is throttled (and the log says so): an outage
 * of a cache must not lock every clinician out. */
#ifndef FV_THROTTLE_H
#define FV_THROTTLE_H

#define THROTTLE_WINDOW 900
#define THROTTLE_USER_LIMIT 5
#define THROTTLE_ADDR_LIMIT 20

/* Seconds until a login for this user from this address may be tried again; 0 when allowed. */
long throttle_check(const char *username, const char *addr);
/* Counts a failure for both keys. */
void throttle_fail(const char *username, const char *addr);
/* Forgets the user's failures after a successful login. */
void throttle_reset(const char *username);

#endif
