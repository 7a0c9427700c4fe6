/* netif.c: frames in and out of one network device: a batched receive fiber and a transmit buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/netif.h"
#include "mirage/sched.h"
#include "mirage/time.h"
#include "mirage/wire.h"

MIRAGE_LOG_SOURCE(netif_log, "netif", "network interfaces");

#define RX_BATCH         32
#define RX_BATCH_GSO     8 /* with MIRAGE_NET_GSO_MAX-byte buffers (TSO4, TSO6 or USO on) */
#define BATCHES_PER_TURN 8 /* then other fibers get a turn */

struct mirage_netif_state {
    uint8_t *tx;                           /* one frame, filled in place */
    uint8_t *rx;                           /* batch() frames */
    const struct mirage_net_meta *rx_meta; /* of the frame being received */
    struct mirage_fiber *fiber;
    mirage_netif_rx_fn rx_fn;
    void *rx_ctx;
    int writing;                            /* a fill is running: catches re-entry */
    int in_batch;                           /* rx callbacks are running */
    uint64_t rx_now;                        /* the clock when the batch was read */
    uint64_t dev_oversized, oversized_said; /* the device's count; what the last warning said */
    struct mirage_netif_stats st;
};

#define RETRY_MIN_NS MIRAGE_MS(1)
#define RETRY_MAX_NS MIRAGE_MS(1000)

size_t mirage_netif_frame_max(const struct mirage_netif *nif)
{
    return mirage_net_frame_max(&nif->info);
}

static size_t batch(const struct mirage_netif *nif)
{
    return mirage_netif_frame_max(nif) > 16384 ? RX_BATCH_GSO : RX_BATCH;
}

/* Turns on the offloads the platform device offers; without them (or when
 * it refuses) the device stays frame by frame. A device of ops has none. */
static void offloads_on(struct mirage_netif *nif)
{
    uint32_t want = nif->info.offloads;

    if (nif->ops != NULL) {
        nif->info.offloads = 0;
        return;
    }
    if (!(want & MIRAGE_NET_OFFLOAD_CSUM))
        want &= ~MIRAGE_NET_OFFLOAD_GSO; /* segments need the checksum left to the device */
    if (want != 0 && mirage_net_set_offloads(nif->handle, want) != 0) {
        mirage_log_warn(&netif_log, "%s: the device refused its offloads: frame by frame",
                        nif->name);
        want = 0;
    }
    nif->info.offloads = want;
    mirage_log_debug(&netif_log, "%s: offloads:%s%s%s%s%s%s", nif->name,
                     (want & MIRAGE_NET_OFFLOAD_CSUM) ? " checksum" : " none",
                     (want & MIRAGE_NET_OFFLOAD_TSO) ? " TSO/GRO (" : "",
                     (want & MIRAGE_NET_OFFLOAD_TSO4) ? "TCP/IPv4" : "",
                     (want & MIRAGE_NET_OFFLOAD_TSO) == MIRAGE_NET_OFFLOAD_TSO ? ", " : "",
                     (want & MIRAGE_NET_OFFLOAD_TSO6) ? "TCP/IPv6)"
                     : (want & MIRAGE_NET_OFFLOAD_TSO4) ? ")"
                                                        : "",
                     (want & MIRAGE_NET_OFFLOAD_USO) ? " USO (UDP)" : "");
}

static struct mirage_netif_state *state(struct mirage_netif *nif)
{
    if (nif->state == NULL) {
        struct mirage_netif_state *s = calloc(1, sizeof(*s));
        if (s == NULL)
            return NULL;
        offloads_on(nif);
        s->tx = malloc(mirage_netif_frame_max(nif));
        if (s->tx == NULL) {
            free(s);
            return NULL;
        }
        nif->state = s;
    }
    return nif->state;
}

static int dev_write(struct mirage_netif *nif, const uint8_t *frame, size_t len,
                     const struct mirage_net_meta *meta)
{
    struct mirage_frame f = {(uint8_t *)frame, len, len, {0}};
    size_t n;

    if (nif->ops != NULL)
        return nif->ops->write(nif->ops_ctx, frame, len);
    if (meta == NULL)
        return mirage_net_write(nif->handle, frame, len);
    f.meta = *meta;
    return mirage_net_writev(nif->handle, &f, 1, &n);
}

static int dev_readv(struct mirage_netif *nif, struct mirage_frame *f, size_t n, size_t *got)
{
    if (nif->ops != NULL)
        return nif->ops->readv(nif->ops_ctx, f, n, got);
    return mirage_net_readv(nif->handle, f, n, got);
}

/* The device's own drops (0 for a device of ops: its readv reports every frame). */
static uint64_t dev_oversized(const struct mirage_netif *nif)
{
    struct mirage_net_stats ds;

    if (nif->ops != NULL || mirage_net_stats(nif->handle, &ds) != 0)
        return 0;
    return ds.rx_oversized;
}

static int dev_wait(struct mirage_netif *nif)
{
    if (nif->ops != NULL)
        return nif->ops->wait(nif->ops_ctx, MIRAGE_FOREVER);
    return mirage_wait_device(nif->handle, MIRAGE_FOREVER);
}

static int sent(struct mirage_netif_state *s, int r, size_t len, const struct mirage_net_meta *meta)
{
    if (r == 0) {
        s->st.tx_frames++;
        s->st.tx_bytes += len;
        if (meta != NULL && meta->gso_type != MIRAGE_NET_GSO_NONE)
            s->st.tx_gso++;
    } else if (r == MIRAGE_EAGAIN) {
        s->st.tx_dropped++;
    } else {
        s->st.tx_errors++;
    }
    return r;
}

int mirage_netif_write(struct mirage_netif *nif, size_t size, mirage_fill_fn fill, void *ctx)
{
    return mirage_netif_write_meta(nif, size, NULL, fill, ctx);
}

int mirage_netif_write_meta(struct mirage_netif *nif, size_t size,
                            const struct mirage_net_meta *meta, mirage_fill_fn fill, void *ctx)
{
    struct mirage_netif_state *s = state(nif);
    int n;

    if (s == NULL)
        return MIRAGE_ENOMEM;
    if (size > (meta != NULL && meta->gso_type != MIRAGE_NET_GSO_NONE
                    ? mirage_netif_frame_max(nif)
                    : (size_t)nif->info.mtu + 14)) {
        s->st.tx_errors++;
        return MIRAGE_EMSGSIZE;
    }
    if (s->writing) {
        mirage_log_err(&netif_log, "%s: a fill wrote to its own device", nif->name);
        s->st.tx_errors++;
        return MIRAGE_EINVAL;
    }
    s->writing = 1;
    n = fill(ctx, s->tx, size);
    s->writing = 0;
    if (n < 0) {
        s->st.tx_errors++;
        return n;
    }
    if ((size_t)n > size) {
        mirage_log_err(&netif_log, "%s: fill claims %d bytes of %zu", nif->name, n, size);
        s->st.tx_errors++;
        return MIRAGE_EINVAL;
    }
    if (meta != NULL && !mirage_net_tx_ok(&nif->info, meta, (size_t)n)) {
        mirage_log_err(&netif_log, "%s: frame metadata the device cannot take", nif->name);
        s->st.tx_errors++;
        return MIRAGE_EINVAL;
    }
    return sent(s, dev_write(nif, s->tx, (size_t)n, meta), (size_t)n, meta);
}

int mirage_netif_send(struct mirage_netif *nif, const uint8_t *frame, size_t len)
{
    struct mirage_netif_state *s = state(nif);

    if (s == NULL)
        return MIRAGE_ENOMEM;
    if (len > (size_t)nif->info.mtu + 14) {
        s->st.tx_errors++;
        return MIRAGE_EMSGSIZE;
    }
    return sent(s, dev_write(nif, frame, len, NULL), len, NULL);
}

/* Counts oversized frames the device dropped since the last look, and says
 * so (the log limits how often). */
static void note_oversized(struct mirage_netif *nif, struct mirage_netif_state *s)
{
    uint64_t dev = dev_oversized(nif);

    if (dev > s->dev_oversized) {
        s->st.rx_oversized += dev - s->dev_oversized;
        s->dev_oversized = dev;
    }
    if (s->st.rx_oversized != s->oversized_said) {
        uint64_t n = s->st.rx_oversized - s->oversized_said;

        mirage_log_warn(&netif_log, "%s: dropped %llu frame%s longer than %zu bytes (%llu so far)",
                        nif->name, (unsigned long long)n, n == 1 ? "" : "s",
                        (size_t)nif->info.mtu + 14, (unsigned long long)s->st.rx_oversized);
        s->oversized_said = s->st.rx_oversized;
    }
}

/* After a failed read: counts and logs it, then pauses (*pause, doubled for
 * the next failure in a row). Returns MIRAGE_ECANCELED if the fiber was. */
static int read_failed(struct mirage_netif *nif, struct mirage_netif_state *s, int r,
                       uint64_t *pause)
{
    s->st.rx_errors++;
    mirage_log_err(&netif_log, "%s: receive failed: %s (%llu so far); trying again in %llu ms",
                   nif->name, mirage_strerror(r), (unsigned long long)s->st.rx_errors,
                   (unsigned long long)(*pause / MIRAGE_MS(1)));
    r = mirage_sleep_ns(*pause);
    *pause = *pause * 2 < RETRY_MAX_NS ? *pause * 2 : RETRY_MAX_NS;
    return r == MIRAGE_ECANCELED ? r : 0;
}

/* Between two frames of a batch: the fibers the last frame woke run first.
 * A reader that TCP woke then waits again with its buffer offered before the
 * next frame's bytes arrive, so they go straight into it (tcp_input.c's
 * give_reader) instead of through the connection's receive ring. */
static int yield_in_batch(struct mirage_netif_state *s)
{
    int r;

    s->rx_meta = NULL;
    s->in_batch = 0;
    r = mirage_fiber_yield();
    s->rx_now = mirage_clock_monotonic();
    s->in_batch = 1;
    return r;
}

static int rx_loop(void *arg)
{
    struct mirage_netif *nif = arg;
    struct mirage_netif_state *s = nif->state;
    size_t cap = mirage_netif_frame_max(nif), nb = batch(nif);
    struct mirage_frame frames[RX_BATCH];
    uint64_t pause = RETRY_MIN_NS;
    int batches = 0;

    for (;;) {
        size_t got = 0;
        int r;

        for (size_t i = 0; i < nb; i++)
            frames[i] = (struct mirage_frame){s->rx + i * cap, cap, 0, {0}};
        r = dev_readv(nif, frames, nb, &got);
        note_oversized(nif, s);
        if (r == MIRAGE_EAGAIN || (r == 0 && got == 0)) {
            batches = 0;
            r = dev_wait(nif);
            if (r == MIRAGE_ECANCELED)
                return 0;
            continue;
        }
        /* Only a lost device is beyond repair, and its binding ends the
         * unikernel itself: anything else is worth another read later. */
        if (r != 0) {
            if (read_failed(nif, s, r, &pause) == MIRAGE_ECANCELED)
                return 0;
            continue;
        }
        pause = RETRY_MIN_NS;
        s->rx_now = mirage_clock_monotonic();
        s->in_batch = 1;
        for (size_t i = 0; i < got && i < nb; i++) {
            if (frames[i].len > cap) { /* a device that says so; never read past cap */
                s->st.rx_oversized++;
                continue;
            }
            s->st.rx_frames++;
            s->st.rx_bytes += frames[i].len;
            if (frames[i].meta.gso_type != MIRAGE_NET_GSO_NONE)
                s->st.rx_gso++;
            /* The kernel's hdr_len is only a hint (its skb's linear part), but
             * never beyond the frame; a segment size of 0 cuts nothing. */
            if (frames[i].meta.gso_type == MIRAGE_NET_GSO_UDP_L4 &&
                (frames[i].meta.gso_size == 0 || frames[i].meta.hdr_len > frames[i].len)) {
                s->st.rx_gso_bad++;
                continue;
            }
            s->rx_meta = &frames[i].meta;
            s->rx_fn(s->rx_ctx, frames[i].buf, frames[i].len);
            if (i + 1 < got && yield_in_batch(s) == MIRAGE_ECANCELED)
                return 0;
        }
        s->rx_meta = NULL;
        s->in_batch = 0;
        if (mirage_fiber_cancelled())
            return 0;
        if (++batches == BATCHES_PER_TURN) {
            batches = 0;
            if (mirage_fiber_yield() == MIRAGE_ECANCELED)
                return 0;
        }
    }
}

int mirage_netif_listen(struct mirage_netif *nif, mirage_netif_rx_fn rx, void *ctx)
{
    struct mirage_netif_state *s = state(nif);
    char name[24];

    if (s == NULL)
        return MIRAGE_ENOMEM;
    if (s->fiber != NULL)
        return MIRAGE_EINVAL;
    if (s->rx == NULL) {
        s->rx = malloc(batch(nif) * mirage_netif_frame_max(nif));
        if (s->rx == NULL)
            return MIRAGE_ENOMEM;
    }
    s->rx_fn = rx;
    s->rx_ctx = ctx;
    strcpy(name, "rx:");
    strncat(name, nif->name ? nif->name : "net", sizeof(name) - 4);
    s->fiber = mirage_fiber_spawn(name, rx_loop, nif, 0);
    mirage_fiber_service(s->fiber); /* the device's, even when started by the application */
    return s->fiber ? 0 : MIRAGE_ENOMEM;
}

int mirage_netif_rx_csum_ok(const struct mirage_netif *nif)
{
    const struct mirage_netif_state *s = nif->state;

    return s != NULL && s->in_batch && s->rx_meta != NULL && nif->info.offloads != 0 &&
           (s->rx_meta->flags & (MIRAGE_NET_META_NEEDS_CSUM | MIRAGE_NET_META_CSUM_VALID));
}

int mirage_netif_rx_udp_gso(struct mirage_netif *nif, uint8_t proto, const uint8_t *udp,
                            size_t len)
{
    struct mirage_netif_state *s = nif->state;
    struct mirage_rd c = mirage_rd_init(udp, len);
    uint16_t ulen;

    if (s == NULL || !s->in_batch || s->rx_meta == NULL ||
        s->rx_meta->gso_type != MIRAGE_NET_GSO_UDP_L4)
        return 0;
    mirage_rd_skip(&c, 4);
    ulen = mirage_rd_be16(&c);
    if (proto != 17 || c.bad || ulen != len) {
        s->st.rx_gso_bad++;
        return MIRAGE_EINVAL;
    }
    return s->rx_meta->gso_size;
}

uint64_t mirage_netif_now(const struct mirage_netif *nif)
{
    const struct mirage_netif_state *s = nif->state;

    return s != NULL && s->in_batch ? s->rx_now : mirage_clock_monotonic();
}

void mirage_netif_stop(struct mirage_netif *nif)
{
    struct mirage_netif_state *s = nif->state;

    if (s == NULL || s->fiber == NULL)
        return;
    mirage_fiber_cancel(s->fiber);
    mirage_fiber_join(s->fiber, NULL);
    s->fiber = NULL;
}

void mirage_netif_close(struct mirage_netif *nif)
{
    struct mirage_netif_state *s = nif->state;

    if (s == NULL)
        return;
    mirage_netif_stop(nif);
    free(s->tx);
    free(s->rx);
    free(s);
    nif->state = NULL;
}

void mirage_netif_stats(const struct mirage_netif *nif, struct mirage_netif_stats *st)
{
    if (nif->state)
        *st = nif->state->st;
    else
        memset(st, 0, sizeof(*st));
    /* drops the device made since the receive fiber last looked */
    st->rx_oversized += dev_oversized(nif) - (nif->state ? nif->state->dev_oversized : 0);
}
