/* test_tls.c: TLS client flows against TLS server flows over in-memory flow pairs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../flow/pair.h"
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/time.h"
#include "mirage/tls.h"

#define WAIT MIRAGE_SEC(30)

const char *mirage_cmdline(void)
{
    return "";
}

static char dir[] = "/tmp/test_tls.XXXXXX";

struct file {
    uint8_t *data;
    size_t len;
};

static struct file load(const char *name)
{
    char path[256];
    struct file f = {NULL, 0};
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    f.data = malloc(65536);
    f.len = fread(f.data, 1, 65536, fp);
    fclose(fp);
    return f;
}

static struct file ca, other_ca, rsa_pem, rsa_key, ec_pem, ec_key, ec_der, ec_key_der, chain_pem,
    stranger_pem, stranger_key;

static const char *const http11[] = {"http/1.1"};

/* The server's certificates: rsa.test (RSA), ec.test and *.wild.test (EC, the default). */
static struct mirage_tls_certs *both_certs(void)
{
    struct mirage_tls_certs *c = mirage_tls_certs_new();

    CHECK_INT(
        mirage_tls_certs_add(c, "rsa.test", rsa_pem.data, rsa_pem.len, rsa_key.data, rsa_key.len),
        0);
    CHECK_INT(mirage_tls_certs_add(c, NULL, chain_pem.data, chain_pem.len, ec_key.data, ec_key.len),
              0);
    return c;
}

/* ---- a server fiber: handshake, then echo until the client's close_notify ---- */

struct server_arg {
    struct mirage_tls_server *srv;
    struct mirage_flow *tcp;
    int hs;  /* the handshake's result */
    int end; /* the read that ended the echo: 0 is a clean EOF */
    struct mirage_tls_info info;
    uint64_t echoed;
    int no_close; /* return at EOF without shutting down */
};

static int server_fiber(void *p)
{
    struct server_arg *a = p;
    struct mirage_flow *f;
    uint8_t buf[5000];
    size_t got;
    int r;

    CHECK_INT(mirage_tls_server_flow(a->srv, a->tcp, &f), 0);
    a->hs = mirage_tls_handshake(f, mirage_deadline_in(WAIT));
    if (a->hs == 0)
        mirage_tls_info(f, &a->info);
    for (;;) {
        r = mirage_flow_read(f, buf, sizeof(buf), &got, mirage_deadline_in(WAIT));
        if (r < 0 || got == 0)
            break;
        a->echoed += got;
        r = mirage_flow_write(f, buf, got, mirage_deadline_in(WAIT));
        if (r < 0)
            break;
    }
    a->end = r;
    if (r == 0 && !a->no_close)
        mirage_flow_shutdown(f, MIRAGE_SHUT_WR);
    mirage_flow_close(f);
    return 0;
}

struct conn {
    struct mirage_flow *client;
    struct mirage_fiber *server;
    struct server_arg sa;
    int hs;
    struct mirage_tls_info info;
};

/* Connects (cli) to (srv) as (host) over a fresh pair; runs both handshakes. */
static void conn_open(struct conn *c, struct mirage_tls_server *srv, struct mirage_tls_client *cli,
                      const char *host)
{
    struct mirage_flow *a, *b;

    memset(c, 0, sizeof(*c));
    CHECK_INT(flow_pair_new(65536, &a, &b), 0);
    c->sa.srv = srv;
    c->sa.tcp = b;
    c->server = mirage_fiber_spawn("tls-server", server_fiber, &c->sa, 0);
    CHECK_INT(mirage_tls_client_flow(cli, a, host, &c->client), 0);
    c->hs = mirage_tls_handshake(c->client, mirage_deadline_in(WAIT));
    if (c->hs == 0)
        CHECK_INT(mirage_tls_info(c->client, &c->info), 0);
}

/* Ends the client's side with close_notify and waits for the server to finish. */
static void conn_close(struct conn *c)
{
    if (c->hs == 0)
        mirage_flow_shutdown(c->client, MIRAGE_SHUT_WR);
    else
        mirage_flow_close(c->client);
    mirage_fiber_join(c->server, NULL);
    if (c->hs == 0)
        mirage_flow_close(c->client);
}

static struct mirage_tls_client *client_ca(const struct mirage_tls_opts *o)
{
    struct mirage_tls_client *cli = NULL;

    CHECK_INT(mirage_tls_client_new(o, ca.data, ca.len, NULL, 0, &cli), 0);
    return cli;
}

static struct mirage_tls_server *server_both(const struct mirage_tls_opts *o)
{
    struct mirage_tls_server *srv = NULL;

    CHECK_INT(mirage_tls_server_new(o, both_certs(), &srv), 0);
    return srv;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_certs(void)
{
    struct mirage_tls_certs *c = mirage_tls_certs_new();
    static const char junk[] = "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n";

    /* DER both ways, PEM both ways; a chain file with the CA after the leaf. */
    CHECK_INT(mirage_tls_certs_add(c, "ec.test", ec_der.data, ec_der.len, ec_key_der.data,
                                   ec_key_der.len),
              0);
    CHECK_INT(
        mirage_tls_certs_add(c, "Ec.Test", chain_pem.data, chain_pem.len, ec_key.data, ec_key.len),
        0);
    CHECK_INT(mirage_tls_certs_count(c), 2);
    /* A key that is not the leaf's, of either type. */
    CHECK_INT(mirage_tls_certs_add(c, "ec.test", ec_pem.data, ec_pem.len, stranger_key.data,
                                   stranger_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(
        mirage_tls_certs_add(c, "ec.test", ec_pem.data, ec_pem.len, rsa_key.data, rsa_key.len),
        MIRAGE_EINVAL);
    /* Bad PEM, no certificate, no key, a certificate as the key, bad names. */
    CHECK_INT(mirage_tls_certs_add(c, NULL, junk, sizeof(junk) - 1, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, NULL, ec_key.data, ec_key.len, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, NULL, ec_pem.data, ec_pem.len, ec_pem.data, ec_pem.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, NULL, ec_pem.data, 0, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, NULL, "garbage", 7, ec_key.data, ec_key.len), MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, "a b", ec_pem.data, ec_pem.len, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_add(c, "a.*.test", ec_pem.data, ec_pem.len, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    /* A PEM file cut in the middle of its object. */
    CHECK_INT(mirage_tls_certs_add(c, NULL, ec_pem.data, ec_pem.len / 2, ec_key.data, ec_key.len),
              MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_certs_count(c), 2);
    mirage_tls_certs_free(c);

    /* A server needs a certificate; a client something to trust. */
    struct mirage_tls_server *srv = (void *)1;
    CHECK_INT(mirage_tls_server_new(NULL, mirage_tls_certs_new(), &srv), MIRAGE_EINVAL);
    CHECK(srv == NULL);
    struct mirage_tls_client *cli = (void *)1;
    CHECK_INT(mirage_tls_client_new(NULL, NULL, 0, NULL, 0, &cli), MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_client_new(NULL, junk, sizeof(junk) - 1, NULL, 0, &cli), MIRAGE_EINVAL);
    struct mirage_tls_opts bad = {.out_buf = 100};
    CHECK_INT(mirage_tls_client_new(&bad, ca.data, ca.len, NULL, 0, &cli), MIRAGE_EINVAL);
}

/* SNI picks the certificate; ALPN agrees on http/1.1; data goes both ways. */
static void test_sni_alpn_echo(void)
{
    struct mirage_tls_opts o = {.alpn = http11, .n_alpn = 1};
    struct mirage_tls_server *srv = server_both(&o);
    struct mirage_tls_client *cli = client_ca(&o);
    static const struct {
        const char *host, *suite;
    } cases[] = {
        {"rsa.test", "ECDHE-RSA-AES128-GCM-SHA256"},
        {"ec.test", "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {"x.wild.test", "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {"localhost", "ECDHE-ECDSA-AES128-GCM-SHA256"}, /* unknown name: the default */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conn c;
        uint8_t out[3000], in[3000];
        size_t n = 0, got;

        conn_open(&c, srv, cli, cases[i].host);
        CHECK_INT(c.hs, 0);
        CHECK_INT(c.sa.hs, 0);
        CHECK_STR(c.info.version, "TLS1.2");
        /* without AES-NI the server prefers ChaCha20 */
        if (c.info.suite == NULL || strstr(c.info.suite, "CHACHA") == NULL)
            CHECK_STR(c.info.suite, cases[i].suite);
        CHECK_STR(c.info.alpn, "http/1.1");
        CHECK_STR(c.sa.info.alpn, "http/1.1");
        CHECK_STR(c.sa.info.sni, cases[i].host);
        CHECK_INT(c.info.resumed, 0);
        for (size_t j = 0; j < sizeof(out); j++)
            out[j] = (uint8_t)(j * 13 + i);
        CHECK_INT(mirage_flow_write(c.client, out, sizeof(out), mirage_deadline_in(WAIT)), 0);
        while (n < sizeof(in)) {
            CHECK_INT(
                mirage_flow_read(c.client, in + n, sizeof(in) - n, &got, mirage_deadline_in(WAIT)),
                0);
            if (got == 0)
                break;
            n += got;
        }
        CHECK_INT(n, sizeof(in));
        CHECK(memcmp(in, out, sizeof(in)) == 0);
        conn_close(&c);
        /* The server read the client's close_notify as a clean end. */
        CHECK_INT(c.sa.end, 0);
        CHECK_INT(c.sa.echoed, sizeof(out));
    }
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* The second connection to a host resumes the first one's session. */
static void test_resumption(void)
{
    struct mirage_tls_server *srv = server_both(NULL);
    struct mirage_tls_client *cli = client_ca(NULL);
    struct conn c;

    conn_open(&c, srv, cli, "ec.test");
    CHECK_INT(c.hs, 0);
    CHECK_INT(c.info.resumed, 0);
    conn_close(&c);
    conn_open(&c, srv, cli, "ec.test");
    CHECK_INT(c.hs, 0);
    CHECK_INT(c.info.resumed, 1);
    conn_close(&c);
    CHECK_INT(c.sa.info.resumed, 1);
    /* Another host has no session yet. */
    conn_open(&c, srv, cli, "rsa.test");
    CHECK_INT(c.hs, 0);
    CHECK_INT(c.info.resumed, 0);
    conn_close(&c);
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* The client refuses what it must: a wrong name, an unknown CA, a pin that
 * does not match, an expired certificate; the server sees the alert. */
static void test_refusals(void)
{
    struct mirage_tls_server *srv = server_both(NULL);
    struct mirage_tls_server *stranger = NULL;
    struct mirage_tls_client *cli = client_ca(NULL), *other = NULL, *pinned = NULL;
    struct mirage_tls_certs *sc = mirage_tls_certs_new();
    struct conn c;
    uint64_t saved = fake_wall_base;

    CHECK_INT(mirage_tls_certs_add(sc, NULL, stranger_pem.data, stranger_pem.len, stranger_key.data,
                                   stranger_key.len),
              0);
    CHECK_INT(mirage_tls_server_new(NULL, sc, &stranger), 0);
    CHECK_INT(mirage_tls_client_new(NULL, other_ca.data, other_ca.len, NULL, 0, &other), 0);
    CHECK_INT(mirage_tls_client_new(NULL, NULL, 0, ec_pem.data, ec_pem.len, &pinned), 0);

    fake_console_clear();
    conn_open(&c, srv, cli, "wrong.test"); /* the default certificate does not name it */
    CHECK_INT(c.hs, MIRAGE_EACCES);
    CHECK(strstr(fake_console_text(), "certificate does not name the host") != NULL);
    /* The error sticks. */
    size_t got;
    uint8_t b[4];
    CHECK_INT(mirage_flow_read(c.client, b, 4, &got, mirage_deadline_in(WAIT)), MIRAGE_EACCES);
    CHECK_INT(mirage_flow_write(c.client, b, 4, mirage_deadline_in(WAIT)), MIRAGE_EACCES);
    conn_close(&c);
    /* BearSSL sends no alert when it refuses: the server sees the connection end. */
    CHECK_INT(c.sa.hs, MIRAGE_EPROTO);
    CHECK(strstr(fake_console_text(), "closed the connection during the handshake") != NULL);

    conn_open(&c, stranger, cli, "ec.test");
    CHECK_INT(c.hs, MIRAGE_EACCES);
    CHECK(strstr(fake_console_text(), "certificate not trusted") != NULL);
    conn_close(&c);

    conn_open(&c, srv, other, "ec.test");
    CHECK_INT(c.hs, MIRAGE_EACCES);
    conn_close(&c);

    /* The pinned key: the server with that certificate passes without a CA, others do not. */
    conn_open(&c, srv, pinned, "ec.test");
    CHECK_INT(c.hs, 0);
    conn_close(&c);
    conn_open(&c, srv, pinned, "rsa.test");
    CHECK_INT(c.hs, MIRAGE_EACCES);
    conn_close(&c);
    conn_open(&c, stranger, pinned, "ec.test");
    CHECK_INT(c.hs, MIRAGE_EACCES);
    conn_close(&c);

    /* Ten years on, the certificate has expired. */
    fake_wall_base += MIRAGE_SEC(10ull * 366 * 86400);
    fake_console_clear();
    conn_open(&c, srv, cli, "ec.test");
    CHECK_INT(c.hs, MIRAGE_EACCES);
    CHECK(strstr(fake_console_text(), "certificate expired") != NULL);
    conn_close(&c);
    fake_wall_base = saved;

    mirage_tls_client_free(cli);
    mirage_tls_client_free(other);
    mirage_tls_client_free(pinned);
    mirage_tls_server_free(srv);
    mirage_tls_server_free(stranger);
}

/* A client that offers only what the server does not have gets a handshake failure. */
static void test_no_common_suite(void)
{
    struct mirage_tls_certs *c = mirage_tls_certs_new();
    struct mirage_tls_server *srv = NULL;
    struct mirage_tls_client *cli = client_ca(NULL);
    struct conn cn;

    /* An RSA-only server: fine for a client offering both. */
    CHECK_INT(mirage_tls_certs_add(c, NULL, rsa_pem.data, rsa_pem.len, rsa_key.data, rsa_key.len),
              0);
    CHECK_INT(mirage_tls_server_new(NULL, c, &srv), 0);
    conn_open(&cn, srv, cli, "rsa.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* close_notify: a stream cut without it is an error, not an end. */
static void test_truncation(void)
{
    struct mirage_tls_server *srv = server_both(NULL);
    struct mirage_tls_client *cli = client_ca(NULL);
    struct mirage_flow *a, *b, *tls;
    struct server_arg sa;
    struct mirage_fiber *fib;

    memset(&sa, 0, sizeof(sa));
    CHECK_INT(flow_pair_new(65536, &a, &b), 0);
    sa.srv = srv;
    sa.tcp = b;
    fib = mirage_fiber_spawn("tls-server", server_fiber, &sa, 0);
    CHECK_INT(mirage_tls_client_flow(cli, a, "ec.test", &tls), 0);
    CHECK_INT(mirage_tls_handshake(tls, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_flow_write(tls, "x", 1, mirage_deadline_in(WAIT)), 0);
    /* The TCP flow goes away under the TLS one: the server reads a truncation. */
    fake_console_clear();
    mirage_flow_shutdown(a, MIRAGE_SHUT_WR);
    mirage_fiber_join(fib, NULL);
    CHECK_INT(sa.end, MIRAGE_EPROTO);
    CHECK(strstr(fake_console_text(), "without close_notify") != NULL);
    mirage_flow_close(tls);
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* The server answers garbage with an alert and an error. */
static void test_garbage(void)
{
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct mirage_tls_server *srv = server_both(NULL);
    struct mirage_flow *feed = flow_feed_new(http, sizeof(http) - 1, 5), *f;
    uint8_t b[16];
    size_t got;

    fake_console_clear();
    CHECK_INT(mirage_tls_server_flow(srv, feed, &f), 0);
    CHECK_INT(mirage_flow_read(f, b, sizeof(b), &got, mirage_deadline_in(WAIT)), MIRAGE_EPROTO);
    CHECK(strstr(fake_console_text(), "server handshake:") != NULL);
    mirage_flow_close(f);
    mirage_tls_server_free(srv);
}

/* A megabyte each way at once, through small output records, with reads and
 * writes from two fibers on each side. */
struct pump {
    struct mirage_flow *f;
    size_t len;
    int r;
};

static int writer_fiber(void *p)
{
    struct pump *w = p;
    uint8_t chunk[7000];
    size_t sent = 0;

    while (sent < w->len && w->r == 0) {
        size_t n = w->len - sent < sizeof(chunk) ? w->len - sent : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)((sent + i) % 251);
        w->r = mirage_flow_write(w->f, chunk, n, mirage_deadline_in(WAIT));
        sent += n;
    }
    return 0;
}

static void test_bulk_small_records(void)
{
    struct mirage_tls_opts o = {.out_buf = 1024};
    struct mirage_tls_server *srv = server_both(&o);
    struct mirage_tls_client *cli = client_ca(&o);
    struct conn c;
    struct pump w;
    struct mirage_fiber *wf;
    size_t n = 0, got;
    int bad = 0, r = 0;
    uint8_t buf[4096];

    conn_open(&c, srv, cli, "rsa.test");
    CHECK_INT(c.hs, 0);
    w.f = c.client;
    w.len = 1 << 20;
    w.r = 0;
    wf = mirage_fiber_spawn("writer", writer_fiber, &w, 0);
    while (n < w.len) {
        r = mirage_flow_read(c.client, buf, sizeof(buf), &got, mirage_deadline_in(WAIT));
        if (r < 0 || got == 0)
            break;
        for (size_t i = 0; i < got; i++)
            bad += buf[i] != (uint8_t)((n + i) % 251);
        n += got;
    }
    CHECK_INT(r, 0);
    CHECK_INT(n, w.len);
    CHECK_INT(bad, 0);
    mirage_fiber_join(wf, NULL);
    CHECK_INT(w.r, 0);
    /* The server closes after our close_notify: we read its close_notify as the end. */
    CHECK_INT(mirage_flow_shutdown(c.client, MIRAGE_SHUT_WR), 0);
    mirage_fiber_join(c.server, NULL);
    CHECK_INT(c.sa.end, 0);
    mirage_flow_close(c.client);
    CHECK(mirage_tls_flow_size(&o, 1) < mirage_tls_flow_size(NULL, 1));
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* An idle TLS flow can wait with no fiber: the notification passes through
 * to the wrapped flow, and fires when the peer's record arrives. */
static int fired;
static void on_readable(void *ctx)
{
    (void)ctx;
    fired++;
}

static int client_handshake(void *p)
{
    return mirage_tls_handshake(p, mirage_deadline_in(WAIT));
}

static void test_on_readable(void)
{
    struct mirage_tls_server *srv = server_both(NULL);
    struct mirage_tls_client *cli = client_ca(NULL);
    struct mirage_flow *a, *b, *cf, *sf;
    struct mirage_fiber *hs;
    uint8_t buf[16];
    size_t got;
    int r = -1;

    CHECK_INT(flow_pair_new(65536, &a, &b), 0);
    CHECK_INT(mirage_tls_client_flow(cli, a, "ec.test", &cf), 0);
    CHECK_INT(mirage_tls_server_flow(srv, b, &sf), 0);
    /* Nothing yet: registered. The client's hello makes it fire. */
    fired = 0;
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
    hs = mirage_fiber_spawn("client-hs", client_handshake, cf, 0);
    CHECK_INT(mirage_fiber_yield(), 0);
    CHECK_INT(fired, 1);
    CHECK_INT(mirage_tls_handshake(sf, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_fiber_join(hs, &r), 0);
    CHECK_INT(r, 0);
    size_t full = mirage_tls_flow_size(NULL, 1);
    CHECK_INT(mirage_tls_flow_bytes(sf), full);
    CHECK_INT(mirage_tls_flow_bytes(a), 0); /* not TLS */
    /* Idle: registered, its record buffers given back; a record from the client fires it. */
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
    CHECK(mirage_tls_flow_bytes(sf) < 5000);
    CHECK_INT(mirage_flow_write(cf, "hi", 2, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(fired, 2);
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 1);
    CHECK_INT(mirage_flow_read(sf, buf, sizeof(buf), &got, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(got, 2);
    CHECK_INT(mirage_tls_flow_bytes(sf), full);
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
    CHECK_INT(mirage_flow_on_readable(sf, NULL, NULL), 0);
    /* Parked and woken many times, with records of every size both ways: nothing is lost. */
    static uint8_t big[40000], back[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    for (size_t len = 1; len <= sizeof(big); len = len * 3 + 1) {
        CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
        CHECK(mirage_tls_flow_bytes(sf) < 5000);
        CHECK_INT(mirage_flow_write(cf, big, len, mirage_deadline_in(WAIT)), 0);
        CHECK_INT(mirage_flow_on_readable(sf, NULL, NULL), 0);
        size_t n = 0;
        while (n < len) {
            CHECK_INT(mirage_flow_read(sf, back + n, len - n, &got, mirage_deadline_in(WAIT)), 0);
            if (got == 0)
                break;
            n += got;
        }
        CHECK_INT(n, len);
        CHECK(memcmp(back, big, len) == 0);
        /* The answer goes out from a flow that was parked a moment before. */
        CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
        CHECK_INT(mirage_flow_on_readable(sf, NULL, NULL), 0);
        CHECK_INT(mirage_flow_write(sf, big, len, mirage_deadline_in(WAIT)), 0);
        n = 0;
        while (n < len) {
            CHECK_INT(mirage_flow_read(cf, back + n, len - n, &got, mirage_deadline_in(WAIT)), 0);
            if (got == 0)
                break;
            n += got;
        }
        CHECK_INT(n, len);
        CHECK(memcmp(back, big, len) == 0);
    }
    /* A record arriving while parked waits in the wrapped flow; the read takes the buffers. */
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
    CHECK_INT(mirage_flow_write(cf, "x", 1, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 1);
    CHECK_INT(mirage_flow_on_readable(sf, NULL, NULL), 0);
    CHECK_INT(mirage_flow_read(sf, buf, sizeof(buf), &got, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(got, 1);
    CHECK_INT(mirage_tls_flow_bytes(sf), full);
    /* Shut down while parked: close_notify still leaves, and the client reads a clean end. */
    CHECK_INT(mirage_flow_on_readable(sf, on_readable, NULL), 0);
    CHECK(mirage_tls_flow_bytes(sf) < 5000);
    CHECK_INT(mirage_flow_on_readable(sf, NULL, NULL), 0);
    CHECK_INT(mirage_flow_shutdown(sf, MIRAGE_SHUT_WR), 0);
    CHECK_INT(mirage_flow_read(cf, buf, sizeof(buf), &got, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(got, 0);
    mirage_flow_close(cf);
    mirage_flow_close(sf);
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

/* New certificates take over without a restart; an open connection goes on. */
static void test_reload(void)
{
    struct mirage_tls_certs *only_rsa = mirage_tls_certs_new();
    struct mirage_tls_server *srv = NULL;
    struct mirage_tls_client *cli = client_ca(NULL);
    struct conn old, c;
    uint8_t b[8];
    size_t got;

    CHECK_INT(
        mirage_tls_certs_add(only_rsa, NULL, rsa_pem.data, rsa_pem.len, rsa_key.data, rsa_key.len),
        0);
    CHECK_INT(mirage_tls_server_new(NULL, only_rsa, &srv), 0);
    conn_open(&old, srv, cli, "ec.test");
    CHECK_INT(old.hs, MIRAGE_EACCES); /* the RSA certificate does not name ec.test */
    conn_close(&old);
    conn_open(&old, srv, cli, "rsa.test");
    CHECK_INT(old.hs, 0);
    CHECK_INT(mirage_tls_server_set_certs(srv, mirage_tls_certs_new()), MIRAGE_EINVAL);
    CHECK_INT(mirage_tls_server_set_certs(srv, both_certs()), 0);
    conn_open(&c, srv, cli, "ec.test");
    CHECK_INT(c.hs, 0);
    conn_close(&c);
    /* The connection from before still echoes. */
    CHECK_INT(mirage_flow_write(old.client, "ping", 4, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(mirage_flow_read(old.client, b, sizeof(b), &got, mirage_deadline_in(WAIT)), 0);
    CHECK_INT(got, 4);
    conn_close(&old);
    mirage_tls_client_free(cli);
    mirage_tls_server_free(srv);
}

static void kv_put(struct mirage_kv *kv, const char *key, const struct file *f)
{
    CHECK_INT(mirage_kv_set(kv, key, f->data, f->len, NULL), 0);
}

/* Certificates from a kv store, and reloaded from it while serving: a broken
 * store leaves the old certificates in place. */
static void test_kv_reload(void)
{
    struct mirage_kv *kv = NULL;
    struct mirage_tls_certs *c = NULL;
    struct mirage_tls_server *srv = NULL;
    struct mirage_tls_client *cli = client_ca(NULL);
    struct conn cn;

    CHECK_INT(mirage_kv_mem_new(0, &kv), 0);
    CHECK_INT(mirage_tls_certs_from_kv(kv, "/tls", &c), MIRAGE_ENOENT);
    kv_put(kv, "/tls/rsa.test/cert.pem", &rsa_pem);
    kv_put(kv, "/tls/rsa.test/key.pem", &rsa_key);
    kv_put(kv, "/tls/README", &ca);
    CHECK_INT(mirage_tls_certs_from_kv(kv, "/tls", &c), 0);
    CHECK_INT(mirage_tls_certs_count(c), 1);
    CHECK_INT(mirage_tls_server_new(NULL, c, &srv), 0);
    conn_open(&cn, srv, cli, "ec.test");
    CHECK_INT(cn.hs, MIRAGE_EACCES); /* only the RSA certificate so far */
    conn_close(&cn);

    /* The EC certificate arrives in the store; the application reloads. */
    kv_put(kv, "/tls/default/cert.pem", &chain_pem);
    kv_put(kv, "/tls/default/key.pem", &ec_key_der);
    CHECK_INT(mirage_tls_server_reload(srv, kv, "/tls"), 0);
    conn_open(&cn, srv, cli, "ec.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);
    conn_open(&cn, srv, cli, "rsa.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);

    /* A key missing, then a bad one: the reload fails, the certificates stay. */
    fake_console_clear();
    CHECK_INT(mirage_kv_remove(kv, "/tls/rsa.test/key.pem", NULL), 0);
    CHECK_INT(mirage_tls_server_reload(srv, kv, "/tls"), MIRAGE_ENOENT);
    CHECK(strstr(fake_console_text(), "/tls/rsa.test/key.pem") != NULL);
    CHECK(strstr(fake_console_text(), "the old certificates stay") != NULL);
    kv_put(kv, "/tls/rsa.test/key.pem", &stranger_key);
    CHECK_INT(mirage_tls_server_reload(srv, kv, "/tls"), MIRAGE_EINVAL);
    CHECK(strstr(fake_console_text(), "certificate for rsa.test: the key's type differs") != NULL);
    CHECK_INT(mirage_tls_server_reload(srv, kv, "/nothing"), MIRAGE_ENOENT);
    conn_open(&cn, srv, cli, "rsa.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);

    mirage_tls_server_free(srv);
    mirage_tls_client_free(cli);
    mirage_kv_disconnect(kv);
}

/* A client's CA certificates from a kv store: every value under the prefix is trusted, a
 * value that is no certificate is named, an empty prefix refused. */
static void test_kv_client(void)
{
    struct mirage_kv *kv = NULL;
    struct mirage_tls_server *srv = NULL;
    struct mirage_tls_client *cli = NULL;
    struct conn cn;

    CHECK_INT(mirage_tls_server_new(NULL, both_certs(), &srv), 0);
    CHECK_INT(mirage_kv_mem_new(0, &kv), 0);
    fake_console_clear();
    CHECK_INT(mirage_tls_client_from_kv(NULL, kv, "/ca", &cli), MIRAGE_ENOENT);
    CHECK(strstr(fake_console_text(), "CA certificates") != NULL);
    /* Only a CA that signed nothing here: the server is refused. */
    kv_put(kv, "/ca/other.pem", &other_ca);
    kv_put(kv, "/ca/sub/ignored", &rsa_key);
    CHECK_INT(mirage_tls_client_from_kv(NULL, kv, "/ca", &cli), 0);
    conn_open(&cn, srv, cli, "ec.test");
    CHECK_INT(cn.hs, MIRAGE_EACCES);
    conn_close(&cn);
    mirage_tls_client_free(cli);
    /* With the right CA beside it (DER this time), both names verify. */
    kv_put(kv, "/ca/zz-ca.der", &ec_der); /* a leaf, not a CA: still an anchor as given */
    kv_put(kv, "/ca/ca.pem", &ca);
    CHECK_INT(mirage_tls_client_from_kv(NULL, kv, "/ca", &cli), 0);
    conn_open(&cn, srv, cli, "ec.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);
    conn_open(&cn, srv, cli, "rsa.test");
    CHECK_INT(cn.hs, 0);
    conn_close(&cn);
    mirage_tls_client_free(cli);
    /* A value that is no certificate: refused, its key named. */
    fake_console_clear();
    kv_put(kv, "/ca/key.pem", &rsa_key);
    cli = NULL;
    CHECK_INT(mirage_tls_client_from_kv(NULL, kv, "/ca", &cli), MIRAGE_EINVAL);
    CHECK(cli == NULL);
    CHECK(strstr(fake_console_text(), "/ca/key.pem is not a PEM or DER certificate") != NULL);
    mirage_tls_server_free(srv);
    mirage_kv_disconnect(kv);
}

int main(void)
{
    char cmd[256];

    /* Its checks read the log lines of many failed handshakes made in one
     * virtual second: the per-source rate limit would hold most back. */
    mirage_log_set_limit(0);
    mirage_log_set(getenv("LOGS") ? getenv("LOGS") : "info", NULL, 0);
    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(cmd, sizeof(cmd), "sh tests/tls/mkcerts.sh %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "mkcerts.sh failed\n");
        return 2;
    }
    /* After the certificates were made: they are not valid before that second. */
    fake_wall_base = (uint64_t)time(NULL) * 1000000000ull;
    ca = load("ca.pem");
    other_ca = load("other-ca.pem");
    rsa_pem = load("rsa.pem");
    rsa_key = load("rsa.key");
    ec_pem = load("ec.pem");
    ec_key = load("ec.key");
    ec_der = load("ec.der");
    ec_key_der = load("ec.key.der");
    chain_pem = load("chain.pem");
    stranger_pem = load("stranger.pem");
    stranger_key = load("stranger.key");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;

    test_certs();
    test_sni_alpn_echo();
    test_resumption();
    test_refusals();
    test_no_common_suite();
    test_truncation();
    test_garbage();
    test_bulk_small_records();
    test_reload();
    test_on_readable();
    test_kv_reload();
    test_kv_client();
    if (check_failures)
        fputs(fake_console_text(), stderr);
    free(ca.data);
    free(other_ca.data);
    free(rsa_pem.data);
    free(rsa_key.data);
    free(ec_pem.data);
    free(ec_key.data);
    free(ec_der.data);
    free(ec_key_der.data);
    free(chain_pem.data);
    free(stranger_pem.data);
    free(stranger_key.data);
    return CHECK_DONE();
}
