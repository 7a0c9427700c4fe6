/* stub.c: the stub resolver: queries to the configured servers, TCP on truncation, a bounded cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"
#include "mirage/channel.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/time.h"

/*
 * A query goes to each server in turn, over UDP from a random port with a
 * random id, each try waiting cfg.timeout, all within the caller's deadline;
 * an answer counts only from the server asked, to the port asked from, with
 * our id and our question, and well formed to its last record (anything else
 * arriving on the port is ignored and the wait goes on). A truncated answer
 * is asked again over TCP. Answers are cached whole, as they came, for the
 * smallest TTL of their answer section; negative ones (NXDOMAIN, NODATA) for
 * the SOA's TTL or MINIMUM, whichever is smaller (RFC 2308 5), and not at
 * all without an SOA. The cache is an array of cfg.cache_entries entries
 * (looked up by a hash of the name and type, then compared) holding at most
 * cfg.cache_bytes of messages; the least recently used entry goes first.
 */

#define OUR_PAYLOAD 1232
#define ANSWER_MAX  65535
#define QUERY_MAX   (MIRAGE_DNS_HEADER + MIRAGE_DNS_NAME_MAX + 4 + 11)
#define CHAIN_MAX   8

static MIRAGE_LOG_SOURCE(log_stub, "dns-stub", "the stub resolver's queries and cache");

struct entry {
    uint32_t hash;
    uint16_t type;
    uint64_t stored;    /* monotonic ns */
    uint64_t expires;   /* monotonic ns */
    uint64_t last_used; /* the use counter when last used, for eviction */
    size_t len;
    uint8_t *msg; /* as the server sent it; its question holds the name */
};

struct mirage_dns_stub {
    struct mirage_stack *stack;
    struct mirage_dns_stub_config cfg;
    struct entry *cache;
    size_t ncache, bytes;
    uint64_t clock; /* use counter */
    struct mirage_dns_stub_stats st;
    uint8_t no_edns[MIRAGE_DNS_STUB_SERVERS]; /* the server answered EDNS with FORMERR */
};

int mirage_dns_stub_servers(const struct mirage_key_list *list, struct mirage_dns_stub_config *cfg,
                            char *err, size_t errsize)
{
    char e[96];

    cfg->nservers = 0;
    for (size_t i = 0; i < list->count; i++) {
        const char *s = list->items[i];
        struct mirage_ipaddr *ip = &cfg->servers[cfg->nservers];
        if (cfg->nservers == MIRAGE_DNS_STUB_SERVERS) {
            snprintf(err, errsize, "more than %d servers", MIRAGE_DNS_STUB_SERVERS);
            return MIRAGE_EINVAL;
        }
        memset(ip, 0, sizeof(*ip));
        if (mirage_key_parse_ipv4(s, strlen(s), ip->a, e, sizeof(e)) == 0)
            ip->family = 4;
        else if (mirage_key_parse_ipv6(s, strlen(s), ip->a, e, sizeof(e)) == 0)
            ip->family = 6;
        else {
            snprintf(err, errsize, "'%s' is not an IPv4 or IPv6 address", s);
            return MIRAGE_EINVAL;
        }
        cfg->nservers++;
    }
    if (cfg->nservers == 0) {
        snprintf(err, errsize, "no server given");
        return MIRAGE_EINVAL;
    }
    return 0;
}

int mirage_dns_stub_new(struct mirage_stack *stack, const struct mirage_dns_stub_config *cfg,
                        struct mirage_dns_stub **out)
{
    struct mirage_dns_stub *s;

    *out = NULL;
    if (stack != NULL && cfg->nservers == 0)
        return MIRAGE_EINVAL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return MIRAGE_ENOMEM;
    s->stack = stack;
    s->cfg = *cfg;
    if (s->cfg.port == 0)
        s->cfg.port = 53;
    if (s->cfg.timeout == 0)
        s->cfg.timeout = MIRAGE_SEC(1);
    if (s->cfg.attempts == 0)
        s->cfg.attempts = 2;
    if (s->cfg.cache_entries == 0)
        s->cfg.cache_entries = 1024;
    if (s->cfg.cache_bytes == 0)
        s->cfg.cache_bytes = 1u << 20;
    if (s->cfg.max_ttl == 0)
        s->cfg.max_ttl = 86400;
    if ((s->cache = calloc(s->cfg.cache_entries, sizeof(*s->cache))) == NULL) {
        free(s);
        return MIRAGE_ENOMEM;
    }
    *out = s;
    return 0;
}

void mirage_dns_stub_free(struct mirage_dns_stub *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ncache; i++)
        free(s->cache[i].msg);
    free(s->cache);
    free(s);
}

void mirage_dns_stub_stats(const struct mirage_dns_stub *s, struct mirage_dns_stub_stats *st)
{
    *st = s->st;
    st->cached = s->ncache;
    st->cached_bytes = s->bytes;
}

/* ---- matching answers ------------------------------------------------------ */

int mirage_dns_stub_match(const uint8_t *msg, size_t len, uint16_t id,
                          const struct mirage_dns_question *q, const char **why)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question aq;
    struct mirage_dns_rr rr;
    int section, r, rcode;

    if (mirage_dns_read_begin(&rd, msg, len) < 0)
        return dns_fail(why, "shorter than a header", MIRAGE_EBADMSG);
    if (!(rd.h.flags & MIRAGE_DNS_QR) || MIRAGE_DNS_OPCODE(rd.h.flags) != MIRAGE_DNS_OP_QUERY)
        return dns_fail(why, "not an answer to a query", MIRAGE_EBADMSG);
    if (rd.h.id != id)
        return dns_fail(why, "another id", MIRAGE_EBADMSG);
    rcode = MIRAGE_DNS_RCODE(rd.h.flags);
    if (rd.h.count[0] == 0 && rcode != MIRAGE_DNS_NOERROR && rcode != MIRAGE_DNS_NXDOMAIN) {
        /* An error may come without the question (RFC 6891 7: FORMERR from a
         * server that does not know EDNS): nothing in it to check but the id. */
    } else if (rd.h.count[0] != 1) {
        return dns_fail(why, "not one question", MIRAGE_EBADMSG);
    } else if (mirage_dns_read_question(&rd, &aq) < 0) {
        return dns_fail(why, rd.why, MIRAGE_EBADMSG);
    } else if (!mirage_dns_name_equal(&aq.name, &q->name) || aq.type != q->type ||
               aq.qclass != q->qclass) {
        return dns_fail(why, "another question", MIRAGE_EBADMSG);
    }
    /* The rest must read as a message too: a malformed answer is no answer. */
    while ((r = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        ;
    if (r != MIRAGE_ENOENT || mirage_dns_read_end(&rd) < 0)
        return dns_fail(why, rd.why ? rd.why : "bytes after the last record", MIRAGE_EBADMSG);
    return 0;
}

/* ---- the cache ------------------------------------------------------------- */

/* FNV-1a of the name without case, and the type. */
static uint32_t key_hash(const struct mirage_dns_name *n, uint16_t type)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n->len; i++) {
        uint8_t c = n->wire[i];
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
    }
    return (h ^ type) * 16777619u;
}

/* 1 if the entry's message asks (q): its question is read again (it was checked when stored). */
static int entry_is(const struct entry *e, uint32_t hash, const struct mirage_dns_question *q)
{
    struct mirage_rd r;
    struct mirage_dns_name n;

    if (e->hash != hash || e->type != q->type || e->len <= MIRAGE_DNS_HEADER)
        return 0;
    r = mirage_rd_init(e->msg + MIRAGE_DNS_HEADER, e->len - MIRAGE_DNS_HEADER);
    return dns_name_read(&r, NULL, 0, &n, NULL) == 0 && mirage_dns_name_equal(&n, &q->name);
}

static void drop(struct mirage_dns_stub *s, struct entry *e)
{
    s->bytes -= e->len;
    free(e->msg);
    *e = s->cache[--s->ncache];
}

/* The live cache entry for (q), or NULL; drops it when expired. */
static struct entry *lookup(struct mirage_dns_stub *s, const struct mirage_dns_question *q)
{
    uint32_t hash = key_hash(&q->name, q->type);

    for (size_t i = 0; i < s->ncache; i++) {
        struct entry *e = &s->cache[i];
        if (!entry_is(e, hash, q))
            continue;
        if (mirage_clock_monotonic() >= e->expires) {
            drop(s, e);
            return NULL;
        }
        e->last_used = ++s->clock;
        return e;
    }
    return NULL;
}

/* Drops the least recently used entry. */
static void evict(struct mirage_dns_stub *s)
{
    struct entry *old = &s->cache[0];

    for (size_t i = 1; i < s->ncache; i++)
        if (s->cache[i].last_used < old->last_used)
            old = &s->cache[i];
    drop(s, old);
    s->st.evicted++;
}

/* How long (msg) may be cached, in seconds; 0: not at all. */
static uint32_t cache_ttl(const struct mirage_dns_stub *s, const uint8_t *msg, size_t len)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    int section, answers = 0, rcode;
    uint32_t ttl = UINT32_MAX, neg = UINT32_MAX;

    if (mirage_dns_read_begin(&rd, msg, len) < 0 || (rd.h.flags & MIRAGE_DNS_TC))
        return 0;
    rcode = MIRAGE_DNS_RCODE(rd.h.flags);
    if (rcode != MIRAGE_DNS_NOERROR && rcode != MIRAGE_DNS_NXDOMAIN)
        return 0; /* SERVFAIL, REFUSED, ...: asked again next time */
    while (mirage_dns_read_rr(&rd, &rr, &section) == 0) {
        if (section == MIRAGE_DNS_ANSWER) {
            answers++;
            if (rr.ttl < ttl)
                ttl = rr.ttl;
        } else if (section == MIRAGE_DNS_AUTHORITY && rr.type == MIRAGE_DNS_SOA) {
            struct mirage_dns_soa soa;
            if (mirage_dns_soa_read(rr.rdata, rr.rdlen, &soa) == 0)
                neg = rr.ttl < soa.minimum ? rr.ttl : soa.minimum;
        }
    }
    if (rcode == MIRAGE_DNS_NXDOMAIN || answers == 0)
        ttl = neg == UINT32_MAX ? 0 : neg; /* RFC 2308 5: no SOA, no negative caching */
    return ttl > s->cfg.max_ttl ? s->cfg.max_ttl : ttl;
}

uint32_t mirage_dns_stub_store(struct mirage_dns_stub *s, const struct mirage_dns_question *q,
                               const uint8_t *msg, size_t len)
{
    uint32_t ttl = cache_ttl(s, msg, len);
    struct entry *e;
    uint8_t *copy;

    if (ttl == 0 || len > s->cfg.cache_bytes || (copy = malloc(len)) == NULL)
        return 0;
    memcpy(copy, msg, len);
    if ((e = lookup(s, q)) != NULL)
        drop(s, e);
    while (s->ncache > 0 && (s->ncache == s->cfg.cache_entries || s->bytes + len > s->cfg.cache_bytes))
        evict(s);
    e = &s->cache[s->ncache++];
    e->hash = key_hash(&q->name, q->type);
    e->type = q->type;
    e->msg = copy;
    e->len = len;
    e->stored = mirage_clock_monotonic();
    e->expires = e->stored + MIRAGE_SEC((uint64_t)ttl);
    e->last_used = ++s->clock;
    s->bytes += len;
    return ttl;
}

const uint8_t *mirage_dns_stub_cached(struct mirage_dns_stub *s,
                                      const struct mirage_dns_question *q, size_t *len,
                                      uint32_t *age)
{
    struct entry *e = lookup(s, q);

    if (e == NULL)
        return NULL;
    s->st.hits++;
    *len = e->len;
    *age = (uint32_t)((mirage_clock_monotonic() - e->stored) / MIRAGE_SEC(1));
    return e->msg;
}

/* ---- asking the servers ---------------------------------------------------- */

/* A query waiting for its UDP answer. */
struct pending {
    struct mirage_dns_stub *s;
    struct mirage_ipaddr server;
    uint16_t port, id;
    const struct mirage_dns_question *q;
    uint8_t *out;
    size_t cap, len;
    int done;
    struct mirage_cond cond;
};

/* A query for (q), with an EDNS OPT record offering OUR_PAYLOAD unless (plain). */
static size_t write_query(uint8_t *buf, size_t cap, uint16_t id,
                          const struct mirage_dns_question *q, int plain)
{
    struct mirage_dns_writer wr;
    struct mirage_dns_edns e = {.payload = OUR_PAYLOAD};

    mirage_dns_write_begin(&wr, buf, cap, id, MIRAGE_DNS_RD);
    if (mirage_dns_write_question(&wr, q) < 0 || (!plain && mirage_dns_write_edns(&wr, &e) < 0))
        return 0;
    return mirage_dns_write_end(&wr);
}

static int same_addr(const struct mirage_ipaddr *a, const struct mirage_ipaddr *b)
{
    return a->family == b->family && memcmp(a->a, b->a, a->family == 4 ? 4 : 16) == 0;
}

static void on_answer(void *ctx, const struct mirage_udp_rx *rx)
{
    struct pending *p = ctx;
    const char *why = NULL;

    if (p->done)
        return;
    if (rx->src_port != p->port || !same_addr(&rx->src, &p->server))
        why = "not from the server asked";
    else if (rx->len > p->cap)
        why = "too long";
    else if (mirage_dns_stub_match(rx->data, rx->len, p->id, p->q, &why) == 0)
        why = NULL;
    if (why != NULL) {
        /* spoofed, late or malformed: the wait goes on */
        p->s->st.ignored++;
        mirage_log_info(&log_stub, "an answer ignored: %s", why);
        return;
    }
    memcpy(p->out, rx->data, rx->len);
    p->len = rx->len;
    p->done = 1;
    mirage_cond_signal(&p->cond);
}

/* One try over UDP from a random port. */
static int ask_udp(struct mirage_dns_stub *s, size_t server_i,
                   const struct mirage_dns_question *q, uint8_t *out, size_t cap, size_t *len,
                   uint64_t deadline)
{
    const struct mirage_ipaddr *server = &s->cfg.servers[server_i];
    struct pending p = {.s = s, .server = *server, .port = s->cfg.port, .q = q, .out = out,
                        .cap = cap};
    uint8_t query[QUERY_MAX];
    uint16_t local = 0;
    size_t qlen;
    int r = MIRAGE_EINVAL;

    for (int i = 0; i < 16 && r < 0; i++) {
        local = (uint16_t)(1024 + mirage_random_uniform(65536 - 1024));
        r = mirage_udp_listen(s->stack, local, on_answer, &p);
    }
    if (r < 0)
        return r;
    p.id = (uint16_t)mirage_random_uniform(65536);
    if ((qlen = write_query(query, sizeof(query), p.id, q, s->no_edns[server_i])) == 0)
        r = MIRAGE_EINVAL;
    else
        r = mirage_udp_write(s->stack, local, server, s->cfg.port, -1, query, qlen);
    s->st.sent++;
    while (r == 0 && !p.done)
        if ((r = mirage_cond_wait(&p.cond, deadline)) < 0 && p.done)
            r = 0;
    mirage_udp_unlisten(s->stack, local);
    if (r == 0)
        *len = p.len;
    return r;
}

static int read_exactly(struct mirage_flow *f, uint8_t *buf, size_t n, uint64_t deadline)
{
    size_t got;
    int r;

    while (n > 0) {
        if ((r = mirage_flow_read(f, buf, n, &got, deadline)) < 0)
            return r;
        if (got == 0)
            return MIRAGE_ECONNRESET;
        buf += got;
        n -= got;
    }
    return 0;
}

/* The same over TCP (RFC 7766), for a truncated answer. */
static int ask_tcp(struct mirage_dns_stub *s, size_t server_i,
                   const struct mirage_dns_question *q, uint8_t *out, size_t cap, size_t *len,
                   uint64_t deadline)
{
    const struct mirage_ipaddr *server = &s->cfg.servers[server_i];
    struct mirage_flow *f;
    uint8_t query[2 + QUERY_MAX], prefix[2];
    uint16_t id = (uint16_t)mirage_random_uniform(65536);
    const char *why = NULL;
    size_t qlen;
    int r;

    s->st.tcp++;
    if ((qlen = write_query(query + 2, sizeof(query) - 2, id, q, s->no_edns[server_i])) == 0)
        return MIRAGE_EINVAL;
    query[0] = (uint8_t)(qlen >> 8);
    query[1] = (uint8_t)qlen;
    if ((r = mirage_tcp_connect(s->stack, server, s->cfg.port, &f, deadline)) < 0)
        return r;
    if ((r = mirage_flow_write(f, query, qlen + 2, deadline)) == 0 &&
        (r = read_exactly(f, prefix, 2, deadline)) == 0) {
        *len = (size_t)prefix[0] << 8 | prefix[1];
        if (*len > cap)
            r = MIRAGE_EMSGSIZE;
        else if ((r = read_exactly(f, out, *len, deadline)) == 0 &&
                 mirage_dns_stub_match(out, *len, id, q, &why) < 0) {
            s->st.ignored++;
            mirage_log_info(&log_stub, "an answer over TCP ignored: %s", why);
            r = MIRAGE_EBADMSG;
        }
    }
    mirage_flow_close(f);
    return r;
}

int mirage_dns_stub_query(struct mirage_dns_stub *s, const struct mirage_dns_question *q,
                          uint8_t *out, size_t cap, size_t *len, uint64_t deadline)
{
    const uint8_t *msg;
    uint32_t age;
    int r = MIRAGE_ETIMEDOUT;

    if ((msg = mirage_dns_stub_cached(s, q, len, &age)) != NULL) {
        if (*len > cap)
            return MIRAGE_EMSGSIZE;
        memcpy(out, msg, *len);
        return 0;
    }
    s->st.misses++;
    if (s->stack == NULL)
        return MIRAGE_ETIMEDOUT;
    for (unsigned a = 0; a < s->cfg.attempts; a++) {
        for (size_t i = 0; i < s->cfg.nservers; i++) {
            uint64_t now = mirage_clock_monotonic(), until = now + s->cfg.timeout;
            if (now >= deadline)
                return MIRAGE_ETIMEDOUT;
            if (until > deadline)
                until = deadline;
            r = ask_udp(s, i, q, out, cap, len, until);
            if (r == 0 && MIRAGE_DNS_RCODE(out[3]) == MIRAGE_DNS_FORMERR && !s->no_edns[i]) {
                /* RFC 6891 7: a server that does not know EDNS; asked again
                 * without it, and from now on. */
                char addr[64];
                s->no_edns[i] = 1;
                mirage_log_info(&log_stub, "%s answered EDNS with FORMERR: asked without it",
                                mirage_ipaddr_format(&s->cfg.servers[i], 0, addr, sizeof(addr)));
                r = ask_udp(s, i, q, out, cap, len, until);
            }
            if (r == 0 && (out[2] & (MIRAGE_DNS_TC >> 8)))
                r = ask_tcp(s, i, q, out, cap, len, deadline);
            if (r == MIRAGE_ETIMEDOUT)
                s->st.timeouts++;
            if (r < 0)
                continue; /* the next server */
            int rcode = MIRAGE_DNS_RCODE(out[3]);
            if (rcode != MIRAGE_DNS_NOERROR && rcode != MIRAGE_DNS_NXDOMAIN) {
                r = MIRAGE_EPROTO; /* SERVFAIL, REFUSED, FORMERR, NOTIMP: another may know better */
                continue;
            }
            mirage_dns_stub_store(s, q, out, *len);
            return 0;
        }
    }
    return r == MIRAGE_ECANCELED ? r : r == MIRAGE_EPROTO ? r : MIRAGE_ETIMEDOUT;
}

/* ---- answering clients from it ------------------------------------------- */

size_t mirage_dns_stub_answer(const uint8_t *msg, size_t len, uint32_t age, const uint8_t *query,
                              size_t qlen, int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_reader rd, qr;
    struct mirage_dns_question q;
    struct mirage_dns_writer wr;
    struct mirage_dns_rr rr;
    struct mirage_dns_edns edns = {0};
    struct mirage_dns_mark after_q;
    int section, have_edns = 0, r;
    size_t limit = cap > 65535 ? 65535 : cap;

    if (mirage_dns_read_begin(&qr, query, qlen) < 0 || (qr.h.flags & MIRAGE_DNS_QR) ||
        qr.h.count[0] != 1 || mirage_dns_read_question(&qr, &q) < 0)
        return 0;
    while ((r = mirage_dns_read_rr(&qr, &rr, &section)) == 0)
        if (rr.type == MIRAGE_DNS_OPT && mirage_dns_edns_read(&rr, &edns, NULL) == 0)
            have_edns = 1;
    if (r != MIRAGE_ENOENT)
        return 0;
    if (!tcp) {
        size_t payload = have_edns && edns.payload > MIRAGE_DNS_UDP_MIN ? edns.payload
                                                                        : MIRAGE_DNS_UDP_MIN;
        if (payload > OUR_PAYLOAD)
            payload = OUR_PAYLOAD;
        if (payload < limit)
            limit = payload;
    }
    if (limit < MIRAGE_DNS_UDP_MIN || mirage_dns_read_begin(&rd, msg, len) < 0 ||
        mirage_dns_read_question(&rd, &(struct mirage_dns_question){0}) < 0)
        return 0;
    uint16_t flags = (uint16_t)((rd.h.flags & ~(MIRAGE_DNS_TC | MIRAGE_DNS_RD | MIRAGE_DNS_AA)) |
                                (qr.h.flags & MIRAGE_DNS_RD) | MIRAGE_DNS_RA);
    mirage_dns_write_begin(&wr, out, limit - (have_edns ? 11 : 0), qr.h.id, flags);
    if (mirage_dns_write_question(&wr, &q) < 0)
        return 0;
    mirage_dns_write_mark(&wr, &after_q);
    while ((r = mirage_dns_read_rr(&rd, &rr, &section)) == 0) {
        if (rr.type == MIRAGE_DNS_OPT || rr.type == MIRAGE_DNS_TSIG)
            continue;
        rr.ttl = rr.ttl > age ? rr.ttl - age : 0;
        if (mirage_dns_write_rr(&wr, section, &rr) < 0 && section != MIRAGE_DNS_ADDITIONAL) {
            /* RFC 2181 9: what does not fit is not sent; the client asks over TCP */
            mirage_dns_write_restore(&wr, &after_q);
            wr.flags |= MIRAGE_DNS_TC;
            break;
        }
    }
    if (r < 0 && r != MIRAGE_ENOENT)
        return 0;
    if (have_edns) {
        struct mirage_dns_edns ours = {.payload = OUR_PAYLOAD};
        wr.w.len += 11;
        mirage_dns_write_edns(&wr, &ours);
    }
    return mirage_dns_write_end(&wr);
}

/* ---- names to addresses ---------------------------------------------------- */

/* The addresses of (want) in the answer (msg, len), following its CNAMEs
 * (moving *want to the chain's end) within *links. */
static int addresses(const uint8_t *msg, size_t len, uint16_t type, struct mirage_dns_name *want,
                     int *links, struct mirage_ipaddr *addrs, size_t max, size_t *n)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    int section, moved = 1;

    /* A chain's links may come in any order: read the answer again after each. */
    while (moved && *n == 0) {
        moved = 0;
        if (mirage_dns_read_begin(&rd, msg, len) < 0)
            return MIRAGE_EBADMSG;
        while (mirage_dns_read_rr(&rd, &rr, &section) == 0 && section == MIRAGE_DNS_ANSWER) {
            if (rr.rclass != MIRAGE_DNS_CLASS_IN || !mirage_dns_name_equal(&rr.name, want))
                continue;
            if (rr.type == MIRAGE_DNS_CNAME && *n == 0) {
                struct mirage_rd c = mirage_rd_init(rr.rdata, rr.rdlen);
                if (++*links > CHAIN_MAX)
                    return MIRAGE_ELOOP;
                if (dns_name_read(&c, NULL, 0, want, NULL) < 0)
                    return MIRAGE_EBADMSG;
                moved = 1;
            } else if (rr.type == type && *n < max) {
                memset(&addrs[*n], 0, sizeof(addrs[*n]));
                addrs[*n].family = type == MIRAGE_DNS_A ? 4 : 6;
                memcpy(addrs[*n].a, rr.rdata, type == MIRAGE_DNS_A ? 4 : 16);
                (*n)++;
            }
        }
    }
    return 0;
}

int mirage_dns_resolve(struct mirage_dns_stub *s, const char *host, uint16_t type,
                       struct mirage_ipaddr *addrs, size_t max, size_t *n, uint64_t deadline)
{
    struct mirage_dns_question q = {.type = type, .qclass = MIRAGE_DNS_CLASS_IN};
    char text[MIRAGE_DNS_TEXT_MAX];
    size_t hl = strlen(host), len;
    int links = 0, r;
    uint8_t *buf;

    *n = 0;
    if ((type != MIRAGE_DNS_A && type != MIRAGE_DNS_AAAA) || max == 0 || hl == 0 ||
        hl + 2 > sizeof(text))
        return MIRAGE_EINVAL;
    /* Names are absolute: no search list. */
    memcpy(text, host, hl + 1);
    if (host[hl - 1] != '.')
        memcpy(text + hl++, ".", 2);
    if (mirage_dns_name_from_text(&q.name, text, hl, NULL, NULL) < 0)
        return MIRAGE_EINVAL;
    if ((buf = malloc(ANSWER_MAX)) == NULL)
        return MIRAGE_ENOMEM;
    for (;;) {
        struct mirage_dns_name at = q.name;
        if ((r = mirage_dns_stub_query(s, &q, buf, ANSWER_MAX, &len, deadline)) < 0)
            break;
        r = MIRAGE_ENOENT;
        if (MIRAGE_DNS_RCODE(buf[3]) != MIRAGE_DNS_NOERROR)
            break;
        if ((r = addresses(buf, len, type, &at, &links, addrs, max, n)) < 0 || *n > 0)
            break;
        r = MIRAGE_ENOENT;
        if (mirage_dns_name_equal(&at, &q.name))
            break; /* no address and no CNAME: NODATA */
        q.name = at; /* the chain ends outside the answer: ask for its end */
    }
    free(buf);
    if (r < 0)
        mirage_log_debug(&log_stub, "%s: %s", host, mirage_strerror(r));
    return r;
}
