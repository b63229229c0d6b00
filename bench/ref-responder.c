/* ref-responder.c: the reference responders of DESIGN.md's "Measured on this kind of machine",
 * rebuilt so bench/run can measure them on the machine at hand next to fv-app.
 *
 *   GET /api/v1/patients/<uuid>  one prepared primary-key lookup, answered as a small JSON object
 *   any other path               {"ok":true} without touching the database (the bare responder)
 *
 * A plain single-threaded libfcgi accept loop on fd 0 (run it with spawn-fcgi -F N), one libpq
 * connection opened at start with one prepared statement. No logging, no request context, no
 * escaping: it is a yardstick, not an application. Usage: ref-responder CONNINFO */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#define PREFIX "/api/v1/patients/"

int
main(int argc, char **argv)
{
	FCGX_Request req;
	PGconn *conn;
	PGresult *res;

	if (argc != 2) {
		fprintf(stderr, "usage: ref-responder CONNINFO\n");
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "ref-responder: %s", PQerrorMessage(conn));
		return 1;
	}
	res = PQprepare(conn, "pk", "SELECT id, mrn, name FROM patients WHERE id = $1::uuid", 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "ref-responder: prepare: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		const char *uri = FCGX_GetParam("DOCUMENT_URI", req.envp);

		if (uri && strncmp(uri, PREFIX, strlen(PREFIX)) == 0) {
			const char *params[1] = {uri + strlen(PREFIX)};

			res = PQexecPrepared(conn, "pk", 1, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
				FCGX_FPrintF(req.out,
					     "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
					     "{\"id\":\"%s\",\"medical_record_number\":\"%s\",\"name\":\"%s\"}",
					     PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
			else
				FCGX_PutS("Status: 404 Not Found\r\nContent-Type: application/json\r\n\r\n{}",
					  req.out);
			PQclear(res);
		} else {
			FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}",
				  req.out);
		}
		FCGX_Finish_r(&req);
	}
	PQfinish(conn);
	return 0;
}
