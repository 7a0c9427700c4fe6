/* tcp_sack.c: sequence ranges, the SACK scoreboard (RFC 2018) and RFC 6675's IsLost, pipe, holes.
 */
#include <string.h>

#include "mirage/error.h"
#include "tcp_internal.h"

/* Adds [left, right) to the sorted, disjoint set, merging what it touches.
 * Returns 0, or MIRAGE_ENOSPC when a new separate range would not fit (the
 * set is unchanged then). Ranges are compared relative to r[0].left or, for
 * an empty set, to (left): callers keep every range within 2^31 of each other. */
int tcp_ranges_add(struct tcp_ranges *r, uint32_t left, uint32_t right)
{
    unsigned i = 0, j;

    if (!seq_lt(left, right))
        return 0;
    while (i < r->n && seq_lt(r->r[i].right, left))
        i++;
    /* r[i] is the first range that ends at or after left. */
    j = i;
    while (j < r->n && seq_le(r->r[j].left, right))
        j++;
    /* r[i..j) overlap or touch [left, right). */
    if (i == j) {
        if (r->n == TCP_RANGES)
            return MIRAGE_ENOSPC;
        memmove(&r->r[i + 1], &r->r[i], (r->n - i) * sizeof(r->r[0]));
        r->r[i].left = left;
        r->r[i].right = right;
        r->n++;
        return 0;
    }
    r->r[i].left = seq_min(r->r[i].left, left);
    r->r[i].right = seq_max(r->r[j - 1].right, right);
    memmove(&r->r[i + 1], &r->r[j], (r->n - j) * sizeof(r->r[0]));
    r->n -= j - i - 1;
    return 0;
}

/* Drops everything below (below). */
void tcp_ranges_trim(struct tcp_ranges *r, uint32_t below)
{
    unsigned k = 0;

    for (unsigned i = 0; i < r->n; i++) {
        if (seq_le(r->r[i].right, below))
            continue;
        r->r[k] = r->r[i];
        if (seq_lt(r->r[k].left, below))
            r->r[k].left = below;
        k++;
    }
    r->n = k;
}

uint32_t tcp_ranges_bytes(const struct tcp_ranges *r)
{
    uint32_t n = 0;

    for (unsigned i = 0; i < r->n; i++)
        n += r->r[i].right - r->r[i].left;
    return n;
}

/* RFC 6675 IsLost: an unSACKed byte is lost once DupThresh (3) discontiguous
 * SACKed ranges or more than 2 * SMSS SACKed bytes lie above it. Being lost
 * is monotone in the sequence number, so one edge says it for all: every
 * hole below the returned sequence number is lost. Recovery adds what it
 * marks lost itself: the first segment on a fast retransmit or NewReno
 * partial ACK (lost_mark) and, after a timeout, everything sent before it. */
uint32_t tcp_sack_lost_edge(const struct tcp_conn *c)
{
    uint32_t edge = c->snd_una, bytes = 0;

    for (unsigned i = c->sacked.n, count = 0; i-- > 0;) {
        bytes += c->sacked.r[i].right - c->sacked.r[i].left;
        if (++count >= 3 || bytes > 2u * c->mss) {
            edge = seq_max(edge, c->sacked.r[i].left);
            break;
        }
    }
    if (c->in_recovery && seq_gt(c->lost_mark, edge))
        edge = c->lost_mark;
    if (c->in_recovery == 2 && seq_gt(c->recover, edge))
        edge = c->recover;
    return edge;
}

static uint32_t sent_end(const struct tcp_conn *c)
{
    return c->fin_sent ? c->snd_nxt - 1 : c->snd_nxt;
}

/* The first unSACKed byte at or after (from) and below (limit), and how many
 * follow it up to the next SACKed range or (limit). Returns whether any. */
int tcp_sack_next_hole(const struct tcp_conn *c, uint32_t from, uint32_t limit, uint32_t *seq,
                       uint32_t *len)
{
    uint32_t s = from;
    uint32_t end = seq_min(limit, sent_end(c));

    for (unsigned i = 0; i < c->sacked.n; i++) {
        const struct mirage_tcp_sack_block *b = &c->sacked.r[i];
        if (seq_le(b->right, s))
            continue;
        if (seq_le(b->left, s)) {
            s = b->right;
            continue;
        }
        /* A hole [s, b->left). */
        if (!seq_lt(s, end))
            return 0;
        *seq = s;
        *len = seq_min(b->left, end) - s;
        return 1;
    }
    if (!seq_lt(s, end))
        return 0;
    *seq = s;
    *len = end - s;
    return 1;
}

/* RFC 6675 pipe: bytes presumed in the network: every unSACKed byte not
 * presumed lost, plus every byte retransmitted (below HighRxt) in recovery.
 * Outside recovery this is the flight size less what the peer SACKed. */
uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
    uint32_t end = sent_end(c);
    uint32_t lost = c->in_recovery ? tcp_sack_lost_edge(c) : c->snd_una;
    uint32_t rxt = c->in_recovery ? seq_max(c->high_rxt, c->snd_una) : c->snd_una;
    uint32_t pipe = 0, s = c->snd_una, hs, hl;

    while (seq_lt(s, end) && tcp_sack_next_hole(c, s, end, &hs, &hl)) {
        uint32_t he = hs + hl;
        if (seq_lt(lost, he))
            pipe += he - seq_max(hs, lost);
        if (seq_lt(hs, rxt))
            pipe += seq_min(he, rxt) - hs;
        s = he;
    }
    if (c->fin_sent && seq_lt(c->snd_una, c->snd_nxt))
        pipe += 1;
    return pipe;
}
