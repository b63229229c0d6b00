/* layout.h: the lines of a page rebuilt from the geometry of its words, the same way for a PDF
 * text layer (words from character boxes) and for OCR (words from tesseract). The words of one
 * visual line (a table row: label, result, unit, range) come out on one line in x order, however
 * a PDF orders its text or tesseract splits a table into blocks; a wide horizontal gap (a column
 * gap) becomes two or more spaces, placed so that columns line up as in `pdftotext -layout`.
 * A vertical gap wider than a line becomes one empty line. */
#ifndef FV_LAYOUT_H
#define FV_LAYOUT_H

#include <stddef.h>

#include "buf.h"

/* One word: its box in page coordinates (any unit, y growing downwards) and its UTF-8 text,
 * which must hold no whitespace or control characters. The text is not copied. */
struct layout_word {
	double x0, y0, x1, y1;
	const char *text;
	size_t len;
};

/* Appends the page's lines to out, each ended by '\n' (nothing for no words). Reorders words.
 * Boxes with coordinates that are not finite or beyond 1e7 are left out. Memory: temporary arrays
 * of a few words' size; aborts on out-of-memory like buf.h. */
void layout_page(struct layout_word *words, size_t n, struct buf *out);

#endif
