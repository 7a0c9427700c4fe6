/* zonefile.c: the RFC 1035 master file format read into records, every mistake named with
 * file:line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_internal.h"
#include "mirage/key.h"

#define INCLUDE_DEPTH 8
#define PATH_MAX_     1024

/* A token: raw text with its escapes, quotes removed from a quoted one. */
struct token {
    const char *p;
    size_t len;
    int quoted;
};

struct lexer {
    const char *p;
    size_t len, off;
    unsigned line;       /* the line the next byte is on */
    unsigned tokline;    /* the line of the last token */
    int paren;           /* inside '(' ... ')' */
    unsigned paren_line; /* where the '(' is */
    int eol;             /* the logical line has ended */
};

/* One parse: the caller's description, the file being read, scratch memory. */
struct parse {
    const struct mirage_dns_zonefile *zf;
    struct mirage_dns_zone_error *err;
    const char *file;
    struct lexer *lx;
    struct mirage_dns_name origin, owner;
    int have_owner;
    uint32_t ttl; /* $TTL */
    int have_ttl;
    uint32_t last_ttl; /* the last TTL given, for files without $TTL */
    int have_last;
    int depth;
    uint8_t rdata[65535];
};

static int error(struct parse *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int error(struct parse *ps, unsigned line, const char *fmt, ...)
{
    va_list ap;

    snprintf(ps->err->file, sizeof(ps->err->file), "%s", ps->file);
    ps->err->line = line;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return MIRAGE_EINVAL;
}

/* An error about token (t), quoting it (cut to 40 bytes). */
#define TOKFMT    "'%.*s'"
#define TOKARG(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->p

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next token of the logical line: 1, 0 at its end (the newline is
 * consumed; every later call gives 0 until lex_next_line), or an error. */
static int lex(struct parse *ps, struct token *t)
{
    struct lexer *lx = ps->lx;

    if (lx->eol)
        return 0;
    for (;;) {
        if (lx->off == lx->len) {
            if (lx->paren)
                return error(ps, lx->paren_line, "'(' not closed before the end of the file");
            lx->eol = 1;
            return 0;
        }
        char c = lx->p[lx->off];
        if (is_blank(c)) {
            lx->off++;
        } else if (c == ';') {
            while (lx->off < lx->len && lx->p[lx->off] != '\n')
                lx->off++;
        } else if (c == '\n') {
            lx->off++;
            lx->line++;
            if (!lx->paren) {
                lx->eol = 1;
                return 0;
            }
        } else if (c == '(') {
            if (lx->paren)
                return error(ps, lx->line, "'(' inside parentheses");
            lx->paren = 1;
            lx->paren_line = lx->line;
            lx->off++;
        } else if (c == ')') {
            if (!lx->paren)
                return error(ps, lx->line, "')' without '('");
            lx->paren = 0;
            lx->off++;
        } else {
            break;
        }
    }
    lx->tokline = lx->line;
    t->quoted = lx->p[lx->off] == '"';
    if (t->quoted)
        lx->off++;
    t->p = lx->p + lx->off;
    while (lx->off < lx->len) {
        char c = lx->p[lx->off];
        if (c == '\\') {
            if (lx->off + 1 == lx->len || lx->p[lx->off + 1] == '\n')
                return error(ps, lx->line, "'\\' at the end of a line");
            lx->off += 2;
            continue;
        }
        if (c == '\n' && t->quoted)
            return error(ps, lx->tokline, "quoted string not closed on its line");
        if (t->quoted
                ? c == '"'
                : (is_blank(c) || c == ';' || c == '(' || c == ')' || c == '\n' || c == '"')) {
            /* key="value" (SVCB parameters) is one token. */
            if (!t->quoted && c == '"' && lx->off > 0 && lx->p[lx->off - 1] == '=') {
                lx->off++;
                while (lx->off < lx->len && lx->p[lx->off] != '"' && lx->p[lx->off] != '\n')
                    lx->off += lx->p[lx->off] == '\\' && lx->off + 1 < lx->len ? 2 : 1;
                if (lx->off == lx->len || lx->p[lx->off] != '"')
                    return error(ps, lx->tokline, "quoted string not closed on its line");
                lx->off++;
                continue;
            }
            break;
        }
        lx->off++;
    }
    t->len = (size_t)(lx->p + lx->off - t->p);
    if (t->quoted) {
        if (lx->off == lx->len)
            return error(ps, lx->tokline, "quoted string not closed before the end of the file");
        lx->off++;
    }
    return 1;
}

/* Starts the next logical line: 1 if it starts with a blank (the previous
 * owner goes on), 0 if not, -1 at the end of the file. */
static int lex_next_line(struct lexer *lx)
{
    lx->eol = 0;
    if (lx->off == lx->len)
        return -1;
    return is_blank(lx->p[lx->off]);
}

/* A token that must be there. */
static int need(struct parse *ps, struct token *t, const char *what)
{
    int rc = lex(ps, t);
    if (rc == 0)
        return error(ps, ps->lx->tokline, "%s missing", what);
    return rc < 0 ? rc : 0;
}

/* The end of the record: nothing may follow. */
static int end_of_record(struct parse *ps)
{
    struct token t;
    int rc = lex(ps, &t);
    if (rc > 0)
        return error(ps, ps->lx->tokline, "unexpected " TOKFMT " after the record", TOKARG(&t));
    return rc;
}

/* A TTL: seconds, or numbers with units w, d, h, m, s ("1h30m", "3H"). */
static int parse_ttl(const struct token *t, uint32_t *out)
{
    uint64_t total = 0, n = 0;
    int digits = 0, units = 0;

    if (t->quoted || t->len == 0)
        return -1;
    for (size_t i = 0; i < t->len; i++) {
        char c = t->p[i];
        if (c >= '0' && c <= '9') {
            n = n * 10 + (uint64_t)(c - '0');
            digits++;
            if (n > 0xffffffffu)
                return -2;
            continue;
        }
        uint64_t mult;
        switch (c | 0x20) {
        case 'w':
            mult = 604800;
            break;
        case 'd':
            mult = 86400;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'm':
            mult = 60;
            break;
        case 's':
            mult = 1;
            break;
        default:
            return -1;
        }
        if (!digits)
            return -1;
        total += n * mult;
        n = 0;
        digits = 0;
        units++;
        if (total > 0xffffffffu)
            return -2;
    }
    if (digits && units)
        return -1; /* "1h30": a number after a unit needs its own unit */
    if (!digits && !units)
        return -1;
    total += n;
    if (total > 0x7fffffffu)
        return -2; /* RFC 2181 8 */
    *out = (uint32_t)total;
    return 0;
}

static int ttl_field(struct parse *ps, const struct token *t, uint32_t *out, const char *what)
{
    int rc = parse_ttl(t, out);
    if (rc == -2)
        return error(ps, ps->lx->tokline, "%s " TOKFMT " over 2147483647 seconds", what, TOKARG(t));
    if (rc < 0)
        return error(ps, ps->lx->tokline,
                     "%s " TOKFMT " is not a number of seconds or units "
                     "(1w2d3h4m5s)",
                     what, TOKARG(t));
    return 0;
}

static int number(struct parse *ps, const struct token *t, uint64_t max, uint64_t *out,
                  const char *what)
{
    int64_t v;
    char why[160];

    if (mirage_key_parse_int(t->p, t->len, 0, (int64_t)max, &v, why, sizeof(why)) < 0 ||
        t->quoted || (t->len > 0 && (t->p[0] == '+' || t->p[0] == '-')))
        return error(ps, ps->lx->tokline, "%s " TOKFMT " is not a number 0..%llu", what, TOKARG(t),
                     (unsigned long long)max);
    *out = (uint64_t)v;
    return 0;
}

static int field_u(struct parse *ps, struct mirage_wr *w, int bytes, const char *what)
{
    struct token t;
    uint64_t v;
    int rc;

    if ((rc = need(ps, &t, what)) < 0 ||
        (rc = number(ps, &t, (1ull << (8 * bytes)) - 1, &v, what)) < 0)
        return rc;
    mirage_wr_uint_(w, v, (size_t)bytes, 0);
    return 0;
}

/* A name: '@' is the origin, a relative one gets the origin. */
static int name_of(struct parse *ps, const struct token *t, struct mirage_dns_name *n,
                   const char *what)
{
    const char *why = NULL;

    if (t->len == 1 && t->p[0] == '@' && !t->quoted) {
        *n = ps->origin;
        return 0;
    }
    if (mirage_dns_name_from_text(n, t->p, t->len, &ps->origin, &why) < 0)
        return error(ps, ps->lx->tokline, "%s " TOKFMT ": %s", what, TOKARG(t), why);
    return 0;
}

static int field_name(struct parse *ps, struct mirage_wr *w, const char *what)
{
    struct token t;
    struct mirage_dns_name n;
    int rc;

    if ((rc = need(ps, &t, what)) < 0 || (rc = name_of(ps, &t, &n, what)) < 0)
        return rc;
    mirage_wr_bytes(w, n.wire, n.len);
    return 0;
}

/* Unescapes (t) (\X, \DDD) into (out, cap); the length, or -1. */
static long unescape(const struct token *t, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < t->len; i++) {
        uint8_t c = (uint8_t)t->p[i];
        if (c == '\\') {
            if (++i == t->len)
                return -1;
            c = (uint8_t)t->p[i];
            if (c >= '0' && c <= '9') {
                if (i + 2 >= t->len + 0 || t->p[i + 1] < '0' || t->p[i + 1] > '9' ||
                    t->p[i + 2] < '0' || t->p[i + 2] > '9')
                    return -1;
                unsigned v = (unsigned)(c - '0') * 100 + (unsigned)(t->p[i + 1] - '0') * 10 +
                             (unsigned)(t->p[i + 2] - '0');
                if (v > 255)
                    return -1;
                c = (uint8_t)v;
                i += 2;
            }
        }
        if (n == cap)
            return -2;
        out[n++] = c;
    }
    return (long)n;
}

/* A character string: a length byte, then the bytes. */
static int char_string(struct parse *ps, const struct token *t, struct mirage_wr *w)
{
    uint8_t buf[256];
    long n = unescape(t, buf, 255);

    if (n == -2)
        return error(ps, ps->lx->tokline, "character string " TOKFMT "... over 255 bytes",
                     TOKARG(t));
    if (n < 0)
        return error(ps, ps->lx->tokline, "bad escape in " TOKFMT, TOKARG(t));
    mirage_wr_u8(w, (uint8_t)n);
    mirage_wr_bytes(w, buf, (size_t)n);
    return 0;
}

/* Hex digits to the end of the record, in any number of tokens; at least one
 * byte when (nonempty). */
static int hex_rest(struct parse *ps, struct mirage_wr *w, int nonempty, const char *what)
{
    struct token t;
    int rc, nibble = -1;
    size_t start = w->off;

    while ((rc = lex(ps, &t)) > 0) {
        for (size_t i = 0; i < t.len; i++) {
            int v = mirage_hex_value(t.p[i]);
            if (v < 0 || t.quoted)
                return error(ps, ps->lx->tokline, "%s " TOKFMT " is not hexadecimal", what,
                             TOKARG(&t));
            if (nibble < 0) {
                nibble = v;
            } else {
                mirage_wr_u8(w, (uint8_t)(nibble << 4 | v));
                nibble = -1;
            }
        }
    }
    if (rc < 0)
        return rc;
    if (nibble >= 0)
        return error(ps, ps->lx->tokline, "%s has an odd number of hex digits", what);
    if (nonempty && w->off == start)
        return error(ps, ps->lx->tokline, "%s missing", what);
    return 0;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 4648 base64 (padding required to a multiple of 4). */
int dns_base64(const uint8_t *s, size_t len, struct mirage_wr *w)
{
    uint32_t acc = 0;
    size_t pad = 0;

    if (len == 0 || len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value((char)s[i]);
        if (s[i] == '=' && i >= len - 2) {
            pad++;
            v = 0;
        } else if (v < 0 || pad) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            uint8_t b[3] = {(uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc};
            mirage_wr_bytes(w, b, 3 - (i == len - 1 ? pad : 0));
            acc = 0;
        }
    }
    return 0;
}

/* ---- SVCB and HTTPS parameters (RFC 9460 2.1) ------------------------------ */

static const char *const svc_keys[] = {"mandatory", "alpn", "no-default-alpn", "port",
                                       "ipv4hint",  "ech",  "ipv6hint"};

static long svc_key(const char *p, size_t len)
{
    for (size_t i = 0; i < sizeof(svc_keys) / sizeof(svc_keys[0]); i++)
        if (strlen(svc_keys[i]) == len && memcmp(svc_keys[i], p, len) == 0)
            return (long)i;
    if (len > 3 && len <= 8 && memcmp(p, "key", 3) == 0) {
        long v = 0;
        for (size_t i = 3; i < len; i++) {
            if (p[i] < '0' || p[i] > '9')
                return -1;
            v = v * 10 + (p[i] - '0');
        }
        if (p[3] == '0' && len > 4)
            return -1;
        return v < 65535 ? v : -1;
    }
    return -1;
}

struct svc_param {
    uint16_t key;
    uint16_t len;
    size_t at; /* in the value scratch */
};

/* Splits an unescaped value at commas not escaped as "\,"; (fn) gets each item. */
static int svc_value(struct parse *ps, long key, const uint8_t *v, size_t len, struct mirage_wr *w)
{
    uint8_t item[256];
    size_t n = 0;

    if (key == 2) /* no-default-alpn */
        return len == 0 ? 0 : error(ps, ps->lx->tokline, "no-default-alpn takes no value");
    if (key == 3) {
        struct token t = {(const char *)v, len, 0};
        uint64_t port;
        int rc = number(ps, &t, 65535, &port, "port");
        if (rc == 0)
            mirage_wr_be16(w, (uint16_t)port);
        return rc;
    }
    if (key == 5) {
        if (dns_base64(v, len, w) < 0)
            return error(ps, ps->lx->tokline, "ech is not base64");
        return 0;
    }
    if (key > 6) {
        mirage_wr_bytes(w, v, len);
        return 0;
    }
    if (len == 0)
        return error(ps, ps->lx->tokline, "%s needs a value", svc_keys[key]);
    for (size_t i = 0; i <= len; i++) {
        if (i < len && v[i] == '\\' && i + 1 < len) {
            if (n < sizeof(item))
                item[n++] = v[++i];
            continue;
        }
        if (i < len && v[i] != ',') {
            if (n < sizeof(item))
                item[n++] = v[i];
            continue;
        }
        char why[160];
        if (n == sizeof(item) || n == 0)
            return error(ps, ps->lx->tokline, "%s: an empty or over-long item", svc_keys[key]);
        if (key == 0) {
            long k = svc_key((const char *)item, n);
            if (k < 0 || k == 0)
                return error(ps, ps->lx->tokline, "mandatory: '%.*s' is not a key", (int)n,
                             (const char *)item);
            mirage_wr_be16(w, (uint16_t)k);
        } else if (key == 1) {
            mirage_wr_u8(w, (uint8_t)n);
            mirage_wr_bytes(w, item, n);
        } else if (key == 4) {
            uint8_t a[4];
            if (mirage_key_parse_ipv4((const char *)item, n, a, why, sizeof(why)) < 0)
                return error(ps, ps->lx->tokline, "ipv4hint: %s", why);
            mirage_wr_bytes(w, a, 4);
        } else {
            uint8_t a[16];
            if (mirage_key_parse_ipv6((const char *)item, n, a, why, sizeof(why)) < 0)
                return error(ps, ps->lx->tokline, "ipv6hint: %s", why);
            mirage_wr_bytes(w, a, 16);
        }
        n = 0;
    }
    return 0;
}

static int rdata_svcb(struct parse *ps, struct mirage_wr *w)
{
    struct svc_param params[64];
    /* Values as written, then the one being read. */
    uint8_t *vals = malloc(2 * 65535), *raw = vals + 65535;
    struct mirage_wr vw = mirage_wr_init(vals, vals ? 65535 : 0);
    size_t np = 0;
    struct token t;
    int rc;

    if (vals == NULL)
        return error(ps, ps->lx->tokline, "out of memory");
    if ((rc = field_u(ps, w, 2, "SVCB priority")) < 0 ||
        (rc = field_name(ps, w, "SVCB target")) < 0)
        goto out;
    while ((rc = lex(ps, &t)) > 0) {
        const char *eq = memchr(t.p, '=', t.len);
        size_t klen = eq ? (size_t)(eq - t.p) : t.len;
        long key = svc_key(t.p, klen);
        if (key < 0) {
            rc = error(ps, ps->lx->tokline, "unknown SvcParam key '%.*s'", (int)klen, t.p);
            goto out;
        }
        if (np == sizeof(params) / sizeof(params[0])) {
            rc = error(ps, ps->lx->tokline, "more than 64 SvcParams");
            goto out;
        }
        struct token v = {eq ? eq + 1 : "", eq ? t.len - klen - 1 : 0, 0};
        if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
            v.p++;
            v.len -= 2;
        }
        long n = unescape(&v, raw, 65535);
        /* The list forms keep "\," for svc_value to split on. */
        if (key == 0 || key == 1 || key == 4 || key == 6) {
            n = v.len <= 65535 ? (long)v.len : -1;
            if (n >= 0)
                memcpy(raw, v.p, (size_t)n);
        }
        if (n < 0) {
            rc = error(ps, ps->lx->tokline, "bad escape or over-long value in " TOKFMT, TOKARG(&t));
            goto out;
        }
        params[np].key = (uint16_t)key;
        params[np].at = vw.off;
        if ((rc = svc_value(ps, key, raw, (size_t)n, &vw)) < 0)
            goto out;
        params[np].len = (uint16_t)(vw.off - params[np].at);
        for (size_t i = 0; i < np; i++)
            if (params[i].key == key) {
                rc = error(ps, ps->lx->tokline, "SvcParam key '%.*s' given twice", (int)klen, t.p);
                goto out;
            }
        np++;
    }
    if (rc < 0)
        goto out;
    /* Written in ascending key order. */
    for (size_t i = 1; i < np; i++)
        for (size_t j = i; j > 0 && params[j - 1].key > params[j].key; j--) {
            struct svc_param tmp = params[j];
            params[j] = params[j - 1];
            params[j - 1] = tmp;
        }
    for (size_t i = 0; i < np; i++) {
        mirage_wr_be16(w, params[i].key);
        mirage_wr_be16(w, params[i].len);
        mirage_wr_bytes(w, vals + params[i].at, params[i].len);
    }
    rc = 0;
out:
    free(vals);
    return rc;
}

/* ---- records --------------------------------------------------------------- */

/* RFC 3597's generic form: \# LENGTH HEX... */
static int rdata_generic(struct parse *ps, struct mirage_wr *w)
{
    struct token t;
    uint64_t len;
    int rc;

    if ((rc = need(ps, &t, "\\# length")) < 0 ||
        (rc = number(ps, &t, 65535, &len, "\\# length")) < 0)
        return rc;
    if ((rc = hex_rest(ps, w, 0, "\\# data")) < 0)
        return rc;
    if (w->bad || w->off != len)
        return error(ps, ps->lx->tokline, "\\# says %llu bytes, the data has %zu",
                     (unsigned long long)len, w->bad ? (size_t)65535 : w->off);
    return 0;
}

static int rdata_text(struct parse *ps, uint16_t type, struct mirage_wr *w)
{
    struct token t;
    char why[160];
    int rc = 0;

    if (dns_rdata_one_name(type)) {
        if ((rc = field_name(ps, w, "target name")) < 0)
            return rc;
        return end_of_record(ps);
    }
    switch (type) {
    case MIRAGE_DNS_A: {
        uint8_t a[4];
        if ((rc = need(ps, &t, "A address")) < 0)
            return rc;
        if (mirage_key_parse_ipv4(t.p, t.len, a, why, sizeof(why)) < 0)
            return error(ps, ps->lx->tokline, "%s", why);
        mirage_wr_bytes(w, a, 4);
        return end_of_record(ps);
    }
    case MIRAGE_DNS_AAAA: {
        uint8_t a[16];
        if ((rc = need(ps, &t, "AAAA address")) < 0)
            return rc;
        if (mirage_key_parse_ipv6(t.p, t.len, a, why, sizeof(why)) < 0)
            return error(ps, ps->lx->tokline, "%s", why);
        mirage_wr_bytes(w, a, 16);
        return end_of_record(ps);
    }
    case MIRAGE_DNS_MINFO:
        if ((rc = field_name(ps, w, "MINFO rmailbx")) < 0 ||
            (rc = field_name(ps, w, "MINFO emailbx")) < 0)
            return rc;
        return end_of_record(ps);
    case MIRAGE_DNS_SOA: {
        static const char *const fields[] = {"SOA refresh", "SOA retry", "SOA expire",
                                             "SOA minimum"};
        uint32_t v;
        if ((rc = field_name(ps, w, "SOA mname")) < 0 ||
            (rc = field_name(ps, w, "SOA rname")) < 0 || (rc = field_u(ps, w, 4, "SOA serial")) < 0)
            return rc;
        for (int i = 0; i < 4; i++) {
            if ((rc = need(ps, &t, fields[i])) < 0 || (rc = ttl_field(ps, &t, &v, fields[i])) < 0)
                return rc;
            mirage_wr_be32(w, v);
        }
        return end_of_record(ps);
    }
    case MIRAGE_DNS_MX:
        if ((rc = field_u(ps, w, 2, "MX preference")) < 0 ||
            (rc = field_name(ps, w, "MX exchange")) < 0)
            return rc;
        return end_of_record(ps);
    case MIRAGE_DNS_SRV:
        if ((rc = field_u(ps, w, 2, "SRV priority")) < 0 ||
            (rc = field_u(ps, w, 2, "SRV weight")) < 0 ||
            (rc = field_u(ps, w, 2, "SRV port")) < 0 || (rc = field_name(ps, w, "SRV target")) < 0)
            return rc;
        return end_of_record(ps);
    case MIRAGE_DNS_TXT:
        if ((rc = need(ps, &t, "TXT string")) < 0)
            return rc;
        do {
            if ((rc = char_string(ps, &t, w)) < 0)
                return rc;
        } while ((rc = lex(ps, &t)) > 0);
        return rc;
    case MIRAGE_DNS_CAA: {
        uint8_t buf[256];
        long n;
        if ((rc = field_u(ps, w, 1, "CAA flags")) < 0 || (rc = need(ps, &t, "CAA tag")) < 0)
            return rc;
        if (t.len == 0 || t.len > 15 || t.quoted)
            return error(ps, ps->lx->tokline, "CAA tag " TOKFMT " not 1 to 15 letters or digits",
                         TOKARG(&t));
        mirage_wr_u8(w, (uint8_t)t.len);
        mirage_wr_bytes(w, t.p, t.len);
        if ((rc = need(ps, &t, "CAA value")) < 0)
            return rc;
        if ((n = unescape(&t, buf, sizeof(buf))) < 0)
            return error(ps, ps->lx->tokline, "bad escape or over-long CAA value");
        mirage_wr_bytes(w, buf, (size_t)n);
        return end_of_record(ps);
    }
    case MIRAGE_DNS_TLSA:
        if ((rc = field_u(ps, w, 1, "TLSA usage")) < 0 ||
            (rc = field_u(ps, w, 1, "TLSA selector")) < 0 ||
            (rc = field_u(ps, w, 1, "TLSA matching type")) < 0)
            return rc;
        return hex_rest(ps, w, 1, "TLSA data");
    case MIRAGE_DNS_SSHFP:
        if ((rc = field_u(ps, w, 1, "SSHFP algorithm")) < 0 ||
            (rc = field_u(ps, w, 1, "SSHFP type")) < 0)
            return rc;
        return hex_rest(ps, w, 1, "SSHFP fingerprint");
    case MIRAGE_DNS_SVCB:
    case MIRAGE_DNS_HTTPS:
        return rdata_svcb(ps, w);
    default: {
        char tn[16];
        return error(ps, ps->lx->tokline, "%s needs the generic form \\# LENGTH HEX",
                     mirage_dns_type_name(type, tn, sizeof(tn)));
    }
    }
}

static int parse_file(struct parse *ps, const char *file, const char *text, size_t len);

static int directive(struct parse *ps, const struct token *t)
{
    struct token a, b;
    int rc;
    unsigned line = ps->lx->tokline;

    if (t->len == 7 && strncasecmp(t->p, "$ORIGIN", 7) == 0) {
        struct mirage_dns_name n;
        if ((rc = need(ps, &a, "$ORIGIN name")) < 0 || (rc = name_of(ps, &a, &n, "$ORIGIN")) < 0)
            return rc;
        ps->origin = n;
        return end_of_record(ps);
    }
    if (t->len == 4 && strncasecmp(t->p, "$TTL", 4) == 0) {
        if ((rc = need(ps, &a, "$TTL value")) < 0 || (rc = ttl_field(ps, &a, &ps->ttl, "$TTL")) < 0)
            return rc;
        ps->have_ttl = 1;
        return end_of_record(ps);
    }
    if (t->len == 8 && strncasecmp(t->p, "$INCLUDE", 8) == 0) {
        char path[PATH_MAX_ + 1];
        if ((rc = need(ps, &a, "$INCLUDE file")) < 0)
            return rc;
        long n = unescape(&a, (uint8_t *)path, sizeof(path) - 1);
        if (n <= 0)
            return error(ps, line, "$INCLUDE file name " TOKFMT " empty, too long or badly escaped",
                         TOKARG(&a));
        path[n] = '\0';
        struct mirage_dns_name saved = ps->origin, origin = ps->origin;
        if ((rc = lex(ps, &b)) < 0)
            return rc;
        if (rc > 0) {
            if ((rc = name_of(ps, &b, &origin, "$INCLUDE origin")) < 0 ||
                (rc = end_of_record(ps)) < 0)
                return rc;
        }
        if (ps->zf->include == NULL)
            return error(ps, line, "$INCLUDE %s: this zone's source allows no $INCLUDE", path);
        if (ps->depth == INCLUDE_DEPTH)
            return error(ps, line, "$INCLUDE %s: nested deeper than %d files", path, INCLUDE_DEPTH);
        char *inc = NULL;
        size_t inclen = 0;
        char why[160] = "";
        if (ps->zf->include(ps->zf->arg, path, &inc, &inclen, why, sizeof(why)) < 0)
            return error(ps, line, "$INCLUDE %s: %s", path, why);
        /* The included file has its own origin, lexer and owner; ours come back after. */
        struct lexer *outer = ps->lx;
        const char *outer_file = ps->file;
        struct mirage_dns_name outer_owner = ps->owner;
        int outer_have_owner = ps->have_owner;
        char incname[PATH_MAX_ + 1];
        snprintf(incname, sizeof(incname), "%s", path);
        ps->origin = origin;
        ps->depth++;
        rc = parse_file(ps, incname, inc, inclen);
        ps->depth--;
        free(inc);
        if (rc < 0)
            return rc;
        ps->lx = outer;
        ps->file = outer_file;
        ps->origin = saved;
        ps->owner = outer_owner;
        ps->have_owner = outer_have_owner;
        return 0;
    }
    return error(ps, line, "unknown directive " TOKFMT " (known: $ORIGIN, $TTL, $INCLUDE)",
                 TOKARG(t));
}

static int is_ttl_token(const struct token *t)
{
    return !t->quoted && t->len > 0 && t->p[0] >= '0' && t->p[0] <= '9';
}

static int is_class_token(const struct token *t)
{
    static const char *const classes[] = {"IN", "CH", "CS", "HS", "NONE", "ANY"};
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (t->len == strlen(classes[i]) && strncasecmp(t->p, classes[i], t->len) == 0)
            return 1;
    return t->len > 5 && strncasecmp(t->p, "CLASS", 5) == 0;
}

static int record(struct parse *ps, int blank, struct token *t)
{
    struct mirage_dns_rr rr;
    int rc, have_ttl = 0, have_class = 0;
    unsigned line = ps->lx->tokline;
    char tn[16];

    if (!blank) {
        if ((rc = name_of(ps, t, &ps->owner, "owner")) < 0)
            return rc;
        ps->have_owner = 1;
        if ((rc = need(ps, t, "record type")) < 0)
            return rc;
    } else if (!ps->have_owner) {
        return error(ps, line, "a record starting with a blank needs an owner before it");
    }
    rr.name = ps->owner;
    rr.ttl = ps->ttl;
    for (int i = 0; i < 2; i++) {
        if (!have_ttl && is_ttl_token(t)) {
            if ((rc = ttl_field(ps, t, &rr.ttl, "TTL")) < 0)
                return rc;
            have_ttl = 1;
        } else if (!have_class && is_class_token(t)) {
            if (!(t->len == 2 && strncasecmp(t->p, "IN", 2) == 0))
                return error(ps, line, "class " TOKFMT " not served (only IN)", TOKARG(t));
            have_class = 1;
        } else {
            break;
        }
        if ((rc = need(ps, t, "record type")) < 0)
            return rc;
    }
    int type = mirage_dns_type_from_name(t->p, t->len);
    if (type < 0 || t->quoted)
        return error(ps, line, "unknown record type " TOKFMT, TOKARG(t));
    rr.type = (uint16_t)type;
    if (type == MIRAGE_DNS_OPT || type == MIRAGE_DNS_TSIG || type == MIRAGE_DNS_AXFR ||
        type == MIRAGE_DNS_IXFR || type == MIRAGE_DNS_ANY || type == 0)
        return error(ps, line, "%s cannot be in a zone",
                     mirage_dns_type_name(rr.type, tn, sizeof(tn)));
    if (!have_ttl) {
        if (!ps->have_ttl && !ps->have_last)
            return error(ps, line, "no TTL: give one or a $TTL before");
        rr.ttl = ps->have_ttl ? ps->ttl : ps->last_ttl; /* RFC 1035: the last TTL goes on */
    } else {
        ps->last_ttl = rr.ttl;
        ps->have_last = 1;
    }
    rr.rclass = MIRAGE_DNS_CLASS_IN;

    struct mirage_wr w = mirage_wr_init(ps->rdata, sizeof(ps->rdata));
    struct token g;
    const char *why = NULL;
    /* Peek for the generic form without losing the lexer's place. */
    struct lexer save = *ps->lx;
    rc = lex(ps, &g);
    if (rc < 0)
        return rc;
    if (rc > 0 && !g.quoted && g.len == 2 && memcmp(g.p, "\\#", 2) == 0) {
        if ((rc = rdata_generic(ps, &w)) < 0)
            return rc;
    } else {
        *ps->lx = save;
        if ((rc = rdata_text(ps, rr.type, &w)) < 0)
            return rc;
    }
    if (w.bad)
        return error(ps, line, "%s RDATA over 65535 bytes",
                     mirage_dns_type_name(rr.type, tn, sizeof(tn)));
    if (mirage_dns_rdata_check(rr.type, ps->rdata, w.off, &why) < 0)
        return error(ps, line, "%s: %s", mirage_dns_type_name(rr.type, tn, sizeof(tn)), why);
    rr.rdata = ps->rdata;
    rr.rdlen = (uint16_t)w.off;
    char msg[sizeof(ps->err->msg)] = "";
    if ((rc = ps->zf->record(ps->zf->arg, &rr, ps->file, line, msg, sizeof(msg))) < 0)
        return error(ps, line, "%s", msg[0] ? msg : mirage_strerror(rc));
    return 0;
}

static int parse_file(struct parse *ps, const char *file, const char *text, size_t len)
{
    struct lexer lx = {.p = text, .len = len, .line = 1, .tokline = 1};
    struct token t;
    int blank, rc;

    ps->lx = &lx;
    ps->file = file;
    while ((blank = lex_next_line(&lx)) >= 0) {
        if ((rc = lex(ps, &t)) < 0)
            return rc;
        if (rc == 0)
            continue; /* an empty or comment line */
        ps->err->line = lx.tokline;
        if (!blank && !t.quoted && t.len > 0 && t.p[0] == '$')
            rc = directive(ps, &t);
        else
            rc = record(ps, blank, &t);
        if (rc < 0)
            return rc;
        ps->lx = &lx;
        ps->file = file;
        /* A record consumed its line's end; skip what a directive left. */
        while ((rc = lex(ps, &t)) > 0)
            ;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mirage_dns_zonefile_parse(const struct mirage_dns_zonefile *zf, const char *file,
                              const char *text, size_t len, struct mirage_dns_zone_error *err)
{
    struct parse *ps = malloc(sizeof(*ps));
    int rc;

    memset(err, 0, sizeof(*err));
    if (ps == NULL) {
        snprintf(err->file, sizeof(err->file), "%s", file);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return MIRAGE_ENOMEM;
    }
    ps->zf = zf;
    ps->err = err;
    ps->origin = zf->origin;
    ps->have_owner = 0;
    ps->ttl = 0;
    ps->have_ttl = 0;
    ps->have_last = 0;
    ps->last_ttl = 0;
    ps->depth = 0;
    rc = parse_file(ps, file, text, len);
    free(ps);
    return rc;
}
