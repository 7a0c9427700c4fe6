/* pci.c: virtio devices over PCI: configuration space, legacy (I/O BAR 0) and modern (capabilities)
 * transports. */
#include <string.h>

#include "virtio.h"
#include "virtq.h"

#define PCI_ADDR      0xcf8
#define PCI_DATA      0xcfc
#define VIRTIO_VENDOR 0x1af4

/* Legacy registers, from BAR 0 (without MSI-X, which we never enable). */
#define L_HOST_FEATURES  0x00
#define L_GUEST_FEATURES 0x04
#define L_QUEUE_PFN      0x08
#define L_QUEUE_SIZE     0x0c
#define L_QUEUE_SELECT   0x0e
#define L_QUEUE_NOTIFY   0x10
#define L_STATUS         0x12
#define L_ISR            0x13
#define L_CONFIG         0x14

/* Modern common configuration (virtio 1.x, 4.1.4.3). */
#define C_DFSELECT 0x00
#define C_DF       0x04
#define C_GFSELECT 0x08
#define C_GF       0x0c
#define C_STATUS   0x14
#define C_QSELECT  0x16
#define C_QSIZE    0x18
#define C_QMSIX    0x1a
#define C_QENABLE  0x1c
#define C_QNOTIFY  0x1e
#define C_QDESC    0x20
#define C_QAVAIL   0x28
#define C_QUSED    0x30
#define C_LEN      0x38

static uint32_t cfg_addr(const struct vio *d, unsigned off)
{
    return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 | (uint32_t)d->fn << 8 |
           (off & 0xfc);
}

static uint32_t pci_read32(const struct vio *d, unsigned off)
{
    outl(PCI_ADDR, cfg_addr(d, off));
    return inl(PCI_DATA);
}

static void pci_write32(const struct vio *d, unsigned off, uint32_t v)
{
    outl(PCI_ADDR, cfg_addr(d, off));
    outl(PCI_DATA, v);
}

static uint8_t pci_read8(const struct vio *d, unsigned off)
{
    return (uint8_t)(pci_read32(d, off) >> (8 * (off & 3)));
}

/* A memory BAR's address (64-bit BARs take two), or 0 for an I/O or empty one. */
static uint64_t bar_addr(const struct vio *d, unsigned bar)
{
    uint32_t lo = pci_read32(d, 0x10 + 4 * bar);
    uint64_t a = lo & ~0xfULL;

    if (lo & 1)
        return 0;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (uint64_t)pci_read32(d, 0x10 + 4 * (bar + 1)) << 32;
    return a;
}

/* The region a modern capability names, mapped; NULL if it makes no sense. */
static volatile uint8_t *cap_region(const struct vio *d, unsigned cap, uint32_t min_len)
{
    unsigned bar = pci_read8(d, cap + 4);
    uint32_t off = pci_read32(d, cap + 8), len = pci_read32(d, cap + 12);
    uint64_t base;

    if (bar > 5 || len < min_len || len > (16u << 20))
        return NULL;
    base = bar_addr(d, bar);
    if (base == 0 || virtio_map_mmio(base + off, len) < 0)
        return NULL;
    return (volatile uint8_t *)(uintptr_t)(base + off);
}

/* Reads the virtio capabilities; a transitional device without them (or
 * with a broken one) is driven through its legacy registers. */
static int modern_caps(struct vio *d)
{
    unsigned cap;
    int n = 0;

    if (!(pci_read32(d, 0x04) & (1u << 20))) /* status: capability list */
        return 0;
    cap = pci_read8(d, 0x34) & 0xfc;
    for (int i = 0; i < 48 && cap >= 0x40; i++) {
        if (pci_read8(d, cap) == 0x09) {
            switch (pci_read8(d, cap + 3)) {
            case 1:
                n += (d->common = cap_region(d, cap, C_LEN)) != NULL;
                break;
            case 2:
                d->notify_mult = pci_read32(d, cap + 16);
                n += (d->notify = cap_region(d, cap, 2)) != NULL;
                break;
            case 3:
                n += (d->isr = cap_region(d, cap, 1)) != NULL;
                break;
            case 4:
                n += (d->cfg = cap_region(d, cap, 1)) != NULL;
                break;
            }
        }
        cap = pci_read8(d, cap + 1) & 0xfc;
    }
    return n == 4;
}

int virtio_pci_find(int type, int index, struct vio *d, const char **why)
{
    int seen = 0;

    for (unsigned bus = 0; bus < 256; bus++)
        for (unsigned dev = 0; dev < 32; dev++)
            for (unsigned fn = 0; fn < 8; fn++) {
                struct vio c = {(uint8_t)bus, (uint8_t)dev, (uint8_t)fn, 0xff, 0, 0,
                                NULL,         NULL,         NULL,        NULL, 0};
                uint32_t id = pci_read32(&c, 0x00);
                uint16_t did = (uint16_t)(id >> 16);
                int t;

                if ((id & 0xffff) == 0xffff) {
                    if (fn == 0)
                        break;
                    continue;
                }
                if ((id & 0xffff) == VIRTIO_VENDOR) {
                    /* 0x1000..0x103f: transitional, the type in the subsystem id. */
                    t = did >= 0x1040 && did <= 0x107f   ? did - 0x1040
                        : did >= 0x1000 && did <= 0x103f ? (int)(pci_read32(&c, 0x2c) >> 16)
                                                         : -1;
                    if (t == type && seen++ == index) {
                        uint8_t line = pci_read8(&c, 0x3c);

                        c.irq = line < 16 ? line : 0xff;
                        c.modern = modern_caps(&c);
                        if (!c.modern) {
                            uint32_t bar0 = pci_read32(&c, 0x10);

                            if (did >= 0x1040 || !(bar0 & 1)) {
                                *why = "neither usable modern capabilities nor a legacy I/O BAR";
                                return -1;
                            }
                            c.io = (uint16_t)(bar0 & ~3u);
                        }
                        /* I/O and memory decoding, bus mastering. */
                        pci_write32(&c, 0x04, (pci_read32(&c, 0x04) & 0xffff) | 0x7);
                        *d = c;
                        return 0;
                    }
                }
                if (fn == 0 && !(pci_read8(&c, 0x0e) & 0x80))
                    break; /* not multi-function */
            }
    *why = "no such device";
    return -1;
}

static void set_status(struct vio *d, uint8_t s)
{
    if (d->modern)
        d->common[C_STATUS] = s;
    else
        outb((uint16_t)(d->io + L_STATUS), s);
}

static uint8_t get_status(struct vio *d)
{
    return d->modern ? d->common[C_STATUS] : inb((uint16_t)(d->io + L_STATUS));
}

static volatile uint32_t *c32(struct vio *d, unsigned off)
{
    return (volatile uint32_t *)(d->common + off);
}

static volatile uint16_t *c16(struct vio *d, unsigned off)
{
    return (volatile uint16_t *)(d->common + off);
}

int virtio_pci_negotiate(struct vio *d, uint64_t wanted, uint64_t *chosen, const char **why)
{
    uint64_t offered;

    set_status(d, 0);
    for (int i = 0; i < 1000 && get_status(d) != 0; i++)
        __builtin_ia32_pause();
    set_status(d, VIRTIO_S_ACK);
    set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
    if (d->modern) {
        *c32(d, C_DFSELECT) = 0;
        offered = *c32(d, C_DF);
        *c32(d, C_DFSELECT) = 1;
        offered |= (uint64_t)*c32(d, C_DF) << 32;
    } else {
        offered = inl((uint16_t)(d->io + L_HOST_FEATURES));
    }
    if (virtio_features_choose(offered, d->modern, wanted, chosen, why) < 0) {
        set_status(d, VIRTIO_S_FAILED);
        return -1;
    }
    if (d->modern) {
        *c32(d, C_GFSELECT) = 0;
        *c32(d, C_GF) = (uint32_t)*chosen;
        *c32(d, C_GFSELECT) = 1;
        *c32(d, C_GF) = (uint32_t)(*chosen >> 32);
        set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
        if (!(get_status(d) & VIRTIO_S_FEATURES_OK)) {
            *why = "the device did not accept the features chosen";
            set_status(d, VIRTIO_S_FAILED);
            return -1;
        }
    } else {
        outl((uint16_t)(d->io + L_GUEST_FEATURES), (uint32_t)*chosen);
    }
    return 0;
}

int virtio_pci_queue(struct vio *d, uint16_t index, uint16_t max, struct virtq *q, const char **why)
{
    uint32_t size;
    void *mem;

    if (d->modern) {
        *c16(d, C_QSELECT) = index;
        size = *c16(d, C_QSIZE);
        if (virtq_size_ok(size, why) < 0)
            return -1;
        while (size > max)
            size /= 2;
        *c16(d, C_QSIZE) = (uint16_t)size;
    } else {
        outw((uint16_t)(d->io + L_QUEUE_SELECT), index);
        size = inw((uint16_t)(d->io + L_QUEUE_SIZE));
        if (virtq_size_ok(size, why) < 0)
            return -1;
    }
    mem = virtio_boot_alloc(virtq_bytes((uint16_t)size));
    if (mem == NULL) {
        *why = "no memory for the queue";
        return -1;
    }
    virtq_init(q, mem, (uint16_t)size);
    if (d->modern) {
        *(volatile uint64_t *)(d->common + C_QDESC) = (uintptr_t)q->desc;
        *(volatile uint64_t *)(d->common + C_QAVAIL) = (uintptr_t)q->avail;
        *(volatile uint64_t *)(d->common + C_QUSED) = (uintptr_t)q->used;
        *c16(d, C_QMSIX) = 0xffff;
        *c16(d, C_QENABLE) = 1;
    } else {
        outl((uint16_t)(d->io + L_QUEUE_PFN), (uint32_t)((uintptr_t)mem / VIRTQ_ALIGN));
    }
    return 0;
}

void virtio_pci_driver_ok(struct vio *d)
{
    set_status(d, (uint8_t)(get_status(d) | VIRTIO_S_DRIVER_OK));
}

void virtio_pci_notify(struct vio *d, uint16_t queue)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (d->modern) {
        uint16_t off;

        *c16(d, C_QSELECT) = queue;
        off = *c16(d, C_QNOTIFY);
        *(volatile uint16_t *)(d->notify + (size_t)off * d->notify_mult) = queue;
    } else {
        outw((uint16_t)(d->io + L_QUEUE_NOTIFY), queue);
    }
}

uint8_t virtio_pci_isr(struct vio *d)
{
    return d->modern ? *d->isr : inb((uint16_t)(d->io + L_ISR));
}

uint8_t virtio_pci_cfg8(struct vio *d, unsigned off)
{
    return d->modern ? d->cfg[off] : inb((uint16_t)(d->io + L_CONFIG + off));
}
