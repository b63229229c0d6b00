/* test-values.c: lab values from text (values.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "values.h"
#include "tap.h"

static const char *const qual[] = {"", "<", ">"};
static const char *const flags[] = {"-", "low", "normal", "high"};

static void
dump(const char *name, const char *text)
{
	struct value_set vs;

	values_extract(text, &vs);
	for (int k = 0; k < V_KEY_COUNT; k++) {
		const struct lab_value *v = &vs.v[k];
		if (v->present)
			printf("%s\t%s\t%s%.2f\t%s\t%s\t%s\n", name, value_key_name(k),
			       qual[v->qualifier], v->value, value_key_unit(k), flags[v->flag],
			       v->source_text);
		else if (v->not_reported)
			printf("%s\t%s\tNR\n", name, value_key_name(k));
	}
}

/* One document, one analyte: what must come out ("" = nothing; "NR" = listed without a result). */
struct vcase {
	const char *text;
	enum value_key key;
	const char *want; /* "<0.03", "12.5", "", "NR" */
	const char *flag; /* NULL: not checked */
};

static const struct vcase cases[] = {
    /* label synonyms and column orders */
    {"Anti-Müllerian hormone   8.6   pmol/L   (7.1 - 25.0)", V_AMH, "1.20", "normal"},
    {"Anti-Mullerian Hormone (AMH) <0.03 ng/mL LOW", V_AMH, "<0.03", "low"},
    {"AMH: 1,2 ng/ml", V_AMH, "1.20", NULL},
    {"Follicle stimulating hormone 6.2 IU/L", V_FSH, "6.20", "normal"},
    {"Follicle-Stimulating Hormone (FSH) ...... 14.1 mIU/mL H (3.5-12.5)", V_FSH, "14.10", "high"},
    {"FSH 1.5-12.4 6.5 IU/L", V_FSH, "6.50", "normal"},
    {"Test Reference Result Units\nFSH 3.5 - 12.5 19.9 IU/L", V_FSH, "19.90", "high"},
    {"E2 479 pmol/L", V_ESTRADIOL, "130.48", NULL},
    {"Oestradiol   336   pmol/L   46 - 609", V_ESTRADIOL, "91.53", "normal"},
    {"Estradiol  pmol/L  479  (161-775)", V_ESTRADIOL, "130.48", "normal"},
    {"Estradiol (pmol/L) 479", V_ESTRADIOL, "130.48", NULL},
    {"Progesterone 34.8 nmol/L (5.4 - 85.9)", V_PROGESTERONE, "10.94", "normal"},
    {"Prolactin 284 mlU/L 102 - 494", V_PROLACTIN, "13.40", "normal"},
    {"TSH, 3RD GENERATION . . . .        7.64 H          \xce\x9cIU/ML     (0.27 - 4.20)", V_TSH,
     "7.64", "high"},
    {"TSH 2,1 mU/l", V_TSH, "2.10", NULL},
    {"Prolactin 284 mlIU/L 102 - 494", V_PROLACTIN, "13.40", NULL},
    {"Oestradiol 336 pmol/I", V_ESTRADIOL, "91.53", NULL},
    {"Testosterone, Total 0.89 nmol/L 0.28 - 1.66", V_TESTOSTERONE, "25.67", "normal"},
    {"Free Testosterone 0.0 - 4.2 3.1 pg/mL", V_TESTOSTERONE, "", NULL},
    {"Luteinizing Hormone (LH) 14.9 H IU/L Follicular: 2.4-12.6\n Ovulation: 14.0-95.6", V_LH,
     "14.90", "high"},
    {"LH, SERUM . . . . . . . 3.2 MIU/ML (2.4 - 12.6)", V_LH, "3.20", "normal"},
    {"FSH 6.S IU/L", V_FSH, "6.50", NULL},
    {"Prolactin O.84 ng/mL", V_PROLACTIN, "0.84", NULL},
    {"FSH l2.5 IU/L", V_FSH, "12.50", NULL},
    {"Anti-Mullerian Hormone (AMH) >23.00 H ng/mL 1.00 - 3.50", V_AMH, ">23.00", "high"},
    /* not done, pending, missing */
    {"Prolactin Not done (102 - 494)", V_PROLACTIN, "NR", NULL},
    {"PROGESTERONE, SERUM . . . .        PENDING                    (0.20 - 1.50)", V_PROGESTERONE,
     "NR", NULL},
    {"Her prolactin result is still pending.", V_PROLACTIN, "NR", NULL},
    {"Vitality (live spermatozoa): N/A =54%\nSemen analysis", V_VITALITY, "NR", NULL},
    {"Progesterone\nReference interval 5.4 - 85.9", V_PROGESTERONE, "", NULL},
    /* sentences */
    {"Her AMH is low at 0.38 ng/mL and her FSH is 19.9 IU/L.", V_AMH, "0.38", "low"},
    {"Her AMH is low at 0.38 ng/mL and her FSH is 19.9 IU/L.", V_FSH, "19.90", "high"},
    {"Testosterone is mildly raised at 2.91 nmol/L and prolactin is normal at 280 mIU/L.",
     V_TESTOSTERONE, "83.92", NULL},
    {"Testosterone is mildly raised at 2.91 nmol/L and prolactin is normal at 280 mIU/L.",
     V_PROLACTIN, "13.21", NULL},
    {"Progesterone above 30 nmol/L in the mid-luteal phase is consistent with ovulation.",
     V_PROGESTERONE, "", NULL},
    {"IVF with a starting dose of 225 IU of recombinant FSH daily would be appropriate.", V_FSH, "",
     NULL},
    {"Luteal progesterone check 7 days after IUI.", V_PROGESTERONE, "", NULL},
    {"The endometrium is homogeneous\nand measures 4.5 mm in double-layer thickness.",
     V_ENDOMETRIAL_THICKNESS, "4.50", NULL},
    {"Endometrial thickness: 0.8 cm", V_ENDOMETRIAL_THICKNESS, "8.00", NULL},
    {"an antral follicle count of 40 in total", V_AFC, "40.00", "high"},
    {"The right ovary contains 4 antral follicles and the left 6.", V_AFC, "", NULL},
    {"giving a raised LH:FSH ratio.", V_LH, "", NULL},
    /* semen analyses */
    {"Semen analysis\nVolume 3.2 mL, sperm concentration 9.9 million/mL", V_SEMEN_VOLUME, "3.20",
     "normal"},
    {"Semen analysis\nVolume 3.2 mL, sperm concentration 9.9 million/mL", V_SPERM_CONCENTRATION,
     "9.90", "low"},
    {"Testicular volumes 15 mL bilaterally.", V_SEMEN_VOLUME, "", NULL},
    {"The right ovary measures 34 x 16 x 20 mm (volume 5.7 mL).", V_SEMEN_VOLUME, "", NULL},
    {"Right ovary\n Volume   4.9 mL", V_SEMEN_VOLUME, "", NULL},
    {"SEMEN\nConcentration 21 x10*6/mL = 16", V_SPERM_CONCENTRATION, "21.00", NULL},
    {"SEMEN\nTotal sperm count 42 x10%6/ejaculate= 39", V_TOTAL_SPERM_COUNT, "42.00", NULL},
    {"Semen: Sperm count: 45 million/ml", V_SPERM_CONCENTRATION, "45.00", NULL},
    {"semen: a volume of 3.7 mL, a concentration of 86\nmillion/mL with 41% progressive motility "
     "and 6% normal forms.",
     V_PROGRESSIVE_MOTILITY, "41.00", NULL},
    {"semen: a volume of 3.7 mL, a concentration of 86\nmillion/mL with 41% progressive motility "
     "and 6% normal forms.",
     V_NORMAL_MORPHOLOGY, "6.00", NULL},
    {"semen: a volume of 3.7 mL, a concentration of 86\nmillion/mL with 41% progressive motility "
     "and 6% normal forms.",
     V_SPERM_CONCENTRATION, "86.00", NULL},
    {"SEMEN ANALYSIS\nProgressive motility (PR) 37 % >= 30", V_PROGRESSIVE_MOTILITY, "37.00",
     "normal"},
    {"SEMEN ANALYSIS\nNon-progressive motility (NP) 10 %", V_PROGRESSIVE_MOTILITY, "", NULL},
    {"SEMEN ANALYSIS\nRapid progressive motility (a) 10 %", V_PROGRESSIVE_MOTILITY, "", NULL},
    {"SEMEN ANALYSIS\nMorphology (normal forms) 3L % 24", V_NORMAL_MORPHOLOGY, "3.00", "low"},
    {"SEMEN ANALYSIS\nTotal motility (PR + NP) 47 % \xe2\x89\xa5 42", V_TOTAL_MOTILITY, "47.00",
     "normal"},
    {"SEMEN ANALYSIS\nVitality 40 i. % 254", V_VITALITY, "40.00", NULL},
    {"SEMEN ANALYSIS\npH 7.9 \xe2\x89\xa5 7.2", V_SEMEN_PH, "7.90", "normal"},
    {"Abstinence: 3 days\npH 7.9", V_SEMEN_PH, "", NULL},
    {"Sperm concentration: 0 million/mL (L) => 16 million/mL", V_SPERM_CONCENTRATION, "0.00",
     "low"},
    /* other labs' layouts */
    {"Test      Result  Units  Ref. Range\nFSH        7,1    U/L    2.5 - 10.2", V_FSH, "7.10",
     "normal"},
    {"Oestradiol (E2)     <92       pmol/L", V_ESTRADIOL, "<25.06", NULL},
    {"Prolactin           412       mU/L      102-496", V_PROLACTIN, "19.43", "normal"},
    {"Testosterone        1.4       nmol/L    0.3-1.7", V_TESTOSTERONE, "40.38", "normal"},
    {"SEMINOGRAM\nVolume .................. 2.8 ml", V_SEMEN_VOLUME, "2.80", NULL},
    {"SEMINOGRAM\nSperm concentration ..... 35 x 10^6/ml", V_SPERM_CONCENTRATION, "35.00", NULL},
    {"SEMINOGRAM\nTotal sperm count ....... 98 x 10^6", V_TOTAL_SPERM_COUNT, "98.00", NULL},
    {"SEMINOGRAM\nMotility: progressive (PR) 38 %, non-progressive (NP) 12 %",
     V_PROGRESSIVE_MOTILITY, "38.00", NULL},
    {"FSH            11.2 mIU/ml     < 10", V_FSH, "11.20", "high"},
    {"Scan: AFC 8 (R4, L4).", V_AFC, "8.00", "normal"},
    {"TSH: 3.1 uIU/mL.", V_TSH, "3.10", NULL},
    {"Serum prolactin was 15 ng/mL.", V_PROLACTIN, "15.00", NULL},
    /* dates, days, sides */
    {"FSH (03/14/2024) 6.5 IU/L", V_FSH, "6.50", NULL},
    {"FSH 14.03.2024 6.5 IU/L", V_FSH, "6.50", NULL},
    {"FSH collected 2024-03-14 10:56 result 6.5 IU/L", V_FSH, "6.50", NULL},
    {"FSH 14 Mar 2024 6.5", V_FSH, "6.50", NULL},
    {"FSH day 3: 6.5 IU/L", V_FSH, "6.50", NULL},
    {"AFC: right 5, left 7", V_AFC, "12.00", NULL},
    {"AFC R 6 L 4", V_AFC, "10.00", NULL},
    {"ET 8 mm, trilaminar", V_ENDOMETRIAL_THICKNESS, "8.00", NULL},
    {"ET on day 5 with 2 embryos", V_ENDOMETRIAL_THICKNESS, "", NULL},
    {"ET 2 embryos", V_ENDOMETRIAL_THICKNESS, "", NULL},
    /* neighbouring analytes */
    {"17-OH progesterone 2.1 nmol/L", V_PROGESTERONE, "", NULL},
    {"Semen analysis: total motile sperm count 20 million", V_TOTAL_SPERM_COUNT, "", NULL},
    {"FSH 6.1 IU/L     LH 4.2 IU/L", V_LH, "4.20", NULL},
    {"LH/FSH ratio 2.1", V_LH, "", NULL},
    {"LH/FSH ratio 2.1", V_FSH, "", NULL},
    {"FSH [3.5-12.5] 6.1", V_FSH, "6.10", "normal"},
    {"Anti-Mullerian Hormone (AMH): 2,45 \xc2\xb5g/l", V_AMH, "2.45", NULL},
    {"Estradiol: 150 pmol/l (follicular 98-571; ovulatory 177-1153)", V_ESTRADIOL, "40.86", NULL},
    {"Semen analysis\nMorphology: 4% normal forms (Kruger)", V_NORMAL_MORPHOLOGY, "4.00", NULL},
    {"Semen analysis\nTotal sperm count: 45 x 10\xe2\x81\xb6 per ejaculate", V_TOTAL_SPERM_COUNT,
     "45.00", NULL},
    {"ET: 10mm", V_ENDOMETRIAL_THICKNESS, "10.00", NULL},
    {"AFC right ovary 6, left ovary 8, total 14", V_AFC, "14.00", NULL},
    /* numbers inside words */
    {"Endometrium: 3-layer pattern, 8 mm", V_ENDOMETRIAL_THICKNESS, "8.00", NULL},
    {"Endometrium 2D measurement 7.5 mm", V_ENDOMETRIAL_THICKNESS, "7.50", NULL},
    {"Endometrial thickness 10mm", V_ENDOMETRIAL_THICKNESS, "10.00", NULL},
    {"SEMEN\nVolume 21.4mL", V_SEMEN_VOLUME, "", NULL},
    {"Estradiol 479 (pmol/L)", V_ESTRADIOL, "130.48", NULL},
    {"AMH: undetectable", V_AMH, "NR", NULL},
    {"Prolactin: see comment", V_PROLACTIN, "NR", NULL},
    /* found on rendered reports of other layouts (tests/unit/test-reports.c) */
    {"Prolactin                        < 500                       268              mIU/L",
     V_PROLACTIN, "12.64", "normal"},
    {"Progesterone   Follicular < 5   2.2   nmol/L", V_PROGESTERONE, "0.69", NULL},
    {"Prolactin (mIU/L)      356      102 - 496", V_PROLACTIN, "16.79", "normal"},
    {"Steroid hormones (nmol/L)\nProgesterone   34.6   > 30 indicates ovulation", V_PROGESTERONE,
     "10.88", NULL},
    {"Steroid hormones (nmol/L)\nThyroid\nProgesterone   34.6", V_PROGESTERONE, "34.60", NULL},
    {"RESULT FLAG UNITS TEST REFERENCE\n2.84   ng/mL   ANTI-MULLERIAN HORMONE   0.78-5.24", V_AMH,
     "2.84", "normal"},
    {"9.6    mIU/mL   FSH   FOLLICULAR 3.5-12.5\n7.2   mIU/mL   LH   FOLLICULAR 2.4-12.6", V_FSH,
     "9.60", NULL},
    {"1.98   uIU/mL   TSH W/REFLEX TO FT4   0.45-4.50", V_TSH, "1.98", "normal"},
    {"TESTOSTERONE, FREE  31.8 L  35.0-155.0 pg/mL", V_TESTOSTERONE, "", NULL},
    {"Progesterone 17-OH 2.4 nmol/L", V_PROGESTERONE, "", NULL},
    {"E2: 250 pg/mL, P4: 0.8 ng/mL", V_PROGESTERONE, "0.80", NULL},
    {"Day 10: E2 1,546 pg/mL, LH 8.1 IU/L", V_ESTRADIOL, "1546.00", NULL},
    {"Estradiol 143,0 pmol/L; AMH 2,1 ng/mL; FSH 1,546 IU/L", V_FSH, "1.55", NULL},
    {"Endometrial stripe  9.8 mm, trilaminar", V_ENDOMETRIAL_THICKNESS, "9.80", NULL},
    {"SEMEN\nMotility: PR 32%, NP 8%, IM 60%", V_PROGRESSIVE_MOTILITY, "32.00", NULL},
    {"SEMEN\nMotility: PR 32%, NP 8%, IM 60%", V_TOTAL_MOTILITY, "", NULL},
    {"Prolactin  268  _mlU/L", V_PROLACTIN, "12.64", NULL},
    {"TSH receptor antibodies 1.2 IU/L", V_TSH, "", NULL},
    {"Testosterone/SHBG ratio 2.1", V_TESTOSTERONE, "", NULL},
    {"Antral follicle count (AFC): R=6, L=7, total = 13", V_AFC, "13.00", NULL},
    /* the published testosterone reference follows the patient's sex */
    {"Sex: F\nTestosterone 450 ng/dL", V_TESTOSTERONE, "450.00", "high"},
    {"Gender: M\nTestosterone 450 ng/dL", V_TESTOSTERONE, "450.00", "normal"},
    {"MALE HORMONE PANEL\nTestosterone 150 ng/dL", V_TESTOSTERONE, "150.00", "low"},
    {"Female hormone profile\nTestosterone 150 ng/dL", V_TESTOSTERONE, "150.00", "high"},
    /* grids, punctuation, more semen words */
    {"Date      FSH     LH      E2      AMH\n          IU/L    IU/L    pmol/L  ng/mL\n\n"
     "02/19/2024  12.6    5.4     220     0.72",
     V_ESTRADIOL, "59.93", NULL},
    {"Date      FSH     LH      E2      AMH\n02/19/2024  12.6    5.4     61     0.72", V_LH, "5.40",
     NULL},
    {"Date     TSH     Free T4    Vit D\n02/19/2024   1.74    1.18    34", V_TSH, "1.74", NULL},
    {"Date     TSH     Free T4    Vit D\n02/19/2024   1.74    1.18", V_TSH, "", NULL},
    {"Semen analysis: \xe2\x80\x98progressive motility 31% and 3% normal forms.",
     V_PROGRESSIVE_MOTILITY, "31.00", NULL},
    {"Semen analysis: \xe2\x80\x98progressive motility 31% and 3% normal forms.", V_TOTAL_MOTILITY,
     "", NULL},
    {"CASA\nSperm concentration 38 M/ml\nMotile (A+B+C)   49 %   18.7 M/ml", V_TOTAL_MOTILITY,
     "49.00", NULL},
    {"Semen\nLive sperm (eosin-nigrosin)   62 %   54 %", V_VITALITY, "62.00", "normal"},
};

static void
check_case(const struct vcase *c)
{
	struct value_set vs;
	const struct lab_value *v;
	char got[32], what[160];

	values_extract(c->text, &vs);
	v = &vs.v[c->key];
	if (v->present)
		snprintf(got, sizeof(got), "%s%.2f", qual[v->qualifier], v->value);
	else
		snprintf(got, sizeof(got), "%s", v->not_reported ? "NR" : "");
	snprintf(what, sizeof(what), "%s from \"%.60s\"", value_key_name(c->key), c->text);
	for (char *p = what; *p; p++)
		if (*p == '\n')
			*p = '|';
	STR_EQ(got, c->want, what);
	if (c->flag && v->present)
		STR_EQ(flags[v->flag], c->flag, "  its flag");
}

static json_object *
analyse(const char *text, int ocr_pages, double quality)
{
	struct extract_result r = {(char *)text, strlen(text), 1, ocr_pages, quality};
	struct value_set vs;

	values_extract(text, &vs);
	return analysis_build(&r, &vs);
}

static const char *
path(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *x = NULL;

	if (!json_object_object_get_ex(o, a, &x) || (b && !json_object_object_get_ex(x, b, &x)) ||
	    (c && !json_object_object_get_ex(x, c, &x)))
		return NULL;
	return json_object_get_string(x);
}

static int
array_has(json_object *o, const char *key, const char *needle)
{
	json_object *a;

	if (!json_object_object_get_ex(o, key, &a))
		return 0;
	/* "=name": the whole element */
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(a, i));
		if (needle[0] == '=' ? strcmp(e, needle + 1) == 0 : strstr(e, needle) != NULL)
			return 1;
	}
	return 0;
}

static void
check_analysis(void)
{
	json_object *a =
	    analyse("Oestradiol 479 pmol/L (161 - 775)\nAMH 0.38 ng/mL\nFSH 19.9 IU/L", 0, 1);
	json_object *b, *c;
	double conf_text, conf_ocr;

	STR_EQ(path(a, "analyzer", NULL, NULL), "builtin", "analysis: analyzer builtin");
	STR_EQ(path(a, "values", "estradiol", "value"), "130.48",
	       "analysis: converted value, 2 decimals");
	STR_EQ(path(a, "values", "estradiol", "unit"), "pg/mL", "analysis: canonical unit");
	STR_EQ(path(a, "values", "estradiol", "original"),
	       "{ \"value\": 479, \"unit\": \"pmol\\/L\" }",
	       "analysis: original value and unit when converted");
	STR_EQ(path(a, "values", "amh", "flag"), "low", "analysis: AMH flagged low");
	STR_EQ(path(a, "values", "amh", "original"), NULL,
	       "analysis: original null when not converted");
	OK(array_has(a, "key_findings", "Low AMH"), "analysis: low AMH finding");
	OK(array_has(a, "key_findings", "Raised FSH"), "analysis: raised FSH finding");
	OK(array_has(a, "fertility_domains", "ovarian_function"), "analysis: ovarian domain");
	OK(!array_has(a, "fertility_domains", "=male_factor"), "analysis: no male domain");
	OK(strstr(path(a, "summary", NULL, NULL), "AMH 0.38 ng/mL (low)") != NULL,
	   "analysis: summary names the values");
	conf_text = json_object_get_double(json_object_object_get(a, "confidence"));

	b = analyse("Oestradiol 479 pmol/L (161 - 775)\nAMH 0.38 ng/mL\nFSH 19.9 IU/L", 1, 0.55);
	conf_ocr = json_object_get_double(json_object_object_get(b, "confidence"));
	OK(conf_ocr < conf_text && conf_text > 0.8, "analysis: confidence falls with OCR quality");
	OK(strstr(path(b, "summary", NULL, NULL), "scan") != NULL,
	   "analysis: summary says it was a scan");

	c = analyse("SEMEN ANALYSIS\nVolume: 1.6 mL\nSperm concentration: 0 million/mL\n"
	            "Progressive motility (PR): N/A",
	            0, 1);
	OK(array_has(c, "key_findings", "azoospermia"), "analysis: azoospermia named");
	OK(array_has(c, "fertility_domains", "male_factor"), "analysis: male domain");
	OK(array_has(c, "not_reported", "progressive_motility"), "analysis: not reported listed");
	json_object_put(c);
	c = analyse("Anti-Miillerian Hormone (AMH) 3.6 * pmol/L 7.1 - 25.0\nProlactin 284 mlIU/L",
	            1, 0.9);
	STR_EQ(path(c, "values", "amh", "original"), "{ \"value\": 3.6, \"unit\": \"pmol\\/L\" }",
	       "analysis: original unit in its usual spelling after a flag");
	STR_EQ(path(c, "values", "prolactin", "original"),
	       "{ \"value\": 284, \"unit\": \"mIU\\/L\" }",
	       "analysis: original unit in its usual spelling, not OCR's");
	STR_EQ(path(c, "values", "prolactin", "source_text"), "Prolactin 284 mlIU/L",
	       "analysis: source_text as read");
	json_object_put(c);
	c = analyse("Nothing to see here.", 0, 1);
	OK(strstr(path(c, "summary", NULL, NULL), "No lab values") != NULL,
	   "analysis: says when nothing was found");
	OK(json_object_get_double(json_object_object_get(c, "confidence")) < 0.5,
	   "analysis: low confidence when nothing was found");
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			char *t = slurp(argv[i]);
			if (t)
				dump(argv[i], t);
			free(t);
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	check_analysis();
	return tap_done();
}
