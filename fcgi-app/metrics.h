/* metrics.h: the analysis metrics, kept in Redis so that totals span every worker process and
 * host (keys in docs/worker.md): outcome counters, a histogram of analysis durations, and the
 * queue depths read at scrape time. Workers record; the /metrics endpoint renders.
 *
 * Recording never fails the caller: a Redis that cannot be reached loses that observation. */
#ifndef FV_METRICS_H
#define FV_METRICS_H

#include "buf.h"
#include "errors.h"

#define METRICS_KEY "fv:metrics:analysis"

/* Outcomes of a job (exclusive: each job ends in one of them):
 *   analyzed  analysed and stored        cached   served from the result cache and stored
 *   failed    stored as "failed"         retried  a transient failure, scheduled again
 *   dropped   a duplicate or stale job (nothing to do) */
enum metrics_outcome { M_ANALYZED, M_CACHED, M_FAILED, M_RETRIED, M_DROPPED, M_OUTCOME_COUNT };

/* Counts one outcome. duration_ms >= 0 also observes one analysis run (the sandboxed child and
 * the language model) in the duration histogram; -1 when no analysis ran. */
void metrics_record(enum metrics_outcome o, long duration_ms);

/* Appends the metrics in the Prometheus text exposition format (version 0.0.4) to out:
 *   fv_analysis_jobs_total{outcome="..."}          counter
 *   fv_analysis_duration_seconds{_bucket,_sum,_count} histogram
 *   fv_analysis_queue_jobs{state="waiting|delayed|processing"} gauge
 *   fv_analysis_workers{state="registered|live"}   gauge
 * FV_EUNAVAIL when Redis cannot be reached (out is then unchanged). */
enum fv_err metrics_render(struct buf *out);

#endif
