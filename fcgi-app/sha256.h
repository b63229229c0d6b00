/* sha256.h: streaming SHA-256 for the document path (upload hash, seal check, verified download).
 * OpenSSL's implementation: it uses the CPU's SHA extensions (SHA-NI) or AVX2 where they exist and
 * is about 5x faster than libsodium's portable C code; the digests are the same. The low-level
 * SHA256_* calls are deprecated in OpenSSL 3 but kept, and need no allocation (EVP does). */
#ifndef FV_SHA256_H
#define FV_SHA256_H

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <stddef.h>

#include <openssl/sha.h>

typedef SHA256_CTX fv_sha256_state;

static inline void
fv_sha256_init(fv_sha256_state *s)
{
	SHA256_Init(s);
}

static inline void
fv_sha256_update(fv_sha256_state *s, const void *p, size_t n)
{
	SHA256_Update(s, p, n);
}

static inline void
fv_sha256_final(fv_sha256_state *s, unsigned char out[32])
{
	SHA256_Final(out, s);
}

#endif
