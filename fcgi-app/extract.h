/* extract.h: the text of a document, from its PDF text layer (poppler) or by OCR (tesseract) for
 * images and for PDF pages without text. The text keeps the page's layout as lines: the words of one
 * visual line (a table row: label, result, unit, range) are on one line, in reading order, and a
 * wide horizontal gap (a column gap) is written as two or more spaces, like `pdftotext -layout`.
 * Pages are separated by a form feed ('\f').
 *
 * The file is untrusted: limits on pages and pixels refuse a hostile file with a reason a person
 * understands instead of exhausting memory or time. The caller runs extraction in a child process
 * with its own CPU and memory limits as a second line of defence (worker.c).
 *
 * Ownership: extract_text() fills *out with malloc'd text that extract_result_free() releases.
 * Errors: FV_EINVAL the file cannot be analysed (corrupt, encrypted, over a limit): reason says why
 * in plain words, for the document's `error`; FV_EINTERNAL anything else (reason for the log). */
#ifndef FV_EXTRACT_H
#define FV_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

struct extract_limits {
	int max_pages;         /* pages (PDF, multi-page TIFF) */
	long long max_pixels;  /* per page image, width x height, at the OCR resolution */
	int dpi;               /* rendering resolution of PDF pages without text (300) */
};

struct extract_result {
	char *text;          /* UTF-8, '\n' between lines, '\f' between pages */
	size_t len;
	int pages;
	int ocr_pages;       /* pages whose text came from OCR */
	double ocr_quality;  /* mean word confidence of OCR'd words, 0..1; 1 when nothing was OCR'd */
};

/* Prepares the OCR engine (loads the English model) once per process, so that a forked child
 * recognises without loading it again. datapath NULL: tesseract's default. Returns 0 or -1 with a
 * message in err. */
int extract_init(const char *datapath, char *err, size_t errlen);
void extract_shutdown(void);

/* content_type: as detected at upload ("application/pdf", "image/png", "image/jpeg",
 * "image/tiff", "text/plain"). */
enum fv_err extract_text(const char *path, const char *content_type,
                         const struct extract_limits *lim, struct extract_result *out,
                         char *reason, size_t reasonlen);
void extract_result_free(struct extract_result *r);

#endif
