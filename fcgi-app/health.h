/* health.h: /health (the stack's dependencies) and /ready (this process). */
#ifndef FV_HEALTH_H
#define FV_HEALTH_H

#include "request.h"

void health_init(void);
enum fv_err health_check(struct req *r);
enum fv_err health_ready(struct req *r);

#endif
