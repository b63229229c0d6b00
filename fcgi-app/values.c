/* values.c: lab values from text (see values.h).
 *
 * The text is read line by line, as the layout-preserving extraction writes it: a table row is one
 * line (label, result, flag, unit, range in any order), prose is wrapped lines. Every occurrence of
 * a label (a synonym table below) starts a forward scan for its result: words, flags, dot leaders
 * and reference ranges are passed over; the first lone number is the result, unless something says
 * it is not (a threshold word, a unit of another dimension, another label first, an implausible
 * magnitude). The first occurrence that yields a result wins; "not done" and the like mark an
 * analyte as listed without one. Words that mean different things in different reports ("Volume",
 * "Concentration", "pH") count only in a semen-analysis context. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "values.h"

#define LINE_MAX_BYTES 1024
#define MAX_FILLER_WORDS 6

/* --- the analytes ----------------------------------------------------------------------------- */

struct key_info {
	const char *name, *unit;
	double min, max;       /* plausible canonical values; outside = not a result */
	double ref_lo, ref_hi; /* published reference, canonical units; NAN = no bound */
	const char *reference;
};

static const struct key_info keys[V_KEY_COUNT] = {
    [V_AMH] = {"amh", "ng/mL", 0, 100, 1.0, 3.5, "1.0-3.5 ng/mL"},
    [V_FSH] = {"fsh", "IU/L", 0, 300, 3.5, 12.5, "3.5-12.5 IU/L (follicular)"},
    [V_LH] = {"lh", "IU/L", 0, 300, 2.4, 12.6, "2.4-12.6 IU/L (follicular)"},
    [V_ESTRADIOL] = {"estradiol", "pg/mL", 0, 20000, 12.5, 166, "12.5-166 pg/mL (follicular)"},
    [V_PROGESTERONE] = {"progesterone", "ng/mL", 0, 500, 0.2, 27.0, "0.2-27 ng/mL"},
    [V_PROLACTIN] = {"prolactin", "ng/mL", 0, 2000, 4.8, 23.3, "4.8-23.3 ng/mL"},
    [V_TSH] = {"tsh", "mIU/L", 0, 200, 0.27, 4.2, "0.27-4.20 mIU/L"},
    [V_TESTOSTERONE] = {"testosterone", "ng/dL", 0, 5000, 8, 48, "8-48 ng/dL (women)"},
    [V_AFC] = {"afc", "count", 0, 150, 7, 24, "7-24 follicles"},
    [V_ENDOMETRIAL_THICKNESS] = {"endometrial_thickness", "mm", 0.5, 40, 7, 14,
                                 "7-14 mm (mid-cycle)"},
    [V_SEMEN_VOLUME] = {"semen_volume", "mL", 0, 20, 1.4, NAN, ">= 1.4 mL (WHO 2021)"},
    [V_SEMEN_PH] = {"semen_ph", "pH", 5, 10, 7.2, NAN, ">= 7.2 (WHO 2021)"},
    [V_SPERM_CONCENTRATION] = {"sperm_concentration", "million/mL", 0, 1000, 16, NAN,
                               ">= 16 million/mL (WHO 2021)"},
    [V_TOTAL_SPERM_COUNT] = {"total_sperm_count", "million", 0, 5000, 39, NAN,
                             ">= 39 million (WHO 2021)"},
    [V_TOTAL_MOTILITY] = {"total_motility", "%", 0, 100, 42, NAN, ">= 42% (WHO 2021)"},
    [V_PROGRESSIVE_MOTILITY] = {"progressive_motility", "%", 0, 100, 30, NAN, ">= 30% (WHO 2021)"},
    [V_NORMAL_MORPHOLOGY] = {"normal_morphology", "%", 0, 100, 4, NAN, ">= 4% (WHO 2021)"},
    [V_VITALITY] = {"vitality", "%", 0, 100, 54, NAN, ">= 54% (WHO 2021)"},
};

/* Men's testosterone reference, used when the document is about a man. */
#define MALE_T_LO 264
#define MALE_T_HI 916

const char *
value_key_name(enum value_key k)
{
	return keys[k].name;
}

const char *
value_key_unit(enum value_key k)
{
	return keys[k].unit;
}

const char *
value_key_label(enum value_key k)
{
	static const char *const names[V_KEY_COUNT] = {
	    "AMH",
	    "FSH",
	    "LH",
	    "Estradiol",
	    "Progesterone",
	    "Prolactin",
	    "TSH",
	    "Testosterone",
	    "Antral follicle count",
	    "Endometrial thickness",
	    "Semen volume",
	    "Semen pH",
	    "Sperm concentration",
	    "Total sperm count",
	    "Total motility",
	    "Progressive motility",
	    "Normal forms",
	    "Vitality",
	};
	return names[k];
}

void
value_format(double v, char *buf, size_t size)
{
	size_t n;

	snprintf(buf, size, "%.2f", v);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

const char *
value_key_reference(enum value_key k)
{
	return keys[k].reference;
}

/* --- labels ----------------------------------------------------------------------------------- */

enum label_flags {
	L_SEMEN = 1,   /* counts only in a semen-analysis context */
	L_PERCENT = 2, /* "41% progressive motility": the value may come just before the label */
	L_SPERM_COUNT = 4, /* "sperm count": a concentration when its unit is per mL */
	L_NEEDS_UNIT = 8,  /* an abbreviation with other meanings ("ET"): only with its unit */
};

struct label {
	const char *text; /* lower case; ' ' matches any run of spaces and hyphens */
	enum value_key key;
	int flags;
};

/* Longest first where one is the start of another. */
static const struct label labels[] = {
    {"anti mullerian hormone", V_AMH, 0},
    {"anti muellerian hormone", V_AMH, 0},
    {"anti miillerian hormone", V_AMH, 0},
    {"antimullerian hormone", V_AMH, 0},
    {"mullerian inhibiting substance", V_AMH, 0},
    {"amh", V_AMH, 0},
    {"follicle stimulating hormone", V_FSH, 0},
    {"fsh", V_FSH, 0},
    {"luteinizing hormone", V_LH, 0},
    {"luteinising hormone", V_LH, 0},
    {"lh", V_LH, 0},
    {"oestradiol", V_ESTRADIOL, 0},
    {"estradiol", V_ESTRADIOL, 0},
    {"e2", V_ESTRADIOL, 0},
    {"progesterone", V_PROGESTERONE, 0},
    {"p4", V_PROGESTERONE, L_NEEDS_UNIT},
    {"prolactin", V_PROLACTIN, 0},
    {"prl", V_PROLACTIN, 0},
    {"thyroid stimulating hormone", V_TSH, 0},
    {"thyrotropin", V_TSH, 0},
    {"tsh", V_TSH, 0},
    {"testosterone", V_TESTOSTERONE, 0},
    {"total antral follicle count", V_AFC, 0},
    {"antral follicle count", V_AFC, 0},
    {"antral follicular count", V_AFC, 0},
    {"total antral follicles", V_AFC, 0},
    {"afc", V_AFC, 0},
    {"endometrial thickness", V_ENDOMETRIAL_THICKNESS, 0},
    {"endometrial lining", V_ENDOMETRIAL_THICKNESS, 0},
    {"endometrial stripe", V_ENDOMETRIAL_THICKNESS, 0},
    {"endometrial echo", V_ENDOMETRIAL_THICKNESS, 0},
    {"endometrium", V_ENDOMETRIAL_THICKNESS, 0},
    {"et", V_ENDOMETRIAL_THICKNESS, L_NEEDS_UNIT},
    {"semen volume", V_SEMEN_VOLUME, 0},
    {"ejaculate volume", V_SEMEN_VOLUME, 0},
    {"volume", V_SEMEN_VOLUME, L_SEMEN},
    {"semen ph", V_SEMEN_PH, 0},
    {"ph", V_SEMEN_PH, L_SEMEN},
    {"sperm concentration", V_SPERM_CONCENTRATION, 0},
    {"sperm density", V_SPERM_CONCENTRATION, 0},
    {"concentration", V_SPERM_CONCENTRATION, L_SEMEN},
    {"total sperm count", V_TOTAL_SPERM_COUNT, 0},
    {"total sperm number", V_TOTAL_SPERM_COUNT, 0},
    {"total number of spermatozoa", V_TOTAL_SPERM_COUNT, 0},
    {"total count", V_TOTAL_SPERM_COUNT, L_SEMEN},
    {"sperm count", V_TOTAL_SPERM_COUNT, L_SPERM_COUNT},
    {"total motility", V_TOTAL_MOTILITY, L_SEMEN | L_PERCENT},
    {"motile sperm", V_TOTAL_MOTILITY, L_SEMEN | L_PERCENT},
    {"motile", V_TOTAL_MOTILITY, L_SEMEN | L_PERCENT | L_NEEDS_UNIT},
    {"motility", V_TOTAL_MOTILITY, L_SEMEN | L_PERCENT},
    {"progressive motility", V_PROGRESSIVE_MOTILITY, L_SEMEN | L_PERCENT},
    {"progressively motile", V_PROGRESSIVE_MOTILITY, L_SEMEN | L_PERCENT},
    {"progressive", V_PROGRESSIVE_MOTILITY, L_SEMEN | L_PERCENT},
    {"pr", V_PROGRESSIVE_MOTILITY, L_SEMEN | L_NEEDS_UNIT},
    {"normal morphology", V_NORMAL_MORPHOLOGY, L_SEMEN | L_PERCENT},
    {"normal forms", V_NORMAL_MORPHOLOGY, L_SEMEN | L_PERCENT},
    {"morphology", V_NORMAL_MORPHOLOGY, L_SEMEN | L_PERCENT},
    {"vitality", V_VITALITY, L_PERCENT},
    {"live sperm", V_VITALITY, L_SEMEN | L_PERCENT},
    {"live spermatozoa", V_VITALITY, L_SEMEN | L_PERCENT},
    {"viability", V_VITALITY, L_PERCENT},
};
#define NLABELS (sizeof(labels) / sizeof(labels[0]))

/* Words right before a label that make it another analyte ("Free testosterone", "Non-progressive
 * motility", "testicular volume"). */
static const char *const negating_prefixes[] = {
    "free ",
    "bioavailable ",
    "non ",
    "non-",
    "testicular ",
    "ovarian ",
    "ovary ",
    "uterine ",
    "(volume",
    "bladder ",
    "follicle ",
    "immotile ",
    "calculated ",
    "weak ",
    "sluggish ",
    "rapid ",
    "slow ",
    "fast ",
    "rapidly ",
    /* 17-OH progesterone, total motile sperm count, round cell count */
    "oh ",
    "oh-",
    "hydroxy ",
    "hydroxy-",
    "motile ",
    "round cell ",
};

/* Nearest-context words: a semen-only label counts when a semen word is the nearer one. */
static const char *const semen_words[] = {"semen", "sperm", "andrology", "ejaculat", "semin"};
static const char *const other_words[] = {"ovary",        "ovaries",    "ovarian", "uterus",
                                          "uterine",      "testicular", "testes",  "testis",
                                          "orchidometer", "bladder",    "thyroid", "follicle"};

/* Words that end a scan: the number after them is not a result ("above 30 nmol/L"). */
static const char *const stop_words[] = {
    "above",  "below",     "over",  "under",    "exceed",   "exceeds", "exceeding",
    "than",   "reference", "range", "interval", "limit",    "limits",  "target",
    "cut",    "cutoff",    "if",    "when",     "until",    "after",   "before",
    "within", "between",   "dose",  "daily",    "starting", "centile", "percentile",
    "median", "age",       "aged",  "ratio",    "per",      "each",    "days",
};

/* Sides: a count given per ovary ("AFC: right 5, left 7") is summed, any other value stops. */
static const char *const side_words[] = {"right", "left", "r", "rt", "lt", "ro", "lo"};

/* Parts of dates, skipped with their number ("14 Mar 2024"). */
static const char *const months[] = {
    "jan",   "feb",  "mar",  "apr",    "may",       "jun",     "jul",      "aug",
    "sep",   "sept", "oct",  "nov",    "dec",       "january", "february", "march",
    "april", "june", "july", "august", "september", "october", "november", "december"};

/* Listed without a result. */
static const char *const not_reported_phrases[] = {
    "not done",      "not performed",  "not measured",   "not tested",
    "not available", "not applicable", "not assessable", "not assessed",
    "not reported",  "pending",        "awaited",        "to follow",
    "cancelled",     "canceled",       "insufficient",   "n/a",
    "n.a.",          "not yet",        "unavailable",    "undetectable",
    "not detected",  "see comment",    "haemolysed",     "hemolyzed",
    "hemolysed",
};

/* --- small text helpers ------------------------------------------------------------------------
 */

/* A lower-case copy of a line with "ü"/"Ü" folded to "u"; map[i] is the byte offset in the
 * original line of norm[i]. */
struct line {
	const char *orig;
	size_t olen;
	char norm[LINE_MAX_BYTES];
	unsigned short map[LINE_MAX_BYTES + 1];
	size_t len;
};

static void
line_load(struct line *l, const char *p, size_t n)
{
	size_t i = 0, j = 0;

	if (n >= LINE_MAX_BYTES)
		n = LINE_MAX_BYTES - 1;
	l->orig = p;
	l->olen = n;
	while (i < n && j < LINE_MAX_BYTES - 1) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0xc3 && i + 1 < n && (p[i + 1] == '\xbc' || p[i + 1] == '\x9c')) {
			l->map[j] = (unsigned short)i;
			l->norm[j++] = 'u';
			i += 2;
			continue;
		}
		/* General punctuation (U+2010-U+203F: dashes, curly quotes, bullets) is
		 * punctuation, not part of a word: "‘progressive motility", "• AFC", "3.5–12.5". */
		if (c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
		    (unsigned char)p[i + 2] >= 0x90) {
			unsigned char d = (unsigned char)p[i + 2];
			l->map[j] = (unsigned short)i;
			l->norm[j++] = d <= 0x95 ? '-' : d <= 0x9f ? '\'' : ' ';
			i += 3;
			continue;
		}
		l->map[j] = (unsigned short)i;
		l->norm[j++] = c == '\t' ? ' ' : (char)tolower(c);
		i++;
	}
	l->map[j] = (unsigned short)i;
	l->norm[j] = '\0';
	l->len = j;
}

/* A label starting at word boundary i: its index and end, or -1. */
static int
label_at(const struct line *l, size_t i, size_t *end)
{
	size_t k, best_end = 0;
	int best = -1;

	if (i > 0 && text_alnum((unsigned char)l->norm[i - 1]))
		return -1;
	for (k = 0; k < NLABELS; k++) {
		size_t e = text_match(l->norm, l->len, i, labels[k].text);
		if (e > best_end && (e >= l->len || !text_alnum((unsigned char)l->norm[e]))) {
			best = (int)k;
			best_end = e;
		}
	}
	if (best >= 0)
		*end = best_end;
	return best;
}

/* --- context -----------------------------------------------------------------------------------
 */

struct doc {
	const char *text;
	int male; /* the document is about a man (semen analysis, "Sex: Male") */
	/* Offsets of the last semen and other-context words before the current line (-1: none),
	 * kept as the lines go by so that a label's context costs its own line only. */
	long last_semen, last_other;
	size_t line_start;
};

#define NSEMEN (sizeof(semen_words) / sizeof(semen_words[0]))
#define NOTHER (sizeof(other_words) / sizeof(other_words[0]))

/* Last occurrence of any word of list in text[from, upto), as an offset, or -1. */
static long
last_of(const char *text, size_t from, size_t upto, const char *const *list, size_t n)
{
	long best = -1;

	for (size_t k = 0; k < n; k++) {
		size_t wl = strlen(list[k]);
		for (size_t i = upto >= from + wl ? upto - wl + 1 : from; i-- > from;) {
			if (strncasecmp(text + i, list[k], wl) == 0) {
				if ((long)i > best)
					best = (long)i;
				break;
			}
		}
	}
	return best;
}

static int
semen_context(const struct doc *d, size_t at)
{
	long s = last_of(d->text, d->line_start, at, semen_words, NSEMEN);
	long o = last_of(d->text, d->line_start, at, other_words, NOTHER);

	if (s < 0)
		s = d->last_semen;
	if (o < 0)
		o = d->last_other;
	return s >= 0 && s > o;
}

/* The context words of the line just read become the ones "before". */
static void
context_advance(struct doc *d, size_t line_end)
{
	long s = last_of(d->text, d->line_start, line_end, semen_words, NSEMEN);
	long o = last_of(d->text, d->line_start, line_end, other_words, NOTHER);

	if (s >= 0)
		d->last_semen = s;
	if (o >= 0)
		d->last_other = o;
}

/* --- the scan ----------------------------------------------------------------------------------
 */

struct range {
	int have;
	double lo, hi; /* NAN for an open side */
	int phased;    /* "Follicular: 3.5-12.5": one of several, not for flagging */
};

struct found {
	int ok, not_reported;
	struct number num;
	enum value_qualifier q;
	enum unit_kind unit;
	size_t unit_end;
	enum value_flag printed_flag;
	int star;
	struct range range;
	enum unit_kind pre_unit; /* a unit printed between the label and the number */
	int crossed;             /* the value was on the next line */
	int whole_line;          /* the result came before the label: the source is the whole row */
	size_t src_end; /* byte offset, in the line the value was on, of the end of its unit */
};

static int
is_phase_word_before(const char *s, size_t i)
{
	static const char *const phases[] = {"follicular",   "ovulation", "ovulatory", "luteal",
	                                     "postmenopaus", "mid-cycle", "midcycle",  "menopaus",
	                                     "pregnan",      "trimester"};
	size_t from = i > 24 ? i - 24 : 0;

	for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		const char *hit = NULL, *p = s + from;
		size_t n = strlen(phases[k]);
		while ((p = strstr(p, phases[k])) != NULL && p < s + i) {
			hit = p;
			p += n;
		}
		if (hit)
			return 1;
	}
	return 0;
}

/* A range "a - b", "a-b", "a to b" at s[i] (i at a's first digit). */
static int
parse_range(const char *s, size_t len, size_t i, struct range *r, size_t *end)
{
	struct number a, b;
	size_t j;

	if (!number_parse(s, len, i, &a))
		return 0;
	j = a.end;
	while (j < len && s[j] == ' ')
		j++;
	if (j < len && s[j] == '-')
		j++;
	else if (j + 2 < len && (unsigned char)s[j] == 0xe2 && (unsigned char)s[j + 1] == 0x80 &&
	         ((unsigned char)s[j + 2] == 0x93 || (unsigned char)s[j + 2] == 0x94))
		j += 3; /* en or em dash */
	else if (text_word_at(s, len, j, "to"))
		j += 2;
	else
		return 0;
	while (j < len && s[j] == ' ')
		j++;
	if (j < len && s[j] == '<')
		j++; /* "<5.0-54.7" has its own sign; "0.5 - <1.0" too */
	if (!number_parse(s, len, j, &b) || b.v < a.v)
		return 0;
	r->have = 1;
	r->lo = a.v;
	r->hi = b.v;
	r->phased = is_phase_word_before(s, i);
	*end = b.end;
	return 1;
}

/* Comparison signs: "<", ">", "≤", "≥", "<=", ">=", "=>", "=<". */
static size_t
parse_sign(const char *s, size_t len, size_t i, enum value_qualifier *q, int *or_equal)
{
	const unsigned char *u = (const unsigned char *)s + i;
	size_t left = len - i;

	*or_equal = 0;
	if (left >= 3 && u[0] == 0xe2 && u[1] == 0x89 && (u[2] == 0xa4 || u[2] == 0xa5)) {
		*q = u[2] == 0xa4 ? Q_LT : Q_GT;
		*or_equal = 1;
		return 3;
	}
	if (left >= 2 && (u[0] == '<' || u[0] == '>') && u[1] == '=') {
		*q = u[0] == '<' ? Q_LT : Q_GT;
		*or_equal = 1;
		return 2;
	}
	if (left >= 2 && u[0] == '=' && (u[1] == '<' || u[1] == '>')) {
		*q = u[1] == '<' ? Q_LT : Q_GT;
		*or_equal = 1;
		return 2;
	}
	if (left >= 1 && (u[0] == '<' || u[0] == '>')) {
		*q = u[0] == '<' ? Q_LT : Q_GT;
		return 1;
	}
	return 0;
}

static void
skip_spaces(const char *s, size_t len, size_t *i)
{
	while (*i < len && s[*i] == ' ')
		(*i)++;
}

/* A word of letters (and apostrophes) at s[i]; its end. */
static size_t
word_end(const char *s, size_t len, size_t i)
{
	while (i < len &&
	       (isalpha((unsigned char)s[i]) || s[i] == '\'' || (unsigned char)s[i] >= 0x80))
		i++;
	return i;
}

static int
in_list(const char *s, size_t n, const char *const *list, size_t count)
{
	for (size_t k = 0; k < count; k++)
		if (strlen(list[k]) == n && memcmp(s, list[k], n) == 0)
			return 1;
	return 0;
}

static int
not_reported_at(const char *s, size_t len, size_t i)
{
	for (size_t k = 0; k < sizeof(not_reported_phrases) / sizeof(not_reported_phrases[0]); k++)
		if (text_word_at(s, len, i, not_reported_phrases[k]))
			return 1;
	/* "na" or "nd" closing the line */
	if ((text_word_at(s, len, i, "na") || text_word_at(s, len, i, "nd")) &&
	    (i + 2 >= len || s[i + 2] == ' '))
		return 1;
	return 0;
}

/* After the result: flags, the unit's tail and a reference range or bound on the same line, up to
 * the next label. */
static void
scan_tail(const struct line *l, size_t i, struct found *f)
{
	const char *s = l->norm;
	size_t len = l->len, e;

	while (i < len) {
		enum value_qualifier q;
		int oe;
		size_t n;

		skip_spaces(s, len, &i);
		if (i >= len || label_at(l, i, &e) >= 0)
			break;
		if (isdigit((unsigned char)s[i]) && !f->range.have) {
			if (parse_range(s, len, i, &f->range, &e)) {
				i = e;
				continue;
			}
		}
		if ((n = parse_sign(s, len, i, &q, &oe)) > 0 && !f->range.have) {
			size_t j = i + n;
			struct number b;
			skip_spaces(s, len, &j);
			if (number_parse(s, len, j, &b)) {
				f->range.have = 1;
				f->range.lo = q == Q_GT ? b.v : NAN;
				f->range.hi = q == Q_LT ? b.v : NAN;
				f->range.phased = is_phase_word_before(s, i);
				i = b.end;
				continue;
			}
		}
		if (isalpha((unsigned char)s[i])) {
			size_t we = word_end(s, len, i);
			if (f->printed_flag == FLAG_NONE &&
			    (we >= len || !text_alnum((unsigned char)s[we]))) {
				if ((we - i == 1 && s[i] == 'h') ||
				    (we - i == 4 && memcmp(s + i, "high", 4) == 0))
					f->printed_flag = FLAG_HIGH;
				else if ((we - i == 1 && s[i] == 'l') ||
				         (we - i == 3 && memcmp(s + i, "low", 3) == 0))
					f->printed_flag = FLAG_LOW;
			}
			i = we > i ? we : i + 1;
			continue;
		}
		if (s[i] == '*')
			f->star = 1;
		/* A sentence ends the row. */
		if (s[i] == ';' || (s[i] == '.' && i + 1 < len && s[i + 1] == ' '))
			break;
		i++;
	}
}

/* "AFC: right 5, left 7" / "AFC R 5 L 7": two side-labelled whole numbers, summed. */
static void
per_ovary_afc(const struct line *l, size_t i, struct found *f)
{
	const char *s = l->norm;
	size_t len = l->len;
	double sum = 0;
	int sides = 0, right = 0, left = 0;

	while (i < len && sides < 2) {
		size_t we = word_end(s, len, i);
		if (we > i) {
			int r = in_list(s + i, we - i, side_words, 5) && (s[i] == 'r');
			int lft =
			    (in_list(s + i, we - i, side_words, 5) || we - i == 1) && s[i] == 'l';
			struct number n;
			size_t k = we;
			if (!r && !lft) {
				i = we;
				continue;
			}
			while (k < len && !isdigit((unsigned char)s[k]) && k - we < 12 &&
			       !text_alnum((unsigned char)s[k]))
				k++;
			if (k < len && (s[k] == 'o' || s[k] == 'v')) /* "right ovary 5" */
				k = word_end(s, len, k);
			skip_spaces(s, len, &k);
			while (k < len && (s[k] == ':' || s[k] == '=' || s[k] == ' '))
				k++;
			if (number_parse(s, len, k, &n) && n.decimals == 0 &&
			    (r ? !right : !left)) {
				sum += n.v;
				sides++;
				right |= r;
				left |= lft;
				i = n.end;
				f->unit_end = n.end;
				f->src_end = l->map[n.end];
				continue;
			}
			i = we;
		} else {
			i++;
		}
	}
	if (sides == 2 && right && left) {
		f->ok = 1;
		f->num.v = sum;
		f->unit = U_NONE;
	}
}

/* A plain number (not a range, not signed) next at s[i], after blanks and a flag. */
static int
lone_number_at(const char *s, size_t len, size_t i)
{
	struct number n;
	struct range r;
	size_t e, we;

	skip_spaces(s, len, &i);
	we = word_end(s, len, i);
	if ((we - i == 1 && (s[i] == 'h' || s[i] == 'l')) || (i < len && s[i] == '*'))
		i = we > i ? we : i + 1;
	skip_spaces(s, len, &i);
	if (i >= len || !isdigit((unsigned char)s[i]) || !number_parse(s, len, i, &n))
		return 0;
	return !parse_range(s, len, i, &r, &e);
}

/* Scans for key's result from position i of line l (after its label). Lines after l are in
 * next/nnext (for prose wrapped after the label). */
static void
scan_value(enum value_key key, int lflags, struct line *l, size_t i, const char *next, size_t nnext,
           enum unit_kind group_unit, struct found *f)
{
	struct line *cur = l;
	struct line cont; /* the next line, loaded only when the scan reaches it */
	int words = 0, crossed = 0;

	memset(f, 0, sizeof(*f));
	/* the unit of a group heading ("Steroid hormones (nmol/L)") until the row gives one */
	f->pre_unit = group_unit;
	for (;;) {
		const char *s = cur->norm;
		size_t len = cur->len, e;
		enum value_qualifier q = Q_NONE;
		int oe = 0;
		size_t n;

		skip_spaces(s, len, &i);
		if (i >= len) {
			/* Prose wraps: "the endometrium is homogeneous / and measures 4.5 mm". */
			if (crossed || next == NULL || nnext == 0 || words > 3 || f->range.have)
				return;
			line_load(&cont, next, nnext);
			cur = &cont;
			i = 0;
			crossed = 1;
			continue;
		}
		if (label_at(cur, i, &e) >= 0)
			return;
		if (not_reported_at(s, len, i)) {
			f->not_reported = 1;
			return;
		}
		n = parse_sign(s, len, i, &q, &oe);
		if (n > 0 || isdigit((unsigned char)s[i]) ||
		    (number_ocr_digit(s[i]) && i + 1 < len &&
		     (isdigit((unsigned char)s[i + 1]) ||
		      (s[i + 1] == '.' && i + 2 < len && isdigit((unsigned char)s[i + 2]))))) {
			size_t j = i + n, ue = 0;
			struct number num;
			enum unit_kind u;
			double canon;
			int conv;

			skip_spaces(s, len, &j);
			if (!number_parse(s, len, j, &num)) {
				i = j > i ? j : i + 1;
				continue;
			}
			/* A number inside parentheses is a remark ("Complete (20 min)"), a range
			 * is a reference: neither is the result. */
			if (j > 0 && s[j - 1] == '(') {
				while (i < len && s[i] != ')')
					i++;
				continue;
			}
			{
				struct range r;
				if (n == 0 && parse_range(s, len, j, &r, &e)) {
					if (!f->range.have)
						f->range = r;
					i = e;
					continue;
				}
			}
			/* Dates and times ("14/03/2024", "14.03.2024", "2024-03-14", "10:56")
			 * are not results. */
			if (num.end + 1 < len &&
			    (s[num.end] == '/' || s[num.end] == ':' || s[num.end] == '.' ||
			     (s[num.end] == '-' && num.decimals == 0)) &&
			    isdigit((unsigned char)s[num.end + 1])) {
				i = num.end + 1;
				while (i < len && (isdigit((unsigned char)s[i]) || s[i] == '/' ||
				                   s[i] == '.' || s[i] == '-' || s[i] == ':'))
					i++;
				continue;
			}
			/* "14 Mar 2024" */
			{
				size_t k = num.end, we;
				skip_spaces(s, len, &k);
				we = word_end(s, len, k);
				if (we > k && in_list(s + k, we - k, months,
				                      sizeof(months) / sizeof(months[0]))) {
					i = we;
					skip_spaces(s, len, &i);
					while (i < len && isdigit((unsigned char)s[i]))
						i++;
					continue;
				}
			}
			/* A number that is part of a word ("3-layer", "2D", "4A") is not a result;
			 * one with its unit or flag glued on ("10mm", "3L") is. */
			if (num.end + 1 < len && s[num.end] == '-' &&
			    isalpha((unsigned char)s[num.end + 1])) {
				i = word_end(s, len, num.end + 1);
				continue;
			}
			if (num.end < len && isalpha((unsigned char)s[num.end])) {
				size_t ge;
				enum unit_kind gu = unit_parse(s, len, num.end, &ge);
				size_t we = word_end(s, len, num.end);
				int flag =
				    we - num.end == 1 && (s[num.end] == 'l' || s[num.end] == 'h');
				int ordinal =
				    we - num.end == 2 && (text_match(s, len, num.end, "rd") ||
				                          text_match(s, len, num.end, "th") ||
				                          text_match(s, len, num.end, "st") ||
				                          text_match(s, len, num.end, "nd"));
				if (gu == U_UNKNOWN && !flag && !ordinal) {
					i = we;
					continue;
				}
			}
			/* Ordinals ("3rd generation") are words. */
			if (num.end + 1 < len &&
			    (text_match(s, len, num.end, "rd") ||
			     text_match(s, len, num.end, "th") ||
			     text_match(s, len, num.end, "st") ||
			     text_match(s, len, num.end, "nd")) &&
			    !text_alnum((unsigned char)s[num.end + 2])) {
				i = num.end + 2;
				continue;
			}
			/* A glued flag: "3L", "7.9H". */
			if (num.end < len && (s[num.end] == 'l' || s[num.end] == 'h') &&
			    (num.end + 1 >= len || !text_alnum((unsigned char)s[num.end + 1]))) {
				f->printed_flag = s[num.end] == 'l' ? FLAG_LOW : FLAG_HIGH;
				ue = num.end + 1;
				u = U_NONE;
				/* the unit may follow the flag */
				{
					size_t ue2;
					enum unit_kind u2 = unit_parse(s, len, ue, &ue2);
					if (u2 != U_NONE && u2 != U_UNKNOWN) {
						u = u2;
						ue = ue2;
					}
				}
			} else {
				u = unit_parse(s, len, num.end, &ue);
				/* Flags may sit between the number and its unit: "9.3 L
				 * million/mL", "19.5 * U/L", "30.0 H NG/ML". */
				if (u == U_NONE || u == U_UNKNOWN) {
					size_t k = num.end, we;
					skip_spaces(s, len, &k);
					we = word_end(s, len, k);
					if ((we - k == 1 && (s[k] == 'h' || s[k] == 'l')) ||
					    (we - k == 4 && memcmp(s + k, "high", 4) == 0) ||
					    (we - k == 3 && memcmp(s + k, "low", 3) == 0)) {
						f->printed_flag =
						    s[k] == 'h' ? FLAG_HIGH : FLAG_LOW;
						u = unit_parse(s, len, we, &ue);
						if (u == U_NONE)
							ue = we;
					} else if (k < len && s[k] == '*') {
						f->star = 1;
						u = unit_parse(s, len, k + 1, &ue);
						if (u == U_NONE)
							ue = k + 1;
					} else if (k < len && s[k] == '(' && k + 2 < len &&
					           (s[k + 1] == 'l' || s[k + 1] == 'h') &&
					           s[k + 2] == ')') {
						f->printed_flag =
						    s[k + 1] == 'h' ? FLAG_HIGH : FLAG_LOW;
						ue = k + 3;
					} else if (k < len && s[k] == '(') {
						/* "479 (pmol/L)" */
						size_t pe;
						enum unit_kind pu = unit_parse(s, len, k + 1, &pe);
						if (pu != U_NONE && pu != U_UNKNOWN && pe < len &&
						    s[pe] == ')') {
							u = pu;
							ue = pe + 1;
						}
					}
				}
			}
			if ((u == U_NONE || u == U_UNKNOWN) && f->pre_unit != U_NONE)
				u = f->pre_unit;
			/* "sperm count 20 million/mL" is a concentration. */
			if ((lflags & L_SPERM_COUNT) && u == U_MILLION_ML)
				key = V_SPERM_CONCENTRATION;
			/* "Prolactin  < 500  268 mIU/L": a bound before a plain number is the
			 * reference column, not a censored result. */
			if (q != Q_NONE && lone_number_at(s, len, ue)) {
				if (!f->range.have) {
					f->range.have = 1;
					f->range.lo = q == Q_GT ? num.v : NAN;
					f->range.hi = q == Q_LT ? num.v : NAN;
					f->range.phased = is_phase_word_before(s, i);
				}
				i = ue > num.end ? ue : num.end;
				continue;
			}
			if ((lflags & L_NEEDS_UNIT) && (u == U_NONE || u == U_UNKNOWN))
				return;
			if (u == U_TIME || !unit_convert(key, u, num.v, &canon, &conv))
				return;
			if (canon < keys[key].min || canon > keys[key].max)
				return;
			if (key == V_AFC && num.decimals > 0)
				return;
			/* "41% progressive motility": the number belongs to the label after it. */
			{
				size_t k = ue;
				skip_spaces(s, len, &k);
				if (text_word_at(s, len, k, "of"))
					k += 2, skip_spaces(s, len, &k);
				if (u == U_PERCENT && label_at(cur, k, &e) >= 0)
					return;
			}
			f->ok = 1;
			f->num = num;
			f->q = q;
			f->unit = u;
			f->unit_end = ue;
			f->crossed = crossed;
			f->src_end = cur->map[ue];
			scan_tail(cur, ue, f);
			return;
		}
		if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) {
			size_t we = word_end(s, len, i), ue;
			/* "FT4", "T3", "CA125": the digits belong to the word */
			if (we < len && isdigit((unsigned char)s[we]) && we - i <= 4 &&
			    !(we - i == 1 &&
			      (s[i] == 'x' || s[i] == 'l' || s[i] == 'o' || s[i] == 's'))) {
				while (we < len && text_alnum((unsigned char)s[we]))
					we++;
				if (++words > MAX_FILLER_WORDS)
					return;
				i = we;
				continue;
			}
			enum unit_kind pu = unit_parse(s, len, i, &ue);
			/* "Estradiol  pmol/L  479": the unit column before the result */
			if (pu != U_NONE && pu != U_UNKNOWN && pu != U_OTHER && pu != U_TIME &&
			    pu != U_MILLION) {
				f->pre_unit = pu;
				i = ue;
				continue;
			}
			/* "FSH day 3: 6.5", "cycle day 12": the day is not the result */
			if ((we - i == 3 && memcmp(s + i, "day", 3) == 0) ||
			    (we - i == 2 && memcmp(s + i, "cd", 2) == 0)) {
				size_t k = we;
				while (k < len && (s[k] == ' ' || s[k] == '-'))
					k++;
				if (k < len && isdigit((unsigned char)s[k])) {
					while (k < len && isdigit((unsigned char)s[k]))
						k++;
					i = k;
					continue;
				}
			}
			/* "March 14, 2024" */
			if (in_list(s + i, we - i, months, sizeof(months) / sizeof(months[0]))) {
				i = we;
				skip_spaces(s, len, &i);
				while (i < len &&
				       (isdigit((unsigned char)s[i]) || s[i] == ',' || s[i] == ' '))
					i++;
				continue;
			}
			if (in_list(s + i, we - i, side_words,
			            sizeof(side_words) / sizeof(side_words[0]))) {
				if (key == V_AFC)
					per_ovary_afc(cur, i, f);
				return;
			}
			if (in_list(s + i, we - i, stop_words,
			            sizeof(stop_words) / sizeof(stop_words[0])))
				return;
			if (!((we - i == 1 && (s[i] == 'h' || s[i] == 'l')) ||
			      (we - i == 4 && memcmp(s + i, "high", 4) == 0) ||
			      (we - i == 3 && memcmp(s + i, "low", 3) == 0)))
				if (++words > MAX_FILLER_WORDS)
					return;
			i = we > i ? we : i + 1;
			continue;
		}
		/* Punctuation: dot leaders, colons, parentheses, '=' pass; a sentence end stops. */
		if (s[i] == ';' || (s[i] == '.' && i + 2 < len && s[i + 1] == ' ' &&
		                    isupper((unsigned char)cur->orig[cur->map[i + 2]])))
			return;
		if (s[i] == '(') {
			/* "(AMH)", "(PR + NP)", "(live spermatozoa)": part of the label */
			size_t k = i + 1;
			while (k < len && s[k] != ')' && k - i < 48)
				k++;
			if (k < len && s[k] == ')' && !isdigit((unsigned char)s[i + 1])) {
				/* "Estradiol (pmol/L)": a unit given with the label */
				size_t ue;
				enum unit_kind pu = unit_parse(s, k, i + 1, &ue);
				if (pu != U_NONE && pu != U_UNKNOWN && pu != U_OTHER &&
				    pu != U_TIME && ue == k)
					f->pre_unit = pu;
				i = k + 1;
				continue;
			}
		}
		i++;
	}
}

/* --- putting it together -----------------------------------------------------------------------
 */

/* Appends p[0, n) to o (length *len, capacity cap) with runs of blanks as one space. */
static void
append_collapsed(char *o, size_t *len, size_t cap, const char *p, size_t n)
{
	int space = *len > 0;

	for (size_t i = 0; i < n && *len < cap; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			space = 1;
			continue;
		}
		if (space && *len > 0)
			o[(*len)++] = ' ';
		space = 0;
		o[(*len)++] = p[i];
	}
}

/* source_text: from the label to the end of the value's unit (across the line break for
 * wrapped prose), blanks collapsed, cut on a character boundary. */
static void
copy_source(struct lab_value *v, const struct line *l, size_t label_from, const struct found *f,
            const char *next)
{
	char *o = v->source_text;
	size_t cap = sizeof(v->source_text) - 1, n = 0, from = l->map[label_from];

	if (f->crossed) {
		append_collapsed(o, &n, cap, l->orig + from, l->olen - from);
		append_collapsed(o, &n, cap, next, f->src_end);
	} else {
		append_collapsed(o, &n, cap, l->orig + from,
		                 f->src_end > from ? f->src_end - from : 0);
	}
	while (n > 0 && ((unsigned char)o[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && (unsigned char)o[n - 1] >= 0xc0)
		n--;
	o[n] = '\0';
}

static void
set_flag(struct lab_value *v, enum value_key k, const struct found *f, const struct doc *d)
{
	double x = f->num.v, lo, hi;

	if (f->range.have && !f->range.phased) {
		lo = f->range.lo;
		hi = f->range.hi;
		v->flag_from_document = true;
	} else if (f->printed_flag != FLAG_NONE) {
		v->flag = f->printed_flag;
		v->flag_from_document = true;
		return;
	} else {
		x = v->value;
		lo = keys[k].ref_lo;
		hi = keys[k].ref_hi;
		if (k == V_TESTOSTERONE && d->male)
			lo = MALE_T_LO, hi = MALE_T_HI;
	}
	if (!isnan(lo) && (x < lo || (x == lo && f->q == Q_LT)))
		v->flag = FLAG_LOW;
	else if (!isnan(hi) && (x > hi || (x == hi && f->q == Q_GT)))
		v->flag = FLAG_HIGH;
	else
		v->flag = FLAG_NORMAL;
}

static void
record(struct value_set *out, enum value_key k, const struct found *f, const struct line *l,
       size_t label_from, const char *next, const struct doc *d)
{
	struct lab_value *v = &out->v[k];
	double canon;
	int conv;

	if (v->present)
		return;
	unit_convert(k, f->unit, f->num.v, &canon, &conv);
	memset(v, 0, sizeof(*v));
	v->present = true;
	v->value = number_round2(canon);
	v->qualifier = f->q;
	if (conv) {
		v->converted = true;
		v->reported = f->num.v;
		/* The unit's usual spelling, not OCR's ("mlIU/L"): source_text keeps what was read.
		 */
		snprintf(v->reported_unit, sizeof(v->reported_unit), "%s", unit_name(f->unit));
	}
	v->certainty = 0.97;
	if (f->unit == U_NONE || f->unit == U_UNKNOWN)
		v->certainty -= 0.12;
	if (f->num.ocr_fixed)
		v->certainty -= 0.15;
	if (f->crossed)
		v->certainty -= 0.1;
	set_flag(v, k, f, d);
	copy_source(v, l, label_from, f, next);
	out->count++;
}

/* Words right after a label that make it another analyte: "Testosterone, free",
 * "Progesterone 17-OH". */
static int
negated_after(const struct line *l, size_t end)
{
	static const char *const after[] = {"free",     "bioavailable", "bio",        "calculated",
	                                    "index",    "17",           "ratio",      "binding",
	                                    "receptor", "antibody",     "antibodies", "shbg"};
	size_t i = end;

	while (i < l->len && strchr(" ,(-/", l->norm[i])) {
		/* a column gap: the next word is another column's */
		if (l->norm[i] == ' ' && i + 1 < l->len && l->norm[i + 1] == ' ')
			return 0;
		i++;
	}
	for (size_t k = 0; k < sizeof(after) / sizeof(after[0]); k++)
		if (text_word_at(l->norm, l->len, i, after[k]))
			return 1;
	return 0;
}

static int
negated(const struct line *l, size_t at)
{
	for (size_t k = 0; k < sizeof(negating_prefixes) / sizeof(negating_prefixes[0]); k++) {
		size_t n = strlen(negating_prefixes[k]);
		if (at >= n && memcmp(l->norm + at - n, negating_prefixes[k], n) == 0)
			return 1;
	}
	return 0;
}

/* "41% progressive motility": a percentage right before a percent label. */
static int
percent_before(const struct line *l, size_t at, size_t label_end, struct found *f, size_t *start)
{
	size_t i = at, j;
	struct number num;

	while (i > 0 && l->norm[i - 1] == ' ')
		i--;
	if (i >= 3 && memcmp(l->norm + i - 2, "of", 2) == 0 && l->norm[i - 3] == ' ')
		for (i -= 3; i > 0 && l->norm[i - 1] == ' ';)
			i--;
	if (i == 0 || l->norm[i - 1] != '%')
		return 0;
	j = i - 1;
	while (j > 0 && l->norm[j - 1] == ' ')
		j--;
	while (j > 0 && (isdigit((unsigned char)l->norm[j - 1]) || l->norm[j - 1] == '.' ||
	                 l->norm[j - 1] == ','))
		j--;
	if (j > 0 && text_alnum((unsigned char)l->norm[j - 1]))
		return 0;
	if (!number_parse(l->norm, l->len, j, &num) || num.v > 100)
		return 0;
	memset(f, 0, sizeof(*f));
	f->ok = 1;
	f->num = num;
	f->unit = U_PERCENT;
	f->unit_end = label_end;
	f->src_end = l->map[label_end];
	*start = j;
	return 1;
}

/* A line without labels or numbers is a heading: "Steroid hormones (nmol/L)" gives its rows a
 * unit, one without a unit ends the group. */
static void
heading_unit(const struct line *l, enum unit_kind *group)
{
	size_t i, e, ue;
	enum unit_kind u = U_NONE;

	for (i = 0; i < l->len; i++) {
		if (label_at(l, i, &e) >= 0)
			return;
		if (l->norm[i] == '(' && u == U_NONE) {
			enum unit_kind pu = unit_parse(l->norm, l->len, i + 1, &ue);
			if (pu != U_NONE && pu != U_UNKNOWN && pu != U_OTHER && pu != U_TIME &&
			    ue < l->len && l->norm[ue] == ')') {
				u = pu;
				i = ue;
				continue;
			}
		}
		if (isdigit((unsigned char)l->norm[i]))
			return;
	}
	for (i = 0; i < l->len && l->norm[i] == ' '; i++)
		;
	if (i < l->len)
		*group = u;
}

/* The row starts with the result: "[<] 2.84 [H] [ng/mL]" and then the label at label_from. */
static int
result_before(const struct line *l, size_t label_from, size_t label_end, enum value_key key,
              int lflags, enum unit_kind group_unit, struct found *f)
{
	const char *s = l->norm;
	size_t i = 0, n, ue, we;
	enum value_qualifier q = Q_NONE;
	int oe, conv;
	struct number num;
	enum unit_kind u = U_NONE;
	double canon;

	memset(f, 0, sizeof(*f));
	skip_spaces(s, label_from, &i);
	n = parse_sign(s, label_from, i, &q, &oe);
	i += n;
	skip_spaces(s, label_from, &i);
	if (!number_parse(s, label_from, i, &num))
		return 0;
	i = num.end;
	skip_spaces(s, label_from, &i);
	we = word_end(s, label_from, i);
	if ((we - i == 1 && (s[i] == 'h' || s[i] == 'l')) ||
	    (we - i == 4 && memcmp(s + i, "high", 4) == 0) ||
	    (we - i == 3 && memcmp(s + i, "low", 3) == 0)) {
		f->printed_flag = s[i] == 'h' ? FLAG_HIGH : FLAG_LOW;
		i = we;
	}
	u = unit_parse(s, label_from, i, &ue);
	if (u != U_NONE)
		i = ue;
	skip_spaces(s, label_from, &i);
	if (i != label_from)
		return 0;
	if (u == U_NONE || u == U_UNKNOWN)
		u = group_unit;
	if ((lflags & L_NEEDS_UNIT) && (u == U_NONE || u == U_UNKNOWN))
		return 0;
	if (u == U_TIME || !unit_convert(key, u, num.v, &canon, &conv) || canon < keys[key].min ||
	    canon > keys[key].max)
		return 0;
	f->ok = 1;
	f->num = num;
	f->q = q;
	f->unit = u;
	f->src_end = l->olen;
	f->whole_line = 1;
	scan_tail(l, label_end, f);
	return 1;
}

/* The document is about a man: it says so ("Sex: Male", "Gender: M", "Male hormone panel") or
 * it is a semen analysis. Decides the published testosterone reference. */
static int
about_a_man(const char *text)
{
	static const char *const marks[] = {
	    "sex: male",  "sex male",     "sex: m\n", "sex: m ",   "gender: male", "gender: m\n",
	    "gender: m ", "male hormone", "semen",    "andrology", "seminogram",   "spermiogram"};

	for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
		for (const char *p = text; (p = strcasestr(p, marks[k])) != NULL; p++)
			if (p == text || !isalpha((unsigned char)p[-1])) /* not "female hormone" */
				return 1;
	return 0;
}

/* --- grids: names in a header row, values in a row below ----------------------------------------
 */

#define GRID_COLS 16
#define GRID_LOOKAHEAD 3 /* lines after the header: a units row, blank lines, the values */
#define GRID_SLACK 4     /* columns a value may sit away from its header */

struct column {
	size_t start, end;
	int key; /* a label's key, or -1 */
	int lflags;
	enum unit_kind unit; /* from a units row */
};

/* The line's columns: runs of text separated by two or more blanks. */
static int
columns(const struct line *l, struct column *c)
{
	size_t i = 0;
	int n = 0;

	while (n < GRID_COLS) {
		while (i < l->len && l->norm[i] == ' ')
			i++;
		if (i >= l->len)
			break;
		c[n].start = i;
		while (i < l->len &&
		       !(l->norm[i] == ' ' && i + 1 < l->len && l->norm[i + 1] == ' '))
			i++;
		while (i > c[n].start && l->norm[i - 1] == ' ')
			i--;
		c[n].end = i;
		c[n].key = -1;
		c[n].lflags = 0;
		c[n].unit = U_NONE;
		n++;
		while (i < l->len && l->norm[i] == ' ')
			i++;
	}
	return n;
}

static int
starts_number(const struct line *l, size_t i)
{
	enum value_qualifier q;
	int oe;

	i += parse_sign(l->norm, l->len, i, &q, &oe);
	return i < l->len && isdigit((unsigned char)l->norm[i]);
}

/* The column of c[0..n) nearest to position at, within GRID_SLACK, or -1. */
static int
nearest(const struct column *c, int n, size_t at)
{
	int best = -1;
	size_t bd = GRID_SLACK + 1;

	for (int k = 0; k < n; k++) {
		size_t d = c[k].start > at ? c[k].start - at : at - c[k].start;
		if (d < bd) {
			bd = d;
			best = k;
		}
	}
	return best;
}

/* "FSH  LH  E2  AMH" / "IU/L  IU/L  pg/mL  ng/mL" / "12.6  5.4  61  0.72": when l is such a header
 * (two labels or more, no numbers), reads the values of the first row below it that has numbers. */
static void
read_grid(const struct line *l, const char *after, const struct doc *d, size_t at,
          struct value_set *out)
{
	struct column h[GRID_COLS], c[GRID_COLS];
	struct line row;
	int nh = columns(l, h), labelled = 0;

	for (int k = 0; k < nh; k++) {
		size_t e;
		int li = label_at(l, h[k].start, &e);
		if (starts_number(l, h[k].start))
			return;
		if (li < 0 || e > h[k].end || negated_after(l, e) ||
		    ((labels[li].flags & L_SEMEN) && !semen_context(d, at + l->map[h[k].start])))
			continue;
		h[k].key = labels[li].key;
		h[k].lflags = labels[li].flags;
		labelled++;
	}
	/* One label among other columns ("Date  TSH  Free T4  Vit D") is a grid only when the
	 * value row has exactly its columns. */
	if (labelled == 0 || nh < 2)
		return;
	for (int ahead = 0; ahead < GRID_LOOKAHEAD && after && *after; ahead++) {
		const char *eol = strpbrk(after, "\n\f");
		size_t n = eol ? (size_t)(eol - after) : strlen(after);
		int nc, numbers = 0;

		line_load(&row, after, n);
		nc = columns(&row, c);
		for (int k = 0; k < nc; k++)
			numbers += starts_number(&row, c[k].start);
		if (numbers == 0) {
			/* a units row (or a blank line) */
			for (int k = 0; k < nc; k++) {
				size_t ue;
				enum unit_kind u = unit_parse(row.norm, c[k].end, c[k].start, &ue);
				int hk = nearest(h, nh, c[k].start);
				if (hk >= 0 && u != U_NONE && u != U_UNKNOWN)
					h[hk].unit = u;
			}
			after = eol && *eol == '\n' ? eol + 1 : NULL;
			continue;
		}
		if (labelled == 1 && nc != nh)
			return;
		for (int k = 0; k < nh; k++) {
			struct found f;
			struct number num;
			enum value_qualifier q = Q_NONE;
			size_t i, ue;
			double canon;
			int oe, conv, vk = nc == nh ? k : nearest(c, nc, h[k].start);
			enum unit_kind u;

			if (h[k].key < 0 || vk < 0 || out->v[h[k].key].present)
				continue;
			i = c[vk].start + parse_sign(row.norm, c[vk].end, c[vk].start, &q, &oe);
			if (!number_parse(row.norm, c[vk].end, i, &num) ||
			    (num.end < c[vk].end && strchr("/:-", row.norm[num.end])))
				continue; /* not a number, or a date */
			u = unit_parse(row.norm, c[vk].end, num.end, &ue);
			if (u == U_NONE || u == U_UNKNOWN)
				u = h[k].unit;
			if (((h[k].lflags & L_NEEDS_UNIT) && (u == U_NONE || u == U_UNKNOWN)) ||
			    !unit_convert(h[k].key, u, num.v, &canon, &conv) ||
			    canon < keys[h[k].key].min || canon > keys[h[k].key].max)
				continue;
			memset(&f, 0, sizeof(f));
			f.ok = 1;
			f.num = num;
			f.q = q;
			f.unit = u;
			f.src_end = row.map[c[vk].end];
			record(out, h[k].key, &f, &row, c[vk].start, NULL, d);
			/* the source is the header's name and the value below it */
			snprintf(out->v[h[k].key].source_text, sizeof(out->v[h[k].key].source_text),
			         "%.*s %.*s", (int)(l->map[h[k].end] - l->map[h[k].start]),
			         l->orig + l->map[h[k].start],
			         (int)(row.map[c[vk].end] - row.map[c[vk].start]),
			         row.orig + row.map[c[vk].start]);
		}
		return;
	}
}

/* True when the text writes decimals with a point ("12.5") and never with a comma followed by one
 * or two digits ("7,1"). */
static int
decimal_points_only(const char *t)
{
	int points = 0;

	for (const char *p = t; *p; p++) {
		if (p == t || !isdigit((unsigned char)p[-1]) || !isdigit((unsigned char)p[1]))
			continue;
		if (*p == ',' && (!isdigit((unsigned char)p[2]) || !isdigit((unsigned char)p[3])))
			return 0;
		if (*p == '.')
			points++;
	}
	return points > 0;
}

void
values_extract(const char *text, struct value_set *out)
{
	struct line l;
	struct doc d = {text, 0, -1, -1, 0};
	const char *p = text;
	bool nr[V_KEY_COUNT] = {false};

	enum unit_kind group_unit = U_NONE;

	memset(out, 0, sizeof(*out));
	number_set_thousands_commas(decimal_points_only(text));
	d.male = about_a_man(text);
	while (*p) {
		const char *eol = strpbrk(p, "\n\f"), *next = NULL;
		struct found f2;
		size_t n = eol ? (size_t)(eol - p) : strlen(p), nnext = 0, i;

		if (eol && eol[1] && eol[1] != '\n' && eol[1] != '\f') {
			const char *e2 = strpbrk(eol + 1, "\n\f");
			next = eol + 1;
			nnext = e2 ? (size_t)(e2 - next) : strlen(next);
		}
		line_load(&l, p, n);
		d.line_start = (size_t)(p - text);
		if (p > text && p[-1] == '\f')
			group_unit = U_NONE;
		heading_unit(&l, &group_unit);
		for (i = 0; i < l.len;) {
			size_t end;
			int li = label_at(&l, i, &end);
			struct found f;
			enum value_key k;

			if (li < 0) {
				i++;
				continue;
			}
			k = labels[li].key;
			if (negated(&l, i) || negated_after(&l, end) ||
			    ((labels[li].flags & L_SEMEN) &&
			     !semen_context(&d, (size_t)(p - text) + l.map[i]))) {
				i = end;
				continue;
			}
			if (!out->v[k].present) {
				size_t start;
				if ((labels[li].flags & L_PERCENT) &&
				    percent_before(&l, i, end, &f, &start)) {
					record(out, k, &f, &l, start, next, &d);
				} else {
					scan_value(k, labels[li].flags, &l, end, next, nnext,
					           group_unit, &f);
					/* "2.84  ng/mL  ANTI-MULLERIAN HORMONE  0.78-5.24": the
					 * result column before the test's name */
					if ((!f.ok || f.crossed) && !f.not_reported &&
					    result_before(&l, i, end, k, labels[li].flags,
					                  group_unit, &f2))
						f = f2;
					if (f.ok) {
						if ((labels[li].flags & L_SPERM_COUNT) &&
						    f.unit == U_MILLION_ML)
							k = V_SPERM_CONCENTRATION;
						record(out, k, &f, &l, f.whole_line ? 0 : i, next,
						       &d);
					} else if (f.not_reported) {
						nr[k] = true;
					}
				}
			}
			i = end;
		}
		read_grid(&l, eol && *eol == '\n' ? eol + 1 : NULL, &d, (size_t)(p - text), out);
		context_advance(&d, (size_t)(p - text) + n);
		p += n;
		if (*p)
			p++;
	}
	for (int k = 0; k < V_KEY_COUNT; k++)
		if (!out->v[k].present && nr[k])
			out->v[k].not_reported = true;
}
