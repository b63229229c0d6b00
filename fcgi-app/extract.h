/* extract.h: the text of a document, from its PDF text layer (poppler) or by OCR (tesseract) for
 * images and for PDF pages without text. The text keeps the page's layout as lines: the words of
 * one visual line (a table row: label, result, unit, range) are on one line, in reading order, and
 * a wide horizontal gap (a column gap) is written as two or more spaces, like `pdftotext -layout`
 * (layout.h). Pages are separated by a form feed ('\f'). Plain text is the file's bytes with CRLF
 * (and a lone CR) as LF.
 *
 * The file is untrusted: limits on pages and pixels refuse a hostile file with a reason a person
 * understands instead of exhausting memory or time, before anything is decoded or rendered. The
 * caller runs extraction in a child process with its own CPU and memory limits as a second line of
 * defence (worker.c).
 *
 * Ownership: extract_text() fills *out with malloc'd text that extract_result_free() releases.
 * Errors: FV_EINVAL the file cannot be analysed (corrupt, encrypted, over a limit, not of its
 * type): reason says why in plain words, for the document's `error`, and *out is empty;
 * FV_EINTERNAL anything else (reason for the log). */
#ifndef FV_EXTRACT_H
#define FV_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* A field of zero or less takes its default (50 pages, 60 megapixels, 300 dpi); so does a NULL
 * limits pointer. */
struct extract_limits {
	int max_pages;        /* pages (PDF, multi-page TIFF) */
	long long max_pixels; /* per page image, width x height, at the OCR resolution */
	int dpi;              /* rendering resolution of PDF pages without text (300) */
};

struct extract_result {
	char *text; /* UTF-8, '\n' between lines, '\f' between pages; never NULL on success */
	size_t len;
	int pages;
	int ocr_pages; /* pages whose text came from OCR */
	/* Mean word confidence of OCR'd words, 0..1; 1 when nothing was OCR'd, 0 when OCR'd pages
	 * gave no word at all. */
	double ocr_quality;
};

/* Prepares the OCR engine (loads the English model) once per process, so that a forked child
 * recognises without loading it again. datapath NULL: tesseract's default. Returns 0 or -1 with a
 * message in err. Calling it again is harmless.
 *
 * tesseract runs OpenMP threads on every core unless OMP_THREAD_LIMIT=1 is in the environment
 * when the program starts (the OpenMP runtime reads it as it is loaded, before main): the program
 * must start with it (a warning is logged otherwise); setting it here only reaches the programs
 * this process starts. */
int extract_init(const char *datapath, char *err, size_t errlen);
void extract_shutdown(void);

/* content_type: as detected at upload ("application/pdf", "image/png", "image/jpeg",
 * "image/tiff", "text/plain"); an image must be of that type. Resolution of images: the file's
 * own when it is 100-1200 dpi, else 300. */
enum fv_err extract_text(const char *path, const char *content_type,
                         const struct extract_limits *lim, struct extract_result *out, char *reason,
                         size_t reasonlen);
/* Frees the text; harmless on an emptied or already freed result. */
void extract_result_free(struct extract_result *r);

#endif
