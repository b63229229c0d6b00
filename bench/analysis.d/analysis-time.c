/* analysis-time: times the built-in analyzer (analysis_run: text, OCR, values, findings) on files,
 * in one process, the way fv-worker's child runs it: the OCR model loaded once beforehand.
 *   analysis-time [-n RUNS] FILE...
 * Prints per file: content type, pages, OCR pages, values found, and the fastest and median of
 * RUNS runs in milliseconds; then the process's peak RSS. Run it on one core
 * (OMP_THREAD_LIMIT=1 taskset -c 0), as bench/analysis does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "filetype.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct extract_limits lim = {50, 60000000, 300};
	char err[256];
	int runs = 3, opt;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			runs = atoi(optarg) > 0 ? atoi(optarg) : 1;
	if (filetype_init(err, sizeof(err)) != 0 || extract_init(NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "analysis-time: %s\n", err);
		return 1;
	}
	printf("%-34s %-16s %5s %4s %6s %9s %9s\n", "file", "type", "pages", "ocr", "values",
	       "min_ms", "median_ms");
	for (int i = optind; i < argc; i++) {
		const char *mime, *msg, *base = strrchr(argv[i], '/');
		double t[64];
		struct stat st;
		json_object *a = NULL, *v;
		int n = runs > 64 ? 64 : runs;

		if (stat(argv[i], &st) != 0 ||
		    filetype_check(argv[i], (size_t)st.st_size, &mime, &msg) != FV_OK) {
			printf("%s: not accepted\n", argv[i]);
			continue;
		}
		for (int r = 0; r < n; r++) {
			double t0 = now_ms();
			if (a)
				json_object_put(a);
			if (analysis_run(argv[i], mime, &lim, &a, NULL, err, sizeof(err)) != FV_OK) {
				printf("%s: %s\n", argv[i], err);
				a = NULL;
				break;
			}
			t[r] = now_ms() - t0;
		}
		if (!a)
			continue;
		qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
		json_object_object_get_ex(a, "values", &v);
		printf("%-34s %-16s %5d %4d %6d %9.1f %9.1f\n", base ? base + 1 : argv[i], mime,
		       json_object_get_int(json_object_object_get(a, "pages")),
		       json_object_get_int(json_object_object_get(a, "ocr_pages")),
		       json_object_object_length(v), t[0], t[n / 2]);
		json_object_put(a);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
	extract_shutdown();
	filetype_close();
	return 0;
}
