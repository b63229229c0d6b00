/* pdftext.h: the text of a PDF (poppler-glib). A page with a text layer gives its lines rebuilt
 * from its character boxes (layout.h); a page without one (a scan) is rendered with cairo at the
 * OCR resolution and recognised (ocr.h). One document may mix both. */
#ifndef FV_PDFTEXT_H
#define FV_PDFTEXT_H

#include "buf.h"
#include "errors.h"
#include "extract.h"
#include "ocr.h"

/* Appends the pages' lines to out, '\f' between pages; counts pages and OCR'd pages; adds the
 * OCR'd words to st. Limits as in extract.h: FV_EINVAL with a reason a person understands for a
 * PDF that is unreadable, encrypted or over a limit (checked before anything is rendered);
 * FV_EINTERNAL with a reason for the log otherwise. out may hold partial text on failure. */
enum fv_err pdftext_extract(const char *path, const struct extract_limits *lim, struct buf *out,
                            int *pages, int *ocr_pages, struct ocr_stats *st, char *reason,
                            size_t reasonlen);

#endif
