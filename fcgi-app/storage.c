/* storage.c: the document store's front: names, sealing on the way in, opening and range
 * serving on the way out, rekeying; the backends only move sealed bytes (see storage.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt.h"
#include "fileio.h"
#include "log.h"
#include "sha256.h"
#include "storage.h"

#define KEY_REFRESH_SECONDS 60

struct storage {
	const struct storage_backend *ops;
	void *be;
	struct keyring *kr;
};

/* A name is exactly 64 lower-case hex digits (also what keeps it safe in paths and URLs). */
static int
parse_name(const char *hex, unsigned char bin[CRYPT_NAME_BYTES])
{
	size_t i;

	if (hex == NULL)
		return -1;
	for (i = 0; i < CRYPT_NAME_BYTES * 2; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	if (hex[i] != '\0')
		return -1;
	return sodium_hex2bin(bin, CRYPT_NAME_BYTES, hex, i, NULL, NULL, NULL);
}

static enum fv_err
bad_name(const char *op)
{
	log_msg("storage: %s: the object name is not a lower-case hex SHA-256", op);
	return FV_EINVAL;
}

int
storage_open(const char *url, const char *keys_file, struct storage **out, char *err, size_t errlen)
{
	struct storage *s = calloc(1, sizeof(*s));
	int rc = -1;

	*out = NULL;
	if (s == NULL)
		abort();
	/* Keys first: a store is of no use without them, and a bad key file should not leave
	 * directories behind. */
	if (keyring_load(keys_file, &s->kr, err, errlen) != 0)
		goto out;
	if (strncmp(url, "file://", 7) == 0)
		rc = storage_file_open(url + 7, &s->ops, &s->be, err, errlen);
	else if (strncmp(url, "s3://", 5) == 0)
		rc = storage_s3_open(url + 5, &s->ops, &s->be, err, errlen);
	else
		snprintf(err, errlen, "storage_url must start with file:// or s3://");
out:
	if (rc != 0) {
		keyring_free(s->kr);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
storage_close(struct storage *s)
{
	if (s == NULL)
		return;
	if (s->ops)
		s->ops->close(s->be);
	keyring_free(s->kr);
	free(s);
}

const char *
storage_current_key(struct storage *s)
{
	return keyring_current_id(s->kr);
}

enum fv_err
storage_ping(struct storage *s)
{
	return s->ops->ping(s->be);
}

int
storage_keyfile_create(const char *path, char *err, size_t errlen)
{
	return keyring_file_create(path, err, errlen);
}

int
storage_keyfile_add(const char *path, char *err, size_t errlen)
{
	return keyring_file_add(path, err, errlen);
}

/* --- reading an object's header ----------------------------------------------------------------
 */

struct header_read {
	unsigned char hdr[CRYPT_HEADER_BYTES];
	size_t got;
};

/* Never asks to stop: the read is limited to the header anyway, and stopping an S3 transfer at
 * its last byte would still cost the kept-alive connection. */
static int
header_sink(void *arg, const void *p, size_t n)
{
	struct header_read *h = arg;
	size_t take = sizeof(h->hdr) - h->got < n ? sizeof(h->hdr) - h->got : n;

	memcpy(h->hdr + h->got, p, take);
	h->got += take;
	return 0;
}

/* FV_OK and the key id when the object exists with a well-formed header; FV_OK with key_id ""
 * when it exists but its header is not one; FV_ENOTFOUND; or the backend's error. */
static enum fv_err
object_key_id(struct storage *s, const char *name, char key_id[CRYPT_KEY_ID_SIZE])
{
	struct header_read h = {.got = 0};
	enum fv_err e = s->ops->get(s->be, name, CRYPT_HEADER_BYTES, header_sink, &h);

	key_id[0] = '\0';
	if (e == FV_OK && (h.got < sizeof(h.hdr) || crypt_header_key_id(h.hdr, key_id) != 0))
		key_id[0] = '\0';
	return e;
}

/* --- put: a source that seals a plaintext file as the backend pulls ----------------------------
 */

struct seal_src {
	struct keyring *kr;
	int fd;
	uint64_t size, done;
	unsigned char name[CRYPT_NAME_BYTES];
	struct crypt_seal seal;
	fv_sha256_state sha;
	char key_id[CRYPT_KEY_ID_SIZE];
	size_t pos, len; /* unread part of frame */
	bool sealed_last;
	const char *fail; /* why it stopped, for the log */
	int errnum;
	unsigned char plain[CRYPT_CHUNK];
	unsigned char frame[CRYPT_FRAME_MAX];
};

static int
seal_fail(struct seal_src *ss, const char *why, int errnum)
{
	ss->fail = why;
	ss->errnum = errnum;
	return -1;
}

static int
seal_rewind(void *arg)
{
	struct seal_src *ss = arg;

	if (lseek(ss->fd, 0, SEEK_SET) != 0)
		return seal_fail(ss, "cannot rewind the file", errno);
	crypt_seal_end(&ss->seal);
	/* A fresh header, so a retried upload never reuses a nonce with different bytes. */
	if (crypt_seal_begin(&ss->seal, ss->kr, ss->name, ss->frame, ss->key_id) != 0)
		return seal_fail(ss, "out of memory", 0);
	fv_sha256_init(&ss->sha);
	ss->done = 0;
	ss->pos = 0;
	ss->len = CRYPT_HEADER_BYTES;
	ss->sealed_last = false;
	ss->fail = NULL;
	return 0;
}

static int
seal_next(struct seal_src *ss)
{
	unsigned char digest[crypto_hash_sha256_BYTES], extra;
	size_t want =
	    ss->size - ss->done < CRYPT_CHUNK ? (size_t)(ss->size - ss->done) : CRYPT_CHUNK;
	ssize_t got = fd_read_full(ss->fd, ss->plain, want);
	bool final;

	if (got < 0)
		return seal_fail(ss, "cannot read the file", errno);
	if ((size_t)got != want)
		return seal_fail(ss, "the file shrank while being stored", 0);
	ss->done += want;
	final = ss->done == ss->size;
	fv_sha256_update(&ss->sha, ss->plain, want);
	if (final) {
		if (fd_read_full(ss->fd, &extra, 1) != 0)
			return seal_fail(ss, "the file grew while being stored", 0);
		fv_sha256_final(&ss->sha, digest);
		/* Checked before the final chunk is sealed: an object under a wrong name is never
		 * completed, so it can never be read back. */
		if (sodium_memcmp(digest, ss->name, sizeof(digest)) != 0)
			return seal_fail(ss, "the file's SHA-256 is not the object name", 0);
	}
	ss->len = crypt_seal_chunk(&ss->seal, ss->plain, want, final, ss->frame);
	ss->pos = 0;
	ss->sealed_last = final;
	return 0;
}

static ssize_t
seal_read(void *arg, void *p, size_t n)
{
	struct seal_src *ss = arg;
	size_t out = 0;

	while (out < n) {
		size_t take;

		if (ss->pos == ss->len) {
			if (ss->sealed_last)
				break;
			if (seal_next(ss) != 0)
				return -1;
		}
		take = ss->len - ss->pos < n - out ? ss->len - ss->pos : n - out;
		memcpy((unsigned char *)p + out, ss->frame + ss->pos, take);
		ss->pos += take;
		out += take;
	}
	return (ssize_t)out;
}

enum fv_err
storage_put(struct storage *s, const char *sha256_hex, const char *src_path,
            char key_id[STORAGE_KEY_ID_SIZE], bool *existed)
{
	struct seal_src *ss = NULL;
	struct storage_source src;
	struct stat st;
	uint64_t sealed, have = 0;
	bool replace = false, raced = false;
	enum fv_err e;

	*existed = false;
	key_id[0] = '\0';
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		abort();
	ss->fd = -1;
	if (parse_name(sha256_hex, ss->name) != 0) {
		e = bad_name("put");
		goto out;
	}
	keyring_refresh(s->kr, KEY_REFRESH_SECONDS);
	ss->kr = s->kr;
	ss->fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (ss->fd < 0 || fstat(ss->fd, &st) != 0) {
		log_msg("storage: put %s: %s: %s", sha256_hex, src_path, strerror(errno));
		e = FV_EINTERNAL;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_msg("storage: put %s: %s: not a regular file", sha256_hex, src_path);
		e = FV_EINTERNAL;
		goto out;
	}
	ss->size = (uint64_t)st.st_size;
	sealed = crypt_sealed_size(ss->size);
	/* Look before sealing: a document uploaded twice costs a HEAD and a small read. The same
	 * name means the same plaintext, hence the same sealed size: any other size is damage. */
	e = s->ops->head(s->be, sha256_hex, &have);
	if (e == FV_OK && have == sealed) {
		e = object_key_id(s, sha256_hex, key_id);
		if (e == FV_OK && key_id[0] != '\0') {
			*existed = true;
			goto out;
		}
		if (e != FV_OK && e != FV_ENOTFOUND)
			goto out;
	}
	if (e == FV_OK) {
		log_msg("storage: put %s: replacing a damaged object (%llu bytes, %llu expected%s)",
		        sha256_hex, (unsigned long long)have, (unsigned long long)sealed,
		        have == sealed ? ", bad header" : "");
		replace = true;
	} else if (e != FV_ENOTFOUND) {
		goto out;
	}
	e = FV_EINTERNAL;
	posix_fadvise(ss->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (seal_rewind(ss) != 0) {
		log_msg("storage: put %s: %s", sha256_hex, ss->fail);
		goto out;
	}
	src = (struct storage_source){
	    .read = seal_read, .rewind = seal_rewind, .arg = ss, .size = sealed};
	e = s->ops->put(s->be, sha256_hex, &src, replace, &raced);
	if (ss->fail) {
		log_msg("storage: put %s: %s%s%s", sha256_hex, ss->fail, ss->errnum ? ": " : "",
		        ss->errnum ? strerror(ss->errnum) : "");
		e = FV_EINTERNAL;
	} else if (e == FV_OK && raced) {
		/* Another writer stored the same document first; report its key. */
		*existed = true;
		e = object_key_id(s, sha256_hex, key_id);
	} else if (e == FV_OK) {
		memcpy(key_id, ss->key_id, sizeof(ss->key_id));
	}
out:
	if (ss->fd >= 0)
		close(ss->fd);
	crypt_seal_end(&ss->seal);
	sodium_memzero(ss->plain, sizeof(ss->plain));
	free(ss);
	return e;
}

/* --- get: open as the backend pushes, serve the range -------------------------------------------
 */

struct get_ctx {
	struct crypt_open *o;
	enum crypt_rc rc;
	uint64_t offset, end, pos; /* pos: plaintext offset of the next chunk */
	storage_sink sink;
	void *arg;
	bool stopped, served;
};

static int
get_out(void *arg, const unsigned char *p, size_t n, bool final)
{
	struct get_ctx *g = arg;
	uint64_t from = g->pos > g->offset ? g->pos : g->offset;
	uint64_t to = g->pos + n < g->end ? g->pos + n : g->end;

	(void) final;
	if (from < to && g->sink(g->arg, p + (from - g->pos), (size_t)(to - from)) != 0) {
		g->stopped = true;
		return 1;
	}
	g->pos += n;
	if (g->pos >= g->end) {
		g->served = true;
		return 1;
	}
	return 0;
}

static int
get_feed(void *arg, const void *p, size_t n)
{
	struct get_ctx *g = arg;

	/* Once the range is served the rest (up to the limit, normally nothing) is let through
	 * unread rather than stopped, which on S3 would drop the kept-alive connection. */
	if (g->served)
		return 0;
	g->rc = crypt_open_feed(g->o, p, n);
	if (g->rc == CRYPT_STOP && g->served)
		return 0;
	return g->rc != CRYPT_MORE;
}

static const char *
msg_for(enum fv_err e)
{
	switch (e) {
	case FV_OK:
		return NULL;
	case FV_ENOTFOUND:
		return "the stored document is missing";
	case FV_EUNAVAIL:
		return "the document storage is unavailable";
	default:
		return fv_err_message(e);
	}
}

static enum fv_err
integrity(const char *op, const char *name, const struct crypt_open *o)
{
	log_msg("storage: %s %s: integrity check failed: %s", op, name,
	        crypt_open_problem(o) ? crypt_open_problem(o) : "unknown");
	return FV_EINTERNAL;
}

enum fv_err
storage_get(struct storage *s, const char *sha256_hex, uint64_t offset, uint64_t length,
            storage_sink sink, void *arg, const char **msg)
{
	unsigned char name[CRYPT_NAME_BYTES];
	struct get_ctx g = {.offset = offset, .sink = sink, .arg = arg, .rc = CRYPT_MORE};
	uint64_t limit;
	bool bad = false;
	enum fv_err e;

	if (msg)
		*msg = NULL;
	if (parse_name(sha256_hex, name) != 0) {
		e = bad_name("get");
		goto out;
	}
	g.end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
	/* Only the chunks up to the range's end are fetched (an S3 Range request). */
	limit = g.end == UINT64_MAX ? UINT64_MAX : crypt_sealed_prefix(g.end);
	g.o = crypt_open_new(s->kr, name, get_out, &g);
	if (g.o == NULL)
		abort();
	e = s->ops->get(s->be, sha256_hex, limit, get_feed, &g);
	if (g.rc == CRYPT_BAD)
		bad = true;
	else if (g.stopped || g.served)
		e = FV_OK;
	else if (e == FV_OK && crypt_open_finish(g.o) != 0)
		bad = true;
	if (bad)
		e = integrity("get", sha256_hex, g.o);
out:
	if (msg)
		*msg = bad ? STORAGE_INTEGRITY_MSG : msg_for(e);
	crypt_open_free(g.o);
	return e;
}

/* --- sealed files: raw put and rekey -------------------------------------------------------------
 */

static ssize_t
fd_read(void *arg, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(*(int *)arg, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
fd_rewind(void *arg)
{
	return lseek(*(int *)arg, 0, SEEK_SET) == 0 ? 0 : -1;
}

static enum fv_err
put_fd(struct storage *s, const char *name, int fd, uint64_t size)
{
	struct storage_source src = {
	    .read = fd_read, .rewind = fd_rewind, .arg = &fd, .size = size};
	bool existed;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return FV_EINTERNAL;
	return s->ops->put(s->be, name, &src, true, &existed);
}

enum fv_err
storage_raw_get(struct storage *s, const char *sha256_hex, storage_sink sink, void *arg)
{
	unsigned char name[CRYPT_NAME_BYTES];

	if (parse_name(sha256_hex, name) != 0)
		return bad_name("raw get");
	return s->ops->get(s->be, sha256_hex, UINT64_MAX, sink, arg);
}

enum fv_err
storage_raw_put(struct storage *s, const char *sha256_hex, const char *src_path)
{
	unsigned char name[CRYPT_NAME_BYTES];
	struct stat st;
	enum fv_err e;
	int fd;

	if (parse_name(sha256_hex, name) != 0)
		return bad_name("raw put");
	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_msg("storage: raw put %s: %s: %s", sha256_hex, src_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return FV_EINTERNAL;
	}
	e = put_fd(s, sha256_hex, fd, (uint64_t)st.st_size);
	close(fd);
	return e;
}

struct rekey_ctx {
	struct crypt_open *o;
	enum crypt_rc rc;
	struct crypt_seal seal;
	int fd;
	int errnum; /* a write to the temporary file failed */
	unsigned char frame[CRYPT_FRAME_MAX];
};

/* Chunk boundaries are kept: each opened chunk is sealed again as one chunk with the same tag. */
static int
rekey_out(void *arg, const unsigned char *p, size_t n, bool final)
{
	struct rekey_ctx *r = arg;
	size_t len = crypt_seal_chunk(&r->seal, p, n, final, r->frame);

	if (fd_write_all(r->fd, r->frame, len) != 0) {
		r->errnum = errno;
		return 1;
	}
	return 0;
}

static int
rekey_feed(void *arg, const void *p, size_t n)
{
	struct rekey_ctx *r = arg;

	r->rc = crypt_open_feed(r->o, p, n);
	return r->rc != CRYPT_MORE;
}

enum fv_err
storage_rekey(struct storage *s, const char *sha256_hex, char key_id[STORAGE_KEY_ID_SIZE],
              bool *moved)
{
	unsigned char name[CRYPT_NAME_BYTES], header[CRYPT_HEADER_BYTES];
	char new_id[CRYPT_KEY_ID_SIZE], *tmp = NULL;
	const char *tmpdir = getenv("TMPDIR");
	struct rekey_ctx *r = calloc(1, sizeof(*r));
	enum fv_err e;
	off_t size;

	*moved = false;
	if (r == NULL)
		abort();
	r->fd = -1;
	if (parse_name(sha256_hex, name) != 0) {
		e = bad_name("rekey");
		goto out;
	}
	e = object_key_id(s, sha256_hex, key_id);
	if (e != FV_OK)
		goto out;
	if (key_id[0] == '\0') {
		log_msg("storage: rekey %s: integrity check failed: not a version 1 object header",
		        sha256_hex);
		e = FV_EINTERNAL;
		goto out;
	}
	if (strcmp(key_id, keyring_current_id(s->kr)) == 0)
		goto out;
	e = FV_EINTERNAL;
	if (asprintf(&tmp, "%s/fv-rekey-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0)
		abort();
	r->fd = mkostemp(tmp, O_CLOEXEC);
	if (r->fd < 0) {
		log_msg("storage: rekey %s: %s: %s", sha256_hex, tmp, strerror(errno));
		goto out;
	}
	/* Unlinked at once: nothing is left behind whatever happens next. */
	unlink(tmp);
	if (crypt_seal_begin(&r->seal, s->kr, name, header, new_id) != 0)
		abort();
	if (fd_write_all(r->fd, header, sizeof(header)) != 0) {
		r->errnum = errno;
		goto out;
	}
	r->o = crypt_open_new(s->kr, name, rekey_out, r);
	if (r->o == NULL)
		abort();
	e = s->ops->get(s->be, sha256_hex, UINT64_MAX, rekey_feed, r);
	/* Re-seal only what opens whole: a damaged object stays as it is, for inspection. */
	if (r->rc == CRYPT_BAD || (e == FV_OK && !r->errnum && crypt_open_finish(r->o) != 0)) {
		e = integrity("rekey", sha256_hex, r->o);
		goto out;
	}
	if (r->errnum || e != FV_OK) {
		e = e != FV_OK ? e : FV_EINTERNAL;
		goto out;
	}
	size = lseek(r->fd, 0, SEEK_CUR);
	if (size < 0 || fsync(r->fd) != 0) {
		r->errnum = errno;
		e = FV_EINTERNAL;
		goto out;
	}
	e = put_fd(s, sha256_hex, r->fd, (uint64_t)size);
	if (e == FV_OK) {
		memcpy(key_id, new_id, sizeof(new_id));
		*moved = true;
	}
out:
	if (r->errnum)
		log_msg("storage: rekey %s: temporary file: %s", sha256_hex, strerror(r->errnum));
	if (r->fd >= 0)
		close(r->fd);
	crypt_seal_end(&r->seal);
	crypt_open_free(r->o);
	free(r);
	free(tmp);
	return e;
}
