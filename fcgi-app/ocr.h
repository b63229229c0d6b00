/* ocr.h: the text of a page image by OCR (tesseract's C API, leptonica images). One engine per
 * process, loaded by ocr_init() before the worker forks, so that each child recognises at once.
 * The page is made 8-bit gray and straightened first; the lines are rebuilt from the recognised
 * words' boxes across the whole page (layout.h), because tesseract's own page segmentation splits
 * a table into blocks and writes a label column apart from its values. */
#ifndef FV_OCR_H
#define FV_OCR_H

#include <stddef.h>

#include "buf.h"
#include "errors.h"

struct Pix;

/* Confidence of the recognised words, summed over the pages of a document. */
struct ocr_stats {
	double conf_sum; /* sum of word confidences, 0..100 each */
	long words;
};

/* Loads the English model from datapath (NULL: tesseract's default) with one thread. Calling it
 * again is harmless. Returns 0, or -1 with a message in err. */
int ocr_init(const char *datapath, char *err, size_t errlen);
/* Releases the engine. */
void ocr_end(void);

/* Recognises pix (any depth; not modified, still the caller's) whose resolution is dpi, appends
 * its lines to out and adds its words to st. Returns FV_OK, or FV_EINTERNAL with a reason for the
 * log (engine not initialised, out of memory, recognition failed). */
enum fv_err ocr_page(struct Pix *pix, int dpi, struct buf *out, struct ocr_stats *st, char *reason,
                     size_t reasonlen);

#endif
