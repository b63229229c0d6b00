/* worker.c: the analysis worker (see worker.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "db.h"
#include "docfile.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "rescache.h"
#include "worker.h"

#define TAKE_WAIT_MS 500
#define PROMOTE_EVERY_MS 1000
#define OUTAGE_WAIT_MS 1000
#define MAX_RETRY_DELAY_S 86400
#define REAP_BATCH 64
#define REASON_MAX 512

static volatile sig_atomic_t stopping, reopen;

/* The one worker of this process. */
static struct {
	const struct fv_config *cfg;
	struct storage *st;
	struct sandbox_limits lim;
	struct llm_config llm;
	char id[QUEUE_ID_MAX];
	char job[QUEUE_JOB_MAX]; /* the job in hand, for the heartbeat's information */
	long vis_ms, beat_ms;
	long long next_beat, next_promote, next_reap, next_sweep;
	bool redis_down, db_down;
} w;

enum outcome { O_ANALYZED, O_FAILED, O_RETRY };

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_stop(int sig)
{
	(void)sig;
	stopping++;
}

static void
on_hup(int sig)
{
	(void)sig;
	reopen = 1;
}

void
worker_limits(const struct fv_config *cfg, struct sandbox_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->extract.max_pages =
	    cfg->analysis_max_pages > 100000 ? 100000 : (int)cfg->analysis_max_pages;
	lim->extract.max_pixels = (long long)cfg->analysis_max_pixels;
	lim->extract.dpi = 300;
	lim->time_limit_s = (long)cfg->analysis_time_limit;
	lim->memory_bytes = cfg->analysis_memory_limit;
}

void
worker_llm(const struct fv_config *cfg, struct llm_config *llm)
{
	llm->url = cfg->ollama_url;
	llm->model = cfg->ollama_model;
	llm->timeout_ms = (long)cfg->ollama_timeout * 1000;
}

void
worker_stamp(json_object *analysis, long processing_ms)
{
	char at[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(analysis, "processing_ms", json_object_new_int64(processing_ms));
	json_object_object_add(analysis, "analyzed_at", json_object_new_string(at));
}

/* Sleeps up to ms; a signal ends it early. */
static void
nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void
redis_state(enum fv_err e)
{
	if (e == FV_EUNAVAIL && !w.redis_down)
		log_msg("worker: redis unavailable; retrying");
	else if (e == FV_OK && w.redis_down)
		log_msg("worker: redis available again");
	w.redis_down = e == FV_EUNAVAIL;
}

static void
db_state(enum fv_err e)
{
	if (e == FV_EUNAVAIL && !w.db_down)
		log_msg("worker: database unavailable; the job waits");
	else if (e == FV_OK && w.db_down)
		log_msg("worker: database available again");
	w.db_down = e == FV_EUNAVAIL;
}

static void
heartbeat(void)
{
	char info[256];

	snprintf(info, sizeof(info), "pid=%d job=%s", (int)getpid(), w.job[0] ? w.job : "-");
	redis_state(queue_heartbeat(w.id, info, w.vis_ms));
	w.next_beat = now_ms() + w.beat_ms;
}

/* The sandbox's and the outage waits' tick: the heartbeat when it is due. */
static void
tick(void *arg)
{
	(void)arg;
	if (now_ms() >= w.next_beat)
		heartbeat();
}

/* Waits out an outage, heartbeating. */
static void
wait_beating(long ms)
{
	long long until = now_ms() + ms, left;

	while ((left = until - now_ms()) > 0 && !(stopping > 1)) {
		tick(NULL);
		nap(w.beat_ms < left ? w.beat_ms : (long)left);
	}
}

/* ---- reaper and sweep ------------------------------------------------------------------------ */

/* A worker whose heartbeat expired: its claimed documents go back to "queued" (unless a live
 * worker has claimed them since), then its jobs go back to the queue. Returns non-zero to stop
 * reaping (PostgreSQL is down: the next round tries again). */
static int
reap_one(void *arg, const char *dead)
{
	char jobs[REAP_BATCH][QUEUE_JOB_MAX];
	size_t n, i;
	long moved;
	enum fv_err e;

	(void)arg;
	if (queue_processing_jobs(dead, jobs, REAP_BATCH, &n) != FV_OK)
		return 1;
	for (i = 0; i < n; i++) {
		bool orphan;

		if (queue_claim_is(dead, jobs[i], &orphan) != FV_OK)
			return 1;
		if (!orphan)
			continue;
		if ((e = jobs_reset(jobs[i])) != FV_OK) {
			db_state(e);
			return 1;
		}
		queue_claim_clear(dead, jobs[i]);
	}
	if (queue_reap_worker(dead, &moved) != FV_OK)
		return 1;
	log_msg("reaper: worker %s stopped heartbeating; %ld job(s) back on the queue", dead,
	        moved);
	return 0;
}

static void
sweep(void)
{
	long queued = 0, stuck = 0;
	long stuck_age = 2 * (long)w.cfg->analysis_time_limit + 4 * (w.vis_ms / 1000) + 60;
	enum fv_err e;

	e = queue_requeue_stale((long)w.cfg->worker_sweep_age, &queued);
	if (e == FV_OK)
		e = jobs_requeue_stuck(stuck_age, &stuck);
	if (e == FV_EUNAVAIL)
		db_state(e);
	if (queued || stuck)
		log_msg("sweep: %ld document(s) left queued and %ld stuck processing queued again",
		        queued, stuck);
}

/* Between jobs: heartbeat, due retries, the reaper, the sweep. */
static void
duties(void)
{
	long long now = now_ms();
	long moved = 0;
	bool got;

	if (now >= w.next_beat) {
		heartbeat();
		/* Nothing is in hand: anything in our processing list was lost on its way to us. */
		if (!w.redis_down && queue_recover_own(w.id, &moved) == FV_OK && moved > 0)
			log_msg("worker: %ld job(s) left in my processing list back on the queue",
			        moved);
	}
	if (w.redis_down)
		return;
	if (now >= w.next_promote) {
		redis_state(queue_promote_due(NULL));
		w.next_promote = now + PROMOTE_EVERY_MS;
	}
	if (now >= w.next_reap) {
		w.next_reap = now + (w.vis_ms / 2 > 1000 ? w.vis_ms / 2 : 1000);
		if (queue_lock("reaper", w.id, w.vis_ms / 2 > 1000 ? w.vis_ms / 2 : 1000, &got) ==
		        FV_OK &&
		    got)
			queue_dead_workers(w.id, reap_one, NULL);
	}
	if (now >= w.next_sweep) {
		long every = (long)w.cfg->worker_sweep_interval * 1000;

		w.next_sweep = now + every;
		/* One sweep per interval across every worker on every host. */
		if (queue_lock("sweep", w.id, every, &got) == FV_OK && got)
			sweep();
	}
}

/* ---- one job --------------------------------------------------------------------------------- */

/* Commits an outcome, waiting for PostgreSQL as long as it takes (a second SIGTERM gives up:
 * the job stays in the processing list for the reaper). A result the database refuses (not an
 * outage) becomes a failure, so that the job cannot come back for ever. Returns whether the job is
 * settled (committed, or lost to another claim meanwhile); *o and *payload say what was stored. */
static bool
commit(enum outcome *o, const char **payload, const char *job, const struct job_claim *c,
       long delay_s, bool *stored)
{
	enum fv_err e;

	for (;;) {
		e = *o == O_ANALYZED ? jobs_analyzed(job, c->token, *payload, w.id, stored)
		    : *o == O_FAILED ? jobs_failed(job, c->token, *payload, w.id, stored)
		                     : jobs_retry_later(job, c->token, delay_s, stored);
		db_state(e);
		if (e == FV_OK)
			return true;
		if (e != FV_EUNAVAIL && *o == O_ANALYZED) {
			log_msg("job %s: the database refused the result", job);
			*o = O_FAILED;
			*payload = "The analysis result could not be stored";
			continue;
		}
		if (e != FV_EUNAVAIL) {
			/* The stuck-job sweep will queue the document again. */
			log_msg("job %s: the outcome could not be stored; left to the sweep", job);
			return true;
		}
		if (stopping > 1)
			return false;
		wait_beating(OUTAGE_WAIT_MS);
	}
}

/* Ends a job: commits its outcome, then removes it from the processing list. Returns whether an
 * analysis was stored. */
static bool
settle(enum outcome o, const char *job, const struct job_claim *c, const char *payload,
       const char *reason, long run_ms, bool cached)
{
	long delay = 0;
	bool stored;

	if (o == O_RETRY) {
		int shift = c->attempts - 1 < 16 ? c->attempts - 1 : 16;

		delay = (long)w.cfg->worker_retry_delay << shift;
		if (delay > MAX_RETRY_DELAY_S || delay <= 0)
			delay = MAX_RETRY_DELAY_S;
	}
	if (!commit(&o, &payload, job, c, delay, &stored)) {
		log_msg("job %s: stopping before the outcome was stored; left to the reaper", job);
		return false;
	}
	if (o == O_RETRY && stored)
		redis_state(queue_delay(w.id, job, delay));
	else
		redis_state(queue_ack(w.id, job));
	queue_claim_clear(w.id, job);
	if (!stored) {
		log_msg("job %s: claimed by another worker meanwhile; this outcome was dropped",
		        job);
		metrics_record(M_DROPPED, -1);
		return false;
	}
	switch (o) {
	case O_ANALYZED:
		log_msg("job %s: analyzed (attempt %d%s)", job, c->attempts,
		        cached ? ", from the cache" : "");
		metrics_record(cached ? M_CACHED : M_ANALYZED, run_ms);
		break;
	case O_FAILED:
		log_msg("job %s: failed (attempt %d): %s", job, c->attempts, payload);
		metrics_record(M_FAILED, run_ms);
		break;
	case O_RETRY:
		log_msg("job %s: attempt %d failed (%s); retry in %ld s", job, c->attempts, reason,
		        delay);
		metrics_record(M_RETRIED, run_ms);
		break;
	}
	return o == O_ANALYZED;
}

/* A failure that may pass (an outage, a crash): again later, or "failed" after the last
 * attempt. */
static void
transient(const char *job, const struct job_claim *c, const char *reason, long run_ms)
{
	char error[REASON_MAX + 64];

	if (c->attempts < (int)w.cfg->worker_max_attempts) {
		settle(O_RETRY, job, c, NULL, reason, run_ms, false);
		return;
	}
	snprintf(error, sizeof(error), "Analysis failed %d times: %s", c->attempts, reason);
	settle(O_FAILED, job, c, error, reason, run_ms, false);
}

static void
permanent(const char *job, const struct job_claim *c, const char *reason, long run_ms)
{
	char error[REASON_MAX + 64];

	snprintf(error, sizeof(error), "The document cannot be analysed: %s", reason);
	settle(O_FAILED, job, c, error, reason, run_ms, false);
}

/* Analyses the claimed document. Returns the analysis (*refined: the language model refined it),
 * or NULL after settling the failure. */
static json_object *
analyse(const char *job, const struct job_claim *c, long long start, long *run_ms, bool *refined)
{
	struct sandbox_tick t = {tick, NULL, w.beat_ms};
	char reason[REASON_MAX], path[64], *text = NULL;
	json_object *a = NULL;
	bool use_llm = llm_enabled(&w.llm);
	long long t0;
	enum fv_err e;
	int fd;

	*run_ms = -1;
	*refined = false;
	if ((e = docfile_fetch(w.st, w.cfg->spool_dir, c->sha256, &fd, reason, sizeof(reason))) !=
	    FV_OK) {
		if (e == FV_ENOTFOUND || e == FV_EINVAL)
			permanent(job, c, reason, -1);
		else
			transient(job, c, reason, -1);
		return NULL;
	}
	docfile_path(fd, path, sizeof(path));
	t0 = now_ms();
	e = sandbox_analyze(path, c->content_type, &w.lim, use_llm, &t, &a, &text, reason,
	                    sizeof(reason));
	close(fd);
	if (e == FV_OK && use_llm) {
		char why[REASON_MAX], info[256];
		enum fv_err le;

		/* The call blocks for up to its timeout: the lease covers it, so that nobody takes
		 * this job for a dead worker's meanwhile. */
		snprintf(info, sizeof(info), "pid=%d job=%s llm", (int)getpid(), job);
		redis_state(queue_heartbeat(w.id, info, w.vis_ms + w.llm.timeout_ms));
		le = llm_refine(&w.llm, text ? text : "", a, why, sizeof(why));
		heartbeat();
		*refined = le == FV_OK;
		if (!*refined)
			log_msg("job %s: language model not used (%s); built-in result kept", job,
			        why);
	}
	free(text);
	*run_ms = (long)(now_ms() - t0);
	if (e == FV_EINVAL) {
		permanent(job, c, reason, *run_ms);
		return NULL;
	}
	if (e == FV_EINTERNAL) {
		log_msg("job %s: analysis error: %s", job, reason);
		transient(job, c, "the analysis stopped with an internal error", *run_ms);
		return NULL;
	}
	if (e != FV_OK) {
		transient(job, c, reason, *run_ms);
		return NULL;
	}
	worker_stamp(a, (long)(now_ms() - start));
	return a;
}

static void
process(const char *job)
{
	char key[RESCACHE_KEY_MAX], error[REASON_MAX];
	long long start = now_ms();
	struct job_claim c;
	json_object *a;
	bool claimed, cached = false, refined = false;
	long run_ms = -1;
	enum fv_err e;

	while ((e = jobs_claim(job, &c, &claimed)) != FV_OK) {
		db_state(e);
		if (e != FV_EUNAVAIL) {
			/* Not an outage: try this one later rather than spin on it. */
			redis_state(queue_delay(w.id, job, (long)w.cfg->worker_retry_delay));
			return;
		}
		if (stopping) {
			redis_state(queue_untake(w.id, job));
			return;
		}
		wait_beating(OUTAGE_WAIT_MS);
	}
	db_state(FV_OK);
	if (!claimed) {
		log_msg("job %s: not queued any more (a duplicate or stale job); dropped", job);
		redis_state(queue_ack(w.id, job));
		metrics_record(M_DROPPED, -1);
		return;
	}
	snprintf(w.job, sizeof(w.job), "%s", job);
	queue_claim_set(w.id, job);
	heartbeat();
	if (c.attempts > (int)w.cfg->worker_max_attempts) {
		/* Each claim counts: only a worker that died with it makes attempts pass the limit.
		 */
		snprintf(error, sizeof(error),
		         "Analysis failed %d times: the worker analysing it stopped before it "
		         "finished",
		         c.attempts - 1);
		settle(O_FAILED, job, &c, error, error, -1, false);
		goto out;
	}
	rescache_key(c.sha256, llm_enabled(&w.llm) ? w.llm.model : NULL, key);
	if ((a = rescache_get(key)) != NULL) {
		cached = true;
		worker_stamp(a, (long)(now_ms() - start));
	} else if ((a = analyse(job, &c, start, &run_ms, &refined)) == NULL) {
		goto out;
	}
	/* Only a result that was stored is cached; one the model did not refine goes under the
	 * built-in key, so the model is asked again next time. */
	if (settle(O_ANALYZED, job, &c, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
	           NULL, run_ms, cached) &&
	    !cached) {
		rescache_key(c.sha256, refined ? w.llm.model : NULL, key);
		rescache_put(key, a, (long)w.cfg->analysis_cache_ttl);
	}
	json_object_put(a);
out:
	w.job[0] = '\0';
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void
make_id(char out[QUEUE_ID_MAX])
{
	char host[64];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, QUEUE_ID_MAX, "%s:%d:%08x", host, (int)getpid(), randombytes_random());
}

int
worker_run(const struct fv_config *cfg, struct storage *st)
{
	struct sigaction sa;
	char job[QUEUE_JOB_MAX];
	enum fv_err e;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.st = st;
	worker_limits(cfg, &w.lim);
	worker_llm(cfg, &w.llm);
	w.vis_ms = (long)cfg->worker_visibility_timeout * 1000;
	w.beat_ms = w.vis_ms / 3 > 100 ? w.vis_ms / 3 : 100;
	make_id(w.id);
	jobs_init();

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal ends a wait early so that the loop sees it. */
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	db_state(db_ensure());
	heartbeat();
	log_msg("worker %s: serving %s (visibility %ld s, %zu attempts, time limit %ld s%s%s)",
	        w.id, QUEUE_KEY, w.vis_ms / 1000, cfg->worker_max_attempts, w.lim.time_limit_s,
	        llm_enabled(&w.llm) ? ", language model " : "",
	        llm_enabled(&w.llm) ? w.llm.model : "");
	while (!stopping) {
		if (reopen) {
			reopen = 0;
			if (log_open(cfg->log_file) != 0)
				log_msg("worker: cannot reopen log %s: %s", cfg->log_file,
				        strerror(errno));
			else
				log_msg("worker: log reopened");
		}
		duties();
		e = queue_take(w.id, TAKE_WAIT_MS, job);
		redis_state(e);
		if (e != FV_OK) {
			nap(OUTAGE_WAIT_MS);
			continue;
		}
		if (job[0])
			process(job);
	}
	queue_worker_gone(w.id);
	log_msg("worker %s: stopped", w.id);
	return 0;
}
