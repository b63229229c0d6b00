/* test-filetype.c: upload content validation. Runs tests/files/make-samples (python3) into a
 * temporary directory and checks the verdict and message of every sample, then checks that every
 * document of the shared corpus (FV_CORPUS_DIR, by default ../shared/corpus/docs beside the
 * checkout) is accepted with the right type. FV_SRCDIR overrides where the sources are (the
 * build passes FV_TOP_SRCDIR; "." otherwise). */
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filetype.h"
#include "tap.h"

#ifndef FV_TOP_SRCDIR
#define FV_TOP_SRCDIR "."
#endif

struct expect {
	const char *file;
	enum fv_err err;
	const char *want; /* the mime when accepted, else a part of the message */
};

static const struct expect cases[] = {
    /* accepted */
    {"valid.pdf", FV_OK, "application/pdf"},
    {"valid-objstm.pdf", FV_OK, "application/pdf"},
    {"valid-incremental.pdf", FV_OK, "application/pdf"},
    {"valid-many-objstm.pdf", FV_OK, "application/pdf"},
    {"valid-plain-content.pdf", FV_OK, "application/pdf"},
    {"valid.png", FV_OK, "image/png"},
    {"valid-interlaced.png", FV_OK, "image/png"},
    {"valid-padded.png", FV_OK, "image/png"},
    {"valid.jpg", FV_OK, "image/jpeg"},
    {"valid.tif", FV_OK, "image/tiff"},
    {"valid-deflate.tif", FV_OK, "image/tiff"},
    {"valid.txt", FV_OK, "text/plain"},
    {"valid-ascii.txt", FV_OK, "text/plain"},
    /* not an accepted kind, whatever the name */
    {"x.pdf", FV_EMEDIATYPE,
     "the file is an executable program (ELF) (application/x-pie-executable)"},
    {"setup.pdf", FV_EMEDIATYPE, "a Windows program"},
    {"report.pdf", FV_EMEDIATYPE, "a shell script (text/x-shellscript)"},
    {"lab.txt", FV_EMEDIATYPE, "a Python script"},
    {"html/scan.jpg", FV_EMEDIATYPE, "an HTML document (text/html)"},
    {"svg/scan.jpg", FV_EMEDIATYPE, "an SVG image (image/svg+xml)"},
    {"panel.json", FV_EMEDIATYPE, "a JSON document (application/json)"},
    {"archive.zip", FV_EMEDIATYPE,
     "the file is a ZIP archive (application/zip); accepted: PDF, PNG, JPEG, TIFF, plain text"},
    {"report.docx", FV_EMEDIATYPE, "a Word document (DOCX)"},
    {"results.gz", FV_EMEDIATYPE, "a gzip archive"},
    {"pdf-late-header.pdf", FV_EMEDIATYPE, "a GIF image (image/gif)"},
    /* PDF active content */
    {"js.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"js-hex.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"js-objstm.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"js-across-pieces.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"js-in-string.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"js-nul-name.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"objstm-in-comment.pdf", FV_EMEDIATYPE, "the PDF contains JavaScript"},
    {"objstm-lzw-in-comment.pdf", FV_EMEDIATYPE, "irregular structure"},
    {"objstm-lzw.pdf", FV_EMEDIATYPE, "an encoding that cannot be checked"},
    {"launch.pdf", FV_EMEDIATYPE, "a Launch action"},
    {"submitform.pdf", FV_EMEDIATYPE, "SubmitForm"},
    {"embedded.pdf", FV_EMEDIATYPE, "embedded files"},
    {"bomb.pdf", FV_EMEDIATYPE, "decompression bomb"},
    /* polyglots */
    {"jpeg-zip.jpg", FV_EMEDIATYPE, "the file is both a JPEG image and a ZIP archive"},
    {"png-zip.png", FV_EMEDIATYPE, "the file is both a PNG image and a ZIP archive"},
    {"png-html.png", FV_EMEDIATYPE, "the file is both a PNG image and an HTML document"},
    {"tiff-zip.tif", FV_EMEDIATYPE, "the file is both a TIFF image and a ZIP archive"},
    {"pdf-zip.pdf", FV_EMEDIATYPE, "the file is both a PDF document and a ZIP archive"},
    {"pdf-html.pdf", FV_EMEDIATYPE, "the file is both a PDF document and an HTML document"},
    /* empty, damaged, too large */
    {"empty.txt", FV_EINVAL, "the file is empty"},
    {"truncated.pdf", FV_EINVAL, "the PDF is damaged or truncated"},
    {"corrupt-idat.png", FV_EINVAL, "the PNG image is damaged and cannot be decoded"},
    {"truncated.png", FV_EINVAL, "the PNG image is damaged"},
    {"truncated.jpg", FV_EINVAL, "the JPEG image is damaged or truncated"},
    {"truncated.tif", FV_EINVAL, "the TIFF image is damaged"},
    {"huge.png", FV_EINVAL, "too large to process"},
    /* text that is not UTF-8 */
    {"latin1.txt", FV_EMEDIATYPE, "not UTF-8"},
    {"nul.txt", FV_EMEDIATYPE, "binary data"},
    {"utf16.txt", FV_EMEDIATYPE, "NUL bytes"},
};

static const char *
err_name(enum fv_err e)
{
	return e == FV_OK           ? "FV_OK"
	       : e == FV_EINVAL     ? "FV_EINVAL"
	       : e == FV_EMEDIATYPE ? "FV_EMEDIATYPE"
	       : e == FV_EINTERNAL  ? "FV_EINTERNAL"
	                            : "other";
}

/* Checks one file: the verdict, and the mime (accepted) or a part of the message (refused). */
static void
check_file(const char *dir, const char *file, enum fv_err want_err, const char *want)
{
	char path[4096], what[4200];
	const char *mime = "?", *msg = "?";
	struct stat st;
	enum fv_err got = FV_ERR_COUNT;
	int good;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (stat(path, &st) == 0)
		got = filetype_check(path, (size_t)st.st_size, &mime, &msg);
	good = got == want_err && msg != NULL &&
	       (want_err == FV_OK ? mime && strcmp(mime, want) == 0 && *msg == '\0'
	                          : mime == NULL && strstr(msg, want) != NULL);
	snprintf(what, sizeof what, "%s: %s, %s", file, err_name(want_err), want);
	OK(good, what);
	if (!good)
		printf("#   got: %s, mime %s, message \"%s\"\n", err_name(got),
		       mime ? mime : "(null)", msg ? msg : "(null)");
}

static const char *
mime_by_extension(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "?";
	if (strcasecmp(dot, ".pdf") == 0)
		return "application/pdf";
	if (strcasecmp(dot, ".png") == 0)
		return "image/png";
	if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
		return "image/jpeg";
	if (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0)
		return "image/tiff";
	if (strcasecmp(dot, ".txt") == 0)
		return "text/plain";
	return "?";
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every document of the corpus is a real-looking upload that must be accepted. */
static void
check_corpus(void)
{
	char dir[4096];
	const char *env = getenv("FV_CORPUS_DIR");
	struct dirent **list;
	int i, n;

	if (env && *env)
		snprintf(dir, sizeof dir, "%s", env);
	else
		snprintf(dir, sizeof dir, "%s/../shared/corpus/docs", FV_TOP_SRCDIR);
	n = scandir(dir, &list, NULL, by_name);
	OK(n > 2, "the corpus directory exists and has documents (FV_CORPUS_DIR)");
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			check_file(dir, list[i]->d_name, FV_OK, mime_by_extension(list[i]->d_name));
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* What does not depend on the samples: calls before init, I/O errors, messages' lifetime. */
static void
check_api(const char *dir)
{
	char err[256] = "", path[4096];
	const char *mime = "x", *msg = NULL, *msg2 = NULL;

	OK(filetype_check("/nonexistent", 1, &mime, &msg) == FV_EINTERNAL && mime == NULL,
	   "a check before filetype_init is an internal error");
	OK(filetype_init(err, sizeof err) == 0, "filetype_init loads the magic database");
	if (*err)
		printf("#   %s\n", err);
	OK(filetype_init(err, sizeof err) == 0, "filetype_init again is harmless");
	OK(filetype_check("/nonexistent/upload", 10, &mime, &msg) == FV_EINTERNAL && *msg,
	   "a missing spool file is an internal error");
	snprintf(path, sizeof path, "%s/valid.png", dir);
	OK(filetype_check(path, 3, &mime, &msg) == FV_EINTERNAL,
	   "a size other than the file's is an internal error");
	snprintf(path, sizeof path, "%s/archive.zip", dir);
	filetype_check(path, 157, &mime, &msg);
	{
		struct stat st;
		stat(path, &st);
		filetype_check(path, (size_t)st.st_size, &mime, &msg);
		filetype_check(path, (size_t)st.st_size, &mime, &msg2);
	}
	OK(msg != NULL && msg == msg2, "the same detection gives the same interned message");
}

int
main(void)
{
	char tmpl[] = "/tmp/fv-filetype-XXXXXX", cmd[8300];
	const char *srcdir = getenv("FV_SRCDIR") ? getenv("FV_SRCDIR") : FV_TOP_SRCDIR;
	const char *dir = mkdtemp(tmpl);
	size_t i;
	int fds;

	if (dir == NULL) {
		OK(0, "make a temporary directory");
		return tap_done();
	}
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/files/make-samples' '%s'", srcdir, dir);
	OK(system(cmd) == 0, "tests/files/make-samples writes the samples");
	check_api(dir);
	fds = count_fds();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_file(dir, cases[i].file, cases[i].err, cases[i].want);
	check_corpus();
	OK(count_fds() == fds, "no file descriptor is left open");
	filetype_close();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
