/* crypt.h: the at-rest format of stored documents (libsodium secretstream in framed chunks) and
 * the storage keys that seal it. Used by storage.c; nothing here does I/O except the key file.
 *
 * Object format, version 1 (all of it is what a backend stores under "<sha256>"):
 *   header  48 bytes: "FVDS" | version 1 | 3 zero bytes | key id (16 bytes, NUL-padded) |
 *                     secretstream header (24 bytes)
 *   chunks  each: 4-byte big-endian length L of the sealed chunk, then L bytes
 *           (secretstream push of 0..CRYPT_CHUNK plaintext bytes, L = n + 17)
 * The first chunk's additional data is the 48-byte header followed by the 32-byte binary SHA-256
 * of the plaintext (the object's name), so a header edited or an object copied under another name
 * fails authentication; the last chunk carries TAG_FINAL, so truncation is detected; secretstream
 * chains the chunks, so none can be reordered, dropped or taken from another object. An empty
 * document is one empty final chunk. */
#ifndef FV_CRYPT_H
#define FV_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define CRYPT_CHUNK 65536u
#define CRYPT_HEADER_BYTES 48u
#define CRYPT_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CRYPT_FRAME_MAX (4u + CRYPT_CHUNK + CRYPT_ABYTES)
#define CRYPT_KEY_ID_SIZE 16 /* a key id is 1..15 of [A-Za-z0-9._-], NUL-terminated */
#define CRYPT_NAME_BYTES 32

/* --- keys ------------------------------------------------------------------------------------
 * A key file holds lines "<key id> <64 hex digits>" ('#' comments and blank lines allowed); the
 * last key is the current one, the others still open older objects. Loaded keys live in
 * sodium_malloc() memory (locked, guarded, zeroed when freed). */
struct keyring;

/* Loads path. Refuses a file others may read or write (chmod 600; group access is allowed for
 * a root:service 0640 setup), an empty one, a malformed line (named by number, never echoed) or a
 * repeated id. Returns 0 and *out (free with keyring_free), or -1 and a message in err. */
int keyring_load(const char *path, struct keyring **out, char *err, size_t errlen);
/* The key with this id, or NULL. On a miss the file is re-read if it changed since it was loaded
 * (another host rotated the keys), so a process opens objects sealed under a newer key without
 * a restart. The pointer is valid until the next keyring call. */
const unsigned char *keyring_find(struct keyring *kr, const char *id);
/* Re-reads the file if it changed and at least interval seconds passed since the last look. */
void keyring_refresh(struct keyring *kr, unsigned interval);
/* The current (last) key's id. */
const char *keyring_current_id(const struct keyring *kr);
void keyring_free(struct keyring *kr);

/* Creates path (mode 0600, O_EXCL: an existing file is never overwritten) with one new key. */
int keyring_file_create(const char *path, char *err, size_t errlen);
/* Appends a new key, which becomes the current one: the file is rewritten to a temporary file
 * beside it (same owner and mode) and renamed over, so a crash leaves the old or the new file. */
int keyring_file_add(const char *path, char *err, size_t errlen);

/* --- format ------------------------------------------------------------------------------------
 */

/* Size of the sealed object for a plaintext of plain_size bytes. */
uint64_t crypt_sealed_size(uint64_t plain_size);
/* Sealed bytes to read from the start to be able to authenticate plaintext [0, end). */
uint64_t crypt_sealed_prefix(uint64_t end);
/* The key id of a header whose fixed fields are well formed (magic, version, id). Returns 0 or -1.
 * Says nothing about authenticity: only opening the first chunk does. */
int crypt_header_key_id(const unsigned char hdr[CRYPT_HEADER_BYTES], char id[CRYPT_KEY_ID_SIZE]);

/* Sealing, one chunk at a time; the caller decides chunk sizes (<= CRYPT_CHUNK) and which is last.
 * begin() uses the keyring's current key and writes the object header and the key id; chunk()
 * writes one frame (at most CRYPT_FRAME_MAX bytes) and returns its length; end() wipes the state
 * (always call it after a successful begin). begin returns -1 only when memory runs out. */
struct crypt_seal {
	crypto_secretstream_xchacha20poly1305_state *st; /* sodium_malloc'ed */
	unsigned char ad[CRYPT_HEADER_BYTES + CRYPT_NAME_BYTES];
	bool first;
};
int crypt_seal_begin(struct crypt_seal *c, struct keyring *kr,
                     const unsigned char name[CRYPT_NAME_BYTES],
                     unsigned char header[CRYPT_HEADER_BYTES], char key_id[CRYPT_KEY_ID_SIZE]);
size_t crypt_seal_chunk(struct crypt_seal *c, const unsigned char *p, size_t n, bool final,
                        unsigned char *frame);
void crypt_seal_end(struct crypt_seal *c);

/* Opening, fed the sealed bytes in pieces of any size. Each chunk is authenticated before its
 * plaintext goes to out(arg, p, n, final); the final chunk is passed on only after the SHA-256 of
 * the whole plaintext matched the name. out returning non-zero stops the opening. */
typedef int (*crypt_out_fn)(void *arg, const unsigned char *p, size_t n, bool final);
struct crypt_open;

enum crypt_rc { CRYPT_BAD = -1, CRYPT_MORE = 0, CRYPT_STOP = 1 };

/* Returns NULL when memory runs out. The keyring must outlive the opener. */
struct crypt_open *crypt_open_new(struct keyring *kr, const unsigned char name[CRYPT_NAME_BYTES],
                                  crypt_out_fn out, void *arg);
/* CRYPT_MORE (keep feeding), CRYPT_STOP (out asked to stop) or CRYPT_BAD (integrity failure;
 * every later call is CRYPT_BAD too). */
enum crypt_rc crypt_open_feed(struct crypt_open *o, const unsigned char *p, size_t n);
/* At the end of the input: 0 when the object was whole (final chunk seen, nothing after it),
 * else -1. */
int crypt_open_finish(struct crypt_open *o);
/* Why the object failed, for the log (never content), or NULL. */
const char *crypt_open_problem(const struct crypt_open *o);
void crypt_open_free(struct crypt_open *o);

#endif
