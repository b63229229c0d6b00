/* storage-s3.c: the S3 backend of the document store (see storage.h): path-style requests
 * (<endpoint>/<bucket>/<sha>.fve) signed with AWS SigV4 by libcurl, streaming both ways through
 * one easy handle per process so the connection is kept alive between calls. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "log.h"
#include "storage.h"

#define CONNECT_TIMEOUT 5L
#define PING_TIMEOUT 5L
/* A transfer slower than this for this long is a stall, not a slow link: give up. No total
 * timeout, since a 50 MiB document over a slow link may rightly take minutes. */
#define STALL_BYTES_PER_S 1024L
#define STALL_SECONDS 30L
#define XFER_BUF (256L * 1024)

struct s3_be {
	CURL *curl;
	bool curl_global; /* curl_global_init() to be balanced */
	char *endpoint;   /* scheme://host[:port][/path], no trailing '/' */
	char *bucket;
	char *sigv4; /* "aws:amz:<region>:s3" */
	char *user, *pass;
	char errbuf[CURL_ERROR_SIZE];
	char body[512]; /* start of an error response, for its <Code> */
	size_t body_len;
};

/* One request's state, shared with the callbacks. */
struct xfer {
	struct s3_be *b;
	long status;
	storage_sink sink; /* GET: where a 2xx body goes */
	void *arg;
	bool stopped;                     /* the sink asked to stop */
	const struct storage_source *src; /* PUT */
	bool src_failed;
};

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, take;

	if (x->status == 0)
		curl_easy_getinfo(x->b->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->sink && (x->status == 200 || x->status == 206)) {
		if (x->sink(x->arg, p, n) != 0) {
			x->stopped = true;
			return 0; /* makes curl stop with CURLE_WRITE_ERROR */
		}
		return n;
	}
	/* Anything else is an S3 error document (or an empty PUT reply): keep its start. */
	take = sizeof(x->b->body) - 1 - x->b->body_len;
	take = n < take ? n : take;
	memcpy(x->b->body + x->b->body_len, p, take);
	x->b->body_len += take;
	x->b->body[x->b->body_len] = '\0';
	return n;
}

static size_t
on_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	ssize_t n = x->src->read(x->src->arg, p, size * nmemb);

	if (n < 0) {
		x->src_failed = true;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

/* curl rewinds the upload when it must send it again (a kept-alive connection that the server
 * had closed): the source restarts from its first byte. */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;

	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	return x->src->rewind(x->src->arg) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

/* Resets the handle (its connection cache survives) and sets what every request needs. The
 * caller frees the returned header list after the request. */
static struct curl_slist *
prepare(struct s3_be *b, const char *url, struct xfer *x, uint64_t limit)
{
	char range[64];
	struct curl_slist *h;

	curl_easy_reset(b->curl);
	b->errbuf[0] = '\0';
	b->body_len = 0;
	b->body[0] = '\0';
	/* s3rver (tests) requires the header; S3 accepts it: the payload is not hashed into the
	 * signature, which lets an upload stream without being read twice. libcurl signs with
	 * the value given here. */
	h = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (h && limit != UINT64_MAX) {
		snprintf(range, sizeof(range), "Range: bytes=0-%llu",
		         (unsigned long long)(limit - 1));
		h = curl_slist_append(h, range);
	}
	if (h == NULL)
		abort();
	curl_easy_setopt(b->curl, CURLOPT_URL, url);
	curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(b->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(b->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(b->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(b->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(b->curl, CURLOPT_LOW_SPEED_LIMIT, STALL_BYTES_PER_S);
	curl_easy_setopt(b->curl, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	curl_easy_setopt(b->curl, CURLOPT_AWS_SIGV4, b->sigv4);
	curl_easy_setopt(b->curl, CURLOPT_USERNAME, b->user);
	curl_easy_setopt(b->curl, CURLOPT_PASSWORD, b->pass);
	curl_easy_setopt(b->curl, CURLOPT_ERRORBUFFER, b->errbuf);
	curl_easy_setopt(b->curl, CURLOPT_BUFFERSIZE, XFER_BUF);
	curl_easy_setopt(b->curl, CURLOPT_UPLOAD_BUFFERSIZE, XFER_BUF);
	curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, x);
	x->b = b;
	return h;
}

/* The <Code> of an S3 error document, or "". */
static void
error_code(const char *body, char *code, size_t size)
{
	const char *p = strstr(body, "<Code>");
	size_t n = 0;

	if (p)
		for (p += 6; n + 1 < size && isalnum((unsigned char)p[n]); n++)
			code[n] = p[n];
	code[n] = '\0';
}

/* Runs the prepared request and maps the outcome: FV_OK for 2xx (and for a transfer the sink
 * stopped), FV_ENOTFOUND for 404 NoSuchKey, FV_EUNAVAIL when S3 cannot be reached, stalls or
 * answers 5xx/429, FV_EINTERNAL for the rest (credentials, bucket, protocol), which is logged. */
static enum fv_err
perform(struct s3_be *b, const char *method, const char *what, struct xfer *x)
{
	CURLcode rc = curl_easy_perform(b->curl);
	char code[64];

	curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (rc != CURLE_OK) {
		if (x->stopped)
			return FV_OK;
		if (x->src_failed)
			return FV_EINTERNAL; /* the source logs why */
		log_msg("storage: s3 %s %s: %s", method, what,
		        b->errbuf[0] ? b->errbuf : curl_easy_strerror(rc));
		switch (rc) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SEND_FAIL_REWIND:
			return FV_EUNAVAIL;
		default:
			return FV_EINTERNAL;
		}
	}
	error_code(b->body, code, sizeof(code));
	if (x->status >= 200 && x->status < 300)
		return FV_OK;
	/* The object is shorter than the range (only an empty, hence damaged, one can be): no
	 * bytes, and the opener reports the truncation. */
	if (x->status == 416)
		return FV_OK;
	if (x->status == 404 && strcmp(code, "NoSuchBucket") != 0)
		return FV_ENOTFOUND;
	log_msg("storage: s3 %s %s: HTTP %ld%s%s", method, what, x->status, code[0] ? " " : "",
	        code);
	return x->status >= 500 || x->status == 429 ? FV_EUNAVAIL : FV_EINTERNAL;
}

static enum fv_err
s3_put(void *be, const char *name, const struct storage_source *src, bool replace, bool *existed)
{
	struct s3_be *b = be;
	struct xfer x = {.src = src};
	struct curl_slist *h;
	char url[1024], what[160];
	enum fv_err e;

	/* S3 has no portable put-if-absent: storage.c looks first, and two writers racing on the
	 * same name both write a valid sealing of the same bytes, so the last one winning is
	 * harmless. */
	(void)replace;
	*existed = false;
	snprintf(url, sizeof(url), "%s/%s/%s.fve", b->endpoint, b->bucket, name);
	snprintf(what, sizeof(what), "%s/%s.fve", b->bucket, name);
	h = prepare(b, url, &x, UINT64_MAX);
	curl_easy_setopt(b->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(b->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)src->size);
	curl_easy_setopt(b->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(b->curl, CURLOPT_READDATA, &x);
	curl_easy_setopt(b->curl, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(b->curl, CURLOPT_SEEKDATA, &x);
	e = perform(b, "PUT", what, &x);
	if (e == FV_ENOTFOUND) {
		log_msg("storage: s3 PUT %s: HTTP 404", what);
		e = FV_EINTERNAL;
	}
	curl_slist_free_all(h);
	return e;
}

static enum fv_err
s3_head(void *be, const char *name, uint64_t *size)
{
	struct s3_be *b = be;
	struct xfer x = {0};
	struct curl_slist *h;
	char url[1024], what[160];
	curl_off_t len = -1;
	enum fv_err e;

	snprintf(url, sizeof(url), "%s/%s/%s.fve", b->endpoint, b->bucket, name);
	snprintf(what, sizeof(what), "%s/%s.fve", b->bucket, name);
	h = prepare(b, url, &x, UINT64_MAX);
	curl_easy_setopt(b->curl, CURLOPT_NOBODY, 1L);
	e = perform(b, "HEAD", what, &x);
	if (e == FV_OK &&
	    (curl_easy_getinfo(b->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK ||
	     len < 0)) {
		log_msg("storage: s3 HEAD %s: no Content-Length in the answer", what);
		e = FV_EINTERNAL;
	}
	if (e == FV_OK)
		*size = (uint64_t)len;
	curl_slist_free_all(h);
	return e;
}

static enum fv_err
s3_get(void *be, const char *name, uint64_t limit, storage_sink sink, void *arg)
{
	struct s3_be *b = be;
	struct xfer x = {.sink = sink, .arg = arg};
	struct curl_slist *h;
	char url[1024], what[160];
	enum fv_err e;

	snprintf(url, sizeof(url), "%s/%s/%s.fve", b->endpoint, b->bucket, name);
	snprintf(what, sizeof(what), "%s/%s.fve", b->bucket, name);
	h = prepare(b, url, &x, limit);
	e = perform(b, "GET", what, &x);
	curl_slist_free_all(h);
	return e;
}

static enum fv_err
s3_ping(void *be)
{
	struct s3_be *b = be;
	struct xfer x = {0};
	struct curl_slist *h;
	char url[1024];
	enum fv_err e;

	snprintf(url, sizeof(url), "%s/%s", b->endpoint, b->bucket);
	h = prepare(b, url, &x, UINT64_MAX);
	curl_easy_setopt(b->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(b->curl, CURLOPT_TIMEOUT, PING_TIMEOUT);
	e = perform(b, "HEAD", b->bucket, &x);
	if (e == FV_ENOTFOUND) {
		log_msg("storage: s3 HEAD %s: no such bucket", b->bucket);
		e = FV_EINTERNAL;
	}
	curl_slist_free_all(h);
	return e;
}

static void
wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static void
s3_close(void *be)
{
	struct s3_be *b = be;

	if (b->curl)
		curl_easy_cleanup(b->curl);
	if (b->curl_global)
		curl_global_cleanup();
	free(b->endpoint);
	free(b->bucket);
	free(b->sigv4);
	wipe_free(b->user);
	wipe_free(b->pass);
	free(b);
}

static const struct storage_backend s3_ops = {
    .put = s3_put, .head = s3_head, .get = s3_get, .ping = s3_ping, .close = s3_close};

static const char *
env_first(const char *a, const char *b)
{
	const char *v = getenv(a);

	return v && *v ? v : getenv(b);
}

/* Out of memory at start-up is not worth handling (the same policy as buf.h). */
static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static bool
all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* Parses "bucket?endpoint=URL&region=NAME" (values may be %-encoded). */
static int
parse_url(struct s3_be *b, const char *rest, char *err, size_t errlen)
{
	char *copy = xstrdup(rest), *q, *param, *save = NULL, *region = NULL;
	size_t n;
	int rc = -1;

	q = strchr(copy, '?');
	if (q)
		*q++ = '\0';
	if (!all_of(copy, LOWER_DIGITS ".-") || strlen(copy) < 3 || strlen(copy) > 63) {
		snprintf(err, errlen,
		         "storage_url s3://BUCKET: the bucket name must be 3-63 of "
		         "a-z 0-9 . -");
		goto out;
	}
	b->bucket = xstrdup(copy);
	for (param = q ? strtok_r(q, "&", &save) : NULL; param;
	     param = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(param, '='), *v;
		int len;

		if (eq == NULL) {
			snprintf(err, errlen, "storage_url: parameter without a value");
			goto out;
		}
		*eq = '\0';
		v = curl_easy_unescape(b->curl, eq + 1, 0, &len);
		if (v == NULL || strlen(v) != (size_t)len) {
			curl_free(v);
			snprintf(err, errlen, "storage_url: bad %%-encoding in %s", param);
			goto out;
		}
		if (strcmp(param, "endpoint") == 0 && b->endpoint == NULL) {
			b->endpoint = xstrdup(v);
		} else if (strcmp(param, "region") == 0 && region == NULL) {
			region = xstrdup(v);
		} else {
			snprintf(
			    err, errlen,
			    "storage_url: unknown or repeated parameter '%s' (endpoint, region)",
			    param);
			curl_free(v);
			goto out;
		}
		curl_free(v);
	}
	if (region == NULL)
		region = xstrdup("us-east-1");
	if (!all_of(region, LOWER_DIGITS "-")) {
		snprintf(err, errlen, "storage_url: bad region");
		goto out;
	}
	if (b->endpoint == NULL &&
	    asprintf(&b->endpoint, "https://s3.%s.amazonaws.com", region) < 0)
		abort();
	n = strlen(b->endpoint);
	while (n > 0 && b->endpoint[n - 1] == '/')
		b->endpoint[--n] = '\0';
	if ((strncmp(b->endpoint, "http://", 7) != 0 && strncmp(b->endpoint, "https://", 8) != 0) ||
	    strpbrk(b->endpoint, "?# ") != NULL || n > 512) {
		snprintf(err, errlen, "storage_url: endpoint must be an http:// or https:// URL");
		goto out;
	}
	if (asprintf(&b->sigv4, "aws:amz:%s:s3", region) < 0)
		abort();
	rc = 0;
out:
	free(region);
	free(copy);
	return rc;
}

int
storage_s3_open(const char *rest, const struct storage_backend **ops, void **be, char *err,
                size_t errlen)
{
	struct s3_be *b = calloc(1, sizeof(*b));
	const char *id = env_first("FV_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
	const char *secret = env_first("FV_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");

	if (b == NULL)
		abort();
	b->curl_global = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!b->curl_global || (b->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl could not be initialised");
		goto fail;
	}
	if (parse_url(b, rest, err, errlen) != 0)
		goto fail;
	if (id == NULL || *id == '\0' || secret == NULL || *secret == '\0') {
		snprintf(err, errlen,
		         "S3 storage needs credentials: set FV_S3_ACCESS_KEY_ID and "
		         "FV_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and "
		         "AWS_SECRET_ACCESS_KEY)");
		goto fail;
	}
	b->user = xstrdup(id);
	b->pass = xstrdup(secret);
	*ops = &s3_ops;
	*be = b;
	return 0;
fail:
	s3_close(b);
	return -1;
}
