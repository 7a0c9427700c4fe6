/* reasm.c: IPv4 and IPv6 fragment reassembly: a bounded LRU cache, at most 16 pieces, a timeout,
 * overlap drops all. */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "mirage/log.h"

MIRAGE_LOG_SOURCE(reasm_log, "reasm", "IPv4 and IPv6 fragment reassembly");

#define ENTRY_COST 128 /* bytes charged per datagram besides its data, so tiny fragments count */
#define CHUNK_COST 32  /* and per fragment */
#define CHUNKS_MAX 128 /* fragments per datagram in all: 45 make 65535 bytes over Ethernet */

/*
 * A datagram's fragments are kept sorted by offset. Adjacent fragments form
 * one run; the limit (16, MirageOS's) applies to runs, the pieces that are
 * not yet joined, so a datagram of 45 fragments arriving in order (ping -s
 * 65000 over Ethernet) is one growing run while 17 scattered pieces are too
 * many. Any overlap, even an exact duplicate, drops the whole datagram
 * (RFC 5722 asks it of IPv6; IPv4 does the same).
 */
struct chunk {
    struct chunk *next, *prev;
    size_t off, len;
    uint8_t data[];
};

struct reasm_entry {
    struct reasm_entry *prev, *next;
    struct reasm_key k;
    uint64_t first, used;
    uint8_t *hdr; /* what preceded the data of the fragment at offset 0, once it came */
    size_t hdr_len;
    size_t end; /* the datagram's payload length, once the last fragment came; else 0 */
    struct chunk *head, *tail;
    unsigned chunks, runs;
    size_t bytes;
};

void reasm_init(struct reasm_cache *rc, const struct reasm_limits *lim)
{
    memset(rc, 0, sizeof(*rc));
    rc->lim = *lim;
}

static void unlink_entry(struct reasm_cache *rc, struct reasm_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        rc->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        rc->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct reasm_cache *rc, struct reasm_entry *e)
{
    e->prev = NULL;
    e->next = rc->head;
    if (rc->head)
        rc->head->prev = e;
    else
        rc->tail = e;
    rc->head = e;
}

static void destroy(struct reasm_cache *rc, struct reasm_entry *e)
{
    struct chunk *c = e->head;

    unlink_entry(rc, e);
    while (c) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
    rc->bytes -= e->bytes;
    rc->entries--;
    free(e->hdr);
    free(e);
}

static void drop(struct reasm_cache *rc, struct reasm_entry *e, const char *why)
{
    mirage_log_debug(&reasm_log, "dropping datagram id %u: %s", (unsigned)e->k.id, why);
    rc->dropped++;
    destroy(rc, e);
}

void reasm_clear(struct reasm_cache *rc)
{
    while (rc->head)
        destroy(rc, rc->head);
}

static void complete(struct reasm_cache *rc, struct reasm_entry *e, reasm_fn deliver, void *ctx)
{
    uint8_t *buf, *hdr;
    size_t hdr_len = e->hdr_len, end = e->end;

    if (e->hdr == NULL || e->end == 0 || e->tail->off + e->tail->len != e->end || e->runs != 1)
        return;
    buf = malloc(e->end);
    if (buf == NULL) {
        drop(rc, e, "out of memory");
        return;
    }
    for (const struct chunk *c = e->head; c; c = c->next)
        memcpy(buf + c->off, c->data, c->len);
    hdr = e->hdr;
    e->hdr = NULL;
    rc->completed++;
    /* Delivery may send (an echo reply) or reenter: the entry is gone by then. */
    destroy(rc, e);
    deliver(ctx, hdr, hdr_len, buf, end);
    free(hdr);
    free(buf);
}

void reasm_expire(struct reasm_cache *rc, uint64_t now, reasm_fn on_expire, void *ctx)
{
    struct reasm_entry *e = rc->head, *next;

    for (; e; e = next) {
        next = e->next;
        if (now - e->first <= rc->lim.timeout)
            continue;
        rc->timed_out++;
        /* RFC 8200 4.5: time exceeded quotes the first fragment, if it came. */
        if (on_expire && e->hdr && e->head && e->head->off == 0)
            on_expire(ctx, e->hdr, e->hdr_len, e->head->data, e->head->len);
        drop(rc, e, "timed out");
    }
}

uint64_t reasm_next_expiry(const struct reasm_cache *rc)
{
    uint64_t next = UINT64_MAX;

    for (const struct reasm_entry *e = rc->head; e; e = e->next)
        if (e->first + rc->lim.timeout + 1 < next)
            next = e->first + rc->lim.timeout + 1;
    return next;
}

/* Makes room for (need) more bytes by dropping least recently used datagrams. */
static int make_room(struct reasm_cache *rc, size_t need, const struct reasm_entry *keep)
{
    while (rc->bytes + need > rc->lim.bytes) {
        struct reasm_entry *v = rc->tail;
        if (v == keep)
            v = v->prev;
        if (v == NULL)
            return -1;
        drop(rc, v, "the reassembly cache is full");
    }
    return 0;
}

static int same_key(const struct reasm_key *a, const struct reasm_key *b)
{
    return a->id == b->id && a->proto == b->proto && memcmp(a->src, b->src, 16) == 0 &&
           memcmp(a->dst, b->dst, 16) == 0;
}

void reasm_input(struct reasm_cache *rc, const struct reasm_key *k, const struct reasm_frag *f,
                 uint64_t now, reasm_fn deliver, void *ctx)
{
    struct reasm_entry *e;
    size_t len = f->len, off = f->off, cost;
    int more = f->more;

    /* Forget datagrams whose first fragment is too old; the LRU tail is the
     * least recently used, so the sweep stops at the first one still young. */
    while (rc->tail && now - rc->tail->used > rc->lim.timeout) {
        rc->timed_out++;
        drop(rc, rc->tail, "timed out");
    }
    for (e = rc->head; e; e = e->next)
        if (same_key(&e->k, k))
            break;
    if (e && now - e->first > rc->lim.timeout) {
        rc->timed_out++;
        drop(rc, e, "timed out");
        e = NULL;
    }
    /* A fragment must be non-empty, a multiple of 8 bytes unless it is the
     * last, and end within the largest datagram. */
    if (len == 0 || (more && len % 8) || off > rc->lim.max_payload ||
        len > rc->lim.max_payload - off || (off == 0 && f->hdr_len > rc->lim.max_header)) {
        if (e)
            drop(rc, e, "a malformed fragment");
        else
            rc->dropped++;
        return;
    }
    if (e == NULL) {
        if (make_room(rc, ENTRY_COST + len, NULL) != 0) {
            rc->dropped++;
            return;
        }
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            rc->dropped++;
            return;
        }
        e->k = *k;
        e->first = now;
        e->bytes = ENTRY_COST;
        rc->bytes += ENTRY_COST;
        rc->entries++;
        push_front(rc, e);
    } else {
        unlink_entry(rc, e);
        push_front(rc, e);
    }
    e->used = now;
    /* Where it goes: after (p), the last chunk starting before it. */
    struct chunk *p = e->tail, *nc;
    while (p && p->off > off)
        p = p->prev;
    if ((p && p->off + p->len > off) ||
        ((p ? p->next : e->head) && (p ? p->next : e->head)->off < off + len)) {
        drop(rc, e, "overlapping fragments");
        return;
    }
    if ((e->end && off + len > e->end) ||
        (!more && e->tail && e->tail->off + e->tail->len > off + len)) {
        drop(rc, e, "a fragment past the end");
        return;
    }
    if (!more)
        e->end = off + len;
    cost = CHUNK_COST + len + (off == 0 ? f->hdr_len : 0);
    if (make_room(rc, cost, e) != 0) {
        drop(rc, e, "the reassembly cache is full");
        return;
    }
    nc = malloc(sizeof(*nc) + len);
    if (nc == NULL) {
        drop(rc, e, "out of memory");
        return;
    }
    memcpy(nc->data, f->data, len);
    nc->off = off;
    nc->len = len;
    nc->prev = p;
    nc->next = p ? p->next : e->head;
    if (nc->next)
        nc->next->prev = nc;
    else
        e->tail = nc;
    if (p)
        p->next = nc;
    else
        e->head = nc;
    e->bytes += cost;
    rc->bytes += cost;
    e->chunks++;
    e->runs =
        e->runs + 1 - (p && p->off + p->len == off) - (nc->next && off + len == nc->next->off);
    if (e->runs > rc->lim.runs || e->chunks > CHUNKS_MAX) {
        drop(rc, e, "too many separate fragments");
        return;
    }
    if (off == 0) {
        e->hdr = malloc(f->hdr_len ? f->hdr_len : 1);
        if (e->hdr == NULL) {
            drop(rc, e, "out of memory");
            return;
        }
        memcpy(e->hdr, f->hdr, f->hdr_len);
        e->hdr_len = f->hdr_len;
    }
    complete(rc, e, deliver, ctx);
}
