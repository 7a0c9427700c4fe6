/* virtio.h: what the virtio binding's files share: port I/O, the boot state, interrupts, devices.
 */
#ifndef PLATFORM_VIRTIO_H
#define PLATFORM_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/platform.h"

/*
 * The unikernel runs alone in ring 0 of a virtual machine: no tender checks
 * anything for it. Interrupts are off (IF = 0) except inside mirage_yield's
 * HLT; every interrupt and exception runs on an IST stack of its own, so the
 * red zone of the interrupted code is never overwritten.
 */

#define VIRTIO_PAGE 4096ULL

static inline __attribute__((always_inline)) void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline __attribute__((always_inline)) uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline __attribute__((always_inline)) uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/* boot.c: writes (s) to the console; for the binding's own messages. */
void virtio_say(const char *s);
/* boot.c: writes (v) in hexadecimal (0x...) or decimal to the console. */
void virtio_say_hex(uint64_t v);
void virtio_say_dec(uint64_t v);
/* boot.c: says that the (kind) device (dev), (model) number (index) in PCI
 * order, cannot be used, and why, e.g. "virtio: net device 'service'
 * (virtio-net #0 in PCI order): why". Returns -1. */
int virtio_say_unusable(const char *kind, const char *dev, const char *model, int index,
                        const char *why);

/* boot.c: calls setup(entry, index) for every manifest entry of (type),
 * (index) counting them in manifest order, the PCI order their devices are
 * matched in. Returns the set of entries (bit i: entry i) whose setup
 * returned 0. */
uint64_t virtio_setup_each(uint32_t type, int (*setup)(uint32_t entry, int index));

/* boot.c: the entry of the (type) device declared as (dev), for acquire,
 * marked in *acquired; MIRAGE_ENOENT if none is declared or it could not be
 * set up (boot said why), MIRAGE_EINVAL if already acquired. */
int virtio_acquire(uint32_t type, const char *dev, uint64_t present, uint64_t *acquired);

/* boot.c: identity-maps [phys, phys + len) uncached, not executable, for a
 * device's registers. Returns 0, or -1 when the binding's spare page-table
 * pages are used up. */
int virtio_map_mmio(uint64_t phys, uint64_t len);

/* console.c: the serial port (COM1) at boot. */
void virtio_console_init(void);

/* clock.c: the PIC remapped to vectors 32..47 with every line masked, the TSC
 * calibrated against the PIT, the wall clock read from the RTC. */
void virtio_clock_init(void);

/* start.S's interrupt stubs set bit n when IRQ line n fired (and mask it). */
extern volatile uint32_t virtio_irq_pending;

/* clock.c: lets IRQ line (irq) (0..15) wake mirage_yield. */
void virtio_irq_enable(unsigned irq);

/* boot.c: (bytes) of zeroed memory aligned to 4096, taken off the heap's
 * start; only before the heap is handed out (device set-up at boot). */
void *virtio_boot_alloc(size_t bytes);

/* ---- pci.c: virtio devices over PCI, legacy (I/O BAR 0) or modern
 * (capabilities naming memory BARs) ---- */

#define VIRTIO_TYPE_NET 1
#define VIRTIO_TYPE_BLK 2

#define VIRTIO_S_ACK         1
#define VIRTIO_S_DRIVER      2
#define VIRTIO_S_DRIVER_OK   4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_FAILED      128

struct virtq;

struct vio {
    uint8_t bus, dev, fn;
    uint8_t irq;                                   /* PIC line, or 0xff: polled */
    int modern;                                    /* 1: modern registers, 0: legacy */
    uint16_t io;                                   /* legacy: BAR 0's ports */
    volatile uint8_t *common, *isr, *cfg, *notify; /* modern */
    uint32_t notify_mult;
};

/* Finds the (index)th virtio device of (type) in PCI order and fills (d):
 * registers mapped, bus mastering on. Returns 0, or -1 with *why (no such
 * device, a capability that makes no sense). */
int virtio_pci_find(int type, int index, struct vio *d, const char **why);

/* Resets (d), acknowledges it and negotiates (wanted) features (see
 * virtio_features_choose). Returns 0 with *chosen, or -1 with *why. */
int virtio_pci_negotiate(struct vio *d, uint64_t wanted, uint64_t *chosen, const char **why);

/* Sets queue (index) up with at most (max) entries in (q) (memory from
 * virtio_boot_alloc). Returns 0, or -1 with *why (a bad size, no memory). */
int virtio_pci_queue(struct vio *d, uint16_t index, uint16_t max, struct virtq *q,
                     const char **why);

void virtio_pci_driver_ok(struct vio *d);
void virtio_pci_notify(struct vio *d, uint16_t queue);
/* Reads (and so clears) the interrupt status: the line drops. */
uint8_t virtio_pci_isr(struct vio *d);
/* The device-specific configuration, byte (off). */
uint8_t virtio_pci_cfg8(struct vio *d, unsigned off);

/* net.c, blk.c: their devices, bound to the manifest at boot; the handles
 * with input pending. */
void virtio_net_init(void);
mirage_handle_set_t virtio_net_ready(void);
void virtio_blk_init(void);
/* net.c, blk.c: read the interrupt status of their devices on line (irq). */
void virtio_net_ack(unsigned irq);
void virtio_blk_ack(unsigned irq);

/* devices.c: both, and the interrupt lines they use. */
void virtio_devices_init(void);
mirage_handle_set_t virtio_devices_ready(void);
/* Whether some device has no interrupt line: mirage_yield then looks every ms. */
extern int virtio_polled;

#endif
