/* docfile.c: a stored document in an anonymous spool file (see docfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docfile.h"
#include "fileio.h"
#include "log.h"

struct sink {
	int fd;
	int err; /* errno of a failed write */
};

static int
to_file(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (fd_write_all(s->fd, p, n) != 0) {
		s->err = errno;
		return 1;
	}
	return 0;
}

/* An anonymous file; where O_TMPFILE is not supported, a named one unlinked at once. */
static int
anon_file(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	if (snprintf(path, sizeof(path), "%s/fv-worker.XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

enum fv_err
docfile_fetch(struct storage *st, const char *spool_dir, const char *sha256, int *fd, char *reason,
              size_t reasonlen)
{
	struct sink s = {-1, 0};
	const char *msg = NULL;
	enum fv_err e;

	*fd = -1;
	if ((s.fd = anon_file(spool_dir)) < 0) {
		log_msg("worker: spool %s: %s", spool_dir, strerror(errno));
		snprintf(reason, reasonlen, "the worker has no room to read the document");
		return FV_EUNAVAIL;
	}
	e = storage_get(st, sha256, 0, UINT64_MAX, to_file, &s, &msg);
	if (e == FV_OK && s.err != 0) {
		log_msg("worker: spool %s: %s", spool_dir, strerror(s.err));
		snprintf(reason, reasonlen, "the worker has no room to read the document");
		e = FV_EUNAVAIL;
	} else if (e == FV_EUNAVAIL) {
		snprintf(reason, reasonlen, "the document store could not be reached");
	} else if (e == FV_ENOTFOUND) {
		snprintf(reason, reasonlen, "the stored document is missing");
	} else if (e != FV_OK && msg && strcmp(msg, STORAGE_INTEGRITY_MSG) == 0) {
		snprintf(reason, reasonlen, "%s", STORAGE_INTEGRITY_MSG);
		e = FV_EINVAL;
	} else if (e != FV_OK) {
		snprintf(reason, reasonlen, "the document could not be read from the store");
		e = FV_EINTERNAL;
	}
	if (e != FV_OK) {
		close(s.fd);
		return e;
	}
	*fd = s.fd;
	return FV_OK;
}

void
docfile_path(int fd, char *out, size_t outlen)
{
	snprintf(out, outlen, "/proc/self/fd/%d", fd);
}
