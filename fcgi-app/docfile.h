/* docfile.h: a stored document's plaintext in an anonymous file (O_TMPFILE, mode 0600) in the
 * spool directory, for the analysis child to read: it has no name, so nothing is left on disk
 * whatever happens to the worker. The child opens it as /proc/self/fd/N (the descriptor is
 * inherited across fork).
 *
 * docfile_fetch() returns FV_OK and *fd (the caller closes it), or:
 *   FV_EUNAVAIL  the store cannot be reached, or the spool is full (try later);
 *   FV_ENOTFOUND the stored object is missing (permanent);
 *   FV_EINVAL    the object failed its integrity check (permanent);
 *   FV_EINTERNAL anything else (try later).
 * reason gets a sentence for people ("the document store could not be reached"). */
#ifndef FV_DOCFILE_H
#define FV_DOCFILE_H

#include <stddef.h>

#include "errors.h"
#include "storage.h"

enum fv_err docfile_fetch(struct storage *st, const char *spool_dir, const char *sha256, int *fd,
                          char *reason, size_t reasonlen);
/* The path under which a process that has fd reads the file: "/proc/self/fd/N". */
void docfile_path(int fd, char *out, size_t outlen);

#endif
