/* admin.c: the administrators' pages (docs/auth.md). Users are managed here and with fv-admin;
 * the audit page filters the trail by patient and by user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "credentials.h"
#include "db.h"
#include "response.h"
#include "users.h"

#define AUDIT_PAGE 100

static const struct db_stmt stmts[] = {
    {"admin_users",
     "SELECT json_build_object('id', id, 'username', username, 'role', role,"
     " 'active', disabled_at IS NULL,"
     " 'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"
     " FROM users ORDER BY username",
     0},
    {"admin_audit",
     "SELECT json_build_object('id', id, 'at', to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
     " 'username', username, 'action', action, 'entity_type', entity_type,"
     " 'entity_id', entity_id, 'request_id', request_id, 'client_addr', client_addr,"
     " 'outcome', outcome)::text, id FROM audit_events"
     " WHERE ($1::text IS NULL OR (entity_type = 'patient' AND entity_id = $1))"
     " AND ($2::text IS NULL OR username = $2) AND id < $3::bigint"
     " ORDER BY id DESC LIMIT $4",
     4},
};

void
admin_init(void)
{
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

/* Rows whose first column is JSON text, as an array. */
static enum fv_err
json_rows(const char *stmt, int n, const char *const *params, struct json_object **out,
          PGresult **keep)
{
	PGresult *res;
	enum fv_err e;
	int i;

	if ((e = db_exec(stmt, n, params, &res)) != FV_OK)
		return e;
	*out = json_object_new_array();
	for (i = 0; i < PQntuples(res); i++)
		json_object_array_add(*out, json_tokener_parse(PQgetvalue(res, i, 0)));
	if (keep)
		*keep = res;
	else
		PQclear(res);
	return FV_OK;
}

static enum fv_err
users_page(struct req *r, int status, const char *problem, struct json_object *form)
{
	struct json_object *view, *users;
	enum fv_err e;

	if ((e = json_rows("admin_users", 0, NULL, &users, NULL)) != FV_OK) {
		json_object_put(form);
		return e;
	}
	view = json_object_new_object();
	json_object_object_add(view, "title", json_object_new_string("Users"));
	json_object_object_add(view, "users", users);
	json_object_object_add(view, "form", form ? form : json_object_new_object());
	if (problem)
		json_object_object_add(view, "problem", json_object_new_string(problem));
	return resp_page(r, status, "admin_users", view);
}

enum fv_err
admin_users(struct req *r)
{
	enum fv_err e;

	if ((e = req_check_args(r, (const char *const[]){NULL})) != FV_OK)
		return e;
	return users_page(r, 200, NULL, NULL);
}

enum fv_err
admin_user_create(struct req *r)
{
	const char *name = kv_get(&r->form, "username"), *role = kv_get(&r->form, "role");
	const char *pw = kv_get(&r->form, "password"), *msg = NULL;
	struct json_object *form = json_object_new_object();
	struct user u;
	enum fv_err e;

	json_object_object_add(form, "username", json_object_new_string(name ? name : ""));
	json_object_object_add(form, "role", json_object_new_string(role ? role : ""));
	e = user_create(name ? name : "", role_parse(role ? role : ""), pw ? pw : "", &u, &msg);
	if (e == FV_EINVAL || e == FV_ECONFLICT) {
		/* The failed INSERT aborted the request's transaction; the list needs a fresh one.
		 */
		db_rollback();
		if ((e = db_begin()) != FV_OK) {
			json_object_put(form);
			return e;
		}
		return users_page(r, e == FV_ECONFLICT ? 409 : 400, msg, form);
	}
	json_object_put(form);
	if (e != FV_OK || (e = auth_audit(r, "user.create", "user", u.id, "success")) != FV_OK)
		return e;
	return resp_redirect(r, 303, "/admin/users");
}

static enum fv_err
set_disabled(struct req *r, bool disabled)
{
	char id[37];
	struct user u;
	enum fv_err e;

	if (v_uuid(req_path_param(r, 0), id) != NULL)
		return req_fail(r, FV_ENOTFOUND, "user not found");
	if (disabled && r->cred && strcmp(id, r->cred->user.id) == 0)
		return req_fail(r, FV_EINVAL, "you cannot disable your own account");
	e = user_set_disabled(id, true, disabled, &u);
	if (e == FV_ENOTFOUND)
		return req_fail(r, e, "user not found");
	if (e != FV_OK || (e = auth_audit(r, disabled ? "user.disable" : "user.enable", "user",
	                                  u.id, "success")) != FV_OK)
		return e;
	return resp_redirect(r, 303, "/admin/users");
}

enum fv_err
admin_user_disable(struct req *r)
{
	return set_disabled(r, true);
}

enum fv_err
admin_user_enable(struct req *r)
{
	return set_disabled(r, false);
}

enum fv_err
admin_audit(struct req *r)
{
	static const char *const allowed[] = {"patient", "user", "before", NULL};
	const char *patient = kv_get(&r->args, "patient"), *user = kv_get(&r->args, "user");
	const char *before = kv_get(&r->args, "before"), *params[4];
	char pid[37], uname[USER_NAME_MAX + 1];
	long long b = 0x7fffffffffffffffLL;
	struct json_object *view, *events;
	PGresult *res;
	enum fv_err e;
	int n;

	if ((e = req_check_args(r, allowed)) != FV_OK)
		return e;
	if (patient && patient[0] && v_uuid(patient, pid) != NULL)
		req_invalid(r, "patient", "must be a patient id (UUID)");
	if (user && user[0] && user_name_check(user, uname) != NULL)
		req_invalid(r, "user", "must be a user name");
	if (before && before[0] && v_int(before, 1, b, &b) != NULL)
		req_invalid(r, "before", "must be an event id");
	if (r->err_fields)
		return FV_EINVAL;
	params[0] = patient && patient[0] ? pid : NULL;
	params[1] = user && user[0] ? uname : NULL;
	params[2] = arena_printf(r->arena, "%lld", b);
	params[3] = arena_printf(r->arena, "%d", AUDIT_PAGE + 1);
	if ((e = json_rows("admin_audit", 4, params, &events, &res)) != FV_OK)
		return e;
	n = PQntuples(res);
	view = json_object_new_object();
	if (n > AUDIT_PAGE) {
		json_object_array_del_idx(events, AUDIT_PAGE, 1);
		json_object_object_add(
		    view, "older_url",
		    json_object_new_string(arena_printf(
		        r->arena, "/admin/audit?patient=%s&user=%s&before=%s", params[0] ? pid : "",
		        params[1] ? uname : "", PQgetvalue(res, AUDIT_PAGE - 1, 1))));
	}
	PQclear(res);
	json_object_object_add(view, "title", json_object_new_string("Audit trail"));
	json_object_object_add(view, "events", events);
	json_object_object_add(view, "patient", json_object_new_string(params[0] ? pid : ""));
	json_object_object_add(view, "user", json_object_new_string(params[1] ? uname : ""));
	if ((e = auth_audit(r, "audit.read", "patient", params[0], "success")) != FV_OK) {
		json_object_put(view);
		return e;
	}
	return resp_page(r, 200, "admin_audit", view);
}
