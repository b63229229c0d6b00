/* storage-file.c: the file-system backend of the document store (see storage.h): sealed objects
 * at <root>/<aa>/<bb>/<sha>.fve, written as <root>/tmp/.put-* files that are fsynced and then
 * renamed (or linked) into place, so a reader sees a whole object or none, and a crash leaves only
 * a temporary file, swept by age. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "fileio.h"
#include "storage.h"

#define TMP_PREFIX ".put-"
#define SWEEP_AGE                                                                                  \
	3600 /* seconds: no put takes this long; an older temporary file is a leftover             \
	      */
#define IO_BUF (256 * 1024)

struct file_be {
	char *root;
	size_t root_len;
	char *tmpdir;
	time_t last_sweep;
	unsigned char *buf; /* one I/O buffer for the process: calls do not overlap */
};

/* Errors that say the store is not there or full right now (a lost mount, a full disk) are
 * FV_EUNAVAIL, so the client is told to retry; the rest are ours to fix. */
static enum fv_err
io_error(const char *op, const char *path, int errnum)
{
	log_msg("storage: file %s %s: %s", op, path, strerror(errnum));
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
	case ENOENT:
	case ESTALE:
	case ENOTCONN:
	case ETIMEDOUT:
		return FV_EUNAVAIL;
	default:
		return FV_EINTERNAL;
	}
}

/* The root's length was checked at open, so the path always fits. */
static void
object_path(const struct file_be *f, const char *name, char path[PATH_MAX])
{
	int n = snprintf(path, PATH_MAX, "%s/%.2s/%.2s/%s.fve", f->root, name, name + 2, name);

	if (n < 0 || n >= PATH_MAX)
		abort();
}

/* fsync of a directory makes the entries created or renamed in it durable. */
static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Creates dir (0700) if missing; a new entry is made durable in its parent. */
static int
make_dir(const char *dir, const char *parent)
{
	if (mkdir(dir, 0700) == 0)
		return sync_dir(parent);
	return errno == EEXIST ? 0 : -1;
}

static void
sweep(struct file_be *f)
{
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d = opendir(f->tmpdir);

	f->last_sweep = now;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < SWEEP_AGE)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_msg("storage: removed %s/%s left by an interrupted write", f->tmpdir,
			        de->d_name);
	}
	closedir(d);
}

static enum fv_err
file_put(void *be, const char *name, const struct storage_source *src, bool replace, bool *existed)
{
	struct file_be *f = be;
	char tmp[PATH_MAX], aa[PATH_MAX], bb[PATH_MAX], path[PATH_MAX];
	uint64_t left = src->size;
	enum fv_err e = FV_EINTERNAL;
	bool have_tmp = false;
	int fd = -1;

	*existed = false;
	if (time(NULL) - f->last_sweep >= SWEEP_AGE)
		sweep(f);
	snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "XXXXXX", f->tmpdir);
	object_path(f, name, path);
	/* The two directory levels are prefixes of the path: "<root>/aa" and "<root>/aa/bb". */
	memcpy(aa, path, f->root_len + 3);
	aa[f->root_len + 3] = '\0';
	memcpy(bb, path, f->root_len + 6);
	bb[f->root_len + 6] = '\0';
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = io_error("create", tmp, errno);
		goto out;
	}
	have_tmp = true;
	for (;;) {
		ssize_t n = src->read(src->arg, f->buf, IO_BUF);

		if (n < 0)
			goto out; /* the source knows and tells why */
		if (n == 0)
			break;
		if ((uint64_t)n > left) {
			log_msg("storage: file put %s: more bytes than announced", name);
			goto out;
		}
		if (fd_write_all(fd, f->buf, (size_t)n) != 0) {
			e = io_error("write", tmp, errno);
			goto out;
		}
		left -= (uint64_t)n;
	}
	if (left != 0) {
		log_msg("storage: file put %s: fewer bytes than announced", name);
		goto out;
	}
	/* Data on disk before the name points at it: a crash cannot leave a named, empty file. */
	if (fsync(fd) != 0) {
		e = io_error("fsync", tmp, errno);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = io_error("close", tmp, errno);
		goto out;
	}
	fd = -1;
	if (make_dir(aa, f->root) != 0 || make_dir(bb, aa) != 0) {
		e = io_error("mkdir", bb, errno);
		goto out;
	}
	if (replace) {
		if (rename(tmp, path) != 0) {
			e = io_error("rename", path, errno);
			goto out;
		}
		have_tmp = false;
	} else if (link(tmp, path) != 0) {
		/* link() never replaces: of two writers of the same document, the first wins and
		 * the second reports that it existed. A file system without hard links gets a
		 * look and a rename: the window is tiny and either copy is a valid sealing. */
		int link_errno = errno;
		bool no_links = link_errno == EPERM || link_errno == EOPNOTSUPP;

		if (link_errno == EEXIST || (no_links && access(path, F_OK) == 0)) {
			*existed = true;
		} else if (no_links) {
			if (rename(tmp, path) != 0) {
				e = io_error("rename", path, errno);
				goto out;
			}
			have_tmp = false;
		} else {
			e = io_error("link", path, link_errno);
			goto out;
		}
	}
	if (!*existed && sync_dir(bb) != 0) {
		e = io_error("fsync", bb, errno);
		goto out;
	}
	e = FV_OK;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	return e;
}

static enum fv_err
file_head(void *be, const char *name, uint64_t *size)
{
	struct file_be *f = be;
	char path[PATH_MAX];
	struct stat st;

	object_path(f, name, path);
	if (stat(path, &st) != 0) {
		if (errno == ENOENT && stat(f->tmpdir, &st) == 0)
			return FV_ENOTFOUND;
		return io_error("stat", path, errno);
	}
	*size = (uint64_t)st.st_size;
	return FV_OK;
}

static enum fv_err
file_get(void *be, const char *name, uint64_t limit, storage_sink sink, void *arg)
{
	struct file_be *f = be;
	char path[PATH_MAX];
	uint64_t done = 0;
	enum fv_err e = FV_OK;
	struct stat st;
	int fd;

	object_path(f, name, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* A missing object in a store that is there; a missing store is unavailable. */
		if (errno == ENOENT && stat(f->tmpdir, &st) == 0)
			return FV_ENOTFOUND;
		return io_error("open", path, errno);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (done < limit) {
		size_t want = limit - done < IO_BUF ? (size_t)(limit - done) : IO_BUF;
		ssize_t n = read(fd, f->buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = io_error("read", path, errno);
			break;
		}
		if (n == 0 || sink(arg, f->buf, (size_t)n) != 0)
			break;
		done += (uint64_t)n;
	}
	close(fd);
	return e;
}

static enum fv_err
file_ping(void *be)
{
	struct file_be *f = be;
	struct stat st;

	if (stat(f->tmpdir, &st) != 0)
		return io_error("stat", f->tmpdir, errno);
	if (!S_ISDIR(st.st_mode) || access(f->tmpdir, W_OK | X_OK) != 0) {
		log_msg("storage: file %s: not a writable directory", f->tmpdir);
		return FV_EUNAVAIL;
	}
	return FV_OK;
}

static void
file_close(void *be)
{
	struct file_be *f = be;

	free(f->buf);
	free(f->root);
	free(f->tmpdir);
	free(f);
}

static const struct storage_backend file_ops = {
    .put = file_put, .head = file_head, .get = file_get, .ping = file_ping, .close = file_close};

/* mkdir -p with 0700 for what it creates; existing directories keep their modes. */
static int
make_path(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int
storage_file_open(const char *rest, const struct storage_backend **ops, void **be, char *err,
                  size_t errlen)
{
	struct file_be *f;
	struct stat st;
	size_t n = strlen(rest);

	if (rest[0] != '/' || n + 80 > PATH_MAX) {
		snprintf(err, errlen,
		         "storage_url file://PATH needs an absolute path "
		         "(file:///var/lib/fertivision/documents)");
		return -1;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->root = strdup(rest)) == NULL || (f->buf = malloc(IO_BUF)) == NULL)
		abort();
	while (n > 1 && f->root[n - 1] == '/')
		f->root[--n] = '\0';
	f->root_len = n;
	if (asprintf(&f->tmpdir, "%s/tmp", f->root) < 0)
		abort();
	if (make_path(f->tmpdir) != 0 || stat(f->tmpdir, &st) != 0) {
		snprintf(err, errlen, "storage directory %s: %s", f->tmpdir, strerror(errno));
		file_close(f);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(f->tmpdir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "storage directory %s: not a writable directory", f->tmpdir);
		file_close(f);
		return -1;
	}
	sweep(f);
	*ops = &file_ops;
	*be = f;
	return 0;
}
