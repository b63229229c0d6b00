/* routes.c: every route of the application, one row each. A new route is a new row. */
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

    {"/api/v1/patients", M_GET, patients_list, 0},
    {"/api/v1/patients", M_POST, patients_create, R_WRITE},
    {"/api/v1/patients/{id}", M_GET, patients_show, 0},
    {"/api/v1/patients/{id}", M_PATCH, patients_update, R_WRITE},
    {"/api/v1/patients/{id}", M_DELETE, patients_archive, R_WRITE},

    {"/", M_GET, home, R_PAGE},
    {"/patients", M_GET, patients_list, R_PAGE},
    {"/patients", M_POST, patients_create, R_PAGE | R_WRITE},
    {"/patients/new", M_GET, patients_new_form, R_PAGE},
    {"/patients/{id}", M_GET, patients_show, R_PAGE},
    {"/patients/{id}/edit", M_GET, patients_edit_form, R_PAGE},
    {"/patients/{id}/edit", M_POST, patients_update, R_PAGE | R_WRITE},
    {"/patients/{id}/delete", M_POST, patients_archive, R_PAGE | R_WRITE},
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
