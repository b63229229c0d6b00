/* tap.h: the unit tests' tiny harness. Each check prints one TAP line ("ok N - what" or
 * "not ok N - what" with the file and line); tap_done() prints the plan and the totals and returns
 * the exit status, so a test program ends with "return tap_done();". scripts/test counts the TAP
 * lines. */
#ifndef FV_TAP_H
#define FV_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void
tap_report(int good, const char *file, int line, const char *what)
{
	tap_n++;
	if (good) {
		printf("ok %d - %s\n", tap_n, what);
	} else {
		tap_failed++;
		printf("not ok %d - %s (%s:%d)\n", tap_n, what, file, line);
	}
}

#define OK(cond, what) tap_report(!!(cond), __FILE__, __LINE__, (what))
/* String equality that prints both sides on failure. NULL equals only NULL. */
#define STR_EQ(got, want, what)                                                                    \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		int eq_ = (g_ == NULL || w_ == NULL) ? g_ == w_ : strcmp(g_, w_) == 0;             \
		tap_report(eq_, __FILE__, __LINE__, (what));                                       \
		if (!eq_)                                                                          \
			printf("#   got:  \"%s\"\n#   want: \"%s\"\n", g_ ? g_ : "(null)",         \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

static int
tap_done(void)
{
	printf("1..%d\n# %d passed, %d failed\n", tap_n, tap_n - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif
