/* stdio.h: formatted output to the console (stdout, stderr) and to strings. */
#ifndef _STDIO_H
#define _STDIO_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define EOF    (-1)
#define BUFSIZ 1024

/* stdout and stderr write straight to the console: nothing is buffered past
 * the end of a call, so output is never lost when the unikernel exits.
 * stdin always reads end-of-file. */
typedef struct mlibc_file FILE;

extern FILE *const stdin;
extern FILE *const stdout;
extern FILE *const stderr;
#define stdin  stdin
#define stdout stdout
#define stderr stderr

/* Conversions: d i u o x X c s p % and e E f F g G (a A print as e); flags
 * - 0 + space #; width and precision (also *); length hh h l ll z j t L.
 * %n is not supported and is printed as it is, like an unknown conversion.
 * All return the number of bytes written (or that would be, for
 * snprintf), or -1 if that exceeds INT_MAX (errno EOVERFLOW). */
int printf(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *restrict f, const char *restrict fmt, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *restrict buf, const char *restrict fmt, ...)
    __attribute__((format(printf, 2, 3)));
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats into a new malloc'd string in *out; -1 when out of memory. */
int asprintf(char **out, const char *restrict fmt, ...) __attribute__((format(printf, 2, 3)));
int vprintf(const char *restrict fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int vasprintf(char **out, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int putchar(int c);
int fputs(const char *restrict s, FILE *restrict f);
/* Writes (s) and a newline to stdout. */
int puts(const char *s);
size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f);
int fflush(FILE *f);
int fgetc(FILE *f);
int getc(FILE *f);
int getchar(void);
int ferror(FILE *f);
int feof(FILE *f);
void clearerr(FILE *f);
/* Prints "s: strerror(errno)" to stderr. */
void perror(const char *s);

#endif
