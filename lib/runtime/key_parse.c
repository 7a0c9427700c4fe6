/* key_parse.c: one parser per key format, for the runtime, the mirage tool and the tenders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/wire.h"

static int fail(char *err, size_t errsize, int code, const char *fmt, const char *s, size_t len)
{
    if (err && errsize)
        snprintf(err, errsize, fmt, (int)(len > 80 ? 80 : len), s);
    return code;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int mirage_key_parse_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out,
                         char *err, size_t errsize)
{
    size_t i = 0;
    int neg = 0;
    uint64_t mag = 0, limit;

    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' is not a number", s, len);
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (!is_digit(s[i]))
            return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' is not a number", s, len);
        if (mag > (limit - (uint64_t)(s[i] - '0')) / 10)
            return fail(err, errsize, MIRAGE_ERANGE, "'%.*s' does not fit 64 bits", s, len);
        mag = mag * 10 + (uint64_t)(s[i] - '0');
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (*out < min || *out > max) {
        if (err && errsize)
            snprintf(err, errsize, "'%.*s' is out of range %lld..%lld", (int)(len > 80 ? 80 : len),
                     s, (long long)min, (long long)max);
        return MIRAGE_ERANGE;
    }
    return 0;
}

int mirage_key_parse_ipv4(const char *s, size_t len, uint8_t out[4], char *err, size_t errsize)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;

        if (part > 0) {
            if (i >= len || s[i] != '.')
                return fail(err, errsize, MIRAGE_EINVAL,
                            "'%.*s' is not an IPv4 address (four numbers separated by dots)", s,
                            len);
            start = ++i;
        }
        while (i < len && is_digit(s[i]) && i - start < 4)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || i - start > 3)
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv4 address (four numbers separated by dots)", s, len);
        if (i - start > 1 && s[start] == '0')
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv4 address (a number has a leading zero)", s, len);
        if (v > 255)
            return fail(err, errsize, MIRAGE_ERANGE,
                        "'%.*s' is not an IPv4 address (a number is over 255)", s, len);
        out[part] = (uint8_t)v;
    }
    if (i != len)
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' is not an IPv4 address (text after the fourth number)", s, len);
    return 0;
}

int mirage_key_parse_ipv6(const char *s, size_t len, uint8_t out[16], char *err, size_t errsize)
{
    uint16_t groups[8];
    int n = 0, gap = -1; /* gap: the group index where "::" stands */
    size_t i = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' is not an IPv6 address (a single leading ':')", s, len);
    }
    while (i < len) {
        size_t start = i;
        unsigned v = 0;

        if (n == 8)
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv6 address (more than 8 groups)", s, len);
        while (i < len && mirage_hex_value(s[i]) >= 0 && i - start < 5)
            v = (v << 4) | (unsigned)mirage_hex_value(s[i++]);
        if (i < len && s[i] == '.') {
            /* An embedded IPv4 address fills the last two groups. */
            uint8_t v4[4];

            if (n > 6 || mirage_key_parse_ipv4(s + start, len - start, v4, NULL, 0) < 0)
                return fail(err, errsize, MIRAGE_EINVAL,
                            "'%.*s' is not an IPv6 address (bad embedded IPv4 part)", s, len);
            groups[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
            groups[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = len;
            break;
        }
        if (i == start || i - start > 4)
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv6 address (groups are 1 to 4 hex digits)", s, len);
        groups[n++] = (uint16_t)v;
        if (i == len)
            break;
        if (s[i] != ':')
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv6 address (unexpected character)", s, len);
        i++;
        if (i < len && s[i] == ':') {
            if (gap >= 0)
                return fail(err, errsize, MIRAGE_EINVAL,
                            "'%.*s' is not an IPv6 address ('::' twice)", s, len);
            gap = n;
            i++;
        } else if (i == len) {
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not an IPv6 address (a trailing ':')", s, len);
        }
    }
    if (gap < 0 ? n != 8 : n > 7)
        return fail(err, errsize, MIRAGE_EINVAL,
                    gap < 0 ? "'%.*s' is not an IPv6 address (fewer than 8 groups and no '::')"
                            : "'%.*s' is not an IPv6 address ('::' must stand for a group)",
                    s, len);
    memset(out, 0, 16);
    for (int g = 0; g < n; g++) {
        int at = (gap >= 0 && g >= gap) ? g + (8 - n) : g;

        out[2 * at] = (uint8_t)(groups[g] >> 8);
        out[2 * at + 1] = (uint8_t)groups[g];
    }
    return 0;
}

int mirage_key_parse_mac(const char *s, size_t len, uint8_t out[6], char *err, size_t errsize)
{
    if (len != 17)
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' is not a MAC address (six hex pairs separated by ':')", s, len);
    for (int b = 0; b < 6; b++) {
        int hi = mirage_hex_value(s[3 * b]), lo = mirage_hex_value(s[3 * b + 1]);

        if (hi < 0 || lo < 0 || (b < 5 && s[3 * b + 2] != ':'))
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not a MAC address (six hex pairs separated by ':')", s, len);
        out[b] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int mirage_key_parse_prefix(const char *s, size_t len, int v6, struct mirage_key_ip *ip, char *err,
                            size_t errsize)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int64_t bits;
    int r;

    if (slash == NULL)
        return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' has no /LENGTH prefix length", s, len);
    memset(ip, 0, sizeof(*ip));
    r = v6 ? mirage_key_parse_ipv6(s, alen, ip->addr, err, errsize)
           : mirage_key_parse_ipv4(s, alen, ip->addr, err, errsize);
    if (r < 0)
        return r;
    r = mirage_key_parse_int(slash + 1, len - alen - 1, 0, v6 ? 128 : 32, &bits, err, errsize);
    /* Digits only, and no leading zero: "/024" is as suspect as "010.0.0.2". */
    if (r < 0 || slash[1] == '-' || slash[1] == '+' || (slash[1] == '0' && len - alen > 2))
        return fail(err, errsize, r < 0 ? r : MIRAGE_EINVAL,
                    v6 ? "'%.*s' has a bad prefix length (0 to 128)"
                       : "'%.*s' has a bad prefix length (0 to 32)",
                    s, len);
    ip->bits = (uint8_t)bits;
    return 0;
}

int mirage_key_parse_duration(const char *s, size_t len, int64_t min, int64_t max, int64_t *ns,
                              char *err, size_t errsize)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"ms", 1000000},
                 {"s", 1000000000},
                 {"m", 60LL * 1000000000},
                 {"h", 3600LL * 1000000000}};
    size_t digits = 0;
    int64_t count;

    while (digits < len && is_digit(s[digits]))
        digits++;
    if (digits == 0)
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' is not a duration (a number and ns, us, ms, s, m or h)", s, len);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (strlen(units[u].name) != len - digits ||
            memcmp(units[u].name, s + digits, len - digits) != 0)
            continue;
        if (mirage_key_parse_int(s, digits, 0, INT64_MAX / units[u].ns, &count, NULL, 0) < 0)
            return fail(err, errsize, MIRAGE_ERANGE, "'%.*s' is too long a duration", s, len);
        *ns = count * units[u].ns;
        if (*ns < min || *ns > max) {
            if (err && errsize)
                snprintf(err, errsize, "'%.*s' is out of range %lld..%lld ns",
                         (int)(len > 80 ? 80 : len), s, (long long)min, (long long)max);
            return MIRAGE_ERANGE;
        }
        return 0;
    }
    return fail(err, errsize, MIRAGE_EINVAL,
                "'%.*s' is not a duration (a number and ns, us, ms, s, m or h)", s, len);
}

int mirage_key_parse_bool(const char *s, size_t len, int *out, char *err, size_t errsize)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0)
            return *out = 1, 0;
        if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0)
            return *out = 0, 0;
    }
    return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' is not true or false", s, len);
}

/* One malloc'd block: the pointer array, then a copy of the text whose
 * commas become NULs. An empty text is the empty list. */
static int parse_list(const char *text, struct mirage_key_list *l, void **mem)
{
    size_t len = strlen(text), n = len ? 1 : 0;
    char **items, *copy;

    for (size_t i = 0; i < len; i++)
        n += text[i] == ',';
    items = malloc((n + 1) * sizeof(char *) + len + 1);
    if (items == NULL)
        return MIRAGE_ENOMEM;
    copy = (char *)(items + n + 1);
    memcpy(copy, text, len + 1);
    n = 0;
    if (len) {
        items[n++] = copy;
        for (size_t i = 0; i < len; i++) {
            if (copy[i] == ',') {
                copy[i] = '\0';
                items[n++] = copy + i + 1;
            }
        }
    }
    items[n] = NULL;
    l->items = (const char **)items;
    l->count = n;
    *mem = items;
    return 0;
}

int mirage_key_parse_value(const struct mirage_key *k, const char *text, union mirage_key_value *v,
                           void **mem, char *err, size_t errsize)
{
    size_t len = strlen(text);
    int r;

    *mem = NULL;
    memset(v, 0, sizeof(*v));
    switch (k->type) {
    case MIRAGE_KEY_STRING:
        v->str = text;
        return 0;
    case MIRAGE_KEY_INT:
        return mirage_key_parse_int(text, len, k->min, k->max, &v->num, err, errsize);
    case MIRAGE_KEY_BOOL:
        return mirage_key_parse_bool(text, len, &v->flag, err, errsize);
    case MIRAGE_KEY_IPV4:
        v->ip.bits = 32;
        return mirage_key_parse_ipv4(text, len, v->ip.addr, err, errsize);
    case MIRAGE_KEY_IPV6:
        v->ip.bits = 128;
        return mirage_key_parse_ipv6(text, len, v->ip.addr, err, errsize);
    case MIRAGE_KEY_IPV4_PREFIX:
    case MIRAGE_KEY_IPV6_PREFIX:
        return mirage_key_parse_prefix(text, len, k->type == MIRAGE_KEY_IPV6_PREFIX, &v->ip, err,
                                       errsize);
    case MIRAGE_KEY_MAC:
        return mirage_key_parse_mac(text, len, v->mac, err, errsize);
    case MIRAGE_KEY_DURATION:
        return mirage_key_parse_duration(text, len, k->min, k->max, &v->num, err, errsize);
    case MIRAGE_KEY_LIST:
        r = parse_list(text, &v->list, mem);
        if (r < 0)
            return fail(err, errsize, r, "out of memory for the list '%.*s'", text, len);
        return 0;
    }
    return fail(err, errsize, MIRAGE_EINVAL, "unknown key type%.*s", "", 0);
}

int mirage_key_utf8_valid(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t need;
        uint32_t cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            goto invalid;
        if (len - i <= need)
            goto invalid;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                goto invalid;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto invalid;
        i += need + 1;
    }
    return 1;
invalid:
    if (bad)
        *bad = i;
    return 0;
}

int mirage_key_parse_ipv4_port(const char *s, size_t len, uint8_t addr[4], uint16_t *port,
                               char *err, size_t errsize)
{
    const char *colon = memchr(s, ':', len);
    size_t alen = colon ? (size_t)(colon - s) : len;
    int64_t p;
    int r;

    if ((r = mirage_key_parse_ipv4(s, alen, addr, err, errsize)) != 0)
        return r;
    if (colon == NULL)
        return 0;
    if (mirage_key_parse_int(colon + 1, len - alen - 1, 1, 65535, &p, NULL, 0) != 0)
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' has no port after its ':' (a number from 1 to 65535)", s, len);
    *port = (uint16_t)p;
    return 0;
}

int mirage_key_parse_ip_port(const char *s, size_t len, uint8_t addr[16], int *family,
                             uint16_t *port, char *err, size_t errsize)
{
    const char *close, *colon;
    size_t ncolons = 0;
    int64_t p;
    int r;

    if (len == 0 || s[0] != '[') {
        for (size_t i = 0; i < len; i++)
            ncolons += s[i] == ':';
        if (ncolons < 2) {
            *family = 4;
            return mirage_key_parse_ipv4_port(s, len, addr, port, err, errsize);
        }
        *family = 6; /* an IPv6 address with no port: its brackets may go */
        return mirage_key_parse_ipv6(s, len, addr, err, errsize);
    }
    close = memchr(s, ']', len);
    if (close == NULL)
        return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' has no ']' after its IPv6 address", s,
                    len);
    if ((r = mirage_key_parse_ipv6(s + 1, (size_t)(close - s - 1), addr, err, errsize)) != 0)
        return r;
    *family = 6;
    colon = close + 1;
    if (colon == s + len)
        return 0;
    if (*colon != ':')
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' has something other than ':PORT' after ']'", s, len);
    if (mirage_key_parse_int(colon + 1, (size_t)(s + len - colon - 1), 1, 65535, &p, NULL, 0) != 0)
        return fail(err, errsize, MIRAGE_EINVAL,
                    "'%.*s' has no port after its ':' (a number from 1 to 65535)", s, len);
    *port = (uint16_t)p;
    return 0;
}
