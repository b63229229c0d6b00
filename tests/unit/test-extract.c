/* test-extract.c: document text (extract.h).
 *
 * Without arguments, TAP checks: every document of the shared corpus (FV_CORPUS_DIR, by default
 * ../shared/corpus/docs) gives its page count, OCR only for scans, and for every value of
 * truth.json its printed number on a line that also names it (or, in prose, in the sentence
 * ending on that line); documents written here with cairo check a PDF that mixes a text page and
 * a scanned page, a table whose PDF text runs column by column, and plain text; hostile files
 * written here (huge images and pages, thousands of pages, damaged and encrypted PDFs, random
 * bytes) are refused with a reason, and their times are printed as comments.
 *
 * With file arguments, a developer tool: prints each file's text (type from the extension) and
 * its pages, OCR pages, OCR quality and milliseconds on stderr. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <json-c/json.h>
#include <leptonica/allheaders.h>
#include <zlib.h>

#include "extract.h"
#include "layout.h"
#include "ocrtest.h"
#include "tap.h"

static const struct extract_limits limits = {50, 60000000LL, 300};

/* Words that name each value in the corpus. Short acronyms must match in case ("LH" is not in
 * "health"); longer words match in any case, without their first letter ("stradiol"). */
static const struct label {
	const char *key;
	const char *words[4];
} labels[] = {
    {"amh", {"AMH", "ullerian"}},
    {"fsh", {"FSH", "ollicle stimulating"}},
    {"lh", {"LH", "uteinizing", "uteinising"}},
    {"estradiol", {"stradiol", "E2"}},
    {"progesterone", {"rogesterone"}},
    {"prolactin", {"rolactin"}},
    {"tsh", {"TSH"}},
    {"testosterone", {"estosterone"}},
    {"afc", {"AFC", "ntral follicle count"}},
    {"endometrial_thickness", {"ndometri"}},
    {"semen_volume", {"olume"}},
    {"sperm_concentration", {"oncentration"}},
    {"total_sperm_count", {"otal sperm", "otal count", "per ejaculate", "otal number"}},
    {"total_motility", {"otal motil", "otile"}},
    {"progressive_motility", {"rogressive"}},
    {"normal_morphology", {"orpholog", "ormal forms"}},
    {"vitality", {"itality"}},
    {"semen_ph", {"pH"}},
};

static const char *
mime_by_extension(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "text/plain";
	if (strcasecmp(dot, ".pdf") == 0)
		return "application/pdf";
	if (strcasecmp(dot, ".png") == 0)
		return "image/png";
	if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
		return "image/jpeg";
	if (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0)
		return "image/tiff";
	return "text/plain";
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
print_files(int argc, char **argv)
{
	char reason[512];
	int i, status = 0;

	for (i = 1; i < argc; i++) {
		struct extract_result r;
		double t0 = now_ms(), ms;
		enum fv_err e = extract_text(argv[i], mime_by_extension(argv[i]), &limits, &r,
		                             reason, sizeof reason);

		ms = now_ms() - t0;
		if (e != FV_OK) {
			fprintf(stderr, "%s: error %d: %s (%.0f ms)\n", argv[i], (int)e, reason,
			        ms);
			status = 1;
			continue;
		}
		fwrite(r.text, 1, r.len, stdout);
		fflush(stdout);
		fprintf(stderr, "%s: pages %d, ocr_pages %d, ocr_quality %.3f, %.0f ms\n", argv[i],
		        r.pages, r.ocr_pages, r.ocr_quality, ms);
		extract_result_free(&r);
	}
	return status;
}

/* ---- the text as lines ---- */

/* Whether s[0..len) holds word: in case for a short acronym, in any case otherwise. */
static int
has_word(const char *s, size_t len, const char *word)
{
	size_t wl = strlen(word), i;

	for (i = 0; i + wl <= len; i++)
		if (wl <= 3 ? strncmp(s + i, word, wl) == 0 : strncasecmp(s + i, word, wl) == 0)
			return 1;
	return 0;
}

/* Whether s[0..len) holds a number equal to want ("4.50" is 4.5, "<0.03" holds 0.03). */
static int
has_number(const char *s, size_t len, double want)
{
	size_t i = 0, j;
	char tmp[64];

	while (i < len) {
		if (s[i] < '0' || s[i] > '9') {
			i++;
			continue;
		}
		for (j = i; j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.'); j++)
			;
		if (j - i < sizeof tmp) {
			memcpy(tmp, s + i, j - i);
			tmp[j - i] = '\0';
			if (fabs(strtod(tmp, NULL) - want) < 1e-9)
				return 1;
		}
		i = j;
	}
	return 0;
}

/* A line of prose: words with single spaces, not table columns. */
static int
is_prose(const char *s, size_t len)
{
	while (len > 0 && s[0] == ' ')
		s++, len--;
	return len > 0 && !has_word(s, len, "  ");
}

/* Whether a line of text holds the number and a label word; in prose the label may end the line
 * before (a sentence broken over two lines). */
static int
value_on_a_line(const char *text, const struct label *lb, double want)
{
	const char *line = text, *prev = NULL, *end;
	size_t prev_len = 0;

	for (;; line = end + 1) {
		size_t len, k;
		int named = 0;

		for (end = line; *end && *end != '\n' && *end != '\f'; end++)
			;
		len = (size_t)(end - line);
		for (k = 0; k < 4 && lb->words[k]; k++) {
			named |= has_word(line, len, lb->words[k]);
			if (prev && is_prose(prev, prev_len) && is_prose(line, len))
				named |= has_word(prev, prev_len, lb->words[k]);
		}
		if (named && has_number(line, len, want))
			return 1;
		prev = line;
		prev_len = len;
		if (*end == '\0')
			return 0;
	}
}

static int
only_text_characters(const struct extract_result *r)
{
	size_t i;

	for (i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if ((c < ' ' && c != '\n' && c != '\f' && c != '\t') || c == 0x7f)
			return 0;
	}
	return strlen(r->text) == r->len;
}

static int
count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static int columns(const char *text, const char *a, const char *b);

/* ---- lines from word boxes ---- */

static struct layout_word
word(double x0, double y0, double x1, double y1, const char *text)
{
	struct layout_word w = {x0, y0, x1, y1, text, strlen(text)};

	return w;
}

static void
check_layout(void)
{
	struct buf b = {0};
	struct layout_word w[8];

	/* A table given column by column, its second column a little lower (a lean). */
	w[0] = word(100, 100, 190, 130, "Estradiol");
	w[1] = word(100, 140, 130, 170, "FSH");
	w[2] = word(600, 108, 640, 138, "212");
	w[3] = word(600, 148, 650, 178, "4.5");
	w[4] = word(142, 140, 192, 170, "(day");
	w[5] = word(200, 140, 212, 170, "3)");
	layout_page(w, 6, &b);
	OK(count_char(buf_cstr(&b), '\n') == 2 && columns(buf_cstr(&b), "Estradiol", "212") &&
	       columns(buf_cstr(&b), "FSH (day 3)", "4.5") &&
	       strstr(buf_cstr(&b), "212") - strstr(buf_cstr(&b), "Estradiol") ==
	           strstr(buf_cstr(&b), "4.5") - strstr(buf_cstr(&b), "FSH"),
	   "layout: rows from a table given by columns, its columns lined up");
	buf_reset(&b);

	/* A tall box (a logo read as a word) beside two rows does not join them. */
	w[0] = word(0, 90, 60, 180, "@");
	w[1] = word(100, 100, 190, 130, "LH");
	w[2] = word(300, 100, 340, 130, "5.3");
	w[3] = word(100, 140, 190, 170, "TSH");
	w[4] = word(300, 140, 340, 170, "1.9");
	layout_page(w, 5, &b);
	OK(strstr(buf_cstr(&b), "LH") && strstr(buf_cstr(&b), "TSH") &&
	       strchr(strstr(buf_cstr(&b), "LH"), '\n') < strstr(buf_cstr(&b), "TSH") &&
	       count_char(buf_cstr(&b), '\n') == 3,
	   "layout: a tall box keeps its own line and the rows apart");
	buf_reset(&b);

	w[0] = word(NAN, 0, 10, 10, "nan");
	w[1] = word(0, 0, INFINITY, 10, "inf");
	w[2] = word(0, 1e12, 10, 1e12 + 10, "far");
	layout_page(w, 3, &b);
	layout_page(w, 0, &b);
	OK(b.len == 0, "layout: boxes without a place on the page, or none, write nothing");
	buf_free(&b);
}

/* ---- the corpus ---- */

static const struct label *
label_of(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(labels[i].key, key) == 0)
			return &labels[i];
	return NULL;
}

static void
check_document(const char *dir, const char *file, json_object *truth)
{
	char path[4400], what[4400], reason[512];
	json_object *o, *values;
	struct extract_result r;
	const char *format = "";
	int pages = 0, scan;
	double t0 = now_ms();
	enum fv_err e;

	if (json_object_object_get_ex(truth, "format", &o))
		format = json_object_get_string(o);
	if (json_object_object_get_ex(truth, "pages", &o))
		pages = json_object_get_int(o);
	scan = strcmp(format, "text_pdf") != 0;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	e = extract_text(path, mime_by_extension(file), &limits, &r, reason, sizeof reason);
	snprintf(what, sizeof what, "%s: read (%s)", file, format);
	OK(e == FV_OK, what);
	if (e != FV_OK) {
		printf("#   %s\n", reason);
		return;
	}
	printf("# %s: %d pages, %d by OCR, OCR quality %.3f, %.0f ms\n", file, r.pages, r.ocr_pages,
	       r.ocr_quality, now_ms() - t0);
	snprintf(what, sizeof what, "%s: %d pages, pages apart by form feeds", file, pages);
	OK(r.pages == pages && count_char(r.text, '\f') == pages - 1, what);
	snprintf(what, sizeof what, "%s: %s", file,
	         scan ? "every page by OCR, with a good confidence"
	              : "no OCR, from the text layer");
	OK(scan ? r.ocr_pages == pages && r.ocr_quality >= 0.8 && r.ocr_quality <= 1
	        : r.ocr_pages == 0 && r.ocr_quality == 1,
	   what);
	snprintf(what, sizeof what, "%s: lines of text only", file);
	OK(only_text_characters(&r), what);
	if (json_object_object_get_ex(truth, "values", &values)) {
		json_object_object_foreach(values, key, v)
		{
			const struct label *lb = label_of(key);
			json_object *printed = v, *num;
			double want;

			json_object_object_get_ex(v, "reported", &printed);
			if (!json_object_object_get_ex(printed ? printed : v, "value", &num))
				num = NULL;
			want = num ? json_object_get_double(num) : NAN;
			snprintf(what, sizeof what, "%s: %s %g on one line with its label", file,
			         key, want);
			OK(lb && num && value_on_a_line(r.text, lb, want), what);
		}
	}
	extract_result_free(&r);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
check_corpus(void)
{
	char dir[4096], truth_path[4200];
	const char *env = getenv("FV_CORPUS_DIR");
	json_object *truth, *entry;
	struct dirent **list = NULL;
	int i, n;

	snprintf(dir, sizeof dir, "%s", env && *env ? env : "../shared/corpus/docs");
	snprintf(truth_path, sizeof truth_path, "%s/../truth.json", dir);
	truth = json_object_from_file(truth_path);
	OK(truth != NULL, "truth.json beside the corpus documents is read (FV_CORPUS_DIR)");
	n = scandir(dir, &list, NULL, by_name);
	OK(n > 2, "the corpus directory has documents");
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		if (name[0] != '.') {
			char what[512];

			snprintf(what, sizeof what, "%s: in truth.json", name);
			OK(truth && json_object_object_get_ex(truth, name, &entry), what);
			if (truth && json_object_object_get_ex(truth, name, &entry))
				check_document(dir, name, entry);
		}
		free(list[i]);
	}
	free(list);
	json_object_put(truth);
}

/* ---- documents written here ---- */

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

/* Draws text at (x, y) points (baseline) in DejaVu Sans. */
static void
draw_text(cairo_t *cr, double x, double y, double size, const char *s)
{
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
	                       CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

/* A two-page PDF: page 1 a text layer whose table is drawn column by column (all labels, then
 * all results), page 2 a scan (an image of the same kind of table, no text). */
static void
write_mixed_pdf(const char *path)
{
	static const char *lab[] = {"Estradiol", "Progesterone", "Anti-Mullerian Hormone"};
	static const char *res[] = {"212", "0.84", "1.37"};
	cairo_surface_t *pdf = cairo_pdf_surface_create(path, 612, 792), *img;
	cairo_t *cr = cairo_create(pdf), *ci;
	int i;

	cairo_set_source_rgb(cr, 0, 0, 0);
	draw_text(cr, 72, 72, 14, "Hormone panel");
	for (i = 0; i < 3; i++)
		draw_text(cr, 72, 120 + 20 * i, 11, lab[i]);
	for (i = 0; i < 3; i++)
		draw_text(cr, 330, 120 + 20 * i, 11, res[i]);
	cairo_show_page(cr);

	/* The scan: 300 dpi, the labels and results far apart, a slight lean. */
	img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 2550, 1200);
	ci = cairo_create(img);
	cairo_set_source_rgb(ci, 1, 1, 1);
	cairo_paint(ci);
	cairo_rotate(ci, 0.015);
	cairo_set_source_rgb(ci, 0, 0, 0);
	draw_text(ci, 300, 300, 46, "Semen analysis");
	draw_text(ci, 300, 500, 46, "Sperm concentration");
	draw_text(ci, 1500, 500, 46, "21.5 million/mL");
	draw_text(ci, 300, 600, 46, "Progressive motility");
	draw_text(ci, 1500, 600, 46, "38 %");
	cairo_destroy(ci);
	cairo_surface_flush(img);
	cairo_save(cr);
	cairo_scale(cr, 72.0 / 300, 72.0 / 300);
	cairo_set_source_surface(cr, img, 0, 0);
	cairo_paint(cr);
	cairo_restore(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_destroy(img);
	cairo_surface_finish(pdf);
	cairo_surface_destroy(pdf);
}

/* A one-page PDF turned by rotate degrees (/Rotate), its text in Helvetica: a table of three rows
 * and a note written up the right margin. */
static void
write_turned_pdf(const char *path, int rotate)
{
	static const char *rows[][3] = {{"Estradiol", "69", "pg/mL"},
	                                {"Progesterone", "0.61", "ng/mL"},
	                                {"Anti-Mullerian Hormone (AMH)", ">23.00", "ng/mL"}};
	char content[2048], obj[5][2300];
	size_t len = 0, i;
	long off[6];
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return;
	for (i = 0; i < 3; i++)
		len += (size_t)snprintf(
		    content + len, sizeof content - len,
		    "BT /F1 11 Tf 72 %zu Td (%s) Tj ET BT /F1 11 Tf 300 %zu Td (%s) "
		    "Tj ET BT /F1 11 Tf 380 %zu Td (%s) Tj ET\n",
		    700 - 16 * i, rows[i][0], 700 - 16 * i, rows[i][1], 700 - 16 * i, rows[i][2]);
	len += (size_t)snprintf(
	    content + len, sizeof content - len,
	    "BT /F1 8 Tf 0 1 -1 0 590 200 Tm (Printed by LIS version 3.2) Tj ET\n");
	snprintf(obj[0], sizeof obj[0], "<< /Type /Catalog /Pages 2 0 R >>");
	snprintf(obj[1], sizeof obj[1], "<< /Type /Pages /Count 1 /Kids [3 0 R] >>");
	snprintf(obj[2], sizeof obj[2],
	         "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Rotate %d /Resources "
	         "<< /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
	         rotate);
	snprintf(obj[3], sizeof obj[3], "<< /Length %zu >>\nstream\n%sendstream", len, content);
	snprintf(obj[4], sizeof obj[4], "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
	fprintf(f, "%%PDF-1.4\n");
	for (i = 0; i < 5; i++) {
		off[i] = ftell(f);
		fprintf(f, "%zu 0 obj\n%s\nendobj\n", i + 1, obj[i]);
	}
	off[5] = ftell(f);
	fprintf(f, "xref\n0 6\n0000000000 65535 f \n");
	for (i = 0; i < 5; i++)
		fprintf(f, "%010ld 00000 n \n", off[i]);
	fprintf(f, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", off[5]);
	fclose(f);
}

/* The line of text that holds s, as a new string, or NULL. */
static char *
line_with(const char *text, const char *s)
{
	const char *hit = strstr(text, s), *a, *b;
	char *line;

	if (hit == NULL)
		return NULL;
	for (a = hit; a > text && a[-1] != '\n' && a[-1] != '\f'; a--)
		;
	for (b = hit; *b && *b != '\n' && *b != '\f'; b++)
		;
	if ((line = malloc((size_t)(b - a) + 1)) == NULL)
		abort();
	memcpy(line, a, (size_t)(b - a));
	line[b - a] = '\0';
	return line;
}

/* Whether the line holding a has b after it, two or more spaces between. */
static int
columns(const char *text, const char *a, const char *b)
{
	char *line = line_with(text, a), *pa, *pb;
	int good = 0;

	if (line && (pa = strstr(line, a)) && (pb = strstr(pa + strlen(a), b))) {
		good = pb - (pa + strlen(a)) >= 2;
		for (pa += strlen(a); pa < pb; pa++)
			good &= *pa == ' ';
	}
	if (!good)
		printf("#   line: \"%s\"\n", line ? line : "(none)");
	free(line);
	return good;
}

static void
check_written(const char *dir)
{
	char path[4200], reason[512];
	struct extract_result r;
	enum fv_err e;
	int rot;

	snprintf(path, sizeof path, "%s/mixed.pdf", dir);
	write_mixed_pdf(path);
	e = extract_text(path, "application/pdf", &limits, &r, reason, sizeof reason);
	OK(e == FV_OK, "a PDF with a text page and a scanned page is read");
	if (e == FV_OK) {
		OK(r.pages == 2 && r.ocr_pages == 1, "only the scanned page is read by OCR");
		OK(r.ocr_quality > 0.8 && r.ocr_quality <= 1,
		   "the OCR quality is the words' confidence");
		OK(count_char(r.text, '\f') == 1 &&
		       strchr(r.text, '\f') > strstr(r.text, "Estradiol") &&
		       strchr(r.text, '\f') < strstr(r.text, "Semen"),
		   "a form feed separates the pages");
		OK(columns(r.text, "Estradiol", "212") && columns(r.text, "Progesterone", "0.84") &&
		       columns(r.text, "Anti-Mullerian Hormone", "1.37"),
		   "a table drawn column by column comes out row by row, with column gaps");
		OK(columns(r.text, "concentration", "21.5") && columns(r.text, "motility", "38"),
		   "a leaning scanned table comes out row by row, with column gaps");
		extract_result_free(&r);
	}

	for (rot = 0; rot < 360; rot += 90) {
		char what[200];

		snprintf(path, sizeof path, "%s/turned-%d.pdf", dir, rot);
		write_turned_pdf(path, rot);
		e = extract_text(path, "application/pdf", &limits, &r, reason, sizeof reason);
		snprintf(
		    what, sizeof what,
		    "a page turned by %d degrees reads in rows, a note up its margin on one line",
		    rot);
		OK(e == FV_OK && r.ocr_pages == 0 && columns(r.text, "Estradiol", "69") &&
		       columns(r.text, "69", "pg/mL") && columns(r.text, "(AMH)", ">23.00") &&
		       strstr(r.text, "Printed by LIS version 3.2\n"),
		   what);
		if (e == FV_OK)
			extract_result_free(&r);
	}

	snprintf(path, sizeof path, "%s/note.txt", dir);
	write_file(path, "AMH 1.2 ng/mL\r\nFSH 6.1 IU/L\r\n\r\nend", 34);
	e = extract_text(path, "text/plain", &limits, &r, reason, sizeof reason);
	OK(e == FV_OK && r.pages == 1 && r.ocr_pages == 0 && r.ocr_quality == 1,
	   "plain text is read as one page without OCR");
	if (e == FV_OK) {
		STR_EQ(r.text, "AMH 1.2 ng/mL\nFSH 6.1 IU/L\n\nend",
		       "plain text keeps its bytes, CRLF as LF");
		OK(r.len == strlen(r.text), "the length is the text's");
		extract_result_free(&r);
	}
}

/* ---- hostile files ---- */

static void
put_be32(unsigned char *p, unsigned long v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A PNG whose header says width x height; its data is a few bytes. */
static void
write_huge_png(const char *path, unsigned long width, unsigned long height)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char f[8 + 25 + 12];

	memcpy(f, sig, 8);
	put_be32(f + 8, 13);
	memcpy(f + 12, "IHDR", 4);
	put_be32(f + 16, width);
	put_be32(f + 20, height);
	f[24] = 8, f[25] = 0, f[26] = 0, f[27] = 0, f[28] = 0; /* 8-bit gray */
	put_be32(f + 29, crc32(0, f + 12, 17));
	put_be32(f + 33, 0);
	memcpy(f + 37, "IEND", 4);
	put_be32(f + 41, crc32(0, f + 37, 4));
	write_file(path, f, sizeof f);
}

/* A PDF of n pages of w x h points; each page empty. With encrypt, an /Encrypt dictionary whose
 * password is not the empty one. */
static void
write_pdf(const char *path, int n, double w, double h, int encrypt)
{
	FILE *f = fopen(path, "wb");
	long *off = calloc((size_t)n + 4, sizeof *off), xref;
	int i;

	if (f == NULL || off == NULL)
		abort();
	fprintf(f, "%%PDF-1.4\n");
	off[1] = ftell(f);
	fprintf(f, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[2] = ftell(f);
	fprintf(f, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", n);
	for (i = 0; i < n; i++)
		fprintf(f, " %d 0 R", i + 4);
	fprintf(f, " ] >>\nendobj\n");
	off[3] = ftell(f);
	fprintf(f,
	        "3 0 obj\n<< /Filter /Standard /V 1 /R 2 /P -4 /O <%064d> /U <%064d> >>\nendobj\n",
	        1, 2);
	for (i = 0; i < n; i++) {
		off[i + 4] = ftell(f);
		fprintf(f,
		        "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] >>\nendobj\n",
		        i + 4, w, h);
	}
	xref = ftell(f);
	fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", n + 4);
	for (i = 1; i < n + 4; i++)
		fprintf(f, "%010ld 00000 n \n", off[i]);
	fprintf(f, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%ld\n%%%%EOF\n", n + 4,
	        encrypt ? " /Encrypt 3 0 R /ID [<0123456789abcdef0123456789abcdef> "
	                  "<0123456789abcdef0123456789abcdef>]"
	                : "",
	        xref);
	fclose(f);
	free(off);
}

/* The first half of a PDF. */
static void
write_truncated(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb");
	char *data;
	long len;

	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if ((data = malloc((size_t)len)) == NULL)
		abort();
	if (fread(data, 1, (size_t)len, f) == (size_t)len)
		write_file(to, data, (size_t)len / 2);
	fclose(f);
	free(data);
}

static void
write_random(const char *path, size_t len)
{
	unsigned char *b = malloc(len);
	size_t i;
	unsigned x = 12345;

	if (b == NULL)
		abort();
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
	write_file(path, b, len);
	free(b);
}

/* A JPEG whose frame header says 30000 x 30000 (a small real JPEG, its size patched). */
static void
write_huge_jpeg(const char *path)
{
	PIX *pix = pixCreate(16, 16, 8);
	FILE *f;
	unsigned char buf[8192];
	size_t n, i;

	pixSetAllArbitrary(pix, 200);
	pixWriteJpeg(path, pix, 75, 0);
	pixDestroy(&pix);
	if ((f = fopen(path, "rb")) == NULL)
		return;
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	for (i = 0; i + 9 < n; i++) {
		if (buf[i] == 0xff && buf[i + 1] == 0xc0) {
			buf[i + 5] = 0x75, buf[i + 6] = 0x30; /* height 30000 */
			buf[i + 7] = 0x75, buf[i + 8] = 0x30; /* width 30000 */
			break;
		}
	}
	write_file(path, buf, n);
}

/* A TIFF of n small G4 pages. */
static void
write_tiff_pages(const char *path, int n)
{
	PIX *pix = pixCreate(64, 64, 1);
	int i;

	for (i = 0; i < n; i++)
		pixWriteTiff(path, pix, IFF_TIFF_G4, i == 0 ? "w" : "a");
	pixDestroy(&pix);
}

/* A valid 64 x 64 PNG. */
static void
write_small_png(const char *path)
{
	PIX *pix = pixCreate(64, 64, 8);

	pixSetAllArbitrary(pix, 255);
	pixWrite(path, pix, IFF_PNG);
	pixDestroy(&pix);
}

struct hostile {
	const char *file, *type, *want;
};

static void
check_hostile(const char *dir)
{
	static const struct hostile cases[] = {
	    {"huge.png", "image/png", "30000 x 30000 pixels, more than the 60-megapixel limit"},
	    {"huge.jpg", "image/jpeg", "30000 x 30000 pixels, more than the 60-megapixel limit"},
	    {"random.png", "image/png", "could not be read"},
	    {"random.tif", "image/tiff", "could not be read"},
	    {"small.png", "image/jpeg", "the image is not the image/jpeg it was taken for"},
	    {"pages.tif", "image/tiff", "the TIFF image has 60 pages; documents of at most 50"},
	    {"pages.pdf", "application/pdf",
	     "the PDF has 5000 pages; documents of at most 50 pages are analysed"},
	    {"huge-page.pdf", "application/pdf", "more than the 60-megapixel limit"},
	    {"truncated.pdf", "application/pdf", "could not be read"},
	    {"encrypted.pdf", "application/pdf", "password-protected; the PDF could not be read"},
	    {"random.pdf", "application/pdf", "the PDF could not be read"},
	    {"empty.pdf", "application/pdf", "the PDF could not be read"},
	};
	char path[4200], src[4200], what[600], reason[512];
	size_t i;

	snprintf(path, sizeof path, "%s/huge.png", dir);
	write_huge_png(path, 30000, 30000);
	snprintf(path, sizeof path, "%s/huge.jpg", dir);
	write_huge_jpeg(path);
	snprintf(path, sizeof path, "%s/random.png", dir);
	write_random(path, 20000);
	snprintf(path, sizeof path, "%s/random.tif", dir);
	write_random(path, 20000);
	snprintf(path, sizeof path, "%s/pages.tif", dir);
	write_tiff_pages(path, 60);
	snprintf(path, sizeof path, "%s/small.png", dir);
	write_small_png(path);
	snprintf(path, sizeof path, "%s/pages.pdf", dir);
	write_pdf(path, 5000, 612, 792, 0);
	snprintf(path, sizeof path, "%s/huge-page.pdf", dir);
	write_pdf(path, 1, 200000, 200000, 0);
	snprintf(path, sizeof path, "%s/encrypted.pdf", dir);
	write_pdf(path, 1, 612, 792, 1);
	snprintf(src, sizeof src, "%s/mixed.pdf", dir);
	snprintf(path, sizeof path, "%s/truncated.pdf", dir);
	write_truncated(src, path);
	snprintf(path, sizeof path, "%s/random.pdf", dir);
	write_random(path, 20000);
	snprintf(path, sizeof path, "%s/empty.pdf", dir);
	write_file(path, "", 0);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct extract_result r;
		double t0 = now_ms();
		enum fv_err e;

		snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
		e = extract_text(path, cases[i].type, &limits, &r, reason, sizeof reason);
		snprintf(what, sizeof what, "%s: refused: %s", cases[i].file, cases[i].want);
		OK(e == FV_EINVAL && strstr(reason, cases[i].want) && r.text == NULL, what);
		printf("#   \"%s\" in %.0f ms\n", reason, now_ms() - t0);
		if (e == FV_OK)
			extract_result_free(&r);
	}
}

static void
check_api(const char *dir)
{
	char path[4200], reason[512];
	struct extract_result r;
	struct extract_limits few = {1, 1000000, 300};

	OK(extract_text("/nonexistent/x.txt", "text/plain", &limits, &r, reason, sizeof reason) ==
	           FV_EINTERNAL &&
	       *reason,
	   "a missing file is an internal error");
	snprintf(path, sizeof path, "%s/note.txt", dir);
	OK(extract_text(path, "application/zip", &limits, &r, reason, sizeof reason) == FV_EINVAL &&
	       strstr(reason, "application/zip"),
	   "an unknown type is refused");
	snprintf(path, sizeof path, "%s/mixed.pdf", dir);
	OK(extract_text(path, "application/pdf", &few, &r, reason, sizeof reason) == FV_EINVAL &&
	       strstr(reason, "the PDF has 2 pages; documents of at most 1 pages"),
	   "the page limit is the caller's");
	OK(extract_text(path, "application/pdf", NULL, &r, reason, sizeof reason) == FV_OK &&
	       r.pages == 2,
	   "no limits: the defaults");
	extract_result_free(&r);
	extract_result_free(&r);
	OK(r.text == NULL, "extract_result_free twice is harmless");
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	char err[256], tmpl[] = "/tmp/fv-extract-XXXXXX";
	const char *dir;
	int fds;

	one_thread(argv);
	if (extract_init(NULL, err, sizeof err) != 0) {
		fprintf(stderr, "extract_init: %s\n", err);
		return 1;
	}
	if (argc > 1) {
		int status = print_files(argc, argv);

		extract_shutdown();
		return status;
	}
	OK(extract_init(NULL, err, sizeof err) == 0, "extract_init again is harmless");
	if ((dir = mkdtemp(tmpl)) == NULL) {
		OK(0, "make a temporary directory");
		return tap_done();
	}
	fds = count_fds();
	check_layout();
	check_written(dir);
	check_hostile(dir);
	check_api(dir);
	check_corpus();
	OK(count_fds() == fds, "no file descriptor is left open");
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	extract_shutdown();
	free_font_caches();
	return tap_done();
}
