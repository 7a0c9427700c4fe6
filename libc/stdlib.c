/* stdlib.c: number parsing (strto*), integer helpers, qsort, bsearch, rand, getenv. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    return 99;
}

/*
 * The common part of the strto* family: parses [space][sign][prefix]digits
 * in (base) and returns the magnitude, saturated at (limit) with *overflow
 * set. *neg tells the sign; *end gets the first unparsed character, or (s)
 * itself if no digits were found.
 */
static unsigned long long parse(const char *s, char **end, int base, unsigned long long limit,
                                bool *neg, bool *overflow)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned long long value = 0;
    bool any = false;

    *neg = false;
    *overflow = false;
    if (base < 0 || base == 1 || base > 36) {
        errno = EINVAL;
        if (end)
            *end = (char *)s;
        return 0;
    }
    while (isspace(*p))
        p++;
    if (*p == '+' || *p == '-')
        *neg = *p++ == '-';
    /* "0x" counts as a prefix only if a hex digit follows; else the "0" is
     * the number and parsing stops at the 'x'. */
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    for (int d; (d = digit_value(*p)) < base; p++) {
        any = true;
        if (*overflow)
            continue;
        if (value > (limit - (unsigned)d) / (unsigned)base) {
            *overflow = true;
            value = limit;
        } else {
            value = value * (unsigned)base + (unsigned)d;
        }
    }
    if (end)
        *end = (char *)(any ? (const char *)p : s);
    return value;
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
    bool neg, overflow;
    unsigned long long v = parse(s, end, base, ULLONG_MAX, &neg, &overflow);

    if (overflow) {
        errno = ERANGE;
        return ULLONG_MAX;
    }
    /* C says a '-' negates in the unsigned type: "-1" is ULLONG_MAX. */
    return neg ? -v : v;
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
    bool neg, overflow;
    /* The magnitude of LLONG_MIN is one more than LLONG_MAX. */
    unsigned long long limit = (unsigned long long)LLONG_MAX + 1;
    unsigned long long v = parse(s, end, base, limit, &neg, &overflow);

    if (overflow || (!neg && v == limit)) {
        errno = ERANGE;
        return neg ? LLONG_MIN : LLONG_MAX;
    }
    if (neg)
        return v == limit ? LLONG_MIN : -(long long)v;
    return (long long)v;
}

/* long and long long are both 64 bits on x86_64 (LP64). */
_Static_assert(sizeof(long) == sizeof(long long), "LP64 expected");

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
    return strtoull(s, end, base);
}

long strtol(const char *restrict s, char **restrict end, int base)
{
    return strtoll(s, end, base);
}

uintmax_t strtoumax(const char *s, char **end, int base)
{
    return strtoull(s, end, base);
}

intmax_t strtoimax(const char *s, char **end, int base)
{
    return strtoll(s, end, base);
}

int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

long atol(const char *s)
{
    return strtol(s, NULL, 10);
}

long long atoll(const char *s)
{
    return strtoll(s, NULL, 10);
}

int abs(int j)
{
    return j < 0 ? -j : j;
}

long labs(long j)
{
    return j < 0 ? -j : j;
}

long long llabs(long long j)
{
    return j < 0 ? -j : j;
}

intmax_t imaxabs(intmax_t j)
{
    return j < 0 ? -j : j;
}

div_t div(int num, int den)
{
    return (div_t){num / den, num % den};
}

ldiv_t ldiv(long num, long den)
{
    return (ldiv_t){num / den, num % den};
}

lldiv_t lldiv(long long num, long long den)
{
    return (lldiv_t){num / den, num % den};
}

static void swap(unsigned char *a, unsigned char *b, size_t size)
{
    while (size >= 8) {
        uint64_t t;
        memcpy(&t, a, 8);
        memcpy(a, b, 8);
        memcpy(b, &t, 8);
        a += 8;
        b += 8;
        size -= 8;
    }
    while (size--) {
        unsigned char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

/* Moves element (root) down the max-heap base[0..n) until both children are smaller. */
static void sift_down(unsigned char *base, size_t root, size_t n, size_t size,
                      int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(base + root * size, base + child * size) >= 0)
            return;
        swap(base + root * size, base + child * size, size);
        root = child;
    }
}

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *b = base;

    if (n < 2 || size == 0)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(b, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap(b, b + end * size, size);
        sift_down(b, 0, end, size, cmp);
    }
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
    const unsigned char *b = base;

    while (n > 0) {
        const unsigned char *mid = b + (n / 2) * size;
        int c = cmp(key, mid);
        if (c == 0)
            return (void *)mid;
        if (c > 0) {
            b = mid + size;
            n -= n / 2 + 1;
        } else {
            n /= 2;
        }
    }
    return NULL;
}

static uint64_t rand_state = 1;

void srand(unsigned int seed)
{
    rand_state = seed;
}

/* A 64-bit LCG (Knuth's MMIX constants), top 31 bits out. */
int rand(void)
{
    rand_state = rand_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)(rand_state >> 33);
}

char *getenv(const char *name)
{
    (void)name;
    return NULL;
}
