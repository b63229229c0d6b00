/* main-app.c: fv-app, the FastCGI responder. Opens its connections and templates once, then serves
 * one request at a time: parse, route, authorize, handle, answer, log, release. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "documents.h"
#include "filetype.h"
#include "health.h"
#include "log.h"
#include "patients.h"
#include "redis.h"
#include "response.h"
#include "routes.h"
#include "storage.h"

static void
usage(void)
{
	printf("Usage: fv-app [--config FILE]\n"
	       "The FertiVision FastCGI responder. It serves FastCGI on file descriptor 0, as\n"
	       "spawn-fcgi or a systemd socket provides it; run several for concurrency.\n\n");
	config_usage();
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Runs the matched route: authentication and authorization first, then the handler. A route
 * behind a login that changes data runs in one transaction with its audit rows; only a successful
 * (< 400) response commits it. Reads need no transaction: their audit row is written on its own
 * after the read succeeded, which saves two round trips on the most frequent requests. */
static enum fv_err
run_route(struct req *r)
{
	bool public = r->match.route->flags & R_PUBLIC;
	bool tx = !public && r->method != M_GET && r->method != M_HEAD;
	enum fv_err e;

	e = auth_authenticate(r);
	/* Health checks and the login page must answer even when credentials cannot be checked. */
	if (e == FV_EUNAVAIL && public)
		e = FV_OK;
	if (e != FV_OK || (e = auth_authorize(r)) != FV_OK || r->responded)
		return e;
	if (tx && (e = db_begin()) != FV_OK)
		return e;
	e = r->match.route->handler(r);
	if (e == FV_OK && tx && r->status < 400)
		e = db_commit();
	return e;
}

static void
serve(FCGX_Request *fcgx, struct arena *a, const struct fv_config *cfg, const struct tpl_set *tpl)
{
	struct req r;
	enum fv_err e;

	e = req_begin(&r, fcgx, a, cfg, tpl);
	if (e == FV_OK) {
		e = router_match(routes, nroutes, r.method, r.path, a, &r.match);
		if (r.match.route)
			r.page = (r.match.route->flags & R_PAGE) != 0;
	}
	if (e == FV_ENOTFOUND)
		r.err_msg = r.page ? "There is no page at this address." : "no such resource";
	if (e == FV_OK)
		e = run_route(&r);
	db_rollback(); /* whatever was not committed */
	if (e != FV_OK) {
		struct json_object *fields = r.err_fields;

		r.err_fields = NULL;
		resp_error(&r, e, r.err_msg, fields);
	}
	resp_send(&r);
	log_msg("%s %s %s %d %.1fms %s", r.request_id, r.method_name,
	        r.match.route ? r.match.route->pattern : "-", r.status, elapsed_ms(&r.start),
	        r.user ? r.user : "-");
	req_end(&r);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *config_path = NULL;
	struct fv_config cfg;
	struct tpl_set *tpl;
	struct storage *storage;
	struct arena *arena;
	FCGX_Request fcgx;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	log_set_program("fv-app");
	if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fv-app: %s\n", err);
		return 1;
	}
	if (log_open(cfg.log_file) != 0) {
		fprintf(stderr, "fv-app: cannot open log %s\n", cfg.log_file);
		return 1;
	}
	if (sodium_init() < 0 || (tpl = tpl_set_new()) == NULL || (arena = arena_new()) == NULL) {
		log_msg("start failed: out of memory or no randomness");
		return 1;
	}
	if (tpl_load_dir(tpl, cfg.templates_dir, err, sizeof(err)) != 0) {
		log_msg("templates: %s", err);
		return 1;
	}
	if (redis_init(cfg.redis_url) != 0) {
		log_msg("redis_url is malformed");
		return 1;
	}
	if (audit_init(cfg.audit_key_file, err, sizeof(err)) != 0) {
		log_msg("%s", err);
		return 1;
	}
	if (storage_open(cfg.storage_url, cfg.storage_keys_file, &storage, err, sizeof(err)) != 0 ||
	    filetype_init(err, sizeof(err)) != 0) {
		log_msg("%s", err);
		return 1;
	}
	db_init(cfg.database_url);
	health_init(storage);
	documents_init(storage);
	auth_init();
	admin_init();
	patients_init();
	signal(SIGPIPE, SIG_IGN);
	/* Connect now so the first request does not pay for it; failure is not fatal, the next
	 * request retries. */
	db_ensure();
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		log_msg("FastCGI initialisation failed");
		return 1;
	}
	log_msg("serving");
	while (FCGX_Accept_r(&fcgx) >= 0) {
		serve(&fcgx, arena, &cfg, tpl);
		FCGX_Finish_r(&fcgx);
		arena_reset(arena);
	}
	db_close();
	redis_close();
	tpl_set_free(tpl);
	storage_close(storage);
	filetype_close();
	arena_free(arena);
	config_free(&cfg);
	return 0;
}
