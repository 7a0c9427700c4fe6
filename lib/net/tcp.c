/* tcp.c: a TCP instance: configuration, memory accounting, the connection table, ports, ISNs. */
#include <bearssl.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/random.h"
#include "mirage/time.h"
#include "tcp_internal.h"

MIRAGE_LOG_SOURCE(tcp_log, "tcp", "TCP connections");

/* ---- memory: every byte TCP holds is counted, so tests see leaks and the
 * per-connection cost. */

/* Gives back what TCP and the runtime keep for later (cached buffers, a
 * TIME_WAIT record, finished fibers' stacks) so that an allocation that just
 * failed may succeed; returns whether anything was given back. */
static int give_back(struct mirage_tcp *t)
{
    int any = t->npool > 0;

    while (t->npool > 0) {
        t->npool--;
        t->pool_bytes -= t->pool_size[t->npool];
        t->st.heap -= t->pool_size[t->npool];
        free(t->pool[t->npool]);
    }
    /* A connection in TIME_WAIT only guards against old duplicates: under
     * memory pressure a new connection matters more (as RFC 6191 reuses one). */
    for (struct tcp_conn *c = t->all; c; c = c->all_next) {
        if (c->state == TCP_TIME_WAIT && c->released) {
            tcp_conn_close(c, 0);
            any = 1;
            break;
        }
    }
    mirage_sched_release_stacks();
    return any;
}

void *tcp_alloc(struct mirage_tcp *t, size_t size)
{
    void *p = calloc(1, size);

    if (p == NULL && give_back(t))
        p = calloc(1, size);
    if (p == NULL) {
        t->st.alloc_failures++;
        return NULL;
    }
    t->st.heap += size;
    return p;
}

void tcp_free_mem(struct mirage_tcp *t, void *p, size_t size)
{
    if (p == NULL)
        return;
    t->st.heap -= size;
    free(p);
}

uint8_t *tcp_buf_get(struct mirage_tcp *t, size_t size)
{
    for (unsigned i = 0; i < t->npool; i++) {
        if (t->pool_size[i] == size) {
            uint8_t *b = t->pool[i];
            t->npool--;
            t->pool_bytes -= size;
            t->pool[i] = t->pool[t->npool];
            t->pool_size[i] = t->pool_size[t->npool];
            return b;
        }
    }
    uint8_t *b = malloc(size);
    if (b == NULL && give_back(t))
        b = malloc(size);
    if (b == NULL) {
        t->st.alloc_failures++;
        return NULL;
    }
    t->st.heap += size;
    return b;
}

void tcp_buf_put(struct mirage_tcp *t, uint8_t *buf, size_t size)
{
    if (buf == NULL)
        return;
    if (t->npool < TCP_POOL && t->pool_bytes + size <= TCP_POOL_BYTES) {
        t->pool[t->npool] = buf;
        t->pool_size[t->npool] = size;
        t->pool_bytes += size;
        t->npool++;
        return;
    }
    t->st.heap -= size;
    free(buf);
}

/* Buffers start at TCP_BUF_MIN and double as data needs room, up to (max):
 * an idle or quiet connection holds little, a busy one its whole window. */
int tcp_ring_reserve(struct mirage_tcp *t, struct tcp_ring *r, uint32_t need, uint32_t max,
                     uint32_t keep)
{
    uint32_t ncap = r->buf ? r->cap : TCP_BUF_MIN;
    uint8_t *nb;

    if (r->buf && need <= r->cap)
        return 0;
    if (need > max)
        return MIRAGE_EINVAL;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max)
        ncap = max;
    nb = tcp_buf_get(t, ncap);
    if (nb == NULL)
        return MIRAGE_ENOMEM;
    if (r->buf) {
        /* Every byte kept keeps its offset from start: queued, unsent and
         * out-of-order data alike. Only those are copied: a grown receive
         * ring is mostly empty, and on a host that maps fresh memory lazily
         * copying all of it cost a page fault per page (BENCHMARKS.md,
         * "Receiving side, profiled"). */
        tcp_ring_copy_out(r, 0, nb, keep < r->cap ? keep : r->cap);
        tcp_free_mem(t, r->buf, r->cap); /* not cached: it was outgrown */
    }
    r->buf = nb;
    r->cap = ncap;
    r->start = 0;
    return 0;
}

/* ---- instance ----------------------------------------------------------- */

#define TCP_BUF_AUTO_MAX (4u * 1024 * 1024)

static size_t clamp_buf(size_t v);

/* A buffer's growth limit: (max) as given, the default when neither was
 * set, else the buffer's own size (a size set alone stays fixed). */
static size_t clamp_max(size_t max, size_t buf)
{
    size_t start = clamp_buf(buf);

    if (max == 0)
        max = buf == 0 ? TCP_BUF_AUTO_MAX : start;
    max = clamp_buf(max);
    return max < start ? start : max;
}

static size_t clamp_buf(size_t v)
{
    if (v == 0)
        return 64 * 1024;
    if (v < 4096)
        return 4096;
    if (v > 16u * 1024 * 1024)
        return 16u * 1024 * 1024;
    return v;
}

struct mirage_tcp *mirage_tcp_new(const struct mirage_tcp_ip *ip,
                                  const struct mirage_tcp_config *cfg)
{
    struct mirage_tcp *t;

    if (ip == NULL || ip->write == NULL || ip->src == NULL || ip->mtu == NULL)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ip = *ip;
    if (cfg)
        t->cfg = *cfg;
    t->cfg.rcvbuf_max = clamp_max(t->cfg.rcvbuf_max, t->cfg.rcvbuf);
    t->cfg.sndbuf_max = clamp_max(t->cfg.sndbuf_max, t->cfg.sndbuf);
    t->cfg.rcvbuf = clamp_buf(t->cfg.rcvbuf);
    t->cfg.sndbuf = clamp_buf(t->cfg.sndbuf);
    if (t->cfg.cc != MIRAGE_TCP_NEWRENO)
        t->cfg.cc = MIRAGE_TCP_CUBIC;
    if (t->cfg.rto_min == 0)
        t->cfg.rto_min = MIRAGE_MS(200);
    if (t->cfg.rto_initial == 0)
        t->cfg.rto_initial = MIRAGE_SEC(1);
    if (t->cfg.msl == 0)
        t->cfg.msl = MIRAGE_SEC(30);
    if (t->cfg.delack == 0)
        t->cfg.delack = MIRAGE_MS(40);
    if (t->cfg.max_retries == 0)
        t->cfg.max_retries = 12;
    if (t->cfg.syn_retries == 0)
        t->cfg.syn_retries = 5;
    if (t->cfg.port_lo == 0 || t->cfg.port_hi < t->cfg.port_lo) {
        t->cfg.port_lo = 49152;
        t->cfg.port_hi = 65535;
    }
    t->hsize = 64;
    t->htab = calloc(t->hsize, sizeof(*t->htab));
    if (t->htab == NULL) {
        free(t);
        return NULL;
    }
    mirage_random_bytes(t->secret, sizeof(t->secret));
    mirage_random_bytes(t->cookie_key, sizeof(t->cookie_key));
    t->next_port = (uint16_t)(t->cfg.port_lo +
                              mirage_random_uniform((uint64_t)t->cfg.port_hi - t->cfg.port_lo + 1));
    return t;
}

void mirage_tcp_free(struct mirage_tcp *t)
{
    if (t == NULL)
        return;
    while (t->listeners)
        mirage_tcp_listener_close(&t->listeners->base);
    for (struct tcp_conn *c = t->all, *next; c; c = next) {
        next = c->all_next;
        /* Once our FIN is acknowledged the peer has all we sent; a reset
         * could only make it flush what it has not read yet (RFC 9293
         * 3.10.7.4), so those go silently, as TIME_WAIT does. */
        if (c->state == TCP_TIME_WAIT || c->state == TCP_CLOSED ||
            (c->state == TCP_FIN_WAIT_2 && c->snd.len == 0))
            tcp_conn_close(c, MIRAGE_ECONNRESET);
        else
            tcp_conn_abort(c, MIRAGE_ECONNRESET);
    }
    /* What is left the application holds: it lives on until closed. */
    mirage_timer_stop(&t->push_timer);
    for (struct tcp_conn *c = t->all; c; c = c->all_next) {
        c->pushing = c->corked = 0;
        c->push_next = NULL;
        c->tcp = NULL;
    }
    for (unsigned i = 0; i < t->npool; i++)
        free(t->pool[i]);
    free(t->htab);
    free(t);
}

/* Whether (c) still owes the peer something the application gave it: data
 * not yet acknowledged, or a FIN (close or shutdown) not yet acknowledged. */
static int unsettled(const struct tcp_conn *c)
{
    switch (c->state) {
    case TCP_FIN_WAIT_1:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        return 1;
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT_2:
    case TCP_CLOSE_WAIT:
        return c->snd.len > 0;
    default:
        return 0;
    }
}

static unsigned count_unsettled(const struct mirage_tcp *t)
{
    unsigned n = 0;

    for (const struct tcp_conn *c = t->all; c; c = c->all_next)
        n += unsettled(c);
    return n;
}

void tcp_drain_wake(struct mirage_tcp *t)
{
    if (t->draining)
        mirage_cond_broadcast(&t->drain_cond);
}

/* What a host does to a process's sockets when it exits: a connection the
 * application still holds is shut down for writing, or reset if it holds data
 * the application never read (as close does, RFC 2525 2.17). */
static void finish_held(struct mirage_tcp *t)
{
    for (struct tcp_conn *c = t->all; c; c = c->all_next) {
        if (c->released || c->wr_shut ||
            (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
            continue;
        if (c->rcv.len > 0 || c->ooo.n > 0)
            tcp_conn_abort(c, MIRAGE_ECONNRESET); /* held: stays on the list */
        else
            mirage_flow_shutdown(&c->flow, MIRAGE_SHUT_WR);
    }
}

int mirage_tcp_drain(struct mirage_tcp *t, uint64_t deadline)
{
    unsigned left;
    int r = 0;

    finish_held(t);
    t->draining++;
    while ((left = count_unsettled(t)) > 0) {
        r = mirage_cond_wait(&t->drain_cond, deadline);
        if (r != 0) {
            left = count_unsettled(t);
            break;
        }
    }
    t->draining--;
    if (left == 0)
        return 0;
    mirage_log_warn(&tcp_log, "%u connection%s still sending when the wait ended (%s)", left,
                    left == 1 ? "" : "s", mirage_strerror(r));
    return r;
}

void mirage_tcp_stats(const struct mirage_tcp *t, struct mirage_tcp_stats *st)
{
    *st = t->st;
    st->conns = 0;
    st->time_wait = 0;
    for (const struct tcp_conn *c = t->all; c; c = c->all_next) {
        st->conns++;
        if (c->state == TCP_TIME_WAIT)
            st->time_wait++;
    }
}

/* ---- connections and the table ------------------------------------------ */

/* The smallest shift that lets the window cover the largest buffer. */
int tcp_wscale_for(const struct mirage_tcp *t)
{
    int s = 0;

    if (!t->cfg.no_wscale)
        while (s < 14 && ((uint32_t)0xffff << s) < t->cfg.rcvbuf_max)
            s++;
    return s;
}

struct tcp_conn *tcp_conn_new(struct mirage_tcp *t)
{
    struct tcp_conn *c = tcp_alloc(t, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->flow.ops = tcp_flow_ops_get();
    c->tcp = t;
    c->released = 1;
    c->rto = t->cfg.rto_initial;
    c->user_timeout = t->cfg.user_timeout;
    c->rcv_cap = (uint32_t)t->cfg.rcvbuf;
    c->cc = t->cfg.cc == MIRAGE_TCP_NEWRENO ? &tcp_newreno : &tcp_cubic;
    c->rcv_wscale = (uint8_t)tcp_wscale_for(t);
    c->all_next = t->all;
    if (t->all)
        t->all->all_prev = c;
    t->all = c;
    return c;
}

/* Frees (c) and all it holds; it must be out of the table and every queue. */
void tcp_conn_free(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;

    mirage_timer_stop(&c->rtx_timer);
    mirage_timer_stop(&c->ack_timer);
    mirage_timer_stop(&c->ka_timer);
    tcp_push_forget(c);
    tcp_listener_uncount(c);
    if (t == NULL) { /* the instance is gone; the application held (c) */
        free(c->snd.buf);
        free(c->rcv.buf);
        free(c);
        return;
    }
    if (c->hashed)
        tcp_hash_remove(c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        t->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    tcp_buf_put(t, c->snd.buf, c->snd.cap);
    tcp_buf_put(t, c->rcv.buf, c->rcv.cap);
    tcp_free_mem(t, c, sizeof(*c));
}

int tcp_addr_eq(const struct mirage_ipaddr *a, const struct mirage_ipaddr *b)
{
    size_t n = a->family == 6 ? 16 : 4;

    return a->family == b->family && memcmp(a->a, b->a, n) == 0;
}

static size_t hash_tuple(const struct mirage_tcp *t, const struct mirage_ipaddr *local,
                         uint16_t lport, const struct mirage_ipaddr *remote, uint16_t rport)
{
    /* Keyed by the secret so peers cannot aim at one chain. */
    uint64_t h = 0;
    memcpy(&h, t->secret, 8);
    for (int i = 0; i < 16; i++) {
        h ^= (uint64_t)remote->a[i] + ((uint64_t)local->a[i] << 8);
        h *= 0x100000001b3ull;
    }
    h ^= (uint64_t)lport << 16 | rport;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return (size_t)(h & (t->hsize - 1));
}

static void rehash(struct mirage_tcp *t, size_t nsize)
{
    struct tcp_conn **n = calloc(nsize, sizeof(*n));
    struct tcp_conn **old = t->htab;
    size_t osize = t->hsize;

    if (n == NULL)
        return; /* longer chains, still correct */
    t->htab = n;
    t->hsize = nsize;
    for (size_t i = 0; i < osize; i++) {
        while (old[i]) {
            struct tcp_conn *c = old[i];
            old[i] = c->hnext;
            size_t h = hash_tuple(t, &c->local, c->lport, &c->remote, c->rport);
            c->hnext = n[h];
            n[h] = c;
        }
    }
    free(old);
}

int tcp_hash_insert(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    size_t h;

    if (tcp_lookup(t, &c->local, c->lport, &c->remote, c->rport))
        return MIRAGE_EADDRINUSE;
    if (t->nconns + 1 > t->hsize * 2)
        rehash(t, t->hsize * 4);
    h = hash_tuple(t, &c->local, c->lport, &c->remote, c->rport);
    c->hnext = t->htab[h];
    t->htab[h] = c;
    c->hashed = 1;
    t->nconns++;
    return 0;
}

void tcp_hash_remove(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    size_t h = hash_tuple(t, &c->local, c->lport, &c->remote, c->rport);

    for (struct tcp_conn **p = &t->htab[h]; *p; p = &(*p)->hnext) {
        if (*p == c) {
            *p = c->hnext;
            c->hnext = NULL;
            c->hashed = 0;
            t->nconns--;
            return;
        }
    }
}

struct tcp_conn *tcp_lookup(struct mirage_tcp *t, const struct mirage_ipaddr *local, uint16_t lport,
                            const struct mirage_ipaddr *remote, uint16_t rport)
{
    size_t h = hash_tuple(t, local, lport, remote, rport);

    for (struct tcp_conn *c = t->htab[h]; c; c = c->hnext)
        if (c->lport == lport && c->rport == rport && tcp_addr_eq(&c->remote, remote) &&
            tcp_addr_eq(&c->local, local))
            return c;
    return NULL;
}

/* ---- ISNs (RFC 6528) and timestamps ------------------------------------- */

void tcp_hash_tuple(const uint8_t key[32], const struct mirage_ipaddr *local, uint16_t lport,
                    const struct mirage_ipaddr *remote, uint16_t rport, uint32_t extra,
                    uint8_t out[32])
{
    br_sha256_context h;
    uint8_t ports[8] = {(uint8_t)(lport >> 8), (uint8_t)lport,         (uint8_t)(rport >> 8),
                        (uint8_t)rport,        (uint8_t)(extra >> 24), (uint8_t)(extra >> 16),
                        (uint8_t)(extra >> 8), (uint8_t)extra};

    br_sha256_init(&h);
    br_sha256_update(&h, key, 32);
    br_sha256_update(&h, local->a, 16);
    br_sha256_update(&h, remote->a, 16);
    br_sha256_update(&h, ports, sizeof(ports));
    br_sha256_out(&h, out);
}

/* ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
 * 4-microsecond timer: a connection's successor starts above its old
 * sequence space, and outsiders cannot guess the offset. */
uint32_t tcp_isn(struct mirage_tcp *t, const struct tcp_conn *c)
{
    uint8_t d[32];
    uint32_t f;

    tcp_hash_tuple(t->secret, &c->local, c->lport, &c->remote, c->rport, 0, d);
    memcpy(&f, d, 4);
    return (uint32_t)(mirage_clock_monotonic() / 4000) + f;
}

uint32_t tcp_ts_offset(struct mirage_tcp *t, const struct mirage_ipaddr *local, uint16_t lport,
                       const struct mirage_ipaddr *remote, uint16_t rport)
{
    uint8_t d[32];
    uint32_t f;

    tcp_hash_tuple(t->secret, local, lport, remote, rport, 1, d);
    memcpy(&f, d, 4);
    return f;
}

int tcp_time_hold(struct mirage_tcp *t)
{
    if (t->now_held)
        return 0;
    t->now = t->ip.now ? t->ip.now(t->ip.ctx) : mirage_clock_monotonic();
    t->now_held = 1;
    return 1;
}

void tcp_time_release(struct mirage_tcp *t, int took)
{
    if (took)
        t->now_held = 0;
}

uint64_t tcp_time(const struct mirage_tcp *t)
{
    return t->now_held ? t->now : mirage_clock_monotonic();
}

uint64_t tcp_deadline(const struct mirage_tcp *t, uint64_t ns)
{
    uint64_t now = tcp_time(t);

    return ns >= MIRAGE_FOREVER - now ? MIRAGE_FOREVER : now + ns;
}

uint32_t tcp_now_ms(const struct mirage_tcp *t)
{
    return (uint32_t)(tcp_time(t) / 1000000u);
}

/* ---- ephemeral ports ----------------------------------------------------- */

/* Picks a port for (c) whose 4-tuple is free, scanning the whole range from
 * a moving random start: a port is reused toward other peers, so connects
 * fail only when every port toward this peer is taken. */
static int pick_port(struct tcp_conn *c)
{
    struct mirage_tcp *t = c->tcp;
    uint32_t range = (uint32_t)t->cfg.port_hi - t->cfg.port_lo + 1;
    uint32_t start = t->next_port;

    for (uint32_t i = 0; i < range; i++) {
        uint16_t p = (uint16_t)(t->cfg.port_lo + (start - t->cfg.port_lo + i) % range);
        if (tcp_listener_find(t, p))
            continue;
        if (tcp_lookup(t, &c->local, p, &c->remote, c->rport) == NULL) {
            c->lport = p;
            t->next_port = (uint16_t)(t->cfg.port_lo +
                                      (p - t->cfg.port_lo + 1 + mirage_random_uniform(64)) % range);
            return 0;
        }
    }
    return MIRAGE_EADDRINUSE;
}

/* ---- active open ---------------------------------------------------------- */

int mirage_tcp_connect_flow(struct mirage_tcp *t, const struct mirage_ipaddr *dst, uint16_t port,
                            struct mirage_flow **out, uint64_t deadline)
{
    struct tcp_conn *c;
    int r;

    *out = NULL;
    if (dst == NULL || port == 0 || (dst->family != 4 && dst->family != 6))
        return MIRAGE_EINVAL;
    c = tcp_conn_new(t);
    if (c == NULL)
        return MIRAGE_ENOMEM;
    c->remote = *dst;
    c->rport = port;
    r = t->ip.src(t->ip.ctx, dst, &c->local);
    if (r == 0)
        r = pick_port(c);
    if (r == 0)
        r = tcp_hash_insert(c);
    if (r != 0) {
        tcp_conn_free(c);
        return r;
    }
    c->released = 0;
    c->iss = tcp_isn(t, c);
    c->snd_una = c->iss;
    c->snd_nxt = c->iss + 1;
    c->ts_offset = tcp_ts_offset(t, &c->local, c->lport, &c->remote, c->rport);
    c->state = TCP_SYN_SENT;
    t->st.active_opens++;
    tcp_send_syn(c);
    tcp_arm_rto(c);
    for (;;) {
        if (c->state >= TCP_ESTABLISHED) {
            *out = &c->flow;
            return 0;
        }
        if (c->state == TCP_CLOSED) {
            r = c->err ? c->err : MIRAGE_ECONNREFUSED;
            break;
        }
        r = mirage_cond_wait(&c->wr_cond, deadline);
        if (r != 0 && c->state < TCP_ESTABLISHED)
            break;
    }
    /* Failed: nothing stays behind. */
    c->released = 1;
    if (c->state != TCP_CLOSED)
        tcp_conn_abort(c, r);
    else
        tcp_conn_close(c, r);
    return r;
}

/* ---- ICMP errors about our segments ---------------------------------------- */

void mirage_tcp_icmp_error(struct mirage_tcp *t, const struct mirage_ipaddr *local,
                           const struct mirage_ipaddr *remote, const uint8_t *hdr, size_t len,
                           int err, int hard)
{
    struct tcp_conn *c;
    uint16_t lport, rport;
    uint32_t seq;
    char a[64];

    if (len < 8)
        return;
    lport = (uint16_t)(hdr[0] << 8 | hdr[1]);
    rport = (uint16_t)(hdr[2] << 8 | hdr[3]);
    seq = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
    c = tcp_lookup(t, local, lport, remote, rport);
    if (c == NULL || c->state == TCP_LISTEN || c->state == TCP_CLOSED ||
        seq - c->snd_una >= c->snd_nxt - c->snd_una)
        return; /* not a segment of ours still unacknowledged: forged or stale */
    if (c->state != TCP_SYN_SENT)
        return; /* RFC 5461: an established connection rides out errors */
    if (!hard) {
        c->soft_err = (int16_t)err;
        return;
    }
    mirage_log_info(&tcp_log, "%s: connection attempt ended by an ICMP error (%s)",
                    mirage_ipaddr_format(&c->remote, c->rport, a, sizeof(a)),
                    err == MIRAGE_ECONNREFUSED ? "refused" : "unreachable");
    int took = tcp_time_hold(t);
    tcp_conn_close(c, err);
    tcp_time_release(t, took);
}
