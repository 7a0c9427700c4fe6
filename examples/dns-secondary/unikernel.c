/* unikernel.c: dns-secondary: authoritative copies of a primary's zones, kept by zone transfers. */
#include <stdio.h>
#include <string.h>

#include "mirage/dns.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/stack.h"

/*
 * Transfers every --zones zone from --primary (TSIG-signed with --tsig-key),
 * follows it by the SOA timers and the primary's NOTIFY, and answers for
 * it on UDP and TCP --port as dns-primary answers for its own zones.
 */

static size_t answer(void *ctx, const struct mirage_ipaddr *from, const uint8_t *q, size_t qlen,
                     int tcp, uint8_t *out, size_t cap)
{
    return mirage_dns_secondary_answer(ctx, from, q, qlen, tcp, out, cap);
}

int start(struct mirage_stack *stack)
{
    struct mirage_dns_secondary_zone zc = {0};
    struct mirage_dns_server *server;
    struct mirage_dns_secondary *sec;
    struct mirage_dns_serve *sv;
    const char *p = key_primary.has_value ? key_primary.v.str : "", *why;
    char err[128];
    int r;

    int family;
    if (mirage_key_parse_ip_port(p, strlen(p), zc.primary.a, &family, &zc.port, err,
                                 sizeof(err)) < 0) {
        mirage_log_err(&mirage_log_app, "--primary=%s: %s (expected IPV4[:PORT] or [IPV6][:PORT])",
                       p, err);
        return 64;
    }
    zc.primary.family = (uint8_t)family;
    if (zc.port == 0)
        zc.port = 53;
    if (!key_zones.has_value || key_zones.v.list.count == 0) {
        mirage_log_err(&mirage_log_app, "--zones: no zone to keep");
        return 64;
    }
    const char *k = key_tsig_key.v.str;
    if (k[0] != '\0') {
        if (mirage_dns_tsig_key_parse(k, strlen(k), &zc.key, &why) < 0) {
            mirage_log_err(&mirage_log_app, "--tsig-key: %s", why);
            return 64;
        }
        zc.has_key = 1;
    }
    if (mirage_dns_server_new(&server) < 0 || mirage_dns_secondary_new(stack, server, &sec) < 0)
        return 1;
    for (size_t i = 0; i < key_zones.v.list.count; i++) {
        const char *z = key_zones.v.list.items[i];
        char text[MIRAGE_DNS_TEXT_MAX];
        int n = snprintf(text, sizeof(text), "%s%s", z,
                         z[0] && z[strlen(z) - 1] == '.' ? "" : ".");
        if (mirage_dns_name_from_text(&zc.origin, text, (size_t)n, NULL, &why) < 0) {
            mirage_log_err(&mirage_log_app, "--zones: %s: %s", z, why ? why : "not a name");
            return 64;
        }
        if ((r = mirage_dns_secondary_add(sec, &zc)) < 0) {
            mirage_log_err(&mirage_log_app, "--zones: %s: %s", z,
                           r == MIRAGE_EEXIST ? "given twice" : mirage_strerror(r));
            return 64;
        }
    }
    struct mirage_dns_serve_config cfg = {
        .port = (uint16_t)key_port.v.num,
        .max_conns = (unsigned)key_max_conns.v.num,
        .tcp_idle_timeout = (uint64_t)key_tcp_idle_timeout.v.num * 1000000000ull,
        .answer = answer,
        .ctx = sec,
    };
    if ((r = mirage_dns_serve_start(stack, &cfg, &sv)) < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", cfg.port,
                       mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "answering on UDP and TCP port %u; primary %s", cfg.port,
                       p);
    mirage_dns_serve_tcp(sv);
    mirage_dns_serve_stop(sv);
    return 1;
}
