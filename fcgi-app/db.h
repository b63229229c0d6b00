/* db.h: the process's one PostgreSQL connection. Statements are declared in tables by the modules
 * that use them, registered at start and prepared once per connection. A lost connection is
 * re-opened (and its statements prepared again) on the next call; a call that cannot be served
 * returns FV_EUNAVAIL, which the dispatcher answers with 503. */
#ifndef FV_DB_H
#define FV_DB_H

#include <stdbool.h>
#include <libpq-fe.h>
#include "errors.h"

struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* Remembers the connection string; connects lazily. */
void db_init(const char *conninfo);
/* Adds statements prepared on every (re)connection. The table must outlive the process. */
void db_register(const struct db_stmt *stmts, size_t n);
/* Connects now when not connected. Returns FV_OK or FV_EUNAVAIL. */
enum fv_err db_ensure(void);
void db_close(void);

/* Executes a registered statement with text parameters (NULL = SQL NULL). On FV_OK *res is a
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK result that the caller PQclear()s. Errors: FV_ECONFLICT for a
 * unique violation (db_constraint() names it), FV_EINVAL for check/foreign-key/invalid-text
 * violations, FV_EUNAVAIL when the server is unreachable, FV_EINTERNAL otherwise (logged without
 * parameters). Outside a transaction, a call that finds the connection broken reconnects and
 * retries once. */
enum fv_err db_exec(const char *name, int nparams, const char *const *params, PGresult **res);
/* The same for a one-off statement that is not worth preparing (fv-admin's work). */
enum fv_err db_query(const char *sql, int nparams, const char *const *params, PGresult **res);
/* Name of the constraint behind the last FV_ECONFLICT/FV_EINVAL, or "". */
const char *db_constraint(void);

/* Transactions: one at a time; db_rollback() is harmless when none is open. The end hook, when set,
 * learns how every transaction ended (the audit trail keeps its chain state by it). */
void db_on_tx_end(void (*hook)(bool committed));
bool db_in_tx(void);
enum fv_err db_begin(void);
/* FV_OK when there is no transaction (a handler that committed early, before streaming). */
enum fv_err db_commit(void);
void db_rollback(void);

/* Runs a script of SQL statements (migrations). Same errors as db_exec; *errmsg, when not NULL,
 * receives the server's message (valid until the next call). */
enum fv_err db_exec_script(const char *sql, const char **errmsg);
/* The raw connection for fv-admin's own work, after db_ensure(). */
PGconn *db_conn(void);

#endif
