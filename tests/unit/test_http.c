/* test_http.c: the channel, the HTTP parsers and the server over in-memory flows with a virtual
 * clock. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/channel.h"
#include "mirage/error.h"
#include "mirage/http.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/time.h"

/* The runtime's generator (linked in with TCP, which the server asks for no-delay)
 * mixes in the command line; the test has none. */
const char *mirage_cmdline(void);
const char *mirage_cmdline(void)
{
    return "";
}

/* ---- an in-memory flow pair: what one end writes the other reads ---------- */

struct pipe {
    uint8_t buf[1 << 16];
    size_t len;
    int closed;
    struct mirage_cond cond;
    void (*fn)(void *);
    void *ctx;
};

struct end {
    struct mirage_flow flow;
    struct pipe *in, *out;
    int closed;
};

static void pipe_wake(struct pipe *p)
{
    void (*fn)(void *) = p->fn;

    mirage_cond_broadcast(&p->cond);
    if (fn) {
        p->fn = NULL;
        fn(p->ctx);
    }
}

static int end_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct end *e = (struct end *)f;

    *got = 0;
    while (e->in->len == 0 && !e->in->closed) {
        int r = mirage_cond_wait(&e->in->cond, deadline);
        if (r != 0)
            return r;
    }
    size_t n = e->in->len < cap ? e->in->len : cap;
    memcpy(buf, e->in->buf, n);
    memmove(e->in->buf, e->in->buf + n, e->in->len - n);
    e->in->len -= n;
    *got = n;
    return 0;
}

static int end_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                      uint64_t deadline)
{
    struct end *e = (struct end *)f;

    (void)deadline;
    for (size_t i = 0; i < n; i++) {
        if (e->out->closed)
            return MIRAGE_EPIPE;
        if (iov[i].len > sizeof(e->out->buf) - e->out->len)
            return MIRAGE_ENOSPC; /* the tests never fill a pipe */
        memcpy(e->out->buf + e->out->len, iov[i].base, iov[i].len);
        e->out->len += iov[i].len;
    }
    pipe_wake(e->out);
    return 0;
}

static int end_shutdown(struct mirage_flow *f, int how)
{
    struct end *e = (struct end *)f;

    if (how & MIRAGE_SHUT_WR) {
        e->out->closed = 1;
        pipe_wake(e->out);
    }
    return 0;
}

static void end_close(struct mirage_flow *f)
{
    struct end *e = (struct end *)f;

    e->closed = 1;
    e->out->closed = 1;
    e->in->fn = NULL;
    pipe_wake(e->out);
}

static int end_on_readable(struct mirage_flow *f, void (*fn)(void *), void *ctx)
{
    struct end *e = (struct end *)f;

    e->in->fn = NULL;
    if (fn == NULL)
        return 0;
    if (e->in->len > 0 || e->in->closed)
        return 1;
    e->in->fn = fn;
    e->in->ctx = ctx;
    return 0;
}

static const struct mirage_flow_ops end_ops = {end_read, end_writev, end_shutdown, end_close,
                                               end_on_readable};
static const struct mirage_flow_ops end_ops_plain = {end_read, end_writev, end_shutdown, end_close,
                                                     NULL};

struct link {
    struct pipe a2b, b2a;
    struct end client, server;
};

static struct link *link_new(int notify)
{
    struct link *l = calloc(1, sizeof(*l));
    l->client.flow.ops = &end_ops;
    l->server.flow.ops = notify ? &end_ops : &end_ops_plain;
    l->client.in = &l->b2a;
    l->client.out = &l->a2b;
    l->server.in = &l->a2b;
    l->server.out = &l->b2a;
    return l;
}

static void send_str(struct link *l, const char *s)
{
    mirage_flow_write(&l->client.flow, s, strlen(s), MIRAGE_FOREVER);
}

/* Lets the server run, then returns what it sent so far (and takes it). */
static char got_text[1 << 16];
static const char *recv_all(struct link *l)
{
    for (int i = 0; i < 20; i++)
        mirage_fiber_yield();
    size_t n = l->b2a.len < sizeof(got_text) - 1 ? l->b2a.len : sizeof(got_text) - 1;
    memcpy(got_text, l->b2a.buf, n);
    got_text[n] = 0;
    l->b2a.len = 0;
    return got_text;
}

static int count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p++)
        n++;
    return n;
}

/* ---- the channel --------------------------------------------------------------- */

static void test_channel(void)
{
    struct link *l = link_new(1);
    struct mirage_channel ch;
    uint8_t rbuf[16], wbuf[8];
    const char *line;
    size_t len;
    char out[32];

    mirage_channel_init(&ch, &l->server.flow, rbuf, sizeof(rbuf), wbuf, sizeof(wbuf));
    send_str(l, "one\r\ntwo\nthree-is-too-long-for-it\n");
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, MIRAGE_FOREVER), 0);
    CHECK(len == 3 && memcmp(line, "one", 3) == 0);
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, MIRAGE_FOREVER), 0);
    CHECK(len == 3 && memcmp(line, "two", 3) == 0);
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, MIRAGE_FOREVER), MIRAGE_EMSGSIZE);
    CHECK_INT(mirage_channel_read_exactly(&ch, out, 25, MIRAGE_FOREVER), 0);
    CHECK(memcmp(out, "three-is-too-long-for-it\n", 25) == 0);
    /* A deadline passes on the virtual clock. */
    uint64_t t0 = mirage_clock_monotonic();
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, t0 + MIRAGE_SEC(1)), MIRAGE_ETIMEDOUT);
    /* The last unterminated line, then the end. */
    send_str(l, "tail");
    mirage_flow_shutdown(&l->client.flow, MIRAGE_SHUT_WR);
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, MIRAGE_FOREVER), 0);
    CHECK(len == 4 && memcmp(line, "tail", 4) == 0);
    CHECK_INT(mirage_channel_read_line(&ch, &line, &len, 16, MIRAGE_FOREVER), MIRAGE_ENODATA);
    CHECK_INT(mirage_channel_read_exactly(&ch, out, 1, MIRAGE_FOREVER), MIRAGE_ENODATA);
    /* Writes: buffered, a large one straight through, in order. */
    CHECK_INT(mirage_channel_write(&ch, "abc", 3, MIRAGE_FOREVER), 0);
    CHECK_INT(l->b2a.len, 0);
    CHECK_INT(mirage_channel_printf(&ch, MIRAGE_FOREVER, "%d", 12345), 0);
    CHECK_INT(mirage_channel_write(&ch, "0123456789abcdef", 16, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_channel_flush(&ch, MIRAGE_FOREVER), 0);
    CHECK_INT(l->b2a.len, 24);
    CHECK(memcmp(l->b2a.buf, "abc123450123456789abcdef", 24) == 0);
    /* unread puts bytes back in front. */
    uint8_t r2[8];
    mirage_channel_init(&ch, &l->server.flow, r2, sizeof(r2), NULL, 0);
    CHECK_INT(mirage_channel_unread(&ch, "GE", 2), 0);
    CHECK_INT(mirage_channel_unread(&ch, "123456789", 9), MIRAGE_ENOSPC);
    const uint8_t *p;
    CHECK_INT(mirage_channel_peek(&ch, &p), 2);
    free(l);
}

/* ---- parsers ----------------------------------------------------------------------- */

static int parse(const char *text, struct mirage_http_request *req, const char **err)
{
    static char buf[8192];
    size_t n = strlen(text);
    memcpy(buf, text, n + 1);
    return mirage_http_parse_request(buf, n, 64, req, err);
}

static void test_parse_request(void)
{
    static struct mirage_http_request req;
    const char *err = NULL;

    CHECK_INT(parse("GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-A:  v  \r\n\r\n", &req, &err), 0);
    CHECK_INT(req.method, MIRAGE_HTTP_GET);
    CHECK_STR(req.path, "/a/b");
    CHECK_STR(req.query, "x=1");
    CHECK_STR(req.host, "h");
    CHECK_STR(mirage_http_request_field(&req, "x-a"), "v");
    CHECK(!req.framing.close && !req.framing.has_length && !req.framing.chunked);
    CHECK_INT(parse("GET http://example.org/p HTTP/1.1\r\nHost: other\r\n\r\n", &req, &err), 0);
    CHECK_STR(req.host, "example.org");
    CHECK_STR(req.path, "/p");
    CHECK_INT(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &req, &err), 0);
    CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n", &req, &err), 0);
    CHECK(req.framing.close);
    CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req, &err), 0);
    CHECK(!req.framing.close);
    CHECK_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", &req, &err), 0);
    CHECK(req.framing.has_length && req.framing.length == 5);
    CHECK_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &req, &err),
              0);
    CHECK(req.framing.chunked);
    CHECK_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", &req, &err), 0);
    CHECK(req.expect_continue);
    CHECK_INT(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n", &req, &err), 0);

    /* What RFC 9112 says to refuse, smuggling vectors first. */
    static const struct {
        const char *text;
        int status;
    } bad[] = {
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        {"GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        {"BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET a HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nExpect: tea\r\n\r\n", 417},
        {"GET / HTTP/1.1\r\nHost: h\r\n:v\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        int st = parse(bad[i].text, &req, &err);
        if (st != bad[i].status)
            fprintf(stderr, "case %zu: %d (%s)\n", i, st, err ? err : "");
        CHECK_INT(st, bad[i].status);
        CHECK(err != NULL);
    }
    /* Too many fields: 431. */
    char big[8192] = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 70; i++)
        strcat(big, "X: y\r\n");
    strcat(big, "\r\n");
    CHECK_INT(parse(big, &req, &err), 431);

    CHECK_INT(mirage_http_head_end((const uint8_t *)"GET / HTTP/1.1\r\n\r\nrest", 22), 18);
    CHECK_INT(mirage_http_head_end((const uint8_t *)"GET / HTTP/1.1\r\n\r", 17), 0);
    CHECK_INT(mirage_http_head_end((const uint8_t *)"GET / HTTP/1.1\n\n", 16), 16);
}

static void test_parse_response(void)
{
    static struct mirage_http_response_head resp;
    static char buf[256];
    const char *err;

    strcpy(buf, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
    CHECK_INT(mirage_http_parse_response(buf, strlen(buf), MIRAGE_HTTP_GET, &resp, &err), 0);
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.reason, "OK");
    CHECK(resp.framing.has_length && resp.framing.length == 12);
    strcpy(buf, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
    CHECK_INT(mirage_http_parse_response(buf, strlen(buf), MIRAGE_HTTP_HEAD, &resp, &err), 0);
    CHECK(resp.framing.length == 0);
    strcpy(buf, "HTTP/1.1 2x0 OK\r\n\r\n");
    CHECK_INT(mirage_http_parse_response(buf, strlen(buf), MIRAGE_HTTP_GET, &resp, &err),
              MIRAGE_EINVAL);
}

static void test_chunk_date_range(void)
{
    uint64_t n, a, b;
    char date[30];

    CHECK_INT(mirage_http_parse_chunk_size("1a", 2, &n), 0);
    CHECK_INT(n, 26);
    CHECK_INT(mirage_http_parse_chunk_size("1a ; name=val;x=\"q\\\"s\"", 22, &n), 0);
    CHECK_INT(mirage_http_parse_chunk_size("", 0, &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_parse_chunk_size("-1", 2, &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_parse_chunk_size("0x10", 4, &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_parse_chunk_size("1 2", 3, &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_parse_chunk_size("1000000000000000", 16, &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_parse_chunk_size("5;", 2, &n), MIRAGE_EINVAL);

    mirage_http_date_format(784111777, date);
    CHECK_STR(date, "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK_INT(mirage_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &n), 0);
    CHECK_INT(n, 784111777);
    CHECK_INT(mirage_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &n), 0);
    CHECK_INT(n, 784111777);
    CHECK_INT(mirage_http_date_parse("Sun Nov  6 08:49:37 1994", &n), 0);
    CHECK_INT(n, 784111777);
    CHECK_INT(mirage_http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", &n), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_date_parse("yesterday", &n), MIRAGE_EINVAL);
    mirage_http_date_format(1764645154, date); /* 2025-12-02 03:12:34 */
    CHECK_STR(date, "Tue, 02 Dec 2025 03:12:34 GMT");

    CHECK_INT(mirage_http_range_parse("bytes=0-9", 100, &a, &b), 0);
    CHECK(a == 0 && b == 9);
    CHECK_INT(mirage_http_range_parse("bytes=90-", 100, &a, &b), 0);
    CHECK(a == 90 && b == 99);
    CHECK_INT(mirage_http_range_parse("bytes=-10", 100, &a, &b), 0);
    CHECK(a == 90 && b == 99);
    CHECK_INT(mirage_http_range_parse("bytes=50-500", 100, &a, &b), 0);
    CHECK(a == 50 && b == 99);
    CHECK_INT(mirage_http_range_parse("bytes=100-", 100, &a, &b), MIRAGE_ERANGE);
    CHECK_INT(mirage_http_range_parse("bytes=-0", 100, &a, &b), MIRAGE_ERANGE);
    CHECK_INT(mirage_http_range_parse("bytes=0-1,5-6", 100, &a, &b), 1);
    CHECK_INT(mirage_http_range_parse("bytes=9-1", 100, &a, &b), 1);
    CHECK_INT(mirage_http_range_parse("items=0-1", 100, &a, &b), 1);
}

static void test_url(void)
{
    struct mirage_http_url u;
    const char *err = NULL;

    CHECK_INT(mirage_http_url_parse("http://10.0.0.1:8080/a/b?q=1#frag", &u, &err), 0);
    CHECK_STR(u.scheme, "http");
    CHECK_STR(u.host, "10.0.0.1");
    CHECK_INT(u.port, 8080);
    CHECK_STR(u.path, "/a/b?q=1");
    CHECK_INT(mirage_http_url_parse("https://example.org", &u, &err), 0);
    CHECK_INT(u.port, 443);
    CHECK_STR(u.path, "/");
    CHECK_INT(mirage_http_url_parse("http://h?x", &u, &err), 0);
    CHECK_STR(u.path, "/?x");
    CHECK_INT(mirage_http_url_parse("ftp://h/", &u, &err), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_url_parse("http:///a", &u, &err), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_url_parse("http://h:0/", &u, &err), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_url_parse("http://h:65536/", &u, &err), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_url_parse("http://h:80x/", &u, &err), MIRAGE_EINVAL);
    CHECK_INT(mirage_http_url_parse("http://h/a b", &u, &err), MIRAGE_EINVAL);
    CHECK(err != NULL);
    /* The host as an address when it is a literal; a name has none. */
    CHECK_INT(mirage_http_url_parse("http://10.0.0.1:8080/a/b?q=1#frag", &u, &err), 0);
    CHECK(u.ip.family == 4 && u.ip.a[0] == 10 && u.ip.a[3] == 1);
    CHECK_INT(mirage_http_url_parse("https://example.org", &u, &err), 0);
    CHECK_INT(u.ip.family, 0);
    /* IPv6 literals in brackets (RFC 3986 3.2.2), stored without them. */
    CHECK_INT(mirage_http_url_parse("http://[fd00::1]:8080/path", &u, &err), 0);
    CHECK_STR(u.host, "fd00::1");
    CHECK_INT(u.port, 8080);
    CHECK_STR(u.path, "/path");
    CHECK(u.ip.family == 6 && u.ip.a[0] == 0xfd && u.ip.a[1] == 0 && u.ip.a[15] == 1);
    CHECK_INT(mirage_http_url_parse("https://[::1]", &u, &err), 0);
    CHECK_STR(u.host, "::1");
    CHECK_INT(u.port, 443);
    CHECK_STR(u.path, "/");
    CHECK_INT(mirage_http_url_parse("http://[2001:db8::a:b]?x#y", &u, &err), 0);
    CHECK_STR(u.path, "/?x");
    CHECK_INT(u.ip.a[13], 0x0a);
    /* Each malformed one refused, saying why. */
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://[fd00::1/", "no ']' after the URL's IPv6 address"},
        {"http://[]/", "not an IPv6 address between the URL's brackets"},
        {"http://[fd00::g]/", "not an IPv6 address between the URL's brackets"},
        {"http://[10.0.0.1]/", "not an IPv6 address between the URL's brackets"},
        {"http://[fe80::1%25tap0]/", "not an IPv6 address between the URL's brackets"},
        {"http://[fd00::1]x/", "text after the ']' of the URL's IPv6 address"},
        {"http://[fd00::1]:/", "bad port in the URL"},
        {"http://[fd00::1]:65536/", "bad port in the URL"},
        {"http://fd00::1/", "bad port in the URL"},
        {"http://a]b/", "a bracket in the URL's host outside an IPv6 address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        CHECK_INT(mirage_http_url_parse(bad[i].url, &u, &err), MIRAGE_EINVAL);
        CHECK_STR(err, bad[i].why);
    }
}

/* ---- the server -------------------------------------------------------------------------- */

static int handler_calls;

/* GET /echo?x answers x; POST answers the body's length; GET /big streams chunked. */
static int test_handler(void *ctx, struct mirage_http_exchange *x)
{
    const struct mirage_http_request *req = mirage_http_exchange_request(x);
    char body[64];

    (void)ctx;
    handler_calls++;
    if (req->method == MIRAGE_HTTP_POST) {
        uint8_t buf[100];
        size_t got, total = 0;
        int r;
        while ((r = mirage_http_read_body(x, buf, sizeof(buf), &got)) == 0 && got > 0)
            total += got;
        if (r != 0)
            return r;
        int n = snprintf(body, sizeof(body), "got %zu", total);
        return mirage_http_respond(x, 200, "text/plain", body, (size_t)n);
    }
    if (strcmp(req->path, "/announce") == 0) /* a HEAD answered with no body written */
        return mirage_http_start(x, 200, 10);
    if (strcmp(req->path, "/big") == 0) {
        mirage_http_start(x, 200, -1);
        for (int i = 0; i < 3; i++)
            mirage_http_write(x, "part", 4);
        return mirage_http_finish(x);
    }
    const char *q = req->query ? req->query : "none";
    return mirage_http_respond(x, 200, "text/plain", q, strlen(q));
}

static void test_server(int notify)
{
    struct mirage_http_server_config cfg = {0};
    struct mirage_http_server_stats st;
    struct mirage_http_server *s;
    struct link *l = link_new(notify);
    const char *out;

    cfg.max_body = 1000;
    s = mirage_http_server_new(&cfg, test_handler, NULL);
    CHECK(s != NULL);
    CHECK_INT(mirage_http_server_add(s, &l->server.flow, NULL, 0), 0);
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.conns, 1);
    CHECK_INT(st.parked, notify ? 1 : 0);
    CHECK_INT(st.workers, 0);

    /* Keep-alive: two requests, each answered. */
    send_str(l, "GET /echo?hello HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "\r\nContent-Length: 5\r\n") != NULL);
    CHECK(strstr(out, "\r\nDate: ") != NULL);
    CHECK(strstr(out, "\r\n\r\nhello") != NULL);
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.parked, notify ? 1 : 0);
    if (notify) {
        /* Parked: the record is all it holds. */
        CHECK(st.heap > 0 && st.heap < 256);
        fprintf(stderr, "test_http: an idle connection holds %llu bytes of the server's\n",
                (unsigned long long)st.heap);
    }

    /* Pipelining: three requests in one write, answered in order. */
    send_str(l, "GET /echo?1 HTTP/1.1\r\nHost: h\r\n\r\nGET /echo?2 HTTP/1.1\r\nHost: h\r\n\r\n"
                "HEAD /echo?3 HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK_INT(count(out, "HTTP/1.1 200 OK"), 3);
    CHECK(strstr(out, "\r\n\r\n1HTTP/1.1") != NULL);
    CHECK(strstr(out, "\r\n\r\n2HTTP/1.1") != NULL);
    CHECK(strstr(out, "Content-Length: 1\r\n") != NULL);
    size_t olen = strlen(out);
    CHECK(olen > 4 && strcmp(out + olen - 4, "\r\n\r\n") == 0); /* HEAD: no body */

    /* HEAD: the handler need not write the body it announced; the connection stays. */
    send_str(l, "HEAD /announce HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK(strstr(out, "Content-Length: 10\r\n") != NULL);
    CHECK(strstr(out, "Connection: close") == NULL);
    CHECK(!l->server.closed);

    /* A head in pieces, a body by length and one chunked, and Expect. */
    send_str(l, "POST / HTTP/1.1\r\nHo");
    out = recv_all(l);
    CHECK_STR(out, "");
    mirage_http_server_stats(s, &st);
    if (notify) {
        CHECK_INT(st.parked, 1);
        CHECK(st.heap >= 19);
    }
    send_str(l, "st: h\r\nContent-Length: 7\r\n\r\nabcdefg");
    out = recv_all(l);
    CHECK(strstr(out, "got 7") != NULL);
    send_str(l, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n");
    out = recv_all(l);
    CHECK(strstr(out, "got 5") != NULL);
    send_str(l, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    out = recv_all(l);
    CHECK_STR(out, "HTTP/1.1 100 Continue\r\n\r\n");
    send_str(l, "ok");
    out = recv_all(l);
    CHECK(strstr(out, "got 2") != NULL);
    send_str(l, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK(strstr(out, "Transfer-Encoding: chunked\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\n4\r\npart\r\n4\r\npart\r\n4\r\npart\r\n0\r\n\r\n") != NULL);
    /* OPTIONS * is the server's own. */
    send_str(l, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 204", 12) == 0 && strstr(out, "Allow: ") != NULL);

    /* A body over the limit: 413 and the connection closes. */
    int calls = handler_calls;
    send_str(l, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n");
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK_INT(handler_calls, calls);
    CHECK(l->server.closed);
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.conns, 0);
    free(l);

    /* Smuggling: a chunked body with a bad size line is refused, not guessed. */
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    send_str(l, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3 x\r\nabc\r\n0\r\n\r\nGET /echo?smuggled HTTP/1.1\r\nHost: h\r\n\r\n");
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    CHECK(strstr(out, "smuggled") == NULL);
    CHECK(l->server.closed);
    free(l);

    /* A chunked body over the limit: 413. */
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    send_str(l, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n");
    char filler[1001];
    memset(filler, 'a', 1000);
    filler[1000] = 0;
    send_str(l, filler);
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
    free(l);

    /* A request line too long: 414; a head too large: 431; a bare LF: 400. */
    static char longline[24000];
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    strcpy(longline, "GET /");
    memset(longline + 5, 'a', 9000);
    strcpy(longline + 9005, " HTTP/1.1\r\nHost: h\r\n\r\n"); /* whole: still 414 */
    send_str(l, longline);
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 414 ", 13) == 0);
    free(l);
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    strcpy(longline, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 330; i++)
        strcat(longline, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    send_str(l, longline);
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    free(l);
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    send_str(l, "GET / HTTP/1.1\nHost: h\n\n");
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    free(l);

    /* A partial head times out with 408; an idle connection just closes. */
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    send_str(l, "GET / HTTP/1.1\r\n");
    recv_all(l);
    mirage_sleep_ns(MIRAGE_SEC(11));
    out = recv_all(l);
    CHECK(strncmp(out, "HTTP/1.1 408 ", 13) == 0);
    CHECK(l->server.closed);
    free(l);
    l = link_new(notify);
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    mirage_sleep_ns(MIRAGE_SEC(30));
    CHECK(!l->server.closed);
    mirage_sleep_ns(MIRAGE_SEC(31));
    out = recv_all(l);
    CHECK_STR(out, "");
    CHECK(l->server.closed);
    free(l);

    /* A connection whose request came before it was added: served, then parked. */
    l = link_new(notify);
    send_str(l, "GET /echo?early HTTP/1.1\r\nHost: h\r\n\r\n");
    mirage_http_server_add(s, &l->server.flow, NULL, 0);
    CHECK(strstr(recv_all(l), "\r\n\r\nearly") != NULL);
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.conns, 1);
    CHECK_INT(st.parked, notify ? 1 : 0);
    mirage_flow_shutdown(&l->client.flow, MIRAGE_SHUT_WR);
    recv_all(l);
    CHECK(l->server.closed);
    free(l);

    /* Many idle connections cost no fiber (notify) and are freed with the server. */
    struct link *many[50];
    for (int i = 0; i < 50; i++) {
        many[i] = link_new(notify);
        mirage_http_server_add(s, &many[i]->server.flow, NULL, 0);
    }
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.conns, 50);
    if (notify)
        CHECK_INT(st.parked, 50);
    /* A request on each: all answered, all parked again. */
    for (int i = 0; i < 50; i++)
        send_str(many[i], "GET /echo?x HTTP/1.1\r\nHost: h\r\n\r\n");
    for (int i = 0; i < 50; i++)
        CHECK(strstr(recv_all(many[i]), "\r\n\r\nx") != NULL);
    mirage_http_server_stats(s, &st);
    CHECK_INT(st.conns, 50);
    if (notify)
        CHECK_INT(st.parked, 50);
    struct mirage_sched_stats ss;
    mirage_sched_stats(&ss);
    if (notify)
        CHECK(ss.fibers <= cfg.workers + 32);
    mirage_http_server_free(s);
    for (int i = 0; i < 50; i++) {
        CHECK(many[i]->server.closed);
        free(many[i]);
    }
}

int main(void)
{
    mirage_log_set("http:quiet", NULL, 0);
    test_channel();
    test_parse_request();
    test_parse_response();
    test_chunk_date_range();
    test_url();
    test_server(1);
    test_server(0);
    mirage_sched_release_stacks();
    CHECK_DONE();
}
