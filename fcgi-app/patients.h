/* patients.h: the patient resource; each handler serves both representations (JSON under
 * /api/v1/, HTML pages elsewhere) from one view model. */
#ifndef FV_PATIENTS_H
#define FV_PATIENTS_H

#include "request.h"

/* Registers the module's prepared statements (call once at start). */
void patients_init(void);

enum fv_err patients_list(struct req *r);
enum fv_err patients_show(struct req *r);
enum fv_err patients_create(struct req *r);
enum fv_err patients_update(struct req *r);
enum fv_err patients_archive(struct req *r);
enum fv_err patients_new_form(struct req *r);
enum fv_err patients_edit_form(struct req *r);

#endif
