/* util.h: console output and byte helpers for the Solo5 test programs, which have no libc. */
#ifndef SOLO5_TEST_UTIL_H
#define SOLO5_TEST_UTIL_H

#include "solo5.h"

static inline size_t t_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static inline void t_puts(const char *s)
{
    solo5_console_write(s, t_strlen(s));
}

/* Prints (v) in decimal. */
static inline void t_putu(uint64_t v)
{
    char buf[21];
    size_t i = sizeof(buf);

    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    solo5_console_write(buf + i, sizeof(buf) - i);
}

/* Prints (v) as two lower-case hex digits. */
static inline void t_puthex8(uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2] = {digits[v >> 4], digits[v & 15]};
    solo5_console_write(buf, 2);
}

static inline int t_memeq(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

static inline void t_memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

/* Whether (s) starts with (prefix); *rest points after it. */
static inline int t_prefix(const char *s, const char *prefix, const char **rest)
{
    size_t i = 0;

    for (; prefix[i] != '\0'; i++)
        if (s[i] != prefix[i]) /* also stops at the end of (s) */
            return 0;
    *rest = s + i;
    return 1;
}

#endif
