/* test_libc.c: the freestanding libc (renamed mlibc_*) against glibc and its own contract. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "mirage/cpu.h"
#include "mlibc.h"

/* Edge-case formats (ignored flags, odd directives) are what the comparisons are for. */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-overflow"
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- the platform, as the libc sees it ------------------------------------- */

static char console[1 << 16];
static size_t console_len;
static jmp_buf trap;
static int trap_armed;
static int exit_status = -1;
static uint64_t wall_ns, mono_ns;
static uintptr_t tls_base;

#define HEAP_SIZE (32u << 20)
static _Alignas(64) unsigned char heap_area[HEAP_SIZE + 64];

void mlibc_mirage_console_write(const char *buf, size_t len)
{
    size_t room = sizeof(console) - 1 - console_len;
    if (len > room)
        len = room;
    memcpy(console + console_len, buf, len);
    console_len += len;
    console[console_len] = '\0';
}

uint64_t mlibc_mirage_clock_wall(void)
{
    return wall_ns;
}

uint64_t mlibc_mirage_clock_monotonic(void)
{
    return mono_ns;
}

void mlibc_mirage_heap(uintptr_t *start, size_t *size)
{
    /* Deliberately misaligned, to check the allocator aligns its region. */
    *start = (uintptr_t)heap_area + 8;
    *size = HEAP_SIZE - 3;
}

int mlibc_mirage_set_tls_base(uintptr_t base)
{
    tls_base = base;
    return 0;
}

__attribute__((noreturn)) void mlibc_mirage_abort(void)
{
    exit_status = 255;
    if (trap_armed)
        longjmp(trap, 1);
    fprintf(stderr, "unexpected mirage_abort; console: %s\n", console);
    abort();
}

__attribute__((noreturn)) void mlibc_mirage_exit(int status)
{
    exit_status = status;
    if (trap_armed)
        longjmp(trap, 1);
    abort();
}

static void console_clear(void)
{
    console_len = 0;
    console[0] = '\0';
}

/* Runs (stmt), which must end the unikernel, and checks the console says (msg). */
#define EXPECT_END(stmt, status, msg)                                                              \
    do {                                                                                           \
        console_clear();                                                                           \
        exit_status = -1;                                                                          \
        trap_armed = 1;                                                                            \
        if (setjmp(trap) == 0) {                                                                   \
            stmt;                                                                                  \
            trap_armed = 0;                                                                        \
            fprintf(stderr, "%s:%d: %s returned\n", __FILE__, __LINE__, #stmt);                    \
            check_failures++;                                                                      \
        }                                                                                          \
        trap_armed = 0;                                                                            \
        CHECK_INT(exit_status, status);                                                            \
        if (!strstr(console, msg)) {                                                               \
            fprintf(stderr, "%s:%d: console \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, console,   \
                    msg);                                                                          \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- printf ------------------------------------------------------------------ */

static char want[4096], got[4096];

/* Formats with glibc and with the libc and reports any difference. */
#define SAME(...)                                                                                  \
    do {                                                                                           \
        int nw_ = snprintf(want, sizeof(want), __VA_ARGS__);                                       \
        int ng_ = mlibc_snprintf(got, sizeof(got), __VA_ARGS__);                                   \
        if (nw_ != ng_ || strcmp(want, got) != 0) {                                                \
            fprintf(stderr, "%s:%d: %s: got [%s] (%d), glibc [%s] (%d)\n", __FILE__, __LINE__,     \
                    #__VA_ARGS__, got, ng_, want, nw_);                                            \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static void test_printf_fixed(void)
{
    SAME("plain text");
    SAME("%d %i %u %x %X %o %c %s %%", -42, 17, 3000000000u, 0xbeef, 0xBEEF, 0755, 'q', "str");
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d] [%-+5d]", 42, 42, 42, 42, 42, 42, 42);
    SAME("[%.3d] [%8.3d] [%-8.3d] [%08.3d] [%.0d] [%5.0d] [%.0x]", 7, -7, 7, 7, 0, 0, 0);
    SAME("[%#x] [%#X] [%#o] [%#o] [%#.3o] [%#x] [%#08x] [%#-8x]", 255, 255, 8, 0, 8, 0, 1, 1);
    SAME("[%d] [%d] [%ld] [%ld]", INT_MIN, INT_MAX, LONG_MIN, LONG_MAX);
    SAME("[%lld] [%llu] [%llx] [%lo]", LLONG_MIN, ULLONG_MAX, ULLONG_MAX, ULONG_MAX);
    SAME("[%hhd] [%hhu] [%hd] [%hu] [%hhx]", 300, 300, 70000, 70000, -1);
    SAME("[%zu] [%zd] [%jd] [%ju] [%td]", (size_t)SIZE_MAX, (ssize_t)-5, (intmax_t)INTMAX_MIN,
         (uintmax_t)UINTMAX_MAX, (ptrdiff_t)-9);
    SAME("[%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*d]", 6, 1, 6, 1, -6, 1, 4, 1, -4, 1, 8, 3, 5);
    SAME("[%s] [%10s] [%-10s] [%.2s] [%10.2s] [%.*s] [%.0s]", "hello", "hello", "hello", "hello",
         "hello", 3, "hello", "x");
    SAME("[%c] [%5c] [%-5c] [%c]", 'a', 'b', 'c', 0);
    SAME("[%p] [%20p] [%-20p]", (void *)0x1234, (void *)0xdeadbeef, (void *)1);
    SAME("[%p] [%10p]", (void *)NULL, (void *)NULL);
    SAME("[%s] [%.3s] [%10s]", (char *)NULL, (char *)NULL, (char *)NULL);
    CHECK_INT(mlibc_snprintf(got, sizeof(got), "%5%|%-5%|"), 4);
    CHECK_STR(got, "%|%|");
    SAME("%f %f %f %f", 0.0, -0.0, 1.0, -1.5);
    SAME("%e %E %g %G", 12345.678, 0.000123, 1e-5, 1e20);
    SAME("[%10.3f] [%-10.3f] [%010.3f] [%+.2f] [% .2f] [%#.0f] [%.0f]", 3.14159, 3.14159, -3.14159,
         2.5, 2.5, 3.0, 2.5);
    SAME("[%.0f] [%.0f] [%.0f] [%.0f] [%.1f] [%.2f]", 0.5, 1.5, 2.5, 3.5, 0.05, 0.125);
    SAME("[%f] [%F] [%e] [%g] [%5f] [%-6f|] [%+f] [%010f]", INFINITY, -INFINITY, NAN, -NAN,
         INFINITY, NAN, INFINITY, -INFINITY);
    SAME("[%g] [%g] [%g] [%g] [%g] [%g] [%#g] [%#.3g]", 100000.0, 1000000.0, 0.0001, 0.00001,
         123456789.0, 0.1, 1.0, 100.0);
    SAME("[%.0g] [%.1g] [%.2g] [%.3g] [%g]", 9.5, 9.96, 99.5, 0.0009995, 9.999995);
    SAME("[%.17g] [%.17g] [%.17g] [%.20e]", 0.1, DBL_MAX, DBL_MIN, 5e-324);
    SAME("%f", DBL_MAX);
    SAME("%.1074f", 5e-324);
    SAME("%.40f %.30e", 1.0 / 3, 2.0 / 3);
    SAME("[%Lf] [%Lg] [%.3Le]", 1.25L, 1e10L, -2.5L);
    SAME("%.*f|%.*e", -1, 1.5, 3, 1.5);
    SAME("%5.1e|%-12.4e|%012.4e|%+e", 9.96, 0.0, -1.0, 99999.5);

    /* C99 snprintf: the return is the untruncated length, the buffer always terminated. */
    char small[8];
    memset(small, 'x', sizeof(small));
    CHECK_INT(mlibc_snprintf(small, sizeof(small), "%s-%d", "abcdef", 12345), 12);
    CHECK_STR(small, "abcdef-");
    CHECK_INT(mlibc_snprintf(NULL, 0, "%d", 123456), 6);
    small[0] = 'z';
    CHECK_INT(mlibc_snprintf(small, 1, "abc"), 3);
    CHECK_STR(small, "");
    /* Unknown or unsupported conversions show up as written. */
    CHECK_INT(mlibc_snprintf(got, sizeof(got), "a%yb%"), 5);
    CHECK_STR(got, "a%yb%");
    /* Huge output is counted exactly; over INT_MAX is an error. */
    CHECK_INT(mlibc_snprintf(small, sizeof(small), "%100000d", 1), 100000);
    errno = 0;
    mlibc_errno = 0;
    CHECK_INT(mlibc_snprintf(small, sizeof(small), "%2147483647d%d", 1, 1), -1);
    CHECK_INT(mlibc_errno, EOVERFLOW);

    char *s = NULL;
    CHECK_INT(mlibc_asprintf(&s, "%s=%05.1f", "pi", 3.14159), 8);
    CHECK_STR(s, "pi=003.1");
    mlibc_free(s);
}

/* Random conversions with random flags, widths and precisions, against glibc. */
static void test_printf_random(void)
{
    static const char *const convs[] = {"d", "i", "u", "x", "X", "o"};
    static const char *const lens[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
    static const char *const fconvs[] = {"f", "e", "g", "E", "G", "F"};
    char fmt[64];

    for (int iter = 0; iter < 200000; iter++) {
        size_t n = 0;
        fmt[n++] = '[';
        fmt[n++] = '%';
        uint64_t r = rnd();
        if (r & 1)
            fmt[n++] = '-';
        if (r & 2)
            fmt[n++] = '0';
        if (r & 4)
            fmt[n++] = '#';
        bool is_float = iter & 1;
        const char *conv = is_float ? fconvs[(r >> 8) % 6] : convs[(r >> 8) % 6];
        bool is_signed = is_float || conv[0] == 'd' || conv[0] == 'i';
        if ((r & 8) && is_signed)
            fmt[n++] = '+';
        if ((r & 16) && is_signed)
            fmt[n++] = ' ';
        if (r & 32)
            n += (size_t)sprintf(fmt + n, "%d", (int)((r >> 16) % 30));
        if (r & 64)
            n += (size_t)sprintf(fmt + n, ".%d", (int)((r >> 24) % (is_float ? 40 : 25)));
        const char *len = is_float ? "" : lens[(r >> 32) % 8];
        n += (size_t)sprintf(fmt + n, "%s%s]", len, conv);

        uint64_t v = rnd();
        /* Small values and edge cases are where the bugs live. */
        switch ((r >> 40) % 4) {
        case 0:
            v %= 1000;
            break;
        case 1:
            v = (uint64_t)(int64_t)(int16_t)v;
            break;
        default:
            break;
        }
        if (is_float) {
            double d;
            if ((r >> 44) & 1) {
                memcpy(&d, &v, sizeof(d));
            } else {
                /* Short decimals hit exact ties and carries. */
                d = (double)(int64_t)(v % 200001 - 100000) / (double)(1 << ((r >> 48) % 12));
            }
            SAME(fmt, d);
        } else if (!strcmp(len, "") || !strcmp(len, "h") || !strcmp(len, "hh")) {
            SAME(fmt, (int)v);
        } else {
            SAME(fmt, (long long)v);
        }
        if (check_failures > 20)
            return;
    }
}

static void test_console_output(void)
{
    console_clear();
    char longline[3000];
    memset(longline, 'y', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    CHECK_INT(mlibc_printf("%s|%d\n", longline, 7), 3002);
    CHECK_INT(console_len, 3002);
    CHECK(memcmp(console, longline, 2999) == 0);
    CHECK_STR(console + 2999, "|7\n");
    console_clear();
    mlibc_puts("line");
    mlibc_putchar('!');
    CHECK_STR(console, "line\n!");
}

/* ---- strtol family ----------------------------------------------------------- */

static void same_strto(const char *s, int base)
{
    char *ew, *eg;
    errno = 0;
    mlibc_errno = 0;
    long long w = strtoll(s, &ew, base);
    int errw = errno;
    long long g = mlibc_strtoll(s, &eg, base);
    if (w != g || ew != eg || errw != mlibc_errno) {
        fprintf(stderr, "strtoll(\"%s\", %d): got %lld end+%td errno %d, glibc %lld end+%td %d\n",
                s, base, g, eg - s, mlibc_errno, w, ew - s, errw);
        check_failures++;
    }
    errno = 0;
    mlibc_errno = 0;
    unsigned long long uw = strtoull(s, &ew, base);
    errw = errno;
    unsigned long long ug = mlibc_strtoull(s, &eg, base);
    if (uw != ug || ew != eg || errw != mlibc_errno) {
        fprintf(stderr, "strtoull(\"%s\", %d): got %llu end+%td errno %d, glibc %llu end+%td %d\n",
                s, base, ug, eg - s, mlibc_errno, uw, ew - s, errw);
        check_failures++;
    }
    CHECK_INT(mlibc_strtol(s, NULL, base), strtol(s, NULL, base));
    CHECK(mlibc_strtoul(s, NULL, base) == strtoul(s, NULL, base));
}

static void test_strtol(void)
{
    static const char *const cases[] = {"0",
                                        "123",
                                        "-123",
                                        "+123",
                                        "  \t\n42xyz",
                                        "   -0",
                                        "",
                                        "   ",
                                        "+",
                                        "-",
                                        "0x",
                                        "0x1g",
                                        "0xG",
                                        "0X1F",
                                        "-0x10",
                                        "077",
                                        "08",
                                        "0b101",
                                        "z",
                                        "Zz",
                                        "9223372036854775807",
                                        "9223372036854775808",
                                        "-9223372036854775808",
                                        "-9223372036854775809",
                                        "18446744073709551615",
                                        "18446744073709551616",
                                        "-18446744073709551615",
                                        "-18446744073709551616",
                                        "99999999999999999999999999999999",
                                        "0x7fffffffffffffff",
                                        "0xffffffffffffffff",
                                        "0x10000000000000000",
                                        "1777777777777777777777",
                                        "2000000000000000000000",
                                        "  +0x",
                                        "- 5",
                                        "+-5",
                                        "12 34",
                                        "0000000000000000000000001",
                                        "zzzzzzzzzzzzz",
                                        "3w5e11264sgsf",
                                        "3w5e11264sgsg"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static const int bases[] = {0, 2, 8, 10, 16, 36};
        for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
            same_strto(cases[i], bases[b]);
    }
    /* Random strings of the characters that matter, in every base. */
    static const char alphabet[] = " \t+-0123456789abcdefxzXZ";
    for (int iter = 0; iter < 100000; iter++) {
        char s[32];
        size_t n = rnd() % 30;
        for (size_t i = 0; i < n; i++)
            s[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
        s[n] = '\0';
        int base = (int)(rnd() % 36);
        same_strto(s, base == 1 ? 0 : base);
    }
    mlibc_errno = 0;
    char *end = (char *)1;
    CHECK_INT(mlibc_strtol("12", &end, 1), 0);
    CHECK_INT(mlibc_errno, EINVAL);
    mlibc_errno = 0;
    CHECK_INT(mlibc_strtol("12", NULL, 37), 0);
    CHECK_INT(mlibc_errno, EINVAL);
    CHECK_INT(mlibc_atoi(" -77x"), -77);
}

/* ---- malloc ------------------------------------------------------------------ */

struct slot {
    unsigned char *p;
    size_t n;
    unsigned char tag;
};

static void fill(struct slot *s)
{
    memset(s->p, s->tag, s->n);
}

static int intact(const struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->p[i] != s->tag)
            return 0;
    }
    return 1;
}

static size_t random_size(void)
{
    uint64_t r = rnd();
    switch (r % 8) {
    case 0:
        return r >> 60; /* 0..15 */
    case 1:
    case 2:
    case 3:
        return (r >> 8) % 300;
    case 4:
    case 5:
        return (r >> 8) % 5000;
    case 6:
        return (r >> 8) % 70000;
    default:
        return 1514; /* a frame */
    }
}

static void test_malloc(void)
{
    static struct slot slots[2000];
    size_t base_free = mlibc_mirage_heap_free();

    CHECK(base_free > HEAP_SIZE - 4096);
    CHECK_INT(mlibc_mirage_heap_used(), 0);
    for (int iter = 0; iter < 400000; iter++) {
        struct slot *s = &slots[rnd() % 2000];
        uint64_t op = rnd() % 10;
        if (!s->p) {
            s->n = random_size();
            s->tag = (unsigned char)rnd();
            if (op < 2) {
                s->p = mlibc_calloc(1, s->n);
                if (!s->p)
                    continue;
                for (size_t i = 0; i < s->n; i++)
                    CHECK(s->p[i] == 0);
            } else if (op < 3) {
                size_t align = (size_t)16 << (rnd() % 9);
                s->p = mlibc_aligned_alloc(align, s->n);
                CHECK(((uintptr_t)s->p & (align - 1)) == 0);
            } else {
                s->p = mlibc_malloc(s->n);
            }
            if (!s->p)
                continue;
            CHECK(((uintptr_t)s->p & 15) == 0);
            CHECK(mlibc_malloc_usable_size(s->p) >= s->n);
            fill(s);
        } else if (op < 4) {
            size_t n = random_size();
            unsigned char *q = mlibc_realloc(s->p, n ? n : 1);
            if (!q)
                continue;
            s->p = q;
            if (!intact(s, n < s->n ? n : s->n)) {
                fprintf(stderr, "realloc lost data at iteration %d\n", iter);
                check_failures++;
            }
            s->n = n ? n : 1;
            fill(s);
        } else {
            if (!intact(s, s->n)) {
                fprintf(stderr, "block contents changed at iteration %d\n", iter);
                check_failures++;
            }
            mlibc_free(s->p);
            s->p = NULL;
        }
        if (check_failures > 20)
            return;
    }
    for (int i = 0; i < 2000; i++) {
        if (slots[i].p) {
            CHECK(intact(&slots[i], slots[i].n));
            mlibc_free(slots[i].p);
            slots[i].p = NULL;
        }
    }
    CHECK_INT(mlibc_mirage_heap_used(), 0);
    /* Everything coalesced back: the whole heap is one block again. */
    CHECK_INT(mlibc_mirage_heap_free(), base_free);
    void *big = mlibc_malloc(base_free - 64);
    CHECK(big != NULL);
    mlibc_free(big);

    /* Exhaustion fails cleanly and the heap recovers. */
    mlibc_errno = 0;
    CHECK(mlibc_malloc(HEAP_SIZE) == NULL);
    CHECK_INT(mlibc_errno, ENOMEM);
    CHECK(mlibc_malloc(SIZE_MAX) == NULL);
    CHECK(mlibc_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(mlibc_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL);
    void *blocks[4096];
    size_t nblocks = 0;
    while (nblocks < 4096 && (blocks[nblocks] = mlibc_malloc(65536)))
        nblocks++;
    CHECK(nblocks > 400 && nblocks < 4096);
    while (nblocks)
        mlibc_free(blocks[--nblocks]);
    CHECK_INT(mlibc_mirage_heap_used(), 0);
    CHECK_INT(mlibc_mirage_heap_free(), base_free);

    void *p = NULL;
    CHECK_INT(mlibc_posix_memalign(&p, 4096, 100), 0);
    CHECK(((uintptr_t)p & 4095) == 0);
    mlibc_free(p);
    CHECK_INT(mlibc_posix_memalign(&p, 24, 100), EINVAL);
    CHECK(mlibc_aligned_alloc(3, 10) == NULL);
    CHECK(mlibc_realloc(NULL, 10) != NULL); /* leaked on purpose, then released below */
    CHECK(mlibc_mirage_heap_used() > 0);

    /* Misuse ends the unikernel with a message instead of corrupting the heap. */
    unsigned char *a = mlibc_malloc(40);
    unsigned char *b = mlibc_malloc(40);
    mlibc_free(a);
    EXPECT_END(mlibc_free(a), 255, "double free");
    EXPECT_END(mlibc_free(b + 16), 255, "malloc: ");
    EXPECT_END(mlibc_free(heap_area), 255, "malloc: ");
    EXPECT_END(mlibc_free((void *)8), 255, "malloc: ");
    memset(b - 16, 0x41, 16); /* an underflow over b's own header */
    EXPECT_END(mlibc_free(b), 255, "corrupted block header");
    EXPECT_END(mlibc_realloc(b, 100), 255, "corrupted block header");
    unsigned char *c = mlibc_malloc(32);
    unsigned char *d = mlibc_malloc(32);
    memset(c, 0, 48 + 8); /* an overflow into d's header */
    EXPECT_END(mlibc_free(c), 255, "overwritten");
    (void)d;
}

/* ---- qsort, bsearch ---------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

struct rec {
    uint64_t key;
    char name[13];
};

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void test_qsort(void)
{
    static int a[5000], ref[5000];
    for (int iter = 0; iter < 200; iter++) {
        size_t n = rnd() % 5000;
        int range = iter % 3 == 0 ? 10 : INT_MAX;
        for (size_t i = 0; i < n; i++)
            a[i] = ref[i] = (int)(rnd() % (unsigned)range) - range / 2;
        if (iter % 7 == 1) { /* already sorted, reversed */
            qsort(a, n, sizeof(int), cmp_int);
            for (size_t i = 0; i < n / 2; i++) {
                int t = a[i];
                a[i] = a[n - 1 - i];
                a[n - 1 - i] = t;
            }
        }
        qsort(ref, n, sizeof(int), cmp_int);
        mlibc_qsort(a, n, sizeof(int), cmp_int);
        CHECK(memcmp(a, ref, n * sizeof(int)) == 0);
        for (size_t k = 0; k < 20 && n; k++) {
            int key = ref[rnd() % n];
            int *hit = mlibc_bsearch(&key, a, n, sizeof(int), cmp_int);
            CHECK(hit && *hit == key);
        }
        int missing = INT_MAX;
        CHECK(n == 0 || ref[n - 1] == INT_MAX ||
              !mlibc_bsearch(&missing, a, n, sizeof(int), cmp_int));
    }
    static struct rec r[1000];
    for (size_t i = 0; i < 1000; i++) {
        r[i].key = rnd() % 100000;
        snprintf(r[i].name, sizeof(r[i].name), "k%llu", (unsigned long long)r[i].key);
    }
    mlibc_qsort(r, 1000, sizeof(r[0]), cmp_rec);
    for (size_t i = 0; i < 1000; i++) {
        char name[13];
        snprintf(name, sizeof(name), "k%llu", (unsigned long long)r[i].key);
        CHECK_STR(r[i].name, name);
        if (i)
            CHECK(r[i - 1].key <= r[i].key);
    }
}

/* ---- strings ----------------------------------------------------------------- */

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void test_string(void)
{
    static unsigned char buf[600], ref[600];
    for (int iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = ref[i] = (unsigned char)rnd();
        size_t n = rnd() % 300, src = rnd() % 300, dst = rnd() % 300;
        memmove(ref + dst, ref + src, n);
        mlibc_memmove(buf + dst, buf + src, n);
        CHECK(memcmp(buf, ref, sizeof(buf)) == 0);
        if (dst + n <= src + 1 || src + 1 + n <= dst) {
            mlibc_memcpy(buf + dst, buf + src + 1, n);
            memcpy(ref + dst, ref + src + 1, n);
            CHECK(memcmp(buf, ref, sizeof(buf)) == 0);
        }
        int c = (int)(rnd() & 0xff);
        mlibc_memset(buf + src, c, n);
        memset(ref + src, c, n);
        CHECK(memcmp(buf, ref, sizeof(buf)) == 0);
        CHECK(mlibc_memchr(buf, c, n + 10) == memchr(buf, c, n + 10));
        ref[dst] ^= (unsigned char)(rnd() & 1);
        CHECK_INT(sign(mlibc_memcmp(buf, ref, 600 - (rnd() % 600))),
                  sign(memcmp(buf, ref, 600 - (rng_state % 600))));
    }
    CHECK_INT(sign(mlibc_memcmp("\x80", "\x01", 1)), 1);
    CHECK_INT(sign(mlibc_strcmp("a\x80", "a\x01")), 1);

    static const char *const words[] = {"",   "a",   "ab",        "abc",         "abd",
                                        "b",  "ABC", "abcabcabd", "hello world", "Hello World",
                                        "bc", "cab"};
    size_t nw = sizeof(words) / sizeof(words[0]);
    for (size_t i = 0; i < nw; i++) {
        const char *x = words[i];
        CHECK_INT(mlibc_strlen(x), strlen(x));
        CHECK(mlibc_strchr(x, 'b') == strchr(x, 'b'));
        CHECK(mlibc_strchr(x, '\0') == strchr(x, '\0'));
        CHECK(mlibc_strrchr(x, 'b') == strrchr(x, 'b'));
        CHECK_INT(mlibc_strspn(x, "ab"), strspn(x, "ab"));
        CHECK_INT(mlibc_strcspn(x, "c "), strcspn(x, "c "));
        for (size_t j = 0; j < nw; j++) {
            const char *y = words[j];
            CHECK_INT(sign(mlibc_strcmp(x, y)), sign(strcmp(x, y)));
            CHECK_INT(sign(mlibc_strncmp(x, y, 2)), sign(strncmp(x, y, 2)));
            CHECK_INT(sign(mlibc_strcasecmp(x, y)), sign(strcasecmp(x, y)));
            CHECK_INT(sign(mlibc_strncasecmp(x, y, 3)), sign(strncasecmp(x, y, 3)));
            CHECK(mlibc_strstr(x, y) == strstr(x, y));
        }
    }
    char a[16], b[16];
    memset(a, 'x', sizeof(a));
    memset(b, 'x', sizeof(b));
    CHECK(memcmp(mlibc_strncpy(a, "abc", 8), strncpy(b, "abc", 8), 16) == 0);
    strcpy(a, "ab");
    strcpy(b, "ab");
    CHECK(memcmp(mlibc_strncat(a, "cdef", 2), strncat(b, "cdef", 2), 16) == 0);
    CHECK_INT(mlibc_strlcpy(a, "0123456789", 4), 10);
    CHECK_STR(a, "012");

    char text[] = "  GET /index.html  HTTP/1.1 ";
    char *save = NULL;
    CHECK_STR(mlibc_strtok_r(text, " ", &save), "GET");
    CHECK_STR(mlibc_strtok_r(NULL, " ", &save), "/index.html");
    CHECK_STR(mlibc_strtok_r(NULL, " ", &save), "HTTP/1.1");
    CHECK(mlibc_strtok_r(NULL, " ", &save) == NULL);
    CHECK(mlibc_strtok_r(NULL, " ", &save) == NULL);

    char *dup = mlibc_strdup("duplicate");
    CHECK_STR(dup, "duplicate");
    mlibc_free(dup);
    dup = mlibc_strndup("duplicate", 3);
    CHECK_STR(dup, "dup");
    mlibc_free(dup);
    CHECK_STR(mlibc_strerror(ENOMEM), strerror(ENOMEM));
    CHECK_STR(mlibc_strerror(ERANGE), strerror(ERANGE));
    CHECK_STR(mlibc_strerror(12345), "Unknown error");

    for (int ch = -1; ch < 256; ch++) {
        CHECK_INT(!!mlibc_isspace(ch), !!isspace(ch));
        CHECK_INT(!!mlibc_isalpha(ch), !!isalpha(ch));
        CHECK_INT(!!mlibc_isdigit(ch), !!isdigit(ch));
        CHECK_INT(!!mlibc_isxdigit(ch), !!isxdigit(ch));
        CHECK_INT(!!mlibc_isalnum(ch), !!isalnum(ch));
        CHECK_INT(!!mlibc_ispunct(ch), !!ispunct(ch));
        CHECK_INT(!!mlibc_isprint(ch), !!isprint(ch));
        CHECK_INT(!!mlibc_isgraph(ch), !!isgraph(ch));
        CHECK_INT(!!mlibc_iscntrl(ch), !!iscntrl(ch));
        CHECK_INT(!!mlibc_isupper(ch), !!isupper(ch));
        CHECK_INT(!!mlibc_islower(ch), !!islower(ch));
        CHECK_INT(mlibc_toupper(ch), toupper(ch));
        CHECK_INT(mlibc_tolower(ch), tolower(ch));
    }
}

/* ---- setjmp, time, the ends -------------------------------------------------- */

static mlibc_jmp_buf jb;
static int depth_reached;

__attribute__((noinline)) static void dive(int depth, int val)
{
    volatile char pad[64];
    pad[0] = (char)depth;
    depth_reached = depth + pad[0] - depth;
    if (depth == 0)
        mlibc_longjmp(jb, val);
    if (depth > 0)
        dive(depth - 1, val);
}

static void test_setjmp(void)
{
    volatile int counter = 0;
    volatile long keep = 0x1234567890L;
    int r = mlibc_setjmp(jb);
    counter++;
    if (r == 0) {
        dive(50, 7);
    } else if (r == 7) {
        CHECK_INT(depth_reached, 0);
        dive(3, 0); /* longjmp(.., 0) makes setjmp return 1 */
    } else {
        CHECK_INT(r, 1);
    }
    CHECK_INT(counter, 3);
    CHECK_INT(keep, 0x1234567890L);
}

static void test_time(void)
{
    wall_ns = 1700000000123456789ULL;
    mono_ns = 5000000001ULL;
    time_t t = 0;
    CHECK_INT(mlibc_time(&t), 1700000000);
    CHECK_INT(t, 1700000000);
    struct timespec ts;
    CHECK_INT(mlibc_clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    CHECK_INT(ts.tv_sec, 5);
    CHECK_INT(ts.tv_nsec, 1);
    CHECK_INT(mlibc_clock_gettime(CLOCK_REALTIME, &ts), 0);
    CHECK_INT(ts.tv_nsec, 123456789);
    CHECK_INT(mlibc_clock_gettime(42, &ts), -1);

    for (int iter = 0; iter < 200000; iter++) {
        /* +-10^12 s covers years -29000..33000; also the first days around 1970. */
        time_t x = iter < 1000 ? (time_t)(iter - 500) * 3600 * 7
                               : (time_t)(rnd() % 2000000000000ULL) - 1000000000000LL;
        struct tm w, g;
        memset(&g, 0, sizeof(g));
        gmtime_r(&x, &w);
        CHECK(mlibc_gmtime_r(&x, &g) == &g);
        if (w.tm_year != g.tm_year || w.tm_mon != g.tm_mon || w.tm_mday != g.tm_mday ||
            w.tm_hour != g.tm_hour || w.tm_min != g.tm_min || w.tm_sec != g.tm_sec ||
            w.tm_wday != g.tm_wday || w.tm_yday != g.tm_yday) {
            fprintf(stderr, "gmtime_r(%lld) differs\n", (long long)x);
            check_failures++;
        }
        /* timegm normalises out-of-range fields like glibc's. */
        g.tm_mon += (int)(rnd() % 40) - 20;
        g.tm_mday += (int)(rnd() % 100) - 50;
        g.tm_sec += (int)(rnd() % 100000) - 50000;
        w = g;
        CHECK_INT(mlibc_timegm(&g), timegm(&w));
        CHECK_INT(g.tm_mday, w.tm_mday);
        if (check_failures > 20)
            return;
    }
}

static int handler_calls;

static void on_exit_handler(void)
{
    handler_calls = handler_calls * 10 + 1;
}

static void on_exit_handler2(void)
{
    handler_calls = handler_calls * 10 + 2;
}

static void test_ends(void)
{
    EXPECT_END(mlibc_abort(), 255, "abort");
    EXPECT_END(mlibc___stack_chk_fail(), 255, "stack smashing detected");
    EXPECT_END(mlibc___assert_fail("x == 1", "file.c", 42, "fn"), 255,
               "file.c:42: fn: assertion failed: x == 1");
    char small[4];
    EXPECT_END(mlibc___memcpy_chk(small, "12345", 5, sizeof(small)), 255, "buffer overflow");
    CHECK(mlibc___memcpy_chk(small, "123", 4, sizeof(small)) == small);
    mlibc_atexit(on_exit_handler);
    mlibc_atexit(on_exit_handler2);
    EXPECT_END(mlibc_exit(3), 3, "");
    CHECK_INT(handler_calls, 21);

    mlibc_errno = 0;
    CHECK_INT(mlibc_open("/dev/urandom", 0), -1);
    CHECK_INT(mlibc_errno, ENOSYS);
    CHECK_INT(mlibc_read(3, small, 1), -1);
    CHECK_INT(mlibc_close(3), -1);
}

static void test_tcb(void)
{
    uint64_t a = 0, b = 0;
    /* mirage/cpu.h: two draws differ whether they come from the CPU or its TSC. */
    if (!mirage_cpu_random(&a))
        a = mirage_cpu_jitter(1);
    if (!mirage_cpu_random(&b))
        b = mirage_cpu_jitter(2);
    CHECK(a != b);
    mlibc_mirage_tcb_init_seeded(NULL); /* no seed: the CPU's entropy */
    CHECK(tls_base != 0);
    CHECK(tls_base % 64 == 0);
    uint64_t self, canary;
    memcpy(&self, (void *)tls_base, 8);
    memcpy(&canary, (void *)(tls_base + 0x28), 8);
    CHECK(self == tls_base);
    CHECK((canary & 0xff) == 0);
    CHECK((canary >> 8) != 0);

    /* The tender's seed is taken as it is, less the canary's low byte. */
    const uint64_t seed[2] = {0x1122334455667788ULL, 0x99aabbccddeeff00ULL};
    uint64_t guard;
    mlibc_mirage_tcb_init_seeded(seed);
    memcpy(&canary, (void *)(tls_base + 0x28), 8);
    memcpy(&guard, (void *)(tls_base + 0x30), 8);
    CHECK(canary == 0x1122334455667700ULL);
    CHECK(guard == seed[1]);
    /* An all-zero seed (the tender had no random bytes) falls back to the CPU. */
    const uint64_t zero[2] = {0, 0};
    mlibc_mirage_tcb_init_seeded(zero);
    memcpy(&canary, (void *)(tls_base + 0x28), 8);
    CHECK((canary & 0xff) == 0);
    CHECK(canary != 0 && canary != 0x1122334455667700ULL);
}

int main(void)
{
    test_printf_fixed();
    test_printf_random();
    test_console_output();
    test_strtol();
    test_malloc();
    test_qsort();
    test_string();
    test_setjmp();
    test_time();
    test_ends();
    test_tcb();
    return CHECK_DONE();
}
