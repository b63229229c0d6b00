/* fileio.h: whole reads and writes of file descriptors, over interrupted and short system calls. */
#ifndef FV_FILEIO_H
#define FV_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all n bytes. Returns 0, or -1 with errno set. */
int fd_write_all(int fd, const void *p, size_t n);
/* Reads up to n bytes: the count read (less than n only at the end of the file), or -1. */
ssize_t fd_read_full(int fd, void *p, size_t n);
/* The same at offset off, without moving the file position (pread). */
ssize_t fd_pread_full(int fd, void *p, size_t n, uint64_t off);

#endif
