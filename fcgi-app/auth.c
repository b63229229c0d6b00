/* auth.c: authentication, authorization, CSRF, login/logout and API tokens (docs/auth.md). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "audit.h"
#include "auth.h"
#include "credentials.h"
#include "db.h"
#include "escape.h"
#include "response.h"
#include "throttle.h"
#include "users.h"

#define SESSION_COOKIE "fv_session"
#define LOGIN_CSRF_COOKIE "fv_login_csrf"
#define LOGIN_FAILED "wrong user name or password"
#define CSRF_FAILED                                                                                \
	"This form has expired or did not come from FertiVision. Reload the page and try again."

void
auth_init(void)
{
	credentials_init();
	users_init();
}

enum fv_err
auth_audit(struct req *r, const char *action, const char *entity_type, const char *entity_id,
           const char *outcome)
{
	struct audit_event ev = {
	    .user_id = r->user_id,
	    .username = r->user,
	    .action = action,
	    .entity_type = entity_type,
	    .entity_id = entity_id,
	    .request_id = r->request_id,
	    .client_addr = r->remote_addr,
	    .outcome = outcome,
	};

	return audit_record(&ev);
}

/* A refused request, recorded as what it tried to do, in a transaction of its own (the request's
 * own work never starts). The entity is the path's id when it is one. */
static void
audit_denied(struct req *r)
{
	const char *action = r->match.route->action, *type = NULL, *id = NULL;
	char uuid[37];

	if (action == NULL)
		return;
	if (r->match.nparams > 0 && v_uuid(r->match.params[0], uuid) == NULL)
		id = uuid;
	/* "patient.update" -> "patient"; "auth.*" concerns a user. */
	type = strncmp(action, "auth.", 5) == 0
	           ? "user"
	           : arena_strndup(r->arena, action, strcspn(action, "."));
	if (db_begin() == FV_OK) {
		auth_audit(r, action, type, id, "denied");
		db_commit();
	}
}

static int
secure_transport(struct req *r)
{
	const char *https = req_param(r, "HTTPS");

	return https && strcasecmp(https, "on") == 0;
}

static void
set_cookie(struct req *r, const char *name, const char *value, const char *attrs)
{
	resp_header(r, "Set-Cookie",
	            arena_printf(r->arena, "%s=%s; %s; HttpOnly%s", name, value, attrs,
	                         secure_transport(r) ? "; Secure" : ""));
}

enum fv_err
auth_authenticate(struct req *r)
{
	const char *authz = req_param(r, "HTTP_AUTHORIZATION"), *secret;
	struct credential *c;
	enum cred_kind kind;
	enum fv_err e;

	if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
		kind = CRED_TOKEN;
		secret = authz + 7;
	} else if ((secret = req_cookie(r, SESSION_COOKIE)) != NULL) {
		kind = CRED_SESSION;
	} else {
		return FV_OK;
	}
	c = arena_alloc(r->arena, sizeof(*c));
	e = cred_lookup(kind, secret, r->cfg->session_idle_timeout, c);
	if (e == FV_EUNAUTH)
		return FV_OK;
	if (e != FV_OK)
		return e;
	r->cred = c;
	r->user = c->user.name;
	r->user_id = c->user.id;
	return FV_OK;
}

/* Compares a presented CSRF token with the expected one in constant time. */
static int
csrf_matches(const char *given, const char *want)
{
	size_t n = strlen(want);

	return given && want[0] && strlen(given) == n && sodium_memcmp(given, want, n) == 0;
}

static enum fv_err
redirect_to_login(struct req *r)
{
	struct buf b = {0};
	const char *here =
	    r->query[0] ? arena_printf(r->arena, "%s?%s", r->path, r->query) : r->path;
	enum fv_err e;

	buf_puts(&b, "/login?next=");
	esc_url(&b, here, strlen(here));
	e = resp_redirect(r, 303, arena_strdup(r->arena, buf_cstr(&b)));
	buf_free(&b);
	return e;
}

enum fv_err
auth_authorize(struct req *r)
{
	unsigned flags = r->match.route->flags;
	int changes = r->method != M_GET && r->method != M_HEAD;
	enum fv_err e;

	/* Page forms are read before the handler so that the CSRF token can be checked first. */
	if (r->page && r->method == M_POST && !(flags & R_STREAM) &&
	    (e = req_form_body(r, &r->form)) != FV_OK)
		return e;
	if (flags & R_PUBLIC)
		return FV_OK;
	if (r->cred == NULL) {
		if (r->page)
			return redirect_to_login(r);
		return req_fail(r, FV_EUNAUTH,
		                "authentication required: log in or send a bearer token");
	}
	if (((flags & R_ADMIN) && r->cred->user.role != ROLE_ADMIN) ||
	    ((flags & R_WRITE) && r->cred->user.role == ROLE_VIEWER)) {
		audit_denied(r);
		return req_fail(r, FV_EFORBIDDEN,
		                arena_printf(r->arena, "your role (%s) may not do this",
		                             role_name(r->cred->user.role)));
	}
	/* Bearer tokens are not sent by browsers on their own; cookies are, hence CSRF for them. */
	if (changes && !(flags & R_STREAM) &&
	    !auth_csrf_ok(r, r->page ? kv_get(&r->form, "csrf_token") : NULL))
		return req_fail(r, FV_EFORBIDDEN, CSRF_FAILED);
	return FV_OK;
}

bool
auth_csrf_ok(struct req *r, const char *form_token)
{
	if (r->cred == NULL || r->cred->kind != CRED_SESSION)
		return true;
	return csrf_matches(form_token, r->cred->csrf) ||
	       csrf_matches(req_param(r, "HTTP_X_CSRF_TOKEN"), r->cred->csrf);
}

const char *
auth_csrf_message(void)
{
	return CSRF_FAILED;
}

/* next when it is a path on this site, else the patient list. */
static const char *
safe_next(const char *next)
{
	return next && v_local_path(next) == NULL ? next : "/patients";
}

static const char *
login_csrf(struct req *r)
{
	const char *t = req_cookie(r, LOGIN_CSRF_COOKIE);
	unsigned char raw[32];
	char *fresh;

	if (t && strlen(t) == 43)
		return t;
	randombytes_buf(raw, sizeof(raw));
	fresh = arena_alloc(r->arena, 44);
	sodium_bin2base64(fresh, 44, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	set_cookie(r, LOGIN_CSRF_COOKIE, fresh, "Path=/login; SameSite=Strict");
	return fresh;
}

static enum fv_err
login_page(struct req *r, int status, const char *username, const char *next, const char *problem)
{
	struct json_object *view = json_object_new_object();

	json_object_object_add(view, "title", json_object_new_string("Log in"));
	json_object_object_add(view, "login_csrf", json_object_new_string(login_csrf(r)));
	json_object_object_add(view, "next", json_object_new_string(safe_next(next)));
	json_object_object_add(view, "username", json_object_new_string(username ? username : ""));
	if (problem)
		json_object_object_add(view, "problem", json_object_new_string(problem));
	return resp_page(r, status, "login", view);
}

enum fv_err
auth_login_form(struct req *r)
{
	static const char *const allowed[] = {"next", NULL};
	enum fv_err e;

	if ((e = req_check_args(r, allowed)) != FV_OK)
		return e;
	return login_page(r, 200, NULL, kv_get(&r->args, "next"), NULL);
}

/* The login itself, shared by the page and the token API: throttle, verify, audit. On FV_OK *u
 * is the user and a transaction is open for the caller to create its credential in. */
static enum fv_err
check_login(struct req *r, const char *name, const char *password, struct user *u, long *retry)
{
	char lname[USER_NAME_MAX + 1];
	const char *who =
	    user_name_check(name, lname) == NULL ? arena_strdup(r->arena, lname) : "(invalid)";
	enum fv_err e;

	r->user = who;
	*retry = throttle_check(who, r->remote_addr);
	if (*retry > 0) {
		if (db_begin() == FV_OK) {
			auth_audit(r, "auth.login", "user", NULL, "denied");
			db_commit();
		}
		r->user = NULL;
		return FV_ERATELIMIT;
	}
	e = user_authenticate(name, password, u);
	if (e == FV_EUNAUTH) {
		throttle_fail(who, r->remote_addr);
		if (db_begin() == FV_OK) {
			auth_audit(r, "auth.login", "user", NULL, "failure");
			db_commit();
		}
		r->user = NULL;
		return e;
	}
	if (e != FV_OK)
		return e;
	throttle_reset(who);
	if ((e = db_begin()) != FV_OK)
		return e;
	r->user = arena_strdup(r->arena, u->name);
	r->user_id = arena_strdup(r->arena, u->id);
	return FV_OK;
}

static const char *
retry_after(struct req *r, long secs)
{
	const char *s = arena_printf(r->arena, "%ld", secs);

	resp_header(r, "Retry-After", s);
	return s;
}

enum fv_err
auth_login(struct req *r)
{
	const char *name = kv_get(&r->form, "username"), *pw = kv_get(&r->form, "password");
	const char *next = kv_get(&r->form, "next"), *old = req_cookie(r, SESSION_COOKIE);
	const char *login_cookie = req_cookie(r, LOGIN_CSRF_COOKIE);
	char secret[CRED_SECRET_MAX], csrf[CRED_CSRF_LEN + 1], expires[32];
	struct user u;
	long retry;
	enum fv_err e;

	if (!csrf_matches(kv_get(&r->form, "csrf_token"), login_cookie ? login_cookie : ""))
		return login_page(r, 403, name, next, CSRF_FAILED);
	if (name == NULL || pw == NULL || name[0] == '\0' || pw[0] == '\0')
		return login_page(r, 400, name, next, "Enter your user name and password.");
	e = check_login(r, name, pw, &u, &retry);
	if (e == FV_ERATELIMIT) {
		retry_after(r, retry);
		return login_page(
		    r, 429, name, next,
		    arena_printf(r->arena, "Too many failed logins. Try again in %ld minute(s).",
		                 (retry + 59) / 60));
	}
	if (e == FV_EUNAUTH)
		return login_page(r, 401, name, next, "Wrong user name or password.");
	if (e != FV_OK)
		return e;
	/* A new id at every login; the one the browser came with (if any) is ended. */
	if (old) {
		struct credential prev;
		if (cred_lookup(CRED_SESSION, old, r->cfg->session_idle_timeout, &prev) == FV_OK)
			cred_revoke(prev.hash_hex);
	}
	if ((e = cred_create(CRED_SESSION, &u, r->cfg->session_lifetime, secret, csrf, expires)) !=
	        FV_OK ||
	    (e = auth_audit(r, "auth.login", "user", u.id, "success")) != FV_OK ||
	    (e = db_commit()) != FV_OK)
		return e;
	set_cookie(r, SESSION_COOKIE, secret, "Path=/; SameSite=Lax");
	set_cookie(r, LOGIN_CSRF_COOKIE, "", "Path=/login; SameSite=Strict; Max-Age=0");
	sodium_memzero(secret, sizeof(secret));
	return resp_redirect(r, 303, safe_next(next));
}

enum fv_err
auth_logout(struct req *r)
{
	enum fv_err e;

	if (r->cred->kind != CRED_SESSION)
		return req_fail(r, FV_EINVAL, "no browser session to end");
	if ((e = cred_revoke(r->cred->hash_hex)) != FV_OK ||
	    (e = auth_audit(r, "auth.logout", "user", r->cred->user.id, "success")) != FV_OK)
		return e;
	set_cookie(r, SESSION_COOKIE, "", "Path=/; SameSite=Lax; Max-Age=0");
	return resp_redirect(r, 303, "/login");
}

enum fv_err
auth_token_create(struct req *r)
{
	struct json_object *in, *out;
	const char *name = NULL, *pw = NULL;
	char secret[CRED_SECRET_MAX], csrf[CRED_CSRF_LEN + 1], expires[32];
	struct user u;
	long retry;
	enum fv_err e;

	if ((e = req_json_body(r, &in)) != FV_OK)
		return e;
	json_object_object_foreach(in, key, val)
	{
		if (strcmp(key, "username") == 0 && json_object_is_type(val, json_type_string))
			name = json_object_get_string(val);
		else if (strcmp(key, "password") == 0 && json_object_is_type(val, json_type_string))
			pw = json_object_get_string(val);
		else if (strcmp(key, "username") == 0 || strcmp(key, "password") == 0)
			req_invalid(r, key, "must be a string");
		else
			req_invalid(r, key, "is not a known field");
	}
	if (!r->err_fields && (name == NULL || name[0] == '\0'))
		req_invalid(r, "username", "is required");
	if (!r->err_fields && (pw == NULL || pw[0] == '\0'))
		req_invalid(r, "password", "is required");
	if (r->err_fields) {
		e = FV_EINVAL;
		goto out;
	}
	e = check_login(r, name, pw, &u, &retry);
	if (e == FV_ERATELIMIT) {
		e = req_fail(r, e,
		             arena_printf(r->arena,
		                          "too many failed logins; try again in %s seconds",
		                          retry_after(r, retry)));
		goto out;
	}
	if (e == FV_EUNAUTH)
		e = req_fail(r, e, LOGIN_FAILED);
	if (e != FV_OK)
		goto out;
	if ((e = cred_create(CRED_TOKEN, &u, r->cfg->token_lifetime, secret, csrf, expires)) !=
	        FV_OK ||
	    (e = auth_audit(r, "auth.token_create", "user", u.id, "success")) != FV_OK ||
	    (e = db_commit()) != FV_OK)
		goto out;
	out = json_object_new_object();
	json_object_object_add(out, "token", json_object_new_string(secret));
	json_object_object_add(out, "expires_at", json_object_new_string(expires));
	sodium_memzero(secret, sizeof(secret));
	e = resp_json(r, 201, out);
out:
	json_object_put(in);
	return e;
}

enum fv_err
auth_token_revoke(struct req *r)
{
	enum fv_err e;

	if (r->cred->kind != CRED_TOKEN)
		return req_fail(r, FV_EINVAL, "send the token to revoke as Authorization: Bearer");
	if ((e = cred_revoke(r->cred->hash_hex)) != FV_OK ||
	    (e = auth_audit(r, "auth.token_revoke", "user", r->cred->user.id, "success")) != FV_OK)
		return e;
	return resp_empty(r, 204);
}
