/* print-sql.c: prints fv-app's prepared statements (name, parameter count, SQL; tab-separated, one
 * per line) by compiling fcgi-app/patients.c into this program, so bench/run EXPLAINs exactly the
 * SQL the app prepares. Built by bench/run against the objects of the current build. */
#include "patients.c"

int
main(void)
{
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		printf("%s\t%d\t%s\n", stmts[i].name, stmts[i].nparams, stmts[i].sql);
	return 0;
}
