/* stdlib.h: allocation, number parsing, sorting and ending the unikernel. */
#ifndef _STDLIB_H
#define _STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX     0x7fffffff

typedef struct {
    int quot;
    int rem;
} div_t;
typedef struct {
    long quot;
    long rem;
} ldiv_t;
typedef struct {
    long long quot;
    long long rem;
} lldiv_t;

/* The heap is the platform's mirage_heap() region, set up on first use.
 * Blocks are 16-byte aligned; a double free or a corrupted block header
 * ends the unikernel with a message (status 255). */
void *malloc(size_t size);
/* Fails with ENOMEM (NULL) when n * size overflows. */
void *calloc(size_t n, size_t size);
/* realloc(p, 0) frees p and returns NULL. */
void *realloc(void *p, size_t size);
void free(void *p);
/* (align) must be a power of two; the result is freed with free(). */
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **out, size_t align, size_t size);
size_t malloc_usable_size(void *p);

long strtol(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long long strtoull(const char *restrict s, char **restrict end, int base);
int atoi(const char *s);
long atol(const char *s);
long long atoll(const char *s);

int abs(int j);
long labs(long j);
long long llabs(long long j);
div_t div(int num, int den);
ldiv_t ldiv(long num, long den);
lldiv_t lldiv(long long num, long long den);

/* Heapsort: O(n log n) comparisons at worst, no recursion, not stable. */
void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *));

/* A small non-cryptographic generator (C's rand); use the runtime's random
 * module for anything that matters. */
int rand(void);
void srand(unsigned int seed);

/* Prints "abort() called" and ends the unikernel with status 255. */
__attribute__((noreturn)) void abort(void);
/* Runs the atexit() handlers (last registered first), then ends with (status). */
__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void _Exit(int status);
int atexit(void (*fn)(void));
/* There is no environment: always NULL. */
char *getenv(const char *name);

#endif
