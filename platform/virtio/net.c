/* net.c: the virtio binding's network devices: virtio-net, one per manifest NIC in PCI order. */
#include <string.h>

#include "mirage/cpu.h"
#include "mirage/manifest.h"
#include "virtio.h"
#include "virtq.h"

#define RXQ         0
#define TXQ         1
#define QMAX        256 /* descriptors per queue: two per frame (header, then the frame) */
#define NET_CFG_MTU 10

/* Frames up to this many bytes are taken and counted when they exceed mtu +
 * 14; longer ones QEMU drops itself (a buffer too small, no mergeable RX
 * buffers), uncounted. */
#define RX_BUF 2048

struct nic {
    const char *name;
    struct vio dev;
    struct virtq rx, tx;
    uint8_t mac[6];
    uint16_t mtu;
    uint32_t hdr_len;  /* 10 legacy, 12 modern (num_buffers always there) */
    uint32_t buf_size; /* each slot's frame buffer */
    uint8_t *hdrs;     /* a header per descriptor pair, RX then TX */
    uint8_t *rx_bufs, *tx_bufs;
    uint16_t tx_free[QMAX / 2];
    uint16_t ntx_free;
    int rx_due; /* buffers given back since the last RX notify */
    int up, failed;
    uint64_t oversized;
};

static struct nic nics[MIRAGE_MANIFEST_MAX];
static uint64_t present, acquired;

/* A device that broke the rules is left alone from then on. */
static void fail(struct nic *c, const char *why)
{
    if (c->failed)
        return;
    c->failed = 1;
    virtio_say("virtio: net device '");
    virtio_say(c->name);
    virtio_say("': ");
    virtio_say(why);
    virtio_say(": device no longer used\n");
}

static void rx_give(struct nic *c, uint16_t slot)
{
    volatile struct virtq_desc *d = &c->rx.desc[2 * slot];

    d[0] = (struct virtq_desc){(uintptr_t)(c->hdrs + 16 * slot), c->hdr_len,
                               VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(2 * slot + 1)};
    d[1] = (struct virtq_desc){(uintptr_t)(c->rx_bufs + (size_t)slot * c->buf_size), c->buf_size,
                               VIRTQ_DESC_F_WRITE, 0};
    virtq_publish(&c->rx, (uint16_t)(2 * slot));
}

static int setup(uint32_t entry, int index)
{
    struct nic *c = &nics[entry];
    const char *why;
    uint64_t feat;
    uint16_t nrx, ntx;

    c->name = mirage_manifest.entries[entry].name;
    if (virtio_pci_find(VIRTIO_TYPE_NET, index, &c->dev, &why) < 0 ||
        virtio_pci_negotiate(&c->dev, VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU, &feat, &why) < 0 ||
        virtio_pci_queue(&c->dev, RXQ, QMAX, &c->rx, &why) < 0 ||
        virtio_pci_queue(&c->dev, TXQ, QMAX, &c->tx, &why) < 0)
        goto bad;
    c->hdr_len = c->dev.modern ? 12 : 10;
    c->mtu = 1500;
    if (feat & VIRTIO_NET_F_MTU) {
        c->mtu = (uint16_t)(virtio_pci_cfg8(&c->dev, NET_CFG_MTU) |
                            virtio_pci_cfg8(&c->dev, NET_CFG_MTU + 1) << 8);
        if (c->mtu < 68 || c->mtu > RX_BUF - 14) {
            why = "MTU out of range (68..2034)";
            goto bad;
        }
    }
    if (feat & VIRTIO_NET_F_MAC) {
        for (int i = 0; i < 6; i++)
            c->mac[i] = virtio_pci_cfg8(&c->dev, (unsigned)i);
    } else {
        /* A locally administered unicast address of our own. */
        uint64_t r = mirage_cpu_mix(mirage_cpu_tsc() ^ (uint64_t)index);
        memcpy(c->mac, &r, 6);
        c->mac[0] = (uint8_t)((c->mac[0] & 0xfe) | 0x02);
    }
    nrx = c->rx.size / 2;
    ntx = c->tx.size / 2;
    c->buf_size = RX_BUF;
    c->hdrs = virtio_boot_alloc(16 * (size_t)(nrx + ntx));
    c->rx_bufs = virtio_boot_alloc((size_t)nrx * c->buf_size);
    c->tx_bufs = virtio_boot_alloc((size_t)ntx * c->buf_size);
    if (!c->hdrs || !c->rx_bufs || !c->tx_bufs) {
        why = "no memory for its buffers";
        goto bad;
    }
    for (uint16_t i = 0; i < nrx; i++)
        rx_give(c, i);
    for (uint16_t i = 0; i < ntx; i++)
        c->tx_free[c->ntx_free++] = i;
    virtio_pci_driver_ok(&c->dev);
    virtio_pci_notify(&c->dev, RXQ);
    if (c->dev.irq < 16)
        virtio_irq_enable(c->dev.irq);
    else
        virtio_polled = 1;
    c->up = 1;
    return 0;
bad:
    return virtio_say_unusable("net", c->name, "virtio-net", index, why);
}

void virtio_net_init(void)
{
    present = virtio_setup_each(MIRAGE_DEV_NET, setup);
}

static struct nic *nic_of(mirage_handle_t h)
{
    if (h >= MIRAGE_MANIFEST_MAX || !(acquired & (1ULL << h)) || nics[h].failed)
        return NULL;
    return &nics[h];
}

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    int i = virtio_acquire(MIRAGE_DEV_NET, name, present, &acquired);

    if (i < 0)
        return i;
    *h = (mirage_handle_t)i;
    memcpy(info->mac, nics[i].mac, 6);
    info->mtu = nics[i].mtu;
    info->offloads = 0; /* no checksum or GSO features negotiated yet */
    return 0;
}

/* Takes back the TX slots the device is done with. */
static void tx_reclaim(struct nic *c)
{
    uint16_t head;
    uint32_t len;
    const char *why;
    int r;

    while ((r = virtq_next_used(&c->tx, &head, &len, &why)) > 0) {
        if (head % 2) {
            fail(c, "TX used ring returns a descriptor that heads no chain");
            return;
        }
        c->tx_free[c->ntx_free++] = head / 2;
    }
    if (r < 0)
        fail(c, why);
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    struct nic *c = nic_of(h);
    int r = 0;

    *sent = 0;
    if (c == NULL)
        return MIRAGE_EINVAL;
    tx_reclaim(c);
    for (size_t i = 0; i < n; i++) {
        volatile struct virtq_desc *d;
        uint16_t slot;
        uint8_t *hdr;

        if (frames[i].len > (size_t)c->mtu + 14 || frames[i].len == 0 || frames[i].meta.flags ||
            frames[i].meta.gso_type) {
            r = MIRAGE_EINVAL;
            break;
        }
        if (c->ntx_free == 0 || c->failed) {
            r = MIRAGE_EAGAIN;
            break;
        }
        slot = c->tx_free[--c->ntx_free];
        hdr = c->hdrs + 16 * (size_t)(c->rx.size / 2 + slot);
        memset(hdr, 0, c->hdr_len);
        memcpy(c->tx_bufs + (size_t)slot * c->buf_size, frames[i].buf, frames[i].len);
        d = &c->tx.desc[2 * slot];
        d[0] = (struct virtq_desc){(uintptr_t)hdr, c->hdr_len, VIRTQ_DESC_F_NEXT,
                                   (uint16_t)(2 * slot + 1)};
        d[1] = (struct virtq_desc){(uintptr_t)(c->tx_bufs + (size_t)slot * c->buf_size),
                                   (uint32_t)frames[i].len, 0, 0};
        virtq_publish(&c->tx, (uint16_t)(2 * slot));
        (*sent)++;
    }
    if (*sent)
        virtio_pci_notify(&c->dev, TXQ);
    return r;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    struct mirage_frame f = {(uint8_t *)buf, size, size, {0}};
    size_t sent;

    return mirage_net_writev(h, &f, 1, &sent);
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    struct nic *c = nic_of(h);
    uint16_t head;
    uint32_t len;
    const char *why;
    int r = 0;

    *got = 0;
    if (c == NULL)
        return MIRAGE_EINVAL;
    while (*got < n && (r = virtq_next_used(&c->rx, &head, &len, &why)) > 0) {
        uint16_t slot = head / 2;
        size_t flen;

        if (head % 2 || len < c->hdr_len || len > c->hdr_len + c->buf_size) {
            fail(c, "RX used ring returns a bad chain or length");
            break;
        }
        flen = len - c->hdr_len;
        if (flen > (size_t)c->mtu + 14) {
            c->oversized++;
        } else if (flen <= frames[*got].cap) {
            memcpy(frames[*got].buf, c->rx_bufs + (size_t)slot * c->buf_size, flen);
            frames[*got].len = flen;
            frames[*got].meta = (struct mirage_net_meta){0};
            (*got)++;
        }
        rx_give(c, slot);
        c->rx_due = 1;
    }
    if (r < 0)
        fail(c, why);
    if (c->rx_due) {
        c->rx_due = 0;
        virtio_pci_notify(&c->dev, RXQ);
    }
    return *got ? 0 : MIRAGE_EAGAIN;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    struct mirage_frame f = {buf, size, 0, {0}};
    size_t got;
    int r = mirage_net_readv(h, &f, 1, &got);

    *read_size = f.len;
    return r;
}

int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads)
{
    return nic_of(h) != NULL && offloads == 0 ? 0 : MIRAGE_EINVAL;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    if (h >= MIRAGE_MANIFEST_MAX || !(acquired & (1ULL << h)))
        return MIRAGE_EINVAL;
    st->rx_oversized = nics[h].oversized;
    return 0;
}

mirage_handle_set_t virtio_net_ready(void)
{
    mirage_handle_set_t ready = 0;

    for (uint32_t i = 0; i < mirage_manifest.count; i++) {
        struct nic *c = &nics[i];

        if (!(acquired & (1ULL << i)) || c->failed)
            continue;
        if ((uint16_t)(c->rx.used->idx - c->rx.used_seen) != 0)
            ready |= 1ULL << i;
    }
    return ready;
}

/* Acknowledges the interrupt of every NIC on line (irq). */
void virtio_net_ack(unsigned irq)
{
    for (uint32_t i = 0; i < mirage_manifest.count; i++)
        if ((present & (1ULL << i)) && nics[i].dev.irq == irq)
            (void)virtio_pci_isr(&nics[i].dev);
}
