/* stream.h: the seeded test byte stream both ends of the TCP tests generate (host and guest). */
#ifndef TCPTEST_STREAM_H
#define TCPTEST_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The byte stream of (seed): xorshift64* words, little-endian. Header-only so
 * tests/net/tcpclient.c (hosted) and tests/tcp/tcptest.c (every target, the
 * freestanding libc too) cannot drift apart: the e2e tests compare digests.
 */
struct gen {
    uint64_t x;
    uint8_t word[8];
    unsigned used;
};

static inline void gen_init(struct gen *g, uint64_t seed)
{
    g->x = seed * 0x9E3779B97F4A7C15ull | 1;
    g->used = 8;
}

static inline uint8_t gen_byte(struct gen *g)
{
    if (g->used == 8) {
        uint64_t v;
        g->x ^= g->x >> 12;
        g->x ^= g->x << 25;
        g->x ^= g->x >> 27;
        v = g->x * 0x2545F4914F6CDD1Dull;
        for (int i = 0; i < 8; i++)
            g->word[i] = (uint8_t)(v >> (8 * i));
        g->used = 0;
    }
    return g->word[g->used++];
}

/* Seed 0 is the stream of zeros here (host benchmarks: nothing to compute);
 * gen_byte knows no such case, and the guest never asks for seed 0. */
static inline void gen_fill(struct gen *g, uint8_t *buf, size_t n)
{
    if (g->x == 1) { /* seed 0 */
        memset(buf, 0, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = gen_byte(g);
}

#endif
