/* audit.h: the tamper-evident audit trail. Each process writes its own chain of rows (a random
 * chain id, seq 1, 2, 3, ...); each row's MAC is HMAC-SHA-256, under a key that is not in the
 * database, over the row and the previous row's MAC. A row written inside a transaction belongs to
 * it: the chain advances only when the transaction commits (db_on_tx_end). */
#ifndef FV_AUDIT_H
#define FV_AUDIT_H

#include <stdio.h>
#include "errors.h"

struct audit_event {
	const char *user_id; /* NULL when nobody is logged in */
	const char *username;
	const char *action; /* "patient.read" */
	const char *entity_type;
	const char *entity_id;
	const char *request_id;
	const char *client_addr;
	const char *outcome; /* "success", "failure", "denied" */
};

/* Reads the key (64 hex digits) and starts this process's chain. Returns 0, or -1 with a message.
 */
int audit_init(const char *key_file, char *err, size_t errlen);
/* Writes one row, in the open transaction if there is one. */
enum fv_err audit_record(const struct audit_event *ev);

/* fv-admin: creates a key file (mode 0600, never overwriting). Returns 0 or -1 with a message. */
int audit_keygen(const char *path, char *err, size_t errlen);
/* fv-admin: recomputes every chain; prints each problem (the row edited, the row missing) and a
 * summary to out. Returns the number of problems, or -1 when the trail could not be read. */
long audit_verify(FILE *out);
/* fv-admin: writes the rows with id > since as JSON lines, oldest first. Returns the count or -1.
 */
long audit_export(FILE *out, long long since);

#endif
