/* sandbox.h: runs one analysis (analysis_run) in a forked child, so that a hostile or broken file
 * can cost the child its life but never the worker. The child gets limits on address space
 * (RLIMIT_AS), processor time (RLIMIT_CPU), file writes (none) and core dumps (none), closes every
 * network socket it inherited, dies with its parent, and writes its outcome to a pipe; the parent
 * enforces a wall-clock limit (SIGKILL) and keeps calling tick (the worker's heartbeat) while it
 * waits. The parent must have called extract_init() before, so the child does not load the OCR
 * model again.
 *
 * Ownership: on FV_OK *out is the analysis (json_object_put) and *text, when asked for, the
 * extracted text (free), else NULL.
 * Errors, with reason:
 *   FV_EINVAL   the file cannot be analysed (hostile, corrupt, over a limit): a reason for people,
 *               permanent.
 *   FV_EUNAVAIL the child crashed, was killed or took too long ("the analysis took longer than
 *               120 s"): a reason for people; trying again may work.
 *   FV_EINTERNAL anything else (no fork, an internal error of the analysis): reason for the log. */
#ifndef FV_SANDBOX_H
#define FV_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "errors.h"
#include "extract.h"

/* A child's answer (analysis and text) larger than this is refused: no real document has one. */
#define SANDBOX_MAX_OUTPUT (64u << 20)

struct sandbox_limits {
	struct extract_limits extract;
	long time_limit_s;   /* wall clock */
	size_t memory_bytes; /* RLIMIT_AS of the child */
};

struct sandbox_tick {
	void (*fn)(void *arg);
	void *arg;
	long every_ms;
};

/* path: a file the child can open (for the worker, /proc/self/fd/N of an inherited descriptor);
 * tick may be NULL. */
enum fv_err sandbox_analyze(const char *path, const char *content_type,
                            const struct sandbox_limits *lim, bool want_text,
                            const struct sandbox_tick *tick, json_object **out, char **text,
                            char *reason, size_t reasonlen);

#endif
