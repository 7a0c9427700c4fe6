/* key.c: boot keys: the option loop over argv, --help and usage errors (parsers: key_parse.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/platform.h"

#define ERR_MAX 200

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

static const char *const type_meta[] = {
    [MIRAGE_KEY_STRING] = "STRING",       [MIRAGE_KEY_INT] = "INT",
    [MIRAGE_KEY_BOOL] = "BOOL",           [MIRAGE_KEY_IPV4] = "IPV4",
    [MIRAGE_KEY_IPV4_PREFIX] = "IPV4/LEN", [MIRAGE_KEY_IPV6] = "IPV6",
    [MIRAGE_KEY_IPV6_PREFIX] = "IPV6/LEN", [MIRAGE_KEY_MAC] = "MAC",
    [MIRAGE_KEY_LIST] = "A,B,...",        [MIRAGE_KEY_DURATION] = "DURATION"};

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
    char err[ERR_MAX], msg[ERR_MAX + 160];

    if (mirage_log_set(spec, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg),
                 "option '--logs': %s: expected LEVEL, *:LEVEL or SOURCE:LEVEL, "
                 "comma-separated (-l LEVELS, -lLEVELS or --logs=LEVELS)",
                 err);
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
struct mirage_key mirage_key_dhcp_timeout = {
    .name = "dhcp-timeout",
    .type = MIRAGE_KEY_INT,
    .def = "60",
    .doc = "Seconds to wait for a DHCP lease before exiting with status 2 (0: wait forever).",
    .section = "NETWORK OPTIONS",
    .min = 0,
    .max = 86400};
NET_KEY(mirage_key_dns_servers, "dns-servers", MIRAGE_KEY_LIST, NULL,
        "The DNS resolvers to ask, in turn: IPv4 or IPv6 addresses (10.0.0.1,fc00::1).");
NET_KEY(mirage_key_accept_router_advertisements, "accept-router-advertisements", MIRAGE_KEY_BOOL,
        "true", "Accept IPv6 router advertisements.");
