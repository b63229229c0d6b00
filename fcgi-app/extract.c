/* extract.c: document text (see extract.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

int
extract_init(const char *datapath, char *err, size_t errlen)
{
	(void)datapath, (void)err, (void)errlen;
	return 0;
}

void
extract_shutdown(void)
{
}

enum fv_err
extract_text(const char *path, const char *content_type, const struct extract_limits *lim,
             struct extract_result *out, char *reason, size_t reasonlen)
{
	(void)path, (void)content_type, (void)lim;
	memset(out, 0, sizeof(*out));
	snprintf(reason, reasonlen, "not implemented");
	return FV_EINTERNAL;
}

void
extract_result_free(struct extract_result *r)
{
	free(r->text);
	r->text = NULL;
}
