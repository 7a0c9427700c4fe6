/* secondary.c: zones kept as copies of a primary's: SOA timers, NOTIFY, IXFR or AXFR over TCP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"
#include "mirage/channel.h"
#include "mirage/heap.h"
#include "mirage/log.h"
#include "mirage/random.h"
#include "mirage/stack.h"
#include "mirage/time.h"

/*
 * One fiber per zone checks the primary's SOA serial over TCP every REFRESH
 * seconds (RETRY after a failure, at once on a NOTIFY from the primary) and,
 * when it is newer, asks on the same connection for an IXFR (an AXFR while we
 * hold no copy), taking whichever form the primary answers in. A transfer
 * that fails or does not make a valid zone leaves the copy served as it was
 * and says why. Without a good check for EXPIRE seconds the zone is answered
 * with SERVFAIL until a transfer succeeds again.
 */

#define FUDGE        300
#define FIRST_RETRY  5 /* seconds between tries while no copy is held */
#define STEP_TIMEOUT MIRAGE_SEC(10)
#define FIBER_STACK  (32u * 1024u)

static MIRAGE_LOG_SOURCE(log_sec, "dns-secondary", "zone transfers in, NOTIFY, expiry");

struct zone {
    struct mirage_dns_secondary *sec;
    struct mirage_dns_secondary_zone cfg;
    char name[MIRAGE_DNS_TEXT_MAX];
    char primary[64];
    struct mirage_dns_zone *copy; /* served by sec->server; NULL until the first transfer */
    uint32_t serial, refresh, retry, expire;
    uint64_t expires_at; /* monotonic ns */
    int expired_logged;
    int notified;
    struct mirage_cond wake;
    struct mirage_dns_secondary_stats st;
    char whybuf[128];
};

struct mirage_dns_secondary {
    struct mirage_stack *stack;
    struct mirage_dns_server *server;
    struct zone **zones;
    size_t n, cap;
};

int mirage_dns_secondary_new(struct mirage_stack *stack, struct mirage_dns_server *server,
                             struct mirage_dns_secondary **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return MIRAGE_ENOMEM;
    (*out)->stack = stack;
    (*out)->server = server;
    return 0;
}

static uint64_t wall_seconds(void)
{
    return mirage_clock_wall() / 1000000000u;
}

static int same_ip(const struct mirage_ipaddr *a, const struct mirage_ipaddr *b)
{
    return a->family == b->family && memcmp(a->a, b->a, a->family == 4 ? 4 : 16) == 0;
}

/* Writes a query for (type) of the zone, signed when the zone has a key, after
 * a 2-byte length into (buf); with (ours), an IXFR's authority SOA. */
static size_t query(struct zone *z, uint8_t *buf, size_t cap, uint16_t id, uint16_t type,
                    uint8_t mac[32])
{
    struct mirage_dns_writer wr;
    struct mirage_dns_question q = {z->cfg.origin, type, MIRAGE_DNS_CLASS_IN};

    mirage_dns_write_begin(&wr, buf + 2, cap - 2, id, 0);
    if (mirage_dns_write_question(&wr, &q) < 0)
        return 0;
    if (type == MIRAGE_DNS_IXFR) {
        struct mirage_dns_soa soa;
        uint8_t rd[2 * MIRAGE_DNS_NAME_MAX + 20];
        uint32_t ttl;
        mirage_dns_zone_soa(z->copy, &soa, &ttl);
        struct mirage_wr w = mirage_wr_init(rd, sizeof(rd));
        mirage_dns_soa_write(&w, &soa);
        struct mirage_dns_rr rr = {z->cfg.origin, MIRAGE_DNS_SOA, MIRAGE_DNS_CLASS_IN, ttl,
                                   (uint16_t)w.off, rd};
        if (mirage_dns_write_rr(&wr, MIRAGE_DNS_AUTHORITY, &rr) < 0)
            return 0;
    }
    if (z->cfg.has_key &&
        mirage_dns_tsig_sign(&wr, &z->cfg.key, wall_seconds(), FUDGE, NULL, 0, 0, mac) < 0)
        return 0;
    size_t len = mirage_dns_write_end(&wr);
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    return len + 2;
}

/* Reads one length-prefixed message into (buf) (65535 bytes). */
static int read_msg(struct mirage_channel *ch, uint8_t *buf, size_t *len, uint64_t deadline)
{
    uint8_t prefix[2];
    int r;

    if ((r = mirage_channel_read_exactly(ch, prefix, 2, deadline)) < 0)
        return r;
    *len = (size_t)prefix[0] << 8 | prefix[1];
    return mirage_channel_read_exactly(ch, buf, *len, deadline);
}

/* The primary's serial from its answer to our SOA query. */
static int soa_answer(struct zone *z, const uint8_t *msg, size_t len, uint16_t id,
                      const uint8_t mac[32], uint32_t *serial, const char **why)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_rr rr;
    struct mirage_dns_soa soa;
    int section, rc, found = 0;

    if (mirage_dns_read_begin(&rd, msg, len) < 0 || rd.h.id != id ||
        !(rd.h.flags & MIRAGE_DNS_QR))
        return dns_fail(why, "not an answer to our SOA query", MIRAGE_EBADMSG);
    if (MIRAGE_DNS_RCODE(rd.h.flags) == MIRAGE_DNS_NOTAUTH)
        return dns_fail(why, "the primary answered NOTAUTH: our TSIG key is refused",
                        MIRAGE_EACCES);
    if (MIRAGE_DNS_RCODE(rd.h.flags) != MIRAGE_DNS_NOERROR || !(rd.h.flags & MIRAGE_DNS_AA)) {
        snprintf(z->whybuf, sizeof(z->whybuf),
                 "the primary answered %s%s to the SOA query: not authoritative for the zone",
                 dns_rcode_name(MIRAGE_DNS_RCODE(rd.h.flags)),
                 rd.h.flags & MIRAGE_DNS_AA ? "" : " without AA");
        return dns_fail(why, z->whybuf, MIRAGE_EPROTO);
    }
    if (rd.h.count[0] != 1 || mirage_dns_read_question(&rd, &q) < 0 ||
        !mirage_dns_name_equal(&q.name, &z->cfg.origin) || q.type != MIRAGE_DNS_SOA)
        return dns_fail(why, "the SOA answer is to another question", MIRAGE_EBADMSG);
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        if (section == MIRAGE_DNS_ANSWER && rr.type == MIRAGE_DNS_SOA &&
            mirage_dns_name_equal(&rr.name, &z->cfg.origin) &&
            mirage_dns_soa_read(rr.rdata, rr.rdlen, &soa) == 0) {
            *serial = soa.serial;
            found = 1;
        }
    if (rc != MIRAGE_ENOENT)
        return dns_fail(why, rd.why, MIRAGE_EBADMSG);
    if (z->cfg.has_key) {
        struct mirage_dns_tsig_result res;
        rc = mirage_dns_tsig_verify(msg, len, &z->cfg.key, 1, wall_seconds(), mac, 32, &res);
        if (rc < 0)
            return dns_fail(why, rc == MIRAGE_ENOENT ? "TSIG: the SOA answer is not signed"
                                                     : res.why,
                            MIRAGE_EACCES);
    }
    if (!found)
        return dns_fail(why, "no SOA in the answer", MIRAGE_EBADMSG);
    return 0;
}

/* Serves (nz) from now on in place of our copy. */
static void install(struct zone *z, struct mirage_dns_zone *nz)
{
    struct mirage_dns_zone *old;
    struct mirage_dns_soa soa;

    mirage_dns_zone_soa(nz, &soa, NULL);
    if (mirage_dns_server_replace_zone(z->sec->server, nz, &old) < 0) {
        mirage_log_err(&log_sec, "zone %s: out of memory: serial %u not served", z->name,
                       soa.serial);
        mirage_dns_zone_free(nz);
        return;
    }
    mirage_dns_zone_free(old);
    z->copy = nz;
    z->serial = soa.serial;
    z->refresh = soa.refresh;
    z->retry = soa.retry;
    z->expire = soa.expire;
}

/* Checks the primary's serial and transfers what is newer. 0 when our copy
 * is (now) current, else an error, logged. */
static int refresh(struct zone *z)
{
    struct mirage_stack *stack = z->sec->stack;
    struct mirage_flow *flow = NULL;
    struct mirage_channel ch;
    uint8_t rbuf[4096], mac[32] = {0};
    uint8_t *buf = malloc(2 + 65535);
    const char *why = NULL;
    size_t len;
    uint32_t theirs = 0;
    uint64_t t0 = mirage_clock_monotonic();
    uint16_t id = (uint16_t)mirage_random_uniform(65536);
    int r;

    if (buf == NULL) {
        mirage_log_warn(&log_sec, "zone %s: out of memory for a transfer", z->name);
        return MIRAGE_ENOMEM;
    }
    z->st.checks++;
    if ((r = mirage_tcp_connect(stack, &z->cfg.primary, z->cfg.port, &flow,
                                mirage_deadline_in(STEP_TIMEOUT))) < 0) {
        why = mirage_strerror(r);
        goto out;
    }
    mirage_channel_init(&ch, flow, rbuf, sizeof(rbuf), NULL, 0);
    if ((len = query(z, buf, 2 + 65535, id, MIRAGE_DNS_SOA, mac)) == 0) {
        why = "the query does not fit";
        r = MIRAGE_EINVAL;
        goto out;
    }
    if ((r = mirage_flow_write(flow, buf, len, mirage_deadline_in(STEP_TIMEOUT))) < 0 ||
        (r = read_msg(&ch, buf, &len, mirage_deadline_in(STEP_TIMEOUT))) < 0) {
        why = mirage_strerror(r);
        goto out;
    }
    if ((r = soa_answer(z, buf, len, id, mac, &theirs, &why)) < 0)
        goto out;
    if (z->copy != NULL && !mirage_dns_serial_lt(z->serial, theirs)) {
        if (theirs != z->serial)
            mirage_log_warn(&log_sec, "zone %s: the primary's serial %u is older than ours (%u): "
                                      "keeping ours", z->name, theirs, z->serial);
        else
            mirage_log_debug(&log_sec, "zone %s: serial %u is current", z->name, theirs);
        r = 0;
        goto out;
    }
    /* Newer: IXFR from our serial, or the whole zone. */
    uint16_t type = z->copy ? MIRAGE_DNS_IXFR : MIRAGE_DNS_AXFR;
    struct mirage_dns_xfr_in *x = malloc(sizeof(*x));
    if (x == NULL) {
        why = "out of memory";
        r = MIRAGE_ENOMEM;
        goto out;
    }
    id = (uint16_t)mirage_random_uniform(65536);
    if ((len = query(z, buf, 2 + 65535, id, type, mac)) == 0) {
        free(x);
        why = "the query does not fit";
        r = MIRAGE_EINVAL;
        goto out;
    }
    mirage_dns_xfr_in_begin(x, &z->cfg.origin, z->copy, type, id,
                            z->cfg.has_key ? &z->cfg.key : NULL, mac);
    r = mirage_flow_write(flow, buf, len, mirage_deadline_in(STEP_TIMEOUT));
    while (r >= 0) {
        if ((r = read_msg(&ch, buf, &len, mirage_deadline_in(STEP_TIMEOUT))) < 0) {
            why = r == MIRAGE_EPIPE || r == MIRAGE_ECONNRESET ? "the primary closed the connection"
                                                               : mirage_strerror(r);
            break;
        }
        r = mirage_dns_xfr_in_message(x, buf, len, wall_seconds());
        if (r < 0)
            why = x->why;
        if (r == 1)
            break;
    }
    mirage_flow_close(flow);
    flow = NULL;
    if (r == 1) {
        struct mirage_dns_zone *nz;
        struct mirage_dns_zone_error err;
        char what[96];
        snprintf(what, sizeof(what), "%s from %s", type == MIRAGE_DNS_IXFR ? "IXFR" : "AXFR",
                 z->primary);
        r = mirage_dns_xfr_in_finish(x, what, &nz, &err);
        if (r < 0) {
            mirage_log_warn(&log_sec, "zone %s: %s, record %u: %s; keeping %s", z->name, err.file,
                            err.line, err.msg, z->copy ? "our copy" : "nothing to serve yet");
            z->st.failures++;
        } else if (nz != NULL) {
            int incremental = x->incremental;
            unsigned diffs = x->diffs, messages = x->messages;
            install(z, nz);
            if (incremental)
                z->st.ixfrs++;
            else
                z->st.axfrs++;
            mirage_log_app_msg(&log_sec,
                               "zone %s: serial %u, %zu records, by %s from %s (%u messages%s%u "
                               "differences) in %llu ms",
                               z->name, z->serial, mirage_dns_zone_count(nz),
                               incremental ? "IXFR" : "AXFR", z->primary, messages,
                               incremental ? ", " : ", 0 ", incremental ? diffs : 0,
                               (unsigned long long)((mirage_clock_monotonic() - t0) / 1000000u));
        }
        mirage_dns_xfr_in_free(x);
        free(x);
        free(buf);
        return r < 0 ? r : 0;
    }
    mirage_dns_xfr_in_free(x);
    free(x);
out:
    if (flow != NULL)
        mirage_flow_close(flow);
    free(buf);
    if (r < 0) {
        z->st.failures++;
        mirage_log_warn(&log_sec, "zone %s: primary %s: %s; %s", z->name, z->primary,
                        why ? why : mirage_strerror(r),
                        z->copy ? "serving our copy" : "nothing to serve yet");
    }
    return r;
}

static int zone_fiber(void *arg)
{
    struct zone *z = arg;

    for (;;) {
        z->notified = 0;
        int rc = refresh(z);
        uint64_t now = mirage_clock_monotonic();
        uint64_t next;
        if (rc == 0 && z->copy != NULL) {
            z->expires_at = now + MIRAGE_SEC(z->expire);
            z->expired_logged = 0;
            next = now + MIRAGE_SEC(z->refresh);
        } else {
            next = now + MIRAGE_SEC(z->copy ? z->retry : FIRST_RETRY);
        }
        while (!z->notified) {
            uint64_t until = next;
            if (z->copy != NULL && !z->expired_logged && z->expires_at < until)
                until = z->expires_at;
            if (mirage_cond_wait(&z->wake, until) == MIRAGE_ECANCELED)
                return 0;
            now = mirage_clock_monotonic();
            if (z->copy != NULL && !z->expired_logged && now >= z->expires_at) {
                z->expired_logged = 1;
                mirage_log_warn(&log_sec,
                                "zone %s: expired: no answer from %s for %u s (EXPIRE): "
                                "SERVFAIL until a transfer succeeds",
                                z->name, z->primary, z->expire);
            }
            if (now >= next)
                break;
        }
    }
}

int mirage_dns_secondary_add(struct mirage_dns_secondary *sec,
                             const struct mirage_dns_secondary_zone *cfg)
{
    struct zone *z;

    for (size_t i = 0; i < sec->n; i++)
        if (mirage_dns_name_equal(&sec->zones[i]->cfg.origin, &cfg->origin))
            return MIRAGE_EEXIST;
    if (mirage_grow(&sec->zones, &sec->cap, sec->n + 1, sizeof(*sec->zones)) < 0 ||
        (z = calloc(1, sizeof(*z))) == NULL)
        return MIRAGE_ENOMEM;
    z->sec = sec;
    z->cfg = *cfg;
    if (z->cfg.port == 0)
        z->cfg.port = 53;
    mirage_dns_name_to_text(&cfg->origin, z->name, sizeof(z->name));
    mirage_ipaddr_format(&cfg->primary, z->cfg.port, z->primary, sizeof(z->primary));
    struct mirage_fiber *f = mirage_fiber_spawn("dns-secondary", zone_fiber, z, FIBER_STACK);
    if (f == NULL) {
        free(z);
        return MIRAGE_ENOMEM;
    }
    mirage_fiber_detach(f);
    sec->zones[sec->n++] = z;
    return 0;
}

/* The configured zone (n) is in, the one with the longest origin. */
static struct zone *zone_of(struct mirage_dns_secondary *sec, const struct mirage_dns_name *n)
{
    struct zone *best = NULL;

    for (size_t i = 0; i < sec->n; i++)
        if (mirage_dns_name_under(n, &sec->zones[i]->cfg.origin) &&
            (best == NULL || sec->zones[i]->cfg.origin.len > best->cfg.origin.len))
            best = sec->zones[i];
    return best;
}

/* An answer with only the question: (rcode), for a NOTIFY with AA and
 * signed when (key). */
static size_t short_answer(const struct mirage_dns_reader *rd, const struct mirage_dns_question *q,
                           int rcode, int aa, const struct mirage_dns_tsig_key *key,
                           const uint8_t *request_mac, uint8_t *out, size_t cap)
{
    struct mirage_dns_writer wr;
    uint8_t mac[32];
    uint16_t flags = (uint16_t)(MIRAGE_DNS_QR | (rd->h.flags & 0x7800) |
                                (rd->h.flags & MIRAGE_DNS_RD) | (aa ? MIRAGE_DNS_AA : 0) | rcode);

    if (cap < MIRAGE_DNS_HEADER)
        return 0;
    mirage_dns_write_begin(&wr, out, cap, rd->h.id, flags);
    if (mirage_dns_write_question(&wr, q) < 0)
        return 0;
    if (key != NULL && mirage_dns_tsig_sign(&wr, key, wall_seconds(), FUDGE, request_mac, 32, 0,
                                            mac) < 0)
        return 0;
    return mirage_dns_write_end(&wr);
}

static size_t notify(struct mirage_dns_secondary *sec, const struct mirage_ipaddr *from,
                     const uint8_t *msg, size_t len, struct mirage_dns_reader *rd,
                     const struct mirage_dns_question *q, uint8_t *out, size_t cap)
{
    struct zone *z = NULL;
    char src[64];

    mirage_ipaddr_format(from, 0, src, sizeof(src));
    for (size_t i = 0; i < sec->n; i++)
        if (mirage_dns_name_equal(&sec->zones[i]->cfg.origin, &q->name))
            z = sec->zones[i];
    if (z == NULL) {
        char n[MIRAGE_DNS_TEXT_MAX];
        mirage_dns_name_to_text(&q->name, n, sizeof(n));
        mirage_log_info(&log_sec, "NOTIFY for %s from %s: not a zone of ours: REFUSED", n, src);
        return short_answer(rd, q, MIRAGE_DNS_REFUSED, 0, NULL, NULL, out, cap);
    }
    if (!same_ip(from, &z->cfg.primary)) {
        z->st.notifies_refused++;
        mirage_log_warn(&log_sec, "NOTIFY for %s from %s: not its primary (%s): REFUSED", z->name,
                        src, z->primary);
        return short_answer(rd, q, MIRAGE_DNS_REFUSED, 0, NULL, NULL, out, cap);
    }
    if (z->cfg.has_key) {
        struct mirage_dns_tsig_result res;
        int rc = mirage_dns_tsig_verify(msg, len, &z->cfg.key, 1, wall_seconds(), NULL, 0, &res);
        if (rc < 0) {
            z->st.notifies_refused++;
            mirage_log_warn(&log_sec, "NOTIFY for %s from %s: TSIG: %s: NOTAUTH", z->name, src,
                            rc == MIRAGE_ENOENT ? "not signed" : res.why);
            return short_answer(rd, q, rc == MIRAGE_EBADMSG ? MIRAGE_DNS_FORMERR
                                                            : MIRAGE_DNS_NOTAUTH,
                                0, NULL, NULL, out, cap);
        }
        z->st.notifies++;
        z->notified = 1;
        mirage_cond_signal(&z->wake);
        mirage_log_info(&log_sec, "NOTIFY for %s from %s (TSIG %s): checking the primary", z->name,
                        src, "verified");
        return short_answer(rd, q, MIRAGE_DNS_NOERROR, 1, &z->cfg.key, res.mac, out, cap);
    }
    z->st.notifies++;
    z->notified = 1;
    mirage_cond_signal(&z->wake);
    mirage_log_info(&log_sec, "NOTIFY for %s from %s: checking the primary", z->name, src);
    return short_answer(rd, q, MIRAGE_DNS_NOERROR, 1, NULL, NULL, out, cap);
}

size_t mirage_dns_secondary_answer(struct mirage_dns_secondary *sec,
                                   const struct mirage_ipaddr *from, const uint8_t *msg,
                                   size_t len, int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;

    if (mirage_dns_read_begin(&rd, msg, len) == 0 && !(rd.h.flags & MIRAGE_DNS_QR) &&
        rd.h.count[0] == 1 && mirage_dns_read_question(&rd, &q) == 0) {
        int op = MIRAGE_DNS_OPCODE(rd.h.flags);
        if (op == MIRAGE_DNS_OP_NOTIFY && q.qclass == MIRAGE_DNS_CLASS_IN)
            return notify(sec, from, msg, len, &rd, &q, out, cap);
        struct zone *z = op == MIRAGE_DNS_OP_QUERY ? zone_of(sec, &q.name) : NULL;
        if (z != NULL && q.qclass == MIRAGE_DNS_CLASS_IN &&
            (z->copy == NULL || mirage_clock_monotonic() >= z->expires_at)) {
            z->st.servfails++;
            return short_answer(&rd, &q, MIRAGE_DNS_SERVFAIL, 0, NULL, NULL, out, cap);
        }
    }
    return mirage_dns_server_answer(sec->server, msg, len, tcp, out, cap);
}

int mirage_dns_secondary_stats(const struct mirage_dns_secondary *sec,
                               const struct mirage_dns_name *origin,
                               struct mirage_dns_secondary_stats *st)
{
    for (size_t i = 0; i < sec->n; i++)
        if (mirage_dns_name_equal(&sec->zones[i]->cfg.origin, origin)) {
            *st = sec->zones[i]->st;
            st->serial = sec->zones[i]->serial;
            st->loaded = sec->zones[i]->copy != NULL;
            return 0;
        }
    return MIRAGE_ENOENT;
}
