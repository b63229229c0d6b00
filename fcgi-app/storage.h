/* storage.h: the document store. Uploads are sealed (crypt.h) under the current storage key and
 * stored under the lower-case hex SHA-256 of their plaintext, so identical uploads are stored
 * once; reads authenticate every chunk before passing it on. Both directions stream in 64 KiB
 * chunks: no call holds a whole document in memory.
 *
 * Backends, chosen by the URL:
 *   file:///var/lib/fertivision/documents
 *       objects at <root>/<aa>/<bb>/<sha>.fve, written to <root>/tmp, fsynced and renamed into
 *       place; directories are created 0700.
 *   s3://bucket?endpoint=http://127.0.0.1:4569&region=us-east-1
 *       object "<sha>.fve" in bucket, path-style, SigV4-signed by libcurl; endpoint defaults to
 *       https://s3.<region>.amazonaws.com, region to us-east-1. Credentials come from
 *       FV_S3_ACCESS_KEY_ID / FV_S3_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID /
 *       AWS_SECRET_ACCESS_KEY.
 *
 * Ownership: storage_open() gives the caller a struct storage that it releases with
 * storage_close(); it holds the keys (locked memory), about 300 KiB of buffers, and for S3 one
 * libcurl handle whose connection is kept alive between calls. One per process; not for use by
 * two threads at once. Strings passed in are only read during the call. A call needs about
 * 200 KiB more while it runs, whatever the document's size.
 *
 * Errors: functions return FV_OK or an fv_err and log the reason (never document content or
 * credentials): FV_EINVAL a malformed name (not 64 lower-case hex digits), FV_ENOTFOUND no such
 * object, FV_EUNAVAIL the backend cannot be reached or is full (try later), FV_EINTERNAL
 * anything else, including an object that fails its integrity check. */
#ifndef FV_STORAGE_H
#define FV_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errors.h"

#define STORAGE_KEY_ID_SIZE 16 /* a key id and its NUL */
#define STORAGE_INTEGRITY_MSG "the stored document failed its integrity check"

struct storage;

/* Receives plaintext (or, from storage_raw_get, sealed) bytes; returns 0 to go on, non-zero to
 * stop the transfer (the client went away). */
typedef int (*storage_sink)(void *arg, const void *p, size_t n);

/* Opens the store at url with the keys in keys_file (see storage_keyfile_create). For file://
 * creates the root if needed and sweeps temporary files left by crashed writers; for s3:// checks
 * the URL and credentials but does not connect (storage_ping does). Returns 0 and *out, or -1
 * with a message for the operator in err. */
int storage_open(const char *url, const char *keys_file, struct storage **out, char *err,
                 size_t errlen);

/* Seals the plaintext file src_path under the current key and stores it as sha256_hex, which
 * must be the SHA-256 of the file's bytes: it is checked while sealing, before the final chunk,
 * and a mismatch never completes an object (FV_EINTERNAL). Idempotent: when an object with that
 * name and the right sealed size exists it is left as it is, *existed is set and key_id is the
 * existing object's key; one of another size (a partial write some S3 look-alikes keep after an
 * aborted upload, a damaged file) is replaced. Otherwise key_id is the key used. */
enum fv_err storage_put(struct storage *s, const char *sha256_hex, const char *src_path,
                        char key_id[STORAGE_KEY_ID_SIZE], bool *existed);

/* Streams plaintext bytes [offset, offset + length) of object sha256_hex to sink (length
 * UINT64_MAX: to the end; a range past the end is cut at the end, so an offset at or past the
 * end delivers nothing and returns FV_OK). Every chunk is authenticated before any of its bytes
 * reach the sink, so the sink never sees a byte that was not stored by storage_put under this
 * name. A read that reaches the end also checks the plaintext's SHA-256 against the name before
 * the last chunk is passed on. The format cannot seek: a range is served by opening from the
 * start and skipping to offset (cheap at our sizes; reading stops once the range is served).
 * Returns FV_OK (also when the sink stopped the transfer: the caller knows why), FV_ENOTFOUND,
 * FV_EUNAVAIL, or FV_EINTERNAL; *msg (if msg is not NULL) gets a static message for the client:
 * STORAGE_INTEGRITY_MSG for a flipped byte, a truncated, swapped or renamed object. An error can
 * come after some bytes were delivered: a caller that already sent headers must then abort the
 * response rather than end it normally. */
enum fv_err storage_get(struct storage *s, const char *sha256_hex, uint64_t offset, uint64_t length,
                        storage_sink sink, void *arg, const char **msg);

/* FV_OK when the store is reachable and writable as far as can be told cheaply (for /health). */
enum fv_err storage_ping(struct storage *s);

/* Re-seals object sha256_hex under the current key if it is sealed under another, verifying it
 * whole first (an object that fails is left alone: FV_EINTERNAL). key_id gets the object's key
 * afterwards; *moved says whether it was re-sealed. For fv-admin rekey; the re-sealed copy goes
 * through a temporary sealed file in $TMPDIR (no plaintext touches the disk). */
enum fv_err storage_rekey(struct storage *s, const char *sha256_hex,
                          char key_id[STORAGE_KEY_ID_SIZE], bool *moved);

/* The sealed bytes as stored, unverified: for copying objects between backends (fv-admin) and for
 * tests. raw_put replaces any object of that name with the contents of src_path. */
enum fv_err storage_raw_get(struct storage *s, const char *sha256_hex, storage_sink sink,
                            void *arg);
enum fv_err storage_raw_put(struct storage *s, const char *sha256_hex, const char *src_path);

/* The id of the key new objects are sealed under; valid until the next storage call (the key
 * file may be re-read). */
const char *storage_current_key(struct storage *s);

void storage_close(struct storage *s);

/* Key files for fv-admin: lines "<key id> <64 hex digits>", mode 0600, the last line is the
 * current key (see crypt.h). create makes a new file with one key and never overwrites one; add
 * appends a new current key (rotation; old keys stay to open old objects until rekeyed). Running
 * processes notice the change: on a read of an object under a key they do not know, and within
 * a minute on put. Return 0, or -1 with a message in err. */
int storage_keyfile_create(const char *path, char *err, size_t errlen);
int storage_keyfile_add(const char *path, char *err, size_t errlen);

/* --- for the backends (storage-file.c, storage-s3.c) only ------------------------------------
 * A backend moves sealed bytes; it never sees a key or plaintext. */

/* Produces up to n sealed bytes into p: returns the count, 0 at the end, -1 on failure (the
 * producer keeps the reason). rewind restarts it from the first byte (a retried request);
 * returns 0 or -1. */
struct storage_source {
	ssize_t (*read)(void *arg, void *p, size_t n);
	int (*rewind)(void *arg);
	void *arg;
	uint64_t size; /* exact byte count read() produces */
};

struct storage_backend {
	/* Stores the source's bytes as object name. With replace false an existing object is kept
	 * and *existed set, as atomically as the backend allows. */
	enum fv_err (*put)(void *be, const char *name, const struct storage_source *src,
	                   bool replace, bool *existed);
	/* FV_OK and the object's size, FV_ENOTFOUND, or an error. */
	enum fv_err (*head)(void *be, const char *name, uint64_t *size);
	/* Passes the object's bytes [0, limit) (UINT64_MAX: all) to sink; FV_OK also when sink
	 * stopped it. */
	enum fv_err (*get)(void *be, const char *name, uint64_t limit, storage_sink sink,
	                   void *arg);
	enum fv_err (*ping)(void *be);
	void (*close)(void *be);
};

/* rest: the URL after "file://" or "s3://". Return 0 and *be, or -1 with a message in err. */
int storage_file_open(const char *rest, const struct storage_backend **ops, void **be, char *err,
                      size_t errlen);
int storage_s3_open(const char *rest, const struct storage_backend **ops, void **be, char *err,
                    size_t errlen);

#endif
