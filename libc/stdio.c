/* stdio.c: the printf engine and the console streams stdout and stderr. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "mirage/platform.h"

struct mlibc_file {
    int fd;
    int error;
};

static struct mlibc_file files[3] = {{0, 0}, {1, 0}, {2, 0}};
FILE *const stdin = &files[0];
FILE *const stdout = &files[1];
FILE *const stderr = &files[2];

static int file_write(FILE *f, const char *s, size_t n)
{
    if (f->fd != 1 && f->fd != 2) {
        f->error = 1;
        errno = EBADF;
        return EOF;
    }
    if (n)
        mirage_console_write(s, n);
    return 0;
}

static void flush_out(struct mlibc_out *o)
{
    if (o->file && o->pos) {
        file_write(o->file, o->buf, o->pos);
        o->pos = 0;
    }
}

void __mlibc_put(struct mlibc_out *o, const char *s, size_t n)
{
    o->total += n;
    while (n) {
        if (o->pos == o->cap) {
            if (!o->file)
                return;
            flush_out(o);
        }
        size_t k = o->cap - o->pos < n ? o->cap - o->pos : n;
        memcpy(o->buf + o->pos, s, k);
        o->pos += k;
        s += k;
        n -= k;
    }
}

void __mlibc_pad(struct mlibc_out *o, char c, size_t n)
{
    static const char spaces[16] = "                ";
    static const char zeros[16] = "0000000000000000";

    if (!o->file && o->pos == o->cap) {
        o->total += n; /* nothing more is stored: just count */
        return;
    }
    while (n) {
        size_t k = n < 16 ? n : 16;
        __mlibc_put(o, c == '0' ? zeros : spaces, k);
        n -= k;
    }
}

/* Pads (sp)'s field around (len) bytes of content: call with (before) true
 * ahead of the content, false after it. Zero padding is the caller's. */
static void field_pad(struct mlibc_out *o, const struct mlibc_spec *sp, size_t len, bool before)
{
    if ((size_t)sp->width > len && before == !(sp->flags & FMT_MINUS))
        __mlibc_pad(o, ' ', (size_t)sp->width - len);
}

static void format_int(struct mlibc_out *o, struct mlibc_spec *sp, uintmax_t v, bool neg)
{
    char digits[24];
    char prefix[2];
    size_t nprefix = 0, ndigits = 0, zeros = 0;
    unsigned base = sp->conv == 'o' ? 8 : sp->conv == 'x' ? 16 : 10;
    const char *set = sp->flags & FMT_UPPER ? "0123456789ABCDEF" : "0123456789abcdef";

    if (sp->conv == 'd') {
        if (neg)
            prefix[nprefix++] = '-';
        else if (sp->flags & FMT_PLUS)
            prefix[nprefix++] = '+';
        else if (sp->flags & FMT_SPACE)
            prefix[nprefix++] = ' ';
    }
    if (base == 16 && (sp->flags & FMT_HASH) && v != 0) {
        prefix[nprefix++] = '0';
        prefix[nprefix++] = sp->flags & FMT_UPPER ? 'X' : 'x';
    }
    for (uintmax_t x = v; x; x /= base)
        digits[sizeof(digits) - ++ndigits] = set[x % base];
    if (v == 0 && sp->prec != 0)
        digits[sizeof(digits) - ++ndigits] = '0';
    if (sp->prec >= 0 && (size_t)sp->prec > ndigits)
        zeros = (size_t)sp->prec - ndigits;
    /* '#' with 'o' makes the first digit a zero. */
    if (base == 8 && (sp->flags & FMT_HASH) && zeros == 0 &&
        (ndigits == 0 || digits[sizeof(digits) - ndigits] != '0'))
        zeros = 1;
    size_t len = nprefix + zeros + ndigits;
    if ((sp->flags & FMT_ZERO) && !(sp->flags & FMT_MINUS) && sp->prec < 0 &&
        (size_t)sp->width > len) {
        zeros += (size_t)sp->width - len;
        len = (size_t)sp->width;
    }
    field_pad(o, sp, len, true);
    __mlibc_put(o, prefix, nprefix);
    __mlibc_pad(o, '0', zeros);
    __mlibc_put(o, digits + sizeof(digits) - ndigits, ndigits);
    field_pad(o, sp, len, false);
}

static void format_str(struct mlibc_out *o, const struct mlibc_spec *sp, const char *s)
{
    if (!s)
        s = (sp->prec < 0 || sp->prec >= 6) ? "(null)" : "";
    size_t len = sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s);
    field_pad(o, sp, len, true);
    __mlibc_put(o, s, len);
    field_pad(o, sp, len, false);
}

/* Reads a decimal field width or precision, saturating at INT_MAX. */
static int read_num(const char **fmt)
{
    long n = 0;

    while (**fmt >= '0' && **fmt <= '9') {
        n = n * 10 + (*(*fmt)++ - '0');
        if (n > INT_MAX)
            n = INT_MAX;
    }
    return (int)n;
}

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_J, LEN_Z, LEN_T, LEN_BIG_L };

static enum length read_length(const char **fmt)
{
    switch (**fmt) {
    case 'h':
        if ((*fmt)[1] == 'h') {
            *fmt += 2;
            return LEN_HH;
        }
        (*fmt)++;
        return LEN_H;
    case 'l':
        if ((*fmt)[1] == 'l') {
            *fmt += 2;
            return LEN_LL;
        }
        (*fmt)++;
        return LEN_L;
    case 'q':
        (*fmt)++;
        return LEN_LL;
    case 'j':
        (*fmt)++;
        return LEN_J;
    case 'z':
        (*fmt)++;
        return LEN_Z;
    case 't':
        (*fmt)++;
        return LEN_T;
    case 'L':
        (*fmt)++;
        return LEN_BIG_L;
    default:
        return LEN_NONE;
    }
}

static intmax_t signed_arg(enum length len, va_list *ap)
{
    switch (len) {
    case LEN_HH:
        return (signed char)va_arg(*ap, int);
    case LEN_H:
        return (short)va_arg(*ap, int);
    case LEN_L:
        return va_arg(*ap, long);
    case LEN_LL:
        return va_arg(*ap, long long);
    case LEN_J:
        return va_arg(*ap, intmax_t);
    case LEN_Z:
        return va_arg(*ap, ssize_t);
    case LEN_T:
        return va_arg(*ap, ptrdiff_t);
    default:
        return va_arg(*ap, int);
    }
}

static uintmax_t unsigned_arg(enum length len, va_list *ap)
{
    switch (len) {
    case LEN_HH:
        return (unsigned char)va_arg(*ap, unsigned);
    case LEN_H:
        return (unsigned short)va_arg(*ap, unsigned);
    case LEN_L:
        return va_arg(*ap, unsigned long);
    case LEN_LL:
        return va_arg(*ap, unsigned long long);
    case LEN_J:
        return va_arg(*ap, uintmax_t);
    case LEN_Z:
        return va_arg(*ap, size_t);
    case LEN_T:
        return (uintmax_t)va_arg(*ap, ptrdiff_t);
    default:
        return va_arg(*ap, unsigned);
    }
}

/* The engine behind every printf: returns the byte count or -1 (EOVERFLOW). */
static int format(struct mlibc_out *o, const char *fmt, va_list ap_in)
{
    va_list ap;

    /* Through a pointer so the helpers can take arguments from the same list. */
    va_copy(ap, ap_in);
    while (*fmt) {
        const char *start = fmt;
        if (*fmt != '%') {
            const char *pct = strchr(fmt, '%');
            size_t n = pct ? (size_t)(pct - fmt) : strlen(fmt);
            __mlibc_put(o, fmt, n);
            fmt += n;
            continue;
        }
        fmt++;
        struct mlibc_spec sp = {0, 0, -1, 0};
        for (;; fmt++) {
            unsigned f = *fmt == '-'   ? FMT_MINUS
                         : *fmt == '+' ? FMT_PLUS
                         : *fmt == ' ' ? FMT_SPACE
                         : *fmt == '#' ? FMT_HASH
                         : *fmt == '0' ? FMT_ZERO
                                       : 0;
            if (!f)
                break;
            sp.flags |= f;
        }
        if (*fmt == '*') {
            fmt++;
            int w = va_arg(ap, int);
            if (w < 0) {
                sp.flags |= FMT_MINUS;
                w = w == INT_MIN ? INT_MAX : -w;
            }
            sp.width = w;
        } else {
            sp.width = read_num(&fmt);
        }
        if (*fmt == '.') {
            fmt++;
            if (*fmt == '*') {
                fmt++;
                int p = va_arg(ap, int);
                sp.prec = p < 0 ? -1 : p;
            } else {
                sp.prec = read_num(&fmt);
            }
        }
        enum length len = read_length(&fmt);
        char c = *fmt;
        if (c >= 'A' && c <= 'Z' && c != 'L') {
            sp.flags |= FMT_UPPER;
            c = (char)(c + ('a' - 'A'));
        }
        sp.conv = c;
        if ((sp.flags & FMT_UPPER) && !strchr("xefga", c))
            goto unknown;
        switch (c) {
        case 'd':
        case 'i': {
            intmax_t v = signed_arg(len, &ap);
            sp.conv = 'd';
            format_int(o, &sp, v < 0 ? -(uintmax_t)v : (uintmax_t)v, v < 0);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
            format_int(o, &sp, unsigned_arg(len, &ap), false);
            break;
        case 'c': {
            char ch = (char)va_arg(ap, int);
            field_pad(o, &sp, 1, true);
            __mlibc_put(o, &ch, 1);
            field_pad(o, &sp, 1, false);
            break;
        }
        case 's':
            if (len != LEN_NONE)
                goto unknown; /* wide strings */
            format_str(o, &sp, va_arg(ap, const char *));
            break;
        case 'p': {
            void *p = va_arg(ap, void *);
            if (!p) {
                sp.prec = -1;
                format_str(o, &sp, "(nil)");
            } else {
                sp.flags |= FMT_HASH;
                sp.conv = 'x';
                format_int(o, &sp, (uintptr_t)p, false);
            }
            break;
        }
        case 'e':
        case 'f':
        case 'g':
        case 'a':
            if (c == 'a')
                sp.conv = 'e';
            if (len == LEN_BIG_L)
                __mlibc_format_double(o, &sp, (double)va_arg(ap, long double));
            else
                __mlibc_format_double(o, &sp, va_arg(ap, double));
            break;
        case '%':
            __mlibc_put(o, "%", 1);
            break;
        default:
        unknown:
            /* Unknown (or unsupported, like %n): show the directive as written. */
            if (!*fmt) {
                __mlibc_put(o, start, (size_t)(fmt - start));
                va_end(ap);
                goto done;
            }
            __mlibc_put(o, start, (size_t)(fmt + 1 - start));
            break;
        }
        fmt++;
    }
    va_end(ap);
done:
    if (o->total > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)o->total;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
    struct mlibc_out o = {buf, size ? size - 1 : 0, 0, 0, NULL};
    int n = format(&o, fmt, ap);

    if (size)
        buf[o.pos] = '\0';
    return n;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
    return vsnprintf(buf, (size_t)INT_MAX + 1, fmt, ap);
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsprintf(buf, fmt, ap);
    va_end(ap);
    return n;
}

int vasprintf(char **out, const char *restrict fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    *out = NULL;
    if (n < 0)
        return -1;
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return -1;
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    *out = buf;
    return n;
}

int asprintf(char **out, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
    char buf[256];
    struct mlibc_out o = {buf, sizeof(buf), 0, 0, f};
    int n = format(&o, fmt, ap);

    flush_out(&o);
    return f->error ? -1 : n;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

int fputc(int c, FILE *f)
{
    char ch = (char)c;
    return file_write(f, &ch, 1) ? EOF : (unsigned char)ch;
}

int putc(int c, FILE *f)
{
    return fputc(c, f);
}

int putchar(int c)
{
    return fputc(c, stdout);
}

int fputs(const char *restrict s, FILE *restrict f)
{
    return file_write(f, s, strlen(s)) ? EOF : 0;
}

int puts(const char *s)
{
    /* One console write for a short line: each may be a VM exit. */
    char buf[256];
    struct mlibc_out o = {buf, sizeof(buf), 0, 0, stdout};

    __mlibc_put(&o, s, strlen(s));
    __mlibc_put(&o, "\n", 1);
    flush_out(&o);
    return 0;
}

size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f)
{
    size_t bytes;

    if (size == 0 || n == 0)
        return 0;
    if (__builtin_mul_overflow(size, n, &bytes)) {
        errno = EOVERFLOW;
        f->error = 1;
        return 0;
    }
    return file_write(f, p, bytes) ? 0 : n;
}

int fflush(FILE *f)
{
    (void)f; /* nothing is ever buffered past a call */
    return 0;
}

int fgetc(FILE *f)
{
    (void)f;
    return EOF;
}

int getc(FILE *f)
{
    return fgetc(f);
}

int getchar(void)
{
    return EOF;
}

int ferror(FILE *f)
{
    return f->error;
}

int feof(FILE *f)
{
    return f == stdin;
}

void clearerr(FILE *f)
{
    f->error = 0;
}

void perror(const char *s)
{
    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, strerror(errno));
    else
        fprintf(stderr, "%s\n", strerror(errno));
}
