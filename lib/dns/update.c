/* update.c: dynamic UPDATE (RFC 2136) signed with TSIG: prerequisites, changes, a new zone version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

#define UPDATE_RRS_MAX 256   /* records in one update's prerequisite and update sections */
#define ARENA_MAX      65536 /* bytes of their RDATA */
#define FUDGE          300

enum {
    YXDOMAIN = 6,
    YXRRSET = 7,
    NXRRSET = 8,
    NOTZONE = 10,
};

/* A record of the update message, its RDATA copied out of the reader. */
struct urr {
    struct mirage_dns_rr rr;
    int dead; /* added by this update, then deleted by it */
};

/* The zone being changed: its records (dead[i] once deleted) and the records added. */
struct work {
    const struct mirage_dns_zone *z;
    uint8_t *dead;
    struct urr *added;
    size_t nadded;
    int changed, soa_replaced;
};

static int same_rdata(const struct mirage_dns_rr *a, const struct mirage_dns_rr *b)
{
    return a->rdlen == b->rdlen && memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* Calls (fn) for every live record owned by (name), in the zone then among the added. */
typedef int (*visit_fn)(struct work *w, struct mirage_dns_rr *rr, size_t zi, struct urr *u,
                        void *arg);

static int visit(struct work *w, const struct mirage_dns_name *name, visit_fn fn, void *arg)
{
    struct mirage_dns_rr rr;
    int n = 0;

    for (size_t i = dns_zone_lower_bound(w->z, name); dns_zone_owner_is(w->z, i, name); i++)
        if (!w->dead[i] && mirage_dns_zone_record(w->z, i, &rr) == 0)
            n += fn(w, &rr, i, NULL, arg);
    for (size_t k = 0; k < w->nadded; k++)
        if (!w->added[k].dead && mirage_dns_name_equal(&w->added[k].rr.name, name))
            n += fn(w, &w->added[k].rr, SIZE_MAX, &w->added[k], arg);
    return n;
}

static void kill(struct work *w, size_t zi, struct urr *u)
{
    if (u != NULL)
        u->dead = 1;
    else
        w->dead[zi] = 1;
    w->changed = 1;
}

/* What a visit looks for or deletes: a type (ANY for all), RDATA (NULL for any). */
struct match {
    uint16_t type;
    const struct mirage_dns_rr *rd;
    int apex; /* at the apex SOA and NS are kept */
};

static int matches(const struct match *m, const struct mirage_dns_rr *rr)
{
    return (m->type == MIRAGE_DNS_ANY || rr->type == m->type) && (!m->rd || same_rdata(rr, m->rd));
}

static int count_fn(struct work *w, struct mirage_dns_rr *rr, size_t zi, struct urr *u, void *arg)
{
    (void)w, (void)zi, (void)u;
    return matches(arg, rr);
}

static int delete_fn(struct work *w, struct mirage_dns_rr *rr, size_t zi, struct urr *u, void *arg)
{
    const struct match *m = arg;

    if (!matches(m, rr) || (m->apex && (rr->type == MIRAGE_DNS_SOA || rr->type == MIRAGE_DNS_NS)))
        return 0;
    kill(w, zi, u);
    return 1;
}

/* Deletes the one record equal to (rr), SOA always kept, the apex's last NS too. */
static int delete_one_fn(struct work *w, struct mirage_dns_rr *rr, size_t zi, struct urr *u,
                         void *arg)
{
    const struct match *m = arg;

    if (!matches(m, rr) || rr->type == MIRAGE_DNS_SOA)
        return 0;
    if (m->apex && rr->type == MIRAGE_DNS_NS) {
        struct match ns = {MIRAGE_DNS_NS, NULL, 0};
        if (visit(w, &rr->name, count_fn, &ns) <= 1)
            return 0;
    }
    kill(w, zi, u);
    return 1;
}

static int soa_fn(struct work *w, struct mirage_dns_rr *rr, size_t zi, struct urr *u, void *arg)
{
    if (rr->type != MIRAGE_DNS_SOA)
        return 0;
    *(struct mirage_dns_rr *)arg = *rr;
    (void)w, (void)zi, (void)u;
    return 1;
}

static int add_rr(struct work *w, const struct mirage_dns_rr *rr)
{
    if (w->nadded == UPDATE_RRS_MAX + 1)
        return MIRAGE_ENOMEM;
    w->added[w->nadded].rr = *rr;
    w->added[w->nadded].dead = 0;
    w->nadded++;
    w->changed = 1;
    return 0;
}

/* RFC 1982: a is after b. */
static int serial_after(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* One record of the update section (RFC 2136 3.4.2). */
static void apply(struct work *w, const struct mirage_dns_rr *rr, const struct mirage_dns_name *apex)
{
    int at_apex = mirage_dns_name_equal(&rr->name, apex);
    struct mirage_dns_rr soa;

    if (rr->rclass == MIRAGE_DNS_CLASS_IN) {
        struct match cname = {MIRAGE_DNS_CNAME, NULL, 0}, any = {MIRAGE_DNS_ANY, NULL, 0};
        int ncname = visit(w, &rr->name, count_fn, &cname);
        int nall = visit(w, &rr->name, count_fn, &any);
        if (rr->type == MIRAGE_DNS_CNAME && nall > ncname)
            return; /* a CNAME beside other data: ignored */
        if (rr->type != MIRAGE_DNS_CNAME && ncname > 0)
            return; /* other data beside a CNAME: ignored */
        if (rr->type == MIRAGE_DNS_SOA) {
            struct mirage_dns_soa old, new;
            if (!at_apex || visit(w, &rr->name, soa_fn, &soa) != 1 ||
                mirage_dns_soa_read(soa.rdata, soa.rdlen, &old) < 0 ||
                mirage_dns_soa_read(rr->rdata, rr->rdlen, &new) < 0 ||
                !serial_after(new.serial, old.serial))
                return; /* an SOA is replaced only by a later serial */
            struct match m = {MIRAGE_DNS_SOA, NULL, 0};
            visit(w, &rr->name, delete_fn, &m);
            w->soa_replaced = 1;
        } else {
            /* The same record again replaces it (its TTL). */
            struct match m = {rr->type, rr, 0};
            visit(w, &rr->name, delete_fn, &m);
            if (rr->type == MIRAGE_DNS_CNAME) {
                struct match c = {MIRAGE_DNS_CNAME, NULL, 0};
                visit(w, &rr->name, delete_fn, &c); /* one CNAME: the new one replaces it */
            }
        }
        add_rr(w, rr);
    } else if (rr->rclass == MIRAGE_DNS_CLASS_ANY) {
        struct match m = {rr->type, NULL, at_apex};
        visit(w, &rr->name, delete_fn, &m);
    } else { /* NONE: one record */
        struct match m = {rr->type, rr, at_apex};
        visit(w, &rr->name, delete_one_fn, &m);
    }
}

/* RFC 2136 3.2: the prerequisites, against the zone as it is. Returns the rcode. */
static int prerequisites(struct work *w, const struct urr *pre, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct mirage_dns_rr *rr = &pre[i].rr;
        struct match m = {rr->type, NULL, 0};
        int have = visit(w, &rr->name, count_fn, &m);
        if (rr->rclass == MIRAGE_DNS_CLASS_ANY) {
            if (have == 0)
                return rr->type == MIRAGE_DNS_ANY ? MIRAGE_DNS_NXDOMAIN : NXRRSET;
        } else if (rr->rclass == MIRAGE_DNS_CLASS_NONE) {
            if (have > 0)
                return rr->type == MIRAGE_DNS_ANY ? YXDOMAIN : YXRRSET;
        } else {
            /* Value-dependent: the records of this name and type in the prerequisites are
             * exactly the zone's RRset (RFC 2136 3.2.3). */
            int given = 0;
            for (size_t k = 0; k < n; k++) {
                const struct mirage_dns_rr *o = &pre[k].rr;
                if (o->rclass != MIRAGE_DNS_CLASS_IN || o->type != rr->type ||
                    !mirage_dns_name_equal(&o->name, &rr->name))
                    continue;
                struct match one = {o->type, o, 0};
                if (visit(w, &o->name, count_fn, &one) == 0)
                    return NXRRSET;
                int dup = 0;
                for (size_t j = 0; j < k; j++)
                    dup |= pre[j].rr.rclass == MIRAGE_DNS_CLASS_IN && pre[j].rr.type == o->type &&
                           mirage_dns_name_equal(&pre[j].rr.name, &o->name) &&
                           same_rdata(&pre[j].rr, o);
                given += !dup;
            }
            if (given != have)
                return NXRRSET;
        }
    }
    return MIRAGE_DNS_NOERROR;
}

/* RFC 2136 3.4.1: checks the update section before anything is changed. */
static int prescan(const struct urr *up, size_t n, const struct mirage_dns_name *apex)
{
    for (size_t i = 0; i < n; i++) {
        const struct mirage_dns_rr *rr = &up[i].rr;
        if (!mirage_dns_name_under(&rr->name, apex))
            return NOTZONE;
        if (rr->rclass == MIRAGE_DNS_CLASS_IN) {
            if (rr->type == MIRAGE_DNS_ANY || rr->type == MIRAGE_DNS_AXFR ||
                rr->type == MIRAGE_DNS_IXFR || rr->type == MIRAGE_DNS_TSIG ||
                rr->type == MIRAGE_DNS_OPT || (rr->type >= 128 && rr->type <= 255))
                return MIRAGE_DNS_FORMERR;
        } else if (rr->rclass == MIRAGE_DNS_CLASS_ANY) {
            if (rr->ttl != 0 || rr->rdlen != 0 ||
                (rr->type != MIRAGE_DNS_ANY && rr->type >= 128 && rr->type <= 255))
                return MIRAGE_DNS_FORMERR;
        } else if (rr->rclass == MIRAGE_DNS_CLASS_NONE) {
            if (rr->ttl != 0 || (rr->type >= 128 && rr->type <= 255))
                return MIRAGE_DNS_FORMERR;
        } else {
            return MIRAGE_DNS_FORMERR;
        }
    }
    return MIRAGE_DNS_NOERROR;
}

/* Canonical order of records, as zones keep them: owner, type, RDATA. */
static int rr_compare(const struct mirage_dns_rr *a, const struct mirage_dns_rr *b)
{
    int c = mirage_dns_name_compare(&a->name, &b->name);
    if (c != 0)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    size_t common = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    c = memcmp(a->rdata, b->rdata, common);
    return c != 0 ? c : (int)a->rdlen - (int)b->rdlen;
}

/* The new zone: the live records, the serial moved on unless the update set it. */
static int build(struct work *w, const struct mirage_dns_name *apex, struct mirage_dns_zone **out,
                 struct mirage_dns_zone_error *err)
{
    struct mirage_dns_rr rr;
    uint8_t soa_rd[2 * MIRAGE_DNS_NAME_MAX + 20];
    int rc;

    if (!w->soa_replaced) {
        struct mirage_dns_soa soa;
        struct mirage_dns_rr old;
        struct match m = {MIRAGE_DNS_SOA, NULL, 0};
        if (visit(w, apex, soa_fn, &old) != 1 ||
            mirage_dns_soa_read(old.rdata, old.rdlen, &soa) < 0)
            return MIRAGE_EINVAL;
        soa.serial++;
        struct mirage_wr wr = mirage_wr_init(soa_rd, sizeof(soa_rd));
        mirage_dns_soa_write(&wr, &soa);
        visit(w, apex, delete_fn, &m);
        old.rdata = soa_rd;
        old.rdlen = (uint16_t)wr.off;
        add_rr(w, &old);
    }
    if ((rc = mirage_dns_zone_new(apex, out)) < 0)
        return rc;
    for (size_t i = 0; mirage_dns_zone_record(w->z, i, &rr) == 0; i++)
        if (!w->dead[i] && (rc = mirage_dns_zone_add(*out, &rr, "update", 0, err)) < 0)
            return rc;
    for (size_t k = 0; k < w->nadded; k++)
        if (!w->added[k].dead &&
            (rc = mirage_dns_zone_add(*out, &w->added[k].rr, "update", 0, err)) < 0)
            return rc;
    return mirage_dns_zone_finish(*out, err);
}

/* Adds to (set) the records of (z) the other zone (o) lacks (both in canonical order),
 * the SOA first. */
static int difference(const struct mirage_dns_zone *z, const struct mirage_dns_zone *o,
                      struct mirage_dns_zone *set)
{
    struct mirage_dns_rr a, b;
    struct mirage_dns_zone_error err;
    size_t i = 0, j = 0;
    int rc;

    if ((rc = mirage_dns_zone_record(z, dns_zone_soa(z), &a)) < 0 ||
        (rc = mirage_dns_zone_add(set, &a, "diff", 0, &err)) < 0)
        return rc;
    while (mirage_dns_zone_record(z, i, &a) == 0) {
        int c = mirage_dns_zone_record(o, j, &b) == 0 ? rr_compare(&a, &b) : -1;
        if (c > 0) {
            j++;
            continue;
        }
        if (a.type != MIRAGE_DNS_SOA && (c < 0 || a.ttl != b.ttl) &&
            (rc = mirage_dns_zone_add(set, &a, "diff", 0, &err)) < 0)
            return rc;
        i++;
        if (c == 0)
            j++;
    }
    return 0;
}

/* Keeps the step from (old) to (nz) for IXFR, dropping the oldest beyond the history kept. */
static void journal(struct mirage_dns_primary *p, const struct mirage_dns_zone *old,
                    const struct mirage_dns_zone *nz)
{
    struct dns_journal *j = dns_primary_journal(p, mirage_dns_zone_origin(nz));
    struct dns_diff *d = calloc(1, sizeof(*d));
    struct mirage_dns_soa a, b;

    if (j == NULL || d == NULL || p->history == 0 || mirage_dns_zone_soa(old, &a, NULL) < 0 ||
        mirage_dns_zone_soa(nz, &b, NULL) < 0 ||
        mirage_dns_zone_new(mirage_dns_zone_origin(old), &d->del) < 0 ||
        mirage_dns_zone_new(mirage_dns_zone_origin(old), &d->add) < 0 ||
        difference(old, nz, d->del) < 0 || difference(nz, old, d->add) < 0) {
        if (d != NULL) {
            mirage_dns_zone_free(d->del);
            mirage_dns_zone_free(d->add);
        }
        free(d);
        if (j != NULL)
            dns_journal_clear(p, j); /* a gap: IXFR from before it becomes AXFR */
        return;
    }
    d->from = a.serial;
    d->to = b.serial;
    if (j->newest != NULL)
        j->newest->next = d;
    else
        j->oldest = d;
    j->newest = d;
    j->n++;
    while (j->n > p->history) {
        struct dns_diff *gone = j->oldest;
        j->oldest = gone->next;
        j->n--;
        dns_primary_retire(p, gone->del);
        dns_primary_retire(p, gone->add);
        free(gone);
    }
}

/* Copies the record (rr) into (arena) for the update's lifetime. */
static int keep(struct urr *u, const struct mirage_dns_rr *rr, uint8_t *arena, size_t *used)
{
    if (*used + rr->rdlen > ARENA_MAX)
        return MIRAGE_ENOMEM;
    u->rr = *rr;
    memcpy(arena + *used, rr->rdata, rr->rdlen);
    u->rr.rdata = arena + *used;
    u->dead = 0;
    *used += rr->rdlen;
    return 0;
}

/* The replay cache: a MAC accepted within the time a signature is good is not accepted again. */
static int replayed(struct mirage_dns_primary *p, const struct mirage_dns_tsig_result *t,
                    uint64_t now)
{
    for (size_t i = 0; i < DNS_REPLAY_MAX; i++)
        if (p->seen_at[i] + 2 * (uint64_t)t->fudge + 2 * FUDGE >= now && p->seen_at[i] != 0 &&
            memcmp(p->seen[i], t->mac, 32) == 0)
            return 1;
    size_t at = p->seen_next++ % DNS_REPLAY_MAX;
    memcpy(p->seen[at], t->mac, 32);
    p->seen_at[at] = now;
    return 0;
}

static size_t answer(struct mirage_dns_writer *wr, const struct mirage_dns_question *q, int have_q,
                     int rcode, const struct mirage_dns_tsig_result *t, uint64_t now,
                     struct mirage_dns_update_result *res)
{
    uint8_t mac[32];

    res->rcode = rcode;
    wr->flags = (uint16_t)((wr->flags & ~15u) | (rcode & 15));
    if (have_q)
        mirage_dns_write_question(wr, q);
    /* A wrong key or MAC gets an unsigned answer (RFC 8945 5.3.2); a wrong time a signed one. */
    if (t != NULL && t->key != NULL && (t->tsig_error == 0 || t->tsig_error == MIRAGE_DNS_BADTIME))
        mirage_dns_tsig_sign(wr, t->key, now, FUDGE, t->mac, 32, t->tsig_error, mac);
    else if (t != NULL && t->tsig_error != 0)
        mirage_dns_tsig_unsigned(wr, &t->rr_name, now, FUDGE, t->tsig_error);
    return mirage_dns_write_end(wr);
}

size_t mirage_dns_update(struct mirage_dns_primary *p, const uint8_t *msg, size_t len, uint64_t now,
                         uint8_t *out, size_t cap, struct mirage_dns_update_result *res)
{
    struct mirage_dns_reader rd;
    struct mirage_dns_question q;
    struct mirage_dns_tsig_result t;
    struct mirage_dns_writer wr;
    struct mirage_dns_rr rr;
    int section, rc, have_q = 0;

    memset(res, 0, sizeof(*res));
    if (mirage_dns_read_begin(&rd, msg, len) < 0 || (rd.h.flags & MIRAGE_DNS_QR) ||
        MIRAGE_DNS_OPCODE(rd.h.flags) != MIRAGE_DNS_OP_UPDATE || cap < 512)
        return 0;
    p->stats.updates++;
    mirage_dns_write_begin(&wr, out, cap, rd.h.id,
                           (uint16_t)(MIRAGE_DNS_QR | (MIRAGE_DNS_OP_UPDATE << 11)));
    if (rd.h.count[0] != 1 || mirage_dns_read_question(&rd, &q) < 0 ||
        q.type != MIRAGE_DNS_SOA) {
        res->why = "not one zone of type SOA";
        p->stats.update_refused++;
        return answer(&wr, &q, 0, MIRAGE_DNS_FORMERR, NULL, now, res);
    }
    have_q = 1;
    res->zone = q.name;
    rc = mirage_dns_tsig_verify(msg, len, p->keys, p->nkeys, now, NULL, 0, &t);
    if (rc == MIRAGE_ENOENT) {
        res->why = "not signed with a TSIG key";
        p->stats.update_refused++;
        return answer(&wr, &q, have_q, MIRAGE_DNS_REFUSED, NULL, now, res);
    }
    if (rc < 0) {
        res->why = t.why;
        p->stats.update_refused++;
        return answer(&wr, &q, have_q, t.error, rc == MIRAGE_EBADMSG ? NULL : &t, now, res);
    }
    if (replayed(p, &t, now)) {
        res->why = "replayed: this signature was used already";
        t.tsig_error = MIRAGE_DNS_BADTIME;
        p->stats.update_refused++;
        return answer(&wr, &q, have_q, MIRAGE_DNS_NOTAUTH, &t, now, res);
    }
    const struct mirage_dns_zone *z = dns_server_find_zone(p->server, &q.name);
    if (q.qclass != MIRAGE_DNS_CLASS_IN || z == NULL ||
        !mirage_dns_name_equal(&q.name, mirage_dns_zone_origin(z))) {
        res->why = "not a zone we serve";
        p->stats.update_refused++;
        return answer(&wr, &q, have_q, MIRAGE_DNS_NOTAUTH, &t, now, res);
    }

    /* The prerequisites and the updates, copied out of the message. */
    struct urr *pre = malloc((UPDATE_RRS_MAX + 1) * sizeof(*pre) * 3);
    uint8_t *arena = malloc(ARENA_MAX);
    uint8_t *dead = calloc(mirage_dns_zone_count(z) + 1, 1);
    struct urr *up = pre + UPDATE_RRS_MAX + 1;
    struct work w = {z, dead, up + UPDATE_RRS_MAX + 1, 0, 0, 0};
    size_t npre = 0, nup = 0, used = 0;
    int rcode = MIRAGE_DNS_NOERROR;
    struct mirage_dns_zone *nz = NULL;
    struct mirage_dns_zone_error zerr;

    if (pre == NULL || arena == NULL || dead == NULL) {
        rcode = MIRAGE_DNS_SERVFAIL;
        res->why = "out of memory";
        goto done;
    }
    while ((rc = mirage_dns_read_rr(&rd, &rr, &section)) == 0) {
        if (section == MIRAGE_DNS_ADDITIONAL)
            continue; /* the TSIG, checked; an OPT */
        int ok = section == MIRAGE_DNS_ANSWER ? npre < UPDATE_RRS_MAX : nup < UPDATE_RRS_MAX;
        if (!ok || keep(section == MIRAGE_DNS_ANSWER ? &pre[npre++] : &up[nup++], &rr, arena,
                        &used) < 0) {
            rcode = MIRAGE_DNS_REFUSED;
            res->why = "too large an update";
            goto done;
        }
        if (section == MIRAGE_DNS_ANSWER &&
            (rr.ttl != 0 || !mirage_dns_name_under(&rr.name, &q.name))) {
            rcode = rr.ttl != 0 ? MIRAGE_DNS_FORMERR : NOTZONE;
            res->why = rr.ttl != 0 ? "a prerequisite with a TTL" : "a prerequisite outside the zone";
            goto done;
        }
    }
    if (rc != MIRAGE_ENOENT) {
        rcode = MIRAGE_DNS_FORMERR;
        res->why = rd.why;
        goto done;
    }
    if ((rcode = prerequisites(&w, pre, npre)) != MIRAGE_DNS_NOERROR) {
        res->why = "a prerequisite does not hold";
        goto done;
    }
    if ((rcode = prescan(up, nup, &q.name)) != MIRAGE_DNS_NOERROR) {
        res->why = rcode == NOTZONE ? "a record outside the zone" : "a record not allowed in an update";
        goto done;
    }
    for (size_t i = 0; i < nup; i++)
        apply(&w, &up[i].rr, &q.name);
    if (!w.changed)
        goto done; /* nothing to do: no new version */
    if ((rc = build(&w, &q.name, &nz, &zerr)) < 0) {
        snprintf(p->why, sizeof(p->why), "the zone would be wrong: %s", zerr.msg);
        res->why = p->why;
        rcode = rc == MIRAGE_ENOMEM ? MIRAGE_DNS_SERVFAIL : MIRAGE_DNS_REFUSED;
        mirage_dns_zone_free(nz);
        goto done;
    }
    struct mirage_dns_zone *old;
    if (mirage_dns_server_replace_zone(p->server, nz, &old) < 0) {
        rcode = MIRAGE_DNS_SERVFAIL;
        res->why = "out of memory";
        mirage_dns_zone_free(nz);
        goto done;
    }
    journal(p, old, nz);
    dns_primary_retire(p, old);
    res->changed = 1;
    struct mirage_dns_soa soa;
    if (mirage_dns_zone_soa(nz, &soa, NULL) == 0)
        res->serial = soa.serial;
done:
    free(pre);
    free(arena);
    free(dead);
    if (rcode != MIRAGE_DNS_NOERROR)
        p->stats.update_refused++;
    return answer(&wr, &q, have_q, rcode, &t, now, res);
}
