/* pending.h: packets waiting for a neighbour's link-layer address (ARP, ND), in order. */
#ifndef NET_PENDING_H
#define NET_PENDING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/ethernet.h"
#include "mirage/netif.h"

struct pending_pkt {
    struct pending_pkt *next;
    size_t len;
    uint8_t data[]; /* the network-layer packet, its header first */
};

/* One neighbour's queue; (*total) in the calls counts every queue's packets
 * together, for the cache-wide limit. */
struct pending {
    struct pending_pkt *head, *tail;
    size_t len;
};

/* Frees every packet of (q). */
static inline void pending_drop(struct pending *q, size_t *total)
{
    struct pending_pkt *p = q->head;

    while (p) {
        struct pending_pkt *n = p->next;
        free(p);
        p = n;
    }
    *total -= q->len;
    q->head = q->tail = NULL;
    q->len = 0;
}

/* Frees the oldest packet of (q), which is not empty. */
static inline void pending_drop_oldest(struct pending *q, size_t *total)
{
    struct pending_pkt *old = q->head;

    q->head = old->next;
    if (q->head == NULL)
        q->tail = NULL;
    free(old);
    q->len--;
    (*total)--;
}

/* Appends to (q) what fill(ctx) writes into at most (size) bytes. Returns 0,
 * MIRAGE_ENOMEM, or fill's error (MIRAGE_EINVAL if it overran). */
static inline int pending_push(struct pending *q, size_t *total, size_t size, mirage_fill_fn fill,
                               void *ctx)
{
    struct pending_pkt *p = malloc(sizeof(*p) + size);
    int n;

    if (p == NULL)
        return MIRAGE_ENOMEM;
    n = fill(ctx, p->data, size);
    if (n < 0 || (size_t)n > size) {
        free(p);
        return n < 0 ? n : MIRAGE_EINVAL;
    }
    p->len = (size_t)n;
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->len++;
    (*total)++;
    return 0;
}

static inline int pending_copy_fill(void *ctx, uint8_t *buf, size_t size)
{
    const struct pending_pkt *p = ctx;

    if (p->len > size)
        return MIRAGE_EMSGSIZE;
    memcpy(buf, p->data, p->len);
    return (int)p->len;
}

/* The neighbour answered: (q)'s packets leave in order to (mac) as
 * (ethertype) frames. The queue is emptied first, so a send that queues
 * again starts a new one. */
static inline void pending_flush(struct pending *q, size_t *total, struct mirage_eth *eth,
                                 const uint8_t mac[6], uint16_t ethertype)
{
    struct pending_pkt *p = q->head;

    *total -= q->len;
    q->head = q->tail = NULL;
    q->len = 0;
    while (p) {
        struct pending_pkt *n = p->next;
        mirage_eth_write(eth, NULL, mac, ethertype, p->len, pending_copy_fill, p);
        free(p);
        p = n;
    }
}

#endif
