/* routes.h: the application's route table. */
#ifndef FV_ROUTES_H
#define FV_ROUTES_H

#include "router.h"

extern const struct route routes[];
extern const size_t nroutes;

#endif
