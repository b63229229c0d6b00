/* admin.h: the administrators' pages: users (/admin/users) and the audit trail (/admin/audit). */
#ifndef FV_ADMIN_H
#define FV_ADMIN_H

#include "request.h"

void admin_init(void);
enum fv_err admin_users(struct req *r);
enum fv_err admin_user_create(struct req *r);
enum fv_err admin_user_disable(struct req *r);
enum fv_err admin_user_enable(struct req *r);
enum fv_err admin_audit(struct req *r);

#endif
