/* net.c: the hvt binding's network devices: frames through the rings shared with the tender. */
#include <string.h>

#include "hvt.h"
#include "mirage/manifest.h"

struct nic {
    struct hvt_ring_hdr *hdr;
    uint8_t *area;
    uint32_t tx_prod, rx_cons; /* our own indices; the ring holds the published copies */
    uint32_t kicked;           /* the tender's sleep epoch we last kicked */
    int kick_due;              /* TX frames published since the last kick check */
    struct mirage_net_info info; /* its offloads: those turned on */
    uint32_t offered;            /* the offloads the tender offers */
    uint64_t oversized; /* frames the tender published that the offloads do not allow, dropped */
};

/* At most this many published TX frames wait for the guest's next yield
 * rather than a kick. */
#define TX_KICK_DEFER_MAX 8

static struct nic nics[HVT_MAX_DEVS];
static uint64_t acquired;

static uint32_t load_acq(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_rel(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Copies (len) bytes at byte (off) of a direction's slots (ring), wrapping at its end. */
static void ring_put(uint8_t *ring, uint32_t off, const void *src, size_t len)
{
    size_t first = HVT_RING_BYTES - off < len ? HVT_RING_BYTES - off : len;

    memcpy(ring + off, src, first);
    memcpy(ring, (const uint8_t *)src + first, len - first);
}

static void ring_get(const uint8_t *ring, uint32_t off, void *dst, size_t len)
{
    size_t first = HVT_RING_BYTES - off < len ? HVT_RING_BYTES - off : len;

    memcpy(dst, ring + off, first);
    memcpy((uint8_t *)dst + first, ring, len - first);
}

static uint32_t ring_off(uint32_t off, size_t add)
{
    return (uint32_t)((off + add) % HVT_RING_BYTES);
}

/* Wakes the tender's network thread if it sleeps and has not been woken for this sleep. */
static void kick(struct nic *c)
{
    uint32_t s;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s = __atomic_load_n(&c->hdr->sleeping, __ATOMIC_RELAXED);
    if (s && s != c->kicked) {
        c->kicked = s;
        __asm__ volatile("outb %%al, %0" : : "N"(HVT_PORT_KICK), "a"(0) : "memory");
    }
}

static struct nic *nic_of(mirage_handle_t h)
{
    if (h >= HVT_MAX_DEVS || !(acquired & (1ULL << h)))
        return NULL;
    return &nics[h];
}

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    for (uint32_t i = 0; i < mirage_manifest.count && i < hvt_boot->ndevs; i++) {
        const struct hvt_dev_info *d = &hvt_boot->devs[i];
        struct nic *c = &nics[i];

        if (mirage_manifest.entries[i].type != MIRAGE_DEV_NET || d->type != MIRAGE_DEV_NET ||
            !d->ring || strcmp(mirage_manifest.entries[i].name, name))
            continue;
        if (acquired & (1ULL << i))
            return MIRAGE_EINVAL;
        c->area = (uint8_t *)(uintptr_t)d->ring;
        c->hdr = (struct hvt_ring_hdr *)c->area;
        c->tx_prod = load_acq(&c->hdr->tx_prod);
        c->rx_cons = load_acq(&c->hdr->rx_cons);
        c->info = (struct mirage_net_info){{0}, d->mtu, 0};
        c->offered = d->offloads & MIRAGE_NET_OFFLOAD_ALL;
        acquired |= 1ULL << i;
        *h = i;
        memcpy(info->mac, d->mac, 6);
        info->mtu = d->mtu;
        info->offloads = c->offered;
        return 0;
    }
    return MIRAGE_ENOENT;
}

/* Copies frames, each behind its virtio-net header, into free TX slots and
 * publishes them once; returns how many went. */
static int tx_put(struct nic *c, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    uint32_t room = HVT_RING_SLOTS - (c->tx_prod - load_acq(&c->hdr->tx_cons));
    uint8_t *ring = HVT_TX_RING(c->area);
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        const struct mirage_net_meta *m = &frames[i].meta;
        struct mirage_vnet_hdr vh = mirage_vnet_hdr_of(m);
        uint32_t off = HVT_SLOT_OFF(c->tx_prod), slots;

        if (!mirage_net_tx_ok(&c->info, m, frames[i].len)) {
            rc = MIRAGE_EINVAL;
            break;
        }
        slots = (uint32_t)HVT_FRAME_SLOTS(frames[i].len);
        if (room < slots) {
            rc = MIRAGE_EAGAIN;
            break;
        }
        ring_put(ring, off, &vh, HVT_VNET_HDR_SIZE);
        ring_put(ring, ring_off(off, HVT_VNET_HDR_SIZE), frames[i].buf, frames[i].len);
        c->hdr->tx_len[c->tx_prod % HVT_RING_SLOTS] = (uint32_t)frames[i].len;
        c->tx_prod += slots;
        room -= slots;
    }
    *sent = i;
    if (i > 0) {
        store_rel(&c->hdr->tx_prod, c->tx_prod);
        /* A few frames wait for hvt_net_kick(): if the guest runs out of work
         * next, its yield exit hands them over anyway and a kick (an exit of
         * its own) is wasted. More are a burst the tender must start on now. */
        if (c->tx_prod - load_acq(&c->hdr->tx_cons) >= TX_KICK_DEFER_MAX) {
            kick(c);
            c->kick_due = 0;
        } else {
            c->kick_due = 1;
        }
    }
    return rc;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    struct nic *c = nic_of(h);
    struct mirage_frame f = {(uint8_t *)buf, size, size, {0}};
    size_t sent;

    if (!c)
        return MIRAGE_EINVAL;
    return tx_put(c, &f, 1, &sent);
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    struct nic *c = nic_of(h);

    *sent = 0;
    if (!c)
        return MIRAGE_EINVAL;
    return tx_put(c, frames, n, sent);
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    struct nic *c = nic_of(h);
    const uint8_t *ring;
    uint32_t avail, start;
    size_t i;

    *got = 0;
    if (!c)
        return MIRAGE_EINVAL;
    ring = HVT_RX_RING(c->area);
    avail = load_acq(&c->hdr->rx_prod) - c->rx_cons;
    if (avail > HVT_RING_SLOTS)
        avail = 0; /* the tender never does this; take nothing rather than garbage */
    for (i = 0; i < n && i < avail; i++)
        if (frames[i].cap < mirage_net_frame_max(&c->info))
            return MIRAGE_EINVAL;
    /* A frame the offloads do not allow (the tender drops those itself) is
     * consumed and counted, never truncated nor left at the ring's head. */
    start = c->rx_cons;
    for (i = 0; avail > 0 && i < n;) {
        uint32_t len = c->hdr->rx_len[c->rx_cons % HVT_RING_SLOTS];
        uint32_t off = HVT_SLOT_OFF(c->rx_cons), slots;
        struct mirage_vnet_hdr vh;

        ring_get(ring, off, &vh, HVT_VNET_HDR_SIZE);
        slots = len > MIRAGE_NET_GSO_MAX ? 1 : (uint32_t)HVT_FRAME_SLOTS(len);
        if (slots > avail)
            break; /* the tender never does this either */
        if (!mirage_net_rx_ok(&c->info, vh.gso_type, len)) {
            c->oversized++;
        } else {
            struct mirage_net_meta *m = &frames[i].meta;

            ring_get(ring, ring_off(off, HVT_VNET_HDR_SIZE), frames[i].buf, len);
            *m = c->info.offloads ? mirage_net_meta_of(&vh) : (struct mirage_net_meta){0};
            frames[i++].len = len;
        }
        c->rx_cons += slots;
        avail -= slots;
    }
    *got = i;
    if (c->rx_cons == start)
        return MIRAGE_EAGAIN;
    store_rel(&c->hdr->rx_cons, c->rx_cons);
    if (__atomic_load_n(&c->hdr->rx_blocked, __ATOMIC_RELAXED))
        kick(c);
    return i > 0 ? 0 : MIRAGE_EAGAIN;
}

int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    struct nic *c = nic_of(h);
    static struct hvt_hc_net_offload a;

    if (c == NULL || (offloads & ~c->offered) != 0)
        return MIRAGE_EINVAL;
    if (c->offered) {
        a = (struct hvt_hc_net_offload){(uint32_t)h, offloads, MIRAGE_EINVAL, 0};
        hvt_hypercall(HVT_HC_NET_OFFLOAD, &a);
        if (a.ret != 0)
            return a.ret;
    }
    c->info.offloads = offloads;
    return 0;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    const struct nic *c = nic_of(h);

    if (!c)
        return MIRAGE_EINVAL;
    st->rx_oversized = __atomic_load_n(&c->hdr->rx_oversized, __ATOMIC_RELAXED) + c->oversized;
    return 0;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    struct mirage_frame f = {buf, size, 0, {0}};
    size_t got;
    int rc = mirage_net_readv(h, &f, 1, &got);

    *read_size = rc == 0 ? f.len : 0;
    return rc;
}

void hvt_net_kick(int handed_over)
{
    uint64_t left = acquired;

    while (left) {
        struct nic *c = &nics[__builtin_ctzll(left)];

        left &= left - 1;
        if (c->kick_due && !handed_over)
            kick(c);
        c->kick_due = 0;
    }
}

mirage_handle_set_t hvt_net_ready(void)
{
    mirage_handle_set_t ready = 0;
    uint64_t left = acquired;

    while (left) {
        unsigned h = __builtin_ctzll(left);

        left &= left - 1;
        if (load_acq(&nics[h].hdr->rx_prod) != nics[h].rx_cons)
            ready |= 1ULL << h;
    }
    return ready;
}
