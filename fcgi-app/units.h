/* units.h: numbers and units as reports print them, for values.c: numbers that survive OCR's
 * confusions and both decimal separators, unit spellings (OCR's included), and conversion to the
 * contract's canonical units. Pure functions over a line of lower-case text (s, len), but for
 * one switch of the whole document (number_set_thousands_commas). */
#ifndef FV_UNITS_H
#define FV_UNITS_H

#include <stddef.h>

#include "values.h"

/* Letters, digits and any byte of a multi-byte UTF-8 character. */
int text_alnum(unsigned char c);
/* Matches pat at s[i] (pat's spaces match runs of spaces and hyphens); returns the end or 0. */
size_t text_match(const char *s, size_t len, size_t i, const char *pat);
/* The word or phrase w at s[i], ending at a word boundary. */
int text_word_at(const char *s, size_t len, size_t i, const char *w);

struct number {
	double v;
	size_t end;
	int ocr_fixed; /* letters read as digits */
	int decimals;
};

/* The digit an OCR'd character stands for inside a number ('O' 0, 'l'/'I' 1, 'S' 5, a digit
 * itself), or 0. */
int number_ocr_digit(char c);
/* Per document: 1 when "1,546" means 1546 (the document writes decimals with a point), 0 when a
 * comma is a decimal comma. */
void number_set_thousands_commas(int on);
/* A number at s[i]; fills n and returns 1, or 0. */
int number_parse(const char *s, size_t len, size_t i, struct number *n);
/* Half-up to 2 decimals, from the printed number. */
double number_round2(double v);

enum unit_kind {
	U_NONE,    /* no unit */
	U_UNKNOWN, /* letters we do not know (OCR noise): taken as canonical */
	U_NGML,
	U_PGML,
	U_PMOLL,
	U_NMOLL,
	U_IUL,   /* IU/L, mIU/mL, U/L */
	U_MIUL,  /* mIU/L, mU/L (prolactin, TSH) */
	U_UIUML, /* µIU/mL (TSH) */
	U_NGDL,
	U_UGL, /* µg/L = ng/mL */
	U_NGL, /* ng/L = pg/mL */
	U_MM,
	U_CM,
	U_ML,
	U_PERCENT,
	U_MILLION_ML,
	U_MILLION,
	U_TIME,  /* days, years, minutes: never a lab value */
	U_OTHER, /* a known unit of no analyte here (mg, mcg, g, IU dose, kg) */
};

/* The unit at s[i] (after blanks): its kind, *end after it (i when U_NONE). */
enum unit_kind unit_parse(const char *s, size_t len, size_t i, size_t *end);
/* The usual spelling of a unit that needs converting ("pmol/L"), else "". */
const char *unit_name(enum unit_kind u);
/* v printed in unit u as key k's canonical unit: 1 and *out (and *converted when a factor was
 * applied), or 0 when u cannot be a unit of k. U_NONE and U_UNKNOWN are taken as canonical. */
int unit_convert(enum value_key k, enum unit_kind u, double v, double *out, int *converted);

#endif
