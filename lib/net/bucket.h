/* bucket.h: the token bucket that limits the ICMP errors a stack sends (ICMPv4 and ICMPv6). */
#ifndef NET_BUCKET_H
#define NET_BUCKET_H

#include <stdint.h>

#include "mirage/time.h"

/* (burst) messages at once, refilled at (rate) a second; the credit is kept
 * in nanoseconds so that any rate refills smoothly. */
struct bucket {
    unsigned rate, burst;
    uint64_t tokens_ns;
    uint64_t refilled_at;
};

static inline void bucket_init(struct bucket *b, unsigned rate, unsigned burst, uint64_t now)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens_ns = (uint64_t)burst * MIRAGE_SEC(1) / rate;
    b->refilled_at = now;
}

/* Takes one message's worth of credit at (now): 1, or 0 when there is none. */
static inline int bucket_take(struct bucket *b, uint64_t now)
{
    uint64_t per = MIRAGE_SEC(1) / b->rate, cap = per * b->burst;

    b->tokens_ns += now - b->refilled_at;
    if (b->tokens_ns > cap)
        b->tokens_ns = cap;
    b->refilled_at = now;
    if (b->tokens_ns < per)
        return 0;
    b->tokens_ns -= per;
    return 1;
}

#endif
