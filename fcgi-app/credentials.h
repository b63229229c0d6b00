/* credentials.h: browser sessions and API tokens. The secret (256 random bits, base64url; tokens
 * carry the prefix "fvt_") goes to the client once; the database keeps only its SHA-256. */
#ifndef FV_CREDENTIALS_H
#define FV_CREDENTIALS_H

#include <stdbool.h>
#include "errors.h"
#include "users.h"

#define CRED_SECRET_MAX 48 /* "fvt_" + 43 base64url characters + NUL */
#define CRED_CSRF_LEN 43

enum cred_kind { CRED_SESSION, CRED_TOKEN };

struct credential {
	struct user user;
	enum cred_kind kind;
	char csrf[CRED_CSRF_LEN + 1]; /* sessions only */
	char hash_hex[65];            /* SHA-256 of the secret, hex */
};

void credentials_init(void);

/* Creates a credential for u that expires after lifetime seconds. Writes the secret (for the
 * client, never stored), the session's CSRF token (sessions) and the expiry as RFC 3339. */
enum fv_err cred_create(enum cred_kind kind, const struct user *u, size_t lifetime,
                        char secret[CRED_SECRET_MAX], char csrf[CRED_CSRF_LEN + 1],
                        char expires_at[32]);
/* Looks a presented secret up. FV_OK with *c filled for a live credential of an active user;
 * FV_EUNAUTH for anything else (malformed, unknown, expired, idle longer than idle_timeout
 * seconds for sessions, revoked, user disabled). Records session activity at most once a minute. */
enum fv_err cred_lookup(enum cred_kind kind, const char *secret, size_t idle_timeout,
                        struct credential *c);
/* Revokes the credential with this hash (from cred_lookup). */
enum fv_err cred_revoke(const char *hash_hex);

#endif
