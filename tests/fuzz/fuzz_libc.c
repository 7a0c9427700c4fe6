/* fuzz_libc.c: the freestanding libc's printf engine and strto* against glibc, on fuzzed input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/mlibc.h"

/* The platform the libc objects expect; the fuzzed functions never call it. */
void mlibc_mirage_console_write(const char *buf, size_t len)
{
    (void)buf;
    (void)len;
}
uint64_t mlibc_mirage_clock_wall(void)
{
    return 0;
}
uint64_t mlibc_mirage_clock_monotonic(void)
{
    return 0;
}
void mlibc_mirage_heap(uintptr_t *start, size_t *size)
{
    static _Alignas(16) unsigned char heap[1 << 20];
    *start = (uintptr_t)heap;
    *size = sizeof(heap);
}
int mlibc_mirage_set_tls_base(uintptr_t base)
{
    (void)base;
    return 0;
}
void mlibc_mirage_abort(void)
{
    abort();
}
void mlibc_mirage_exit(int status)
{
    (void)status;
    abort();
}

struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t take8(struct cursor *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

static uint64_t take64(struct cursor *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take8(c);
    return v;
}

static void mismatch(const char *what, const char *fmt, const char *want, const char *got)
{
    fprintf(stderr, "%s mismatch for \"%s\": glibc [%s], mlibc [%s]\n", what, fmt, want, got);
    abort();
}

#pragma clang diagnostic ignored "-Wformat-nonliteral"

/* One directive, built from fuzz bytes, formatted by both. */
static void one_directive(struct cursor *c)
{
    static const char convs[] = "diuxXoscpfeEgGF%";
    static const char *const lens[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
    static char want[2048], got[2048];
    char fmt[64];
    size_t n = 0;
    uint8_t flags = take8(c), w = take8(c), pr = take8(c), sel = take8(c);
    char conv = convs[sel % (sizeof(convs) - 1)];
    int is_int = strchr("diuxXo", conv) != NULL;
    int is_float = strchr("feEgGF", conv) != NULL;

    fmt[n++] = '<';
    fmt[n++] = '%';
    if (flags & 1)
        fmt[n++] = '-';
    if (is_int || is_float) {
        if (flags & 2)
            fmt[n++] = '+';
        if (flags & 4)
            fmt[n++] = ' ';
        if (flags & 8)
            fmt[n++] = '#';
        if (flags & 16)
            fmt[n++] = '0';
    }
    if (w & 0x80)
        n += (size_t)snprintf(fmt + n, 8, "%d", w & 0x3f);
    if ((pr & 0x80) && conv != 'c' && conv != 'p' && conv != '%')
        n += (size_t)snprintf(fmt + n, 8, ".%d", is_float ? pr & 0x7f : pr & 0x3f);
    const char *len = is_int ? lens[(sel >> 4) % 8] : "";
    n += (size_t)snprintf(fmt + n, 16, "%s%c>", len, conv);

    uint64_t v = take64(c);
    int nw, ng;
    if (is_float) {
        double d;
        memcpy(&d, &v, sizeof(d));
        nw = snprintf(want, sizeof(want), fmt, d);
        ng = mlibc_snprintf(got, sizeof(got), fmt, d);
    } else if (conv == 's') {
        static const char *const strs[] = {"", "a", "hello", "with space", "0123456789abcdef"};
        const char *s = strs[v % 5];
        nw = snprintf(want, sizeof(want), fmt, s);
        ng = mlibc_snprintf(got, sizeof(got), fmt, s);
    } else if (conv == 'p') {
        void *p = (void *)(uintptr_t)v;
        nw = snprintf(want, sizeof(want), fmt, p);
        ng = mlibc_snprintf(got, sizeof(got), fmt, p);
    } else if (conv == '%') {
        nw = snprintf(want, sizeof(want), fmt, 0); /* no argument is read */
        ng = mlibc_snprintf(got, sizeof(got), fmt, 0);
    } else if (len[0] == '\0' || len[0] == 'h' || conv == 'c') {
        nw = snprintf(want, sizeof(want), fmt, (int)v);
        ng = mlibc_snprintf(got, sizeof(got), fmt, (int)v);
    } else {
        nw = snprintf(want, sizeof(want), fmt, (long long)v);
        ng = mlibc_snprintf(got, sizeof(got), fmt, (long long)v);
    }
    /* %c of 0 puts a NUL inside the output: compare bytes, not strings. */
    if (nw != ng || nw < 0 || memcmp(want, got, (size_t)nw + 1) != 0)
        mismatch("printf", fmt, want, got);
    if (strlen(got) != (size_t)ng)
        return;
    /* A short buffer gets the same prefix and the same count. */
    size_t cap = v % 8;
    char small[8];
    memset(small, 'x', sizeof(small));
    if (mlibc_snprintf(small, cap, "%s", got) != ng || (cap && strncmp(small, got, cap - 1)) ||
        (cap && small[ng < (int)cap - 1 ? ng : cap - 1] != '\0'))
        mismatch("truncation", fmt, want, got);
}

static void strto(const uint8_t *data, size_t size, int base)
{
    char s[128];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    char *ew, *eg;

    errno = 0;
    mlibc_errno = 0;
    long long w = strtoll(s, &ew, base);
    long long g = mlibc_strtoll(s, &eg, base);
    if (w != g || ew != eg || errno != mlibc_errno)
        mismatch("strtoll", s, "", "");
    errno = 0;
    mlibc_errno = 0;
    unsigned long long uw = strtoull(s, &ew, base);
    unsigned long long ug = mlibc_strtoull(s, &eg, base);
    if (uw != ug || ew != eg || errno != mlibc_errno)
        mismatch("strtoull", s, "", "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    if (mode & 1) {
        int base = (mode >> 1) % 36;
        strto(data + 1, size - 1, base == 1 ? 0 : base);
    } else {
        struct cursor c = {data + 1, size - 1};
        for (int i = 0; i < 16 && c.n; i++)
            one_directive(&c);
    }
    return 0;
}
