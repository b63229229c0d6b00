/* values.h: lab values from a document's text (extract.h), under the contract's canonical keys and
 * units (docs/api.md): label synonyms, values in tables (any column order) and in sentences, unit
 * conversion from SI, `<`/`>` qualifiers, flags against the printed reference range or the
 * published one, and the line each value came from. No I/O, no allocation; one document at a time
 * per process (units.c keeps one setting of the document being read). */
#ifndef FV_VALUES_H
#define FV_VALUES_H

#include <stdbool.h>
#include <stddef.h>

enum value_key {
	V_AMH,
	V_FSH,
	V_LH,
	V_ESTRADIOL,
	V_PROGESTERONE,
	V_PROLACTIN,
	V_TSH,
	V_TESTOSTERONE,
	V_AFC,
	V_ENDOMETRIAL_THICKNESS,
	V_SEMEN_VOLUME,
	V_SEMEN_PH,
	V_SPERM_CONCENTRATION,
	V_TOTAL_SPERM_COUNT,
	V_TOTAL_MOTILITY,
	V_PROGRESSIVE_MOTILITY,
	V_NORMAL_MORPHOLOGY,
	V_VITALITY,
	V_KEY_COUNT
};

enum value_qualifier { Q_NONE, Q_LT, Q_GT };
enum value_flag { FLAG_NONE, FLAG_LOW, FLAG_NORMAL, FLAG_HIGH };

struct lab_value {
	bool present;
	bool not_reported;         /* listed without a result ("Not done", "Pending", "N/A") */
	double value;              /* canonical unit, rounded half-up to 2 decimals */
	enum value_qualifier qualifier;
	bool converted;            /* printed in another unit: reported/reported_unit say which */
	double reported;
	char reported_unit[16];
	enum value_flag flag;
	bool flag_from_document;   /* flag judged against the range printed in the document */
	double certainty;          /* 0..1: how sure the extraction is (label form, unit seen, ...) */
	char source_text[200];     /* the line (or sentence part) the value came from, UTF-8 */
};

struct value_set {
	struct lab_value v[V_KEY_COUNT];
	int count;                 /* present values */
};

/* Canonical key ("amh") and unit ("ng/mL") of a key. */
const char *value_key_name(enum value_key k);
const char *value_key_unit(enum value_key k);
/* The analyte's name for people ("Sperm concentration"). */
const char *value_key_label(enum value_key k);
/* The published reference used when the document prints none, as text (">= 16 (WHO 2021)"). */
const char *value_key_reference(enum value_key k);

/* Writes v with at most 2 decimals and no trailing zeros ("8.5", "44", "0.03") into buf. */
void value_format(double v, char *buf, size_t size);

/* Finds the values in text (NUL-terminated UTF-8). Always succeeds; out is overwritten. */
void values_extract(const char *text, struct value_set *out);

#endif
