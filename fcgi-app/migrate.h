/* migrate.h: applies the numbered migrations of sql_dir in order, each in one transaction,
 * recording each in schema_migrations; applied ones are skipped. */
#ifndef FV_MIGRATE_H
#define FV_MIGRATE_H

#include <stddef.h>

/* Returns 0, or -1 with a message naming the failing file in err. *applied counts new ones. */
int migrate_run(const char *sql_dir, int *applied, char *err, size_t errlen);

#endif
