/* extract.c: document text (see extract.h): plain text as it is, PDFs through pdftext.c, images
 * (PNG, JPEG, TIFF pages) through leptonica and ocr.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leptonica/allheaders.h>

#include "buf.h"
#include "extract.h"
#include "ocr.h"
#include "pdftext.h"

/* A resolution outside this range is a placeholder (72 or 96 from software that did not know),
 * not a scanner's: the page is then taken as a 300-dpi scan. */
#define DPI_MIN 100
#define DPI_MAX 1200
#define DPI_DEFAULT 300

int
extract_init(const char *datapath, char *err, size_t errlen)
{
	return ocr_init(datapath, err, errlen);
}

void
extract_shutdown(void)
{
	ocr_end();
}

/* The file's bytes with CRLF (and a lone CR) as LF. */
static enum fv_err
plain_text(const char *path, struct buf *out, char *reason, size_t reasonlen)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n, i;
	int cr = 0;

	if (f == NULL) {
		snprintf(reason, reasonlen, "cannot open the document: %s", strerror(errno));
		return FV_EINTERNAL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		for (i = 0; i < n; i++) {
			if (cr && chunk[i] == '\n') {
				cr = 0;
				continue;
			}
			cr = chunk[i] == '\r';
			buf_putc(out, cr ? '\n' : chunk[i]);
		}
	}
	if (ferror(f)) {
		snprintf(reason, reasonlen, "cannot read the document: %s", strerror(errno));
		fclose(f);
		return FV_EINTERNAL;
	}
	fclose(f);
	return FV_OK;
}

static int
image_dpi(PIX *pix)
{
	int res = pixGetXRes(pix);

	return res >= DPI_MIN && res <= DPI_MAX ? res : DPI_DEFAULT;
}

static enum fv_err
check_pixels(const struct extract_limits *lim, int w, int h, int page, int pages, char *reason,
             size_t reasonlen)
{
	char where[64] = "the image";

	if ((long long)w * h <= lim->max_pixels)
		return FV_OK;
	if (pages > 1)
		snprintf(where, sizeof where, "page %d of the image", page + 1);
	snprintf(reason, reasonlen, "%s is %d x %d pixels, more than the %g-megapixel limit", where,
	         w, h, (double)lim->max_pixels / 1e6);
	return FV_EINVAL;
}

/* The pages of a PNG, JPEG or TIFF file, by OCR. Sizes are read from the headers before any page
 * is decoded. */
static enum fv_err
image_text(const char *path, const char *content_type, const struct extract_limits *lim,
           struct extract_result *r, struct buf *out, struct ocr_stats *st, char *reason,
           size_t reasonlen)
{
	int format = 0, w = 0, h = 0, bps, spp, cmap, res, i, n = 1, same;
	enum fv_err e;
	PIX *pix;

	if (pixReadHeader(path, &format, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0) {
		snprintf(reason, reasonlen,
		         "the image is damaged or truncated and could not be read");
		return FV_EINVAL;
	}
	/* Only the decoder of the type checked at upload reads the file. */
	same = strcmp(content_type, "image/png") == 0    ? format == IFF_PNG
	       : strcmp(content_type, "image/jpeg") == 0 ? format == IFF_JFIF_JPEG
	                                                 : L_FORMAT_IS_TIFF(format);
	if (!same) {
		snprintf(reason, reasonlen, "the image is not the %s it was taken for",
		         content_type);
		return FV_EINVAL;
	}
	if (L_FORMAT_IS_TIFF(format)) {
		FILE *f = fopen(path, "rb");
		int ok = f && tiffGetCount(f, &n) == 0;

		if (f)
			fclose(f);
		if (!ok || n <= 0) {
			snprintf(reason, reasonlen,
			         "the TIFF image is damaged and could not be read");
			return FV_EINVAL;
		}
		if (n > lim->max_pages) {
			snprintf(reason, reasonlen,
			         "the TIFF image has %d pages; documents of at most %d pages are "
			         "analysed",
			         n, lim->max_pages);
			return FV_EINVAL;
		}
		for (i = 0; i < n; i++) {
			if (readHeaderTiff(path, i, &w, &h, &bps, &spp, &res, &cmap, &format) !=
			    0) {
				snprintf(
				    reason, reasonlen,
				    "page %d of the TIFF image is damaged and could not be read",
				    i + 1);
				return FV_EINVAL;
			}
			if ((e = check_pixels(lim, w, h, i, n, reason, reasonlen)) != FV_OK)
				return e;
		}
	} else if ((e = check_pixels(lim, w, h, 0, 1, reason, reasonlen)) != FV_OK) {
		return e;
	}
	for (i = 0; i < n; i++) {
		pix = L_FORMAT_IS_TIFF(format) ? pixReadTiff(path, i) : pixRead(path);
		if (pix == NULL) {
			snprintf(reason, reasonlen, "the image is damaged and could not be read");
			return FV_EINVAL;
		}
		if (i > 0)
			buf_putc(out, '\f');
		e = ocr_page(pix, image_dpi(pix), out, st, reason, reasonlen);
		pixDestroy(&pix);
		if (e != FV_OK)
			return e;
		r->pages++;
		r->ocr_pages++;
	}
	return FV_OK;
}

enum fv_err
extract_text(const char *path, const char *content_type, const struct extract_limits *limits,
             struct extract_result *out, char *reason, size_t reasonlen)
{
	struct extract_limits lim = {50, 60000000LL, 300};
	struct ocr_stats st = {0, 0};
	struct buf text = {0};
	enum fv_err e;
	int fd;

	memset(out, 0, sizeof(*out));
	*reason = '\0';
	if (limits) {
		lim.max_pages = limits->max_pages > 0 ? limits->max_pages : lim.max_pages;
		lim.max_pixels = limits->max_pixels > 0 ? limits->max_pixels : lim.max_pixels;
		lim.dpi = limits->dpi > 0 ? limits->dpi : lim.dpi;
	}
	if (content_type == NULL) {
		snprintf(reason, reasonlen, "no content type");
		return FV_EINTERNAL;
	}
	/* A spool file that cannot be opened is the worker's trouble, not the document's. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(reason, reasonlen, "cannot open the document: %s", strerror(errno));
		return FV_EINTERNAL;
	}
	close(fd);
	if (strcmp(content_type, "text/plain") == 0) {
		e = plain_text(path, &text, reason, reasonlen);
		out->pages = 1;
	} else if (strcmp(content_type, "application/pdf") == 0) {
		e = pdftext_extract(path, &lim, &text, &out->pages, &out->ocr_pages, &st, reason,
		                    reasonlen);
	} else if (strcmp(content_type, "image/png") == 0 ||
	           strcmp(content_type, "image/jpeg") == 0 ||
	           strcmp(content_type, "image/tiff") == 0) {
		e = image_text(path, content_type, &lim, out, &text, &st, reason, reasonlen);
	} else {
		snprintf(reason, reasonlen, "documents of type %s cannot be read", content_type);
		e = FV_EINVAL;
	}
	if (e != FV_OK) {
		buf_free(&text);
		memset(out, 0, sizeof(*out));
		return e;
	}
	/* A document with no text at all still has a (empty) string. */
	buf_append(&text, "", 0);
	out->text = text.data ? text.data : strdup("");
	if (out->text == NULL)
		abort();
	out->len = text.len;
	out->ocr_quality = st.words > 0         ? st.conf_sum / (double)st.words / 100.0
	                   : out->ocr_pages > 0 ? 0.0
	                                        : 1.0;
	return FV_OK;
}

void
extract_result_free(struct extract_result *r)
{
	free(r->text);
	r->text = NULL;
}
