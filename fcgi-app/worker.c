/* worker.c: the analysis worker (see worker.h). */
#include "worker.h"

int
worker_run(void)
{
	return 0;
}
