/* filetype.c: upload content validation (see filetype.h for the contract).
 *
 * Layout: process state and messages; file reading helpers; the checks shared by every kind
 * (ZIP end record, data after the end); one section per kind (text, PNG, JPEG, TIFF, PDF); the
 * entry points. Every decoder reads through our own callbacks from the file descriptor, so that
 * memory stays bounded and we know exactly where each format's data ends. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <magic.h>
#include <png.h>
#include <poppler.h>
#include <tiffio.h>
#include <zlib.h>

#include "filetype.h"
#include "fileio.h"
#include "input.h"

#define CHUNK (64 * 1024)
/* libmagic reads at most this much: the types we care about are decided by their first bytes,
 * and our own checks read the rest of the file. */
#define MAGIC_BYTES 65536
#define ACCEPTED "accepted: PDF, PNG, JPEG, TIFF, plain text"
#define MSG_IO "could not read the uploaded file"
#define MSG_OOM "out of memory while checking the uploaded file"
#define MSG_TOO_LARGE                                                                              \
	"the image is too large to process (at most 20000 x 20000 pixels, 200 megapixels)"
/* libjpeg may use this much for progressive images (whole-image coefficient buffers). */
#define JPEG_MEM_MAX (256L << 20)
/* A progressive JPEG can make the decoder reprocess the image once per scan. */
#define JPEG_MAX_SCANS 200
/* Strips up to this size are read whole; larger ones a scanline at a time. */
#define TIFF_STRIP_MAX (16 << 20)
#define TIFF_ALLOC_MAX (256 << 20)
#define TIFF_MAX_PAGES 2000
/* Distinct messages naming libmagic's types: bounded because its database is. */
#define POOL_MAX 512

/* ------------------------------------------------------------------------------------------ */
/* Process state and messages */

static magic_t cookie;
static char *pool[POOL_MAX];
static size_t npool;

enum kind { K_PDF, K_PNG, K_JPEG, K_TIFF, K_TEXT, K_NONE };

static const struct {
	const char *mime;
	const char *name;
	const char *appended; /* data after the end that is not another known format */
} kinds[] = {
    [K_PDF] = {"application/pdf", "a PDF document",
               "the file has other data appended after the end of the PDF document"},
    [K_PNG] = {"image/png", "a PNG image",
               "the file has other data appended after the end of the PNG image"},
    [K_JPEG] = {"image/jpeg", "a JPEG image",
                "the file has other data appended after the end of the JPEG image"},
    [K_TIFF] = {"image/tiff", "a TIFF image", "the file has other data appended to the TIFF image"},
    [K_TEXT] = {"text/plain", "a text file", "the text file has other data appended"},
};

/* Names for people of what libmagic reports; prefixes end in '/'. */
static const struct {
	const char *mime;
	const char *name;
} mime_names[] = {
    {"application/zip", "a ZIP archive"},
    {"application/x-executable", "an executable program (ELF)"},
    {"application/x-pie-executable", "an executable program (ELF)"},
    {"application/x-sharedlib", "a shared library (ELF)"},
    {"application/x-object", "an object file (ELF)"},
    {"application/x-coredump", "a core dump"},
    {"application/x-mach-binary", "a macOS program"},
    {"application/vnd.microsoft.portable-executable", "a Windows program"},
    {"application/x-dosexec", "a Windows or DOS program"},
    {"application/x-msdownload", "a Windows program"},
    {"application/java-archive", "a Java archive"},
    {"application/x-java-applet", "a Java class file"},
    {"text/html", "an HTML document"},
    {"application/xhtml+xml", "an HTML document"},
    {"image/svg+xml", "an SVG image"},
    {"text/x-shellscript", "a shell script"},
    {"text/x-script.python", "a Python script"},
    {"text/x-python", "a Python script"},
    {"text/x-perl", "a Perl script"},
    {"text/x-script.perl", "a Perl script"},
    {"text/x-ruby", "a Ruby script"},
    {"text/x-php", "a PHP script"},
    {"text/x-msdos-batch", "a Windows batch script"},
    {"application/javascript", "a JavaScript program"},
    {"text/javascript", "a JavaScript program"},
    {"application/json", "a JSON document"},
    {"text/xml", "an XML document"},
    {"application/xml", "an XML document"},
    {"text/csv", "a CSV table"},
    {"text/rtf", "an RTF document"},
    {"application/rtf", "an RTF document"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "a Word document (DOCX)"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "an Excel workbook (XLSX)"},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "a PowerPoint presentation (PPTX)"},
    {"application/msword", "a Word document"},
    {"application/vnd.ms-excel", "an Excel workbook"},
    {"application/vnd.ms-powerpoint", "a PowerPoint presentation"},
    {"application/vnd.ms-office", "a Microsoft Office document"},
    {"application/x-ole-storage", "a Microsoft Office document"},
    {"application/CDFV2", "a Microsoft Office document"},
    {"application/vnd.oasis.opendocument.text", "an OpenDocument text"},
    {"application/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet"},
    {"application/epub+zip", "an EPUB book"},
    {"application/gzip", "a gzip archive"},
    {"application/x-gzip", "a gzip archive"},
    {"application/x-bzip2", "a bzip2 archive"},
    {"application/x-xz", "an xz archive"},
    {"application/zstd", "a zstd archive"},
    {"application/x-tar", "a tar archive"},
    {"application/x-7z-compressed", "a 7-Zip archive"},
    {"application/x-rar", "a RAR archive"},
    {"application/vnd.rar", "a RAR archive"},
    {"application/x-iso9660-image", "a disk image"},
    {"application/x-cpio", "a cpio archive"},
    {"application/vnd.debian.binary-package", "a Debian package"},
    {"application/x-rpm", "an RPM package"},
    {"application/postscript", "a PostScript document"},
    {"application/dicom", "a DICOM image"},
    {"application/x-shockwave-flash", "a Flash file"},
    {"message/rfc822", "an e-mail message"},
    {"application/octet-stream", "binary data of an unknown kind"},
    {"image/gif", "a GIF image"},
    {"image/webp", "a WebP image"},
    {"image/bmp", "a BMP image"},
    {"image/x-ms-bmp", "a BMP image"},
    {"image/heic", "a HEIC image"},
    {"image/heif", "a HEIF image"},
    {"image/avif", "an AVIF image"},
    {"image/jp2", "a JPEG 2000 image"},
    {"image/vnd.microsoft.icon", "an icon"},
    {"image/", "an image in a format that is not accepted"},
    {"video/", "a video"},
    {"audio/", "an audio file"},
    {"font/", "a font"},
    {"text/x-", "a script or program source"},
    {"text/", "a text file of a kind that is not accepted"},
};

/* Returns a process-lifetime copy of s (one per distinct text), or fallback when the pool is
 * full or memory runs out. */
static const char *
intern(const char *s, const char *fallback)
{
	char *c;
	size_t i;

	for (i = 0; i < npool; i++)
		if (strcmp(pool[i], s) == 0)
			return pool[i];
	if (npool == POOL_MAX || (c = strdup(s)) == NULL)
		return fallback;
	pool[npool++] = c;
	return c;
}

static const char *
mime_name(const char *mime)
{
	size_t i, n;

	/* Entries ending in '/' or '-' are prefixes ("image/", "text/x-"), the others exact. */
	for (i = 0; i < sizeof mime_names / sizeof mime_names[0]; i++) {
		const char *e = mime_names[i].mime;
		n = strlen(e);
		if (strchr("/-", e[n - 1]) ? strncmp(mime, e, n) == 0 && mime[n] != '\0'
		                           : strcmp(mime, e) == 0)
			return mime_names[i].name;
	}
	return "a file of a kind that is not accepted";
}

/* libmagic's answer is data from its database, but it goes into a message for a person: keep it
 * to the characters a media type has. */
static const char *
safe_mime(const char *mime)
{
	size_t i, n = strlen(mime);

	if (n == 0 || n > 100)
		return "unknown";
	for (i = 0; i < n; i++)
		if (!((mime[i] >= 'a' && mime[i] <= 'z') || (mime[i] >= 'A' && mime[i] <= 'Z') ||
		      (mime[i] >= '0' && mime[i] <= '9') || strchr("/.+-_", mime[i])))
			return "unknown";
	return mime;
}

static const char *
msg_unaccepted(const char *mime)
{
	char s[256];

	mime = safe_mime(mime);
	snprintf(s, sizeof s, "the file is %s (%s); " ACCEPTED, mime_name(mime), mime);
	return intern(s, "the file is not of an accepted kind; " ACCEPTED);
}

static const char *
msg_both(enum kind k, const char *other)
{
	char s[256];

	snprintf(s, sizeof s, "the file is both %s and %s", kinds[k].name, other);
	return intern(s, "the file is a polyglot: it is more than one kind of file at once");
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

/* A forward reader over the file with one CHUNK of buffer. */
struct fdbuf {
	int fd;
	uint64_t off; /* file offset of the byte after the buffer's end */
	unsigned char *buf;
	size_t len, pos;
	bool ioerr;
};

static bool
fdbuf_fill(struct fdbuf *b)
{
	ssize_t r = fd_pread_full(b->fd, b->buf, CHUNK, b->off);

	if (r < 0)
		b->ioerr = true;
	if (r <= 0)
		return false;
	b->len = (size_t)r;
	b->pos = 0;
	b->off += (uint64_t)r;
	return true;
}

/* Offset of the next unread byte. */
static uint64_t
fdbuf_tell(const struct fdbuf *b)
{
	return b->off - (b->len - b->pos);
}

/* ------------------------------------------------------------------------------------------ */
/* Polyglots: what every kind is checked for */

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* true when the file ends in a ZIP end-of-central-directory record, i.e. a ZIP reader would
 * open it. Readers look for the record (22 bytes and a comment of up to 65535) from the end; a
 * record counts when its comment length reaches exactly to the end of the file. */
static int
has_zip_end(int fd, uint64_t size)
{
	size_t want = size < 22 + 65535 ? (size_t)size : 22 + 65535, i;
	unsigned char *b;
	ssize_t got;
	int found = 0;

	if (want < 22)
		return 0;
	if ((b = malloc(want)) == NULL)
		return -1;
	got = fd_pread_full(fd, b, want, size - want);
	if (got != (ssize_t)want) {
		free(b);
		return -1;
	}
	for (i = want - 22 + 1; i-- > 0;) {
		uint32_t cd_size = le32(b + i + 12), cd_off = le32(b + i + 16);
		if (memcmp(b + i, "PK\5\6", 4) != 0)
			continue;
		if (i + 22 + (b[i + 20] | (size_t)b[i + 21] << 8) != want)
			continue;
		if (cd_off == 0xFFFFFFFFu || (uint64_t)cd_off + cd_size <= size - want + i) {
			found = 1;
			break;
		}
	}
	free(b);
	return found;
}

static bool
starts_nocase(const unsigned char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && strncasecmp((const char *)p, s, k) == 0;
}

/* What the bytes after a format's end start with, when that is a format worth naming. */
static const char *
signature_name(const unsigned char *p, size_t n)
{
	static const struct {
		const char *sig;
		size_t len, at;
		const char *name;
	} sigs[] = {
	    {"PK\3\4", 4, 0, "a ZIP archive"},
	    {"PK\5\6", 4, 0, "a ZIP archive"},
	    {"PK\7\10", 4, 0, "a ZIP archive"},
	    {"%PDF-", 5, 0, "a PDF document"},
	    {"\177ELF", 4, 0, "an executable program (ELF)"},
	    {"MZ", 2, 0, "a Windows program"},
	    {"#!", 2, 0, "a script"},
	    {"\377\330\377", 3, 0, "a JPEG image"},
	    {"\211PNG", 4, 0, "a PNG image"},
	    {"GIF8", 4, 0, "a GIF image"},
	    {"II*\0", 4, 0, "a TIFF image"},
	    {"MM\0*", 4, 0, "a TIFF image"},
	    {"Rar!", 4, 0, "a RAR archive"},
	    {"7z\274\257\047\034", 6, 0, "a 7-Zip archive"},
	    {"\037\213", 2, 0, "a gzip archive"},
	    {"ftyp", 4, 4, "a video"},
	};
	static const char *const html[] = {"<!doctype", "<html",   "<head",  "<body", "<script",
	                                   "<iframe",   "<object", "<embed", "<meta", "<a ",
	                                   "<img",      "<div",    "<style", "<form"};
	size_t i;

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (n >= sigs[i].at + sigs[i].len &&
		    memcmp(p + sigs[i].at, sigs[i].sig, sigs[i].len) == 0)
			return sigs[i].name;
	for (i = 0; i < sizeof html / sizeof html[0]; i++)
		if (starts_nocase(p, n, html[i]))
			return "an HTML document";
	if (starts_nocase(p, n, "<svg"))
		return "an SVG image";
	if (starts_nocase(p, n, "<?xml"))
		return "an XML document";
	return NULL;
}

/* The bytes from end to the end of the file: padding (white space, NUL) is fine, a known
 * signature or more than FT_TRAILING_ALLOWANCE bytes make the file a polyglot. */
static enum fv_err
check_trailing(int fd, uint64_t size, uint64_t end, enum kind k, const char **msg)
{
	unsigned char b[4096];
	size_t skip = 0;
	ssize_t n;
	const char *name, *m;

	if (end >= size)
		return FV_OK;
	n = fd_pread_full(fd, b, size - end < sizeof b ? (size_t)(size - end) : sizeof b, end);
	if (n < 0) {
		*msg = MSG_IO;
		return FV_EINTERNAL;
	}
	while (skip < (size_t)n && (b[skip] == 0 || strchr(" \t\r\n\f", b[skip])))
		skip++;
	name = signature_name(b + skip, (size_t)n - skip);
	if (name == NULL && size - end - skip > FT_TRAILING_ALLOWANCE) {
		m = magic_buffer(cookie, b + skip, (size_t)n - skip);
		if (m && strcmp(m, "application/octet-stream") != 0 &&
		    strncmp(m, "text/plain", 10) && strcmp(m, "application/x-empty") != 0)
			name = mime_name(safe_mime(m));
		else {
			*msg = kinds[k].appended;
			return FV_EMEDIATYPE;
		}
	}
	if (name == NULL)
		return FV_OK;
	*msg = msg_both(k, name);
	return FV_EMEDIATYPE;
}

/* ------------------------------------------------------------------------------------------ */
/* Plain text: UTF-8 (ASCII included) without NUL bytes, checked over the whole file because
 * libmagic looks at the first MAGIC_BYTES only. */

struct utf8 {
	int need;             /* continuation bytes still expected */
	unsigned char lo, hi; /* range of the next continuation byte */
};

/* false on a byte that cannot come next in well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static bool
utf8_step(struct utf8 *u, unsigned char c)
{
	if (u->need > 0) {
		if (c < u->lo || c > u->hi)
			return false;
		u->lo = 0x80;
		u->hi = 0xBF;
		u->need--;
		return true;
	}
	if (c < 0x80)
		return true;
	u->lo = 0x80;
	u->hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		u->need = 1;
	else if (c >= 0xE0 && c <= 0xEF)
		u->need = 2;
	else if (c >= 0xF0 && c <= 0xF4)
		u->need = 3;
	else
		return false;
	if (c == 0xE0)
		u->lo = 0xA0;
	else if (c == 0xED)
		u->hi = 0x9F;
	else if (c == 0xF0)
		u->lo = 0x90;
	else if (c == 0xF4)
		u->hi = 0x8F;
	return true;
}

static enum fv_err
text_check(int fd, uint64_t size, unsigned char *buf, const char **msg)
{
	struct utf8 u = {0, 0x80, 0xBF};
	uint64_t off;
	ssize_t n, i;

	for (off = 0; off < size; off += (uint64_t)n) {
		if ((n = fd_pread_full(fd, buf, CHUNK, off)) <= 0) {
			*msg = MSG_IO;
			return FV_EINTERNAL;
		}
		if (memchr(buf, 0, (size_t)n)) {
			*msg =
			    "the file contains NUL bytes, so it is binary data or UTF-16 text, not "
			    "plain text; " ACCEPTED " (UTF-8)";
			return FV_EMEDIATYPE;
		}
		for (i = 0; i < n; i++)
			if (!utf8_step(&u, buf[i]))
				break;
		if (i < n)
			break;
	}
	if (off < size || u.need > 0) {
		*msg = "the text file is not UTF-8 (plain text must be UTF-8 or ASCII)";
		return FV_EMEDIATYPE;
	}
	return FV_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Image decoding, shared by the decoders: their verdict and the size limits */

enum verdict { V_OK, V_DAMAGED, V_TOO_LARGE, V_IO, V_OOM };

static bool
too_large(uint64_t w, uint64_t h)
{
	return w == 0 || h == 0 ? false
	                        : w > FT_MAX_WIDTH || h > FT_MAX_HEIGHT || w * h > FT_MAX_PIXELS;
}

/* ------------------------------------------------------------------------------------------ */
/* PNG: libpng decodes every row (every pass of an interlaced image) into one row buffer; the
 * read callback counts what libpng consumed, which after png_read_end is the end of IEND. */

struct png_run {
	struct fdbuf src;
	enum verdict v;
	unsigned char *row;
};

static void
png_on_error(png_structp png, png_const_charp what)
{
	struct png_run *r = png_get_error_ptr(png);

	(void)what;
	if (r->v == V_OK)
		r->v = r->src.ioerr ? V_IO : V_DAMAGED;
	png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp what)
{
	/* Warnings are about ancillary chunks libpng then ignores; they must not reach stderr. */
	(void)png;
	(void)what;
}

static void
png_on_read(png_structp png, png_bytep out, size_t n)
{
	struct png_run *r = png_get_io_ptr(png);
	size_t k;

	while (n > 0) {
		if (r->src.pos == r->src.len && !fdbuf_fill(&r->src))
			png_error(png, "truncated");
		k = r->src.len - r->src.pos < n ? r->src.len - r->src.pos : n;
		memcpy(out, r->src.buf + r->src.pos, k);
		r->src.pos += k;
		out += k;
		n -= k;
	}
}

/* Runs under png's setjmp: errors longjmp out with r->v set. */
static void
png_decode(png_structp png, png_infop info, struct png_run *r)
{
	png_uint_32 w, h, y;
	int pass, passes;

	png_set_read_fn(png, r, png_on_read);
	/* Our own caps decide "too large" with a clear message, so let libpng read any IHDR. */
	png_set_user_limits(png, 0x7fffffffL, 0x7fffffffL);
	png_set_chunk_malloc_max(png, 8 << 20);
	png_read_info(png, info);
	w = png_get_image_width(png, info);
	h = png_get_image_height(png, info);
	if (too_large(w, h)) {
		r->v = V_TOO_LARGE;
		return;
	}
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if ((r->row = malloc(png_get_rowbytes(png, info))) == NULL) {
		r->v = V_OOM;
		return;
	}
	for (pass = 0; pass < passes; pass++)
		for (y = 0; y < h; y++)
			png_read_row(png, r->row, NULL);
	png_read_end(png, NULL);
}

static enum verdict
png_check(int fd, unsigned char *buf, uint64_t *end)
{
	struct png_run r = {.src = {.fd = fd, .buf = buf}};
	png_structp png;
	png_infop info;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
	if (png == NULL)
		return V_OOM;
	if ((info = png_create_info_struct(png)) == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		return V_OOM;
	}
	if (setjmp(png_jmpbuf(png)) == 0)
		png_decode(png, info, &r);
	png_destroy_read_struct(&png, &info, NULL);
	free(r.row);
	*end = fdbuf_tell(&r.src);
	return r.v;
}

/* ------------------------------------------------------------------------------------------ */
/* JPEG: libjpeg-turbo with our source manager (so we know where EOI ends) and error manager
 * (errors longjmp, corruption warnings count as damage, nothing is printed). Decoding at 1/8
 * scale still entropy-decodes every coefficient, which is where damage shows, at a fraction of
 * the cost. */

struct jpeg_run {
	struct jpeg_error_mgr err;
	struct jpeg_source_mgr src;
	struct jpeg_progress_mgr progress;
	jmp_buf jb;
	struct fdbuf in;
	enum verdict v;
	unsigned char *row;
};

static struct jpeg_run *
jpeg_run_of(j_common_ptr c)
{
	return (struct jpeg_run *)(void *)((char *)c->err - offsetof(struct jpeg_run, err));
}

static void
jpeg_fail(j_common_ptr c, enum verdict v)
{
	struct jpeg_run *r = jpeg_run_of(c);

	if (r->v == V_OK)
		r->v = v;
	longjmp(r->jb, 1);
}

static void
jpeg_on_error(j_common_ptr c)
{
	int code = c->err->msg_code;

	jpeg_fail(c, code == JERR_NO_BACKING_STORE || code == JERR_OUT_OF_MEMORY ? V_TOO_LARGE
	                                                                         : V_DAMAGED);
}

/* Level -1 is a warning; the ones listed mean the entropy-coded data is broken or cut short
 * (libjpeg would otherwise fill the rest of the image with grey and carry on). */
static void
jpeg_on_message(j_common_ptr c, int level)
{
	switch (level < 0 ? c->err->msg_code : -1) {
	case JWRN_JPEG_EOF:
	case JWRN_HIT_MARKER:
	case JWRN_HUFF_BAD_CODE:
	case JWRN_ARITH_BAD_CODE:
	case JWRN_MUST_RESYNC:
	case JWRN_NOT_SEQUENTIAL:
	case JWRN_BOGUS_PROGRESSION:
		jpeg_fail(c, V_DAMAGED);
		break;
	default:
		break;
	}
}

static void
jpeg_on_output(j_common_ptr c)
{
	(void)c;
}

static void
jpeg_on_progress(j_common_ptr c)
{
	if (((j_decompress_ptr)c)->input_scan_number > JPEG_MAX_SCANS)
		jpeg_fail(c, V_DAMAGED);
}

static void
jpeg_src_init(j_decompress_ptr d)
{
	(void)d;
}

static boolean
jpeg_src_fill(j_decompress_ptr d)
{
	struct jpeg_run *r = jpeg_run_of((j_common_ptr)d);

	if (!fdbuf_fill(&r->in))
		jpeg_fail((j_common_ptr)d, r->in.ioerr ? V_IO : V_DAMAGED); /* truncated */
	d->src->next_input_byte = r->in.buf;
	d->src->bytes_in_buffer = r->in.len; /* libjpeg tracks the position from here on */
	return TRUE;
}

static void
jpeg_src_skip(j_decompress_ptr d, long n)
{
	struct jpeg_run *r = jpeg_run_of((j_common_ptr)d);

	if (n <= 0)
		return;
	if ((size_t)n <= d->src->bytes_in_buffer) {
		d->src->next_input_byte += n;
		d->src->bytes_in_buffer -= (size_t)n;
		return;
	}
	/* Skip in the file; a skip past its end shows at the next fill. */
	r->in.off += (uint64_t)n - d->src->bytes_in_buffer;
	d->src->bytes_in_buffer = 0;
}

static void
jpeg_src_term(j_decompress_ptr d)
{
	(void)d;
}

static void
jpeg_decode(struct jpeg_decompress_struct *d, struct jpeg_run *r)
{
	JSAMPROW rows[1];

	jpeg_create_decompress(d);
	d->mem->max_memory_to_use = JPEG_MEM_MAX;
	d->src = &r->src;
	d->progress = &r->progress;
	if (jpeg_read_header(d, TRUE) != JPEG_HEADER_OK) {
		r->v = V_DAMAGED;
		return;
	}
	if (too_large(d->image_width, d->image_height)) {
		r->v = V_TOO_LARGE;
		return;
	}
	d->scale_num = 1;
	d->scale_denom = 8;
	d->dct_method = JDCT_IFAST;
	d->do_fancy_upsampling = FALSE;
	jpeg_start_decompress(d);
	r->row = malloc((size_t)d->output_width * (size_t)d->output_components);
	if (r->row == NULL) {
		r->v = V_OOM;
		return;
	}
	rows[0] = r->row;
	while (d->output_scanline < d->output_height)
		jpeg_read_scanlines(d, rows, 1);
	jpeg_finish_decompress(d);
}

static enum verdict
jpeg_check(int fd, unsigned char *buf, uint64_t *end)
{
	struct jpeg_decompress_struct d;
	struct jpeg_run r;

	memset(&d, 0, sizeof d);
	memset(&r, 0, sizeof r);
	r.in.fd = fd;
	r.in.buf = buf;
	d.err = jpeg_std_error(&r.err);
	r.err.error_exit = jpeg_on_error;
	r.err.emit_message = jpeg_on_message;
	r.err.output_message = jpeg_on_output;
	r.src.init_source = jpeg_src_init;
	r.src.fill_input_buffer = jpeg_src_fill;
	r.src.skip_input_data = jpeg_src_skip;
	r.src.resync_to_restart = jpeg_resync_to_restart;
	r.src.term_source = jpeg_src_term;
	r.progress.progress_monitor = jpeg_on_progress;
	if (setjmp(r.jb) == 0)
		jpeg_decode(&d, &r);
	*end = r.in.off - r.src.bytes_in_buffer;
	jpeg_destroy_decompress(&d);
	free(r.row);
	return r.v;
}

/* ------------------------------------------------------------------------------------------ */
/* TIFF: libtiff through client procedures on the descriptor (no memory mapping), with per-handle
 * error handlers (nothing printed), every directory decoded strip by strip or tile by tile. */

struct tiff_src {
	int fd;
	uint64_t size, pos;
	int errors;
	bool ioerr;
};

static tmsize_t
tiff_read(thandle_t h, void *buf, tmsize_t n)
{
	struct tiff_src *s = h;
	ssize_t r;

	if (n <= 0)
		return 0;
	if ((r = fd_pread_full(s->fd, buf, (size_t)n, s->pos)) < 0) {
		s->ioerr = true;
		return -1;
	}
	s->pos += (uint64_t)r;
	return (tmsize_t)r;
}

static tmsize_t
tiff_write(thandle_t h, void *buf, tmsize_t n)
{
	(void)h;
	(void)buf;
	(void)n;
	return -1;
}

static toff_t
tiff_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_src *s = h;
	uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->size : 0;

	if (off > UINT64_MAX - base)
		return (toff_t)-1;
	s->pos = base + off;
	return s->pos;
}

static int
tiff_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t
tiff_size(thandle_t h)
{
	return ((struct tiff_src *)h)->size;
}

static int
tiff_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

static void
tiff_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

static int
tiff_on_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)t;
	(void)module;
	(void)fmt;
	(void)ap;
	((struct tiff_src *)user)->errors++;
	return 1; /* handled: libtiff's global handler (stderr) is not called */
}

static int
tiff_on_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)t;
	(void)user;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

static void
tiff_silent(const char *module, const char *fmt, va_list ap)
{
	(void)module;
	(void)fmt;
	(void)ap;
}

/* Reads every strip or tile of the current directory. */
static enum verdict
tiff_decode_page(TIFF *t, const struct tiff_src *s)
{
	uint32_t w = 0, h = 0, i, n, row;
	uint16_t spp = 1, planar = PLANARCONFIG_CONTIG, sample, nsamples;
	uint64_t size;
	void *buf;
	bool ok = true, tiled = TIFFIsTiled(t), whole;

	if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h))
		return V_DAMAGED;
	if (too_large(w, h))
		return V_TOO_LARGE;
	TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
	size = tiled ? TIFFTileSize64(t) : TIFFStripSize64(t);
	whole = tiled || size <= TIFF_STRIP_MAX;
	if (!whole)
		size = TIFFScanlineSize64(t);
	if (size == 0 || s->errors)
		return V_DAMAGED;
	if (size > TIFF_ALLOC_MAX)
		return V_TOO_LARGE;
	if ((buf = malloc((size_t)size)) == NULL)
		return V_OOM;
	if (whole) {
		n = tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
		for (i = 0; ok && i < n; i++)
			ok = (tiled ? TIFFReadEncodedTile(t, i, buf, (tmsize_t)size)
			            : TIFFReadEncodedStrip(t, i, buf, (tmsize_t)size)) >= 0;
	} else {
		nsamples = planar == PLANARCONFIG_SEPARATE ? spp : 1;
		for (sample = 0; ok && sample < nsamples; sample++)
			for (row = 0; ok && row < h; row++)
				ok = TIFFReadScanline(t, buf, row, sample) >= 0;
	}
	free(buf);
	return ok && s->errors == 0 ? V_OK : V_DAMAGED;
}

static enum verdict
tiff_check(int fd, uint64_t size)
{
	struct tiff_src s = {.fd = fd, .size = size};
	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	enum verdict v = V_OK;
	TIFF *t;
	int pages = 0;

	if (opts == NULL)
		return V_OOM;
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, TIFF_ALLOC_MAX);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_on_error, &s);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_on_warning, &s);
	t = TIFFClientOpenExt("upload", "rm", &s, tiff_read, tiff_write, tiff_seek, tiff_close,
	                      tiff_size, tiff_map, tiff_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (t == NULL)
		return s.ioerr ? V_IO : V_DAMAGED;
	do {
		if (++pages > TIFF_MAX_PAGES)
			v = V_TOO_LARGE;
		else
			v = tiff_decode_page(t, &s);
	} while (v == V_OK && TIFFReadDirectory(t));
	if (v == V_OK && s.errors)
		v = V_DAMAGED; /* a directory that failed to read ends the loop with an error */
	TIFFClose(t);
	return s.ioerr ? V_IO : v;
}

/* ------------------------------------------------------------------------------------------ */
/* PDF: one pass over the bytes with three cooperating scanners.
 * - The raw name scanner sees every byte (strings, comments and stream data included, because a
 *   reader follows the cross-reference table to objects wherever they are) and flags dangerous
 *   names after undoing #xx escapes as poppler does. Short names (/JS, /XFA, /EF) also need a
 *   value after them, so that binary image data does not trip them by chance.
 * - The structure lexer follows tokens, strings and dictionaries to learn, for each stream, the
 *   keys of its dictionary: an object stream (/N and /First, which poppler requires) in
 *   FlateDecode is inflated and its objects raw-scanned; one in any other encoding cannot be
 *   checked and is refused.
 * - A raw "stream" keyword seen where the lexer is not reading tokens (inside a string, a comment
 *   or another stream) means the file can be read two ways: the data after it is inflated and
 *   scanned if it is zlib, and otherwise the file is refused as irregular. */

enum pdf_finding {
	PF_JS = 1 << 0,
	PF_LAUNCH = 1 << 1,
	PF_EMBED = 1 << 2,
	PF_RICHMEDIA = 1 << 3,
	PF_XFA = 1 << 4,
	PF_SUBMIT = 1 << 5,
	PF_IMPORT = 1 << 6,
	PF_GOTOE = 1 << 7,
	PF_ENCRYPT = 1 << 8,
	PF_OPAQUE = 1 << 9,
	PF_IRREGULAR = 1 << 10,
	PF_BOMB = 1 << 11,
};

static const struct {
	unsigned flag;
	const char *msg;
} pdf_msgs[] = {
    {PF_JS, "the PDF contains JavaScript"},
    {PF_LAUNCH, "the PDF contains a Launch action, which can start programs"},
    {PF_EMBED, "the PDF contains embedded files"},
    {PF_RICHMEDIA, "the PDF contains rich media (Flash or video)"},
    {PF_XFA, "the PDF contains an XFA form, which can carry scripts"},
    {PF_SUBMIT, "the PDF contains a form that submits data to a web address (SubmitForm)"},
    {PF_IMPORT, "the PDF contains an ImportData action"},
    {PF_GOTOE, "the PDF contains a link into an embedded file (GoToE)"},
    {PF_ENCRYPT, "the PDF is encrypted; save it without a password or restrictions and "
                 "upload it again"},
    {PF_OPAQUE, "the PDF stores objects in an encoding that cannot be checked for active "
                "content"},
    {PF_IRREGULAR, "the PDF has an irregular structure that cannot be checked for active "
                   "content"},
    {PF_BOMB, "the PDF contains compressed data that expands too much to be checked (a "
              "possible decompression bomb)"},
};

/* What must follow a short watched name for it to count: its value. */
enum need { N_ANY, N_STRING_OR_REF, N_ARRAY_OR_REF, N_DICT_OR_REF };

static const struct {
	const char *name;
	unsigned flag;
	enum need need;
} watched[] = {
    {"JavaScript", PF_JS, N_ANY},       {"JS", PF_JS, N_STRING_OR_REF},
    {"Launch", PF_LAUNCH, N_ANY},       {"EmbeddedFile", PF_EMBED, N_ANY},
    {"EmbeddedFiles", PF_EMBED, N_ANY}, {"FileAttachment", PF_EMBED, N_ANY},
    {"EF", PF_EMBED, N_DICT_OR_REF},    {"RichMedia", PF_RICHMEDIA, N_ANY},
    {"XFA", PF_XFA, N_ARRAY_OR_REF},    {"SubmitForm", PF_SUBMIT, N_ANY},
    {"ImportData", PF_IMPORT, N_ANY},   {"GoToE", PF_GOTOE, N_ANY},
    {"Encrypt", PF_ENCRYPT, N_ANY},
};

/* PDF white space (1) and delimiters (2); everything else is a "regular" character. */
static const unsigned char pdf_class[256] = {
    [0] = 1,   ['\t'] = 1, ['\n'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1, ['('] = 2, [')'] = 2,
    ['<'] = 2, ['>'] = 2,  ['['] = 2,  [']'] = 2,  ['{'] = 2,  ['}'] = 2, ['/'] = 2, ['%'] = 2,
};

static bool
pdf_ws(unsigned char c)
{
	return pdf_class[c] == 1;
}

static bool
pdf_special(unsigned char c)
{
	return pdf_class[c] != 0;
}

/* A name being read, decoded as poppler's lexer does: "#" and a hex digit take the next
 * character too (a second hex digit, or anything, which then counts as 0); "#" before a non-hex
 * character is literal; the name ends at its first NUL byte, because poppler keeps names as C
 * strings ("/J#00S" is no name, "/JS#00x" is /JS). */
#define NAME_KEEP 32

struct namedec {
	bool active, overflow, nul;
	int hex; /* 0, or 1 after '#', or 2 after '#' and a hex digit */
	int hi;
	size_t len;
	char buf[NAME_KEEP];
};

static void
nd_start(struct namedec *d)
{
	d->active = true;
	d->overflow = d->nul = false;
	d->hex = 0;
	d->len = 0;
}

static void
nd_put(struct namedec *d, int c)
{
	if (d->nul)
		return;
	if (c == 0)
		d->nul = true;
	else if (d->len < NAME_KEEP)
		d->buf[d->len++] = (char)c;
	else
		d->overflow = true;
}

/* Whether c belongs to the name: regular characters do, and so does whatever follows "#x". */
static bool
nd_takes(const struct namedec *d, unsigned char c)
{
	return d->hex == 2 || !pdf_special(c);
}

static void
nd_add(struct namedec *d, unsigned char c)
{
	int v = hex_digit(c);

	if (d->hex == 2) {
		nd_put(d, d->hi << 4 | (v < 0 ? 0 : v));
		d->hex = 0;
	} else if (d->hex == 1 && v >= 0) {
		d->hi = v;
		d->hex = 2;
	} else if (d->hex == 1) {
		nd_put(d, '#');
		d->hex = 0;
		nd_add(d, c);
	} else if (c == '#') {
		d->hex = 1;
	} else {
		nd_put(d, c);
	}
}

/* Ends the name; returns its length, or 0 when it is too long to be one we look for. */
static size_t
nd_end(struct namedec *d)
{
	if (d->hex == 1)
		nd_put(d, '#');
	else if (d->hex == 2)
		nd_put(d, d->hi << 4);
	d->active = false;
	return d->overflow ? 0 : d->len;
}

static bool
nd_is(const struct namedec *d, size_t len, const char *name)
{
	/* buf holds no NUL: strncmp equal means name has len characters, so name[len] is safe. */
	return len > 0 && d->buf[0] == name[0] && strncmp(d->buf, name, len) == 0 &&
	       name[len] == '\0';
}

/* The raw name scanner. */
struct rawscan {
	struct namedec nd;
	unsigned pending; /* a short name waiting for its value */
	enum need need;
	int skipped;
	unsigned flags;
};

static void
raw_name_done(struct rawscan *r)
{
	size_t len = nd_end(&r->nd), i;

	for (i = 0; len && i < sizeof watched / sizeof watched[0]; i++) {
		if (!nd_is(&r->nd, len, watched[i].name))
			continue;
		if (watched[i].need == N_ANY) {
			r->flags |= watched[i].flag;
		} else {
			r->pending = watched[i].flag;
			r->need = watched[i].need;
			r->skipped = 0;
		}
		return;
	}
}

static bool
value_follows(enum need need, unsigned char c)
{
	if ((c >= '0' && c <= '9') || c == '%') /* a reference, or a comment before the value */
		return true;
	return need == N_STRING_OR_REF  ? c == '(' || c == '<'
	       : need == N_ARRAY_OR_REF ? c == '['
	                                : c == '<';
}

static void
raw_byte(struct rawscan *r, unsigned char c)
{
	if (r->nd.active) {
		if (nd_takes(&r->nd, c)) {
			nd_add(&r->nd, c);
			return;
		}
		raw_name_done(r);
	}
	if (r->pending) {
		if (pdf_ws(c) && r->skipped++ < 64)
			return;
		if (value_follows(r->need, c))
			r->flags |= r->pending;
		r->pending = 0;
	}
	if (c == '/')
		nd_start(&r->nd);
}

static void
raw_feed(struct rawscan *r, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n, *slash;

	while (p < end) {
		if (!r->nd.active && !r->pending) {
			/* Most bytes are not in a name: jump to the next '/'. */
			if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
				return;
			p = slash;
		}
		raw_byte(r, *p++);
	}
}

static void
raw_finish(struct rawscan *r)
{
	if (r->nd.active)
		raw_name_done(r);
	r->pending = 0;
}

/* An inflater scans one zlib stream's output with its own raw scanner. */
struct inflater {
	bool active, probe; /* probe: not known to be zlib; if not, the file is irregular */
	z_stream zs;
	struct rawscan rs;
	uint64_t out;
	size_t from; /* where its data starts in the current piece */
};

/* A Knuth-Morris-Pratt matcher, so that a keyword split across pieces or overlapping a false
 * start ("endstrendstream") is still found. */
struct kmp {
	const char *pat;
	size_t len, state;
	unsigned char fail[16];
};

static void
kmp_init(struct kmp *k, const char *pat)
{
	size_t i, j = 0;

	k->pat = pat;
	k->len = strlen(pat);
	k->state = 0;
	k->fail[0] = 0;
	for (i = 1; i < k->len; i++) {
		while (j > 0 && pat[i] != pat[j])
			j = k->fail[j - 1];
		if (pat[i] == pat[j])
			j++;
		k->fail[i] = (unsigned char)j;
	}
}

static bool
kmp_step(struct kmp *k, unsigned char c)
{
	while (k->state > 0 && c != (unsigned char)k->pat[k->state])
		k->state = k->fail[k->state - 1];
	if (c == (unsigned char)k->pat[k->state])
		k->state++;
	if (k->state < k->len)
		return false;
	k->state = k->fail[k->len - 1];
	return true;
}

/* Facts about a dictionary that decide how its stream is scanned. */
enum {
	D_N = 1,
	D_FIRST = 2,
	D_FLATE = 4,
	D_OTHER_FILTER = 8,
	D_FILTER_UNKNOWN = 16,
	D_PREDICTOR = 32,
};

enum key { KEY_OTHER, KEY_FILTER, KEY_PREDICTOR };

struct level {
	bool dict;
	bool awaiting; /* a key was read, its value not yet */
	enum key key;
	unsigned facts;
};

enum lx {
	LX_TOKEN,
	LX_COMMENT,
	LX_STRING,
	LX_STRING_ESC,
	LX_HEXSTR,
	LX_LT,
	LX_GT,
	LX_NAME,
	LX_WORD,
	LX_STREAM_EOL,
	LX_STREAM_CR,
	LX_STREAM_DATA,
};

#define LX_DEPTH 32
#define MAX_INFLATERS 4

struct pdfscan {
	struct rawscan raw;
	/* the structure lexer */
	enum lx st;
	int strdepth;
	struct namedec nd;
	char word[16];
	size_t wlen;
	struct level lv[LX_DEPTH];
	int depth, lost; /* lost: levels deeper than LX_DEPTH */
	bool after_dict; /* the last token closed a dictionary with these facts: */
	unsigned closed;
	bool stream_known;
	unsigned stream_facts;
	struct kmp endstream;
	/* the raw "stream" keyword detector */
	size_t ks;
	bool ks_armed; /* the keyword follows a delimiter and the lexer was not reading tokens */
	int ks_eol;    /* 0, or 1 after the keyword (spaces allowed), or 2 after its CR */
	unsigned char prev;
	/* the last "%%EOF" */
	struct kmp eof;
	uint64_t eof_end;
	bool eof_seen;
	/* inflation */
	struct inflater inf[MAX_INFLATERS];
	unsigned char *out;
	uint64_t inflated;
	uint64_t base; /* file offset of the current piece */
	const unsigned char *piece;
	unsigned flags;
};

static void
inflater_stop(struct pdfscan *s, struct inflater *f)
{
	raw_finish(&f->rs);
	s->flags |= f->rs.flags;
	inflateEnd(&f->zs);
	f->active = false;
}

static void inflater_feed(struct pdfscan *s, struct inflater *f, const unsigned char *p, size_t n);

/* Feeds the running inflaters the current piece up to index to, so that streams which ended
 * before a new one begins are finished and their slots free. */
static void
inflaters_catch_up(struct pdfscan *s, size_t to)
{
	size_t i;

	for (i = 0; i < MAX_INFLATERS; i++) {
		struct inflater *f = &s->inf[i];
		if (f->active && f->from < to)
			inflater_feed(s, f, s->piece + f->from, to - f->from);
		if (f->active && f->from < to)
			f->from = to;
	}
}

static void
inflater_start(struct pdfscan *s, size_t from, bool probe)
{
	struct inflater *f = NULL;
	size_t i;

	inflaters_catch_up(s, from);
	for (i = 0; i < MAX_INFLATERS && f == NULL; i++)
		if (!s->inf[i].active)
			f = &s->inf[i];
	if (f == NULL) {
		s->flags |=
		    PF_IRREGULAR; /* streams inside streams, more than a reader would have */
		return;
	}
	memset(f, 0, sizeof *f);
	if (inflateInit(&f->zs) != Z_OK) {
		s->flags |= PF_IRREGULAR;
		return;
	}
	f->active = true;
	f->probe = probe;
	f->from = from;
}

static void
inflater_feed(struct pdfscan *s, struct inflater *f, const unsigned char *p, size_t n)
{
	int rc;
	size_t got;

	f->zs.next_in = (Bytef *)(uintptr_t)p;
	f->zs.avail_in = (uInt)n;
	while (f->active) {
		f->zs.next_out = s->out;
		f->zs.avail_out = CHUNK;
		rc = inflate(&f->zs, Z_NO_FLUSH);
		got = CHUNK - f->zs.avail_out;
		if (f->probe && rc == Z_DATA_ERROR && f->zs.total_out == 0)
			s->flags |= PF_IRREGULAR; /* not zlib: a stream we cannot account for */
		raw_feed(&f->rs, s->out, got);
		s->flags |= f->rs.flags;
		f->out += got;
		s->inflated += got;
		if (s->inflated > FT_PDF_INFLATE_MAX ||
		    (f->out > (1u << 20) && f->out / (f->zs.total_in + 1) > FT_PDF_INFLATE_RATIO))
			s->flags |= PF_BOMB;
		if ((rc != Z_OK && rc != Z_BUF_ERROR) || (s->flags & PF_BOMB))
			inflater_stop(s,
			              f); /* the end, damage (as far as a reader gets), or a bomb */
		else if (f->zs.avail_in == 0 && f->zs.avail_out != 0)
			break;
		else if (rc == Z_BUF_ERROR)
			break;
	}
}

/* A stream's data begins at byte index at of the current piece. */
static void
stream_begins(struct pdfscan *s, size_t at, bool known, unsigned facts)
{
	bool objstm = (facts & (D_N | D_FIRST)) == (D_N | D_FIRST);

	if (!known) {
		inflater_start(s, at, true);
	} else if (!objstm || !(facts & (D_FLATE | D_OTHER_FILTER | D_FILTER_UNKNOWN))) {
		/* Not an object stream, or one stored plain: the raw scanner sees it all. */
	} else if ((facts & (D_OTHER_FILTER | D_FILTER_UNKNOWN | D_PREDICTOR)) == 0) {
		inflater_start(s, at, false);
	} else {
		s->flags |= PF_OPAQUE;
	}
}

static struct level *
lx_top(struct pdfscan *s)
{
	return s->depth > 0 && s->lost == 0 ? &s->lv[s->depth - 1] : NULL;
}

/* The dictionary a value belongs to, when the value is read at its level or in an array
 * directly inside it (as /Filter [/FlateDecode]). */
static struct level *
lx_owner(struct pdfscan *s)
{
	struct level *t = lx_top(s);

	if (t && !t->dict && s->depth > 1 && s->lv[s->depth - 2].dict &&
	    s->lv[s->depth - 2].awaiting)
		return &s->lv[s->depth - 2];
	return t && t->dict && t->awaiting ? t : NULL;
}

/* A value token other than a name or a container: a number, string or keyword. */
static void
lx_value(struct pdfscan *s, const char *word)
{
	struct level *o = lx_owner(s), *t = lx_top(s);

	s->after_dict = false;
	if (o == NULL)
		return;
	if (o->key == KEY_FILTER)
		o->facts |= D_FILTER_UNKNOWN; /* an indirect or malformed filter */
	else if (o->key == KEY_PREDICTOR && word && strtol(word, NULL, 10) > 1)
		o->facts |= D_PREDICTOR;
	if (o == t)
		o->awaiting = false;
}

static void
lx_name(struct pdfscan *s)
{
	size_t len = nd_end(&s->nd);
	struct level *o = lx_owner(s), *t = lx_top(s);

	s->after_dict = false;
	if (o && o->key == KEY_FILTER) {
		o->facts |= nd_is(&s->nd, len, "FlateDecode") || nd_is(&s->nd, len, "Fl")
		                ? D_FLATE
		                : D_OTHER_FILTER;
		if (o == t)
			o->awaiting = false;
		return;
	}
	if (o && o == t) {
		o->awaiting = false; /* a name value, as /Type /ObjStm */
		return;
	}
	if (t == NULL || !t->dict)
		return;
	t->awaiting = true;
	t->key = nd_is(&s->nd, len, "Filter")      ? KEY_FILTER
	         : nd_is(&s->nd, len, "Predictor") ? KEY_PREDICTOR
	                                           : KEY_OTHER;
	if (nd_is(&s->nd, len, "N"))
		t->facts |= D_N;
	else if (nd_is(&s->nd, len, "First"))
		t->facts |= D_FIRST;
}

static void
lx_push(struct pdfscan *s, bool dict)
{
	s->after_dict = false;
	if (s->depth == LX_DEPTH || s->lost) {
		s->lost++;
		return;
	}
	s->lv[s->depth++] = (struct level){.dict = dict};
}

static void
lx_pop(struct pdfscan *s, bool dict)
{
	struct level *t, *p;

	s->after_dict = false;
	if (s->lost) {
		s->lost--;
		return;
	}
	if (s->depth == 0 || s->lv[s->depth - 1].dict != dict) {
		s->depth = 0; /* unbalanced: start afresh, the next stream is unknown */
		return;
	}
	t = &s->lv[--s->depth];
	if (s->depth > 0) {
		p = &s->lv[s->depth - 1];
		p->facts |= t->facts & D_PREDICTOR; /* /DecodeParms << /Predictor 12 >> */
		if (p->dict)
			p->awaiting = false;
		else if (s->depth > 1 && s->lv[s->depth - 2].awaiting &&
		         s->lv[s->depth - 2].key == KEY_FILTER)
			s->lv[s->depth - 2].facts |= D_FILTER_UNKNOWN;
	}
	if (dict) {
		s->after_dict = true;
		s->closed = t->facts;
	}
}

static bool
lx_word_is(const struct pdfscan *s, const char *w)
{
	return s->wlen == strlen(w) && memcmp(s->word, w, s->wlen) == 0;
}

static void
lx_word(struct pdfscan *s)
{
	s->word[s->wlen < sizeof s->word ? s->wlen : sizeof s->word - 1] = '\0';
	if (lx_word_is(s, "stream")) {
		/* Known only right after the object's one top-level dictionary. */
		s->stream_known = s->after_dict && s->depth == 0 && s->lost == 0;
		s->stream_facts = s->closed;
		s->st = LX_STREAM_EOL;
		s->endstream.state = 0;
		return;
	}
	if (lx_word_is(s, "obj") || lx_word_is(s, "endobj")) {
		s->depth = s->lost = 0; /* each object is read on its own */
		s->after_dict = false;
		return;
	}
	lx_value(s, s->word);
}

/* Comments, literal strings and hex strings: only their end matters. */
static void
lx_literal(struct pdfscan *s, unsigned char c)
{
	if (s->st == LX_COMMENT && (c == '\r' || c == '\n'))
		s->st = LX_TOKEN;
	else if (s->st == LX_STRING_ESC)
		s->st = LX_STRING;
	else if (s->st == LX_STRING && c == '\\')
		s->st = LX_STRING_ESC;
	else if (s->st == LX_STRING && c == '(')
		s->strdepth++;
	else if (s->st == LX_STRING && c == ')' && --s->strdepth == 0)
		s->st = LX_TOKEN;
	else if (s->st == LX_HEXSTR && c == '>')
		s->st = LX_TOKEN;
}

/* After the "stream" keyword: its end of line (as poppler's skipToNextLine), then the data up to
 * "endstream". */
static void
lx_stream(struct pdfscan *s, unsigned char c, size_t at)
{
	if (s->st == LX_STREAM_EOL) {
		if (c == '\n') {
			s->st = LX_STREAM_DATA;
			stream_begins(s, at + 1, s->stream_known, s->stream_facts);
		} else if (c == '\r') {
			s->st = LX_STREAM_CR;
		}
		return;
	}
	if (s->st == LX_STREAM_CR) {
		s->st = LX_STREAM_DATA;
		stream_begins(s, c == '\n' ? at + 1 : at, s->stream_known, s->stream_facts);
		if (c == '\n')
			return;
	}
	if (kmp_step(&s->endstream, c)) {
		s->st = LX_TOKEN;
		s->after_dict = false;
	}
}

/* Inside a token that needs more bytes ("<", ">", a name, a word): true when c was part of it,
 * false when c ends it and must be read as the start of the next token. */
static bool
lx_token_more(struct pdfscan *s, unsigned char c, size_t at)
{
	enum lx st = s->st;

	s->st = LX_TOKEN;
	if (st == LX_LT) {
		if (c == '<') {
			lx_push(s, true);
		} else {
			lx_value(s, NULL); /* a hex string */
			s->st = c == '>' ? LX_TOKEN : LX_HEXSTR;
		}
		return true;
	}
	if (st == LX_GT && c == '>')
		lx_pop(s, true);
	if (st == LX_GT)
		return c == '>'; /* else a stray '>' */
	if (st == LX_NAME && nd_takes(&s->nd, c)) {
		nd_add(&s->nd, c);
		s->st = LX_NAME;
		return true;
	}
	if (st == LX_NAME) {
		lx_name(s);
		return false;
	}
	if (!pdf_special(c)) {
		if (s->wlen < sizeof s->word)
			s->word[s->wlen] = (char)c;
		s->wlen++;
		s->st = LX_WORD;
		return true;
	}
	lx_word(s);
	if (s->st != LX_STREAM_EOL)
		return false;
	lx_stream(s, c, at); /* c is the first byte of the stream keyword's line end */
	return true;
}

/* The first byte of a token. */
static void
lx_token(struct pdfscan *s, unsigned char c)
{
	if (pdf_ws(c))
		return;
	switch (c) {
	case '%':
		s->st = LX_COMMENT;
		return;
	case '(':
		lx_value(s, NULL);
		s->st = LX_STRING;
		s->strdepth = 1;
		return;
	case '<':
		s->st = LX_LT;
		return;
	case '>':
		s->st = LX_GT;
		return;
	case '[':
		lx_push(s, false);
		return;
	case ']':
		lx_pop(s, false);
		return;
	case '/':
		nd_start(&s->nd);
		s->st = LX_NAME;
		return;
	case ')':
	case '{':
	case '}':
		s->after_dict = false;
		return;
	default:
		s->word[0] = (char)c;
		s->wlen = 1;
		s->st = LX_WORD;
		return;
	}
}

/* One byte through the structure lexer; at is its index in the current piece. */
static void
lx_byte(struct pdfscan *s, unsigned char c, size_t at)
{
	switch (s->st) {
	case LX_COMMENT:
	case LX_STRING:
	case LX_STRING_ESC:
	case LX_HEXSTR:
		lx_literal(s, c);
		return;
	case LX_STREAM_EOL:
	case LX_STREAM_CR:
	case LX_STREAM_DATA:
		lx_stream(s, c, at);
		return;
	case LX_LT:
	case LX_GT:
	case LX_NAME:
	case LX_WORD:
		if (lx_token_more(s, c, at))
			return;
		break;
	case LX_TOKEN:
		break;
	}
	lx_token(s, c);
}

/* Whether the lexer is reading tokens (so it sees a "stream" keyword itself). */
static bool
lx_reading_tokens(const struct pdfscan *s)
{
	return s->st == LX_TOKEN || s->st == LX_WORD || s->st == LX_NAME || s->st == LX_LT ||
	       s->st == LX_GT;
}

/* The raw "stream" keyword: after a delimiter or white space, followed by spaces or tabs and an
 * end of line, where the lexer was not reading tokens (in a string, a comment or another
 * stream's data). A reader that reaches such an object through the cross-reference table reads
 * a stream there, so its data is inflated if it is zlib, and the file is irregular if not. */
static void
ks_byte(struct pdfscan *s, unsigned char c, size_t at, bool tokens)
{
	static const char kw[] = "stream";

	if (s->ks == 0 && s->ks_eol == 0 && c != 's') {
		s->prev = c;
		return;
	}
	if (s->ks_eol == 2) {
		s->ks_eol = 0;
		inflater_start(s, c == '\n' ? at + 1 : at, true);
	} else if (s->ks_eol == 1 && c != ' ' && c != '\t') {
		s->ks_eol = c == '\r' ? 2 : 0;
		if (c == '\n')
			inflater_start(s, at + 1, true);
	}
	if (c != (unsigned char)kw[s->ks])
		s->ks = 0;
	if (c == (unsigned char)kw[s->ks]) {
		if (s->ks == 0)
			s->ks_armed = pdf_special(s->prev) && !tokens;
		if (++s->ks == sizeof kw - 1) {
			s->ks = 0;
			s->ks_eol = s->ks_armed ? 1 : 0;
		}
	}
	s->prev = c;
}

/* With every matcher at its start, in these lexer states only the listed bytes change anything:
 * what ends the state, and the first bytes of "stream" and "%%EOF" (and "endstream" in stream
 * data). The others are skipped without running the machines, which is most of a PDF. */
static const unsigned char stop_stream[256] = {['e'] = 1, ['s'] = 1, ['%'] = 1};
static const unsigned char stop_string[256] = {
    ['\\'] = 1, ['('] = 1, [')'] = 1, ['s'] = 1, ['%'] = 1};
static const unsigned char stop_comment[256] = {['\r'] = 1, ['\n'] = 1, ['s'] = 1, ['%'] = 1};
static const unsigned char stop_hexstr[256] = {['>'] = 1, ['s'] = 1, ['%'] = 1};

static size_t
skip_quiet(struct pdfscan *s, const unsigned char *p, size_t i, size_t n)
{
	const unsigned char *stop;
	size_t j = i;

	if (s->endstream.state || s->ks || s->ks_eol || s->eof.state)
		return i;
	switch (s->st) {
	case LX_STREAM_DATA:
		stop = stop_stream;
		break;
	case LX_STRING:
		stop = stop_string;
		break;
	case LX_COMMENT:
		stop = stop_comment;
		break;
	case LX_HEXSTR:
		stop = stop_hexstr;
		break;
	case LX_TOKEN:
		stop = pdf_class; /* white space between tokens: class 1 is skipped below */
		while (j < n && stop[p[j]] == 1)
			j++;
		goto skipped;
	default:
		return i;
	}
	while (j < n && !stop[p[j]])
		j++;
skipped:
	if (j > i)
		s->prev = p[j - 1];
	return j;
}

static void
pdf_piece(struct pdfscan *s, const unsigned char *p, size_t n)
{
	size_t i;
	bool tokens;

	s->piece = p;
	raw_feed(&s->raw, p, n);
	s->flags |= s->raw.flags;
	for (i = 0; i < n; i++) {
		if ((i = skip_quiet(s, p, i, n)) == n)
			break;
		tokens = lx_reading_tokens(s);
		lx_byte(s, p[i], i);
		ks_byte(s, p[i], i, tokens);
		if ((s->eof.state || p[i] == '%') && kmp_step(&s->eof, p[i])) {
			s->eof_seen = true;
			s->eof_end = s->base + i + 1;
		}
	}
	inflaters_catch_up(s, n);
	for (i = 0; i < MAX_INFLATERS; i++)
		s->inf[i].from = 0;
}

static const char *
pdf_finding_msg(unsigned flags)
{
	size_t i;

	for (i = 0; i < sizeof pdf_msgs / sizeof pdf_msgs[0]; i++)
		if (flags & pdf_msgs[i].flag)
			return pdf_msgs[i].msg;
	return "the PDF contains active content";
}

/* Streams the whole file through the scanners; stops at the first finding. */
static enum fv_err
pdf_scan(int fd, uint64_t size, unsigned char *buf, uint64_t *eof_end, const char **msg)
{
	struct pdfscan *s = calloc(1, sizeof *s);
	enum fv_err rc = FV_OK;
	ssize_t n;
	size_t i;

	if (s == NULL || (s->out = malloc(CHUNK)) == NULL) {
		free(s);
		*msg = MSG_OOM;
		return FV_EINTERNAL;
	}
	s->prev = '\n';
	kmp_init(&s->endstream, "endstream");
	kmp_init(&s->eof, "%%EOF");
	for (s->base = 0; s->base < size && s->flags == 0; s->base += (uint64_t)n) {
		if ((n = fd_pread_full(fd, buf, CHUNK, s->base)) <= 0) {
			rc = FV_EINTERNAL;
			*msg = MSG_IO;
			break;
		}
		pdf_piece(s, buf, (size_t)n);
	}
	raw_finish(&s->raw);
	s->flags |= s->raw.flags;
	for (i = 0; i < MAX_INFLATERS; i++)
		if (s->inf[i].active)
			inflater_stop(s, &s->inf[i]);
	if (rc == FV_OK && s->flags) {
		rc = FV_EMEDIATYPE;
		*msg = pdf_finding_msg(s->flags);
	} else if (rc == FV_OK && !s->eof_seen) {
		rc = FV_EINVAL;
		*msg = "the PDF is damaged or truncated";
	}
	*eof_end = s->eof_end;
	free(s->out);
	free(s);
	return rc;
}

static void
silent_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)domain;
	(void)level;
	(void)message;
	(void)data;
}

/* Actions of the links and annotations of the first POPPLER_PAGES pages (poppler resolves the
 * objects itself, wherever they are stored): a message, or NULL. */
#define POPPLER_PAGES 200

static const char *
pdf_poppler_page(PopplerPage *page)
{
	const char *found = NULL;
	GList *links = poppler_page_get_link_mapping(page), *annots, *l;

	for (l = links; l && !found; l = l->next) {
		PopplerAction *a = ((PopplerLinkMapping *)l->data)->action;
		if (a && a->type == POPPLER_ACTION_JAVASCRIPT)
			found = "the PDF contains JavaScript";
		else if (a && a->type == POPPLER_ACTION_LAUNCH)
			found = "the PDF contains a Launch action, which can start programs";
	}
	poppler_page_free_link_mapping(links);
	annots = poppler_page_get_annot_mapping(page);
	for (l = annots; l && !found; l = l->next)
		if (poppler_annot_get_annot_type(((PopplerAnnotMapping *)l->data)->annot) ==
		    POPPLER_ANNOT_FILE_ATTACHMENT)
			found = "the PDF contains embedded files";
	poppler_page_free_annot_mapping(annots);
	return found;
}

static const char *
pdf_poppler_pages(PopplerDocument *doc)
{
	int i, n = poppler_document_get_n_pages(doc);
	const char *found = NULL;
	PopplerPage *page;

	for (i = 0; i < n && i < POPPLER_PAGES && !found; i++) {
		if ((page = poppler_document_get_page(doc, i)) == NULL)
			continue;
		found = pdf_poppler_page(page);
		g_object_unref(page);
	}
	return found;
}

/* The second opinion: poppler must open the document and find no JavaScript (names tree, page
 * and form actions; poppler does not look at the catalog's OpenAction, which the scan covers),
 * no attachments, and no JavaScript, Launch or file attachment on the pages. */
static enum fv_err
pdf_poppler(int fd, const char **msg)
{
	GError *err = NULL;
	PopplerDocument *doc;
	enum fv_err rc = FV_OK;
	int dfd;

	if (lseek(fd, 0, SEEK_SET) < 0 || (dfd = dup(fd)) < 0) {
		*msg = MSG_IO;
		return FV_EINTERNAL;
	}
	doc = poppler_document_new_from_fd(dfd, NULL, &err); /* owns dfd from here */
	if (doc == NULL) {
		rc = err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED
		         ? FV_EMEDIATYPE
		         : FV_EINVAL;
		*msg = rc == FV_EMEDIATYPE ? "the PDF is protected by a password"
		                           : "the PDF is damaged or truncated";
	} else if (poppler_document_get_n_pages(doc) < 1) {
		rc = FV_EINVAL;
		*msg = "the PDF is damaged or truncated (it has no pages)";
	} else if (poppler_document_has_javascript(doc)) {
		rc = FV_EMEDIATYPE;
		*msg = "the PDF contains JavaScript";
	} else if (poppler_document_has_attachments(doc)) {
		rc = FV_EMEDIATYPE;
		*msg = "the PDF contains embedded files";
	} else if ((*msg = pdf_poppler_pages(doc)) != NULL) {
		rc = FV_EMEDIATYPE;
	} else {
		*msg = "";
	}
	if (err)
		g_error_free(err);
	if (doc)
		g_object_unref(doc);
	return rc;
}

static enum fv_err
pdf_check(int fd, uint64_t size, unsigned char *buf, const char **msg)
{
	uint64_t eof_end = 0;
	ssize_t n = fd_pread_full(fd, buf, 1024, 0);
	enum fv_err rc;

	if (n < 0) {
		*msg = MSG_IO;
		return FV_EINTERNAL;
	}
	if (n < 5 || memcmp(buf, "%PDF-", 5) != 0) {
		/* Readers accept a header anywhere in the first KiB; what comes before it is
		 * another file's start. */
		*msg = memmem(buf, (size_t)n, "%PDF-", 5)
		           ? "the file is not only a PDF document: something else comes before "
		             "its PDF header (a polyglot)"
		           : "the PDF is damaged or truncated";
		return memmem(buf, (size_t)n, "%PDF-", 5) ? FV_EMEDIATYPE : FV_EINVAL;
	}
	if ((rc = pdf_scan(fd, size, buf, &eof_end, msg)) != FV_OK)
		return rc;
	if ((rc = check_trailing(fd, size, eof_end, K_PDF, msg)) != FV_OK)
		return rc;
	return pdf_poppler(fd, msg);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points */

static enum kind
kind_of(const char *mime)
{
	int k;

	for (k = 0; k < K_NONE; k++)
		if (strcmp(mime, kinds[k].mime) == 0)
			return (enum kind)k;
	return K_NONE;
}

/* Decodes an image; maps the decoder's verdict to the contract's errors. */
static enum fv_err
image_check(int fd, uint64_t size, enum kind k, unsigned char *buf, const char **msg)
{
	uint64_t end = size;
	enum verdict v;

	v = k == K_PNG    ? png_check(fd, buf, &end)
	    : k == K_JPEG ? jpeg_check(fd, buf, &end)
	                  : tiff_check(fd, size);
	switch (v) {
	case V_OK:
		/* TIFF has no end marker: its data may lie anywhere, so only the ZIP check applies.
		 */
		return k == K_TIFF ? FV_OK : check_trailing(fd, size, end, k, msg);
	case V_TOO_LARGE:
		*msg = MSG_TOO_LARGE;
		return FV_EINVAL;
	case V_IO:
		*msg = MSG_IO;
		return FV_EINTERNAL;
	case V_OOM:
		*msg = MSG_OOM;
		return FV_EINTERNAL;
	case V_DAMAGED:
		break;
	}
	*msg = k == K_PNG    ? "the PNG image is damaged and cannot be decoded"
	       : k == K_JPEG ? "the JPEG image is damaged or truncated and cannot be decoded"
	                     : "the TIFF image is damaged and cannot be decoded";
	return FV_EINVAL;
}

static enum fv_err
check_kind(int fd, uint64_t size, enum kind k, const char **msg)
{
	unsigned char *buf = malloc(CHUNK);
	enum fv_err rc;
	int zip;

	if (buf == NULL) {
		*msg = MSG_OOM;
		return FV_EINTERNAL;
	}
	if ((zip = has_zip_end(fd, size)) != 0) {
		rc = zip < 0 ? FV_EINTERNAL : FV_EMEDIATYPE;
		*msg = zip < 0 ? MSG_IO : msg_both(k, "a ZIP archive");
	} else if (k == K_TEXT) {
		rc = text_check(fd, size, buf, msg);
	} else if (k == K_PDF) {
		rc = pdf_check(fd, size, buf, msg);
	} else {
		rc = image_check(fd, size, k, buf, msg);
	}
	free(buf);
	return rc;
}

int
filetype_init(char *err, size_t errlen)
{
	size_t bytes = MAGIC_BYTES;

	if (cookie)
		return 0;
	if ((cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR)) == NULL) {
		snprintf(err, errlen, "libmagic: magic_open failed: %s", strerror(errno));
		return -1;
	}
	if (magic_load(cookie, NULL) != 0) {
		snprintf(err, errlen, "libmagic: cannot load the magic database: %s",
		         magic_error(cookie) ? magic_error(cookie) : "unknown error");
		magic_close(cookie);
		cookie = NULL;
		return -1;
	}
	magic_setparam(cookie, MAGIC_PARAM_BYTES_MAX, &bytes);
	/* Classify a line of text once now: the pages of the magic database that the text tests
	 * read, and libmagic's first-use allocations, are then part of the process from its start
	 * instead of landing on its first upload. */
	{
		static const char warm[] = "FertiVision: libmagic warm-up\n";

		(void)magic_buffer(cookie, warm, sizeof(warm) - 1);
	}
	/* Decoders report through these; the responder's stderr is its log. */
	TIFFSetErrorHandler(tiff_silent);
	TIFFSetWarningHandler(tiff_silent);
	g_log_set_handler(
	    "Poppler", (GLogLevelFlags)(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
	    silent_log, NULL);
	return 0;
}

enum fv_err
filetype_check(const char *path, size_t size, const char **mime, const char **msg)
{
	struct stat st;
	const char *m;
	enum kind k;
	enum fv_err rc;
	int fd;

	*mime = NULL;
	*msg = "";
	if (cookie == NULL) {
		*msg = "filetype_init was not called";
		return FV_EINTERNAL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		*msg = "could not open the uploaded file";
		return FV_EINTERNAL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		close(fd);
		*msg = "the uploaded file is not the size that was written";
		return FV_EINTERNAL;
	}
	if (size == 0) {
		close(fd);
		*msg = "the file is empty";
		return FV_EINVAL;
	}
	if ((m = magic_descriptor(cookie, fd)) == NULL) {
		close(fd);
		*msg = "libmagic could not read the uploaded file";
		return FV_EINTERNAL;
	}
	if ((k = kind_of(m)) == K_NONE) {
		*msg = msg_unaccepted(m);
		rc = FV_EMEDIATYPE;
	} else if ((rc = check_kind(fd, size, k, msg)) == FV_OK) {
		*mime = kinds[k].mime;
	}
	close(fd);
	return rc;
}

void
filetype_close(void)
{
	if (cookie)
		magic_close(cookie);
	cookie = NULL;
	while (npool > 0)
		free(pool[--npool]);
}
