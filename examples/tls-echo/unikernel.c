/* unikernel.c: a TLS echo server (certificates chosen by SNI, ALPN http/1.1) and a TLS client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"
#include "mirage/tls.h"

static const char *const alpn[] = {"http/1.1"};

/* (b64, len) as a PEM object labelled (label), in lines of 64: BearSSL's PEM
 * decoder then reads it, so the boot keys need no base64 decoder of their own. */
static size_t pem_append(char *out, size_t cap, size_t at, const char *label, const char *b64,
                         size_t len)
{
    int n = snprintf(out + at, at < cap ? cap - at : 0, "-----BEGIN %s-----\n", label);

    at += n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < len; i += 64) {
        n = snprintf(out + at, at < cap ? cap - at : 0, "%.*s\n",
                     (int)(len - i < 64 ? len - i : 64), b64 + i);
        at += n > 0 ? (size_t)n : 0;
    }
    n = snprintf(out + at, at < cap ? cap - at : 0, "-----END %s-----\n", label);
    return at + (n > 0 ? (size_t)n : 0);
}

/* "CERT~CERT" as PEM certificates; a fresh buffer. */
static char *pem_of(const char *label, const char *b64, size_t len, char sep, size_t *pem_len)
{
    size_t cap = len * 2 + 256, at = 0;
    char *out = malloc(cap);
    const char *p = b64, *end = b64 + len;

    if (out == NULL)
        return NULL;
    while (p < end) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (q == NULL)
            q = end;
        at = pem_append(out, cap, at, label, p, (size_t)(q - p));
        p = q + 1;
    }
    *pem_len = at < cap ? at : cap;
    return out;
}

/* One "HOST:CHAIN:KEY" of --certs into (c). */
static int add_cert(struct mirage_tls_certs *c, const char *item)
{
    const char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char host[256], *chain, *key;
    size_t chain_len, key_len;
    int r;

    if (c2 == NULL || (size_t)(c1 - item) >= sizeof(host)) {
        mirage_log_err(&mirage_log_app, "--certs: '%.40s...' is not HOST:CHAIN:KEY", item);
        return -1;
    }
    memcpy(host, item, (size_t)(c1 - item));
    host[c1 - item] = '\0';
    chain = pem_of("CERTIFICATE", c1 + 1, (size_t)(c2 - c1 - 1), '~', &chain_len);
    key = pem_of("PRIVATE KEY", c2 + 1, strlen(c2 + 1), '\0', &key_len);
    r = chain && key ? mirage_tls_certs_add(c, strcmp(host, "default") ? host : NULL, chain,
                                            chain_len, key, key_len)
                     : -1;
    free(chain);
    free(key);
    return r;
}

struct conn {
    struct mirage_flow *flow;
    char peer[56];
    uint8_t buf[16384];
};

static int echo_conn(void *arg)
{
    struct conn *c = arg;
    struct mirage_tls_info info;
    uint64_t total = 0;
    size_t got = 0;
    int r = mirage_tls_handshake(c->flow, mirage_deadline_in(MIRAGE_SEC(30)));

    if (r == 0 && mirage_tls_info(c->flow, &info) == 0)
        mirage_log_app_msg(&mirage_log_app, "tls %s: %s %s sni=%s alpn=%s%s", c->peer, info.version,
                           info.suite ? info.suite : "?", info.sni ? info.sni : "-",
                           info.alpn ? info.alpn : "-", info.resumed ? " resumed" : "");
    while (r == 0) {
        r = mirage_flow_read(c->flow, c->buf, sizeof(c->buf), &got, MIRAGE_FOREVER);
        if (r < 0 || got == 0)
            break;
        total += got;
        r = mirage_flow_write(c->flow, c->buf, got, MIRAGE_FOREVER);
    }
    mirage_log_app_msg(&mirage_log_app, "tls %s closed after %llu bytes: %s", c->peer,
                       (unsigned long long)total, r == 0 ? "close_notify" : mirage_strerror(r));
    if (r == 0)
        mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR); /* our close_notify */
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

static int serve(struct mirage_stack *stack)
{
    struct mirage_tls_opts opts = {.alpn = alpn,
                                   .n_alpn = 1,
                                   .out_buf = (size_t)key_out_buf.v.num,
                                   .allow_cbc = key_cbc.v.flag};
    struct mirage_tls_certs *certs = mirage_tls_certs_new();
    struct mirage_tls_server *srv;
    struct mirage_tcp_listener *l;
    struct mirage_fiber_group conns = {0};
    char where[4 * 56 + 8];
    long long limit = key_connections.v.num;
    int r;

    if (certs == NULL)
        return 1;
    for (size_t i = 0; key_certs.has_value && i < key_certs.v.list.count; i++)
        if (add_cert(certs, key_certs.v.list.items[i]) != 0)
            return 1;
    if (mirage_tls_server_new(&opts, certs, &srv) != 0)
        return 1; /* the log says why: no certificate */
    r = mirage_tcp_listen(stack, (uint16_t)key_port.v.num, NULL, &l);
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "listen: %s", mirage_strerror(r));
        return 1;
    }
    if (mirage_stack_format_addresses(stack, (uint16_t)key_port.v.num, "", "", where,
                                      sizeof(where))[0])
        mirage_log_app_msg(&mirage_log_app, "tls echo on %s (%zu bytes per connection)", where,
                           mirage_tls_flow_size(&opts, 1));
    while (limit == 0 || conns.spawned < (unsigned long long)limit) {
        struct conn *c = calloc(1, sizeof(*c));
        struct mirage_flow *tcp;
        struct mirage_ipaddr peer;
        uint16_t port;

        if (c == NULL)
            return 1;
        r = mirage_tcp_accept(l, &tcp, &peer, &port, MIRAGE_FOREVER);
        if (r < 0) {
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            free(c);
            return 1;
        }
        mirage_ipaddr_format(&peer, port, c->peer, sizeof(c->peer));
        if (mirage_tls_server_flow(srv, tcp, &c->flow) != 0) {
            mirage_flow_close(tcp);
            free(c);
            continue;
        }
        if (mirage_fiber_group_spawn(&conns, "tls-echo", echo_conn, c, 0) < 0) {
            mirage_flow_close(c->flow);
            free(c);
        }
    }
    mirage_fiber_group_wait(&conns, MIRAGE_FOREVER);
    mirage_tcp_unlisten(l);
    mirage_tls_server_free(srv);
    mirage_log_app_msg(&mirage_log_app, "served %lu connections: bye", conns.spawned);
    return 0;
}

/* One connection: the message out, its echo back, close_notify both ways. */
static int client_once(struct mirage_stack *stack, struct mirage_tls_client *cli)
{
    struct mirage_ipaddr dst = {4, {0}};
    struct mirage_flow *tcp, *tls;
    struct mirage_tls_info info;
    char line[512], got_buf[512];
    size_t len, n = 0, got;
    int r;

    memcpy(dst.a, key_connect.v.ip.addr, 4);
    len = (size_t)snprintf(line, sizeof(line), "%s\n", key_message.v.str);
    r = mirage_tcp_connect(stack, &dst, (uint16_t)key_port.v.num, &tcp,
                           mirage_deadline_in(MIRAGE_SEC(10)));
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "connect: %s", mirage_strerror(r));
        return 1;
    }
    if (mirage_tls_client_flow(cli, tcp, key_sni.v.str, &tls) != 0) {
        mirage_flow_close(tcp);
        return 1;
    }
    r = mirage_tls_handshake(tls, mirage_deadline_in(MIRAGE_SEC(10)));
    if (r == 0 && mirage_tls_info(tls, &info) == 0)
        mirage_log_app_msg(&mirage_log_app, "tls client: %s %s alpn=%s%s", info.version,
                           info.suite ? info.suite : "?", info.alpn ? info.alpn : "-",
                           info.resumed ? " resumed" : "");
    if (r == 0)
        r = mirage_flow_write(tls, line, len, mirage_deadline_in(MIRAGE_SEC(10)));
    while (r == 0 && n < len && n < sizeof(got_buf) - 1) {
        r = mirage_flow_read(tls, got_buf + n, sizeof(got_buf) - 1 - n, &got,
                             mirage_deadline_in(MIRAGE_SEC(10)));
        if (got == 0)
            break;
        n += got;
    }
    got_buf[n] = '\0';
    if (n > 0 && got_buf[n - 1] == '\n')
        got_buf[n - 1] = '\0';
    if (r == 0) {
        mirage_log_app_msg(&mirage_log_app, "tls client: received '%s'", got_buf);
        r = mirage_flow_shutdown(tls, MIRAGE_SHUT_WR);
        while (r == 0) { /* the server's close_notify ends it */
            r = mirage_flow_read(tls, got_buf, sizeof(got_buf), &got,
                                 mirage_deadline_in(MIRAGE_SEC(10)));
            if (got == 0)
                break;
        }
    }
    mirage_log_app_msg(&mirage_log_app, "tls client: %s",
                       r == 0 ? "closed with close_notify" : mirage_strerror(r));
    mirage_flow_close(tls);
    return r == 0 ? 0 : 1;
}

static int client(struct mirage_stack *stack)
{
    struct mirage_tls_opts opts = {.alpn = alpn, .n_alpn = 1, .allow_cbc = key_cbc.v.flag};
    struct mirage_tls_client *cli;
    char *ca = NULL, *pin = NULL;
    size_t ca_len = 0, pin_len = 0;
    int r = 0;

    for (size_t i = 0; key_ca.has_value && i < key_ca.v.list.count; i++) {
        size_t k;
        char *one =
            pem_of("CERTIFICATE", key_ca.v.list.items[i], strlen(key_ca.v.list.items[i]), '\0', &k);
        char *more = one ? realloc(ca, ca_len + k) : NULL;
        if (more == NULL) {
            free(one);
            free(ca);
            return 1;
        }
        memcpy(more + ca_len, one, k);
        ca = more;
        ca_len += k;
        free(one);
    }
    if (key_pin.has_value)
        pin = pem_of("CERTIFICATE", key_pin.v.str, strlen(key_pin.v.str), '\0', &pin_len);
    if (mirage_tls_client_new(&opts, ca, ca_len, pin, pin_len, &cli) != 0)
        r = 1;
    free(ca);
    free(pin);
    for (long long i = 0; r == 0 && i < key_repeat.v.num; i++)
        r = client_once(stack, cli);
    mirage_tls_client_free(cli);
    return r;
}

int start(struct mirage_stack *stack)
{
    return key_connect.has_value ? client(stack) : serve(stack);
}
