/* units.c: numbers and units as reports print them (see units.h). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int
text_alnum(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Matches pat at s[i] (pat's spaces match runs of spaces and hyphens); returns the end or 0. */
size_t
text_match(const char *s, size_t len, size_t i, const char *pat)
{
	size_t j = i;

	for (; *pat; pat++) {
		if (*pat == ' ') {
			if (j >= len || (s[j] != ' ' && s[j] != '-'))
				return 0;
			while (j < len && (s[j] == ' ' || s[j] == '-'))
				j++;
		} else {
			if (j >= len || s[j] != *pat)
				return 0;
			j++;
		}
	}
	return j;
}

int
text_word_at(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);

	if (i + n > len || memcmp(s + i, w, n) != 0)
		return 0;
	/* Phrases ending in a space or punctuation carry their own boundary. */
	if (!text_alnum((unsigned char)w[n - 1]))
		return 1;
	return i + n >= len || !text_alnum((unsigned char)s[i + n]);
}

/* Whether "1,546" is a thousand and more or a decimal: see number_set_thousands_commas(). The
 * one piece of state of this file. */
static int thousands_commas;

void
number_set_thousands_commas(int on)
{
	thousands_commas = on;
}

/* OCR reads 0 as O/o, 1 as l/I, 5 as S inside numbers. */
int
number_ocr_digit(char c)
{
	switch (c) {
	case 'o':
		return '0';
	case 'l':
	case 'i':
		return '1';
	case 's':
		return '5';
	default:
		return isdigit((unsigned char)c) ? c : 0;
	}
}

/* A number at s[i]: digits with one '.' or ',' decimal separator; letters that OCR confuses with
 * digits count when the token also holds a real digit and no other letters. */
int
number_parse(const char *s, size_t len, size_t i, struct number *n)
{
	char buf[32];
	size_t j = i, b = 0;
	int digits = 0, real = 0, sep = 0, fixed = 0, decimals = 0;

	while (j < len && b < sizeof(buf) - 1) {
		char c = s[j], d = number_ocr_digit(c);
		/* A letter closing the token is a flag or a unit ("3L", "5s"), not a digit; only a
		 * trailing O reads as 0 ("1O"). */
		if (d && !isdigit((unsigned char)c) && c != 'o' && !(j > i && s[j - 1] == '.') &&
		    (j + 1 >= len || !text_alnum((unsigned char)s[j + 1])))
			break;
		if (d) {
			if (!isdigit((unsigned char)c))
				fixed++;
			else
				real++;
			buf[b++] = d;
			digits++;
			if (sep)
				decimals++;
			j++;
		} else if (c == ',' && !sep && thousands_commas && digits <= 3 && j + 3 < len &&
		           isdigit((unsigned char)s[j + 1]) && isdigit((unsigned char)s[j + 2]) &&
		           isdigit((unsigned char)s[j + 3]) &&
		           (j + 4 >= len || !isdigit((unsigned char)s[j + 4]))) {
			/* "1,546" in a document that writes decimals with a point */
			j++;
		} else if ((c == '.' || c == ',') && !sep && digits > 0 && j + 1 < len &&
		           (isdigit((unsigned char)s[j + 1]) ||
		            (number_ocr_digit(s[j + 1]) &&
		             (j + 2 >= len || !text_alnum((unsigned char)s[j + 2]) ||
		              isdigit((unsigned char)s[j + 2]))))) {
			buf[b++] = '.';
			sep = 1;
			j++;
		} else {
			break;
		}
	}
	if (!real || (fixed && fixed * 2 > digits))
		return 0;
	/* A token that goes on with letters ("3rd", "4A") is not a number, except a glued flag or
	 * unit, which the caller reads. */
	while (b > 0 && buf[b - 1] == '.')
		b--;
	buf[b] = '\0';
	n->v = strtod(buf, NULL);
	n->end = j;
	n->ocr_fixed = fixed;
	n->decimals = decimals;
	return 1;
}

struct unit_form {
	const char *text; /* lower case, compared after removing spaces */
	enum unit_kind kind;
};

/* Spellings after lower-casing; OCR variants included ("mlu" for "miu", "uiu" for "µiu"). */
static const struct unit_form unit_forms[] = {
    {"ng/ml", U_NGML},
    {"pg/ml", U_PGML},
    {"pmol/l", U_PMOLL},
    {"nmol/l", U_NMOLL},
    {"miu/ml", U_IUL},
    {"mlu/ml", U_IUL},
    {"m1u/ml", U_IUL},
    {"iu/l", U_IUL},
    {"lu/l", U_IUL},
    {"u/l", U_IUL},
    {"miu/l", U_MIUL},
    {"mlu/l", U_MIUL},
    {"m1u/l", U_MIUL},
    {"mliu/l", U_MIUL},
    {"mliu/ml", U_IUL},
    {"m|u/l", U_MIUL},
    {"m|u/ml", U_IUL},
    {"miu/i", U_MIUL},
    {"pmol/i", U_PMOLL},
    {"nmol/i", U_NMOLL},
    {"mu/l", U_MIUL},
    {"uiu/ml", U_UIUML},
    {"\xc2\xb5iu/ml", U_UIUML},
    {"\xce\xbciu/ml", U_UIUML},
    {"\xce\xbciu/ml", U_UIUML},
    {"\xce\xbcu/ml", U_UIUML},
    {"\xc2\xb5u/ml", U_UIUML},
    {"uu/ml", U_UIUML},
    {"ng/dl", U_NGDL},
    {"\xc2\xb5g/l", U_UGL},
    {"ug/l", U_UGL},
    {"ng/l", U_NGL},
    {"mm", U_MM},
    {"cm", U_CM},
    {"ml", U_ML},
    {"%", U_PERCENT},
    {"million/ml", U_MILLION_ML},
    {"mill/ml", U_MILLION_ML},
    {"m/ml", U_MILLION_ML},
    {"million", U_MILLION},
    {"mio/ml", U_MILLION_ML},
    {"mio", U_MILLION},
    {"days", U_TIME},
    {"day", U_TIME},
    {"years", U_TIME},
    {"year", U_TIME},
    {"yrs", U_TIME},
    {"weeks", U_TIME},
    {"months", U_TIME},
    {"min", U_TIME},
    {"minutes", U_TIME},
    {"hours", U_TIME},
    {"h", U_NONE},
    {"mg", U_OTHER},
    {"mcg", U_OTHER},
    {"g", U_OTHER},
    {"kg", U_OTHER},
    {"iu", U_OTHER},
    {"units", U_OTHER},
    {"ng", U_OTHER},
    {"mmol/l", U_OTHER},
    {"ug/dl", U_OTHER},
    {"\xc2\xb5g/dl", U_OTHER},
    {"pg", U_OTHER},
    {"x", U_OTHER},
};

/* Reads a unit at s[i] (after optional spaces). Returns its kind and sets *end; U_NONE when the
 * next thing is not a unit-like token. The "x10^6" family (×10⁶, x10*6, 10^6) is recognised by
 * shape because OCR mangles its superscript. */
enum unit_kind
unit_parse(const char *s, size_t len, size_t i, size_t *end)
{
	char tok[40];
	size_t j = i, t = 0, k;

	*end = i;
	while (j < len && s[j] == ' ')
		j++;
	/* OCR's stray mark before a unit: "_mlU/L", "|ng/mL" */
	if (j + 1 < len && (s[j] == '_' || s[j] == '|') && isalpha((unsigned char)s[j + 1]))
		j++;
	if (j < len && s[j] == '%') {
		*end = j + 1;
		return U_PERCENT;
	}
	/* ×10⁶ / x10^6 / x 10*6 / 10^6 */
	{
		size_t q = j;
		int times = 1;
		if (q + 1 < len && (unsigned char)s[q] == 0xc3 && (unsigned char)s[q + 1] == 0x97)
			q += 2; /* × */
		else if (q < len && (s[q] == 'x' || s[q] == '*'))
			q++;
		else
			times = 0;
		while (q < len && s[q] == ' ')
			q++;
		/* Without its "x", "10" must be followed by an exponent sign: "102 - 496" is a
		 * range. */
		if (q + 1 < len && s[q] == '1' && (s[q + 1] == '0' || s[q + 1] == 'o') &&
		    (times ||
		     (q + 2 < len && (s[q + 2] == '^' || (unsigned char)s[q + 2] == 0xe2)))) {
			size_t r = q + 2, stop;
			while (r < len && s[r] != ' ' && s[r] != '/' && r - q < 12)
				r++;
			stop = r;
			if (stop < len && s[stop] == '/') {
				r = stop + 1;
				while (r < len && text_alnum((unsigned char)s[r]))
					r++;
				*end = r;
				return text_match(s, len, stop + 1, "ml") ? U_MILLION_ML
				                                          : U_MILLION;
			}
			*end = stop;
			return U_MILLION;
		}
	}
	/* A token of letters, '/', µ and digits right after letters ("m1u/ml"). */
	k = j;
	while (k < len && t < sizeof(tok) - 1) {
		unsigned char c = (unsigned char)s[k];
		if (isalpha(c) || c == '/' || c >= 0x80 || c == '%' ||
		    (isdigit(c) && t > 0 && isalpha((unsigned char)tok[t - 1])))
			tok[t++] = (char)c;
		else if (c == ' ' && k + 1 < len && s[k + 1] == '/' && t > 0)
			; /* "ng /mL" */
		else if (c == '/' || (c == ' ' && t > 0 && tok[t - 1] == '/'))
			;
		else
			break;
		k++;
	}
	tok[t] = '\0';
	if (t == 0)
		return U_NONE;
	for (size_t u = 0; u < sizeof(unit_forms) / sizeof(unit_forms[0]); u++) {
		size_t n = strlen(unit_forms[u].text);
		if (t >= n && memcmp(tok, unit_forms[u].text, n) == 0 &&
		    (t == n || tok[n] == '/' || unit_forms[u].kind == U_MILLION_ML)) {
			/* "x10^6/ejaculate", "million/ejaculate": the total count */
			if (t > n && unit_forms[u].kind == U_MILLION && tok[n] == '/') {
				*end = k;
				return text_match(tok, t, n + 1, "ml") ? U_MILLION_ML : U_MILLION;
			}
			if (t == n) {
				*end = k;
				return unit_forms[u].kind;
			}
		}
	}
	*end = k;
	return U_UNKNOWN;
}

/* The usual spelling of a unit that needs converting. */
const char *
unit_name(enum unit_kind u)
{
	switch (u) {
	case U_PMOLL:
		return "pmol/L";
	case U_NMOLL:
		return "nmol/L";
	case U_MIUL:
		return "mIU/L";
	case U_NGML:
		return "ng/mL";
	case U_CM:
		return "cm";
	default:
		return "";
	}
}

/* Converts a printed number in unit u to key k's canonical unit. Returns 0 when u cannot be a
 * unit of k; *converted says whether a factor was applied. */
int
unit_convert(enum value_key k, enum unit_kind u, double v, double *out, int *converted)
{
	*converted = 0;
	*out = v;
	if (u == U_NONE || u == U_UNKNOWN)
		return 1;
	switch (k) {
	case V_AMH:
		if (u == U_NGML || u == U_UGL)
			return 1;
		if (u == U_PMOLL)
			return *converted = 1, *out = v / 7.14, 1;
		return 0;
	case V_FSH:
	case V_LH:
		return u == U_IUL || u == U_MIUL; /* "mU/L" and "mIU/L" are also written for IU/L */
	case V_ESTRADIOL:
		if (u == U_PGML || u == U_NGL)
			return 1;
		if (u == U_PMOLL)
			return *converted = 1, *out = v / 3.671, 1;
		return 0;
	case V_PROGESTERONE:
		if (u == U_NGML || u == U_UGL)
			return 1;
		if (u == U_NMOLL)
			return *converted = 1, *out = v / 3.18, 1;
		return 0;
	case V_PROLACTIN:
		if (u == U_NGML || u == U_UGL)
			return 1;
		if (u == U_MIUL)
			return *converted = 1, *out = v / 21.2, 1;
		return 0;
	case V_TSH:
		return u == U_MIUL || u == U_UIUML || u == U_IUL;
	case V_TESTOSTERONE:
		if (u == U_NGDL)
			return 1;
		if (u == U_NMOLL)
			return *converted = 1, *out = v * 28.84, 1;
		if (u == U_NGML)
			return *converted = 1, *out = v * 100, 1;
		return 0;
	case V_AFC:
		return 0;
	case V_ENDOMETRIAL_THICKNESS:
		if (u == U_MM)
			return 1;
		if (u == U_CM)
			return *converted = 1, *out = v * 10, 1;
		return 0;
	case V_SEMEN_VOLUME:
		return u == U_ML;
	case V_SEMEN_PH:
		return 0;
	case V_SPERM_CONCENTRATION:
		return u == U_MILLION_ML;
	case V_TOTAL_SPERM_COUNT:
		return u == U_MILLION;
	case V_TOTAL_MOTILITY:
	case V_PROGRESSIVE_MOTILITY:
	case V_NORMAL_MORPHOLOGY:
	case V_VITALITY:
		return u == U_PERCENT;
	default:
		return 0;
	}
}

double
number_round2(double v)
{
	/* Half-up from the printed number: a small nudge keeps 2.675 from rounding down because
	 * its binary value is 2.67499... */
	return floor(v * 100.0 + 0.5 + 1e-7) / 100.0;
}
