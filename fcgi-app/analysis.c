/* analysis.c: the built-in analyzer (see analysis.h). Findings are rules over the extracted values,
 * written for a clinician reading a list: what is out of range, what it usually means. They never
 * state a diagnosis the values cannot carry. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

#define MAX_FINDINGS 16
#define FINDING_SIZE 256

struct findings {
	char items[MAX_FINDINGS][FINDING_SIZE];
	int n;
};

static void add_finding(struct findings *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_finding(struct findings *f, const char *fmt, ...)
{
	va_list ap;

	if (f->n >= MAX_FINDINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(f->items[f->n++], FINDING_SIZE, fmt, ap);
	va_end(ap);
}

static const struct lab_value *
get(const struct value_set *vs, enum value_key k)
{
	return vs->v[k].present ? &vs->v[k] : NULL;
}

/* "9.9 million/mL", "<0.03 ng/mL", "12%" */
static void
show(const struct lab_value *v, enum value_key k, char *buf, size_t size)
{
	char num[32];
	const char *unit = value_key_unit(k);

	value_format(v->value, num, sizeof(num));
	if (strcmp(unit, "%") == 0)
		snprintf(buf, size, "%s%s%%",
		         v->qualifier == Q_LT   ? "<"
		         : v->qualifier == Q_GT ? ">"
		                                : "",
		         num);
	else if (strcmp(unit, "count") == 0 || strcmp(unit, "pH") == 0)
		snprintf(buf, size, "%s%s",
		         v->qualifier == Q_LT   ? "<"
		         : v->qualifier == Q_GT ? ">"
		                                : "",
		         num);
	else
		snprintf(buf, size, "%s%s %s",
		         v->qualifier == Q_LT   ? "<"
		         : v->qualifier == Q_GT ? ">"
		                                : "",
		         num, unit);
}

static void
ovarian_findings(const struct value_set *vs, struct findings *f)
{
	const struct lab_value *amh = get(vs, V_AMH), *fsh = get(vs, V_FSH), *lh = get(vs, V_LH),
	                       *afc = get(vs, V_AFC), *e2 = get(vs, V_ESTRADIOL);
	char a[48], b[48];

	if (amh) {
		show(amh, V_AMH, a, sizeof(a));
		if (amh->flag == FLAG_LOW)
			add_finding(f, "Low AMH (%s): reduced ovarian reserve.", a);
		else if (amh->flag == FLAG_HIGH)
			add_finding(
			    f,
			    "High AMH (%s): a large follicle pool, as in polycystic ovarian "
			    "morphology; risk of over-response to stimulation.",
			    a);
	}
	if (afc) {
		show(afc, V_AFC, a, sizeof(a));
		if (afc->flag == FLAG_LOW)
			add_finding(f, "Low antral follicle count (%s): reduced ovarian reserve.",
			            a);
		else if (afc->flag == FLAG_HIGH)
			add_finding(
			    f,
			    "High antral follicle count (%s): consistent with polycystic ovarian "
			    "morphology.",
			    a);
	}
	if (fsh && fsh->flag == FLAG_HIGH) {
		show(fsh, V_FSH, a, sizeof(a));
		add_finding(
		    f,
		    "Raised FSH (%s): suggests diminished ovarian reserve when measured early "
		    "in the cycle.",
		    a);
	}
	if (fsh && lh && fsh->value > 0 && lh->value / fsh->value >= 2.0) {
		snprintf(a, sizeof(a), "%.1f", lh->value / fsh->value);
		add_finding(
		    f, "LH:FSH ratio of %s: raised, a pattern seen in polycystic ovary syndrome.",
		    a);
	}
	if (e2 && e2->flag == FLAG_HIGH && fsh) {
		show(e2, V_ESTRADIOL, b, sizeof(b));
		add_finding(f, "Raised estradiol (%s) can mask a raised FSH early in the cycle.",
		            b);
	}
}

static void
hormonal_findings(const struct value_set *vs, int male, struct findings *f)
{
	const struct lab_value *prl = get(vs, V_PROLACTIN), *tsh = get(vs, V_TSH),
	                       *t = get(vs, V_TESTOSTERONE), *p4 = get(vs, V_PROGESTERONE);
	char a[48];

	if (prl && prl->flag == FLAG_HIGH) {
		show(prl, V_PROLACTIN, a, sizeof(a));
		add_finding(f,
		            "Raised prolactin (%s): hyperprolactinaemia can disturb ovulation; "
		            "consider repeating.",
		            a);
	}
	if (tsh && tsh->flag == FLAG_HIGH) {
		show(tsh, V_TSH, a, sizeof(a));
		add_finding(f,
		            "Raised TSH (%s): check thyroid function (hypothyroidism) before "
		            "conception.",
		            a);
	} else if (tsh && tsh->flag == FLAG_LOW) {
		show(tsh, V_TSH, a, sizeof(a));
		add_finding(f, "Low TSH (%s): check for hyperthyroidism.", a);
	}
	if (t && t->flag == FLAG_HIGH && !male) {
		show(t, V_TESTOSTERONE, a, sizeof(a));
		add_finding(f,
		            "Raised testosterone (%s): hyperandrogenism, as in polycystic ovary "
		            "syndrome.",
		            a);
	} else if (t && t->flag == FLAG_LOW && male) {
		show(t, V_TESTOSTERONE, a, sizeof(a));
		add_finding(f, "Low testosterone (%s).", a);
	}
	/* Above about 3 ng/mL (10 nmol/L) in the luteal phase, progesterone shows ovulation. */
	if (p4 && p4->value >= 3.0 && p4->qualifier != Q_LT) {
		show(p4, V_PROGESTERONE, a, sizeof(a));
		add_finding(f, "Progesterone %s: consistent with ovulation (luteal phase).", a);
	}
}

static void
uterine_findings(const struct value_set *vs, struct findings *f)
{
	const struct lab_value *et = get(vs, V_ENDOMETRIAL_THICKNESS);
	char a[48];

	if (!et)
		return;
	show(et, V_ENDOMETRIAL_THICKNESS, a, sizeof(a));
	if (et->value < 7)
		add_finding(f,
		            "Endometrium %s: thin; expected early in the cycle, below 7 mm around "
		            "ovulation or transfer it may lower the chance of implantation.",
		            a);
	else if (et->value > 14)
		add_finding(f, "Endometrium %s: thicker than usual; correlate with the cycle day.",
		            a);
	else
		add_finding(f, "Endometrium %s: adequate thickness.", a);
}

static void
male_findings(const struct value_set *vs, struct findings *f)
{
	static const struct {
		enum value_key k;
		const char *words;
	} below[] = {
	    {V_SEMEN_VOLUME, "Low semen volume (hypospermia)"},
	    {V_SPERM_CONCENTRATION, "Low sperm concentration (oligozoospermia)"},
	    {V_TOTAL_SPERM_COUNT, "Low total sperm count"},
	    {V_PROGRESSIVE_MOTILITY, "Low progressive motility (asthenozoospermia)"},
	    {V_TOTAL_MOTILITY, "Low total motility"},
	    {V_NORMAL_MORPHOLOGY, "Few normal forms (teratozoospermia)"},
	    {V_VITALITY, "Low vitality"},
	};
	const struct lab_value *conc = get(vs, V_SPERM_CONCENTRATION);
	int semen = 0, low = 0;
	char a[48];

	for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++)
		semen |= get(vs, below[i].k) != NULL;
	if (!semen)
		return;
	if (conc && conc->value == 0 && conc->qualifier == Q_NONE) {
		add_finding(f,
		            "No sperm in the ejaculate (azoospermia): needs andrology assessment.");
		return;
	}
	for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
		const struct lab_value *v = get(vs, below[i].k);
		if (v && v->flag == FLAG_LOW) {
			show(v, below[i].k, a, sizeof(a));
			add_finding(f, "%s: %s; reference %s.", below[i].words, a,
			            value_key_reference(below[i].k));
			low++;
		}
	}
	if (!low)
		add_finding(f, "Semen parameters at or above the WHO 2021 lower reference limits.");
}

/* The domains of the contract's assessment that the values touch, in the contract's order. */
static json_object *
domains(const struct value_set *vs)
{
	static const struct {
		const char *name;
		enum value_key keys[8];
		int n;
	} map[] = {
	    {"male_factor",
	     {V_SEMEN_VOLUME, V_SEMEN_PH, V_SPERM_CONCENTRATION, V_TOTAL_SPERM_COUNT,
	      V_TOTAL_MOTILITY, V_PROGRESSIVE_MOTILITY, V_NORMAL_MORPHOLOGY, V_VITALITY},
	     8},
	    {"female_factor", {V_AMH, V_AFC, V_ENDOMETRIAL_THICKNESS, V_PROGESTERONE}, 4},
	    {"ovarian_function", {V_AMH, V_AFC, V_FSH, V_LH, V_ESTRADIOL}, 5},
	    {"uterine_factor", {V_ENDOMETRIAL_THICKNESS}, 1},
	    {"hormonal_balance",
	     {V_FSH, V_LH, V_ESTRADIOL, V_PROGESTERONE, V_PROLACTIN, V_TSH, V_TESTOSTERONE},
	     7},
	};
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		for (int j = 0; j < map[i].n; j++)
			if (vs->v[map[i].keys[j]].present) {
				json_object_array_add(a, json_object_new_string(map[i].name));
				break;
			}
	return a;
}

static json_object *
number(double v)
{
	char buf[32];

	value_format(v, buf, sizeof(buf));
	return json_object_new_double_s(v, buf);
}

static json_object *
values_json(const struct value_set *vs)
{
	static const char *const flags[] = {NULL, "low", "normal", "high"};
	json_object *o = json_object_new_object();

	for (int k = 0; k < V_KEY_COUNT; k++) {
		const struct lab_value *v = &vs->v[k];
		json_object *e, *orig = NULL;

		if (!v->present)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "value", number(v->value));
		json_object_object_add(e, "unit", json_object_new_string(value_key_unit(k)));
		json_object_object_add(
		    e, "qualifier",
		    v->qualifier == Q_NONE
		        ? NULL
		        : json_object_new_string(v->qualifier == Q_LT ? "<" : ">"));
		json_object_object_add(
		    e, "flag", flags[v->flag] ? json_object_new_string(flags[v->flag]) : NULL);
		json_object_object_add(e, "reference",
		                       json_object_new_string(v->flag_from_document
		                                                  ? "as printed in the document"
		                                                  : value_key_reference(k)));
		if (v->converted) {
			orig = json_object_new_object();
			json_object_object_add(orig, "value", number(v->reported));
			json_object_object_add(orig, "unit",
			                       json_object_new_string(v->reported_unit));
		}
		json_object_object_add(e, "original", orig);
		json_object_object_add(e, "source_text", json_object_new_string(v->source_text));
		json_object_object_add(o, value_key_name(k), e);
	}
	return o;
}

/* Falls with OCR quality and with the extraction's own doubts; low when nothing was found. */
static double
confidence(const struct extract_result *text, const struct value_set *vs)
{
	double c = 0;
	int n = 0;

	for (int k = 0; k < V_KEY_COUNT; k++)
		if (vs->v[k].present) {
			c += vs->v[k].certainty;
			n++;
		}
	c = n ? c / n : (text->len > 200 ? 0.5 : 0.2);
	if (text->ocr_pages > 0)
		c *= 0.4 + 0.6 * (text->ocr_quality < 0   ? 0
		                  : text->ocr_quality > 1 ? 1
		                                          : text->ocr_quality);
	if (c < 0.05)
		c = 0.05;
	if (c > 0.99)
		c = 0.99;
	return floor(c * 100 + 0.5) / 100;
}

static void
summary(const struct extract_result *text, const struct value_set *vs, const struct findings *f,
        char *out, size_t size)
{
	static const char *const flag_words[] = {"", " (low)", "", " (high)"};
	size_t n = 0;
	int shown = 0, nr = 0;
	char v[48];

#define PUT(...)                                                                                   \
	do {                                                                                       \
		if (n < size)                                                                      \
			n += (size_t)snprintf(out + n, size - n, __VA_ARGS__);                     \
	} while (0)
	if (vs->count == 0) {
		PUT("No lab values were found in this document");
		PUT(text->len < 50 ? " (it holds little or no readable text)." : ".");
	} else {
		PUT("%d value%s found: ", vs->count, vs->count == 1 ? "" : "s");
		for (int k = 0; k < V_KEY_COUNT; k++) {
			if (!vs->v[k].present)
				continue;
			show(&vs->v[k], (enum value_key)k, v, sizeof(v));
			PUT("%s%s %s%s", shown++ ? ", " : "", value_key_label((enum value_key)k), v,
			    flag_words[vs->v[k].flag]);
		}
		PUT(".");
	}
	for (int i = 0; i < f->n; i++)
		PUT(" %s", f->items[i]);
	for (int k = 0; k < V_KEY_COUNT; k++)
		if (vs->v[k].not_reported)
			PUT("%s%s", nr++ ? ", " : " No result given for: ",
			    value_key_label((enum value_key)k));
	if (nr)
		PUT(".");
	if (text->ocr_pages > 0)
		PUT(" The text was read from a scan (OCR quality %.0f%%): check the values against "
		    "the original.",
		    text->ocr_quality * 100);
#undef PUT
	if (n >= size && size > 4)
		memcpy(out + size - 4, "...", 4);
}

json_object *
analysis_build(const struct extract_result *text, const struct value_set *vals)
{
	json_object *a = json_object_new_object(), *kf = json_object_new_array(), *nr;
	struct findings f = {.n = 0};
	char sum[2048];
	int male = 0;

	for (int k = V_SEMEN_VOLUME; k <= V_VITALITY; k++)
		male |= vals->v[k].present;
	ovarian_findings(vals, &f);
	hormonal_findings(vals, male, &f);
	uterine_findings(vals, &f);
	male_findings(vals, &f);
	for (int i = 0; i < f.n; i++)
		json_object_array_add(kf, json_object_new_string(f.items[i]));
	nr = json_object_new_array();
	for (int k = 0; k < V_KEY_COUNT; k++)
		if (vals->v[k].not_reported)
			json_object_array_add(nr, json_object_new_string(value_key_name(k)));
	summary(text, vals, &f, sum, sizeof(sum));

	json_object_object_add(a, "analyzer", json_object_new_string("builtin"));
	json_object_object_add(a, "analyzer_version", json_object_new_string(ANALYZER_VERSION));
	json_object_object_add(a, "values", values_json(vals));
	json_object_object_add(a, "not_reported", nr);
	json_object_object_add(a, "key_findings", kf);
	json_object_object_add(a, "fertility_domains", domains(vals));
	json_object_object_add(a, "confidence", number(confidence(text, vals)));
	json_object_object_add(a, "summary", json_object_new_string(sum));
	json_object_object_add(a, "text_chars", json_object_new_int64((int64_t)text->len));
	json_object_object_add(a, "pages", json_object_new_int(text->pages));
	json_object_object_add(a, "ocr_pages", json_object_new_int(text->ocr_pages));
	return a;
}

enum fv_err
analysis_run(const char *path, const char *content_type, const struct extract_limits *lim,
             json_object **out, char **text, char *reason, size_t reasonlen)
{
	struct extract_result r;
	struct value_set vals;
	enum fv_err e;

	*out = NULL;
	if (text)
		*text = NULL;
	if ((e = extract_text(path, content_type, lim, &r, reason, reasonlen)) != FV_OK)
		return e;
	values_extract(r.text ? r.text : "", &vals);
	*out = analysis_build(&r, &vals);
	if (text) {
		*text = r.text;
		r.text = NULL;
	}
	extract_result_free(&r);
	return FV_OK;
}
