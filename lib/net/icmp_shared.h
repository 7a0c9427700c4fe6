/* icmp_shared.h: what ICMPv4 and ICMPv6 do alike: the error limit (a token bucket with
 * its defaults) and the table of upper layers that want the errors about their protocol. */
#ifndef NET_ICMP_SHARED_H
#define NET_ICMP_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
#include "mirage/icmp.h"
#include "mirage/icmpv6.h"
#include "mirage/time.h"
#include "bucket.h"

/* Fills in a config's zero rate (100 a second) and burst (50), then starts (b) full. */
static inline void icmp_limit_init(struct bucket *b, unsigned *rate, unsigned *burst)
{
    if (*rate == 0)
        *rate = 100;
    if (*burst == 0)
        *burst = 50;
    bucket_init(b, *rate, *burst, mirage_clock_monotonic());
}

/* 0 when an error may be sent now; MIRAGE_EAGAIN, counted in (limited), when not. */
static inline int icmp_limit_take(struct bucket *b, uint64_t *limited)
{
    if (bucket_take(b, mirage_clock_monotonic()))
        return 0;
    (*limited)++;
    return MIRAGE_EAGAIN;
}

/* One upper layer's handler for errors about (proto); fn is the family's type. */
struct icmp_upcall {
    uint8_t proto;
    int used;
    void *ctx;
    union {
        mirage_icmpv4_error_fn v4;
        mirage_icmpv6_error_fn v6;
    } fn;
};

#define ICMP_UPCALLS 4

/* The slot of (t) that serves (proto): its own, else the first free one; NULL when
 * every slot serves another protocol. */
static inline struct icmp_upcall *icmp_upcall_slot(struct icmp_upcall *t, uint8_t proto)
{
    struct icmp_upcall *free_slot = NULL;

    for (size_t i = 0; i < ICMP_UPCALLS; i++) {
        if (t[i].used && t[i].proto == proto)
            return &t[i];
        if (!t[i].used && free_slot == NULL)
            free_slot = &t[i];
    }
    return free_slot;
}

/* The registered slot for (proto), or NULL. */
static inline const struct icmp_upcall *icmp_upcall_find(const struct icmp_upcall *t,
                                                         uint8_t proto)
{
    for (size_t i = 0; i < ICMP_UPCALLS; i++)
        if (t[i].used && t[i].proto == proto)
            return &t[i];
    return NULL;
}

#endif
