/* health.h: /health (the stack's dependencies) and /ready (this process). */
#ifndef FV_HEALTH_H
#define FV_HEALTH_H

#include "request.h"

struct storage;

/* st: the process's document storage (checked by /health). */
void health_init(struct storage *st);
enum fv_err health_check(struct req *r);
enum fv_err health_ready(struct req *r);

#endif
