/* layout.c: page lines from word boxes (see layout.h).
 *
 * Words are swept from left to right; each joins the line whose latest word it overlaps most in
 * height, or starts a new line. Following the latest word, not a fixed y, keeps a line together
 * when the page is slightly skewed. Heights far from the page's typical word height (a logo read
 * as a word, a speck, a large title) are judged by their centre with a typical height, so that
 * one tall box cannot join two lines. Lines are found through buckets of y, so that a page of a
 * million characters costs a million steps, not a million squared. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

/* Columns past this are not padded to: a page is 100 to 200 characters wide, and a hostile one
 * must not turn each of its words into a line of a million spaces. */
#define MAX_COLUMN 300
/* Coordinates beyond this (in points or pixels) are not of a page. */
#define MAX_COORD 1e7

struct line {
	double ry0, ry1;     /* the box of the latest word, normalised */
	double lastx1;       /* right edge of the latest word */
	double ysum0, ysum1; /* sums of the normalised tops and bottoms, for the line's position */
	size_t count;
	int typical;            /* the latest box is a word of typical height */
	int bucket, next, prev; /* in the list of its bucket */
};

struct page {
	double hmed;  /* typical word height */
	double charw; /* typical character width */
	double ymin, bsize;
	int nbuckets;
	int *heads;
	struct line *lines;
	size_t nlines, caplines;
};

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		abort();
	return p;
}

static size_t
utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmp_word_x(const void *a, const void *b)
{
	const struct layout_word *p = a, *q = b;

	if (p->x0 != q->x0)
		return (p->x0 > q->x0) - (p->x0 < q->x0);
	return (p->y0 > q->y0) - (p->y0 < q->y0);
}

/* The median of v[0..n-1] (reorders v); 0 for none. */
static double
median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* Typical height and character width, from the words that have a positive size. */
static void
page_metrics(const struct layout_word *w, size_t n, struct page *pg)
{
	double *h = xcalloc(n, sizeof *h), *cw = xcalloc(n, sizeof *cw);
	size_t i, nh = 0, nc = 0, chars;

	for (i = 0; i < n; i++) {
		if (w[i].y1 > w[i].y0)
			h[nh++] = w[i].y1 - w[i].y0;
		chars = utf8_chars(w[i].text, w[i].len);
		if (w[i].x1 > w[i].x0 && chars > 0)
			cw[nc++] = (w[i].x1 - w[i].x0) / (double)chars;
	}
	pg->hmed = median(h, nh);
	pg->charw = median(cw, nc);
	if (!(pg->hmed > 0))
		pg->hmed = 1;
	if (!(pg->charw > 0))
		pg->charw = pg->hmed / 2;
	free(h);
	free(cw);
}

/* The word's vertical extent for comparisons: its own when its height is typical (returns 1),
 * else a typical height around its centre (returns 0). */
static int
norm_box(const struct page *pg, const struct layout_word *w, double *y0, double *y1)
{
	double h = w->y1 - w->y0, c = (w->y0 + w->y1) / 2;

	if (h >= 0.5 * pg->hmed && h <= 2 * pg->hmed) {
		*y0 = w->y0;
		*y1 = w->y1;
		return 1;
	}
	*y0 = c - pg->hmed / 2;
	*y1 = c + pg->hmed / 2;
	return 0;
}

static int
bucket_of(const struct page *pg, double y0, double y1)
{
	double b = floor(((y0 + y1) / 2 - pg->ymin) / pg->bsize);

	if (b < 0)
		return 0;
	if (b >= pg->nbuckets)
		return pg->nbuckets - 1;
	return (int)b;
}

static void
bucket_unlink(struct page *pg, int li)
{
	struct line *l = &pg->lines[li];

	if (l->prev >= 0)
		pg->lines[l->prev].next = l->next;
	else
		pg->heads[l->bucket] = l->next;
	if (l->next >= 0)
		pg->lines[l->next].prev = l->prev;
}

static void
bucket_link(struct page *pg, int li)
{
	struct line *l = &pg->lines[li];

	l->bucket = bucket_of(pg, l->ry0, l->ry1);
	l->prev = -1;
	l->next = pg->heads[l->bucket];
	if (l->next >= 0)
		pg->lines[l->next].prev = li;
	pg->heads[l->bucket] = li;
}

/* Buckets of y at least a typical height tall and no more numerous than twice the words. */
static void
buckets_init(struct page *pg, const struct layout_word *w, size_t n)
{
	double ymax, c, y0, y1;
	size_t i;

	pg->ymin = HUGE_VAL;
	ymax = -HUGE_VAL;
	for (i = 0; i < n; i++) {
		norm_box(pg, &w[i], &y0, &y1);
		c = (y0 + y1) / 2;
		pg->ymin = c < pg->ymin ? c : pg->ymin;
		ymax = c > ymax ? c : ymax;
	}
	pg->bsize = pg->hmed;
	if ((ymax - pg->ymin) / pg->bsize > 2.0 * (double)n)
		pg->bsize = (ymax - pg->ymin) / (2.0 * (double)n);
	pg->nbuckets = (int)((ymax - pg->ymin) / pg->bsize) + 1;
	pg->heads = xcalloc((size_t)pg->nbuckets, sizeof *pg->heads);
	for (i = 0; i < (size_t)pg->nbuckets; i++)
		pg->heads[i] = -1;
}

/* The line the word continues, or -1. A candidate's latest word must end before this one starts
 * (a little overlap allowed: italics, kerning, OCR boxes) and overlap it in height by half the
 * smaller of the two. A line whose latest word is much nearer in x wins (a word's descenders
 * must not send it to a stray mark far to the left); then the largest overlap, then the nearest
 * centre. */
static int
find_line(const struct page *pg, double x0, double y0, double y1)
{
	/* A line's centre lies within a typical height plus half the word's of the word's centre.
	 */
	double reach = pg->hmed + (y1 - y0) / 2, c = (y0 + y1) / 2;
	int b, bfirst, blast, li, best = -1;
	double best_ratio = 0, best_dist = 0, best_gap = 0, far = 3 * pg->hmed;

	bfirst = bucket_of(pg, c - reach, c - reach);
	blast = bucket_of(pg, c + reach, c + reach);
	for (b = bfirst; b <= blast; b++) {
		for (li = pg->heads[b]; li >= 0; li = pg->lines[li].next) {
			const struct line *l = &pg->lines[li];
			double ov, ratio, dist, hmin, gap;

			if (l->lastx1 > x0 + 0.3 * pg->hmed)
				continue;
			ov = (y1 < l->ry1 ? y1 : l->ry1) - (y0 > l->ry0 ? y0 : l->ry0);
			hmin = (y1 - y0) < (l->ry1 - l->ry0) ? (y1 - y0) : (l->ry1 - l->ry0);
			if (ov <= 0 || hmin <= 0)
				continue;
			ratio = ov / hmin;
			dist = fabs(c - (l->ry0 + l->ry1) / 2);
			if (ratio < 0.5)
				continue;
			gap = x0 - l->lastx1;
			if (best >= 0 && gap > best_gap + far)
				continue;
			if (best < 0 || gap < best_gap - far || ratio > best_ratio + 0.05 ||
			    (ratio > best_ratio - 0.05 && dist < best_dist)) {
				best = li;
				best_ratio = ratio;
				best_dist = dist;
				best_gap = gap;
			}
		}
	}
	return best;
}

struct line_pos {
	double y;
	int line;
};

static int
cmp_line_pos(const void *a, const void *b)
{
	const struct line_pos *p = a, *q = b;

	if (p->y != q->y)
		return (p->y > q->y) - (p->y < q->y);
	return (p->line > q->line) - (p->line < q->line);
}

/* The usual distance between consecutive lines (their centres), from lines in sequence: the
 * median of the distances below three typical heights (paragraph and section gaps excluded). */
static double
line_pitch(const struct line_pos *order, size_t n, double hmed)
{
	double *d = xcalloc(n, sizeof *d), p;
	size_t k, nd = 0;

	for (k = 1; k < n; k++)
		if (order[k].y - order[k - 1].y > 0.5 * hmed &&
		    order[k].y - order[k - 1].y < 3 * hmed)
			d[nd++] = order[k].y - order[k - 1].y;
	p = nd > 0 ? median(d, nd) : 1.5 * hmed;
	free(d);
	return p;
}

/* The character column of x; the page's left edge is column 0. */
static size_t
column(const struct page *pg, double xmin, double x)
{
	double c = floor((x - xmin) / pg->charw + 0.5);

	return c < 0 ? 0 : c > MAX_COLUMN ? MAX_COLUMN : (size_t)c;
}

static void
put_spaces(struct buf *out, size_t n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;

		buf_append(out, sp, k);
		n -= k;
	}
}

/* Writes the lines in order of height, the words of each in x order. */
static void
write_lines(const struct page *pg, const struct layout_word *w, size_t n, const int *line_of,
            struct buf *out)
{
	size_t *start = xcalloc(pg->nlines + 1, sizeof *start), *words = xcalloc(n, sizeof *words);
	struct line_pos *order = xcalloc(pg->nlines, sizeof *order);
	double xmin = HUGE_VAL, pitch;
	size_t i, k;

	/* Words are in x order, so a counting sort by line keeps them in x order within a line. */
	for (i = 0; i < n; i++) {
		start[line_of[i] + 1]++;
		xmin = w[i].x0 < xmin ? w[i].x0 : xmin;
	}
	for (k = 0; k < pg->nlines; k++)
		start[k + 1] += start[k];
	{
		size_t *fill = xcalloc(pg->nlines, sizeof *fill);

		for (i = 0; i < n; i++)
			words[start[line_of[i]] + fill[line_of[i]]++] = i;
		free(fill);
	}
	for (k = 0; k < pg->nlines; k++) {
		const struct line *l = &pg->lines[k];

		order[k].y = (l->ysum0 + l->ysum1) / (2.0 * (double)l->count);
		order[k].line = (int)k;
	}
	qsort(order, pg->nlines, sizeof *order, cmp_line_pos);

	pitch = line_pitch(order, pg->nlines, pg->hmed);
	for (k = 0; k < pg->nlines; k++) {
		int li = order[k].line;
		size_t j, col = 0;

		if (k > 0 && order[k].y - order[k - 1].y > 1.2 * pitch)
			buf_putc(out, '\n');
		for (j = start[li]; j < start[li + 1]; j++) {
			const struct layout_word *cur = &w[words[j]];
			size_t want = column(pg, xmin, cur->x0), spaces;

			if (j == start[li]) {
				spaces = want;
			} else {
				const struct layout_word *prev = &w[words[j - 1]];

				spaces = 1;
				if (cur->x0 - prev->x1 >= 1.5 * pg->charw)
					spaces = want > col + 2 ? want - col : 2;
			}
			put_spaces(out, spaces);
			buf_append(out, cur->text, cur->len);
			col += spaces + utf8_chars(cur->text, cur->len);
		}
		buf_putc(out, '\n');
	}
	free(order);
	free(words);
	free(start);
}

static int
in_page(const struct layout_word *w)
{
	return fabs(w->x0) < MAX_COORD && fabs(w->x1) < MAX_COORD && fabs(w->y0) < MAX_COORD &&
	       fabs(w->y1) < MAX_COORD && w->x1 >= w->x0 && w->y1 >= w->y0;
}

void
layout_page(struct layout_word *w, size_t n, struct buf *out)
{
	struct page pg;
	int *line_of;
	size_t i, k;

	/* Boxes of no real size or place (a hostile PDF's) are dropped. */
	for (i = k = 0; i < n; i++)
		if (in_page(&w[i]))
			w[k++] = w[i];
	n = k;
	if (n == 0)
		return;
	memset(&pg, 0, sizeof pg);
	page_metrics(w, n, &pg);
	qsort(w, n, sizeof *w, cmp_word_x);
	buckets_init(&pg, w, n);
	line_of = xcalloc(n, sizeof *line_of);
	for (i = 0; i < n; i++) {
		double y0, y1;
		int li, typical;
		struct line *l;

		typical = norm_box(&pg, &w[i], &y0, &y1);
		li = find_line(&pg, w[i].x0, y0, y1);
		if (li < 0) {
			if (pg.nlines == pg.caplines) {
				pg.caplines = pg.caplines ? 2 * pg.caplines : 64;
				pg.lines = realloc(pg.lines, pg.caplines * sizeof *pg.lines);
				if (pg.lines == NULL)
					abort();
			}
			li = (int)pg.nlines++;
			memset(&pg.lines[li], 0, sizeof pg.lines[li]);
		} else {
			bucket_unlink(&pg, li);
		}
		l = &pg.lines[li];
		/* An odd box (a speck, a logo) does not move a line that has a word's height. */
		if (typical || !l->typical || l->count == 0) {
			l->ry0 = y0;
			l->ry1 = y1;
			l->typical = typical;
		}
		l->lastx1 = w[i].x1 > l->lastx1 || l->count == 0 ? w[i].x1 : l->lastx1;
		l->ysum0 += y0;
		l->ysum1 += y1;
		l->count++;
		bucket_link(&pg, li);
		line_of[i] = li;
	}
	write_lines(&pg, w, n, line_of, out);
	free(line_of);
	free(pg.lines);
	free(pg.heads);
}
