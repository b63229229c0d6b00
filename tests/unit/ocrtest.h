/* ocrtest.h: what the unit tests that run OCR or draw documents share (test-extract, test-reports,
 * test-sandbox): one OpenMP thread, a temporary directory removed, font caches freed for
 * valgrind. Header-only, like tap.h. */
#ifndef FV_OCRTEST_H
#define FV_OCRTEST_H

#include <dlfcn.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>

/* For nftw(): removes every entry of a directory tree, deepest first. */
static inline int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Frees what cairo and fontconfig keep for the fonts the test drew with, so that valgrind reports
 * only leaks of the code under test. fontconfig is not linked here, only loaded by cairo. */
static inline void
free_font_caches(void)
{
	void (*fc_fini)(void);

	cairo_debug_reset_static_data();
	*(void **)&fc_fini = dlsym(RTLD_DEFAULT, "FcFini");
	if (fc_fini)
		fc_fini();
}

/* tesseract's OpenMP runtime reads OMP_THREAD_LIMIT when the program loads: start again with it
 * (not under valgrind, which would not follow). */
static inline void
one_thread(char **argv)
{
	const char *preload = getenv("LD_PRELOAD");

	if (getenv("OMP_THREAD_LIMIT") || (preload && strstr(preload, "vgpreload")))
		return;
	setenv("OMP_THREAD_LIMIT", "1", 1);
	execv("/proc/self/exe", argv);
}

#endif
