/* ownlibc.c: a Solo5 program with its own memcpy, memset, strlen, ...: it links and runs on every
 * target. */
#include "solo5.h"
#include "util.h"

/* Freestanding programs bring these; each counts its calls. Their prototypes
 * are the C library's, declared here because the program includes no libc. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int strcmp(const char *a, const char *b);
char *strcpy(char *dst, const char *src);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int isspace(int c);

static unsigned calls;

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    calls++;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;

    calls++;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    calls++;
    if (d < s)
        while (n--)
            *d++ = *s++;
    else
        while (n--)
            d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    calls++;
    for (; n > 0; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

int strcmp(const char *a, const char *b)
{
    calls++;
    while (*a && *a == *b)
        a++, b++;
    return (uint8_t)*a - (uint8_t)*b;
}

char *strcpy(char *dst, const char *src)
{
    char *d = dst;

    calls++;
    while ((*d++ = *src++) != '\0')
        ;
    return dst;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    calls++;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    calls++;
    for (; n > 0; n--, a++, b++)
        if (*a != *b || *a == '\0')
            return (uint8_t)*a - (uint8_t)*b;
    return 0;
}

int isspace(int c)
{
    calls++;
    return c == ' ' || (c >= '\t' && c <= '\r');
}

int solo5_app_main(const struct solo5_start_info *si)
{
    char a[32], b[32];
    volatile size_t n = 6;
    int ok = 1;

    t_puts("\n**** Solo5 shim test: ownlibc ****\n\n");
    strcpy(a, "hello");
    memcpy(b, a, n);
    memmove(b + 1, b, 5);
    memset(a, 'z', 2);
    ok &= strlen(a) == 5 && strcmp(b, "hhello") == 0 && strncmp(a, "zzl", 3) == 0;
    ok &= memcmp(b, "hh", 2) == 0 && isspace(' ') && !isspace('x');
    t_puts("command line '");
    t_puts(si->cmdline);
    t_puts("'\nown calls ");
    t_putu(calls);
    t_puts(ok && calls >= 10 ? "\nSUCCESS\n" : "\nFAILURE\n");
    return ok ? SOLO5_EXIT_SUCCESS : SOLO5_EXIT_FAILURE;
}
