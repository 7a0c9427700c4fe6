/* server.c: the authoritative answer to one query from the zones served, without allocating. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

#define CHAIN_MAX   16   /* CNAMEs followed inside our zones */
#define OPT_SIZE    11   /* an OPT record without options */
#define OUR_PAYLOAD 1232 /* the UDP payload we offer (DNS flag day 2020) */
#define EDE_SIZE    6    /* an Extended DNS Error option without text */

/* Extended DNS Errors (RFC 8914) our refusals carry when the query has EDNS. */
#define EDE_PROHIBITED        18
#define EDE_NOT_AUTHORITATIVE 20

struct mirage_dns_server {
    struct mirage_dns_zone **zones;
    size_t n;
    struct mirage_dns_server_stats stats;
};

int mirage_dns_server_new(struct mirage_dns_server **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : MIRAGE_ENOMEM;
}

int mirage_dns_server_add_zone(struct mirage_dns_server *s, struct mirage_dns_zone *z)
{
    for (size_t i = 0; i < s->n; i++)
        if (mirage_dns_name_equal(mirage_dns_zone_origin(s->zones[i]), mirage_dns_zone_origin(z)))
            return MIRAGE_EEXIST;
    struct mirage_dns_zone **zs = realloc(s->zones, (s->n + 1) * sizeof(*zs));
    if (zs == NULL)
        return MIRAGE_ENOMEM;
    s->zones = zs;
    s->zones[s->n++] = z;
    return 0;
}

int mirage_dns_server_replace_zone(struct mirage_dns_server *s, struct mirage_dns_zone *z,
                                   struct mirage_dns_zone **old)
{
    *old = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (mirage_dns_name_equal(mirage_dns_zone_origin(s->zones[i]), mirage_dns_zone_origin(z))) {
            *old = s->zones[i];
            s->zones[i] = z;
            return 0;
        }
    return mirage_dns_server_add_zone(s, z);
}

int mirage_dns_server_remove_zone(struct mirage_dns_server *s, const struct mirage_dns_name *origin,
                                  struct mirage_dns_zone **old)
{
    *old = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (mirage_dns_name_equal(mirage_dns_zone_origin(s->zones[i]), origin)) {
            *old = s->zones[i];
            s->zones[i] = s->zones[--s->n];
            return 0;
        }
    return MIRAGE_ENOENT;
}

void mirage_dns_server_free(struct mirage_dns_server *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        mirage_dns_zone_free(s->zones[i]);
    free(s->zones);
    free(s);
}

void mirage_dns_server_stats(const struct mirage_dns_server *s, struct mirage_dns_server_stats *st)
{
    *st = s->stats;
}

/* The zone (n) is in: the one with the longest origin (n) is under. */
const struct mirage_dns_zone *dns_server_find_zone(const struct mirage_dns_server *s,
                                               const struct mirage_dns_name *n)
{
    const struct mirage_dns_zone *best = NULL;

    for (size_t i = 0; i < s->n; i++) {
        const struct mirage_dns_name *o = mirage_dns_zone_origin(s->zones[i]);
        if (mirage_dns_name_under(n, o) &&
            (best == NULL || o->len > mirage_dns_zone_origin(best)->len))
            best = s->zones[i];
    }
    return best;
}

/* An answer being written. */
struct answer {
    struct mirage_dns_writer wr;
    struct mirage_dns_mark after_question;
    const struct mirage_dns_zone *z;
    int tc;         /* a needed record did not fit: the client asks again over TCP */
    int extra_full; /* the additional section is full: the rest is left out */
    int referral;
};

/* Writes (rr) into (section); what does not fit truncates the answer, or,
 * in the additional section, is left out. */
static void put(struct answer *a, int section, const struct mirage_dns_rr *rr)
{
    if (a->tc || (section == MIRAGE_DNS_ADDITIONAL && a->extra_full))
        return;
    int rc = mirage_dns_write_rr(&a->wr, section, rr);
    if (rc == MIRAGE_ENOSPC) {
        if (section == MIRAGE_DNS_ADDITIONAL) {
            a->extra_full = 1;
        } else {
            mirage_dns_write_restore(&a->wr, &a->after_question);
            a->tc = 1;
        }
    }
}

/* Writes the records at (i..) of (type) (every type for ANY) as owned by (owner). */
static int put_set(struct answer *a, int section, size_t i, const struct mirage_dns_name *owner,
                   uint16_t type)
{
    struct mirage_dns_rr rr;
    int count = 0;

    for (; mirage_dns_zone_record(a->z, i, &rr) == 0 && mirage_dns_name_equal(&rr.name, owner);
         i++) {
        if (type != MIRAGE_DNS_ANY && rr.type != type)
            continue;
        rr.name = *owner;
        put(a, section, &rr);
        count++;
    }
    return count;
}

/* The SOA in the authority section of a negative answer, with the TTL
 * RFC 2308 5 gives it: the smaller of its own and its minimum. */
static void put_soa(struct answer *a)
{
    struct mirage_dns_rr rr;
    struct mirage_dns_soa soa;

    if (mirage_dns_zone_record(a->z, dns_zone_soa(a->z), &rr) < 0 ||
        mirage_dns_soa_read(rr.rdata, rr.rdlen, &soa) < 0)
        return;
    if (soa.minimum < rr.ttl)
        rr.ttl = soa.minimum;
    put(a, MIRAGE_DNS_AUTHORITY, &rr);
}

/* 1 if (n) has records of its own or names below it (an empty non-terminal). */
static int exists(const struct mirage_dns_zone *z, const struct mirage_dns_name *n, size_t *at)
{
    size_t i = dns_zone_lower_bound(z, n);
    *at = i;
    return dns_zone_owner_is(z, i, n) || dns_zone_owner_below(z, i, n);
}

/* The first record of (type) at (i) owned by (n), or SIZE_MAX. */
static size_t find_type(const struct mirage_dns_zone *z, size_t i, const struct mirage_dns_name *n,
                        uint16_t type)
{
    for (; dns_zone_owner_is(z, i, n); i++)
        if (dns_zone_type(z, i) == type)
            return i;
    return SIZE_MAX;
}

/* A referral to the delegation at (cut): its NS records, and the glue for
 * the ones whose names are in the zone. */
static void referral(struct answer *a, size_t i, const struct mirage_dns_name *cut)
{
    struct mirage_dns_rr ns;

    a->referral = 1;
    put_set(a, MIRAGE_DNS_AUTHORITY, i, cut, MIRAGE_DNS_NS);
    for (size_t k = i;
         mirage_dns_zone_record(a->z, k, &ns) == 0 && mirage_dns_name_equal(&ns.name, cut); k++) {
        struct mirage_dns_name target;
        struct mirage_rd r = mirage_rd_init(ns.rdata, ns.rdlen);
        if (ns.type != MIRAGE_DNS_NS || dns_name_read(&r, NULL, 0, &target, NULL) < 0 ||
            !mirage_dns_name_under(&target, mirage_dns_zone_origin(a->z)))
            continue;
        size_t g = dns_zone_lower_bound(a->z, &target);
        put_set(a, MIRAGE_DNS_ADDITIONAL, g, &target, MIRAGE_DNS_A);
        put_set(a, MIRAGE_DNS_ADDITIONAL, g, &target, MIRAGE_DNS_AAAA);
    }
}

/* The delegation above or at (n), below the apex: the NS records' index, or SIZE_MAX. */
static size_t delegation(const struct mirage_dns_zone *z, const struct mirage_dns_name *n,
                         struct mirage_dns_name *cut)
{
    int below = mirage_dns_name_labels(n) - mirage_dns_name_labels(mirage_dns_zone_origin(z));

    for (int k = below - 1; k >= 0; k--) {
        *cut = *n;
        mirage_dns_name_strip(cut, k);
        size_t i = find_type(z, dns_zone_lower_bound(z, cut), cut, MIRAGE_DNS_NS);
        if (i != SIZE_MAX)
            return dns_zone_lower_bound(z, cut);
    }
    return SIZE_MAX;
}

/* RFC 1034 4.3.2 with RFC 4592's wildcards: answers (qname, qtype) from the
 * zone, following CNAMEs inside it. Returns the rcode. */
static int resolve(struct answer *a, const struct mirage_dns_name *qname, uint16_t qtype)
{
    const struct mirage_dns_zone *z = a->z;
    struct mirage_dns_name name = *qname, cut;

    for (int hop = 0; hop < CHAIN_MAX; hop++) {
        size_t i = delegation(z, &name, &cut);
        if (i != SIZE_MAX) {
            referral(a, i, &cut);
            return MIRAGE_DNS_NOERROR;
        }
        size_t at, source;
        if (exists(z, &name, &at)) {
            if (!dns_zone_owner_is(z, at, &name)) { /* an empty non-terminal */
                put_soa(a);
                return MIRAGE_DNS_NOERROR;
            }
            source = at;
        } else {
            /* The closest encloser exists (the apex at least); its wildcard? */
            struct mirage_dns_name ce = name, wild;
            size_t w;
            do
                mirage_dns_name_strip(&ce, 1);
            while (!exists(z, &ce, &w));
            int fits = ce.len + 2 <= MIRAGE_DNS_NAME_MAX;
            if (fits) {
                wild.len = (uint8_t)(2 + ce.len);
                wild.wire[0] = 1;
                wild.wire[1] = '*';
                memcpy(wild.wire + 2, ce.wire, ce.len);
            }
            if (!fits || !dns_zone_owner_is(z, w = dns_zone_lower_bound(z, &wild), &wild)) {
                put_soa(a);
                return MIRAGE_DNS_NXDOMAIN;
            }
            source = w;
        }
        /* (source) holds the records for (name): its own or a wildcard's. */
        struct mirage_dns_name owner;
        struct mirage_dns_rr rr;
        mirage_dns_zone_record(z, source, &rr);
        owner = rr.name;
        if (qtype == MIRAGE_DNS_ANY || find_type(z, source, &owner, qtype) != SIZE_MAX) {
            size_t k;
            for (k = source; dns_zone_owner_is(z, k, &owner); k++) {
                if (qtype != MIRAGE_DNS_ANY && dns_zone_type(z, k) != qtype)
                    continue;
                mirage_dns_zone_record(z, k, &rr);
                rr.name = name;
                put(a, MIRAGE_DNS_ANSWER, &rr);
            }
            return MIRAGE_DNS_NOERROR;
        }
        size_t c = find_type(z, source, &owner, MIRAGE_DNS_CNAME);
        if (c == SIZE_MAX) {
            put_soa(a);
            return MIRAGE_DNS_NOERROR;
        }
        mirage_dns_zone_record(z, c, &rr);
        rr.name = name;
        put(a, MIRAGE_DNS_ANSWER, &rr);
        struct mirage_rd r = mirage_rd_init(rr.rdata, rr.rdlen);
        if (dns_name_read(&r, NULL, 0, &name, NULL) < 0 ||
            !mirage_dns_name_under(&name, mirage_dns_zone_origin(z)))
            return MIRAGE_DNS_NOERROR; /* the resolver follows it elsewhere */
    }
    return MIRAGE_DNS_NOERROR; /* a chain this long ends here; the resolver goes on */
}

size_t mirage_dns_server_answer(struct mirage_dns_server *s, const uint8_t *query, size_t qlen,
                                int tcp, uint8_t *out, size_t cap)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_rr rr;
    struct mirage_dns_edns edns = {0};
    struct answer a;
    int have_q = 0, have_edns = 0, section, rc = MIRAGE_ENOENT, rcode = MIRAGE_DNS_NOERROR;
    int ede = -1;

    if (mirage_dns_read_begin(&rd, query, qlen) < 0 || (rd.h.flags & MIRAGE_DNS_QR)) {
        s->stats.dropped++; /* no header to answer, or an answer: never answer those */
        return 0;
    }
    if (rd.h.count[0] == 1 && mirage_dns_read_question(&rd, &q) == 0)
        have_q = 1;
    else
        rcode = MIRAGE_DNS_FORMERR;
    while (rcode == MIRAGE_DNS_NOERROR && (rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0)
        if (rr.type == MIRAGE_DNS_OPT && mirage_dns_edns_read(&rr, &edns, NULL) == 0)
            have_edns = 1;
    if (rcode == MIRAGE_DNS_NOERROR && rc != MIRAGE_ENOENT)
        rcode = MIRAGE_DNS_FORMERR;

    size_t limit = cap;
    if (!tcp) {
        size_t payload =
            have_edns && edns.payload > MIRAGE_DNS_UDP_MIN ? edns.payload : MIRAGE_DNS_UDP_MIN;
        if (payload < limit)
            limit = payload;
    }
    if (limit < MIRAGE_DNS_HEADER + OPT_SIZE) {
        s->stats.dropped++;
        return 0;
    }
    uint16_t flags = (uint16_t)(MIRAGE_DNS_QR | (rd.h.flags & 0x7800) |
                                (rd.h.flags & (MIRAGE_DNS_RD | MIRAGE_DNS_CD)));
    /* Room for our OPT record is kept until the end. */
    mirage_dns_write_begin(&a.wr, out, limit - (have_edns ? OPT_SIZE + EDE_SIZE : 0), rd.h.id,
                           flags);
    a.tc = a.extra_full = a.referral = 0;
    a.z = NULL;
    if (have_q && mirage_dns_write_question(&a.wr, &q) < 0) {
        s->stats.dropped++; /* no room for the question itself: cap is too small */
        return 0;
    }
    mirage_dns_write_mark(&a.wr, &a.after_question);

    if (rcode == MIRAGE_DNS_NOERROR && have_edns && edns.version != 0)
        rcode = MIRAGE_DNS_BADVERS;
    else if (rcode == MIRAGE_DNS_NOERROR && MIRAGE_DNS_OPCODE(rd.h.flags) != MIRAGE_DNS_OP_QUERY)
        rcode = MIRAGE_DNS_NOTIMP;
    else if (rcode == MIRAGE_DNS_NOERROR &&
             (q.type == MIRAGE_DNS_AXFR || q.type == MIRAGE_DNS_IXFR || q.type == MIRAGE_DNS_OPT)) {
        rcode = MIRAGE_DNS_REFUSED;
        ede = EDE_PROHIBITED;
    } else if (rcode == MIRAGE_DNS_NOERROR &&
               (q.qclass != MIRAGE_DNS_CLASS_IN || (a.z = dns_server_find_zone(s, &q.name)) == NULL)) {
        rcode = MIRAGE_DNS_REFUSED;
        ede = EDE_NOT_AUTHORITATIVE;
    }
    if (rcode == MIRAGE_DNS_NOERROR) {
        rcode = resolve(&a, &q.name, q.type);
        if (!a.referral || a.wr.count[MIRAGE_DNS_ANSWER] > 0)
            a.wr.flags |= MIRAGE_DNS_AA;
    }
    if (a.tc) {
        a.wr.flags |= MIRAGE_DNS_TC;
        s->stats.truncated++;
    }
    s->stats.queries++;
    s->stats.rcodes[rcode <= 16 ? rcode : 16]++;
    a.wr.flags = (uint16_t)((a.wr.flags & ~15u) | (rcode & 15));
    if (have_edns) {
        struct mirage_dns_edns ours = {.payload = OUR_PAYLOAD,
                                       .ext_rcode = (uint8_t)(rcode >> 4),
                                       .has_ede = ede >= 0,
                                       .ede_code = (uint16_t)(ede >= 0 ? ede : 0),
                                       .ede_text = ""};
        a.wr.w.len += OPT_SIZE + EDE_SIZE;
        mirage_dns_write_edns(&a.wr, &ours);
    }
    return mirage_dns_write_end(&a.wr);
}
