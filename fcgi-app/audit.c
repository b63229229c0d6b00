/* audit.c: the tamper-evident audit trail (see audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "db.h"
#include "log.h"

#define MAC_HEX (crypto_auth_hmacsha256_BYTES * 2 + 1)
#define AUDIT_FIELDS 11
#define VERIFY_BATCH "10000"
#define VERIFY_MAX_REPORTS 20

static unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
static char chain[37];
/* committed: the last row of the chain known to be in the database; pending: including rows of
 * the open transaction. */
static struct {
	long long seq;
	char mac[MAC_HEX];
} committed, pending;

static const struct db_stmt stmts[] = {
    {"audit_insert",
     "INSERT INTO audit_events (chain, seq, at, user_id, username, action, entity_type, entity_id,"
     " request_id, client_addr, outcome, mac)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
     12},
};

/* The columns as the MAC saw them, in order; `at` at microsecond precision in UTC. */
#define AUDIT_COLUMNS                                                                              \
	"chain::text, seq::text, to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), user_id::text," \
	" username, action, entity_type, entity_id, request_id, client_addr, outcome"

static void
tx_end(bool ok)
{
	if (ok)
		committed = pending;
	else
		pending = committed;
}

static int
parse_key(const char *hex, char *err, size_t errlen)
{
	size_t n;

	if (sodium_hex2bin(key, sizeof(key), hex, strlen(hex), " \r\n", &n, NULL) != 0 ||
	    n != sizeof(key)) {
		snprintf(err, errlen, "the audit key must be %zu hex digits", sizeof(key) * 2);
		return -1;
	}
	return 0;
}

int
audit_init(const char *key_file, char *err, size_t errlen)
{
	char text[256] = {0};
	unsigned char raw[16];
	ssize_t n;
	int fd = open(key_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "audit key %s: %s (create one with fv-admin keygen)",
		         key_file, strerror(errno));
		return -1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0 || parse_key(text, err, errlen) != 0) {
		if (n < 0)
			snprintf(err, errlen, "audit key %s: %s", key_file, strerror(errno));
		return -1;
	}
	sodium_memzero(text, sizeof(text));
	/* A fresh random chain per process: no process waits for another to append. */
	randombytes_buf(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40);
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
	snprintf(chain, sizeof(chain),
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", raw[0],
	         raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10],
	         raw[11], raw[12], raw[13], raw[14], raw[15]);
	committed.seq = 0;
	committed.mac[0] = '\0';
	pending = committed;
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
	db_on_tx_end(tx_end);
	return 0;
}

/* HMAC over the previous MAC and each field length-prefixed ("-" for NULL), so no two different
 * rows encode alike. */
static void
compute_mac(const char *prev, const char *const f[AUDIT_FIELDS], char out[MAC_HEX])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char len[32];
	int i;

	crypto_auth_hmacsha256_init(&st, key, sizeof(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)prev, strlen(prev));
	for (i = 0; i < AUDIT_FIELDS; i++) {
		int n = f[i] ? snprintf(len, sizeof(len), "|%zu:", strlen(f[i]))
		             : snprintf(len, sizeof(len), "|-");
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)len, (size_t)n);
		if (f[i])
			crypto_auth_hmacsha256_update(&st, (const unsigned char *)f[i],
			                              strlen(f[i]));
	}
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, MAC_HEX, mac, sizeof(mac));
}

static void
now_text(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + 19, 13, ".%06dZ", (int)(ts.tv_nsec / 1000));
}

enum fv_err
audit_record(const struct audit_event *ev)
{
	char seq[24], at[32], mac[MAC_HEX];
	const char *f[AUDIT_FIELDS + 1];
	PGresult *res;
	enum fv_err e;

	snprintf(seq, sizeof(seq), "%lld", pending.seq + 1);
	now_text(at);
	f[0] = chain;
	f[1] = seq;
	f[2] = at;
	f[3] = ev->user_id;
	f[4] = ev->username;
	f[5] = ev->action;
	f[6] = ev->entity_type;
	f[7] = ev->entity_id;
	f[8] = ev->request_id;
	f[9] = ev->client_addr;
	f[10] = ev->outcome;
	compute_mac(pending.mac, f, mac);
	f[11] = mac;
	if ((e = db_exec("audit_insert", 12, f, &res)) != FV_OK)
		return e;
	PQclear(res);
	pending.seq++;
	memcpy(pending.mac, mac, sizeof(mac));
	if (!db_in_tx())
		committed = pending;
	return FV_OK;
}

int
audit_keygen(const char *path, char *err, size_t errlen)
{
	unsigned char raw[crypto_auth_hmacsha256_KEYBYTES];
	char hex[sizeof(raw) * 2 + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		         errno == EEXIST ? " (a key is never overwritten: the trail depends on it)"
		                         : "");
		return -1;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	strcat(hex, "\n");
	n = write(fd, hex, strlen(hex));
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(hex, sizeof(hex));
	if (n < 0 || fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Runs fn over every row of query (a SELECT) in batches through a cursor, so memory stays small
 * however long the trail is. Returns 0, or -1 when the database failed. */
static int
each_row(const char *query, int nparams, const char *const *params,
         int (*fn)(PGresult *res, int row, void *arg), void *arg)
{
	struct buf sql = {0};
	PGresult *res;
	int rc = -1, i, n;

	if (db_begin() != FV_OK)
		return -1;
	buf_printf(&sql, "DECLARE audit_cur NO SCROLL CURSOR FOR %s", query);
	if (db_query(buf_cstr(&sql), nparams, params, &res) != FV_OK)
		goto out;
	PQclear(res);
	for (;;) {
		if (db_query("FETCH " VERIFY_BATCH " FROM audit_cur", 0, NULL, &res) != FV_OK)
			goto out;
		n = PQntuples(res);
		for (i = 0; i < n; i++)
			fn(res, i, arg);
		PQclear(res);
		if (n == 0)
			break;
	}
	rc = 0;
out:
	db_rollback();
	buf_free(&sql);
	return rc;
}

struct verify_state {
	FILE *out;
	char chain[37];
	long long expect;
	char prev[MAC_HEX];
	long rows, chains, problems;
};

static void
report(struct verify_state *v, const char *fmt, const char *id, const char *ch, long long seq)
{
	if (v->problems++ < VERIFY_MAX_REPORTS)
		fprintf(v->out, fmt, id, ch, seq);
}

static int
verify_row(PGresult *res, int row, void *arg)
{
	struct verify_state *v = arg;
	const char *f[AUDIT_FIELDS], *id = PQgetvalue(res, row, 0);
	char mac[MAC_HEX];
	long long seq;
	int i;

	for (i = 0; i < AUDIT_FIELDS; i++)
		f[i] = PQgetisnull(res, row, i + 1) ? NULL : PQgetvalue(res, row, i + 1);
	seq = strtoll(f[1], NULL, 10);
	if (strcmp(f[0], v->chain) != 0) {
		snprintf(v->chain, sizeof(v->chain), "%s", f[0]);
		v->expect = 1;
		v->prev[0] = '\0';
		v->chains++;
	}
	if (seq != v->expect)
		report(v, "MISSING before row %s: chain %s seq %lld is missing (deleted)\n", id,
		       f[0], v->expect);
	compute_mac(seq != v->expect ? "" : v->prev, f, mac);
	/* After a gap the previous MAC is unknown: re-synchronise on the stored one so a single
	 * deletion is reported once, not as a cascade. */
	if (seq == v->expect && strcmp(mac, PQgetvalue(res, row, 12)) != 0)
		report(v, "BROKEN row %s: chain %s seq %lld does not match its MAC (edited)\n", id,
		       f[0], seq);
	snprintf(v->prev, sizeof(v->prev), "%s", PQgetvalue(res, row, 12));
	v->expect = seq + 1;
	v->rows++;
	return 0;
}

long
audit_verify(FILE *out)
{
	struct verify_state v = {.out = out};

	if (each_row("SELECT id::text, " AUDIT_COLUMNS
	             ", mac FROM audit_events ORDER BY audit_events.chain, audit_events.seq",
	             0, NULL, verify_row, &v) != 0)
		return -1;
	if (v.problems > VERIFY_MAX_REPORTS)
		fprintf(out, "... and %ld more problems\n", v.problems - VERIFY_MAX_REPORTS);
	fprintf(out, "audit: %ld rows in %ld chains verified, %ld problem(s)\n", v.rows, v.chains,
	        v.problems);
	return v.problems;
}

struct export_state {
	FILE *out;
	long rows;
};

static int
export_row(PGresult *res, int row, void *arg)
{
	struct export_state *x = arg;

	fprintf(x->out, "%s\n", PQgetvalue(res, row, 0));
	x->rows++;
	return 0;
}

long
audit_export(FILE *out, long long since)
{
	char s[24];
	const char *params[1] = {s};
	struct export_state x = {.out = out};

	snprintf(s, sizeof(s), "%lld", since);
	if (each_row(
	        "SELECT json_build_object('id', id, 'chain', chain, 'seq', seq,"
	        " 'at', to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'user_id', user_id,"
	        " 'username', username, 'action', action, 'entity_type', entity_type,"
	        " 'entity_id', entity_id, 'request_id', request_id, 'client_addr', client_addr,"
	        " 'outcome', outcome, 'mac', mac)::text"
	        " FROM audit_events WHERE id > $1::bigint ORDER BY id",
	        1, params, export_row, &x) != 0)
		return -1;
	return x.rows;
}
