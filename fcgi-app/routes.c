/* routes.c: every route of the application, one row each. A new route is a new row. The action
 * names the route in the audit trail, so a refused request is recorded as what it tried to do. */
#include "admin.h"
#include "auth.h"
#include "documents.h"
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
    {"/health", M_GET, health_check, R_PUBLIC, NULL},
    {"/ready", M_GET, health_ready, R_PUBLIC, NULL},

    {"/api/v1/auth/token", M_POST, auth_token_create, R_PUBLIC, "auth.token_create"},
    {"/api/v1/auth/token", M_DELETE, auth_token_revoke, 0, "auth.token_revoke"},

    {"/api/v1/patients", M_GET, patients_list, 0, "patient.list"},
    {"/api/v1/patients", M_POST, patients_create, R_WRITE, "patient.create"},
    {"/api/v1/patients/{id}", M_GET, patients_show, 0, "patient.read"},
    {"/api/v1/patients/{id}", M_PATCH, patients_update, R_WRITE, "patient.update"},
    {"/api/v1/patients/{id}", M_DELETE, patients_archive, R_WRITE, "patient.archive"},

    {"/api/v1/patients/{id}/documents", M_GET, documents_list, 0, "document.list"},
    {"/api/v1/patients/{id}/documents", M_POST, documents_upload, R_WRITE | R_STREAM,
     "document.upload"},
    {"/api/v1/documents/{id}", M_GET, documents_show, 0, "document.read"},
    {"/api/v1/documents/{id}", M_DELETE, documents_archive, R_WRITE, "document.archive"},
    {"/api/v1/documents/{id}/content", M_GET, documents_content, 0, "document.download"},
    {"/api/v1/documents/{id}/reanalyze", M_POST, documents_reanalyze, R_WRITE,
     "document.reanalyze"},

    {"/", M_GET, home, R_PAGE, NULL},
    {"/login", M_GET, auth_login_form, R_PAGE | R_PUBLIC, NULL},
    {"/login", M_POST, auth_login, R_PAGE | R_PUBLIC, "auth.login"},
    {"/logout", M_POST, auth_logout, R_PAGE, "auth.logout"},

    {"/patients", M_GET, patients_list, R_PAGE, "patient.list"},
    {"/patients", M_POST, patients_create, R_PAGE | R_WRITE, "patient.create"},
    {"/patients/new", M_GET, patients_new_form, R_PAGE | R_WRITE, "patient.create"},
    {"/patients/{id}", M_GET, patients_show, R_PAGE, "patient.read"},
    {"/patients/{id}/edit", M_GET, patients_edit_form, R_PAGE | R_WRITE, "patient.update"},
    {"/patients/{id}/edit", M_POST, patients_update, R_PAGE | R_WRITE, "patient.update"},
    {"/patients/{id}/delete", M_POST, patients_archive, R_PAGE | R_WRITE, "patient.archive"},

    {"/patients/{id}/documents", M_POST, documents_upload, R_PAGE | R_WRITE | R_STREAM,
     "document.upload"},
    {"/documents/{id}", M_GET, documents_show, R_PAGE, "document.read"},
    {"/documents/{id}/content", M_GET, documents_content, R_PAGE, "document.download"},
    {"/documents/{id}/reanalyze", M_POST, documents_reanalyze, R_PAGE | R_WRITE,
     "document.reanalyze"},
    {"/documents/{id}/delete", M_POST, documents_archive, R_PAGE | R_WRITE, "document.archive"},

    {"/admin/users", M_GET, admin_users, R_PAGE | R_ADMIN, "user.list"},
    {"/admin/users", M_POST, admin_user_create, R_PAGE | R_ADMIN, "user.create"},
    {"/admin/users/{id}/disable", M_POST, admin_user_disable, R_PAGE | R_ADMIN, "user.disable"},
    {"/admin/users/{id}/enable", M_POST, admin_user_enable, R_PAGE | R_ADMIN, "user.enable"},
    {"/admin/audit", M_GET, admin_audit, R_PAGE | R_ADMIN, "audit.read"},
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
