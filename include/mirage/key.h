/* key.h: typed boot keys (runtime arguments) with defaults and docs, --help, -l/--logs. */
#ifndef MIRAGE_KEY_H
#define MIRAGE_KEY_H

#include <stddef.h>
#include <stdint.h>

enum mirage_key_type {
    MIRAGE_KEY_STRING,
    MIRAGE_KEY_INT,         /* decimal, within [min, max] */
    MIRAGE_KEY_BOOL,        /* --name alone is true; --name=true|false|yes|no|on|off|1|0 */
    MIRAGE_KEY_IPV4,        /* 10.0.0.2 */
    MIRAGE_KEY_IPV4_PREFIX, /* 10.0.0.2/24: an address and its network's length */
    MIRAGE_KEY_IPV6,        /* fc00::2, RFC 4291 text forms */
    MIRAGE_KEY_IPV6_PREFIX, /* fc00::2/64 */
    MIRAGE_KEY_MAC,         /* 02:00:00:00:00:01 */
    MIRAGE_KEY_LIST,        /* a,b,c: comma-separated strings (may be empty) */
    MIRAGE_KEY_DURATION,    /* 250ms, 5s, 2m: v.num in nanoseconds, within [min, max] */
};

/* An address with a prefix length; bits is 32 / 128 for a plain address. */
struct mirage_key_ip {
    uint8_t addr[16]; /* IPv4 in addr[0..4) */
    uint8_t bits;
};

struct mirage_key_list {
    const char **items;
    size_t count;
};

union mirage_key_value {
    const char *str;
    int64_t num;
    int flag;
    struct mirage_key_ip ip;
    uint8_t mac[6];
    struct mirage_key_list list;
};

/* A key is declared by the application (usually static) and passed to
 * mirage_key_parse_args(), which fills in (set, has_value, v). Strings and
 * list items point into argv or the default; list arrays are the runtime's. */
struct mirage_key {
    const char *name;    /* "hello" for --hello */
    enum mirage_key_type type;
    const char *def;     /* the default as it would be written; NULL: none */
    const char *doc;
    const char *section; /* the --help heading; NULL: "APPLICATION OPTIONS" */
    int64_t min, max;    /* MIRAGE_KEY_INT and _DURATION (ns) only */
    int set;             /* given on the command line */
    int has_value;       /* set, or a default exists */
    union mirage_key_value v;
    void *mem_;          /* the runtime's list storage */
};

#define MIRAGE_KEY_STR(n, d, dc) {.name = (n), .type = MIRAGE_KEY_STRING, .def = (d), .doc = (dc)}
#define MIRAGE_KEY_INTEGER(n, d, lo, hi, dc)                                                       \
    {.name = (n), .type = MIRAGE_KEY_INT, .def = (d), .doc = (dc), .min = (lo), .max = (hi)}
#define MIRAGE_KEY_FLAG(n, d, dc) {.name = (n), .type = MIRAGE_KEY_BOOL, .def = (d), .doc = (dc)}
#define MIRAGE_KEY_OF(n, t, d, dc) {.name = (n), .type = (t), .def = (d), .doc = (dc)}

/* Exit statuses of the argument parser (and of the unikernel, by convention). */
#define MIRAGE_EXIT_HELP 63
#define MIRAGE_EXIT_USAGE 64
/* A DHCP stack got no lease within --dhcp-timeout (generated main.c). */
#define MIRAGE_EXIT_NO_LEASE 2

/*
 * Parses argv[1..argc) against keys[] (NULL-terminated; may be NULL), plus the
 * runtime's own options: -l / --logs LEVELS (see mirage/log.h) and --help.
 * Options take --name=VALUE or --name VALUE. Every argument must be valid
 * UTF-8; positional arguments, unknown options, a key given twice and bad
 * values are errors. Returns 0 with every key filled in (defaults for those
 * not given); MIRAGE_EXIT_HELP after printing help (every key grouped by
 * section, with doc and default); MIRAGE_EXIT_USAGE after printing what was
 * wrong. argv[0] names the unikernel in messages.
 */
int mirage_key_parse_args(int argc, char **argv, struct mirage_key *const *keys);

/* Parses (text) as a value of (k)'s type into *v. Returns 0, or MIRAGE_EINVAL
 * / MIRAGE_ERANGE with (err, errsize) saying what is wrong. A list value's
 * storage is malloc'd into *mem (free it; NULL for other types). */
int mirage_key_parse_value(const struct mirage_key *k, const char *text,
                           union mirage_key_value *v, void **mem, char *err, size_t errsize);

/*
 * The one parser per format (lib/runtime/key_parse.c): the runtime parses boot
 * keys with them, the mirage tool checks every key default and --ipv4 given to
 * configure with them, the tenders parse --mem and --net-mac with them, so what
 * configure accepts boots. Each reads (s, len), no NUL needed, and returns 0
 * or MIRAGE_EINVAL / MIRAGE_ERANGE with the reason, quoting (s), in (err).
 */

/* Decimal, optional sign, within [min, max]. */
int mirage_key_parse_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out,
                         char *err, size_t errsize);
/* Dotted quad, each number 0..255 with no leading zero. */
int mirage_key_parse_ipv4(const char *s, size_t len, uint8_t out[4], char *err, size_t errsize);
/* RFC 4291 text forms, "::" and an embedded IPv4 tail included. */
int mirage_key_parse_ipv6(const char *s, size_t len, uint8_t out[16], char *err, size_t errsize);
/* IPV4[:PORT], the port 1-65535; *port is left alone when none is given. */
int mirage_key_parse_ipv4_port(const char *s, size_t len, uint8_t addr[4], uint16_t *port,
                               char *err, size_t errsize);
/* IP[:PORT] of either family: IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT
 * (RFC 3986's brackets); *family is 4 or 6, (addr) holds 4 or 16 bytes, and
 * *port is left alone when none is given. */
int mirage_key_parse_ip_port(const char *s, size_t len, uint8_t addr[16], int *family,
                             uint16_t *port, char *err, size_t errsize);
/* ADDRESS/LENGTH: IPv4 (v6 = 0, length 0..32) or IPv6 (length 0..128); the
 * length is decimal with no sign or leading zero. */
int mirage_key_parse_prefix(const char *s, size_t len, int v6, struct mirage_key_ip *ip, char *err,
                            size_t errsize);
/* Six hex pairs separated by ':' (either case). */
int mirage_key_parse_mac(const char *s, size_t len, uint8_t out[6], char *err, size_t errsize);
/* A decimal count and its unit, ns, us, ms, s, m or h ("250ms", "5s"), no
 * sign; (*ns) its nanoseconds, within [min, max]. A bare number is refused:
 * its unit would be a guess. */
int mirage_key_parse_duration(const char *s, size_t len, int64_t min, int64_t max, int64_t *ns,
                              char *err, size_t errsize);
/* true|yes|on|1 or false|no|off|0, in any case. */
int mirage_key_parse_bool(const char *s, size_t len, int *out, char *err, size_t errsize);

/* 1 if (s, len) is well-formed UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), else 0 with *bad the offset of the first bad byte. */
int mirage_key_utf8_valid(const char *s, size_t len, size_t *bad);

/* The standard network keys, section "NETWORK OPTIONS", the same names and
 * defaults as MirageOS's: pass them in keys[] to accept them. */
extern struct mirage_key mirage_key_ipv4;          /* --ipv4=10.0.0.2/24 */
extern struct mirage_key mirage_key_ipv4_gateway;  /* --ipv4-gateway=ADDR, no default */
extern struct mirage_key mirage_key_ipv4_only;     /* --ipv4-only, false */
extern struct mirage_key mirage_key_ipv6;          /* --ipv6=PREFIX, no default */
extern struct mirage_key mirage_key_ipv6_gateway;  /* --ipv6-gateway=ADDR, no default */
extern struct mirage_key mirage_key_ipv6_only;     /* --ipv6-only, false */
extern struct mirage_key mirage_key_accept_router_advertisements; /* true */
extern struct mirage_key mirage_key_dhcp_timeout; /* --dhcp-timeout=SECONDS, 60; 0: forever */
extern struct mirage_key mirage_key_dns_servers;  /* --dns-servers=IP[,IP...], none */

#endif
