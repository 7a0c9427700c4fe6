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
    int writing;     /* a fill is running: catches re-entry */
    int in_batch;    /* rx callbacks are running */
    uint64_t rx_now; /* the clock when the batch was read */
    struct mirage_netif_stats st;
};

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

static int rx_loop(void *arg)
{
    struct mirage_netif *nif = arg;
    struct mirage_netif_state *s = nif->state;
    size_t cap = mirage_netif_frame_max(nif);
    struct mirage_frame frames[RX_BATCH];
    int batches = 0;

    for (;;) {
        size_t got = 0;
        int r;

        for (size_t i = 0; i < RX_BATCH; i++)
            frames[i] = (struct mirage_frame){s->rx + i * cap, cap, 0};
        r = dev_readv(nif, frames, RX_BATCH, &got);
        if (r == MIRAGE_EAGAIN || (r == 0 && got == 0)) {
            batches = 0;
            r = dev_wait(nif);
            if (r == MIRAGE_ECANCELED)
                return 0;
            continue;
        }
        if (r != 0) {
            mirage_log_err(&netif_log, "%s: receive failed: %s", nif->name, mirage_strerror(r));
            return r;
        }
        s->rx_now = mirage_time_now();
        s->in_batch = 1;
        for (size_t i = 0; i < got && i < RX_BATCH; i++) {
            size_t len = frames[i].len <= cap ? frames[i].len : cap;
            s->st.rx_frames++;
            s->st.rx_bytes += len;
            s->rx_fn(s->rx_ctx, frames[i].buf, len);
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

    return s != NULL && s->in_batch ? s->rx_now : mirage_time_now();
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
}
