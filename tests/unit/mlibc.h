/* mlibc.h: the freestanding libc as the host tests see it, every name prefixed mlibc_. */
#ifndef MLIBC_H
#define MLIBC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* libc/module.mk renames every symbol of the libc objects with objcopy
 * --prefix-symbols, so they link beside glibc; these match libc/include. */
int mlibc_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mlibc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int mlibc_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mlibc_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mlibc_puts(const char *s);
int mlibc_putchar(int c);
long mlibc_strtol(const char *s, char **end, int base);
unsigned long mlibc_strtoul(const char *s, char **end, int base);
long long mlibc_strtoll(const char *s, char **end, int base);
unsigned long long mlibc_strtoull(const char *s, char **end, int base);
int mlibc_atoi(const char *s);
int *mlibc___errno_location(void);
#define mlibc_errno (*mlibc___errno_location())

void *mlibc_malloc(size_t n);
void *mlibc_calloc(size_t n, size_t size);
void *mlibc_realloc(void *p, size_t n);
void mlibc_free(void *p);
void *mlibc_aligned_alloc(size_t align, size_t n);
int mlibc_posix_memalign(void **out, size_t align, size_t n);
size_t mlibc_malloc_usable_size(void *p);
size_t mlibc_mirage_heap_used(void);
size_t mlibc_mirage_heap_free(void);

void mlibc_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *mlibc_bsearch(const void *key, const void *base, size_t n, size_t size,
                    int (*cmp)(const void *, const void *));

void *mlibc_memcpy(void *dst, const void *src, size_t n);
void *mlibc_memmove(void *dst, const void *src, size_t n);
void *mlibc_memset(void *dst, int c, size_t n);
int mlibc_memcmp(const void *a, const void *b, size_t n);
void *mlibc_memchr(const void *s, int c, size_t n);
size_t mlibc_strlen(const char *s);
int mlibc_strcmp(const char *a, const char *b);
int mlibc_strncmp(const char *a, const char *b, size_t n);
char *mlibc_strchr(const char *s, int c);
char *mlibc_strrchr(const char *s, int c);
char *mlibc_strstr(const char *h, const char *n);
size_t mlibc_strspn(const char *s, const char *a);
size_t mlibc_strcspn(const char *s, const char *r);
char *mlibc_strtok_r(char *s, const char *delim, char **save);
int mlibc_strcasecmp(const char *a, const char *b);
int mlibc_strncasecmp(const char *a, const char *b, size_t n);
char *mlibc_strncpy(char *d, const char *s, size_t n);
char *mlibc_strncat(char *d, const char *s, size_t n);
char *mlibc_strdup(const char *s);
char *mlibc_strndup(const char *s, size_t n);
size_t mlibc_strlcpy(char *d, const char *s, size_t n);
char *mlibc_strerror(int e);
void *mlibc___memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);

typedef long mlibc_jmp_buf[8];
__attribute__((returns_twice)) int mlibc_setjmp(mlibc_jmp_buf env);
__attribute__((noreturn)) void mlibc_longjmp(mlibc_jmp_buf env, int val);

/* struct tm and struct timespec have glibc's layout too. */
struct tm *mlibc_gmtime_r(const time_t *t, struct tm *out);
time_t mlibc_timegm(struct tm *tm);
time_t mlibc_time(time_t *t);
int mlibc_clock_gettime(int id, struct timespec *ts);

int mlibc_open(const char *path, int flags, ...);
long mlibc_read(int fd, void *buf, size_t n);
int mlibc_close(int fd);

void mlibc_abort(void);
void mlibc_exit(int status);
int mlibc_atexit(void (*fn)(void));
void mlibc___assert_fail(const char *expr, const char *file, unsigned line, const char *func);
void mlibc___stack_chk_fail(void);
void mlibc_mirage_tcb_init_seeded(const uint64_t seed[2]);

int mlibc_isspace(int c);
int mlibc_isalpha(int c);
int mlibc_isdigit(int c);
int mlibc_isxdigit(int c);
int mlibc_isalnum(int c);
int mlibc_ispunct(int c);
int mlibc_isprint(int c);
int mlibc_isgraph(int c);
int mlibc_iscntrl(int c);
int mlibc_isupper(int c);
int mlibc_islower(int c);
int mlibc_toupper(int c);
int mlibc_tolower(int c);

#endif
