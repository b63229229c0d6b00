/* filetype.h: decides from the bytes of a spooled upload (never its name or the client's
 * Content-Type) whether FertiVision accepts it: PDF, PNG, JPEG, TIFF or plain text.
 *
 * libmagic names the type; then the file must prove it is what libmagic says and nothing more:
 * - PDF: a streaming scan of every byte for active content (JavaScript, Launch, embedded files,
 *   RichMedia, XFA, SubmitForm, ImportData, GoToE; names are read through #xx escapes), with the
 *   compressed object streams inflated (capped) and scanned too; encrypted PDFs and object streams
 *   in encodings the scan cannot read are refused because they cannot be checked; then poppler
 *   must open it and agree (no JavaScript, no attachments).
 * - PNG (libpng), JPEG (libjpeg) and TIFF (libtiff, every page) are decoded in full, a row or a
 *   strip at a time, within size caps.
 * - Text must be UTF-8 (or ASCII) without NUL bytes.
 * - Polyglots are refused: a PDF header not at offset 0, data after the image's or PDF's end that
 *   is another format or more than FT_TRAILING_ALLOWANCE bytes, or a ZIP end-of-central-directory
 *   record that makes the file a ZIP archive as well.
 * Memory is bounded (the file is streamed in 64 KiB pieces; decoders hold one row or strip) and
 * nothing is printed: decoder errors and warnings are caught, never written to stderr.
 * Not thread-safe: one check at a time per process (the responder is single-threaded). */
#ifndef FV_FILETYPE_H
#define FV_FILETYPE_H

#include <stddef.h>
#include "errors.h"

/* Images larger than this are refused with 400 "too large to process" before decoding. */
#define FT_MAX_WIDTH 20000
#define FT_MAX_HEIGHT 20000
#define FT_MAX_PIXELS 200000000ULL
/* Bytes allowed after an image's end (PNG IEND, JPEG EOI) or a PDF's last %%EOF, when they are
 * not another format's signature: some writers pad. More is a polyglot. */
#define FT_TRAILING_ALLOWANCE 1024
/* A PDF's compressed object streams may inflate to at most this much in total, and no stream
 * past 1 MiB to more than FT_PDF_INFLATE_RATIO times its compressed size (a bomb). */
#define FT_PDF_INFLATE_MAX (256ULL << 20)
#define FT_PDF_INFLATE_RATIO 200

/* Once per process, before any check: opens and loads the libmagic database (MAGIC_MIME_TYPE) and
 * silences libtiff's and poppler's default stderr reporting. Returns 0, or -1 with a message for
 * the log in err. */
int filetype_init(char *err, size_t errlen);

/* Checks the spooled upload at path, of size bytes (what the caller wrote; a file of another
 * length is an I/O error).
 * FV_OK: accepted; *mime is "application/pdf", "image/png", "image/jpeg", "image/tiff" or
 *   "text/plain".
 * FV_EMEDIATYPE (415): not an accepted kind; *msg says what was detected for a person ("the file is
 *   a ZIP archive (application/zip); accepted: PDF, PNG, JPEG, TIFF, plain text"), or what active
 *   content a PDF carries ("the PDF contains JavaScript"), or that it is a polyglot ("the file is
 *   both a JPEG image and a ZIP archive").
 * FV_EINVAL (400): empty, damaged or truncated ("the file is empty", "the PDF is damaged or
 *   truncated"), or an image too large to process.
 * FV_EINTERNAL: the file could not be read (or filetype_init was not called); *msg is for the log.
 * *mime is NULL unless FV_OK; *msg is "" on FV_OK. Both are static or live until filetype_close. */
enum fv_err filetype_check(const char *path, size_t size, const char **mime, const char **msg);

/* Releases the libmagic handle and the interned messages. */
void filetype_close(void);

#endif
