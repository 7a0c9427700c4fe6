/* format.h: what the printf engine (stdio.c) shares with its float part (printf_float.c). */
#ifndef MLIBC_FORMAT_H
#define MLIBC_FORMAT_H

#include <stddef.h>
#include <stdio.h>

/* Where formatted bytes go: (buf, cap) and, for a FILE, the file to flush to
 * when the buffer fills; for strings the excess is counted but dropped. */
struct mlibc_out {
    char *buf;
    size_t cap;
    size_t pos;
    size_t total; /* every byte produced, stored or not */
    FILE *file;
};

#define FMT_MINUS 1
#define FMT_PLUS  2
#define FMT_SPACE 4
#define FMT_HASH  8
#define FMT_ZERO  16
#define FMT_UPPER 32

/* One parsed conversion: flags, width (0 if none), precision (-1 if none) and
 * the conversion letter, lower case (FMT_UPPER tells the case). */
struct mlibc_spec {
    unsigned flags;
    int width;
    int prec;
    char conv;
};

void __mlibc_put(struct mlibc_out *o, const char *s, size_t n);
void __mlibc_pad(struct mlibc_out *o, char c, size_t n);

/* Formats (v) for an e, f or g conversion, exactly rounded (half to even). */
void __mlibc_format_double(struct mlibc_out *o, const struct mlibc_spec *sp, double v);

#endif
