/* users.h: clinician accounts: names, roles, Argon2id password hashes. Shared by fv-app (login,
 * /admin/users) and fv-admin (user commands). Errors are fv_err values; messages for people are
 * returned through *msg where a caller shows them. */
#ifndef FV_USERS_H
#define FV_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include "errors.h"

#define USER_NAME_MAX 64
#define PASSWORD_MIN 10
#define PASSWORD_MAX 1024

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_CLINICIAN, ROLE_ADMIN };

struct user {
	char id[37];
	char name[USER_NAME_MAX + 1];
	enum role role;
};

/* Registers the module's prepared statements (fv-app; call once at start). */
void users_init(void);

/* "admin" -> ROLE_ADMIN; ROLE_NONE for anything else. */
enum role role_parse(const char *s);
const char *role_name(enum role r);

/* Checks and lower-cases a user name into out. NULL when good, else a message. */
const char *user_name_check(const char *s, char out[USER_NAME_MAX + 1]);
/* NULL when the password is acceptable, else a message. */
const char *password_check(const char *pw);

/* Verifies name/password. FV_OK with *u filled for an active user with that password;
 * FV_EUNAUTH for an unknown or disabled user or a wrong password (the time taken does not tell
 * which); FV_EUNAVAIL/FV_EINTERNAL for database trouble. */
enum fv_err user_authenticate(const char *name, const char *password, struct user *u);

/* Creates a user. FV_ECONFLICT when the name is taken; FV_EINVAL for a bad name, role or
 * password (*msg says which). */
enum fv_err user_create(const char *name, enum role role, const char *password, struct user *u,
                        const char **msg);
/* Sets a new password. FV_ENOTFOUND for an unknown user. */
enum fv_err user_set_password(const char *name, const char *password, const char **msg);
/* Disables (ending every session and token of the user at once) or enables a user. *u gets the
 * user. FV_ENOTFOUND for an unknown user. Runs inside the caller's transaction when one is open. */
enum fv_err user_set_disabled(const char *who, bool by_id, bool disabled, struct user *u);
/* A user by name (any status). */
enum fv_err user_find(const char *name, struct user *u, bool *disabled);

/* Writes 'len' random characters of an easily typed alphabet (no 0/O, 1/l/I) and a NUL. */
void password_generate(char *out, size_t len);

#endif
