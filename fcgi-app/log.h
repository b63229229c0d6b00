/* log.h: process log. One line per request and one per operational event; never patient data,
 * document contents or credentials. */
#ifndef FV_LOG_H
#define FV_LOG_H

/* Opens path for appending ("-" = stderr). Returns 0 or -1 (errno set). */
int log_open(const char *path);
/* Writes "<RFC 3339 time> <program>[pid] <message>\n" in one write. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_program(const char *name);

#endif
