/* credentials.c: browser sessions and API tokens (see credentials.h). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "credentials.h"
#include "db.h"

#define TOKEN_PREFIX "fvt_"
#define SECRET_BYTES 32
#define SECRET_B64 43

static const struct db_stmt stmts[] = {
    {"cred_insert",
     "INSERT INTO credentials (token_hash, kind, user_id, csrf_token, expires_at)"
     " VALUES (decode($1, 'hex'), $2, $3, $4, now() + $5::bigint * interval '1 second')"
     " RETURNING to_char(expires_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
     5},
    {"cred_lookup",
     "SELECT u.id, u.username, u.role, c.csrf_token,"
     " c.last_seen_at < now() - interval '60 seconds'"
     " FROM credentials c JOIN users u ON u.id = c.user_id"
     " WHERE c.token_hash = decode($1, 'hex') AND c.kind = $2 AND c.revoked_at IS NULL"
     " AND c.expires_at > now() AND u.disabled_at IS NULL"
     " AND (c.kind = 'token' OR c.last_seen_at > now() - $3::bigint * interval '1 second')",
     3},
    {"cred_touch",
     "UPDATE credentials SET last_seen_at = now() WHERE token_hash = decode($1, 'hex')", 1},
    {"cred_revoke",
     "UPDATE credentials SET revoked_at = now() WHERE token_hash = decode($1, 'hex')"
     " AND revoked_at IS NULL",
     1},
};

static const char *const kind_names[] = {[CRED_SESSION] = "session", [CRED_TOKEN] = "token"};

void
credentials_init(void)
{
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

static void
random_b64(char out[SECRET_B64 + 1])
{
	unsigned char raw[SECRET_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SECRET_B64 + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static void
hash_hex(const char *secret, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

enum fv_err
cred_create(enum cred_kind kind, const struct user *u, size_t lifetime,
            char secret[CRED_SECRET_MAX], char csrf[CRED_CSRF_LEN + 1], char expires_at[32])
{
	char hex[65], life[24];
	const char *params[5];
	PGresult *res;
	enum fv_err e;

	snprintf(secret, CRED_SECRET_MAX, "%s", kind == CRED_TOKEN ? TOKEN_PREFIX : "");
	random_b64(secret + strlen(secret));
	random_b64(csrf);
	hash_hex(secret, hex);
	snprintf(life, sizeof(life), "%zu", lifetime);
	params[0] = hex;
	params[1] = kind_names[kind];
	params[2] = u->id;
	params[3] = kind == CRED_SESSION ? csrf : NULL;
	params[4] = life;
	if ((e = db_exec("cred_insert", 5, params, &res)) != FV_OK)
		return e;
	snprintf(expires_at, 32, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return FV_OK;
}

/* A secret of the right shape: the prefix for tokens, then 43 base64url characters. */
static int
well_formed(enum cred_kind kind, const char *s)
{
	size_t p = kind == CRED_TOKEN ? strlen(TOKEN_PREFIX) : 0;

	if (p && strncmp(s, TOKEN_PREFIX, p) != 0)
		return 0;
	s += p;
	return strlen(s) == SECRET_B64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	           SECRET_B64;
}

enum fv_err
cred_lookup(enum cred_kind kind, const char *secret, size_t idle_timeout, struct credential *c)
{
	const char *params[3];
	char idle[24];
	PGresult *res;
	enum fv_err e;
	int touch;

	memset(c, 0, sizeof(*c));
	if (!well_formed(kind, secret))
		return FV_EUNAUTH;
	hash_hex(secret, c->hash_hex);
	snprintf(idle, sizeof(idle), "%zu", idle_timeout);
	params[0] = c->hash_hex;
	params[1] = kind_names[kind];
	params[2] = idle;
	if ((e = db_exec("cred_lookup", 3, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return FV_EUNAUTH;
	}
	c->kind = kind;
	snprintf(c->user.id, sizeof(c->user.id), "%s", PQgetvalue(res, 0, 0));
	snprintf(c->user.name, sizeof(c->user.name), "%s", PQgetvalue(res, 0, 1));
	c->user.role = role_parse(PQgetvalue(res, 0, 2));
	snprintf(c->csrf, sizeof(c->csrf), "%s", PQgetvalue(res, 0, 3));
	touch = kind == CRED_SESSION && strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	PQclear(res);
	/* Activity is written at most once a minute: a write per request would cost more than the
	 * lookup itself, and a minute is far below the idle timeout. */
	if (touch) {
		params[0] = c->hash_hex;
		if ((e = db_exec("cred_touch", 1, params, &res)) != FV_OK)
			return e;
		PQclear(res);
	}
	return FV_OK;
}

enum fv_err
cred_revoke(const char *hex)
{
	const char *params[1] = {hex};
	PGresult *res;
	enum fv_err e;

	if ((e = db_exec("cred_revoke", 1, params, &res)) != FV_OK)
		return e;
	PQclear(res);
	return FV_OK;
}
