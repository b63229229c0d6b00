/* db.c: the process's PostgreSQL connection, prepared statements and reconnection (see db.h). */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

#define DB_MAX_TABLES 16

static const char *conninfo;
static PGconn *conn;
static int in_tx;
static void (*tx_end_hook)(bool committed);
static char constraint[128];
static char last_error[512];
static struct {
	const struct db_stmt *stmts;
	size_t n;
} tables[DB_MAX_TABLES];
static size_t ntables;

void
db_init(const char *ci)
{
	conninfo = ci;
}

void
db_register(const struct db_stmt *stmts, size_t n)
{
	if (ntables == DB_MAX_TABLES)
		abort();
	tables[ntables].stmts = stmts;
	tables[ntables].n = n;
	ntables++;
}

static void
tx_ended(bool committed)
{
	if (in_tx && tx_end_hook)
		tx_end_hook(committed);
	in_tx = 0;
}

void
db_on_tx_end(void (*hook)(bool committed))
{
	tx_end_hook = hook;
}

bool
db_in_tx(void)
{
	return in_tx;
}

void
db_close(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	tx_ended(false);
}

static enum fv_err exec_simple(const char *sql);

static enum fv_err
prepare_all(void)
{
	size_t t, i;

	for (t = 0; t < ntables; t++) {
		for (i = 0; i < tables[t].n; i++) {
			const struct db_stmt *s = &tables[t].stmts[i];
			PGresult *res = PQprepare(conn, s->name, s->sql, s->nparams, NULL);
			int good = PQresultStatus(res) == PGRES_COMMAND_OK;

			if (!good)
				log_msg("db: prepare %s failed: %s", s->name,
				        PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				            ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				            : PQerrorMessage(conn));
			PQclear(res);
			if (!good)
				return FV_EINTERNAL;
		}
	}
	return FV_OK;
}

/* Server notices ("relation already exists, skipping") are not errors and must not reach the
 * responder's stderr. */
static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

enum fv_err
db_ensure(void)
{
	enum fv_err e;

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return FV_OK;
	db_close();
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message names host and reason, never data; keep the first line. */
		log_msg("db: connect failed: %.*s", (int)strcspn(PQerrorMessage(conn), "\n"),
		        PQerrorMessage(conn));
		db_close();
		return FV_EUNAVAIL;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	/* Dates and times are UTC everywhere: "age" and "not in the future" must agree with the
	 * validators, whatever the server's default time zone. */
	if ((e = exec_simple("SET TIME ZONE 'UTC'")) != FV_OK || (e = prepare_all()) != FV_OK) {
		db_close();
		return e;
	}
	return FV_OK;
}

PGconn *
db_conn(void)
{
	return conn;
}

const char *
db_constraint(void)
{
	return constraint;
}

/* Classifies a failed result; logs the primary message and SQLSTATE only (no DETAIL: it can
 * quote the values of a row, which may be patient data). */
static enum fv_err
classify(PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;

	snprintf(constraint, sizeof(constraint), "%s", cons ? cons : "");
	snprintf(last_error, sizeof(last_error), "%s", msg ? msg : PQerrorMessage(conn));
	if (PQstatus(conn) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		log_msg("db: %s: connection lost: %.*s", what, (int)strcspn(last_error, "\n"),
		        last_error);
		return FV_EUNAVAIL;
	}
	if (strcmp(state, "23505") == 0)
		return FV_ECONFLICT;
	if (strncmp(state, "23", 2) == 0 || strcmp(state, "22P02") == 0 ||
	    strcmp(state, "22007") == 0 || strcmp(state, "22008") == 0)
		return FV_EINVAL;
	log_msg("db: %s failed: SQLSTATE %s: %s", what, state, last_error);
	return FV_EINTERNAL;
}

static int
result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* Runs a prepared statement (name) or a one-off parameterised one (sql). */
static enum fv_err
run(const char *name, const char *sql, int nparams, const char *const *params, PGresult **out)
{
	int attempt;
	enum fv_err e = FV_EUNAVAIL;

	*out = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		PGresult *res;

		if (!in_tx && (e = db_ensure()) != FV_OK)
			return e;
		if (conn == NULL)
			return FV_EUNAVAIL;
		res = name ? PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0)
		           : PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
		if (result_ok(res)) {
			*out = res;
			return FV_OK;
		}
		e = classify(res, name ? name : "query");
		PQclear(res);
		/* A connection that broke while idle (server restart) is retried once; inside a
		 * transaction the work so far is gone, so the caller must fail. */
		if (e != FV_EUNAVAIL || in_tx)
			break;
		db_close();
	}
	return e;
}

enum fv_err
db_exec(const char *name, int nparams, const char *const *params, PGresult **out)
{
	return run(name, NULL, nparams, params, out);
}

enum fv_err
db_query(const char *sql, int nparams, const char *const *params, PGresult **out)
{
	return run(NULL, sql, nparams, params, out);
}

static enum fv_err
exec_simple(const char *sql)
{
	PGresult *res;
	enum fv_err e = FV_OK;

	if (conn == NULL)
		return FV_EUNAVAIL;
	res = PQexec(conn, sql);
	if (!result_ok(res))
		e = classify(res, sql);
	PQclear(res);
	return e;
}

enum fv_err
db_begin(void)
{
	enum fv_err e;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((e = db_ensure()) != FV_OK)
			return e;
		if ((e = exec_simple("BEGIN")) == FV_OK) {
			in_tx = 1;
			return FV_OK;
		}
		if (e != FV_EUNAVAIL)
			return e;
		db_close();
	}
	return e;
}

enum fv_err
db_commit(void)
{
	PGresult *res;
	enum fv_err e = FV_EUNAVAIL;
	bool committed = false;

	if (!in_tx)
		return FV_OK;
	if (conn != NULL) {
		res = PQexec(conn, "COMMIT");
		/* COMMIT of a failed transaction "succeeds" as ROLLBACK: look at the command tag.
		 */
		committed = PQresultStatus(res) == PGRES_COMMAND_OK &&
		            strcmp(PQcmdStatus(res), "COMMIT") == 0;
		e = committed                                 ? FV_OK
		    : PQresultStatus(res) == PGRES_COMMAND_OK ? FV_EINTERNAL
		                                              : classify(res, "COMMIT");
		PQclear(res);
	}
	tx_ended(committed);
	return e;
}

void
db_rollback(void)
{
	if (in_tx && conn != NULL && PQstatus(conn) == CONNECTION_OK)
		exec_simple("ROLLBACK");
	tx_ended(false);
}

enum fv_err
db_exec_script(const char *sql, const char **errmsg)
{
	enum fv_err e;

	if (errmsg)
		*errmsg = "";
	if (conn == NULL && (e = db_ensure()) != FV_OK)
		return e;
	e = exec_simple(sql);
	if (e != FV_OK && errmsg)
		*errmsg = last_error;
	return e;
}
