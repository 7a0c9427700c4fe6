/* xfr_in.c: a zone transfer's answers (AXFR, RFC 5936; IXFR, RFC 1995) read into a new zone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"
#include "mirage/heap.h"

/*
 * Records are kept, in the order they came, serialised in one growable
 * buffer (owner, type, TTL, RDATA) until the transfer is complete; only then
 * is a zone built from them, so a transfer that breaks off half-way changes
 * nothing. An incremental answer is applied difference by difference to a
 * copy: every record a difference deletes must be in the copy, or the whole
 * transfer is refused.
 */

enum { UNDECIDED, AXFR_STYLE, IXFR_DELETE, IXFR_ADD, DONE };

/* 1 if serial (a) is before (b) in RFC 1982 arithmetic. */
int mirage_dns_serial_lt(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(b - a) < 0x80000000u;
}

static int failf(struct mirage_dns_xfr_in *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(struct mirage_dns_xfr_in *x, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->whybuf, sizeof(x->whybuf), fmt, ap);
    va_end(ap);
    x->why = x->whybuf;
    x->failed = code;
    return code;
}

void mirage_dns_xfr_in_begin(struct mirage_dns_xfr_in *x, const struct mirage_dns_name *origin,
                             const struct mirage_dns_zone *current, uint16_t qtype, uint16_t id,
                             const struct mirage_dns_tsig_key *key, const uint8_t request_mac[32])
{
    memset(x, 0, sizeof(*x));
    x->origin = *origin;
    x->current = current;
    x->qtype = qtype;
    x->id = id;
    x->key = key;
    if (current != NULL && mirage_dns_zone_soa(current, &x->ours, NULL) == 0)
        x->have_ours = 1;
    if (key != NULL)
        mirage_dns_tsig_stream_begin(&x->tsig, key, request_mac);
}

void mirage_dns_xfr_in_free(struct mirage_dns_xfr_in *x)
{
    free(x->buf);
    x->buf = NULL;
    x->len = x->cap = 0;
}

/* Appends (rr) to the records kept. */
static int keep(struct mirage_dns_xfr_in *x, const struct mirage_dns_rr *rr)
{
    size_t need = x->len + 1 + rr->name.len + 2 + 4 + 2 + rr->rdlen;

    if (need > MIRAGE_DNS_XFR_MAX)
        return failf(x, MIRAGE_ENOMEM, "the transfer exceeds %u bytes of records",
                     MIRAGE_DNS_XFR_MAX);
    if (mirage_grow(&x->buf, &x->cap, need, 1) < 0)
        return failf(x, MIRAGE_ENOMEM, "out of memory after %zu records", x->records);
    struct mirage_wr w = mirage_wr_init(x->buf + x->len, need - x->len);
    mirage_wr_u8(&w, rr->name.len);
    mirage_wr_bytes(&w, rr->name.wire, rr->name.len);
    mirage_wr_be16(&w, rr->type);
    mirage_wr_be32(&w, rr->ttl);
    mirage_wr_be16(&w, rr->rdlen);
    mirage_wr_bytes(&w, rr->rdata, rr->rdlen);
    x->len = need;
    x->records++;
    return 0;
}

/* The kept record at *off into (rr); moves *off past it. 0, or MIRAGE_ENOENT at the end. */
static int kept(const struct mirage_dns_xfr_in *x, size_t *off, struct mirage_dns_rr *rr)
{
    if (*off >= x->len)
        return MIRAGE_ENOENT;
    struct mirage_rd r = mirage_rd_init(x->buf + *off, x->len - *off);
    rr->name.len = mirage_rd_u8(&r);
    mirage_rd_bytes(&r, rr->name.wire, rr->name.len);
    rr->type = mirage_rd_be16(&r);
    rr->rclass = MIRAGE_DNS_CLASS_IN;
    rr->ttl = mirage_rd_be32(&r);
    rr->rdlen = mirage_rd_be16(&r);
    rr->rdata = mirage_rd_take(&r, rr->rdlen);
    *off += r.off;
    return 0;
}

static int soa_serial(const struct mirage_dns_rr *rr, uint32_t *serial)
{
    struct mirage_dns_soa soa;

    if (rr->type != MIRAGE_DNS_SOA || mirage_dns_soa_read(rr->rdata, rr->rdlen, &soa) < 0)
        return 0;
    *serial = soa.serial;
    return 1;
}

/* One record of the answer section, in transfer order. */
static int feed(struct mirage_dns_xfr_in *x, const struct mirage_dns_rr *rr)
{
    char a[MIRAGE_DNS_TEXT_MAX], tn[16];
    uint32_t serial = 0;
    int soa = soa_serial(rr, &serial) && mirage_dns_name_equal(&rr->name, &x->origin);

    if (rr->rclass != MIRAGE_DNS_CLASS_IN) {
        mirage_dns_name_to_text(&rr->name, a, sizeof(a));
        return failf(x, MIRAGE_EBADMSG, "record %s %s of class %u, not IN", a,
                     mirage_dns_type_name(rr->type, tn, sizeof(tn)), rr->rclass);
    }
    switch (x->state) {
    case UNDECIDED:
        if (x->records == 0) {
            if (!soa)
                return failf(x, MIRAGE_EBADMSG, "the first record is not the zone's SOA");
            x->serial = serial;
            return keep(x, rr);
        }
        /* An incremental answer goes on with our own SOA (RFC 1995 4). */
        if (soa && x->qtype == MIRAGE_DNS_IXFR && x->have_ours && serial == x->ours.serial &&
            serial != x->serial) {
            x->state = IXFR_DELETE;
            x->incremental = 1;
            x->diffs++;
            return keep(x, rr);
        }
        x->state = AXFR_STYLE;
        /* fall through */
    case AXFR_STYLE:
        if (soa && serial == x->serial) {
            x->state = DONE;
            return 0;
        }
        if (rr->type == MIRAGE_DNS_SOA)
            return failf(x, MIRAGE_EBADMSG, "an SOA of serial %u inside the transfer of %u",
                         serial, x->serial);
        return keep(x, rr);
    case IXFR_DELETE:
        if (rr->type == MIRAGE_DNS_SOA && !soa)
            return failf(x, MIRAGE_EBADMSG, "an SOA away from the zone's apex");
        if (soa)
            x->state = IXFR_ADD;
        return keep(x, rr);
    case IXFR_ADD:
        if (rr->type == MIRAGE_DNS_SOA && !soa)
            return failf(x, MIRAGE_EBADMSG, "an SOA away from the zone's apex");
        if (soa && serial == x->serial) {
            x->state = DONE;
            return 0;
        }
        if (soa) {
            x->state = IXFR_DELETE;
            x->diffs++;
        }
        return keep(x, rr);
    default:
        return failf(x, MIRAGE_EBADMSG, "a record after the transfer's last SOA");
    }
}

const char *dns_rcode_name(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED",  "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH",  "NOTZONE"};
    return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "an unknown rcode";
}

/* The header and question every answer of ours must have. */
static int check_header(struct mirage_dns_xfr_in *x, struct mirage_dns_reader *rd, uint16_t qtype,
                        int first)
{
    struct mirage_dns_question q;
    char tn[16];

    if (rd->h.id != x->id)
        return failf(x, MIRAGE_EBADMSG, "an answer with id %u, not ours (%u)", rd->h.id, x->id);
    if (!(rd->h.flags & MIRAGE_DNS_QR) || MIRAGE_DNS_OPCODE(rd->h.flags) != MIRAGE_DNS_OP_QUERY)
        return failf(x, MIRAGE_EBADMSG, "not an answer to a query");
    if (MIRAGE_DNS_RCODE(rd->h.flags) != MIRAGE_DNS_NOERROR)
        return failf(x, MIRAGE_EPROTO, "the primary answered %s",
                     dns_rcode_name(MIRAGE_DNS_RCODE(rd->h.flags)));
    if (rd->h.flags & MIRAGE_DNS_TC)
        return failf(x, MIRAGE_EBADMSG, "a truncated answer");
    if (rd->h.count[0] > 1 || (first && rd->h.count[0] != 1))
        return failf(x, MIRAGE_EBADMSG, "%u questions in the answer", rd->h.count[0]);
    if (rd->h.count[0] == 1) {
        if (mirage_dns_read_question(rd, &q) < 0)
            return failf(x, MIRAGE_EBADMSG, "%s", rd->why);
        if (!mirage_dns_name_equal(&q.name, &x->origin) || q.type != qtype ||
            q.qclass != MIRAGE_DNS_CLASS_IN)
            return failf(x, MIRAGE_EBADMSG, "the answer is to another question (%s)",
                         mirage_dns_type_name(q.type, tn, sizeof(tn)));
    }
    return 0;
}

/* TSIG over the run (RFC 8945 5.3.1): the first and the last message signed. */
static int check_tsig(struct mirage_dns_xfr_in *x, const uint8_t *msg, size_t len, uint64_t now,
                      int *is_signed)
{
    struct mirage_dns_tsig_result res;

    *is_signed = 0;
    if (x->key == NULL)
        return 0;
    int rc = mirage_dns_tsig_stream_next(&x->tsig, msg, len, now, &res);
    if (rc == MIRAGE_EAGAIN)
        return 0;
    if (rc < 0)
        return failf(x, rc == MIRAGE_EACCES ? MIRAGE_EACCES : MIRAGE_EBADMSG, "TSIG: %s",
                     res.why ? res.why : "refused");
    *is_signed = 1;
    return 0;
}

int mirage_dns_xfr_in_message(struct mirage_dns_xfr_in *x, const uint8_t *msg, size_t len,
                              uint64_t now)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_rr rr;
    int section, rc, is_signed;
    size_t before = x->records;

    if (x->failed)
        return x->failed;
    if (x->state == DONE)
        return failf(x, MIRAGE_EBADMSG, "a message after the transfer's end");
    if (mirage_dns_read_begin(&rd, msg, len) < 0)
        return failf(x, MIRAGE_EBADMSG, "a message shorter than a header");
    if ((rc = check_header(x, &rd, x->qtype, x->messages == 0)) < 0 ||
        (rc = check_tsig(x, msg, len, now, &is_signed)) < 0)
        return rc;
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0) {
        if (section != MIRAGE_DNS_ANSWER)
            continue; /* OPT and TSIG; nothing else belongs there */
        if ((rc = feed(x, &rr)) < 0)
            return rc;
    }
    if (rc != MIRAGE_ENOENT || mirage_dns_read_end(&rd) < 0)
        return failf(x, MIRAGE_EBADMSG, "%s", rd.why ? rd.why : "bytes after the last record");
    x->messages++;
    /* A lone SOA no newer than ours: nothing to transfer (RFC 1995 2). */
    if (x->messages == 1 && x->records == 1 && before == 0 && x->have_ours &&
        !mirage_dns_serial_lt(x->ours.serial, x->serial)) {
        x->state = DONE;
        x->uptodate = 1;
    }
    if (x->state == DONE && x->key != NULL && !is_signed)
        return failf(x, MIRAGE_EACCES, "TSIG: the last message is not signed");
    return x->state == DONE ? 1 : 0;
}

/* The first record at or after (from) in (z) equal to (rr) but for its TTL, not yet (gone). */
static size_t find_record(const struct mirage_dns_zone *z, const struct mirage_dns_rr *rr,
                          const uint8_t *gone)
{
    struct mirage_dns_rr zr;

    for (size_t i = dns_zone_lower_bound(z, &rr->name); dns_zone_owner_is(z, i, &rr->name); i++) {
        mirage_dns_zone_record(z, i, &zr);
        if (!gone[i] && zr.type == rr->type && zr.rdlen == rr->rdlen &&
            memcmp(zr.rdata, rr->rdata, rr->rdlen) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* One difference: (z) less the kept records from *off up to the new SOA, plus
 * those from there up to the next difference, into *out. */
static int apply_diff(struct mirage_dns_xfr_in *x, const struct mirage_dns_zone *z, size_t *off,
                      const char *what, struct mirage_dns_zone **out,
                      struct mirage_dns_zone_error *err)
{
    size_t n = mirage_dns_zone_count(z), k = 0;
    uint8_t *gone = calloc(n ? n : 1, 1);
    struct mirage_dns_zone *nz = NULL;
    struct mirage_dns_rr rr;
    char a[MIRAGE_DNS_TEXT_MAX], tn[16];
    int rc = MIRAGE_ENOMEM, adding = 0, soas = 0;

    memset(err, 0, sizeof(*err));
    snprintf(err->file, sizeof(err->file), "%s", what);
    if (gone == NULL || (rc = mirage_dns_zone_new(&x->origin, &nz)) < 0)
        goto out;
    for (;;) {
        size_t at = *off;
        if (kept(x, off, &rr) < 0)
            break;
        if (rr.type == MIRAGE_DNS_SOA && ++soas == 3) {
            *off = at; /* the next difference's old SOA */
            break;
        }
        if (rr.type == MIRAGE_DNS_SOA && soas == 2)
            adding = 1;
        if (adding) {
            if ((rc = mirage_dns_zone_add(nz, &rr, what, (unsigned)k, err)) < 0)
                goto out;
        } else {
            size_t i = find_record(z, &rr, gone);
            if (i == SIZE_MAX) {
                mirage_dns_name_to_text(&rr.name, a, sizeof(a));
                snprintf(err->msg, sizeof(err->msg),
                         "the difference deletes %.160s %s, which our copy does not hold", a,
                         mirage_dns_type_name(rr.type, tn, sizeof(tn)));
                rc = MIRAGE_EINVAL;
                goto out;
            }
            gone[i] = 1;
        }
        k++;
    }
    for (size_t i = 0; i < n; i++) {
        if (gone[i])
            continue;
        mirage_dns_zone_record(z, i, &rr);
        if ((rc = mirage_dns_zone_add(nz, &rr, what, (unsigned)i, err)) < 0)
            goto out;
    }
    rc = mirage_dns_zone_finish(nz, err);
out:
    if (rc == MIRAGE_ENOMEM && err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    free(gone);
    if (rc < 0) {
        mirage_dns_zone_free(nz);
        nz = NULL;
    }
    *out = nz;
    return rc;
}

int mirage_dns_xfr_in_finish(struct mirage_dns_xfr_in *x, const char *what,
                             struct mirage_dns_zone **out, struct mirage_dns_zone_error *err)
{
    struct mirage_dns_rr rr;
    size_t off = 0;
    int rc;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    snprintf(err->file, sizeof(err->file), "%s", what);
    if (x->state != DONE) {
        snprintf(err->msg, sizeof(err->msg), "the transfer is not complete");
        return MIRAGE_EINVAL;
    }
    if (x->uptodate)
        return 0;
    if (!x->incremental) {
        struct mirage_dns_zone *z;
        unsigned k = 0;
        if ((rc = mirage_dns_zone_new(&x->origin, &z)) < 0) {
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return rc;
        }
        while (rc == 0 && kept(x, &off, &rr) == 0)
            rc = mirage_dns_zone_add(z, &rr, what, k++, err);
        if (rc == 0)
            rc = mirage_dns_zone_finish(z, err);
        if (rc < 0) {
            mirage_dns_zone_free(z);
            return rc;
        }
        *out = z;
        return 0;
    }
    /* Incremental: the new SOA first, then the differences on a copy of ours. */
    const struct mirage_dns_zone *z = x->current;
    struct mirage_dns_zone *owned = NULL;
    kept(x, &off, &rr);
    for (unsigned d = 0; d < x->diffs; d++) {
        struct mirage_dns_zone *nz;
        if ((rc = apply_diff(x, z, &off, what, &nz, err)) < 0) {
            mirage_dns_zone_free(owned);
            return rc;
        }
        mirage_dns_zone_free(owned);
        z = owned = nz;
    }
    struct mirage_dns_soa soa;
    if (owned == NULL || mirage_dns_zone_soa(owned, &soa, NULL) < 0 || soa.serial != x->serial) {
        snprintf(err->msg, sizeof(err->msg),
                 "the differences do not end at the serial announced (%u)", x->serial);
        mirage_dns_zone_free(owned);
        return MIRAGE_EINVAL;
    }
    *out = owned;
    return 0;
}
