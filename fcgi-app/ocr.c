/* ocr.c: page images to lines by tesseract (see ocr.h).
 *
 * tesseract is given the page as the command line would give it (only depths it does not read
 * well are converted): its Otsu thresholding chooses the best channel of a colour scan, and a gray
 * copy or a rotated copy read measurably worse on the corpus (digits lost to interpolation).
 * Skew is corrected in the geometry instead: the page's skew angle is measured with leptonica and
 * the word boxes are turned by it before the lines are built. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>
#include <tesseract/capi.h>

#include "layout.h"
#include "log.h"
#include "ocr.h"

static TessBaseAPI *api;

static void
lept_message(const char *msg)
{
	size_t n = strlen(msg);

	/* Leptonica's messages name functions and sizes, never the page's content. */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	log_msg("leptonica: %.*s", (int)n, msg);
}

int
ocr_init(const char *datapath, char *err, size_t errlen)
{
	const char *omp = getenv("OMP_THREAD_LIMIT");

	if (api)
		return 0;
	/* One core per job. The OpenMP runtime inside tesseract reads the variable once, when the
	 * program is loaded: set here, it only reaches the programs this process starts. Without
	 * it, tesseract runs threads on every core and a page takes several times longer. */
	if (omp == NULL || strcmp(omp, "1") != 0)
		log_msg(
		    "OCR: OMP_THREAD_LIMIT=1 was not in the environment at start; tesseract may "
		    "use every core and run slowly");
	setenv("OMP_THREAD_LIMIT", "1", 1);
	setMsgSeverity(L_SEVERITY_ERROR);
	leptSetStderrHandler(lept_message);
	if ((api = TessBaseAPICreate()) == NULL) {
		snprintf(err, errlen, "tesseract: out of memory");
		return -1;
	}
	if (TessBaseAPIInit3(api, datapath, "eng") != 0) {
		snprintf(err, errlen, "tesseract: cannot load the English model from %s",
		         datapath ? datapath : "the default tessdata directory");
		TessBaseAPIDelete(api);
		api = NULL;
		return -1;
	}
	/* tesseract's debug messages ("Detected N diacritics", ...) are of no use in the log. */
	TessBaseAPISetVariable(api, "debug_file", "/dev/null");
	/* The command line's default (fully automatic segmentation); the API's is a single block.
	 */
	TessBaseAPISetPageSegMode(api, PSM_AUTO);
	return 0;
}

void
ocr_end(void)
{
	if (api) {
		TessBaseAPIEnd(api);
		TessBaseAPIDelete(api);
		api = NULL;
	}
}

/* The page as tesseract reads it best: 1-bit, 8-bit gray or 32-bit colour as they are,
 * transparency over white, palettes and other depths to 8-bit gray. NULL on failure. */
static PIX *
prepare(PIX *pix)
{
	int d = pixGetDepth(pix);

	if (d == 32 && pixGetSpp(pix) == 4)
		return pixAlphaBlendUniform(pix, 0xffffff00);
	if (pixGetColormap(pix))
		return pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC);
	if (d == 1 || d == 8 || d == 32)
		return pixClone(pix);
	return pixConvertTo8(pix, 0);
}

/* The angle (radians, clockwise) that turns the page's text level; 0 when it cannot be told. */
static double
skew_angle(PIX *pix)
{
	PIX *bin = pixGetDepth(pix) == 1 ? pixClone(pix) : pixConvertTo1(pix, 160);
	l_float32 angle = 0, conf = 0;

	if (bin == NULL)
		return 0;
	/* Scans lean by a few degrees at most; search +-7 to a hundredth of a degree. */
	if (pixFindSkewSweepAndSearch(bin, &angle, &conf, 4, 2, 7.0f, 1.0f, 0.01f) != 0 ||
	    conf < 3.0f)
		angle = 0;
	pixDestroy(&bin);
	return angle * M_PI / 180.0;
}

/* A word of the result: its box and the offset of its text in the pool. */
struct ocr_word {
	int l, t, r, b;
	size_t off, len;
};

/* Appends the text without whitespace or control characters; returns the bytes kept. */
static size_t
put_clean(struct buf *pool, const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			continue;
		buf_putc(pool, *s);
		n++;
	}
	return n;
}

static int
all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The position (digits before it) of a decimal point that the recogniser dropped from a word of
 * 2 to 6 digits ("75" printed "7.5"), or 0. tesseract's English model often loses the point of a
 * lab result; it is still plain on the page. It is restored only when the page shows exactly one
 * glyph for each digit and exactly one solid dot on their baseline, in a gap between two digits
 * as wide as a point's, so that a speck or a touching pair leaves the word as it was read. */
static size_t
dropped_point(PIX *bin, const struct ocr_word *w, size_t ndigits)
{
	int h = w->b - w->t, margin = h / 4 + 1, i, n, digits = 0, maxh = 0, found = -1, base;
	int dx[6], dr[6], db[6];
	BOX *clip =
	    boxCreate(w->l - margin, w->t - margin, w->r - w->l + 2 * margin, h + 2 * margin);
	PIX *crop = clip ? pixClipRectangle(bin, clip, NULL) : NULL;
	PIXA *pixa = NULL;
	BOXA *boxa = crop ? pixConnComp(crop, &pixa, 8) : NULL;
	size_t at = 0;

	if (boxa == NULL || h <= 0)
		goto out;
	n = boxaGetCount(boxa);
	for (i = 0; i < n; i++) {
		int x, y, bw, bh;

		boxaGetBoxGeometry(boxa, i, &x, &y, &bw, &bh);
		maxh = bh > maxh ? bh : maxh;
	}
	/* The digits: the tall glyphs. */
	for (i = 0; i < n; i++) {
		int x, y, bw, bh;

		boxaGetBoxGeometry(boxa, i, &x, &y, &bw, &bh);
		if (bh * 2 < maxh)
			continue;
		if (digits == (int)ndigits)
			goto out;
		dx[digits] = x;
		dr[digits] = x + bw;
		db[digits++] = y + bh;
	}
	if (digits != (int)ndigits)
		goto out;
	for (i = 1; i < digits; i++) { /* in x order */
		int k, x = dx[i], r = dr[i], b = db[i];

		for (k = i; k > 0 && dx[k - 1] > x; k--) {
			dx[k] = dx[k - 1];
			dr[k] = dr[k - 1];
			db[k] = db[k - 1];
		}
		dx[k] = x;
		dr[k] = r;
		db[k] = b;
	}
	base = db[digits / 2];
	for (i = 0; i < n; i++) {
		int x, y, bw, bh, k, count = 0;
		PIX *c;

		boxaGetBoxGeometry(boxa, i, &x, &y, &bw, &bh);
		if (bh * 2 >= maxh)
			continue;
		/* A dot: small, round, solid, sitting on the baseline. */
		if (bw * 20 < maxh || bh * 20 < maxh || bw * 10 > maxh * 3 || bh * 10 > maxh * 3 ||
		    bw * 10 > bh * 16 || bh * 10 > bw * 16 || abs(y + bh - base) * 8 > maxh)
			continue;
		if ((c = pixaGetPix(pixa, i, L_CLONE)) == NULL)
			continue;
		pixCountPixels(c, &count, NULL);
		pixDestroy(&c);
		if (count * 10 < bw * bh * 4)
			continue;
		for (k = 0; k + 1 < digits; k++)
			if (x >= dr[k] && x + bw <= dx[k + 1] && (dx[k + 1] - dr[k]) * 4 >= maxh)
				break;
		if (k + 1 >= digits)
			continue;
		if (found >= 0) {
			found = -1;
			goto out;
		}
		found = k + 1;
	}
	at = found > 0 ? (size_t)found : 0;
out:
	boxaDestroy(&boxa);
	pixaDestroy(&pixa);
	pixDestroy(&crop);
	boxDestroy(&clip);
	return at;
}

/* Puts back the decimal points the recogniser dropped (see dropped_point()). The words' texts
 * move to a new pool. */
static void
restore_points(PIX *bin, struct ocr_word *w, size_t n, struct buf *pool)
{
	struct buf fixed = {0};
	size_t i, at;

	for (i = 0; i < n; i++) {
		const char *s = pool->data + w[i].off;
		size_t len = w[i].len;

		at =
		    len >= 2 && len <= 6 && all_digits(s, len) ? dropped_point(bin, &w[i], len) : 0;
		w[i].off = fixed.len;
		if (at > 0) {
			buf_append(&fixed, s, at);
			buf_putc(&fixed, '.');
			buf_append(&fixed, s + at, len - at);
			w[i].len++;
		} else {
			buf_append(&fixed, s, len);
		}
	}
	buf_free(pool);
	*pool = fixed;
}

static void
collect_words(TessResultIterator *ri, struct ocr_word **words, size_t *n, size_t *cap,
              struct buf *pool, struct ocr_stats *st)
{
	const TessPageIterator *pi = TessResultIteratorGetPageIterator(ri);

	do {
		struct ocr_word w;
		char *text = TessResultIteratorGetUTF8Text(ri, RIL_WORD);

		if (text == NULL)
			continue;
		memset(&w, 0, sizeof w);
		w.off = pool->len;
		w.len = put_clean(pool, text);
		TessDeleteText(text);
		if (w.len == 0 ||
		    !TessPageIteratorBoundingBox(pi, RIL_WORD, &w.l, &w.t, &w.r, &w.b))
			continue;
		st->conf_sum += TessResultIteratorConfidence(ri, RIL_WORD);
		st->words++;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			if ((*words = realloc(*words, *cap * sizeof **words)) == NULL)
				abort();
		}
		(*words)[(*n)++] = w;
	} while (TessResultIteratorNext(ri, RIL_WORD));
}

/* The words as layout words, their boxes turned by angle about the page's centre. */
static struct layout_word *
level_words(const struct ocr_word *w, size_t n, const struct buf *pool, double angle, int width,
            int height)
{
	struct layout_word *lw = calloc(n ? n : 1, sizeof *lw);
	double ca = cos(angle), sa = sin(angle), cx = width / 2.0, cy = height / 2.0;
	size_t i;

	if (lw == NULL)
		abort();
	for (i = 0; i < n; i++) {
		double x = (w[i].l + w[i].r) / 2.0 - cx, y = (w[i].t + w[i].b) / 2.0 - cy;
		double hw = (w[i].r - w[i].l) / 2.0, hh = (w[i].b - w[i].t) / 2.0;
		double rx = cx + x * ca - y * sa, ry = cy + x * sa + y * ca;

		lw[i].x0 = rx - hw;
		lw[i].y0 = ry - hh;
		lw[i].x1 = rx + hw;
		lw[i].y1 = ry + hh;
		lw[i].text = pool->data + w[i].off;
		lw[i].len = w[i].len;
	}
	return lw;
}

enum fv_err
ocr_page(PIX *pix, int dpi, struct buf *out, struct ocr_stats *st, char *reason, size_t reasonlen)
{
	PIX *page = NULL, *bin = NULL;
	TessResultIterator *ri = NULL;
	struct ocr_word *words = NULL;
	struct layout_word *lw = NULL;
	struct buf pool = {0};
	size_t n = 0, cap = 0;
	enum fv_err e = FV_EINTERNAL;
	double angle;

	if (api == NULL) {
		snprintf(reason, reasonlen, "the OCR engine is not initialised");
		return FV_EINTERNAL;
	}
	if ((page = prepare(pix)) == NULL) {
		snprintf(reason, reasonlen, "the page image could not be prepared for OCR");
		goto out;
	}
	angle = skew_angle(page);
	TessBaseAPISetImage2(api, page);
	TessBaseAPISetSourceResolution(api, dpi);
	if (TessBaseAPIRecognize(api, NULL) != 0) {
		snprintf(reason, reasonlen, "OCR failed on a page");
		goto out;
	}
	if ((ri = TessBaseAPIGetIterator(api)) != NULL)
		collect_words(ri, &words, &n, &cap, &pool, st);
	bin = TessBaseAPIGetThresholdedImage(api);
	if (bin && pixGetWidth(bin) == pixGetWidth(page) && pixGetHeight(bin) == pixGetHeight(page))
		restore_points(bin, words, n, &pool);
	lw = level_words(words, n, &pool, angle, pixGetWidth(page), pixGetHeight(page));
	layout_page(lw, n, out);
	e = FV_OK;
out:
	if (ri)
		TessResultIteratorDelete(ri);
	TessBaseAPIClear(api);
	free(lw);
	free(words);
	buf_free(&pool);
	pixDestroy(&bin);
	pixDestroy(&page);
	return e;
}
