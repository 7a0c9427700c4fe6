/* test_netif.c: netif and Ethernet receive: oversized frames, failed reads, VLAN tags. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/ethernet.h"
#include "mirage/netif.h"
#include "mirage/time.h"

/* A scripted device: each step is a frame of (len) bytes (len may exceed the
 * caller's buffer: a device that says so) or a failed read (err). */
struct step {
    size_t len;
    int err;
};

struct script {
    const struct step *steps;
    size_t n, next;
    size_t delivered[16]; /* lengths the receive function got, in order */
    size_t ndelivered;
};

static int script_write(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)frame, (void)len;
    return 0;
}

/* Hands out frames up to the next error; an error comes alone, first. */
static int script_readv(void *ctx, struct mirage_frame *f, size_t n, size_t *got)
{
    struct script *s = ctx;

    *got = 0;
    if (s->next < s->n && s->steps[s->next].err)
        return s->steps[s->next++].err;
    while (*got < n && s->next < s->n && !s->steps[s->next].err) {
        size_t len = s->steps[s->next++].len;

        memset(f[*got].buf, 0xab, len < f[*got].cap ? len : f[*got].cap);
        f[(*got)++].len = len;
    }
    return *got ? 0 : MIRAGE_EAGAIN;
}

/* Input may come any millisecond: a poll, so virtual time moves. */
static int script_wait(void *ctx, uint64_t deadline)
{
    (void)ctx, (void)deadline;
    return mirage_sleep_ns(MIRAGE_MS(1));
}

static const struct mirage_netif_ops script_ops = {script_write, script_readv, script_wait};

static void script_rx(void *ctx, const uint8_t *frame, size_t len)
{
    struct script *s = ctx;

    CHECK(len <= 1514);
    CHECK(len == 0 || (frame[0] == 0xab && frame[len - 1] == 0xab));
    if (s->ndelivered < 16)
        s->delivered[s->ndelivered++] = len;
}

static void netif_on(struct mirage_netif *nif, struct script *s)
{
    memset(nif, 0, sizeof(*nif));
    nif->name = "test0";
    nif->info.mtu = 1500;
    nif->info.mac[0] = 0x02;
    nif->info.mac[5] = 0x01;
    nif->ops = &script_ops;
    nif->ops_ctx = s;
}

/* A frame longer than the buffer is dropped and counted, never truncated;
 * failed reads are counted and retried with a growing pause, and frames after
 * them are received: nothing but a stop ends the receive fiber. */
static void test_oversized_and_errors(void)
{
    static const struct step steps[] = {
        {60, 0},         {1515, 0},          {100, 0},        {0, MIRAGE_EIO}, {60, 0},
        {0, MIRAGE_EIO}, {0, MIRAGE_EINVAL}, {0, MIRAGE_EIO}, {65000, 0},      {70, 0},
    };
    struct script s = {steps, sizeof(steps) / sizeof(steps[0]), 0, {0}, 0};
    struct mirage_netif nif;
    struct mirage_netif_stats st;
    uint64_t start = mirage_clock_monotonic();

    netif_on(&nif, &s);
    fake_console_clear();
    CHECK_INT(mirage_netif_listen(&nif, script_rx, &s), 0);
    mirage_sleep_ns(MIRAGE_MS(100));
    CHECK_INT(s.next, s.n);
    CHECK_INT(s.ndelivered, 4);
    CHECK_INT(s.delivered[0], 60);
    CHECK_INT(s.delivered[1], 100);
    CHECK_INT(s.delivered[2], 60);
    CHECK_INT(s.delivered[3], 70);
    mirage_netif_stats(&nif, &st);
    CHECK_INT(st.rx_frames, 4);
    CHECK_INT(st.rx_bytes, 290);
    CHECK_INT(st.rx_oversized, 2);
    CHECK_INT(st.rx_errors, 4);
    /* pauses of 1 ms, then 1, 2 and 4 for the three in a row */
    CHECK(mirage_clock_monotonic() - start >= MIRAGE_MS(8));
    CHECK(strstr(fake_console_text(), "test0: dropped 1 frame longer than 1514 bytes (1 so far)"));
    CHECK(strstr(fake_console_text(), "test0: dropped 1 frame longer than 1514 bytes (2 so far)"));
    CHECK(strstr(fake_console_text(), "test0: receive failed: ") != NULL);
    CHECK(strstr(fake_console_text(), "(4 so far); trying again in 4 ms") != NULL);
    mirage_netif_close(&nif);
}

/* An endless run of failed reads costs a read a second at most once the
 * pause has grown, and a stop still ends the fiber. */
static void test_errors_back_off(void)
{
    static struct step steps[64];
    struct script s = {steps, 64, 0, {0}, 0};
    struct mirage_netif nif;

    for (size_t i = 0; i < 64; i++)
        steps[i] = (struct step){0, MIRAGE_EIO};
    netif_on(&nif, &s);
    CHECK_INT(mirage_netif_listen(&nif, script_rx, &s), 0);
    mirage_sleep_ns(MIRAGE_SEC(20));
    /* 1+2+...+512 ms = 1.023 s for 10 reads, then one a second */
    CHECK(s.next >= 25 && s.next <= 32);
    mirage_netif_stop(&nif);
    mirage_netif_close(&nif);
}

struct seen {
    size_t calls, len;
    uint16_t ethertype;
};

static void on_ipv4(void *ctx, const struct mirage_eth_rx *rx)
{
    struct seen *s = ctx;

    s->calls++;
    s->len = rx->len;
    s->ethertype = rx->ethertype;
}

/* A frame to our MAC with (tags) tag ethertype/TCI pairs before IPv4 and 20 payload bytes. */
static size_t tagged(uint8_t *f, const uint16_t *tags, size_t ntags)
{
    size_t off = 12;

    memset(f, 0, 64);
    f[0] = 0x02;
    f[5] = 0x01;
    for (size_t i = 0; i < ntags; i++, off += 4) {
        f[off] = (uint8_t)(tags[2 * i] >> 8);
        f[off + 1] = (uint8_t)tags[2 * i];
        f[off + 2] = (uint8_t)(tags[2 * i + 1] >> 8);
        f[off + 3] = (uint8_t)tags[2 * i + 1];
    }
    f[off] = 0x08;
    f[off + 1] = 0x00;
    return off + 2 + 20;
}

/* VLANs are not joined: tagged frames are dropped and counted, except a
 * priority tag (VLAN 0), which 802.1Q reads as untagged. */
static void test_vlan_tags(void)
{
    struct script s = {NULL, 0, 0, {0}, 0};
    struct mirage_netif nif;
    struct mirage_eth *eth;
    struct mirage_eth_stats st;
    struct seen seen = {0};
    uint8_t f[64];
    static const uint16_t vlan5[] = {0x8100, 0x0005}, prio[] = {0x8100, 0xa000},
                          prio_vlan[] = {0x8100, 0x0000, 0x8100, 0x0007}, qinq[] = {0x88a8, 0x0000};
    size_t len;

    netif_on(&nif, &s);
    eth = mirage_eth_new(&nif);
    CHECK(eth != NULL);
    CHECK_INT(mirage_eth_set_handler(eth, MIRAGE_ETHERTYPE_IPV4, on_ipv4, &seen), 0);
    fake_console_clear();

    len = tagged(f, NULL, 0);
    mirage_eth_input(eth, f, len);
    CHECK_INT(seen.calls, 1);
    CHECK_INT(seen.len, 20);

    len = tagged(f, vlan5, 1);
    mirage_eth_input(eth, f, len);
    CHECK_INT(seen.calls, 1);
    CHECK(strstr(fake_console_text(), "dropped an 802.1Q-tagged frame (VLAN 5)") != NULL);

    len = tagged(f, prio, 1); /* priority 5, VLAN 0 */
    mirage_eth_input(eth, f, len);
    CHECK_INT(seen.calls, 2);
    CHECK_INT(seen.len, 20);
    CHECK_INT(seen.ethertype, MIRAGE_ETHERTYPE_IPV4);

    len = tagged(f, prio_vlan, 2);
    mirage_eth_input(eth, f, len);
    len = tagged(f, qinq, 1);
    mirage_eth_input(eth, f, len);
    CHECK_INT(seen.calls, 2);
    CHECK(strstr(fake_console_text(), "dropped an 802.1ad-tagged frame (VLAN 0)") != NULL);

    len = tagged(f, vlan5, 1);
    mirage_eth_input(eth, f, 16); /* the tag cut short */
    CHECK_INT(seen.calls, 2);

    mirage_eth_stats(eth, &st);
    CHECK_INT(st.rx_vlan, 3);
    CHECK_INT(st.rx_frames, 2);
    CHECK_INT(st.rx_bad, 1);
    mirage_eth_free(eth);
    mirage_netif_close(&nif);
}

int main(void)
{
    test_oversized_and_errors();
    test_errors_back_off();
    test_vlan_tags();
    return CHECK_DONE();
}
