/* test_net_link.c: netif over the test link: batched receive, fill transmit, seeded impairments. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/netif.h"
#include "mirage/time.h"
#include "../net/link.h"

struct sink {
    size_t frames;
    size_t bytes;
    uint32_t seqs[4096];
    int bad_content;
};

static void sink_rx(void *ctx, const uint8_t *frame, size_t len)
{
    struct sink *s = ctx;

    if (len < 18) {
        s->bad_content++;
        return;
    }
    uint32_t seq = (uint32_t)frame[14] << 24 | frame[15] << 16 | frame[16] << 8 | frame[17];
    for (size_t i = 18; i < len; i++)
        if (frame[i] != (uint8_t)(seq + i))
            s->bad_content++;
    if (s->frames < 4096)
        s->seqs[s->frames] = seq;
    s->frames++;
    s->bytes += len;
}

struct gen {
    uint32_t seq;
    size_t len;
};

static int gen_fill(void *ctx, uint8_t *buf, size_t size)
{
    struct gen *g = ctx;

    if (g->len > size)
        return MIRAGE_EMSGSIZE;
    memset(buf, 0xff, 12);
    buf[12] = 0x88;
    buf[13] = 0xb5;
    buf[14] = (uint8_t)(g->seq >> 24);
    buf[15] = (uint8_t)(g->seq >> 16);
    buf[16] = (uint8_t)(g->seq >> 8);
    buf[17] = (uint8_t)g->seq;
    for (size_t i = 18; i < g->len; i++)
        buf[i] = (uint8_t)(g->seq + i);
    return (int)g->len;
}

/* Sends (n) frames from side 0 to side 1 with (cfg); returns what arrived. */
static void run(const struct simlink_config *cfg, size_t n, struct sink *s,
                struct simlink_stats *st)
{
    struct simlink *l = simlink_new(cfg);
    struct mirage_netif *a = simlink_netif(l, 0), *b = simlink_netif(l, 1);

    memset(s, 0, sizeof(*s));
    CHECK(l != NULL);
    CHECK_INT(mirage_netif_listen(b, sink_rx, s), 0);
    CHECK_INT(mirage_netif_listen(b, sink_rx, s), MIRAGE_EINVAL);
    for (size_t i = 0; i < n; i++) {
        struct gen g = {(uint32_t)i, 60 + i % 1400};
        CHECK_INT(mirage_netif_write(a, mirage_netif_frame_max(a), gen_fill, &g), 0);
        if (i % 16 == 15)
            mirage_sleep_ns(MIRAGE_US(100));
    }
    mirage_sleep_ns(MIRAGE_SEC(1));
    CHECK_INT(simlink_pending(l), 0);
    simlink_stats(l, 0, st);
    simlink_free(l);
}

static void test_clean_link(void)
{
    struct simlink_config cfg = {.seed = 1, .delay_ns = MIRAGE_MS(1)};
    static struct sink s;
    struct simlink_stats st;
    uint64_t t0 = mirage_clock_monotonic();

    run(&cfg, 1000, &s, &st);
    CHECK_INT(s.frames, 1000);
    CHECK_INT(s.bad_content, 0);
    for (size_t i = 0; i < 1000; i++)
        CHECK_INT(s.seqs[i], i);
    CHECK_INT(st.written, 1000);
    CHECK_INT(st.delivered, 1000);
    CHECK(mirage_clock_monotonic() > t0);
}

static void test_impaired_link_is_deterministic(void)
{
    struct simlink_config cfg = {.seed = 7,
                                 .drop_ppm = 50000,
                                 .dup_ppm = 20000,
                                 .reorder_ppm = 30000,
                                 .corrupt_ppm = 10000,
                                 .delay_ns = MIRAGE_MS(2),
                                 .jitter_ns = MIRAGE_US(50),
                                 .rate_bps = 100000000};
    static struct sink s1, s2;
    struct simlink_stats st1, st2;
    size_t inversions = 0;

    run(&cfg, 2000, &s1, &st1);
    run(&cfg, 2000, &s2, &st2);
    CHECK_INT(s1.frames, s2.frames);
    CHECK(memcmp(s1.seqs, s2.seqs, sizeof(s1.seqs)) == 0);
    CHECK_INT(st1.dropped, st2.dropped);
    /* Roughly the asked rates (2000 frames: wide margins). */
    CHECK(st1.dropped > 50 && st1.dropped < 160);
    CHECK(st1.duplicated > 15 && st1.duplicated < 80);
    CHECK(st1.reordered > 30 && st1.reordered < 120);
    CHECK(st1.corrupted > 5 && st1.corrupted < 60);
    CHECK_INT(s1.frames, st1.delivered);
    CHECK_INT(st1.delivered, st1.written - st1.dropped + st1.duplicated);
    CHECK(s1.bad_content > 0); /* corruption reaches the receiver */
    for (size_t i = 1; i < s1.frames && i < 4096; i++)
        inversions += s1.seqs[i] < s1.seqs[i - 1];
    CHECK(inversions > 0);

    cfg.seed = 8;
    run(&cfg, 2000, &s2, &st2);
    CHECK(memcmp(s1.seqs, s2.seqs, sizeof(s1.seqs)) != 0);
}

static int drop_odd(void *ctx, int from, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)from, (void)len;
    return frame[17] & 1;
}

static void test_filter_and_limits(void)
{
    struct simlink_config cfg = {.seed = 3, .queue_max = 10, .delay_ns = MIRAGE_MS(1)};
    struct simlink *l = simlink_new(&cfg);
    struct mirage_netif *a = simlink_netif(l, 0), *b = simlink_netif(l, 1);
    static struct sink s;
    struct simlink_stats st;
    struct mirage_netif_stats ns;
    struct gen g = {0, 1515};

    memset(&s, 0, sizeof(s));
    CHECK_INT(mirage_netif_listen(b, sink_rx, &s), 0);
    /* Too big for the MTU: an error, nothing sent. */
    CHECK_INT(mirage_netif_write(a, 1515, gen_fill, &g), MIRAGE_EMSGSIZE);
    simlink_set_filter(l, drop_odd, NULL);
    for (uint32_t i = 0; i < 30; i++) {
        g = (struct gen){i, 100};
        CHECK_INT(mirage_netif_write(a, 1514, gen_fill, &g), 0);
    }
    mirage_sleep_ns(MIRAGE_MS(10));
    simlink_stats(l, 0, &st);
    CHECK_INT(st.filtered, 15);
    CHECK_INT(st.overflowed, 5); /* 15 passed, 10 fit in flight */
    CHECK_INT(s.frames, 10);
    for (size_t i = 0; i < s.frames; i++)
        CHECK_INT(s.seqs[i] & 1, 0);
    mirage_netif_stats(a, &ns);
    CHECK_INT(ns.tx_frames, 30);
    CHECK_INT(ns.tx_errors, 1);
    mirage_netif_stats(b, &ns);
    CHECK_INT(ns.rx_frames, 10);
    simlink_free(l);
}

int main(void)
{
    test_clean_link();
    test_impaired_link_is_deterministic();
    test_filter_and_limits();
    return CHECK_DONE();
}
