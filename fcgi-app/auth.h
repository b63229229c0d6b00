/* auth.h: who is asking and may they: sessions and tokens on every request, roles and CSRF per
 * route, the login and logout pages, the token API, and the audit helper for requests. */
#ifndef FV_AUTH_H
#define FV_AUTH_H

#include <stdbool.h>
#include "request.h"

void auth_init(void);

/* Finds the request's credential (bearer token for the API, session cookie otherwise); sets
 * r->cred and r->user. An invalid credential is the same as none. FV_EUNAVAIL when it cannot be
 * checked. */
enum fv_err auth_authenticate(struct req *r);
/* Applies the route's rules: 401 (or a redirect to /login for pages) without credentials, 403 for
 * a role that may not, 403 for a missing or wrong CSRF token. Parses page forms into r->form. */
enum fv_err auth_authorize(struct req *r);

/* Records an audit event for this request (user, request id and address from r). */
enum fv_err auth_audit(struct req *r, const char *action, const char *entity_type,
                       const char *entity_id, const char *outcome);

/* true when a state-changing request may go ahead: not authenticated by a session cookie, or it
 * carries the session's CSRF token (in form_token, or the X-CSRF-Token header). */
bool auth_csrf_ok(struct req *r, const char *form_token);
/* The message of a refused CSRF check, for handlers that check it themselves (uploads). */
const char *auth_csrf_message(void);

enum fv_err auth_login_form(struct req *r);
enum fv_err auth_login(struct req *r);
enum fv_err auth_logout(struct req *r);
enum fv_err auth_token_create(struct req *r);
enum fv_err auth_token_revoke(struct req *r);

#endif
