/* main-admin.c: fv-admin, the administrator's command-line tool. Every change it makes to users and
 * credentials is an audit event of its own chain, with "fv-admin" as the actor. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "credentials.h"
#include "db.h"
#include "input.h"
#include "log.h"
#include "migrate.h"
#include "queue.h"
#include "redis.h"
#include "storage.h"
#include "users.h"

#define GENERATED_PASSWORD_LEN 20

static void
usage(void)
{
	printf(
	    "Usage: fv-admin [--config FILE] COMMAND [ARGS]\n\n"
	    "Commands:\n"
	    "  migrate                          apply the database migrations not applied yet\n"
	    "  keygen FILE                      create a new audit key file (mode 0600; never "
	    "overwrites)\n"
	    "  user add NAME --role ROLE [--password-stdin]\n"
	    "                                   create a user (admin, clinician or viewer); "
	    "prints a\n"
	    "                                   generated password unless one comes on stdin\n"
	    "  user passwd NAME [--password-stdin]  set a new password (generated unless stdin)\n"
	    "  user disable NAME                disable a user and end their sessions and tokens\n"
	    "  user enable NAME                 enable a disabled user\n"
	    "  user list                        NAME ROLE STATUS CREATED, one user a line\n"
	    "  token create NAME [--days N]     print a new API token for the user\n"
	    "  storage keygen                   create the storage key file (never overwrites)\n"
	    "  storage rotate                   add a new current storage key\n"
	    "  storage rekey                    re-encrypt every document under the current key\n"
	    "  requeue [--older-than SECONDS]   queue again the documents left queued longer "
	    "than\n"
	    "                                   SECONDS (default 60), e.g. after Redis lost them\n"
	    "  audit verify                     check the audit trail's chains; exit 1 on a "
	    "problem\n"
	    "  audit export [--since ID]        the audit events after ID as JSON lines\n\n");
	config_usage();
}

static int
fail(const char *what, const char *msg)
{
	fprintf(stderr, "fv-admin: %s: %s\n", what, msg);
	return 1;
}

static const char *
db_problem(enum fv_err e)
{
	return e == FV_EUNAVAIL ? "cannot reach the database" : fv_err_message(e);
}

/* One audit event by fv-admin; the caller has a transaction open. */
static enum fv_err
audit_admin(const char *action, const char *entity_id)
{
	struct audit_event ev = {.username = "fv-admin",
	                         .action = action,
	                         .entity_type = "user",
	                         .entity_id = entity_id,
	                         .client_addr = "local",
	                         .outcome = "success"};

	return audit_record(&ev);
}

/* Reads the password from stdin (one line) or generates one; *generated says which. */
static int
get_password(bool from_stdin, char *out, size_t outlen, bool *generated)
{
	*generated = !from_stdin;
	if (!from_stdin) {
		password_generate(out, GENERATED_PASSWORD_LEN);
		return 0;
	}
	if (fgets(out, (int)outlen, stdin) == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int
cmd_user(int argc, char **argv, const struct fv_config *cfg)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
	                                     {"password-stdin", no_argument, NULL, 'p'},
	                                     {0}};
	const char *sub = argc > 1 ? argv[1] : "", *name, *role = NULL, *msg = NULL;
	char pw[PASSWORD_MAX + 2];
	bool from_stdin = false, generated, disabled;
	struct user u;
	enum fv_err e;
	int c;

	(void)cfg;
	if (strcmp(sub, "list") == 0) {
		PGresult *res;
		int i;

		if ((e = db_query(
		         "SELECT username, role, CASE WHEN disabled_at IS NULL THEN 'active'"
		         " ELSE 'disabled' END, to_char(created_at,"
		         " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users ORDER BY username",
		         0, NULL, &res)) != FV_OK)
			return fail("user list", db_problem(e));
		for (i = 0; i < PQntuples(res); i++)
			printf("%s %s %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
		PQclear(res);
		return 0;
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	name = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			role = optarg;
		else if (c == 'p')
			from_stdin = true;
		else
			return 2;
	}
	if ((e = db_begin()) != FV_OK)
		return fail("user", db_problem(e));
	if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
		if (get_password(from_stdin, pw, sizeof(pw), &generated) != 0)
			return fail(sub, "no password on standard input");
		if (sub[0] == 'a') {
			e = user_create(name, role_parse(role ? role : ""), pw, &u, &msg);
		} else {
			e = user_set_password(name, pw, &msg);
			if (e == FV_OK)
				user_find(name, &u, &disabled);
		}
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		char lname[USER_NAME_MAX + 1];

		generated = false;
		if ((msg = user_name_check(name, lname)) == NULL)
			e = user_set_disabled(lname, false, sub[0] == 'd', &u);
		else
			e = FV_EINVAL;
	} else {
		usage();
		return 2;
	}
	if (e == FV_ENOTFOUND)
		msg = "no such user";
	if (e == FV_OK)
		e = audit_admin(sub[0] == 'a'   ? "user.create"
		                : sub[0] == 'p' ? "user.passwd"
		                : sub[0] == 'd' ? "user.disable"
		                                : "user.enable",
		                u.id);
	if (e == FV_OK)
		e = db_commit();
	if (e != FV_OK) {
		db_rollback();
		return fail(sub, msg ? msg : db_problem(e));
	}
	printf("%s: %s (%s)\n", sub, u.name, role_name(u.role));
	if (generated)
		printf("password: %s\n", pw);
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

static int
cmd_token(int argc, char **argv, const struct fv_config *cfg)
{
	static const struct option opts[] = {{"days", required_argument, NULL, 'd'}, {0}};
	char secret[CRED_SECRET_MAX], csrf[CRED_CSRF_LEN + 1], expires[32];
	size_t lifetime = cfg->token_lifetime;
	long long days;
	bool disabled;
	struct user u;
	enum fv_err e;
	int c;

	if (argc < 3 || strcmp(argv[1], "create") != 0) {
		usage();
		return 2;
	}
	optind = 3;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return 2;
		if (v_int(optarg, 1, 3650, &days) != NULL)
			return fail("token create", "--days must be a whole number from 1 to 3650");
		lifetime = (size_t)days * 86400;
	}
	if ((e = user_find(argv[2], &u, &disabled)) != FV_OK)
		return fail("token create", e == FV_ENOTFOUND ? "no such user" : db_problem(e));
	if (disabled)
		return fail("token create", "the user is disabled");
	if ((e = db_begin()) != FV_OK ||
	    (e = cred_create(CRED_TOKEN, &u, lifetime, secret, csrf, expires)) != FV_OK ||
	    (e = audit_admin("auth.token_create", u.id)) != FV_OK || (e = db_commit()) != FV_OK) {
		db_rollback();
		return fail("token create", db_problem(e));
	}
	printf("%s\nexpires: %s\n", secret, expires);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

static int
cmd_audit(int argc, char **argv)
{
	long long since = 0;
	long n;

	if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
		n = audit_verify(stdout);
		if (n < 0)
			return fail("audit verify", "cannot read the audit trail");
		return n == 0 ? 0 : 1;
	}
	if (argc >= 2 && strcmp(argv[1], "export") == 0) {
		if (argc == 4 && strcmp(argv[2], "--since") == 0) {
			if (v_int(argv[3], 0, 0x7fffffffffffffffLL, &since) != NULL)
				return fail("audit export", "--since must be an event id");
		} else if (argc != 2) {
			usage();
			return 2;
		}
		if (audit_export(stdout, since) < 0)
			return fail("audit export", "cannot read the audit trail");
		return 0;
	}
	usage();
	return 2;
}

/* Re-encrypts, one object at a time, every document whose row names another key. The service
 * keeps running: readers find the old key until the row changes, and both keys stay in the file. */
static int
storage_rekey_all(const struct fv_config *cfg)
{
	struct storage *st;
	char err[512], key[STORAGE_KEY_ID_SIZE];
	const char *params[2];
	PGresult *res, *upd;
	long moved = 0, failed = 0;
	bool did;
	enum fv_err e;
	int i;

	if (storage_open(cfg->storage_url, cfg->storage_keys_file, &st, err, sizeof(err)) != 0)
		return fail("storage rekey", err);
	params[0] = storage_current_key(st);
	if ((e = db_query("SELECT DISTINCT sha256 FROM documents WHERE storage_key_id <> $1", 1,
	                  params, &res)) != FV_OK) {
		storage_close(st);
		return fail("storage rekey", db_problem(e));
	}
	for (i = 0; i < PQntuples(res); i++) {
		params[0] = PQgetvalue(res, i, 0);
		if (storage_rekey(st, params[0], key, &did) != FV_OK) {
			fprintf(stderr,
			        "fv-admin: storage rekey: object %s failed (left as it is)\n",
			        params[0]);
			failed++;
			continue;
		}
		params[1] = key;
		if (db_query("UPDATE documents SET storage_key_id = $2 WHERE sha256 = $1", 2,
		             params, &upd) == FV_OK)
			PQclear(upd);
		moved += did;
	}
	printf("storage rekey: %ld object(s) re-encrypted, %ld failed, %d checked\n", moved, failed,
	       PQntuples(res));
	PQclear(res);
	storage_close(st);
	return failed ? 1 : 0;
}

static int
cmd_storage(int argc, char **argv, const struct fv_config *cfg)
{
	char err[512];

	if (argc == 2 && strcmp(argv[1], "keygen") == 0)
		return storage_keyfile_create(cfg->storage_keys_file, err, sizeof(err)) == 0
		           ? 0
		           : fail("storage keygen", err);
	if (argc == 2 && strcmp(argv[1], "rotate") == 0)
		return storage_keyfile_add(cfg->storage_keys_file, err, sizeof(err)) == 0
		           ? 0
		           : fail("storage rotate", err);
	if (argc == 2 && strcmp(argv[1], "rekey") == 0)
		return storage_rekey_all(cfg);
	usage();
	return 2;
}

static int
cmd_requeue(int argc, char **argv)
{
	long long older = 60;
	long n;
	enum fv_err e;

	if (argc == 3 && strcmp(argv[1], "--older-than") == 0) {
		if (v_int(argv[2], 0, 315360000, &older) != NULL)
			return fail("requeue", "--older-than must be a number of seconds");
	} else if (argc != 1) {
		usage();
		return 2;
	}
	if ((e = queue_requeue_stale((long)older, &n)) != FV_OK)
		return fail("requeue", e == FV_EUNAVAIL ? "cannot reach the database or Redis"
		                                        : db_problem(e));
	printf("requeue: %ld document(s) queued again\n", n);
	return 0;
}

static int
cmd_migrate(const struct fv_config *cfg)
{
	char err[1024];
	int applied;

	db_init(cfg->migrate_database_url[0] ? cfg->migrate_database_url : cfg->database_url);
	if (migrate_run(cfg->sql_dir, &applied, err, sizeof(err)) != 0)
		return fail("migrate", err);
	printf("migrate: %d migration(s) applied\n", applied);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *config_path = NULL, *cmd;
	struct fv_config cfg;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	log_set_program("fv-admin");
	if (sodium_init() < 0)
		return fail("start", "libsodium cannot initialise");
	if (config_load(&cfg, config_path, err, sizeof(err)) != 0)
		return fail("config", err);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	db_init(cfg.database_url);
	if (strcmp(cmd, "migrate") == 0) {
		rc = cmd_migrate(&cfg);
	} else if (strcmp(cmd, "storage") == 0) {
		rc = cmd_storage(argc, argv, &cfg);
	} else if (strcmp(cmd, "requeue") == 0) {
		rc = redis_init(cfg.redis_url) == 0 ? cmd_requeue(argc, argv)
		                                    : fail("requeue", "redis_url is malformed");
	} else if (strcmp(cmd, "keygen") == 0) {
		rc = argc == 2
		         ? (audit_keygen(argv[1], err, sizeof(err)) == 0 ? 0 : fail("keygen", err))
		         : (usage(), 2);
	} else if (strcmp(cmd, "user") == 0 || strcmp(cmd, "token") == 0 ||
	           strcmp(cmd, "audit") == 0) {
		/* Statements are prepared on connection; migrate (above) must not, as the tables
		 * may not exist yet. */
		users_init();
		credentials_init();
		if (audit_init(cfg.audit_key_file, err, sizeof(err)) != 0)
			rc = fail(cmd, err);
		else if (cmd[0] == 'u')
			rc = cmd_user(argc, argv, &cfg);
		else if (cmd[0] == 't')
			rc = cmd_token(argc, argv, &cfg);
		else
			rc = cmd_audit(argc, argv);
	} else {
		fprintf(stderr, "fv-admin: unknown command '%s' (see fv-admin --help)\n", cmd);
		rc = 2;
	}
	db_close();
	config_free(&cfg);
	return rc;
}
