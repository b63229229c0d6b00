/* main-worker.c: fv-worker. */
#include "worker.h"

int
main(void)
{
	return worker_run();
}
