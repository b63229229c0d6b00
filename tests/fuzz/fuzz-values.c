/* fuzz-values.c: libFuzzer driver for the value extractor (fcgi-app/values.c, units.c), which reads
 * the text of every uploaded document: any bytes (NULs read as blanks) must give a value set
 * without a crash, and every value found must be in range, canonical and carry its source. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct value_set vs;
	char *text = malloc(size + 1);
	int count = 0;

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] ? (char)data[i] : ' ';
	text[size] = '\0';
	values_extract(text, &vs);
	for (int k = 0; k < V_KEY_COUNT; k++) {
		const struct lab_value *v = &vs.v[k];
		if (!v->present)
			continue;
		count++;
		if (!isfinite(v->value) || v->value < 0 || v->not_reported ||
		    memchr(v->source_text, '\0', sizeof(v->source_text)) == NULL)
			abort();
	}
	if (count != vs.count)
		abort();
	free(text);
	return 0;
}
