/* netif.c: frames in and out of one network device: a batched receive fiber and a transmit buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/netif.h"
#include "mirage/sched.h"
#include "mirage/time.h"

MIRAGE_LOG_SOURCE(netif_log, "netif", "network interfaces");

#define RX_BATCH         32
#define BATCHES_PER_TURN 8 /* then other fibers get a turn */

struct mirage_netif_state {
    uint8_t *tx; /* one frame, filled in place */
    uint8_t *rx; /* RX_BATCH frames */
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
    return (size_t)nif->info.mtu + 14;
}

static struct mirage_netif_state *state(struct mirage_netif *nif)
{
    if (nif->state == NULL) {
        struct mirage_netif_state *s = calloc(1, sizeof(*s));
        if (s == NULL)
            return NULL;
        s->tx = malloc(mirage_netif_frame_max(nif));
        if (s->tx == NULL) {
            free(s);
            return NULL;
        }
        nif->state = s;
    }
    return nif->state;
}

static int dev_write(struct mirage_netif *nif, const uint8_t *frame, size_t len)
{
    if (nif->ops != NULL)
        return nif->ops->write(nif->ops_ctx, frame, len);
    return mirage_net_write(nif->handle, frame, len);
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

static int sent(struct mirage_netif_state *s, int r, size_t len)
{
    if (r == 0) {
        s->st.tx_frames++;
        s->st.tx_bytes += len;
    } else if (r == MIRAGE_EAGAIN) {
        s->st.tx_dropped++;
    } else {
        s->st.tx_errors++;
    }
    return r;
}

int mirage_netif_write(struct mirage_netif *nif, size_t size, mirage_fill_fn fill, void *ctx)
{
    struct mirage_netif_state *s = state(nif);
    int n;

    if (s == NULL)
        return MIRAGE_ENOMEM;
    if (size > mirage_netif_frame_max(nif)) {
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
    return sent(s, dev_write(nif, s->tx, (size_t)n), (size_t)n);
}

int mirage_netif_send(struct mirage_netif *nif, const uint8_t *frame, size_t len)
{
    struct mirage_netif_state *s = state(nif);

    if (s == NULL)
        return MIRAGE_ENOMEM;
    if (len > mirage_netif_frame_max(nif)) {
        s->st.tx_errors++;
        return MIRAGE_EMSGSIZE;
    }
    return sent(s, dev_write(nif, frame, len), len);
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
                        mirage_netif_frame_max(nif), (unsigned long long)s->st.rx_oversized);
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

static int rx_loop(void *arg)
{
    struct mirage_netif *nif = arg;
    struct mirage_netif_state *s = nif->state;
    size_t cap = mirage_netif_frame_max(nif);
    struct mirage_frame frames[RX_BATCH];
    uint64_t pause = RETRY_MIN_NS;
    int batches = 0;

    for (;;) {
        size_t got = 0;
        int r;

        for (size_t i = 0; i < RX_BATCH; i++)
            frames[i] = (struct mirage_frame){s->rx + i * cap, cap, 0};
        r = dev_readv(nif, frames, RX_BATCH, &got);
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
        for (size_t i = 0; i < got && i < RX_BATCH; i++) {
            if (frames[i].len > cap) { /* a device that says so; never read past cap */
                s->st.rx_oversized++;
                continue;
            }
            s->st.rx_frames++;
            s->st.rx_bytes += frames[i].len;
            s->rx_fn(s->rx_ctx, frames[i].buf, frames[i].len);
        }
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
        s->rx = malloc(RX_BATCH * mirage_netif_frame_max(nif));
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
