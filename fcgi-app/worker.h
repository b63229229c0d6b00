/* worker.h: the analysis worker's loop (see main-worker.c). */
#ifndef FV_WORKER_H
#define FV_WORKER_H

int worker_run(void);

#endif
