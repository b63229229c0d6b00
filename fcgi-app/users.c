/* users.c: clinician accounts and their passwords (see users.h). */
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "log.h"
#include "users.h"

static const struct db_stmt stmts[] = {
    {"user_by_name",
     "SELECT id, username, role, password_hash, disabled_at IS NOT NULL FROM users"
     " WHERE username = $1",
     1},
    {"user_insert",
     "INSERT INTO users (username, role, password_hash) VALUES ($1, $2, $3) RETURNING id", 3},
    {"user_passwd",
     "UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1 RETURNING id", 2},
    {"user_disable",
     "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END,"
     " updated_at = now() WHERE CASE WHEN $3 THEN id::text = $1 ELSE username = $1 END"
     " RETURNING id, username, role",
     3},
    {"user_revoke_all",
     "UPDATE credentials SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", 1},
};

static const char *const role_names[] = {[ROLE_NONE] = "none",
                                         [ROLE_VIEWER] = "viewer",
                                         [ROLE_CLINICIAN] = "clinician",
                                         [ROLE_ADMIN] = "admin"};

void
users_init(void)
{
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

enum role
role_parse(const char *s)
{
	enum role r;

	for (r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
		if (strcmp(s, role_names[r]) == 0)
			return r;
	return ROLE_NONE;
}

const char *
role_name(enum role r)
{
	return r <= ROLE_ADMIN ? role_names[r] : "none";
}

const char *
user_name_check(const char *s, char out[USER_NAME_MAX + 1])
{
	size_t i, n = strlen(s);

	if (n == 0)
		return "is required";
	if (n > USER_NAME_MAX)
		return "must be at most 64 characters";
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return "may contain only letters, digits, '.', '_' and '-'";
		out[i] = c;
	}
	out[n] = '\0';
	return NULL;
}

const char *
password_check(const char *pw)
{
	size_t n = strlen(pw);

	if (n < PASSWORD_MIN)
		return "must be at least 10 characters";
	if (n > PASSWORD_MAX)
		return "must be at most 1024 bytes";
	return NULL;
}

/* Argon2id with libsodium's interactive limits: ~64 MiB and well under a second per login. */
static int
hash_password(const char *pw, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                         crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void
fill_user(PGresult *res, struct user *u)
{
	snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(u->name, sizeof(u->name), "%s", PQgetvalue(res, 0, 1));
	u->role = role_parse(PQgetvalue(res, 0, 2));
}

enum fv_err
user_authenticate(const char *name, const char *password, struct user *u)
{
	static char dummy[crypto_pwhash_STRBYTES];
	const char *params[1];
	char lname[USER_NAME_MAX + 1];
	PGresult *res = NULL;
	enum fv_err e;
	int found = 0, good;

	memset(u, 0, sizeof(*u));
	/* An unknown name is checked against a dummy hash, so the time taken does not reveal which
	 * names exist. */
	if (dummy[0] == '\0' && hash_password("not a password of anyone", dummy) != 0)
		return FV_EINTERNAL;
	if (user_name_check(name, lname) == NULL && strlen(password) <= PASSWORD_MAX) {
		params[0] = lname;
		if ((e = db_exec("user_by_name", 1, params, &res)) != FV_OK)
			return e;
		found = PQntuples(res) == 1;
	}
	good = crypto_pwhash_str_verify(found ? PQgetvalue(res, 0, 3) : dummy, password,
	                                strlen(password)) == 0;
	if (found && good && strcmp(PQgetvalue(res, 0, 4), "f") == 0) {
		fill_user(res, u);
		e = FV_OK;
	} else {
		e = FV_EUNAUTH;
	}
	PQclear(res);
	return e;
}

enum fv_err
user_create(const char *name, enum role role, const char *password, struct user *u,
            const char **msg)
{
	char lname[USER_NAME_MAX + 1], hash[crypto_pwhash_STRBYTES];
	const char *params[3];
	PGresult *res;
	enum fv_err e;

	memset(u, 0, sizeof(*u));
	if ((*msg = user_name_check(name, lname)) != NULL)
		return FV_EINVAL;
	if (role == ROLE_NONE) {
		*msg = "role must be one of: admin, clinician, viewer";
		return FV_EINVAL;
	}
	if ((*msg = password_check(password)) != NULL)
		return FV_EINVAL;
	if (hash_password(password, hash) != 0)
		return FV_EINTERNAL;
	params[0] = lname;
	params[1] = role_name(role);
	params[2] = hash;
	if ((e = db_exec("user_insert", 3, params, &res)) != FV_OK) {
		*msg = e == FV_ECONFLICT ? "a user with this name already exists" : NULL;
		return e;
	}
	snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(u->name, sizeof(u->name), "%s", lname);
	u->role = role;
	PQclear(res);
	return FV_OK;
}

enum fv_err
user_set_password(const char *name, const char *password, const char **msg)
{
	char lname[USER_NAME_MAX + 1], hash[crypto_pwhash_STRBYTES];
	const char *params[2];
	PGresult *res;
	enum fv_err e;

	if ((*msg = user_name_check(name, lname)) != NULL)
		return FV_EINVAL;
	if ((*msg = password_check(password)) != NULL)
		return FV_EINVAL;
	if (hash_password(password, hash) != 0)
		return FV_EINTERNAL;
	params[0] = lname;
	params[1] = hash;
	if ((e = db_exec("user_passwd", 2, params, &res)) != FV_OK)
		return e;
	e = PQntuples(res) == 1 ? FV_OK : FV_ENOTFOUND;
	PQclear(res);
	return e;
}

enum fv_err
user_set_disabled(const char *who, bool by_id, bool disabled, struct user *u)
{
	/* By id or by name, never either: a user name may itself look like a UUID. */
	const char *params[3] = {who, disabled ? "true" : "false", by_id ? "true" : "false"};
	PGresult *res;
	enum fv_err e;

	memset(u, 0, sizeof(*u));
	if ((e = db_exec("user_disable", 3, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return FV_ENOTFOUND;
	}
	fill_user(res, u);
	PQclear(res);
	if (!disabled)
		return FV_OK;
	params[0] = u->id;
	if ((e = db_exec("user_revoke_all", 1, params, &res)) != FV_OK)
		return e;
	PQclear(res);
	return FV_OK;
}

enum fv_err
user_find(const char *name, struct user *u, bool *disabled)
{
	char lname[USER_NAME_MAX + 1];
	const char *params[1] = {lname};
	PGresult *res;
	enum fv_err e;

	memset(u, 0, sizeof(*u));
	if (user_name_check(name, lname) != NULL)
		return FV_ENOTFOUND;
	if ((e = db_exec("user_by_name", 1, params, &res)) != FV_OK)
		return e;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return FV_ENOTFOUND;
	}
	fill_user(res, u);
	*disabled = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	PQclear(res);
	return FV_OK;
}

void
password_generate(char *out, size_t len)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[len] = '\0';
}
