/* main-admin.c: fv-admin, the administrator's command-line tool. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

static void
usage(void)
{
	printf("Usage: fv-admin [--config FILE] COMMAND\n\n"
	       "Commands:\n"
	       "  migrate      apply the database migrations not applied yet (safe to repeat)\n\n");
	config_usage();
}

static int
cmd_migrate(const struct fv_config *cfg)
{
	char err[1024];
	int applied;

	if (migrate_run(cfg->sql_dir, &applied, err, sizeof(err)) != 0) {
		fprintf(stderr, "fv-admin: migrate: %s\n", err);
		return 1;
	}
	printf("migrate: %d migration(s) applied\n", applied);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *config_path = NULL;
	struct fv_config cfg;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	log_set_program("fv-admin");
	if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fv-admin: %s\n", err);
		return 1;
	}
	db_init(cfg.database_url);
	if (strcmp(argv[optind], "migrate") == 0) {
		rc = cmd_migrate(&cfg);
	} else {
		fprintf(stderr, "fv-admin: unknown command '%s' (see fv-admin --help)\n", argv[optind]);
		rc = 2;
	}
	db_close();
	config_free(&cfg);
	return rc;
}
