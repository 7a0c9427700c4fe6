/* cmdline.h: splitting the boot command line into arguments, as MirageOS does. */
#ifndef MIRAGE_CMDLINE_H
#define MIRAGE_CMDLINE_H

#include <stddef.h>

/* The longest command line a tender passes, in bytes, with its final NUL. */
#define MIRAGE_CMDLINE_MAX 8192

/* Splits (line): unquoted whitespace separates arguments, '\' takes the next
 * character as it is (also inside quotes), "..." quotes (and may be empty).
 * The arguments are written NUL-terminated into (buf) of (bufsize) bytes and
 * pointed to from argv[0..argc); argv[argc] is NULL, so (max) counts it.
 * Returns argc, or MIRAGE_EINVAL with *err naming the problem (a trailing
 * backslash, an unterminated quote, too many arguments, no room in buf). */
int mirage_cmdline_split(const char *line, char *buf, size_t bufsize, char **argv, int max,
                         const char **err);

#endif
