/* main-worker.c: fv-worker, the analysis daemon (worker.h), and its one-shot mode
 * `fv-worker --analyze FILE` that runs the same sandboxed analysis on a file and prints it. */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "extract.h"
#include "filetype.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "storage.h"
#include "worker.h"

static void
usage(void)
{
	printf(
	    "Usage: fv-worker [--config FILE] [--pidfile FILE]\n"
	    "       fv-worker [--config FILE] --analyze FILE\n"
	    "       fv-worker [--config FILE] --metrics\n\n"
	    "The FertiVision analysis worker: takes queued documents from Redis, analyses each\n"
	    "in a sandboxed child process and stores the result in PostgreSQL. Run one or many,\n"
	    "on one host or many (docs/worker.md). SIGTERM finishes the job in hand and exits;\n"
	    "SIGHUP reopens the log file.\n\n"
	    "Options:\n"
	    "  --config FILE     the configuration file (below)\n"
	    "  --pidfile FILE    write the process id to FILE (removed at exit)\n"
	    "  --analyze FILE    analyse FILE once, as the daemon would (type from the bytes,\n"
	    "                    same limits, same sandbox), print the analysis as JSON and\n"
	    "                    exit 0, or print why it failed and exit 1; needs no database,\n"
	    "                    Redis or store\n"
	    "  --metrics         print the analysis metrics of all workers (kept in Redis) in the\n"
	    "                    Prometheus text format, and exit\n"
	    "  --help            this text\n\n"
	    "The worker's keys are worker_* (queue), analysis_* (limits, cache) and ollama_*\n"
	    "(optional language model).\n");
	config_usage();
}

/* OpenMP reads its settings when libgomp loads, before main, so OMP_THREAD_LIMIT=1 (one thread
 * per worker process: more workers use more cores; and no thread pool in a process that forks) has
 * to be in the environment already: start again with it. An operator's own setting is kept; under
 * valgrind, which would not follow the exec, nothing is done. */
static void
one_thread(char **argv)
{
	const char *preload = getenv("LD_PRELOAD");

	if (getenv("OMP_THREAD_LIMIT") || (preload && strstr(preload, "vgpreload")))
		return;
	if (setenv("OMP_THREAD_LIMIT", "1", 1) == 0)
		execv("/proc/self/exe", argv);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
analyze_file(const struct fv_config *cfg, const char *file)
{
	struct sandbox_limits lim;
	struct llm_config llm;
	struct timespec t0;
	const char *mime, *msg;
	json_object *a = NULL;
	char reason[512], *text = NULL;
	struct stat st;
	enum fv_err e;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fv-worker: %s: not a readable file\n", file);
		return 1;
	}
	if (filetype_init(reason, sizeof(reason)) != 0) {
		fprintf(stderr, "fv-worker: %s\n", reason);
		return 1;
	}
	if ((e = filetype_check(file, (size_t)st.st_size, &mime, &msg)) != FV_OK) {
		fprintf(stderr, "fv-worker: %s: refused: %s\n", file,
		        msg && *msg ? msg : "unreadable");
		filetype_close();
		return 1;
	}
	if (extract_init(NULL, reason, sizeof(reason)) != 0) {
		fprintf(stderr, "fv-worker: OCR: %s\n", reason);
		filetype_close();
		return 1;
	}
	worker_limits(cfg, &lim);
	worker_llm(cfg, &llm);
	e = sandbox_analyze(file, mime, &lim, llm_enabled(&llm), NULL, &a, &text, reason,
	                    sizeof(reason));
	if (e == FV_OK && llm_enabled(&llm)) {
		char why[512];

		if (llm_refine(&llm, text ? text : "", a, why, sizeof(why)) != FV_OK)
			fprintf(stderr, "fv-worker: language model not used: %s\n", why);
	}
	free(text);
	if (e == FV_OK) {
		worker_stamp(a, (long)ms_since(&t0));
		printf("%s\n", json_object_to_json_string_ext(
		                   a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(a);
	} else {
		fprintf(stderr, "fv-worker: %s (%s): analysis failed: %s\n", file, mime, reason);
	}
	extract_shutdown();
	filetype_close();
	return e == FV_OK ? 0 : 1;
}

static int
print_metrics(const struct fv_config *cfg)
{
	struct buf b = {0};
	enum fv_err e;

	if (redis_init(cfg->redis_url) != 0) {
		fprintf(stderr, "fv-worker: redis_url is malformed\n");
		return 1;
	}
	if ((e = metrics_render(&b)) != FV_OK) {
		fprintf(stderr, "fv-worker: metrics: %s\n",
		        e == FV_EUNAVAIL ? "cannot reach Redis" : fv_err_message(e));
		return 1;
	}
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	redis_close();
	return 0;
}

static int
write_pidfile(const char *path)
{
	char line[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());

	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},  {"pidfile", required_argument, NULL, 'p'},
	    {"analyze", required_argument, NULL, 'a'}, {"metrics", no_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},          {0}};
	const char *config_path = NULL, *pidfile = NULL, *analyze = NULL;
	bool metrics = false;
	struct fv_config cfg;
	struct storage *storage;
	char err[512];
	int c, rc;

	one_thread(argv);
	while ((c = getopt_long(argc, argv, "c:p:a:mh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'a':
			analyze = optarg;
			break;
		case 'm':
			metrics = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	log_set_program("fv-worker");
	if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fv-worker: %s\n", err);
		return 1;
	}
	if (analyze || metrics) {
		rc = analyze ? analyze_file(&cfg, analyze) : print_metrics(&cfg);
		config_free(&cfg);
		return rc;
	}
	if (log_open(cfg.log_file) != 0) {
		fprintf(stderr, "fv-worker: cannot open log %s\n", cfg.log_file);
		return 1;
	}
	if (sodium_init() < 0) {
		log_msg("start failed: no randomness");
		return 1;
	}
	if (redis_init(cfg.redis_url) != 0) {
		log_msg("redis_url is malformed");
		return 1;
	}
	if (audit_init(cfg.audit_key_file, err, sizeof(err)) != 0 ||
	    storage_open(cfg.storage_url, cfg.storage_keys_file, &storage, err, sizeof(err)) != 0) {
		log_msg("%s", err);
		return 1;
	}
	/* Loaded once here, so that every analysing child starts with the OCR model in memory. */
	if (extract_init(NULL, err, sizeof(err)) != 0) {
		log_msg("OCR: %s", err);
		return 1;
	}
	db_init(cfg.database_url);
	if (pidfile && write_pidfile(pidfile) != 0) {
		log_msg("cannot write the pid file %s", pidfile);
		return 1;
	}
	rc = worker_run(&cfg, storage);
	if (pidfile)
		unlink(pidfile);
	db_close();
	redis_close();
	storage_close(storage);
	extract_shutdown();
	config_free(&cfg);
	return rc;
}
