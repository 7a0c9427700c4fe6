/* key.c: the typed boot-key parsers, the option loop over argv, --help and usage errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/platform.h"

#define ERR_MAX 200

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

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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
        while (i < len && hex_value(s[i]) >= 0 && i - start < 5)
            v = (v << 4) | (unsigned)hex_value(s[i++]);
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
        int hi = hex_value(s[3 * b]), lo = hex_value(s[3 * b + 1]);

        if (hi < 0 || lo < 0 || (b < 5 && s[3 * b + 2] != ':'))
            return fail(err, errsize, MIRAGE_EINVAL,
                        "'%.*s' is not a MAC address (six hex pairs separated by ':')", s, len);
        out[b] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int parse_prefix(const char *s, size_t len, int v6, struct mirage_key_ip *ip, char *err,
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
    if (r < 0 || (slash[1] == '-' || slash[1] == '+'))
        return fail(err, errsize, r < 0 ? r : MIRAGE_EINVAL,
                    v6 ? "'%.*s' has a bad prefix length (0 to 128)"
                       : "'%.*s' has a bad prefix length (0 to 32)",
                    s, len);
    ip->bits = (uint8_t)bits;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return MIRAGE_EINVAL;
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

int mirage_key_parse_value(const struct mirage_key *k, const char *text,
                           union mirage_key_value *v, void **mem, char *err, size_t errsize)
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
        if (parse_bool(text, &v->flag) < 0)
            return fail(err, errsize, MIRAGE_EINVAL, "'%.*s' is not true or false", text, len);
        return 0;
    case MIRAGE_KEY_IPV4:
        v->ip.bits = 32;
        return mirage_key_parse_ipv4(text, len, v->ip.addr, err, errsize);
    case MIRAGE_KEY_IPV6:
        v->ip.bits = 128;
        return mirage_key_parse_ipv6(text, len, v->ip.addr, err, errsize);
    case MIRAGE_KEY_IPV4_PREFIX:
    case MIRAGE_KEY_IPV6_PREFIX:
        return parse_prefix(text, len, k->type == MIRAGE_KEY_IPV6_PREFIX, &v->ip, err, errsize);
    case MIRAGE_KEY_MAC:
        return mirage_key_parse_mac(text, len, v->mac, err, errsize);
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

/* ---- the option loop ---------------------------------------------------- */

static void out(const char *s)
{
    mirage_console_write(s, strlen(s));
}

__attribute__((format(printf, 1, 2))) static void outf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        mirage_console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static const char *const type_meta[] = {"STRING", "INT",  "BOOL",   "IPV4", "IPV4/LEN",
                                        "IPV6",   "IPV6/LEN", "MAC", "A,B,..."};

static int usage(const char *prog, const char *what)
{
    outf("%s: %s\n", prog, what);
    outf("Try '%s --help' for more information.\n", prog);
    return MIRAGE_EXIT_USAGE;
}

static const char *section_of(const struct mirage_key *k)
{
    return k->section ? k->section : "APPLICATION OPTIONS";
}

static void list_source(const struct mirage_log_src *src, void *arg)
{
    (void)arg;
    outf("           %s: %s\n", src->name, src->doc ? src->doc : "");
}

static void help(const char *prog, struct mirage_key *const *keys)
{
    size_t n = 0;

    while (keys && keys[n])
        n++;
    outf("NAME\n       %s - a MirageOS unikernel\n\nSYNOPSIS\n       %s [OPTION]...\n", prog,
         prog);
    /* Sections in the order they first appear, each key under its own. */
    for (size_t i = 0; i < n; i++) {
        int seen = 0;

        for (size_t j = 0; j < i; j++)
            seen |= strcmp(section_of(keys[j]), section_of(keys[i])) == 0;
        if (seen)
            continue;
        outf("\n%s\n", section_of(keys[i]));
        for (size_t j = i; j < n; j++) {
            const struct mirage_key *k = keys[j];

            if (strcmp(section_of(k), section_of(keys[i])) != 0)
                continue;
            if (k->type == MIRAGE_KEY_BOOL)
                outf("       --%s[=BOOL]", k->name);
            else
                outf("       --%s=%s", k->name, type_meta[k->type]);
            if (k->type == MIRAGE_KEY_INT)
                outf(" (%lld..%lld)", (long long)k->min, (long long)k->max);
            if (k->def)
                outf(" (default: %s)\n", k->def[0] ? k->def : "\"\"");
            else
                out(" (no default)\n");
            if (k->doc)
                outf("           %s\n", k->doc);
        }
    }
    out("\nCOMMON OPTIONS\n"
        "       -l LEVELS, --logs=LEVELS (default: info)\n"
        "           Log levels: LEVEL, *:LEVEL or SOURCE:LEVEL, comma-separated, with LEVEL one\n"
        "           of quiet, app, error, warning, info, debug. Sources:\n");
    mirage_log_each(list_source, NULL);
    out("       --help\n           Show this help and exit with status 63.\n\n"
        "EXIT STATUS\n       0 on success, 1 on failure, 63 after --help, 64 for a bad argument,\n"
        "       255 when the unikernel aborts.\n");
}

static struct mirage_key *find_key(struct mirage_key *const *keys, const char *name, size_t len)
{
    for (size_t i = 0; keys && keys[i]; i++)
        if (strlen(keys[i]->name) == len && strncmp(keys[i]->name, name, len) == 0)
            return keys[i];
    return NULL;
}

static int set_key(const char *prog, struct mirage_key *k, const char *text, int from_default)
{
    char err[ERR_MAX], msg[ERR_MAX + 120];
    union mirage_key_value v;
    void *mem;
    int r = mirage_key_parse_value(k, text, &v, &mem, err, sizeof(err));

    if (r < 0) {
        snprintf(msg, sizeof(msg), "%s '--%s': %s", from_default ? "the default of" : "option",
                 k->name, err);
        return usage(prog, msg);
    }
    free(k->mem_);
    k->mem_ = mem;
    k->v = v;
    k->has_value = 1;
    return 0;
}

static int set_logs(const char *prog, const char *spec)
{
    char err[ERR_MAX], msg[ERR_MAX + 40];

    if (mirage_log_set(spec, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg), "option '--logs': %s", err);
        return usage(prog, msg);
    }
    return 0;
}

int mirage_key_parse_args(int argc, char **argv, struct mirage_key *const *keys)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : "unikernel";
    char msg[ERR_MAX + 120];
    int r;

    for (size_t i = 0; keys && keys[i]; i++) {
        keys[i]->set = 0;
        keys[i]->has_value = 0;
    }
    for (int i = 1; i < argc; i++) {
        size_t bad;

        if (!mirage_key_utf8_valid(argv[i], strlen(argv[i]), &bad)) {
            snprintf(msg, sizeof(msg), "argument %d is not valid UTF-8 (byte %zu)", i, bad + 1);
            return usage(prog, msg);
        }
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0) {
            help(prog, keys);
            return MIRAGE_EXIT_HELP;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *value;
        struct mirage_key *k;
        size_t nlen;

        if (strcmp(a, "-l") == 0 || strcmp(a, "--logs") == 0) {
            if (i + 1 >= argc)
                return usage(prog, "option '--logs' needs a value");
            if ((r = set_logs(prog, argv[++i])) != 0)
                return r;
            continue;
        }
        if (strncmp(a, "--logs=", 7) == 0 || (strncmp(a, "-l", 2) == 0 && a[2] != '\0')) {
            if ((r = set_logs(prog, a + (a[1] == 'l' ? 2 : 7))) != 0)
                return r;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            snprintf(msg, sizeof(msg), "unexpected argument '%.80s'", a);
            return usage(prog, msg);
        }
        name = a + 2;
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        k = find_key(keys, name, nlen);
        if (k == NULL) {
            snprintf(msg, sizeof(msg), "unknown option '--%.*s'", (int)(nlen > 80 ? 80 : nlen),
                     name);
            return usage(prog, msg);
        }
        if (k->set) {
            snprintf(msg, sizeof(msg), "option '--%s' is given twice", k->name);
            return usage(prog, msg);
        }
        if (eq)
            value = eq + 1;
        else if (k->type == MIRAGE_KEY_BOOL)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            snprintf(msg, sizeof(msg), "option '--%s' needs a value", k->name);
            return usage(prog, msg);
        }
        if ((r = set_key(prog, k, value, 0)) != 0)
            return r;
        k->set = 1;
    }
    for (size_t i = 0; keys && keys[i]; i++)
        if (!keys[i]->set && keys[i]->def && (r = set_key(prog, keys[i], keys[i]->def, 1)) != 0)
            return r;
    return 0;
}

/* ---- the standard network keys --------------------------------------------- */

#define NET_KEY(var, n, t, d, dc)                                                                  \
    struct mirage_key var = {                                                                      \
        .name = (n), .type = (t), .def = (d), .doc = (dc), .section = "NETWORK OPTIONS"}

NET_KEY(mirage_key_ipv4, "ipv4", MIRAGE_KEY_IPV4_PREFIX, "10.0.0.2/24",
        "The IPv4 address and network of the unikernel.");
NET_KEY(mirage_key_ipv4_gateway, "ipv4-gateway", MIRAGE_KEY_IPV4, NULL,
        "The IPv4 gateway of the unikernel.");
NET_KEY(mirage_key_ipv4_only, "ipv4-only", MIRAGE_KEY_BOOL, "false", "Only use IPv4.");
NET_KEY(mirage_key_ipv6, "ipv6", MIRAGE_KEY_IPV6_PREFIX, NULL,
        "The IPv6 address and network of the unikernel.");
NET_KEY(mirage_key_ipv6_gateway, "ipv6-gateway", MIRAGE_KEY_IPV6, NULL,
        "The IPv6 gateway of the unikernel.");
NET_KEY(mirage_key_ipv6_only, "ipv6-only", MIRAGE_KEY_BOOL, "false", "Only use IPv6.");
NET_KEY(mirage_key_accept_router_advertisements, "accept-router-advertisements", MIRAGE_KEY_BOOL,
        "true", "Accept IPv6 router advertisements.");
