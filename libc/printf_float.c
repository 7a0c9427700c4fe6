/* printf_float.c: exact decimal formatting of doubles for %e, %f and %g. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "format.h"

/*
 * A double is m * 2^e with integer m < 2^53. For e >= 0 that is the integer
 * N = m * 2^e; for e < 0 it is N / 10^k with N = m * 5^k and k = -e. Either
 * way N is an exact integer of at most 767 decimal digits, kept in base-1e9
 * limbs, so every digit printed is exact and rounding (half to even, as
 * glibc does in the default rounding mode) sees the true value.
 */

#define LIMBS 90
#define BASE  1000000000U

struct big {
    uint32_t limb[LIMBS]; /* least significant first */
    int n;                /* limbs in use */
    int ndig;             /* decimal digits of N */
    int k;                /* the value is N / 10^k */
};

static const uint32_t pow10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

static void mul_small(struct big *b, uint32_t m)
{
    uint64_t carry = 0;

    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)(t % BASE);
        carry = t / BASE;
    }
    while (carry) {
        b->limb[b->n++] = (uint32_t)(carry % BASE);
        carry /= BASE;
    }
}

static void big_init(struct big *b, uint64_t m, int e)
{
    b->limb[0] = (uint32_t)(m % BASE);
    b->limb[1] = (uint32_t)(m / BASE % BASE);
    b->n = b->limb[1] ? 2 : 1;
    b->k = 0;
    for (; e >= 29; e -= 29)
        mul_small(b, 1U << 29);
    if (e > 0)
        mul_small(b, 1U << e);
    if (e < 0) {
        b->k = -e;
        for (; e <= -13; e += 13)
            mul_small(b, 1220703125U); /* 5^13 */
        uint32_t p = 1;
        for (; e < 0; e++)
            p *= 5;
        mul_small(b, p);
    }
    int top = 1;
    while (top < 9 && b->limb[b->n - 1] >= pow10[top])
        top++;
    b->ndig = 9 * (b->n - 1) + top;
}

/* Decimal digit (i) of N counted from the most significant (0); 0 outside N. */
static int digit(const struct big *b, long long i)
{
    if (i < 0 || i >= b->ndig)
        return 0;
    int q = b->ndig - 1 - (int)i;
    return (int)(b->limb[q / 9] / pow10[q % 9] % 10);
}

static bool nonzero_after(const struct big *b, long long i)
{
    for (long long j = i + 1; j < b->ndig; j++) {
        if (digit(b, j))
            return true;
    }
    return false;
}

/* N rounded to its first (keep) digits, read through rounded(). */
enum round_mode { PLAIN, INCREMENT, CARRY };

struct digits {
    const struct big *b;
    long long keep; /* digits at and after this index are 0 */
    long long pos;  /* INCREMENT: the digit that goes up by one */
    enum round_mode mode;
    long long point; /* digits before the decimal point (%f) */
};

static struct digits round_digits(const struct big *b, long long keep, long long point)
{
    struct digits d = {b, keep < 0 ? 0 : keep, 0, PLAIN, point};

    if (keep < 0 || keep >= b->ndig)
        return d;
    int r = digit(b, keep);
    bool up = r > 5 || (r == 5 && (nonzero_after(b, keep) || (digit(b, keep - 1) & 1)));
    if (!up)
        return d;
    for (long long i = keep - 1; i >= 0; i--) {
        if (digit(b, i) != 9) {
            d.mode = INCREMENT;
            d.pos = i;
            return d;
        }
    }
    /* All nines (or nothing kept): the result is 1 followed by zeros, one place higher. */
    d.mode = CARRY;
    d.keep++;
    d.point++;
    return d;
}

static int rounded(const struct digits *d, long long i)
{
    if (i < 0 || i >= d->keep)
        return 0;
    switch (d->mode) {
    case CARRY:
        return i == 0;
    case INCREMENT:
        return i < d->pos ? digit(d->b, i) : i == d->pos ? digit(d->b, i) + 1 : 0;
    default:
        return digit(d->b, i);
    }
}

static void put_digits(struct mlibc_out *o, const struct digits *d, long long from, long long n)
{
    for (long long i = from; i < from + n; i++) {
        if (i >= d->keep) {
            __mlibc_pad(o, '0', (size_t)(from + n - i));
            return;
        }
        char c = (char)('0' + rounded(d, i));
        __mlibc_put(o, &c, 1);
    }
}

void __mlibc_format_double(struct mlibc_out *o, const struct mlibc_spec *sp, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    bool upper = sp->flags & FMT_UPPER;
    char sign = (bits >> 63)              ? '-'
                : (sp->flags & FMT_PLUS)  ? '+'
                : (sp->flags & FMT_SPACE) ? ' '
                                          : 0;
    size_t nsign = sign ? 1 : 0;
    unsigned expf = (unsigned)(bits >> 52) & 0x7ff;
    uint64_t m = bits & ((1ULL << 52) - 1);
    size_t len;

    if (expf == 0x7ff) {
        const char *text = m ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        len = nsign + 3;
        if (!(sp->flags & FMT_MINUS) && (size_t)sp->width > len)
            __mlibc_pad(o, ' ', (size_t)sp->width - len);
        __mlibc_put(o, &sign, nsign);
        __mlibc_put(o, text, 3);
        if ((sp->flags & FMT_MINUS) && (size_t)sp->width > len)
            __mlibc_pad(o, ' ', (size_t)sp->width - len);
        return;
    }

    int e = expf ? (int)expf - 1075 : -1074;
    if (expf)
        m |= 1ULL << 52;
    if (m == 0)
        e = 0;
    while (m && !(m & 1)) {
        m >>= 1;
        e++;
    }
    struct big b;
    big_init(&b, m, e);

    long long prec = sp->prec < 0 ? 6 : sp->prec;
    char conv = sp->conv;
    bool strip = false;
    struct digits d;
    long long x = 0; /* the decimal exponent, for %e */

    if (conv == 'g') {
        long long p = prec ? prec : 1;
        d = round_digits(&b, p, 0);
        x = b.ndig - 1 - b.k + (d.mode == CARRY);
        if (p > x && x >= -4) {
            conv = 'f';
            prec = p - 1 - x;
        } else {
            conv = 'e';
            prec = p - 1;
        }
        strip = !(sp->flags & FMT_HASH);
    }
    if (conv == 'e') {
        d = round_digits(&b, prec + 1, 1);
        x = b.ndig - 1 - b.k + (d.mode == CARRY);
    } else {
        d = round_digits(&b, b.ndig - b.k + prec, b.ndig - b.k);
    }
    long long frac_start = conv == 'e' ? 1 : d.point;
    if (strip) {
        while (prec > 0 && rounded(&d, frac_start + prec - 1) == 0)
            prec--;
    }

    bool dot = prec > 0 || (sp->flags & FMT_HASH);
    char expbuf[8];
    size_t nexp = 0;
    if (conv == 'e') {
        long long ax = x < 0 ? -x : x;
        char tmp[6];
        size_t nt = 0;
        do {
            tmp[nt++] = (char)('0' + ax % 10);
            ax /= 10;
        } while (ax);
        if (nt < 2)
            tmp[nt++] = '0';
        expbuf[nexp++] = upper ? 'E' : 'e';
        expbuf[nexp++] = x < 0 ? '-' : '+';
        while (nt)
            expbuf[nexp++] = tmp[--nt];
        len = nsign + 1 + dot + (size_t)prec + nexp;
    } else {
        len = nsign + (size_t)(d.point > 0 ? d.point : 1) + dot + (size_t)prec;
    }

    size_t fill = (size_t)sp->width > len ? (size_t)sp->width - len : 0;
    if (!(sp->flags & (FMT_MINUS | FMT_ZERO)))
        __mlibc_pad(o, ' ', fill);
    __mlibc_put(o, &sign, nsign);
    if ((sp->flags & FMT_ZERO) && !(sp->flags & FMT_MINUS))
        __mlibc_pad(o, '0', fill);
    if (conv == 'e')
        put_digits(o, &d, 0, 1);
    else if (d.point <= 0)
        __mlibc_put(o, "0", 1);
    else
        put_digits(o, &d, 0, d.point);
    if (dot)
        __mlibc_put(o, ".", 1);
    put_digits(o, &d, frac_start, prec);
    __mlibc_put(o, expbuf, nexp);
    if (sp->flags & FMT_MINUS)
        __mlibc_pad(o, ' ', fill);
}
