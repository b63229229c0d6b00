/* test-sandbox.c: one analysis in a limited child process (sandbox.h): a result and its text come
 * back through the pipe; a file that cannot be analysed is FV_EINVAL with its reason; the
 * wall-clock limit kills a slow analysis (an image-only PDF of scanned pages written here from a
 * corpus JPEG) while the parent's tick keeps being called; a memory limit the analysis cannot live
 * with ends it with a reason that says so; and the parent goes on analysing after each of them.
 * The corpus is FV_CORPUS_DIR (default ../shared/corpus/docs). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sandbox.h"
#include "ocrtest.h"
#include "tap.h"

#define SCAN "SA_report.JPG"
#define SCAN_PAGES 8

static int ticks;

static void
count_tick(void *arg)
{
	(void)arg;
	ticks++;
}

static const char *
corpus_dir(void)
{
	const char *d = getenv("FV_CORPUS_DIR");

	return d && *d ? d : "../shared/corpus/docs";
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n)) != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	*len = p ? (size_t)n : 0;
	fclose(f);
	return p;
}

static int
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Width, height and components of a JPEG's frame header. */
static int
jpeg_size(const unsigned char *d, size_t n, int *w, int *h, int *comps)
{
	size_t i = 2;

	while (i + 9 < n) {
		unsigned m = d[i + 1], len = (unsigned)d[i + 2] << 8 | d[i + 3];

		if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
			*h = d[i + 5] << 8 | d[i + 6];
			*w = d[i + 7] << 8 | d[i + 8];
			*comps = d[i + 9];
			return 0;
		}
		i += 2 + len;
	}
	return -1;
}

/* An image-only PDF whose pages all show the JPEG at 300 dpi: every page needs OCR. */
static int
write_scan_pdf(const char *path, const unsigned char *jpg, size_t jlen, int pages)
{
	char content[128], head[256];
	long off[64];
	int w, h, comps, i, obj = 0, clen;
	double pw, ph;
	FILE *f;

	if (jpeg_size(jpg, jlen, &w, &h, &comps) != 0 || (f = fopen(path, "wb")) == NULL)
		return -1;
	pw = w * 72.0 / 300;
	ph = h * 72.0 / 300;
	clen = snprintf(content, sizeof(content), "q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q", pw, ph);
	fprintf(f, "%%PDF-1.4\n");
	off[++obj] = ftell(f);
	fprintf(f, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[++obj] = ftell(f);
	fprintf(f, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", pages);
	for (i = 0; i < pages; i++)
		fprintf(f, " %d 0 R", 5 + i);
	fprintf(f, " ] >>\nendobj\n");
	off[++obj] = ftell(f);
	snprintf(head, sizeof(head),
	         "<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s"
	         " /BitsPerComponent 8 /Filter /DCTDecode /Length %zu >>",
	         w, h, comps == 3 ? "DeviceRGB" : "DeviceGray", jlen);
	fprintf(f, "3 0 obj\n%s\nstream\n", head);
	fwrite(jpg, 1, jlen, f);
	fprintf(f, "\nendstream\nendobj\n");
	off[++obj] = ftell(f);
	fprintf(f, "4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", clen, content);
	for (i = 0; i < pages; i++) {
		off[++obj] = ftell(f);
		fprintf(f,
		        "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f]"
		        " /Contents 4 0 R /Resources << /XObject << /Im1 3 0 R >> >> >>\nendobj\n",
		        obj, pw, ph);
	}
	{
		long xref = ftell(f);

		fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", obj + 1);
		for (i = 1; i <= obj; i++)
			fprintf(f, "%010ld 00000 n \n", off[i]);
		fprintf(f, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n",
		        obj + 1, xref);
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* A plain PDF of n pages sharing one text content stream. */
static int
write_many_pages(const char *path, int n)
{
	static const char content[] = "BT /F1 12 Tf 72 720 Td (AMH 2.5 ng/mL) Tj ET";
	long *off = calloc((size_t)n + 6, sizeof(long)), xref;
	int i, total = n + 5;
	FILE *f = fopen(path, "wb");

	if (f == NULL || off == NULL) {
		free(off);
		if (f)
			fclose(f);
		return -1;
	}
	fprintf(f, "%%PDF-1.4\n");
	off[1] = ftell(f);
	fprintf(f, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[2] = ftell(f);
	fprintf(f, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", n);
	for (i = 0; i < n; i++)
		fprintf(f, " %d 0 R", 5 + i);
	fprintf(f, " ] >>\nendobj\n");
	off[3] = ftell(f);
	fprintf(f, "3 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n",
	        sizeof(content) - 1, content);
	off[4] = ftell(f);
	fprintf(f, "4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
	for (i = 0; i < n; i++) {
		off[5 + i] = ftell(f);
		fprintf(
		    f,
		    "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
		    " /Resources << /Font << /F1 4 0 R >> >> >>\nendobj\n",
		    5 + i);
	}
	xref = ftell(f);
	fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", total);
	for (i = 1; i < total; i++)
		fprintf(f, "%010ld 00000 n \n", off[i]);
	fprintf(f, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", total, xref);
	free(off);
	return fclose(f) == 0 ? 0 : -1;
}

static struct sandbox_limits
limits(long time_limit_s, size_t memory)
{
	struct sandbox_limits l = {{50, 60000000LL, 300}, time_limit_s, memory};

	return l;
}

/* A text document analyses, and its text comes back when asked for. */
static void
check_text(const char *dir, const char *what)
{
	struct sandbox_limits lim = limits(60, (size_t)2 << 30);
	char path[512], reason[512], *text = NULL;
	json_object *a = NULL, *values, *amh;
	enum fv_err e;

	snprintf(path, sizeof(path), "%s/amh.txt", dir);
	write_file(path, "Lab report\nAMH 2.5 ng/mL\n", 25);
	e = sandbox_analyze(path, "text/plain", &lim, true, NULL, &a, &text, reason,
	                    sizeof(reason));
	OK(e == FV_OK, what);
	if (e != FV_OK)
		printf("#   %s\n", reason);
	OK(a && json_object_object_get_ex(a, "values", &values) &&
	       json_object_object_get_ex(values, "amh", &amh),
	   "the analysis object came through the pipe with its values");
	OK(text && strstr(text, "AMH 2.5") != NULL, "the extracted text came with it");
	json_object_put(a);
	free(text);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/test-sandbox.XXXXXX", path[512], reason[512], scan[512];
	struct sandbox_tick tick = {count_tick, NULL, 50};
	struct sandbox_limits lim;
	json_object *a = NULL;
	char *text = NULL, *jpg;
	size_t jlen;
	enum fv_err e;

	(void)argc;
	one_thread(argv);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (extract_init(NULL, reason, sizeof(reason)) != 0) {
		printf("Bail out! extract_init: %s\n", reason);
		return 1;
	}
	check_text(dir, "a text document is analysed in the child");

	lim = limits(60, (size_t)2 << 30);
	snprintf(path, sizeof(path), "%s/missing.pdf", dir);
	e = sandbox_analyze(path, "application/pdf", &lim, false, NULL, &a, NULL, reason,
	                    sizeof(reason));
	OK(e != FV_OK && a == NULL && reason[0],
	   "a file that is not there is an error with a reason");

	snprintf(path, sizeof(path), "%s/pages.pdf", dir);
	write_many_pages(path, 3000);
	e = sandbox_analyze(path, "application/pdf", &lim, false, NULL, &a, NULL, reason,
	                    sizeof(reason));
	OK(e == FV_EINVAL && strstr(reason, "pages") != NULL,
	   "a PDF of 3000 pages is FV_EINVAL, with a reason naming the pages");
	printf("#   %s\n", reason);

	snprintf(path, sizeof(path), "%s/" SCAN, corpus_dir());
	snprintf(scan, sizeof(scan), "%s/scan.pdf", dir);
	if ((jpg = read_file(path, &jlen)) == NULL ||
	    write_scan_pdf(scan, (unsigned char *)jpg, jlen, SCAN_PAGES) != 0) {
		printf("Bail out! cannot read %s (FV_CORPUS_DIR) or write %s\n", path, scan);
		return 1;
	}
	free(jpg);

	lim = limits(1, (size_t)2 << 30);
	ticks = 0;
	e = sandbox_analyze(scan, "application/pdf", &lim, false, &tick, &a, NULL, reason,
	                    sizeof(reason));
	OK(e == FV_EUNAVAIL && strcmp(reason, "the analysis took longer than 1 s") == 0,
	   "an analysis over the wall-clock limit is killed: FV_EUNAVAIL, 'took longer than 1 s'");
	printf("#   %s\n", reason);
	OK(ticks >= 5, "the parent's tick runs (every 50 ms) while the child works");
	printf("#   %d ticks\n", ticks);

	lim = limits(60, 40u << 20);
	e = sandbox_analyze(scan, "application/pdf", &lim, false, NULL, &a, NULL, reason,
	                    sizeof(reason));
	OK(e == FV_EUNAVAIL && strstr(reason, "memory") != NULL,
	   "an analysis that cannot live in 40 MiB stops with a reason naming memory");
	printf("#   %s\n", reason);

	check_text(dir, "the parent analyses again after a killed and a crashed child");

	/* One page of the same scan, within the limits. */
	snprintf(path, sizeof(path), "%s/" SCAN, corpus_dir());
	jpg = read_file(path, &jlen);
	OK(jpg && write_scan_pdf(scan, (unsigned char *)jpg, jlen, 1) == 0, "a one-page scan");
	free(jpg);
	lim = limits(60, (size_t)2 << 30);
	e = sandbox_analyze(scan, "application/pdf", &lim, true, NULL, &a, &text, reason,
	                    sizeof(reason));
	OK(e == FV_OK && text != NULL, "a scanned page is analysed within the limits");
	json_object_put(a);
	free(text);

	unlink(scan);
	snprintf(path, sizeof(path), "%s/pages.pdf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/amh.txt", dir);
	unlink(path);
	rmdir(dir);
	extract_shutdown();
	return tap_done();
}
