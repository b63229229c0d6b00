/* pdftext.c: PDF pages to lines, from the text layer or by OCR (see pdftext.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <leptonica/allheaders.h>
#include <poppler.h>

#include "layout.h"
#include "pdftext.h"

/* A page with fewer visible characters than this has no real text layer (a scan, perhaps with a
 * scanner's stamp); one with fewer than PDF_FEW_CHARS over an image covering half of it is a scan
 * with a caption. Either is read by OCR, which also reads the few characters. */
#define PDF_MIN_CHARS 16
#define PDF_FEW_CHARS 100

static int
is_break(gunichar c)
{
	return g_unichar_isspace(c) || g_unichar_iscntrl(c) || c == 0xFEFF;
}

/* A character that reads as text: not a replacement or private-use code that a font without a
 * Unicode map leaves behind. */
static int
is_readable(gunichar c)
{
	return c != 0xFFFD && g_unichar_isgraph(c) && g_unichar_type(c) != G_UNICODE_PRIVATE_USE;
}

/* Text reads in one of four directions on the page (a rotated page, a note up the margin):
 * 0 left to right, 1 downwards, 2 right to left upside down, 3 upwards. Turning a point by its
 * direction gives coordinates in which that text reads left to right, lines going down. */
static void
upright(int dir, double x, double y, double *u, double *v)
{
	switch (dir) {
	case 1:
		*u = y, *v = -x;
		break;
	case 2:
		*u = -x, *v = -y;
		break;
	case 3:
		*u = -y, *v = x;
		break;
	default:
		*u = x, *v = y;
	}
}

static void
upright_box(int dir, double x0, double y0, double x1, double y1, struct layout_word *w)
{
	double u0, v0, u1, v1;

	upright(dir, x0, y0, &u0, &v0);
	upright(dir, x1, y1, &u1, &v1);
	w->x0 = fmin(u0, u1), w->x1 = fmax(u0, u1);
	w->y0 = fmin(v0, v1), w->y1 = fmax(v0, v1);
}

/* Whether the character box r continues, in direction dir, the word whose last box is p: on its
 * line, after it and close to it (poppler writes a space between words, but not always between
 * two columns). */
static int
continues(const PopplerRectangle *p, const PopplerRectangle *r, int dir)
{
	struct layout_word a, b;
	double h, cv;

	upright_box(dir, p->x1, p->y1, p->x2, p->y2, &a);
	upright_box(dir, r->x1, r->y1, r->x2, r->y2, &b);
	h = a.y1 - a.y0;
	cv = (b.y0 + b.y1) / 2;
	return h > 0 && cv >= a.y0 && cv <= a.y1 && b.x0 > a.x0 - 0.2 * h && b.x0 - a.x1 < 0.3 * h;
}

/* A word of the text layer: its box on the page, its direction (-1 until a second character
 * tells) and its text, pointing into the page's text. */
struct pdf_word {
	double x0, y0, x1, y1;
	int dir;
	const char *text;
	size_t len;
};

/* The words of the page's text layer, from its text and one box per character. Returns the words
 * (free()) and their number in *n. */
static struct pdf_word *
page_words(const char *text, const PopplerRectangle *rect, guint nrect, size_t *n)
{
	static const int try_dirs[] = {0, 1, 3, 2};
	struct pdf_word *w = NULL, *cur = NULL;
	size_t cap = 0, i, k;
	const char *p, *next;
	guint c;
	int d, last;

	*n = 0;
	for (p = text, c = 0; *p && c < nrect; p = next, c++) {
		const PopplerRectangle *r = &rect[c];

		next = g_utf8_next_char(p);
		if (is_break(g_utf8_get_char(p))) {
			cur = NULL;
			continue;
		}
		if (cur) {
			for (k = 0; k < 4; k++) {
				d = cur->dir >= 0 ? cur->dir : try_dirs[k];
				if (continues(&rect[c - 1], r, d))
					break;
				if (cur->dir >= 0)
					k = 4;
			}
			if (k < 4) {
				cur->dir = d;
				cur->len = (size_t)(next - cur->text);
				cur->x0 = fmin(cur->x0, fmin(r->x1, r->x2));
				cur->x1 = fmax(cur->x1, fmax(r->x1, r->x2));
				cur->y0 = fmin(cur->y0, fmin(r->y1, r->y2));
				cur->y1 = fmax(cur->y1, fmax(r->y1, r->y2));
				continue;
			}
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 512;
			if ((w = realloc(w, cap * sizeof *w)) == NULL)
				abort();
		}
		cur = &w[(*n)++];
		cur->x0 = fmin(r->x1, r->x2), cur->x1 = fmax(r->x1, r->x2);
		cur->y0 = fmin(r->y1, r->y2), cur->y1 = fmax(r->y1, r->y2);
		cur->dir = -1;
		cur->text = p;
		cur->len = (size_t)(next - p);
	}
	/* A word of one character reads like the words written before it (or after, first). */
	for (last = -1, i = 0; i < *n; i++)
		last = w[i].dir >= 0 ? w[i].dir : last;
	for (i = 0; i < *n; i++) {
		if (w[i].dir < 0)
			w[i].dir = last >= 0 ? last : 0;
		last = w[i].dir;
	}
	return w;
}

/* The share of the page covered by images (0..1, overlaps counted twice). */
static double
image_cover(PopplerPage *page)
{
	GList *maps = poppler_page_get_image_mapping(page), *l;
	double w, h, area = 0;

	poppler_page_get_size(page, &w, &h);
	for (l = maps; l; l = l->next) {
		const PopplerImageMapping *m = l->data;

		area += fabs((m->area.x2 - m->area.x1) * (m->area.y2 - m->area.y1));
	}
	poppler_page_free_image_mapping(maps);
	return w > 0 && h > 0 ? area / (w * h) : 0;
}

/* Whether the page must be read by OCR: it has (almost) no text layer, or one that does not read
 * as text (fonts without a Unicode map), or little text over a scanned image. */
static int
needs_ocr(PopplerPage *page)
{
	char *text = poppler_page_get_text(page);
	size_t chars = 0, readable = 0;
	const char *p;

	for (p = text ? text : ""; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		chars += !is_break(c);
		readable += !is_break(c) && is_readable(c);
	}
	g_free(text);
	if (readable < PDF_MIN_CHARS || readable * 2 < chars)
		return 1;
	return readable < PDF_FEW_CHARS && image_cover(page) >= 0.5;
}

/* The page's size in pixels at dpi; FV_EINVAL with a reason when over the limit. */
static enum fv_err
render_size(PopplerPage *page, int index, const struct extract_limits *lim, int *pw, int *ph,
            char *reason, size_t reasonlen)
{
	double w, h, wpx, hpx;

	poppler_page_get_size(page, &w, &h);
	wpx = ceil(w * lim->dpi / 72.0);
	hpx = ceil(h * lim->dpi / 72.0);
	if (!(wpx >= 1 && hpx >= 1)) {
		snprintf(reason, reasonlen,
		         "page %d of the PDF has no size; the PDF could not be read", index + 1);
		return FV_EINVAL;
	}
	/* cairo's image surfaces end at 32767 pixels a side. */
	if (wpx * hpx > (double)lim->max_pixels || wpx > 32767 || hpx > 32767) {
		snprintf(
		    reason, reasonlen,
		    "page %d of the PDF is %.0f x %.0f mm, %.0f x %.0f pixels at %d dpi, more than "
		    "the %g-megapixel limit for reading a scanned page",
		    index + 1, w / 72 * 25.4, h / 72 * 25.4, wpx, hpx, lim->dpi,
		    (double)lim->max_pixels / 1e6);
		return FV_EINVAL;
	}
	*pw = (int)wpx;
	*ph = (int)hpx;
	return FV_OK;
}

/* The page rendered at dpi on white, as an 8-bit gray Pix; NULL when out of memory. */
static PIX *
render_gray(PopplerPage *page, int w, int h, int dpi)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	cairo_t *cr;
	PIX *pix = NULL;
	const unsigned char *data;
	l_uint32 *line;
	int x, y, stride, wpl;

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		goto out;
	cr = cairo_create(s);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_scale(cr, dpi / 72.0, dpi / 72.0);
	poppler_page_render(page, cr);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	if ((pix = pixCreate(w, h, 8)) == NULL)
		goto out;
	pixSetResolution(pix, dpi, dpi);
	data = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	wpl = pixGetWpl(pix);
	for (y = 0; y < h; y++) {
		const uint32_t *src = (const uint32_t *)(data + (size_t)y * (size_t)stride);

		line = pixGetData(pix) + (size_t)y * (size_t)wpl;
		for (x = 0; x < w; x++) {
			uint32_t px = src[x];
			unsigned r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;

			SET_DATA_BYTE(line, x, (r * 77 + g * 150 + b * 29) >> 8);
		}
	}
out:
	cairo_surface_destroy(s);
	return pix;
}

/* The text layer of the page as lines: the words of each reading direction laid out upright,
 * the direction of most characters first. */
static void
text_page(PopplerPage *page, struct buf *out)
{
	char *text = poppler_page_get_text(page);
	PopplerRectangle *rect = NULL;
	guint nrect = 0;
	struct pdf_word *w = NULL;
	struct layout_word *lw = NULL;
	size_t n = 0, i, k, m, chars[4] = {0, 0, 0, 0};
	int order[4] = {0, 1, 2, 3}, a, b;

	if (text == NULL || !poppler_page_get_text_layout(page, &rect, &nrect))
		goto out;
	w = page_words(text, rect, nrect, &n);
	if ((lw = calloc(n ? n : 1, sizeof *lw)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		chars[w[i].dir] += w[i].len;
	for (a = 1; a < 4; a++) /* by characters, most first; ties in direction order */
		for (b = a; b > 0 && chars[order[b]] > chars[order[b - 1]]; b--) {
			int t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	for (k = 0; k < 4 && chars[order[k]] > 0; k++) {
		for (m = 0, i = 0; i < n; i++) {
			if (w[i].dir != order[k])
				continue;
			upright_box(w[i].dir, w[i].x0, w[i].y0, w[i].x1, w[i].y1, &lw[m]);
			lw[m].text = w[i].text;
			lw[m++].len = w[i].len;
		}
		layout_page(lw, m, out);
	}
out:
	free(lw);
	free(w);
	g_free(rect);
	g_free(text);
}

static enum fv_err
open_pdf(const char *path, PopplerDocument **doc, char *reason, size_t reasonlen)
{
	char *abs = g_canonicalize_filename(path, NULL), *uri;
	GError *gerr = NULL;

	uri = g_filename_to_uri(abs, NULL, NULL);
	g_free(abs);
	if (uri == NULL) {
		snprintf(reason, reasonlen, "cannot make a URI of the file name");
		return FV_EINTERNAL;
	}
	*doc = poppler_document_new_from_file(uri, NULL, &gerr);
	g_free(uri);
	if (*doc)
		return FV_OK;
	if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
		snprintf(reason, reasonlen,
		         "the PDF is password-protected; the PDF could not be read");
	else
		snprintf(reason, reasonlen, "the PDF is damaged; the PDF could not be read");
	g_clear_error(&gerr);
	return FV_EINVAL;
}

enum fv_err
pdftext_extract(const char *path, const struct extract_limits *lim, struct buf *out, int *pages,
                int *ocr_pages, struct ocr_stats *st, char *reason, size_t reasonlen)
{
	PopplerDocument *doc = NULL;
	PopplerPage **page = NULL;
	unsigned char *ocr = NULL;
	int i, n = 0, w = 0, h = 0;
	enum fv_err e;

	if ((e = open_pdf(path, &doc, reason, reasonlen)) != FV_OK)
		return e;
	n = poppler_document_get_n_pages(doc);
	e = FV_EINVAL;
	if (n <= 0) {
		snprintf(reason, reasonlen, "the PDF has no pages; the PDF could not be read");
		goto out;
	}
	if (n > lim->max_pages) {
		snprintf(reason, reasonlen,
		         "the PDF has %d pages; documents of at most %d pages are analysed", n,
		         lim->max_pages);
		goto out;
	}
	page = calloc((size_t)n, sizeof *page);
	ocr = calloc((size_t)n, 1);
	if (page == NULL || ocr == NULL)
		abort();
	/* Every limit is checked before the first page is rendered, so that a hostile last page
	 * fails the document at once rather than after minutes of OCR. */
	for (i = 0; i < n; i++) {
		if ((page[i] = poppler_document_get_page(doc, i)) == NULL) {
			e = FV_EINVAL;
			snprintf(reason, reasonlen,
			         "page %d of the PDF is damaged; the PDF could not be read", i + 1);
			goto out;
		}
		ocr[i] = (unsigned char)needs_ocr(page[i]);
		if (ocr[i] &&
		    (e = render_size(page[i], i, lim, &w, &h, reason, reasonlen)) != FV_OK)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, '\f');
		if (!ocr[i]) {
			text_page(page[i], out);
		} else {
			PIX *pix;

			render_size(page[i], i, lim, &w, &h, reason, reasonlen);
			if ((pix = render_gray(page[i], w, h, lim->dpi)) == NULL) {
				snprintf(reason, reasonlen,
				         "page %d of the PDF could not be rendered", i + 1);
				e = FV_EINTERNAL;
				goto out;
			}
			e = ocr_page(pix, lim->dpi, out, st, reason, reasonlen);
			pixDestroy(&pix);
			if (e != FV_OK)
				goto out;
			++*ocr_pages;
		}
		++*pages;
	}
	e = FV_OK;
out:
	for (i = 0; page && i < n; i++)
		if (page[i])
			g_object_unref(page[i]);
	free(page);
	free(ocr);
	g_object_unref(doc);
	return e;
}
