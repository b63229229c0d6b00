/* health.c: /health checks PostgreSQL, Redis and storage; /ready says whether this process can
 * serve (its database connection works). Neither needs credentials nor shows patient data. */
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "health.h"
#include "redis.h"
#include "response.h"
#include "storage.h"

static const struct db_stmt stmts[] = {
    {"health_ping", "SELECT 1", 0},
};

static struct storage *storage;

void
health_init(struct storage *st)
{
	storage = st;
	db_register(stmts, sizeof(stmts) / sizeof(stmts[0]));
}

static enum fv_err
db_ping(void)
{
	PGresult *res;
	enum fv_err e = db_exec("health_ping", 0, NULL, &res);

	if (e == FV_OK)
		PQclear(res);
	return e;
}

enum fv_err
health_check(struct req *r)
{
	struct json_object *body = json_object_new_object(), *checks = json_object_new_object();
	const char *names[3] = {"database", "redis", "storage"};
	enum fv_err results[3];
	int i, good = 1;

	results[0] = db_ping();
	results[1] = redis_ping();
	results[2] = storage_ping(storage);
	for (i = 0; i < 3; i++) {
		json_object_object_add(
		    checks, names[i],
		    json_object_new_string(results[i] == FV_OK ? "ok" : "failing"));
		good &= results[i] == FV_OK;
	}
	json_object_object_add(body, "status", json_object_new_string(good ? "ok" : "failing"));
	json_object_object_add(body, "checks", checks);
	return resp_json(r, good ? 200 : 503, body);
}

enum fv_err
health_ready(struct req *r)
{
	struct json_object *body = json_object_new_object();
	int good = db_ping() == FV_OK;

	json_object_object_add(body, "status",
	                       json_object_new_string(good ? "ready" : "not ready"));
	return resp_json(r, good ? 200 : 503, body);
}
