/* xfr.c: zone transfers out over TCP (AXFR, RFC 5936; IXFR, RFC 1995), every message TSIG-signed. */
#include <string.h>

#include "dns_internal.h"

#define TSIG_ROOM 400 /* kept free in every message for its TSIG record */
#define FUDGE     300 /* seconds a signature we make may be off (RFC 8945 10) */

/* The (k)th record a part sends: its first one (the SOA) then every other. */
static int part_record(const struct mirage_dns_xfr_part *p, size_t k, struct mirage_dns_rr *rr)
{
    if (k >= p->count)
        return MIRAGE_ENOENT;
    size_t i = k == 0 ? p->first : k - 1 < p->first ? k - 1 : k;
    return mirage_dns_zone_record(p->z, i, rr);
}

/* The rcode of an answer that sends no records (and its TSIG error, if signed). */
static size_t refuse(struct mirage_dns_xfr *x, const struct mirage_dns_question *q, int have_q,
                     uint16_t id, uint16_t flags, int rcode, const struct mirage_dns_tsig_result *t,
                     uint64_t now, uint8_t *out, size_t cap)
{
    struct mirage_dns_writer wr;
    uint8_t mac[32];

    mirage_dns_write_begin(&wr, out, cap, id,
                           (uint16_t)(MIRAGE_DNS_QR | (flags & 0x7800) | (rcode & 15)));
    if (have_q)
        mirage_dns_write_question(&wr, q);
    /* A wrong key or MAC gets an unsigned answer (RFC 8945 5.3.2); a wrong time a signed one. */
    if (t != NULL && t->key != NULL && (t->tsig_error == 0 || t->tsig_error == MIRAGE_DNS_BADTIME))
        mirage_dns_tsig_sign(&wr, t->key, now, FUDGE, t->mac, 32, t->tsig_error, mac);
    else if (t != NULL && t->tsig_error != 0)
        mirage_dns_tsig_unsigned(&wr, &t->rr_name, now, FUDGE, t->tsig_error);
    x->more = 0;
    return mirage_dns_write_end(&wr);
}

/* Writes the next message of the transfer: as many records as fit, then its TSIG. */
static size_t write_message(struct mirage_dns_xfr *x, uint8_t *out, size_t cap)
{
    struct mirage_dns_writer wr;
    struct mirage_dns_rr rr;
    int first = x->messages == 0;

    if (cap > 65535)
        cap = 65535;
    if (cap < MIRAGE_DNS_HEADER + TSIG_ROOM + 512)
        return 0;
    mirage_dns_write_begin(&wr, out, cap - TSIG_ROOM, x->id,
                           MIRAGE_DNS_QR | MIRAGE_DNS_AA | (x->flags & MIRAGE_DNS_RD));
    if (first)
        mirage_dns_write_question(&wr, &x->q);
    while (x->part < x->nparts) {
        if (part_record(&x->parts[x->part], x->at, &rr) < 0) {
            x->part++;
            x->at = 0;
            continue;
        }
        int rc = mirage_dns_write_rr(&wr, MIRAGE_DNS_ANSWER, &rr);
        if (rc == MIRAGE_ENOSPC && wr.count[MIRAGE_DNS_ANSWER] > 0)
            break; /* the next message starts with it */
        if (rc < 0) {
            x->failed = 1; /* a record no message can hold: the transfer stops */
            x->more = 0;
            return 0;
        }
        x->at++;
        x->records++;
    }
    x->more = x->part < x->nparts;
    wr.w.len += TSIG_ROOM;
    if (x->key != NULL) {
        int rc = first ? mirage_dns_tsig_sign(&wr, x->key, x->now, FUDGE, x->mac, 32, 0, x->mac)
                       : mirage_dns_tsig_sign_next(&wr, x->key, x->now, FUDGE, x->mac);
        if (rc < 0) {
            x->failed = 1;
            x->more = 0;
            return 0;
        }
    }
    x->messages++;
    return mirage_dns_write_end(&wr);
}

/* Adds a part: the records of (z) from index (first) on as its SOA, (count) of them. */
static void add_part(struct mirage_dns_xfr *x, const struct mirage_dns_zone *z, size_t first,
                     size_t count)
{
    struct mirage_dns_xfr_part *p = &x->parts[x->nparts++];
    p->z = z;
    p->first = first;
    p->count = count;
}

/* RFC 1982: a is after b. */
static int serial_after(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* IXFR (RFC 1995 4): the parts from the client's version, in the SOA of the request's
 * authority section, to ours; none when the history does not reach back to it. */
static void ixfr_parts(struct mirage_dns_primary *p, struct mirage_dns_xfr *x,
                       struct mirage_dns_reader *rd)
{
    struct mirage_dns_rr rr;
    struct mirage_dns_soa theirs, ours;
    int section;
    const struct mirage_dns_zone *z = x->z;
    size_t soa = dns_zone_soa(z);

    while (mirage_dns_read_rr(rd, &rr, &section) == 0)
        if (section == MIRAGE_DNS_AUTHORITY && rr.type == MIRAGE_DNS_SOA &&
            mirage_dns_soa_read(rr.rdata, rr.rdlen, &theirs) == 0)
            break;
    if (section != MIRAGE_DNS_AUTHORITY || rr.type != MIRAGE_DNS_SOA ||
        mirage_dns_zone_soa(z, &ours, NULL) < 0)
        return;
    if (!serial_after(ours.serial, theirs.serial)) {
        add_part(x, z, soa, 1); /* up to date: our SOA alone */
        return;
    }
    struct dns_journal *j = dns_primary_journal(p, mirage_dns_zone_origin(z));
    const struct dns_diff *d = j ? j->oldest : NULL;
    while (d != NULL && d->from != theirs.serial)
        d = d->next;
    if (d == NULL || j->newest->to != ours.serial)
        return;
    add_part(x, z, soa, 1);
    for (; d != NULL; d = d->next) {
        add_part(x, d->del, 0, mirage_dns_zone_count(d->del));
        add_part(x, d->add, 0, mirage_dns_zone_count(d->add));
    }
    add_part(x, z, soa, 1);
}

size_t mirage_dns_xfr_start(struct mirage_dns_xfr *x, struct mirage_dns_primary *p,
                            const uint8_t *query, size_t qlen, uint64_t now, uint8_t *out,
                            size_t cap)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_tsig_result t;
    int rc;

    memset(x, 0, sizeof(*x));
    if (mirage_dns_read_begin(&rd, query, qlen) < 0 || (rd.h.flags & MIRAGE_DNS_QR) ||
        MIRAGE_DNS_OPCODE(rd.h.flags) != MIRAGE_DNS_OP_QUERY || rd.h.count[0] != 1 ||
        mirage_dns_read_question(&rd, &q) < 0 ||
        (q.type != MIRAGE_DNS_AXFR && q.type != MIRAGE_DNS_IXFR))
        return 0; /* not a transfer: an ordinary answer */
    rc = mirage_dns_tsig_verify(query, qlen, p->keys, p->nkeys, now, NULL, 0, &t);
    if (rc == MIRAGE_ENOENT) {
        p->stats.refused++;
        return 0; /* unsigned: refused as an ordinary answer says (REFUSED, EDE 18) */
    }
    x->now = now;
    x->id = rd.h.id;
    x->flags = rd.h.flags;
    x->q = q;
    if (rc < 0) {
        p->stats.refused++;
        x->why = t.why;
        return refuse(x, &q, 1, rd.h.id, rd.h.flags, t.error, &t, now, out, cap);
    }
    x->key = t.key;
    memcpy(x->mac, t.mac, 32);
    const struct mirage_dns_zone *z = dns_server_find_zone(p->server, &q.name);
    if (q.qclass != MIRAGE_DNS_CLASS_IN || z == NULL ||
        !mirage_dns_name_equal(&q.name, mirage_dns_zone_origin(z))) {
        p->stats.refused++;
        x->why = "not a zone we serve";
        return refuse(x, &q, 1, rd.h.id, rd.h.flags, MIRAGE_DNS_NOTAUTH, &t, now, out, cap);
    }
    x->z = z;
    size_t soa = dns_zone_soa(z);
    if (q.type == MIRAGE_DNS_IXFR)
        ixfr_parts(p, x, &rd);
    if (x->nparts == 0) { /* AXFR, or IXFR from a version we do not have: the whole zone */
        add_part(x, z, soa, mirage_dns_zone_count(z));
        add_part(x, z, soa, 1);
        x->axfr = 1;
    }
    p->stats.transfers++;
    p->active++;
    x->held = 1;
    return write_message(x, out, cap);
}

void mirage_dns_xfr_end(struct mirage_dns_primary *p, struct mirage_dns_xfr *x)
{
    if (x->held) {
        x->held = 0;
        x->more = 0;
        dns_primary_transfer_ended(p);
    }
}

size_t mirage_dns_xfr_next(struct mirage_dns_xfr *x, uint8_t *out, size_t cap)
{
    return x->more ? write_message(x, out, cap) : 0;
}
