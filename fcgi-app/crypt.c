/* crypt.c: the at-rest format of stored documents and the storage keys (see crypt.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypt.h"
#include "fileio.h"
#include "log.h"
#include "sha256.h"

#define MAGIC "FVDS"
#define VERSION 1
#define KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define ID_AT 8
#define SS_AT (ID_AT + CRYPT_KEY_ID_SIZE)
#define AD_BYTES (CRYPT_HEADER_BYTES + CRYPT_NAME_BYTES)
#define KEYFILE_MAX (1u << 20) /* thousands of rotations; anything bigger is not a key file */

_Static_assert(SS_AT + SS_HEADER == CRYPT_HEADER_BYTES, "header layout");

struct key_entry {
	char id[CRYPT_KEY_ID_SIZE];
	unsigned char key[KEY_BYTES];
};

struct keyring {
	char *path;
	struct key_entry *keys; /* sodium_malloc'ed, read-only once filled */
	size_t n;
	struct stat seen; /* the file as it was loaded, to notice a rotation */
	time_t checked;   /* CLOCK_MONOTONIC seconds of the last look at the file */
};

static bool
id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool
valid_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= CRYPT_KEY_ID_SIZE)
		return false;
	for (i = 0; i < n; i++)
		if (!id_char(s[i]))
			return false;
	return true;
}

static time_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Reads the whole key file into sodium_malloc'ed memory (*text, NUL-terminated; the caller
 * sodium_free()s it, which wipes it) after checking it is a private regular file. */
static int
read_keyfile(const char *path, char **text, struct stat *st, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	*text = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "storage key file %s: %s%s", path, strerror(errno),
		         errno == ENOENT ? " (create one with fv-admin)" : "");
		goto out;
	}
	if (fstat(fd, st) != 0) {
		snprintf(err, errlen, "storage key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > (off_t)KEYFILE_MAX) {
		snprintf(err, errlen, "storage key file %s: not a key file", path);
		goto out;
	}
	if (st->st_mode & S_IRWXO) {
		snprintf(err, errlen, "storage key file %s: others may access it (chmod 600)",
		         path);
		goto out;
	}
	buf = sodium_malloc((size_t)st->st_size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "storage key file %s: out of memory", path);
		goto out;
	}
	while (have < (size_t)st->st_size) {
		ssize_t r = read(fd, buf + have, (size_t)st->st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "storage key file %s: %s", path,
			         r < 0 ? strerror(errno) : "changed while being read");
			goto out;
		}
		have += (size_t)r;
	}
	buf[have] = '\0';
	*text = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf)
		sodium_free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Parses text (modified in place) into keys, which has room for max entries; *n gets the count.
 * With keys == NULL only counts the key lines. */
static int
parse_keys(char *text, struct key_entry *keys, size_t max, size_t *n, const char *path, char *err,
           size_t errlen)
{
	char *line = text, *next;
	int lineno = 0;

	*n = 0;
	for (; line != NULL && *line != '\0'; line = next) {
		char *id, *hex, *end;
		size_t idlen, hexlen, binlen, i;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if (keys == NULL) {
			(*n)++;
			continue;
		}
		id = line;
		idlen = strcspn(id, " \t");
		hex = id + idlen;
		while (*hex == ' ' || *hex == '\t')
			hex++;
		hexlen = strlen(hex);
		if (*n >= max || !valid_id(id, idlen) || hex == id + idlen ||
		    hexlen != KEY_BYTES * 2 ||
		    sodium_hex2bin(keys[*n].key, KEY_BYTES, hex, hexlen, NULL, &binlen, NULL) !=
		        0 ||
		    binlen != KEY_BYTES) {
			/* Never echo the line: it may hold key material. */
			snprintf(
			    err, errlen,
			    "storage key file %s line %d: expected \"<key id> <%d hex digits>\" "
			    "(key id: 1-15 of A-Z a-z 0-9 . _ -)",
			    path, lineno, KEY_BYTES * 2);
			return -1;
		}
		memcpy(keys[*n].id, id, idlen);
		keys[*n].id[idlen] = '\0';
		for (i = 0; i < *n; i++)
			if (strcmp(keys[i].id, keys[*n].id) == 0) {
				snprintf(err, errlen,
				         "storage key file %s line %d: key id %s repeated", path,
				         lineno, keys[*n].id);
				return -1;
			}
		(*n)++;
	}
	if (*n == 0) {
		snprintf(err, errlen, "storage key file %s: no key in it", path);
		return -1;
	}
	return 0;
}

/* Reads and parses kr->path; on success replaces kr's keys. */
static int
keyring_read(struct keyring *kr, char *err, size_t errlen)
{
	char *text = NULL, *copy = NULL;
	struct key_entry *keys = NULL;
	struct stat st;
	size_t count, n;
	int rc = -1;

	if (read_keyfile(kr->path, &text, &st, err, errlen) != 0)
		goto out;
	/* Counting writes NULs into the text, so the fill pass parses a fresh copy. */
	copy = sodium_malloc(strlen(text) + 1);
	if (copy == NULL) {
		snprintf(err, errlen, "storage key file %s: out of memory", kr->path);
		goto out;
	}
	memcpy(copy, text, strlen(text) + 1);
	if (parse_keys(copy, NULL, 0, &count, kr->path, err, errlen) != 0)
		goto out;
	keys = sodium_allocarray(count, sizeof(*keys));
	if (keys == NULL) {
		snprintf(err, errlen, "storage key file %s: out of memory", kr->path);
		goto out;
	}
	if (parse_keys(text, keys, count, &n, kr->path, err, errlen) != 0)
		goto out;
	sodium_mprotect_readonly(keys);
	if (kr->keys)
		sodium_free(kr->keys);
	kr->keys = keys;
	kr->n = n;
	kr->seen = st;
	keys = NULL;
	rc = 0;
out:
	if (keys)
		sodium_free(keys);
	if (copy)
		sodium_free(copy);
	if (text)
		sodium_free(text);
	return rc;
}

int
keyring_load(const char *path, struct keyring **out, char *err, size_t errlen)
{
	struct keyring *kr;

	*out = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	kr = calloc(1, sizeof(*kr));
	if (kr == NULL || (kr->path = strdup(path)) == NULL)
		abort();
	if (keyring_read(kr, err, errlen) != 0) {
		keyring_free(kr);
		return -1;
	}
	kr->checked = now_mono();
	*out = kr;
	return 0;
}

static bool
file_changed(const struct keyring *kr)
{
	struct stat st;

	if (stat(kr->path, &st) != 0)
		return false; /* keep the keys we have; a vanished file is not a rotation */
	return st.st_dev != kr->seen.st_dev || st.st_ino != kr->seen.st_ino ||
	       st.st_size != kr->seen.st_size || st.st_mtim.tv_sec != kr->seen.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != kr->seen.st_mtim.tv_nsec;
}

static void
reload(struct keyring *kr)
{
	char err[256];

	kr->checked = now_mono();
	if (!file_changed(kr))
		return;
	if (keyring_read(kr, err, sizeof(err)) != 0)
		log_msg("storage: %s; keeping the keys loaded before", err);
	else
		log_msg("storage: key file reloaded; current key %s", keyring_current_id(kr));
}

const unsigned char *
keyring_find(struct keyring *kr, const char *id)
{
	size_t i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < kr->n; i++)
			if (strcmp(kr->keys[i].id, id) == 0)
				return kr->keys[i].key;
		if (pass == 0)
			reload(kr);
	}
	return NULL;
}

void
keyring_refresh(struct keyring *kr, unsigned interval)
{
	if (now_mono() - kr->checked >= (time_t)interval)
		reload(kr);
}

const char *
keyring_current_id(const struct keyring *kr)
{
	return kr->keys[kr->n - 1].id;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	if (kr->keys)
		sodium_free(kr->keys);
	free(kr->path);
	free(kr);
}

/* "k<yyyymmdd>-<4 hex>": says when the key was made; the random part separates same-day keys. */
static void
new_key_line(char *line, size_t size, char id[CRYPT_KEY_ID_SIZE])
{
	unsigned char raw[KEY_BYTES];
	char hex[KEY_BYTES * 2 + 1], date[16];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(date, sizeof(date), "%Y%m%d", &tm) != 8)
		strcpy(date, "00000000");
	snprintf(id, CRYPT_KEY_ID_SIZE, "k%.8s-%04x", date, (unsigned)randombytes_uniform(0x10000));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	snprintf(line, size, "%s %s\n", id, hex);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(hex, sizeof(hex));
}

int
keyring_file_create(const char *path, char *err, size_t errlen)
{
	char line[CRYPT_KEY_ID_SIZE + KEY_BYTES * 2 + 4], id[CRYPT_KEY_ID_SIZE];
	int fd, rc = -1;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		         errno == EEXIST ? " (a key file is never overwritten: the documents "
		                           "depend on it; rotate with a new key instead)"
		                         : "");
		return -1;
	}
	new_key_line(line, sizeof(line), id);
	if (fd_write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(line, sizeof(line));
	return rc;
}

static void
fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		abort();
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int
keyring_file_add(const char *path, char *err, size_t errlen)
{
	char line[CRYPT_KEY_ID_SIZE + KEY_BYTES * 2 + 4], id[CRYPT_KEY_ID_SIZE];
	char *text = NULL, *tmp = NULL;
	struct keyring *kr = NULL;
	struct stat st;
	size_t len;
	int fd = -1, rc = -1;

	/* Load first: a broken file is reported, not extended. */
	if (keyring_load(path, &kr, err, errlen) != 0 ||
	    read_keyfile(path, &text, &st, err, errlen) != 0)
		goto out;
	do
		new_key_line(line, sizeof(line), id);
	while (keyring_find(kr, id) != NULL);
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		abort();
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* The replacement keeps the owner and mode of the old file (root rotating the key of a
	 * service user); chown fails harmlessly when we are that user. */
	if (fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM)
		goto io_err;
	if (fchmod(fd, st.st_mode & 0660) != 0)
		goto io_err;
	len = strlen(text);
	if (fd_write_all(fd, text, len) != 0 ||
	    (len > 0 && text[len - 1] != '\n' && fd_write_all(fd, "\n", 1) != 0) ||
	    fd_write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0)
		goto io_err;
	if (close(fd) != 0) {
		fd = -1;
		goto io_err;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto io_err;
	free(tmp);
	tmp = NULL;
	fsync_dir_of(path);
	rc = 0;
	goto out;
io_err:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (text)
		sodium_free(text);
	keyring_free(kr);
	sodium_memzero(line, sizeof(line));
	return rc;
}

uint64_t
crypt_sealed_size(uint64_t plain_size)
{
	uint64_t chunks = plain_size == 0 ? 1 : (plain_size - 1) / CRYPT_CHUNK + 1;

	return CRYPT_HEADER_BYTES + chunks * (4 + CRYPT_ABYTES) + plain_size;
}

uint64_t
crypt_sealed_prefix(uint64_t end)
{
	uint64_t chunks = end == 0 ? 1 : (end - 1) / CRYPT_CHUNK + 1;

	if (chunks > (UINT64_MAX - CRYPT_HEADER_BYTES) / CRYPT_FRAME_MAX)
		return UINT64_MAX;
	return CRYPT_HEADER_BYTES + chunks * CRYPT_FRAME_MAX;
}

int
crypt_header_key_id(const unsigned char hdr[CRYPT_HEADER_BYTES], char id[CRYPT_KEY_ID_SIZE])
{
	const char *p = (const char *)hdr + ID_AT;
	size_t n = strnlen(p, CRYPT_KEY_ID_SIZE), i;

	if (memcmp(hdr, MAGIC, 4) != 0 || hdr[4] != VERSION || hdr[5] || hdr[6] || hdr[7] ||
	    !valid_id(p, n))
		return -1;
	for (i = n; i < CRYPT_KEY_ID_SIZE; i++)
		if (p[i] != '\0')
			return -1;
	memcpy(id, p, n + 1);
	return 0;
}

int
crypt_seal_begin(struct crypt_seal *c, struct keyring *kr,
                 const unsigned char name[CRYPT_NAME_BYTES],
                 unsigned char header[CRYPT_HEADER_BYTES], char key_id[CRYPT_KEY_ID_SIZE])
{
	const struct key_entry *k = &kr->keys[kr->n - 1];

	c->st = sodium_malloc(sizeof(*c->st));
	if (c->st == NULL)
		return -1;
	memset(header, 0, CRYPT_HEADER_BYTES);
	memcpy(header, MAGIC, 4);
	header[4] = VERSION;
	memcpy(header + ID_AT, k->id, strlen(k->id));
	crypto_secretstream_xchacha20poly1305_init_push(c->st, header + SS_AT, k->key);
	memcpy(c->ad, header, CRYPT_HEADER_BYTES);
	memcpy(c->ad + CRYPT_HEADER_BYTES, name, CRYPT_NAME_BYTES);
	c->first = true;
	memcpy(key_id, k->id, strlen(k->id) + 1);
	return 0;
}

size_t
crypt_seal_chunk(struct crypt_seal *c, const unsigned char *p, size_t n, bool final,
                 unsigned char *frame)
{
	unsigned long long clen;

	crypto_secretstream_xchacha20poly1305_push(
	    c->st, frame + 4, &clen, p, n, c->first ? c->ad : NULL, c->first ? AD_BYTES : 0,
	    final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
	          : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	c->first = false;
	frame[0] = (unsigned char)(clen >> 24);
	frame[1] = (unsigned char)(clen >> 16);
	frame[2] = (unsigned char)(clen >> 8);
	frame[3] = (unsigned char)clen;
	return 4 + (size_t)clen;
}

void
crypt_seal_end(struct crypt_seal *c)
{
	if (c->st)
		sodium_free(c->st);
	c->st = NULL;
}

enum phase { P_HDR, P_LEN, P_BODY, P_END, P_BAD };

struct crypt_open {
	struct keyring *kr;
	crypt_out_fn out;
	void *arg;
	crypto_secretstream_xchacha20poly1305_state *st; /* sodium_malloc'ed */
	fv_sha256_state sha;
	enum phase phase;
	size_t have, need; /* bytes gathered toward the current piece, and its size */
	unsigned long long chunk;
	unsigned char ad[AD_BYTES]; /* the header as read, then the expected name */
	unsigned char len[4];
	char problem[128];
	unsigned char sealed[CRYPT_CHUNK + CRYPT_ABYTES];
	unsigned char plain[CRYPT_CHUNK];
};

struct crypt_open *
crypt_open_new(struct keyring *kr, const unsigned char name[CRYPT_NAME_BYTES], crypt_out_fn out,
               void *arg)
{
	struct crypt_open *o = malloc(sizeof(*o));

	if (o == NULL)
		return NULL;
	o->st = sodium_malloc(sizeof(*o->st));
	if (o->st == NULL) {
		free(o);
		return NULL;
	}
	o->kr = kr;
	o->out = out;
	o->arg = arg;
	fv_sha256_init(&o->sha);
	o->phase = P_HDR;
	o->have = 0;
	o->need = CRYPT_HEADER_BYTES;
	o->chunk = 0;
	memcpy(o->ad + CRYPT_HEADER_BYTES, name, CRYPT_NAME_BYTES);
	o->problem[0] = '\0';
	return o;
}

static enum crypt_rc
bad(struct crypt_open *o, const char *why)
{
	o->phase = P_BAD;
	snprintf(o->problem, sizeof(o->problem), "%s (chunk %llu)", why, o->chunk);
	return CRYPT_BAD;
}

/* Acts on a piece gathered whole: the header, a length or a sealed chunk. */
static enum crypt_rc
step(struct crypt_open *o)
{
	unsigned char digest[crypto_hash_sha256_BYTES], tag;
	unsigned long long mlen;
	const unsigned char *key;
	char id[CRYPT_KEY_ID_SIZE];
	uint32_t n;
	bool final;

	switch (o->phase) {
	case P_HDR:
		if (crypt_header_key_id(o->ad, id) != 0)
			return bad(o, "not a version 1 object header");
		key = keyring_find(o->kr, id);
		if (key == NULL) {
			snprintf(o->problem, sizeof(o->problem), "sealed under unknown key id %s",
			         id);
			o->phase = P_BAD;
			return CRYPT_BAD;
		}
		if (crypto_secretstream_xchacha20poly1305_init_pull(o->st, o->ad + SS_AT, key) != 0)
			return bad(o, "invalid stream header");
		o->phase = P_LEN;
		o->need = 4;
		return CRYPT_MORE;
	case P_LEN:
		n = (uint32_t)o->len[0] << 24 | (uint32_t)o->len[1] << 16 |
		    (uint32_t)o->len[2] << 8 | o->len[3];
		if (n < CRYPT_ABYTES || n > CRYPT_CHUNK + CRYPT_ABYTES)
			return bad(o, "impossible chunk length");
		o->phase = P_BODY;
		o->need = n;
		return CRYPT_MORE;
	case P_BODY:
		if (crypto_secretstream_xchacha20poly1305_pull(
		        o->st, o->plain, &mlen, &tag, o->sealed, o->need,
		        o->chunk == 0 ? o->ad : NULL, o->chunk == 0 ? AD_BYTES : 0) != 0)
			return bad(o, "chunk failed authentication");
		final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
		if (!final && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
			return bad(o, "unexpected chunk tag");
		fv_sha256_update(&o->sha, o->plain, mlen);
		if (final) {
			fv_sha256_final(&o->sha, digest);
			/* Only reachable if an object was sealed under the wrong name: put checks
			 * the hash, so this guards against a bug, not an attacker. */
			if (sodium_memcmp(digest, o->ad + CRYPT_HEADER_BYTES, sizeof(digest)) != 0)
				return bad(o, "content does not match its name");
			o->phase = P_END;
		} else {
			o->phase = P_LEN;
			o->need = 4;
		}
		o->chunk++;
		return o->out(o->arg, o->plain, (size_t)mlen, final) ? CRYPT_STOP : CRYPT_MORE;
	default:
		return CRYPT_BAD;
	}
}

enum crypt_rc
crypt_open_feed(struct crypt_open *o, const unsigned char *p, size_t n)
{
	while (n > 0) {
		unsigned char *dst;
		size_t take;
		enum crypt_rc rc;

		switch (o->phase) {
		case P_HDR:
			dst = o->ad;
			break;
		case P_LEN:
			dst = o->len;
			break;
		case P_BODY:
			dst = o->sealed;
			break;
		case P_END:
			return bad(o, "bytes after the final chunk");
		default:
			return CRYPT_BAD;
		}
		take = o->need - o->have < n ? o->need - o->have : n;
		memcpy(dst + o->have, p, take);
		o->have += take;
		p += take;
		n -= take;
		if (o->have < o->need)
			break;
		o->have = 0;
		rc = step(o);
		if (rc != CRYPT_MORE)
			return rc;
	}
	return o->phase == P_BAD ? CRYPT_BAD : CRYPT_MORE;
}

int
crypt_open_finish(struct crypt_open *o)
{
	if (o->phase == P_END)
		return 0;
	if (o->phase != P_BAD)
		bad(o, "object ends early (truncated)");
	return -1;
}

const char *
crypt_open_problem(const struct crypt_open *o)
{
	return o->problem[0] ? o->problem : NULL;
}

void
crypt_open_free(struct crypt_open *o)
{
	if (o == NULL)
		return;
	sodium_free(o->st);
	/* The buffers held document content: do not leave it in freed memory. */
	sodium_memzero(o->plain, sizeof(o->plain));
	sodium_memzero(&o->sha, sizeof(o->sha));
	free(o);
}
