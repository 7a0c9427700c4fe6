/* server.c: the HTTP/1.1 server: parked idle connections, a bounded pool of worker fibers,
 * responses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/tcp.h"
#include "mirage/time.h"

MIRAGE_LOG_SOURCE(http_log, "http", "HTTP server: one access-log line per request (info)");

#define EXTRA_MAX 2048 /* the handler's own response header fields */

enum conn_state { PARKED, READY, ACTIVE };

/* A connection; while parked, this and its partial request are all it costs. */
struct conn {
    struct mirage_flow *flow;
    struct mirage_http_server *srv;
    struct conn *next;                /* on the ready queue */
    struct conn *all_prev, *all_next; /* every connection */
    struct mirage_timer timer;        /* the idle or head deadline while parked */
    uint8_t *saved;                   /* a partial request's bytes while parked */
    uint32_t nsaved;
    uint8_t state, timed_out, own_fiber;
    uint16_t port;
    uint64_t head_deadline; /* a request has begun: its head is due by then (0: none) */
    uint64_t idle_deadline; /* no request yet: the connection ends then */
    struct mirage_ipaddr peer;
};

/* A worker: a fiber and the buffers a request needs while it is served. */
struct worker {
    struct mirage_http_server *srv;
    struct mirage_fiber *fiber;
    struct worker *next;
    struct mirage_channel ch;
    struct mirage_http_request req;
    uint8_t *rbuf, *wbuf;
    char *head;
    size_t rcap, wcap;
};

struct mirage_http_exchange {
    struct worker *w;
    struct conn *c;
    const struct mirage_http_request *req;
    struct mirage_http_body body;
    int status, started, finished, failed;
    int head_only, chunked, close;
    int continue_sent;
    int64_t length; /* announced; -1 none */
    uint64_t sent;  /* body bytes the handler wrote */
    char extra[EXTRA_MAX];
    size_t nextra;
};

struct mirage_http_server {
    struct mirage_http_server_config cfg;
    mirage_http_handler handler;
    void *ctx;
    struct conn *all;
    struct conn *ready_head, *ready_tail;
    struct mirage_cond ready_cond; /* idle workers wait here */
    struct mirage_cond gone_cond;  /* a worker or own-fiber connection ended */
    struct worker *workers;
    unsigned nworkers, idle_workers, own_fibers;
    int stopping;
    struct mirage_http_server_stats st;
};

static const struct mirage_http_server_config defaults = {
    .max_line = 8192,
    .max_head = 16384,
    .max_fields = 64,
    .max_body = 1u << 20,
    .idle_timeout = MIRAGE_SEC(60),
    .head_timeout = MIRAGE_SEC(10),
    .body_timeout = MIRAGE_SEC(30),
    .workers = 32,
};

/* ---- connections ---------------------------------------------------------- */

static void conn_free(struct conn *c)
{
    struct mirage_http_server *s = c->srv;

    mirage_timer_stop(&c->timer);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        s->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    if (c->state == PARKED)
        s->st.parked--;
    s->st.conns--;
    s->st.heap -= sizeof(*c) + c->nsaved;
    free(c->saved);
    mirage_flow_close(c->flow);
    free(c);
}

static int worker_main(void *arg);

/* Hands (c) to a worker: an idle one, or a new one while below the limit. */
static void make_ready(struct conn *c)
{
    struct mirage_http_server *s = c->srv;

    if (c->state == PARKED)
        s->st.parked--;
    c->state = READY;
    c->next = NULL;
    if (s->ready_tail)
        s->ready_tail->next = c;
    else
        s->ready_head = c;
    s->ready_tail = c;
    if (s->idle_workers > 0) {
        mirage_cond_signal(&s->ready_cond);
        return;
    }
    if (s->nworkers >= s->cfg.workers || s->stopping)
        return; /* a busy worker takes it when done */
    struct worker *w = calloc(1, sizeof(*w));
    if (w != NULL) {
        w->srv = s;
        w->rcap = s->cfg.max_head;
        w->wcap = 16384;
        w->rbuf = malloc(w->rcap);
        w->wbuf = malloc(w->wcap);
        w->head = malloc(w->rcap + 1);
    }
    if (w == NULL || w->rbuf == NULL || w->wbuf == NULL || w->head == NULL ||
        (w->fiber = mirage_fiber_spawn("http", worker_main, w, s->cfg.worker_stack)) == NULL) {
        if (w) {
            free(w->rbuf);
            free(w->wbuf);
            free(w->head);
            free(w);
        }
        if (s->nworkers == 0)
            mirage_log_err(&http_log, "cannot start a worker: out of memory");
        return;
    }
    w->next = s->workers;
    s->workers = w;
    s->nworkers++;
    s->st.workers++;
}

/* mirage_flow_on_readable's callback: bytes (or the end) arrived. */
static void conn_readable(void *arg)
{
    struct conn *c = arg;

    if (c->state != PARKED)
        return;
    mirage_timer_stop(&c->timer);
    make_ready(c);
}

static void conn_timeout(struct mirage_timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));

    if (c->state != PARKED)
        return;
    mirage_flow_on_readable(c->flow, NULL, NULL);
    c->timed_out = 1;
    make_ready(c);
}

/* Keeps (c) with no fiber until bytes arrive or its deadline passes; what is
 * unread in the worker's channel (a partial request) goes with it. */
static int conn_park(struct worker *w, struct conn *c)
{
    const uint8_t *p;
    size_t n = mirage_channel_peek(&w->ch, &p);

    if (n > 0) {
        c->saved = malloc(n);
        if (c->saved == NULL)
            return MIRAGE_ENOMEM;
        memcpy(c->saved, p, n);
        c->nsaved = (uint32_t)n;
        c->srv->st.heap += n;
    }
    c->state = PARKED;
    c->srv->st.parked++;
    mirage_timer_start(&c->timer, c->head_deadline ? c->head_deadline : c->idle_deadline,
                       conn_timeout);
    return 0;
}

/* ---- responses ------------------------------------------------------------- */

static uint64_t io_deadline(const struct mirage_http_server *s)
{
    return mirage_deadline_in(s->cfg.body_timeout);
}

static int xwrite(struct mirage_http_exchange *x, const void *p, size_t n)
{
    if (x->failed)
        return x->failed;
    int r = mirage_channel_write(&x->w->ch, p, n, io_deadline(x->w->srv));
    if (r != 0)
        x->failed = r;
    return r;
}

static int xprintf(struct mirage_http_exchange *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int xprintf(struct mirage_http_exchange *x, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return MIRAGE_EMSGSIZE;
    return xwrite(x, line, (size_t)n);
}

const struct mirage_http_request *mirage_http_exchange_request(const struct mirage_http_exchange *x)
{
    return x->req;
}

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int mirage_http_add_header(struct mirage_http_exchange *x, const char *name, const char *value)
{
    size_t need = strlen(name) + strlen(value) + 4;

    if (x->started || has_crlf(name) || has_crlf(value) || name[0] == 0)
        return MIRAGE_EINVAL;
    if (need > sizeof(x->extra) - x->nextra)
        return MIRAGE_ENOSPC;
    x->nextra += (size_t)snprintf(x->extra + x->nextra, sizeof(x->extra) - x->nextra, "%s: %s\r\n",
                                  name, value);
    return 0;
}

/* No body whatever is written: 1xx, 204, 304 and answers to HEAD. */
static int bodiless(int status)
{
    return status < 200 || status == 204 || status == 304;
}

int mirage_http_start(struct mirage_http_exchange *x, int status, int64_t length)
{
    char date[30];

    if (x->started || status < 100 || status > 999)
        return MIRAGE_EINVAL;
    x->started = 1;
    x->status = status;
    x->length = length;
    if (x->req && x->req->minor == 0 && length < 0 && !bodiless(status))
        x->close = 1; /* HTTP/1.0 has no chunked: the body ends with the connection */
    else
        x->chunked = length < 0 && !bodiless(status);
    if (x->req == NULL || x->req->framing.close)
        x->close = 1;
    mirage_http_date_format(mirage_clock_wall() / 1000000000u, date);
    xprintf(x, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: mirage\r\n", status,
            mirage_http_reason(status), date);
    if (x->nextra)
        xwrite(x, x->extra, x->nextra);
    if (x->chunked)
        xprintf(x, "Transfer-Encoding: chunked\r\n");
    else if (length >= 0 && status >= 200 && status != 204 && (status != 304 || length > 0))
        xprintf(x, "Content-Length: %lld\r\n", (long long)length);
    if (x->close)
        xprintf(x, "Connection: close\r\n");
    else if (x->req && x->req->minor == 0)
        xprintf(x, "Connection: keep-alive\r\n");
    return xwrite(x, "\r\n", 2);
}

int mirage_http_write(struct mirage_http_exchange *x, const void *data, size_t len)
{
    if (!x->started || x->finished)
        return MIRAGE_EINVAL;
    if (x->length >= 0 && x->sent + len > (uint64_t)x->length)
        return MIRAGE_EINVAL;
    x->sent += len;
    if (x->head_only || bodiless(x->status) || len == 0)
        return x->failed;
    if (x->chunked) {
        xprintf(x, "%zx\r\n", len);
        xwrite(x, data, len);
        return xwrite(x, "\r\n", 2);
    }
    return xwrite(x, data, len);
}

int mirage_http_finish(struct mirage_http_exchange *x)
{
    if (!x->started)
        return MIRAGE_EINVAL;
    if (x->finished)
        return x->failed;
    x->finished = 1;
    if (x->chunked && !x->head_only)
        xwrite(x, "0\r\n\r\n", 5);
    if (x->length >= 0 && x->sent != (uint64_t)x->length && !bodiless(x->status) && !x->head_only) {
        x->close = 1; /* the client counts on bytes that will never come */
        if (!x->failed)
            x->failed = MIRAGE_EINVAL;
    }
    int r = mirage_channel_flush(&x->w->ch, io_deadline(x->w->srv));
    if (r != 0 && !x->failed)
        x->failed = r;
    return x->failed;
}

int mirage_http_respond(struct mirage_http_exchange *x, int status, const char *content_type,
                        const void *body, size_t len)
{
    if (content_type != NULL && mirage_http_add_header(x, "Content-Type", content_type) != 0)
        return MIRAGE_EINVAL;
    int r = mirage_http_start(x, status, (int64_t)len);
    if (r == 0)
        r = mirage_http_write(x, body, len);
    if (r == 0 || x->started)
        r = mirage_http_finish(x);
    return r;
}

int mirage_http_read_body(struct mirage_http_exchange *x, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (x->req->expect_continue && !x->continue_sent && !x->body.done && !x->started) {
        x->continue_sent = 1;
        xwrite(x, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        int r = mirage_channel_flush(&x->w->ch, io_deadline(x->w->srv));
        if (r != 0)
            return r;
    }
    return mirage_http_body_read(&x->body, buf, cap, got, io_deadline(x->w->srv));
}

/* ---- the access log ---------------------------------------------------------- */

static void access_log(struct mirage_http_exchange *x, const char *method, const char *path,
                       const char *query, int minor)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char date[30], host[56];
    const struct mirage_ipaddr *a = &x->c->peer;

    if (!mirage_log_enabled(&http_log, MIRAGE_LOG_INFO))
        return;
    if (a->family == 4 || a->family == 6)
        mirage_ipaddr_format(a, 0, host, sizeof(host));
    else
        snprintf(host, sizeof(host), "-");
    /* Common Log Format wants 02/Dec/2026:03:12:34 +0000; the IMF date has the parts. */
    mirage_http_date_format(mirage_clock_wall() / 1000000000u, date);
    int m = 0;
    for (int i = 0; i < 12; i++)
        if (memcmp(date + 8, mon[i], 3) == 0)
            m = i;
    if (method)
        mirage_log_record(
            &http_log, "%s - - [%.2s/%s/%.4s:%.8s +0000] \"%s %s%s%s HTTP/1.%d\" %d %llu", host,
            date + 5, mon[m], date + 12, date + 17, method, path, query ? "?" : "",
            query ? query : "", minor, x->status, (unsigned long long)(x->head_only ? 0 : x->sent));
    else
        mirage_log_record(&http_log, "%s - - [%.2s/%s/%.4s:%.8s +0000] \"-\" %d %llu", host,
                          date + 5, mon[m], date + 12, date + 17, x->status,
                          (unsigned long long)x->sent);
}

/* ---- serving a connection ------------------------------------------------------ */

static void nothing(void *arg)
{
    (void)arg;
}

/* The server's own answer to a bad request; the connection closes after it. */
static void send_error(struct worker *w, struct conn *c, int status, const char *why)
{
    struct mirage_http_exchange x;
    char body[160];

    memset(&x, 0, sizeof(x));
    x.w = w;
    x.c = c;
    x.close = 1;
    c->srv->st.errors++;
    mirage_log_debug(&http_log, "%d: %s", status, why);
    int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, mirage_http_reason(status), why);
    mirage_http_add_header(&x, "Content-Type", "text/plain");
    mirage_http_respond(&x, status, NULL, body, (size_t)n);
    access_log(&x, NULL, NULL, NULL, 1);
    /* The connection closes next. What the client already sent is read and dropped
     * first, without waiting for more: closing with unread bytes resets the
     * connection (RFC 9293), and a reset can destroy the answer before the
     * client reads it (RFC 9112 9.6). */
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_channel_consume(&w->ch, SIZE_MAX);
    for (int i = 0; i < 64 && mirage_flow_on_readable(c->flow, nothing, NULL) == 1; i++) {
        size_t got = 0;
        if (mirage_flow_read(c->flow, w->rbuf, w->rcap, &got, MIRAGE_FOREVER) != 0 || got == 0)
            break;
    }
    mirage_flow_on_readable(c->flow, NULL, NULL);
}

/* Runs one request whose head is the first (len) bytes in the channel.
 * Returns 1 to keep the connection, 0 to close it. */
static int serve_request(struct worker *w, struct conn *c, size_t len)
{
    struct mirage_http_server *s = w->srv;
    struct mirage_http_exchange *x;
    const uint8_t *p;
    const char *err = "?";
    int status, keep;

    mirage_channel_peek(&w->ch, &p);
    memcpy(w->head, p, len);
    w->head[len] = 0;
    mirage_channel_consume(&w->ch, len);
    status = mirage_http_parse_request(w->head, len, s->cfg.max_fields, &w->req, &err);
    if (status == 0 && w->req.framing.has_length && w->req.framing.length > s->cfg.max_body) {
        status = 413;
        err = "the body is larger than the server accepts";
    }
    if (status != 0) {
        send_error(w, c, status, err);
        return 0;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        send_error(w, c, 503, "out of memory");
        return 0;
    }
    x->w = w;
    x->c = c;
    x->req = &w->req;
    x->length = -1;
    x->head_only = w->req.method == MIRAGE_HTTP_HEAD;
    mirage_http_body_init(&x->body, &w->ch, &w->req.framing, 0, s->cfg.max_body);
    int r;
    if (w->req.method == MIRAGE_HTTP_OPTIONS && strcmp(w->req.path, "*") == 0) {
        mirage_http_add_header(x, "Allow", "GET, HEAD, POST, OPTIONS");
        r = mirage_http_respond(x, 204, NULL, NULL, 0);
    } else {
        r = s->handler(s->ctx, x);
    }
    if (!x->started) {
        if (r == MIRAGE_EMSGSIZE)
            mirage_http_respond(x, 413, "text/plain", "413 Content Too Large\n", 22);
        else if (r == MIRAGE_EINVAL && !x->body.done)
            mirage_http_respond(x, 400, "text/plain", "400 Bad Request: bad body framing\n", 34);
        else
            mirage_http_respond(x, 500, "text/plain", "500 Internal Server Error\n", 26);
        x->close = 1;
    } else if (!x->finished) {
        mirage_http_finish(x);
    }
    keep = !x->close && !x->failed && r == 0;
    if (keep && !x->body.done) {
        /* The rest of the body must go before the next request: read it if
         * the client is sending it, else close. */
        if (x->req->expect_continue && !x->continue_sent) {
            keep = 0;
        } else {
            uint8_t sink[512];
            size_t got;
            uint64_t budget = 64 * 1024;
            while (!x->body.done && budget > 0) {
                if (mirage_http_body_read(&x->body, sink, sizeof(sink), &got, io_deadline(s)) !=
                        0 ||
                    got == 0)
                    break;
                budget -= got < budget ? got : budget;
            }
            keep = x->body.done;
        }
    }
    s->st.requests++;
    access_log(x, w->req.method_name, w->req.path, w->req.query, w->req.minor);
    free(x);
    return keep;
}

/*
 * Serves (c) on (w) until it must wait for bytes: then it is parked (if its
 * flow can tell when bytes arrive) and the worker moves on, or it waits here
 * (a connection with a fiber of its own). Ends the connection when it is done.
 */
static void serve_conn(struct worker *w, struct conn *c)
{
    struct mirage_http_server *s = w->srv;

    mirage_channel_init(&w->ch, c->flow, w->rbuf, w->rcap, w->wbuf, w->wcap);
    if (c->saved) {
        mirage_channel_unread(&w->ch, c->saved, c->nsaved);
        s->st.heap -= c->nsaved;
        free(c->saved);
        c->saved = NULL;
        c->nsaved = 0;
    }
    if (c->timed_out) {
        if (c->head_deadline)
            send_error(w, c, 408, "the request head took too long");
        conn_free(c);
        return;
    }
    for (;;) {
        const uint8_t *p;
        size_t n = mirage_channel_peek(&w->ch, &p);
        size_t skip = 0;

        /* Empty lines before a request line are ignored (RFC 9112 2.2). */
        while (skip + 1 < n && p[skip] == '\r' && p[skip + 1] == '\n')
            skip += 2;
        if (skip) {
            mirage_channel_consume(&w->ch, skip);
            continue;
        }
        const uint8_t *lf = memchr(p, '\n', n);
        if ((lf == NULL && n >= s->cfg.max_line) ||
            (lf != NULL && (size_t)(lf - p) >= s->cfg.max_line)) {
            send_error(w, c, 414, "the request line is too long");
            break;
        }
        size_t end = mirage_http_head_end(p, n);
        if (end > 0) {
            c->head_deadline = 0;
            if (!serve_request(w, c, end) || s->stopping)
                break;
            c->idle_deadline = mirage_deadline_in(s->cfg.idle_timeout);
            continue;
        }
        if (n >= s->cfg.max_head) {
            send_error(w, c, 431, "the request head is too large");
            break;
        }
        if (w->ch.eof)
            break; /* the client closed (a partial request is dropped with it) */
        if (n > 0 && c->head_deadline == 0)
            c->head_deadline = mirage_deadline_in(s->cfg.head_timeout);
        int r = c->own_fiber ? MIRAGE_ENOTSUP : mirage_flow_on_readable(c->flow, conn_readable, c);
        if (r == 0) {
            if (conn_park(w, c) == 0)
                return;
            mirage_flow_on_readable(c->flow, NULL, NULL);
            break;
        }
        r = mirage_channel_fill(&w->ch, c->head_deadline ? c->head_deadline : c->idle_deadline);
        if (r == MIRAGE_ETIMEDOUT && c->head_deadline) {
            send_error(w, c, 408, "the request head took too long");
            break;
        }
        if (r != 0)
            break;
    }
    conn_free(c);
}

static int worker_main(void *arg)
{
    struct worker *w = arg;
    struct mirage_http_server *s = w->srv;

    while (!s->stopping) {
        struct conn *c = s->ready_head;
        if (c == NULL) {
            s->idle_workers++;
            int r = mirage_cond_wait(&s->ready_cond, MIRAGE_FOREVER);
            s->idle_workers--;
            if (r != 0)
                break;
            continue;
        }
        s->ready_head = c->next;
        if (s->ready_head == NULL)
            s->ready_tail = NULL;
        c->state = ACTIVE;
        serve_conn(w, c);
    }
    return 0;
}

/* A connection whose flow cannot tell when bytes arrive: a fiber of its own. */
static int own_fiber_main(void *arg)
{
    struct conn *c = arg;
    struct mirage_http_server *s = c->srv;
    struct worker w;

    memset(&w, 0, sizeof(w));
    w.srv = s;
    w.rcap = s->cfg.max_head;
    w.wcap = 16384;
    w.rbuf = malloc(w.rcap);
    w.wbuf = malloc(w.wcap);
    w.head = malloc(w.rcap + 1);
    c->state = ACTIVE;
    if (w.rbuf && w.wbuf && w.head)
        serve_conn(&w, c);
    else
        conn_free(c);
    free(w.rbuf);
    free(w.wbuf);
    free(w.head);
    s->own_fibers--;
    mirage_cond_broadcast(&s->gone_cond);
    return 0;
}

/* ---- the server ------------------------------------------------------------------ */

struct mirage_http_server *mirage_http_server_new(const struct mirage_http_server_config *cfg,
                                                  mirage_http_handler handler, void *ctx)
{
    struct mirage_http_server *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->cfg = cfg ? *cfg : defaults;
#define DEFAULT(f)                                                                                 \
    if (s->cfg.f == 0)                                                                             \
        s->cfg.f = defaults.f;
    DEFAULT(max_line);
    DEFAULT(max_head);
    DEFAULT(max_fields);
    DEFAULT(max_body);
    DEFAULT(idle_timeout);
    DEFAULT(head_timeout);
    DEFAULT(body_timeout);
    DEFAULT(workers);
#undef DEFAULT
    if (s->cfg.max_fields > MIRAGE_HTTP_MAX_FIELDS)
        s->cfg.max_fields = MIRAGE_HTTP_MAX_FIELDS;
    if (s->cfg.max_line > s->cfg.max_head)
        s->cfg.max_line = s->cfg.max_head;
    s->handler = handler;
    s->ctx = ctx;
    return s;
}

int mirage_http_server_add(struct mirage_http_server *s, struct mirage_flow *flow,
                           const struct mirage_ipaddr *peer, uint16_t port)
{
    struct conn *c;

    if (s->stopping || (s->cfg.max_conns && s->st.conns >= s->cfg.max_conns)) {
        mirage_flow_close(flow);
        return MIRAGE_ENOSPC;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        mirage_flow_close(flow);
        return MIRAGE_ENOMEM;
    }
    c->flow = flow;
    c->srv = s;
    c->state = ACTIVE; /* neither parked nor queued yet */
    if (peer)
        c->peer = *peer;
    c->port = port;
    c->idle_deadline = mirage_deadline_in(s->cfg.idle_timeout);
    c->all_next = s->all;
    if (s->all)
        s->all->all_prev = c;
    s->all = c;
    s->st.conns++;
    s->st.heap += sizeof(*c);
    int r = mirage_flow_on_readable(flow, conn_readable, c);
    if (r == 0) {
        c->state = PARKED;
        s->st.parked++;
        mirage_timer_start(&c->timer, c->idle_deadline, conn_timeout);
    } else if (r == 1) {
        make_ready(c);
    } else {
        struct mirage_fiber *f =
            mirage_fiber_spawn("http-conn", own_fiber_main, c, s->cfg.worker_stack);
        c->own_fiber = 1;
        c->state = ACTIVE;
        if (f == NULL) {
            conn_free(c);
            return MIRAGE_ENOMEM;
        }
        s->own_fibers++;
        mirage_fiber_detach(f);
    }
    return 0;
}

int mirage_http_serve(struct mirage_http_server *s, struct mirage_tcp_listener *l,
                      struct mirage_flow *(*wrap)(void *ctx, struct mirage_flow *flow),
                      void *wrap_ctx)
{
    for (;;) {
        struct mirage_flow *f;
        struct mirage_ipaddr peer;
        uint16_t port;
        int r = mirage_tcp_accept(l, &f, &peer, &port, MIRAGE_FOREVER);

        if (r != 0)
            return r;
        /* A response ends in a short segment that Nagle's rule would hold until the
         * client's delayed ACK (up to 40 ms a response); the channel already writes in
         * large pieces. (Not a direct-stack TCP flow: EINVAL, nothing to do.) */
        mirage_tcp_set_nodelay(f, 1);
        if (wrap != NULL && (f = wrap(wrap_ctx, f)) == NULL)
            continue;
        r = mirage_http_server_add(s, f, &peer, port);
        if (r != 0)
            mirage_log_warn(&http_log, "connection dropped: %s", mirage_strerror(r));
    }
}

void mirage_http_server_stats(const struct mirage_http_server *s,
                              struct mirage_http_server_stats *st)
{
    *st = s->st;
}

void mirage_http_server_free(struct mirage_http_server *s)
{
    s->stopping = 1;
    /* Parked and queued connections go first; busy ones end with their request. */
    for (struct conn *c = s->all, *next; c; c = next) {
        next = c->all_next;
        if (c->state != ACTIVE) {
            mirage_flow_on_readable(c->flow, NULL, NULL);
            conn_free(c);
        }
    }
    s->ready_head = s->ready_tail = NULL;
    for (struct worker *w = s->workers; w; w = w->next)
        mirage_fiber_cancel(w->fiber);
    while (s->workers) {
        struct worker *w = s->workers;
        s->workers = w->next;
        mirage_fiber_join(w->fiber, NULL);
        free(w->rbuf);
        free(w->wbuf);
        free(w->head);
        free(w);
    }
    for (struct conn *c = s->all; c; c = c->all_next)
        if (c->flow)
            mirage_flow_shutdown(c->flow, MIRAGE_SHUT_RDWR);
    while (s->own_fibers > 0)
        mirage_cond_wait(&s->gone_cond, MIRAGE_FOREVER);
    free(s);
}
