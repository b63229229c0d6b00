/* sandbox.c: one analysis in a limited child process (see sandbox.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "buf.h"
#include "fileio.h"
#include "sandbox.h"

#define MSG_MAGIC 0x46564131u /* "FVA1" */
#define CHILD_FD_SCAN 4096
/* After the child closed its pipe it only has to exit; this long at most. */
#define EXIT_GRACE_MS 5000

/* What the child writes: this header, then reason, analysis JSON and text. */
struct msg {
	uint32_t magic;
	uint32_t err;
	uint32_t reason_len;
	uint32_t json_len;
	uint32_t text_len;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child does not need the worker's connections (PostgreSQL, Redis, the store): no network. */
static void
close_sockets(int keep1, int keep2)
{
	struct stat st;
	int fd;

	for (fd = 3; fd < CHILD_FD_SCAN; fd++)
		if (fd != keep1 && fd != keep2 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			close(fd);
}

static void
limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};

	/* A limit that cannot be set leaves the child without it: better to fail the analysis. */
	if (setrlimit(resource, &rl) != 0)
		_exit(3);
}

static void __attribute__((noreturn))
child(int wfd, pid_t parent, const char *path, const char *content_type,
      const struct sandbox_limits *lim, bool want_text)
{
	char reason[512] = "";
	json_object *out = NULL;
	char *text = NULL;
	const char *json = "";
	size_t json_len = 0;
	struct msg m;
	enum fv_err e;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(2);
	prctl(PR_SET_NAME, "fv-analyze");
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* The worker's own signals are for the worker: SIGTERM means "finish this job". */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	close_sockets(wfd, -1);
	limit(RLIMIT_CORE, 0, 0);
	limit(RLIMIT_FSIZE, 0, 0);
	limit(RLIMIT_AS, lim->memory_bytes, lim->memory_bytes);
	/* The wall-clock limit is the parent's; this one catches a child that spins while the
	 * parent is stopped. SIGXCPU at the soft limit, SIGKILL at the hard one. */
	limit(RLIMIT_CPU, (rlim_t)lim->time_limit_s + 5, (rlim_t)lim->time_limit_s + 10);

	e = analysis_run(path, content_type, &lim->extract, &out, want_text ? &text : NULL, reason,
	                 sizeof(reason));
	if (e == FV_OK) {
		json = json_object_to_json_string_length(out, JSON_C_TO_STRING_PLAIN, &json_len);
		if (json == NULL)
			_exit(4);
	}
	m.magic = MSG_MAGIC;
	m.err = (uint32_t)e;
	m.reason_len = (uint32_t)strlen(reason);
	m.json_len = (uint32_t)json_len;
	m.text_len = e == FV_OK && text ? (uint32_t)strlen(text) : 0;
	if (fd_write_all(wfd, &m, sizeof(m)) != 0 || fd_write_all(wfd, reason, m.reason_len) != 0 ||
	    fd_write_all(wfd, json, m.json_len) != 0 || fd_write_all(wfd, text, m.text_len) != 0)
		_exit(5);
	/* No cleanup: the process ends here, and must not flush stdio buffers or run exit handlers
	 * inherited from the worker. */
	_exit(0);
}

/* Reads the child's answer until EOF, calling tick, within the deadline. Returns 0 at EOF, 1 when
 * the deadline passed, 2 when the answer is too long, -1 on a read error. */
static int
collect(int rfd, long long deadline, const struct sandbox_tick *tick, struct buf *b)
{
	long long next_tick = tick ? now_ms() + tick->every_ms : 0;
	char chunk[65536];

	for (;;) {
		long long now = now_ms(), until = deadline;
		struct pollfd p = {rfd, POLLIN, 0};
		ssize_t n;
		int rc;

		if (now >= deadline)
			return 1;
		if (tick && now >= next_tick) {
			tick->fn(tick->arg);
			next_tick = now_ms() + tick->every_ms;
		}
		if (tick && next_tick < until)
			until = next_tick;
		rc = poll(&p, 1, (int)(until - now > 0 ? until - now : 0));
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		n = read(rfd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > SANDBOX_MAX_OUTPUT + sizeof(struct msg) + 1024)
			return 2;
		buf_append(b, chunk, (size_t)n);
	}
}

/* Waits for the child; kills it if it has not exited by the deadline. */
static int
reap(pid_t pid, long long deadline)
{
	int status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct timespec ts = {0, 10 * 1000000};

		if (w == pid || (w < 0 && errno != EINTR))
			return status;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return status;
		}
		nanosleep(&ts, NULL);
	}
}

static enum fv_err
died(int status, const struct sandbox_limits *lim, char *reason, size_t reasonlen)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
		snprintf(reason, reasonlen, "the analysis used more than %ld s of processor time",
		         lim->time_limit_s);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		snprintf(reason, reasonlen,
		         "the analysis was stopped by the system (it may have run out of memory)");
	else if (WIFSIGNALED(status))
		snprintf(
		    reason, reasonlen,
		    "the analysis stopped unexpectedly (signal %d: %s); it may have run out of "
		    "memory (the limit is %zu MiB)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)), lim->memory_bytes >> 20);
	else
		snprintf(
		    reason, reasonlen,
		    "the analysis stopped unexpectedly (exit status %d); it may have run out of "
		    "memory (the limit is %zu MiB)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, lim->memory_bytes >> 20);
	return FV_EUNAVAIL;
}

/* Parses a complete answer; returns the analysis's own outcome. */
static enum fv_err
parse(const struct buf *b, bool want_text, json_object **out, char **text, char *reason,
      size_t reasonlen, bool *complete)
{
	const char *p = b->data;
	struct msg m;
	enum fv_err e;

	*complete = false;
	if (b->len < sizeof(m))
		return FV_EINTERNAL;
	memcpy(&m, p, sizeof(m));
	if (m.magic != MSG_MAGIC || m.err >= FV_ERR_COUNT ||
	    (uint64_t)m.reason_len + m.json_len + m.text_len != b->len - sizeof(m))
		return FV_EINTERNAL;
	*complete = true;
	p += sizeof(m);
	snprintf(reason, reasonlen, "%.*s", (int)m.reason_len, p);
	p += m.reason_len;
	e = (enum fv_err)m.err;
	if (e != FV_OK)
		return e == FV_EINVAL ? FV_EINVAL : FV_EINTERNAL;
	{
		json_tokener *tok = json_tokener_new();

		if (tok == NULL)
			abort();
		*out = json_tokener_parse_ex(tok, p, (int)m.json_len);
		if (json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(*out);
			*out = NULL;
		}
		json_tokener_free(tok);
	}
	if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		snprintf(reason, reasonlen, "the analysis answered with invalid JSON");
		return FV_EINTERNAL;
	}
	p += m.json_len;
	if (want_text) {
		*text = strndup(p, m.text_len);
		if (*text == NULL)
			abort();
	}
	return FV_OK;
}

enum fv_err
sandbox_analyze(const char *path, const char *content_type, const struct sandbox_limits *lim,
                bool want_text, const struct sandbox_tick *tick, json_object **out, char **text,
                char *reason, size_t reasonlen)
{
	long long start = now_ms(), deadline = start + (long long)lim->time_limit_s * 1000;
	struct buf b = {0};
	bool complete;
	int fds[2], got, status;
	pid_t parent = getpid(), pid;
	enum fv_err e;

	*out = NULL;
	if (text)
		*text = NULL;
	reason[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(reason, reasonlen, "pipe: %s", strerror(errno));
		return FV_EINTERNAL;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(reason, reasonlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return FV_EINTERNAL;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], parent, path, content_type, lim, want_text && text);
	}
	close(fds[1]);
	got = collect(fds[0], deadline, tick, &b);
	close(fds[0]);
	if (got != 0)
		kill(pid, SIGKILL);
	status = reap(pid, got == 0 ? now_ms() + EXIT_GRACE_MS : now_ms());
	if (got == 1) {
		snprintf(reason, reasonlen, "the analysis took longer than %ld s",
		         lim->time_limit_s);
		e = FV_EUNAVAIL;
	} else if (got == 2) {
		snprintf(reason, reasonlen, "the document's text is larger than %u MiB",
		         SANDBOX_MAX_OUTPUT >> 20);
		e = FV_EINVAL;
	} else if (got < 0) {
		snprintf(reason, reasonlen, "reading the analysis: %s", strerror(errno));
		e = FV_EINTERNAL;
	} else {
		e = parse(&b, want_text && text, out, text, reason, reasonlen, &complete);
		if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			json_object_put(*out);
			*out = NULL;
			if (text) {
				free(*text);
				*text = NULL;
			}
			e = died(status, lim, reason, reasonlen);
		}
	}
	buf_free(&b);
	return e;
}
