/* message.c: whole DNS messages read and written: header, questions, records, EDNS(0). */
#include <string.h>

#include "dns_internal.h"

/* ---- reading --------------------------------------------------------------- */

/* Records a failure: the reader stays failed and every later read says so. */
static int bad(struct mirage_dns_reader *rd, const char *why)
{
    if (why != NULL)
        rd->why = why;
    rd->off = rd->len;
    rd->section = 4;
    rd->left = 0;
    rd->h.count[0] = rd->h.count[1] = rd->h.count[2] = rd->h.count[3] = 0;
    rd->seen_opt = -1; /* marks the reader failed */
    return MIRAGE_EBADMSG;
}

int mirage_dns_read_begin(struct mirage_dns_reader *rd, const void *msg, size_t len)
{
    struct mirage_rd r = mirage_rd_init(msg, len);

    memset(&rd->h, 0, sizeof(rd->h));
    rd->msg = msg;
    rd->len = len;
    rd->why = NULL;
    rd->seen_opt = 0;
    rd->opt_at = 0;
    rd->h.id = mirage_rd_be16(&r);
    rd->h.flags = mirage_rd_be16(&r);
    for (int i = 0; i < 4; i++)
        rd->h.count[i] = mirage_rd_be16(&r);
    if (r.bad) {
        memset(&rd->h, 0, sizeof(rd->h));
        return bad(rd, "shorter than a header");
    }
    rd->off = r.off;
    rd->section = MIRAGE_DNS_QUESTION;
    rd->left = rd->h.count[0];
    return 0;
}

/* Moves to the next section with entries left, if the current one is done. */
static void next_section(struct mirage_dns_reader *rd)
{
    while (rd->left == 0 && rd->section < MIRAGE_DNS_ADDITIONAL) {
        rd->section++;
        rd->left = rd->h.count[rd->section];
    }
}

int mirage_dns_read_question(struct mirage_dns_reader *rd, struct mirage_dns_question *q)
{
    if (rd->seen_opt < 0)
        return MIRAGE_EBADMSG;
    if (rd->section != MIRAGE_DNS_QUESTION || rd->left == 0)
        return MIRAGE_ENOENT;
    struct mirage_rd r = mirage_rd_init(rd->msg, rd->len);
    mirage_rd_seek(&r, rd->off);
    if (dns_name_read(&r, rd->msg, rd->len, &q->name, &rd->why) < 0)
        return bad(rd, NULL);
    q->type = mirage_rd_be16(&r);
    q->qclass = mirage_rd_be16(&r);
    if (r.bad)
        return bad(rd, "question runs past the end");
    rd->off = r.off;
    rd->left--;
    return 0;
}

/* UPDATE's prerequisites and deletions of class ANY or NONE may have no RDATA
 * (RFC 2136 2.4, 2.5) whatever their type: read and written as they are. */
static int update_empty(uint16_t rclass, size_t rdlen)
{
    return rdlen == 0 && (rclass == MIRAGE_DNS_CLASS_ANY || rclass == MIRAGE_DNS_CLASS_NONE);
}

int mirage_dns_read_rr(struct mirage_dns_reader *rd, struct mirage_dns_rr *rr, int *section)
{
    struct mirage_dns_question q;
    int rc;

    while ((rc = mirage_dns_read_question(rd, &q)) == 0)
        ;
    if (rc == MIRAGE_EBADMSG)
        return rc;
    next_section(rd);
    if (rd->left == 0)
        return MIRAGE_ENOENT;

    size_t start = rd->off;
    struct mirage_rd r = mirage_rd_init(rd->msg, rd->len);
    mirage_rd_seek(&r, rd->off);
    if (dns_name_read(&r, rd->msg, rd->len, &rr->name, &rd->why) < 0)
        return bad(rd, NULL);
    rr->type = mirage_rd_be16(&r);
    rr->rclass = mirage_rd_be16(&r);
    rr->ttl = mirage_rd_be32(&r);
    uint16_t rdlen = mirage_rd_be16(&r);
    size_t at = r.off;
    mirage_rd_skip(&r, rdlen);
    if (r.bad)
        return bad(rd, "record runs past the end");

    if (rr->type == MIRAGE_DNS_OPT) {
        if (rd->section != MIRAGE_DNS_ADDITIONAL)
            return bad(rd, "OPT record outside the additional section");
        if (rd->seen_opt)
            return bad(rd, "more than one OPT record");
        if (rr->name.len != 1)
            return bad(rd, "OPT record not owned by the root");
        rd->seen_opt = 1;
        rd->opt_at = start;
    }
    const uint8_t *rdata = rd->msg + at;
    size_t len = 0;
    int empty = update_empty(rr->rclass, rdlen);
    if (!empty && dns_rdata_read(rd, rr->type, at, rdlen, &rdata, &len) < 0)
        return bad(rd, NULL);
    rr->rdata = rdata;
    rr->rdlen = (uint16_t)len; /* at most two names and 20 bytes, or the original length */
    rd->off = r.off;
    rd->left--;
    *section = rd->section;
    return 0;
}

int mirage_dns_read_end(struct mirage_dns_reader *rd)
{
    if (rd->seen_opt < 0)
        return MIRAGE_EBADMSG;
    next_section(rd);
    if (rd->left != 0)
        return bad(rd, "records left unread");
    if (rd->off != rd->len)
        return bad(rd, "bytes after the last record");
    return 0;
}

int mirage_dns_edns_read(const struct mirage_dns_rr *opt, struct mirage_dns_edns *e,
                         const char **why)
{
    struct mirage_rd r = mirage_rd_init(opt->rdata, opt->rdlen);

    memset(e, 0, sizeof(*e));
    e->payload = opt->rclass;
    e->ext_rcode = (uint8_t)(opt->ttl >> 24);
    e->version = (uint8_t)(opt->ttl >> 16);
    e->dnssec_ok = (opt->ttl & 0x8000) != 0;
    while (mirage_rd_left(&r) > 0) {
        uint16_t code = mirage_rd_be16(&r), len = mirage_rd_be16(&r);
        struct mirage_rd v = mirage_rd_sub(&r, len);
        if (r.bad)
            return dns_fail(why, "EDNS option runs past the end of the OPT record", MIRAGE_EBADMSG);
        if (code == MIRAGE_DNS_EDNS_EDE && !e->has_ede) {
            e->ede_code = mirage_rd_be16(&v);
            if (v.bad)
                return dns_fail(why, "Extended DNS Error shorter than its code", MIRAGE_EBADMSG);
            e->has_ede = 1;
            e->ede_len = (uint16_t)mirage_rd_left(&v);
            e->ede_text = (const char *)mirage_rd_take(&v, e->ede_len);
        }
    }
    return 0;
}

/* ---- writing --------------------------------------------------------------- */

void mirage_dns_write_begin(struct mirage_dns_writer *wr, void *buf, size_t cap, uint16_t id,
                            uint16_t flags)
{
    wr->w = mirage_wr_init(buf, cap > 65535 ? 65535 : cap);
    wr->id = id;
    wr->flags = flags;
    memset(wr->count, 0, sizeof(wr->count));
    wr->section = MIRAGE_DNS_QUESTION;
    wr->nnames = 0;
    mirage_wr_zeros(&wr->w, MIRAGE_DNS_HEADER);
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* 1 if the name written at (off) equals (suffix, len), ignoring case when
 * (anycase). The writer wrote it, so its pointers lead backwards; hops are
 * bounded anyway. */
static int written_equals(const struct mirage_dns_writer *wr, size_t off, const uint8_t *suffix,
                          size_t len, int anycase)
{
    const uint8_t *buf = wr->w.p;
    size_t i = 0;

    for (int hops = 0; hops < 128 && off < wr->w.off;) {
        uint8_t b = buf[off];
        if ((b & 0xc0) == 0xc0) {
            if (off + 1 >= wr->w.off)
                return 0;
            off = (size_t)(b & 0x3f) << 8 | buf[off + 1];
            hops++;
            continue;
        }
        if (i >= len || suffix[i] != b || off + 1 + b > wr->w.off || i + 1 + b > len)
            return 0;
        for (size_t k = 1; k <= b; k++)
            if (buf[off + k] != suffix[i + k] &&
                (!anycase || lower(buf[off + k]) != lower(suffix[i + k])))
                return 0;
        if (b == 0)
            return 1;
        off += 1 + (size_t)b;
        i += 1 + (size_t)b;
    }
    return 0;
}

void dns_name_write(struct mirage_dns_writer *wr, const struct mirage_dns_name *n, int compress)
{
    size_t i = 0;

    while (i < n->len && n->wire[i] != 0) {
        if (compress) {
            for (unsigned k = 0; k < wr->nnames; k++) {
                if (written_equals(wr, wr->names[k], n->wire + i, n->len - i, compress > 1)) {
                    mirage_wr_be16(&wr->w, (uint16_t)(0xc000 | wr->names[k]));
                    return;
                }
            }
        }
        /* Only offsets a pointer can hold are remembered. */
        if (wr->nnames < MIRAGE_DNS_COMP_MAX && wr->w.off < 0x4000 && !wr->w.bad)
            wr->names[wr->nnames++] = (uint16_t)wr->w.off;
        size_t ll = n->wire[i];
        mirage_wr_bytes(&wr->w, n->wire + i, 1 + ll);
        i += 1 + ll;
    }
    mirage_wr_u8(&wr->w, 0);
}

void mirage_dns_write_mark(const struct mirage_dns_writer *wr, struct mirage_dns_mark *m)
{
    m->off = wr->w.off;
    memcpy(m->count, wr->count, sizeof(m->count));
    m->section = wr->section;
    m->nnames = wr->nnames;
}

void mirage_dns_write_restore(struct mirage_dns_writer *wr, const struct mirage_dns_mark *m)
{
    wr->w.bad = 0;
    wr->w.off = m->off;
    memcpy(wr->count, m->count, sizeof(wr->count));
    wr->section = m->section;
    wr->nnames = m->nnames;
}

int mirage_dns_write_question(struct mirage_dns_writer *wr, const struct mirage_dns_question *q)
{
    struct mirage_dns_mark m;

    if (wr->section != MIRAGE_DNS_QUESTION)
        return MIRAGE_EINVAL;
    if (wr->count[0] == 65535)
        return MIRAGE_ENOSPC;
    mirage_dns_write_mark(wr, &m);
    dns_name_write(wr, &q->name, 2);
    mirage_wr_be16(&wr->w, q->type);
    mirage_wr_be16(&wr->w, q->qclass);
    if (wr->w.bad) {
        mirage_dns_write_restore(wr, &m);
        return MIRAGE_ENOSPC;
    }
    wr->count[0]++;
    return 0;
}

int mirage_dns_write_rr(struct mirage_dns_writer *wr, int section, const struct mirage_dns_rr *rr)
{
    struct mirage_dns_mark m;

    if (section < MIRAGE_DNS_ANSWER || section > MIRAGE_DNS_ADDITIONAL || section < wr->section)
        return MIRAGE_EINVAL;
    int empty = update_empty(rr->rclass, rr->rdlen);

    if (!empty && mirage_dns_rdata_check(rr->type, rr->rdata, rr->rdlen, NULL) < 0)
        return MIRAGE_EBADMSG;
    if (wr->count[section] == 65535)
        return MIRAGE_ENOSPC;
    mirage_dns_write_mark(wr, &m);
    wr->section = section;
    dns_name_write(wr, &rr->name, rr->type == MIRAGE_DNS_TSIG ? 0 : 2); /* RFC 8945 4.2 */
    mirage_wr_be16(&wr->w, rr->type);
    mirage_wr_be16(&wr->w, rr->rclass);
    mirage_wr_be32(&wr->w, rr->ttl);
    size_t lenat = wr->w.off;
    mirage_wr_be16(&wr->w, 0);
    if (!empty)
        dns_rdata_write(wr, rr->type, rr->rdata, rr->rdlen);
    if (wr->w.bad) {
        mirage_dns_write_restore(wr, &m);
        return MIRAGE_ENOSPC;
    }
    size_t end = wr->w.off;
    mirage_wr_seek(&wr->w, lenat);
    mirage_wr_be16(&wr->w, (uint16_t)(end - lenat - 2));
    mirage_wr_seek(&wr->w, end);
    wr->count[section]++;
    return 0;
}

int mirage_dns_write_edns(struct mirage_dns_writer *wr, const struct mirage_dns_edns *e)
{
    uint8_t opts[6 + 512];
    struct mirage_wr o = mirage_wr_init(opts, sizeof(opts));
    struct mirage_dns_rr rr;

    if (e->has_ede) {
        if (e->ede_len > 512)
            return MIRAGE_EINVAL;
        mirage_wr_be16(&o, MIRAGE_DNS_EDNS_EDE);
        mirage_wr_be16(&o, (uint16_t)(2 + e->ede_len));
        mirage_wr_be16(&o, e->ede_code);
        mirage_wr_bytes(&o, e->ede_text, e->ede_len);
    }
    mirage_dns_name_root(&rr.name);
    rr.type = MIRAGE_DNS_OPT;
    rr.rclass = e->payload;
    rr.ttl =
        (uint32_t)e->ext_rcode << 24 | (uint32_t)e->version << 16 | (e->dnssec_ok ? 0x8000u : 0);
    rr.rdata = opts;
    rr.rdlen = (uint16_t)o.off;
    return mirage_dns_write_rr(wr, MIRAGE_DNS_ADDITIONAL, &rr);
}

size_t mirage_dns_write_end(struct mirage_dns_writer *wr)
{
    size_t end = wr->w.off;

    mirage_wr_seek(&wr->w, 0);
    mirage_wr_be16(&wr->w, wr->id);
    mirage_wr_be16(&wr->w, wr->flags);
    for (int i = 0; i < 4; i++)
        mirage_wr_be16(&wr->w, wr->count[i]);
    mirage_wr_seek(&wr->w, end);
    return wr->w.bad ? 0 : end;
}
