/* routes.c: every route of the application, one row each. A new route is a new row. */
#include "admin.h"
#include "auth.h"
#include "health.h"
#include "patients.h"
#include "response.h"
#include "routes.h"

static enum fv_err
home(struct req *r)
{
	return resp_redirect(r, 303, "/patients");
}

const struct route routes[] = {
    {"/health", M_GET, health_check, R_PUBLIC},
    {"/ready", M_GET, health_ready, R_PUBLIC},

    {"/api/v1/auth/token", M_POST, auth_token_create, R_PUBLIC},
    {"/api/v1/auth/token", M_DELETE, auth_token_revoke, 0},

    {"/api/v1/patients", M_GET, patients_list, 0},
    {"/api/v1/patients", M_POST, patients_create, R_WRITE},
    {"/api/v1/patients/{id}", M_GET, patients_show, 0},
    {"/api/v1/patients/{id}", M_PATCH, patients_update, R_WRITE},
    {"/api/v1/patients/{id}", M_DELETE, patients_archive, R_WRITE},

    {"/", M_GET, home, R_PAGE},
    {"/login", M_GET, auth_login_form, R_PAGE | R_PUBLIC},
    {"/login", M_POST, auth_login, R_PAGE | R_PUBLIC},
    {"/logout", M_POST, auth_logout, R_PAGE},
    {"/patients", M_GET, patients_list, R_PAGE},
    {"/patients", M_POST, patients_create, R_PAGE | R_WRITE},
    {"/patients/new", M_GET, patients_new_form, R_PAGE},
    {"/patients/{id}", M_GET, patients_show, R_PAGE},
    {"/patients/{id}/edit", M_GET, patients_edit_form, R_PAGE},
    {"/patients/{id}/edit", M_POST, patients_update, R_PAGE | R_WRITE},
    {"/patients/{id}/delete", M_POST, patients_archive, R_PAGE | R_WRITE},

    {"/admin/users", M_GET, admin_users, R_PAGE | R_ADMIN},
    {"/admin/users", M_POST, admin_user_create, R_PAGE | R_ADMIN},
    {"/admin/users/{id}/disable", M_POST, admin_user_disable, R_PAGE | R_ADMIN},
    {"/admin/users/{id}/enable", M_POST, admin_user_enable, R_PAGE | R_ADMIN},
    {"/admin/audit", M_GET, admin_audit, R_PAGE | R_ADMIN},
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
