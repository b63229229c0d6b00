/* test-storage.c: the document store against a real backend: round trips, idempotence, ranges,
 * tampering, key rotation and memory use. Usage: test-storage URL KEYFILE, where URL is a file://
 * or s3:// store (see storage.h) and KEYFILE a path that does not exist yet (the test creates and
 * rotates it). Every run stores fresh documents (a random salt), so a store can be reused. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../unit/tap.h"
#include "crypt.h"
#include "log.h"
#include "storage.h"

#define CHUNK ((uint64_t)CRYPT_CHUNK)
#define MIB (1024 * 1024)

static unsigned char salt[32];
static char workdir[256];
static const char *url, *keys;

/* A test document: pseudo-random bytes (a ChaCha20 keystream), so any range of it can be
 * regenerated to compare against without keeping it in memory. */
struct doc {
	unsigned char key[crypto_stream_chacha20_KEYBYTES];
	uint64_t size;
	char sha[65];
	char path[300];
};

static void
fill(const struct doc *d, uint64_t off, unsigned char *p, size_t n)
{
	static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
	unsigned char block[64];
	size_t skip = (size_t)(off % 64), take;

	if (skip) {
		memset(block, 0, sizeof(block));
		crypto_stream_chacha20_xor_ic(block, block, 64, nonce, off / 64, d->key);
		take = 64 - skip < n ? 64 - skip : n;
		memcpy(p, block + skip, take);
		p += take;
		n -= take;
		off += take;
	}
	memset(p, 0, n);
	crypto_stream_chacha20_xor_ic(p, p, n, nonce, off / 64, d->key);
}

/* Makes document number id of size bytes as a file in the work directory and names it. */
static void
doc_make(struct doc *d, int id, uint64_t size)
{
	static unsigned char buf[CRYPT_CHUNK];
	unsigned char digest[32];
	crypto_hash_sha256_state sha;
	uint64_t off;
	int fd;

	crypto_generichash(d->key, sizeof(d->key), (const unsigned char *)&id, sizeof(id), salt,
	                   sizeof(salt));
	d->size = size;
	snprintf(d->path, sizeof(d->path), "%s/doc-%d", workdir, id);
	fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	crypto_hash_sha256_init(&sha);
	for (off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		fill(d, off, buf, n);
		crypto_hash_sha256_update(&sha, buf, n);
		if (write(fd, buf, n) != (ssize_t)n)
			abort();
	}
	close(fd);
	crypto_hash_sha256_final(&sha, digest);
	sodium_bin2hex(d->sha, sizeof(d->sha), digest, sizeof(digest));
}

/* A sink that compares what arrives with the document from a starting offset. */
struct check {
	const struct doc *d;
	uint64_t pos, got;
	bool wrong;
	unsigned calls, stop_after; /* stop_after 0: never stop */
};

static int
check_sink(void *arg, const void *p, size_t n)
{
	static unsigned char want[CRYPT_CHUNK];
	struct check *c = arg;
	const unsigned char *q = p;

	c->calls++;
	while (n > 0) {
		size_t take = n < sizeof(want) ? n : sizeof(want);
		if (c->pos + take > c->d->size) {
			c->wrong = true;
			return 1;
		}
		fill(c->d, c->pos, want, take);
		if (memcmp(want, q, take) != 0)
			c->wrong = true;
		c->pos += take;
		c->got += take;
		q += take;
		n -= take;
	}
	return c->stop_after && c->calls >= c->stop_after;
}

static int
count_sink(void *arg, const void *p, size_t n)
{
	(void)p;
	*(uint64_t *)arg += n;
	return 0;
}

/* Reads [off, off+len) of d; true when the call succeeds and exactly the right bytes (the range
 * cut at the end) arrived. */
static bool
range_ok(struct storage *s, const struct doc *d, uint64_t off, uint64_t len)
{
	struct check c = {.d = d, .pos = off};
	uint64_t end = len > d->size - (off < d->size ? off : d->size) ? d->size : off + len;
	uint64_t expect = off >= d->size ? 0 : end - off;
	enum fv_err e = storage_get(s, d->sha, off, len, check_sink, &c, NULL);

	if (e != FV_OK || c.wrong || c.got != expect)
		printf("#   range %llu+%llu: err %d, got %llu of %llu bytes%s\n",
		       (unsigned long long)off, (unsigned long long)len, e,
		       (unsigned long long)c.got, (unsigned long long)expect,
		       c.wrong ? ", WRONG BYTES" : "");
	return e == FV_OK && !c.wrong && c.got == expect;
}

static bool
roundtrip(struct storage *s, const struct doc *d)
{
	return range_ok(s, d, 0, UINT64_MAX);
}

/* Sealed copies of objects in files, to tamper with and put back raw. */
struct file_sink {
	int fd;
	uint64_t n;
};

static int
file_sink(void *arg, const void *p, size_t n)
{
	struct file_sink *f = arg;

	f->n += n;
	return write(f->fd, p, n) == (ssize_t)n ? 0 : 1;
}

static uint64_t
save_raw(struct storage *s, const char *sha, const char *path)
{
	struct file_sink f = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
	enum fv_err e = storage_raw_get(s, sha, file_sink, &f);

	close(f.fd);
	return e == FV_OK ? f.n : UINT64_MAX;
}

static bool
same_file(const char *a, const char *b)
{
	unsigned char x[65536], y[65536];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	bool same = fa >= 0 && fb >= 0;
	ssize_t n, m;

	while (same) {
		n = read(fa, x, sizeof(x));
		m = read(fb, y, sizeof(y));
		same = n == m && n >= 0 && memcmp(x, y, (size_t)(n > 0 ? n : 0)) == 0;
		if (n <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
copy_file(const char *from, const char *to)
{
	unsigned char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (in < 0 || out < 0)
		abort();
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

static void
flip_byte(const char *path, uint64_t at)
{
	unsigned char c;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0 || pread(fd, &c, 1, (off_t)at) != 1)
		abort();
	c ^= 0x01;
	if (pwrite(fd, &c, 1, (off_t)at) != 1)
		abort();
	close(fd);
}

/* Stores a damaged sealed copy as sha, reads it whole and expects the integrity error with only
 * correct bytes (a prefix of the document) delivered. Returns the plaintext bytes delivered, or
 * UINT64_MAX when the check failed. */
static uint64_t
damaged_read(struct storage *s, const struct doc *d, const char *sha, const char *sealed)
{
	struct check c = {.d = d};
	const char *msg = NULL;
	enum fv_err e;

	if (storage_raw_put(s, sha, sealed) != FV_OK)
		return UINT64_MAX;
	e = storage_get(s, sha, 0, UINT64_MAX, check_sink, &c, &msg);
	if (e != FV_EINTERNAL || msg == NULL || strcmp(msg, STORAGE_INTEGRITY_MSG) != 0 ||
	    c.wrong) {
		printf("#   err %d msg \"%s\"%s\n", e, msg ? msg : "(null)",
		       c.wrong ? ", WRONG BYTES" : "");
		return UINT64_MAX;
	}
	return c.got;
}

/* A line of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1. */
static long
proc_kib(const char *field)
{
	char line[256], fmt[64];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Resets the peak RSS to the current RSS (Linux 4.0+), so the next peak is this test's own. */
static void
reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			printf("# could not reset the peak RSS; the growth is measured from the "
			       "old peak\n");
		close(fd);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
file_contains(const char *path, const char *needle)
{
	static char buf[1 << 20];
	bool found;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	found = strstr(buf, needle) != NULL;
	return found;
}

static int
count_key_lines(const char *path)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#' && line[0] != '\n';
	fclose(f);
	return n;
}

static void
test_keyfiles(void)
{
	char err[512], path[300],
	    bad_hex[] = "k1 00112233445566778899aabbccddeeff00112233445566778899"
	                "aabbccddeeff001\n";
	struct storage *s = NULL;
	struct stat st;
	int fd;

	OK(storage_keyfile_create(keys, err, sizeof(err)) == 0, "key file created");
	OK(stat(keys, &st) == 0 && (st.st_mode & 0777) == 0600, "key file has mode 0600");
	OK(count_key_lines(keys) == 1, "a new key file holds one key");
	OK(storage_keyfile_create(keys, err, sizeof(err)) != 0 && strstr(err, "never overwritten"),
	   "an existing key file is never overwritten");

	snprintf(path, sizeof(path), "%s/missing.keys", workdir);
	OK(storage_open(url, path, &s, err, sizeof(err)) != 0 && strstr(err, "missing.keys"),
	   "open without the key file fails and names it");
	snprintf(path, sizeof(path), "%s/open.keys", workdir);
	copy_file(keys, path);
	chmod(path, 0644);
	OK(storage_open(url, path, &s, err, sizeof(err)) != 0 && strstr(err, "chmod 600"),
	   "a key file others may read is refused");
	snprintf(path, sizeof(path), "%s/bad.keys", workdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bad_hex, strlen(bad_hex)) < 0)
		abort();
	close(fd);
	OK(storage_open(url, path, &s, err, sizeof(err)) != 0 && strstr(err, "line 1") &&
	       !strstr(err, "00112233"),
	   "a malformed key line is refused by number, without echoing it");
	OK(storage_open("ftp://x", keys, &s, err, sizeof(err)) != 0,
	   "an unknown scheme is refused");
	OK(storage_open("file://relative/path", keys, &s, err, sizeof(err)) != 0,
	   "a relative file:// root is refused");
	OK(storage_open("s3://Bad_Bucket?endpoint=http://127.0.0.1:1", keys, &s, err,
	                sizeof(err)) != 0,
	   "a bad bucket name is refused");
	OK(storage_open("s3://bucket?endpoint=http://127.0.0.1:1&colour=blue", keys, &s, err,
	                sizeof(err)) != 0,
	   "an unknown s3:// parameter is refused");
}

/* The file backend's own promises: layout, modes, sweeping of crash leftovers. */
static void
test_file_layout(const struct doc *d)
{
	char path[600], tmp_old[700], tmp_new[600], err[256];
	const char *root = url + 7;
	struct timespec old[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
	struct storage *s;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s.fve", root, d->sha, d->sha + 2, d->sha);
	OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "file: object at aa/bb/sha.fve, 0600");
	snprintf(path, sizeof(path), "%s/%.2s/%.2s", root, d->sha, d->sha + 2);
	OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "file: directories are 0700");
	snprintf(tmp_old, sizeof(tmp_old), "%s/tmp/.put-crashed", root);
	snprintf(tmp_new, sizeof(tmp_new), "%s/tmp/.put-inflight", root);
	fd = open(tmp_old, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || futimens(fd, old) != 0)
		abort();
	close(fd);
	fd = open(tmp_new, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(fd);
	if (storage_open(url, keys, &s, err, sizeof(err)) != 0)
		abort();
	OK(access(tmp_old, F_OK) != 0 && access(tmp_new, F_OK) == 0,
	   "file: open sweeps old temporary files and keeps recent ones");
	unlink(tmp_new);
	storage_close(s);

	snprintf(path, sizeof(path), "%s/gone", workdir);
	snprintf(tmp_old, sizeof(tmp_old), "file://%s", path);
	if (storage_open(tmp_old, keys, &s, err, sizeof(err)) != 0)
		abort();
	rm_tree(path);
	OK(storage_ping(s) == FV_EUNAVAIL, "file: ping of a vanished store is unavailable");
	OK(storage_get(s, d->sha, 0, UINT64_MAX, check_sink, &(struct check){.d = d}, NULL) ==
	       FV_EUNAVAIL,
	   "file: get from a vanished store is unavailable");
	storage_close(s);
}

static void
test_unreachable_s3(const struct doc *d)
{
	char u[512], err[256], key_id[STORAGE_KEY_ID_SIZE];
	size_t blen = strcspn(url + 5, "?");
	struct storage *s;
	bool existed;

	snprintf(u, sizeof(u), "s3://%.*s?endpoint=http://127.0.0.1:1", (int)blen, url + 5);
	if (storage_open(u, keys, &s, err, sizeof(err)) != 0) {
		OK(0, err);
		return;
	}
	OK(storage_ping(s) == FV_EUNAVAIL, "s3: ping of an unreachable endpoint is unavailable");
	OK(storage_put(s, d->sha, d->path, key_id, &existed) == FV_EUNAVAIL,
	   "s3: put to an unreachable endpoint is unavailable");
	OK(storage_get(s, d->sha, 0, UINT64_MAX, check_sink, &(struct check){.d = d}, NULL) ==
	       FV_EUNAVAIL,
	   "s3: get from an unreachable endpoint is unavailable");
	storage_close(s);
}

int
main(int argc, char **argv)
{
	static const uint64_t sizes[] = {0,
	                                 1,
	                                 100,
	                                 CHUNK - 1,
	                                 CHUNK,
	                                 CHUNK + 1,
	                                 2 * CHUNK,
	                                 2 * CHUNK + 17,
	                                 3 * CHUNK - 1,
	                                 3 * CHUNK,
	                                 3 * CHUNK + 1,
	                                 5 * MIB};
	enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };
	struct doc docs[NSIZES], t, u, x, big;
	char err[512], key_id[STORAGE_KEY_ID_SIZE], k1[STORAGE_KEY_ID_SIZE], logpath[300];
	char sealed[300], work[300];
	struct storage *s = NULL, *s2 = NULL;
	const char *msg;
	uint64_t total, got, counted = 0, frame = 4 + CRYPT_CHUNK + CRYPT_ABYTES;
	bool existed, moved, all;
	size_t i;
	long hwm0, hwm1;
	double t0, t_put, t_get;
	struct check c;
	enum fv_err e;

	if (argc != 3) {
		fprintf(stderr, "usage: test-storage URL KEYFILE\n");
		return 2;
	}
	url = argv[1];
	keys = argv[2];
	if (sodium_init() < 0)
		return 2;
	randombytes_buf(salt, sizeof(salt));
	snprintf(workdir, sizeof(workdir), "%s/fv-storage-test.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(workdir) == NULL)
		return 2;
	/* The store's log goes to a file, to check afterwards what it does not contain. */
	snprintf(logpath, sizeof(logpath), "%s/storage.log", workdir);
	if (log_open(logpath) != 0)
		return 2;
	printf("# store %s\n", url);

	test_keyfiles();
	if (storage_open(url, keys, &s, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		OK(0, "store opens");
		return tap_done();
	}
	OK(storage_ping(s) == FV_OK, "ping");
	snprintf(k1, sizeof(k1), "%s", storage_current_key(s));

	/* Round trips, 0 to 3 chunks and 5 MiB. */
	all = true;
	for (i = 0; i < NSIZES; i++) {
		doc_make(&docs[i], (int)i, sizes[i]);
		e = storage_put(s, docs[i].sha, docs[i].path, key_id, &existed);
		if (e != FV_OK || existed || strcmp(key_id, k1) != 0) {
			printf("#   put size %llu: err %d existed %d key %s\n",
			       (unsigned long long)sizes[i], e, existed, key_id);
			all = false;
		}
	}
	OK(all, "put of 0..3 chunks and 5 MiB: new, under the current key");
	all = true;
	for (i = 0; i < NSIZES; i++)
		all &= roundtrip(s, &docs[i]);
	OK(all, "get returns every size byte for byte");
	all = true;
	for (i = 0; i < NSIZES; i++) {
		snprintf(sealed, sizeof(sealed), "%s/sealed", workdir);
		all &= save_raw(s, docs[i].sha, sealed) == crypt_sealed_size(sizes[i]);
	}
	OK(all, "sealed size is the header plus one framed chunk per 64 KiB");

	/* Idempotence. */
	snprintf(sealed, sizeof(sealed), "%s/before", workdir);
	snprintf(work, sizeof(work), "%s/after", workdir);
	save_raw(s, docs[5].sha, sealed);
	e = storage_put(s, docs[5].sha, docs[5].path, key_id, &existed);
	OK(e == FV_OK && existed && strcmp(key_id, k1) == 0, "second put reports that it existed");
	save_raw(s, docs[5].sha, work);
	OK(same_file(sealed, work), "second put leaves the stored object as it was");

	/* Names and missing objects. */
	OK(storage_put(s, "ABCDEF", docs[1].path, key_id, &existed) == FV_EINVAL,
	   "put with a malformed name is FV_EINVAL");
	{
		char upper[65];
		for (i = 0; i < 64; i++)
			upper[i] =
			    (char)(docs[1].sha[i] >= 'a' ? docs[1].sha[i] - 32 : docs[1].sha[i]);
		upper[64] = '\0';
		OK(storage_get(s, upper, 0, 1, check_sink, &(struct check){.d = &docs[1]}, &msg) ==
		       FV_EINVAL,
		   "get with an upper-case name is FV_EINVAL");
	}
	doc_make(&x, 100, 1000); /* never stored */
	e = storage_get(s, x.sha, 0, UINT64_MAX, check_sink, &(struct check){.d = &x}, &msg);
	OK(e == FV_ENOTFOUND && msg != NULL, "get of a missing object is FV_ENOTFOUND");
	e = storage_put(s, x.sha, docs[3].path, key_id, &existed);
	OK(e == FV_EINTERNAL, "put of a file whose SHA-256 is not the name fails");
	/* Nothing readable is stored (the file backend stores nothing; s3rver, unlike S3, keeps
	 * the part of an aborted upload, which lacks its final chunk). */
	c = (struct check){.d = &x};
	e = storage_get(s, x.sha, 0, UINT64_MAX, check_sink, &c, NULL);
	OK(e != FV_OK && c.got == 0, "... and leaves nothing readable");
	e = storage_put(s, x.sha, x.path, key_id, &existed);
	OK(e == FV_OK && !existed && roundtrip(s, &x),
	   "... and the right file then stores under that name");

	/* Ranges on a document of 3 chunks and 100 bytes. */
	doc_make(&t, 200, 3 * CHUNK + 100);
	storage_put(s, t.sha, t.path, key_id, &existed);
	OK(range_ok(s, &t, 0, 100), "range at the start");
	OK(range_ok(s, &t, 1000, 5000), "range in the middle of a chunk");
	OK(range_ok(s, &t, CHUNK - 10, 20), "range across one chunk boundary");
	OK(range_ok(s, &t, CHUNK - 1, CHUNK + 2), "range across two chunk boundaries");
	OK(range_ok(s, &t, 2 * CHUNK, CHUNK), "range of exactly one chunk");
	OK(range_ok(s, &t, 200000, UINT64_MAX), "range to the end");
	OK(range_ok(s, &t, t.size - 1, UINT64_MAX), "range of the last byte");
	OK(range_ok(s, &t, t.size - 10, 100), "range running past the end is cut at the end");
	OK(range_ok(s, &t, t.size, UINT64_MAX), "range at the end delivers nothing");
	OK(range_ok(s, &t, t.size + 10, 5), "range past the end delivers nothing");
	OK(range_ok(s, &t, 500, 0), "empty range delivers nothing");
	OK(range_ok(s, &docs[0], 0, UINT64_MAX), "empty document delivers nothing");
	c = (struct check){.d = &t, .stop_after = 1};
	e = storage_get(s, t.sha, 0, UINT64_MAX, check_sink, &c, NULL);
	OK(e == FV_OK && c.calls == 1 && !c.wrong, "a sink that stops ends the transfer");
	OK(roundtrip(s, &t), "the next get after a stopped one works");

	/* Tampering. The object t is sealed as: header 48 | frame 0 | frame 1 | frame 2 | frame 3
	 * (the last of 100 bytes). */
	snprintf(sealed, sizeof(sealed), "%s/t.sealed", workdir);
	snprintf(work, sizeof(work), "%s/t.work", workdir);
	total = save_raw(s, t.sha, sealed);
	{
		static const struct {
			uint64_t at;
			const char *what;
		} flips[] = {
		    {0, "a flipped byte in the magic"},
		    {10, "a flipped byte in the key id"},
		    {30, "a flipped byte in the stream header"},
		    {CRYPT_HEADER_BYTES + 3, "a flipped byte in a chunk length"},
		    {CRYPT_HEADER_BYTES + 4 + 10, "a flipped byte in the first chunk"},
		};
		for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
			copy_file(sealed, work);
			flip_byte(work, flips[i].at);
			OK(damaged_read(s, &t, t.sha, work) == 0, flips[i].what);
		}
	}
	copy_file(sealed, work);
	flip_byte(work, CRYPT_HEADER_BYTES + frame + 4 + 100);
	OK(damaged_read(s, &t, t.sha, work) == CHUNK,
	   "a flipped byte in the second chunk: only the first chunk is delivered");
	copy_file(sealed, work);
	flip_byte(work, total - 1);
	OK(damaged_read(s, &t, t.sha, work) == 3 * CHUNK,
	   "a flipped byte in the final chunk's tag: its bytes are withheld");
	copy_file(sealed, work);
	flip_byte(work, CRYPT_HEADER_BYTES + 2 * frame + 4 + 7);
	OK(damaged_read(s, &t, t.sha, work) == 2 * CHUNK, "a flipped byte in the third chunk");
	if (storage_raw_put(s, t.sha, work) == FV_OK) {
		OK(range_ok(s, &t, 10, 100), "a range before the damage is still served");
		c = (struct check){.d = &t, .pos = 2 * CHUNK + 5};
		OK(storage_get(s, t.sha, 2 * CHUNK + 5, 10, check_sink, &c, &msg) == FV_EINTERNAL &&
		       c.got == 0,
		   "a range in the damaged chunk fails and delivers nothing");
	}
	{
		static const struct {
			uint64_t keep; /* bytes kept, from the end when > total */
			const char *what;
		} cuts[] = {
		    {0, "an empty object"},
		    {20, "an object cut in the header"},
		    {CRYPT_HEADER_BYTES, "an object of only a header"},
		    {CRYPT_HEADER_BYTES + 4 + CRYPT_CHUNK + CRYPT_ABYTES,
		     "an object cut after its first chunk"},
		    {CRYPT_HEADER_BYTES + 3 * (4 + CRYPT_CHUNK + CRYPT_ABYTES),
		     "an object without its final chunk"},
		    {CRYPT_HEADER_BYTES + 4 + 1000, "an object cut inside a chunk"},
		};
		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			copy_file(sealed, work);
			if (truncate(work, (off_t)cuts[i].keep) != 0)
				abort();
			got = damaged_read(s, &t, t.sha, work);
			OK(got != UINT64_MAX && got <= cuts[i].keep, cuts[i].what);
		}
		copy_file(sealed, work);
		if (truncate(work, (off_t)total - 1) != 0)
			abort();
		OK(damaged_read(s, &t, t.sha, work) == 3 * CHUNK,
		   "an object missing its last byte");
	}
	e = storage_put(s, t.sha, t.path, key_id, &existed);
	OK(e == FV_OK && !existed && roundtrip(s, &t),
	   "put replaces a truncated object of the same name");
	copy_file(sealed, work);
	{
		int fd = open(work, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || write(fd, "x", 1) != 1)
			abort();
		close(fd);
	}
	OK(damaged_read(s, &t, t.sha, work) != UINT64_MAX, "bytes after the final chunk");
	{
		/* Swap the second and third chunk frames (same length). */
		unsigned char *a = malloc(frame), *b = malloc(frame);
		int fd;

		copy_file(sealed, work);
		fd = open(work, O_RDWR | O_CLOEXEC);
		if (!a || !b || fd < 0 ||
		    pread(fd, a, frame, CRYPT_HEADER_BYTES + frame) != (ssize_t)frame ||
		    pread(fd, b, frame, CRYPT_HEADER_BYTES + 2 * frame) != (ssize_t)frame ||
		    pwrite(fd, b, frame, CRYPT_HEADER_BYTES + frame) != (ssize_t)frame ||
		    pwrite(fd, a, frame, CRYPT_HEADER_BYTES + 2 * frame) != (ssize_t)frame)
			abort();
		close(fd);
		OK(damaged_read(s, &t, t.sha, work) == CHUNK, "two chunks swapped");
		/* A chunk taken from another object sealed under the same key. */
		doc_make(&u, 201, 3 * CHUNK + 100);
		storage_put(s, u.sha, u.path, key_id, &existed);
		snprintf(err, sizeof(err), "%s/u.sealed", workdir);
		save_raw(s, u.sha, err);
		copy_file(sealed, work);
		fd = open(err, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, a, frame, CRYPT_HEADER_BYTES + frame) != (ssize_t)frame)
			abort();
		close(fd);
		fd = open(work, O_RDWR | O_CLOEXEC);
		if (fd < 0 || pwrite(fd, a, frame, CRYPT_HEADER_BYTES + frame) != (ssize_t)frame)
			abort();
		close(fd);
		OK(damaged_read(s, &t, t.sha, work) == CHUNK, "a chunk from another object");
		free(a);
		free(b);
	}
	/* The whole of t, intact, stored under the name of x. */
	OK(damaged_read(s, &x, x.sha, sealed) == 0,
	   "an intact object stored under another name fails at once");
	OK(storage_raw_put(s, t.sha, sealed) == FV_OK && roundtrip(s, &t),
	   "the restored object reads again");

	/* Key rotation. */
	OK(storage_keyfile_add(keys, err, sizeof(err)) == 0, "a key is added");
	{
		struct stat st;
		OK(count_key_lines(keys) == 2 && stat(keys, &st) == 0 &&
		       (st.st_mode & 0777) == 0600,
		   "the key file holds two keys and is still 0600");
	}
	if (storage_open(url, keys, &s2, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		OK(0, "store opens with the rotated key file");
		goto done;
	}
	OK(strcmp(storage_current_key(s2), k1) != 0, "the new key is current");
	doc_make(&u, 300, 2 * CHUNK + 5);
	e = storage_put(s2, u.sha, u.path, key_id, &existed);
	OK(e == FV_OK && !existed && strcmp(key_id, storage_current_key(s2)) == 0,
	   "a new put uses the new key");
	OK(roundtrip(s2, &docs[6]), "an object under the old key still reads");
	OK(roundtrip(s, &u), "a process loaded before the rotation reads the new key's objects");
	e = storage_rekey(s2, docs[6].sha, key_id, &moved);
	OK(e == FV_OK && moved && strcmp(key_id, storage_current_key(s2)) == 0,
	   "rekey moves an object to the new key");
	OK(roundtrip(s2, &docs[6]), "the rekeyed object reads byte for byte");
	e = storage_put(s2, docs[6].sha, docs[6].path, key_id, &existed);
	OK(e == FV_OK && existed && strcmp(key_id, storage_current_key(s2)) == 0,
	   "put of the rekeyed document reports its new key");
	e = storage_rekey(s2, docs[6].sha, key_id, &moved);
	OK(e == FV_OK && !moved, "rekey of an object under the current key does nothing");
	all = true;
	for (i = 0; i < NSIZES; i++) {
		e = storage_rekey(s2, docs[i].sha, key_id, &moved);
		all &= e == FV_OK && roundtrip(s2, &docs[i]) && roundtrip(s, &docs[i]);
	}
	OK(all, "every size survives rekeying, read by old and new processes");
	OK(storage_rekey(s2, x.sha, key_id, &moved) == FV_EINTERNAL && !moved,
	   "rekey refuses an object that fails its check");
	OK(storage_rekey(s2, "00000000000000000000000000000000000000000000000000000000000000aa",
	                 key_id, &moved) == FV_ENOTFOUND,
	   "rekey of a missing object is FV_ENOTFOUND");
	copy_file(sealed, work);
	flip_byte(work, CRYPT_HEADER_BYTES + 2 * frame + 4 + 7);
	storage_raw_put(s2, t.sha, work);
	OK(storage_rekey(s2, t.sha, key_id, &moved) == FV_EINTERNAL && !moved,
	   "rekey leaves a damaged object alone");
	snprintf(err, sizeof(err), "%s/t.after", workdir);
	save_raw(s2, t.sha, err);
	OK(same_file(work, err), "... byte for byte");

	/* Backend specifics. */
	if (strncmp(url, "file://", 7) == 0)
		test_file_layout(&docs[3]);
	else
		test_unreachable_s3(&docs[3]);

	/* Memory: a 50 MiB document goes through without the process growing by its size. The
	 * timings are printed for the record, never asserted. */
	doc_make(&big, 400, 50 * MIB);
	printf("# VmHWM %ld kB, VmRSS %ld kB before the 50 MiB test\n", proc_kib("VmHWM"),
	       proc_kib("VmRSS"));
	reset_hwm();
	hwm0 = proc_kib("VmHWM");
	t0 = now_s();
	e = storage_put(s2, big.sha, big.path, key_id, &existed);
	t_put = now_s() - t0;
	OK(e == FV_OK && !existed, "50 MiB put");
	t0 = now_s();
	e = storage_get(s2, big.sha, 0, UINT64_MAX, count_sink, &counted, NULL);
	t_get = now_s() - t0;
	OK(e == FV_OK && counted == big.size, "50 MiB get");
	c = (struct check){.d = &big};
	e = storage_get(s2, big.sha, 0, UINT64_MAX, check_sink, &c, NULL);
	OK(e == FV_OK && !c.wrong && c.got == big.size, "50 MiB get, byte for byte");
	hwm1 = proc_kib("VmHWM");
	printf("# VmHWM %ld kB at the start, %ld kB after the 50 MiB put and gets (+%ld kB)\n",
	       hwm0, hwm1, hwm1 - hwm0);
	printf("# 50 MiB put %.3f s = %.1f MB/s, get %.3f s = %.1f MB/s (MB = 10^6 bytes)\n", t_put,
	       big.size / t_put / 1e6, t_get, big.size / t_get / 1e6);
	OK(hwm0 > 0 && hwm1 - hwm0 < 4096, "50 MiB put and get grow the peak RSS by under 4 MiB");
	unlink(big.path);

done:
	storage_close(s2);
	storage_close(s);
	OK(file_contains(logpath, "integrity check failed"), "integrity failures are logged");
	{
		/* Neither key material nor credentials reach the log. */
		char line[256];
		FILE *f = fopen(keys, "r");
		bool leaked = false;
		while (f && fgets(line, sizeof(line), f)) {
			char *hex = strchr(line, ' ');
			if (hex && strlen(hex + 1) > 64) {
				hex[1 + 64] = '\0';
				leaked |= file_contains(logpath, hex + 1);
			}
		}
		if (f)
			fclose(f);
		if (getenv("FV_S3_SECRET_ACCESS_KEY") && *getenv("FV_S3_SECRET_ACCESS_KEY"))
			leaked |= file_contains(logpath, getenv("FV_S3_SECRET_ACCESS_KEY"));
		OK(!leaked, "the log holds no key material or credentials");
	}
	if (tap_failed) {
		/* Kept for a look; its log explains the failures. */
		FILE *f = fopen(logpath, "r");
		char line[1024];
		printf("# work directory kept: %s; storage log:\n", workdir);
		while (f && fgets(line, sizeof(line), f))
			printf("#   %s", line);
		if (f)
			fclose(f);
	} else {
		if (!getenv("FV_KEEP_WORK"))
			rm_tree(workdir);
	}
	return tap_done();
}
