/* hvt.h: the ABI between mirage-hvt and the hvt binding: boot info, hypercalls, net rings. */
#ifndef MIRAGE_ABI_HVT_H
#define MIRAGE_ABI_HVT_H

#include <stdint.h>

/*
 * The guest runs in 64-bit ring 3 on identity-mapped memory, allowed ports
 * 0..1023 by the TSS I/O bitmap (PVM ignores RFLAGS.IOPL in ring 3).
 * Guest physical memory below HVT_GUEST_MIN belongs to the tender (page
 * tables, GDT, IDT, the ring-0 exception stubs) and is supervisor-only;
 * everything the guest may name in a hypercall lies in [HVT_GUEST_MIN, mem).
 *
 * A hypercall is `outl %eax, $(HVT_PORT_BASE + n)` where %eax holds the
 * guest-physical address of the argument struct of hypercall n. The tender
 * checks the struct and every buffer it names against guest memory; a bad
 * one ends the guest (mirage-hvt exits with TENDER_EXIT_SANDBOX).
 */
#define HVT_GUEST_MIN 0x100000ULL

#define HVT_PORT_BASE    0x80
#define HVT_PORT_FAULT   0x7f /* the ring-0 exception stubs report here */
#define HVT_PORT_KICK    0x7e /* any write wakes the tender's network thread */
#define HVT_PORT_SYSCALL 0x7d /* the ring-0 `syscall` entry reports here */
#define HVT_PORT_BLOCK   0x7c /* any write wakes the tender's block thread */

enum hvt_hypercall {
    HVT_HC_CONSOLE = 0, /* struct hvt_hc_console */
    HVT_HC_EXIT = 1,    /* struct hvt_hc_exit */
    HVT_HC_YIELD = 2,   /* struct hvt_hc_yield */
    HVT_HC_GUARD = 3,   /* struct hvt_hc_guard */
    HVT_HC_NET_OFFLOAD = 4, /* struct hvt_hc_net_offload */
    HVT_HC_COUNT
};

struct hvt_hc_console {
    uint64_t buf; /* guest address */
    uint64_t len;
};

struct hvt_hc_exit {
    uint32_t status; /* 0..255 */
    uint32_t abort;  /* 1: mirage_abort() */
};

/* Waits until (timeout_ns) have passed or a net device's RX ring holds a frame;
 * the guest reads its rings afterwards to learn which. The tender sets
 * (waited_ns) to how long it waited: a guest may spin before its next yield
 * when frames come that soon. */
struct hvt_hc_yield {
    uint64_t timeout_ns;
    uint64_t waited_ns;
};

/* ---- block requests ---------------------------------------------------- */

/*
 * Block requests go through one slot per block device instead of a
 * hypercall: a VM exit costs ~90 us here, which capped 64 KiB reads at
 * ~0.8 GB/s. The guest fills the request fields, then publishes (req) = the
 * next sequence number with release ordering; the tender's block thread
 * loads (req) with acquire ordering, copies and checks the request, does
 * the transfer, stores (ret), then publishes (done) = (req). While the
 * thread sleeps it keeps (sleeping) non-zero; a guest that finds it so after
 * publishing (full fence first) writes HVT_PORT_BLOCK, which wakes it
 * without an exit to the tender. A request the tender refuses as a
 * violation (a buffer outside guest memory) ends the guest with
 * TENDER_EXIT_SANDBOX; one outside the disk gets (ret) MIRAGE_EINVAL, a write
 * to a read-only disk MIRAGE_EROFS. HVT_BLOCK_FLUSH (offset, buf, size
 * ignored) returns once the host made every earlier write durable (fdatasync).
 */
#define HVT_BLOCK_READ  0
#define HVT_BLOCK_WRITE 1
#define HVT_BLOCK_FLUSH 2

struct hvt_block_slot {
    uint32_t req; /* guest */
    uint32_t pad0[15];
    uint32_t done;     /* tender */
    uint32_t sleeping; /* tender */
    uint32_t pad1[14];
    uint32_t op; /* guest: HVT_BLOCK_READ, _WRITE or _FLUSH */
    uint32_t pad2;
    uint64_t offset; /* guest: bytes, a multiple of block_size */
    uint64_t buf;    /* guest address */
    uint64_t size;   /* bytes, a multiple of block_size */
    int64_t ret;     /* tender: 0 or a negative MIRAGE_E* code */
    uint64_t pad3[3];
};

/* Makes the (len) bytes at (addr) inaccessible (guard 1) or readable and
 * writable again (guard 0): fiber stacks' guard pages. Both are multiples of
 * 4096 and the range lies inside the heap; the tender sets (ret) to 0,
 * MIRAGE_EINVAL (a bad range) or MIRAGE_ENOMEM. A guest access to a guard
 * page ends it with a fault naming the page, and the fiber if the page
 * starts with a struct mirage_guard_label (abi/guard.h). */
struct hvt_hc_guard {
    uint64_t addr; /* guest address */
    uint64_t len;
    uint32_t guard;
    int32_t ret;
};

/* ---- network rings ---------------------------------------------------- */

/*
 * Per net device: one header page, then HVT_RING_SLOTS TX slots and
 * HVT_RING_SLOTS RX slots of HVT_SLOT_SIZE bytes each. Indices run freely
 * (mod 2^32); slot = index % HVT_RING_SLOTS. A frame is a virtio-net header
 * (struct mirage_vnet_hdr) followed by the frame's bytes, stored from its first
 * index's slot on through as many slots as it needs (HVT_FRAME_SLOTS),
 * wrapping from the last slot to the first; the length array holds its length
 * (without the header) at its first index, and the producer advances by its
 * slot count. Each index has one writer, which publishes it with release
 * ordering after filling the slots and the length; the reader loads it with
 * acquire ordering. The tender trusts nothing the guest writes here: it reads
 * an index, a length and a header once each and checks them (a header the
 * device's offloads do not allow, as mirage_net_tx_ok() says, ends the guest).
 *
 * When the tender's network thread goes to sleep it stores a non-zero epoch
 * in (sleeping) of every device (0 while awake). After publishing TX frames,
 * or after consuming RX frames while (rx_blocked) is set, the guest issues a
 * full fence, reads (sleeping) and, if it is non-zero and differs from the
 * epoch it last kicked, writes HVT_PORT_KICK once. The tender also drains
 * every TX ring when the guest yields or exits, so a guest may leave a few
 * TX frames unkicked when it is about to yield.
 *
 * The tender never publishes a frame the device's offloads do not allow
 * (mirage_net_rx_ok(): over mtu + 14 unless a coalesced TCP frame with TSO
 * on, or a UDP one with USO on): it drops it and counts it in (rx_oversized), which the guest reads for
 * mirage_net_stats(). Offloads start off; HVT_HC_NET_OFFLOAD turns on those
 * the device offers (hvt_dev_info.offloads).
 */
#define HVT_RING_SLOTS     256
#define HVT_SLOT_SIZE      4096
#define HVT_RING_HDR_SIZE  4096
#define HVT_RING_AREA_SIZE (HVT_RING_HDR_SIZE + 2 * HVT_RING_SLOTS * HVT_SLOT_SIZE)
#define HVT_RING_BYTES     (HVT_RING_SLOTS * HVT_SLOT_SIZE) /* one direction's slots */

/* The virtio-net header before each frame is platform.h's struct
 * mirage_vnet_hdr (virtio 1.1 5.1.6, without num_buffers), as the tap takes
 * it with IFF_VNET_HDR. */
#define HVT_VNET_HDR_SIZE 10

/* Slots a frame of (len) bytes takes, its header included. */
#define HVT_FRAME_SLOTS(len) (((len) + HVT_VNET_HDR_SIZE + HVT_SLOT_SIZE - 1) / HVT_SLOT_SIZE)

struct hvt_ring_hdr {
    uint32_t tx_prod; /* guest */
    uint32_t pad0[15];
    uint32_t tx_cons; /* tender */
    uint32_t pad1[15];
    uint32_t rx_prod; /* tender */
    uint32_t pad2[15];
    uint32_t rx_cons; /* guest */
    uint32_t pad3[15];
    uint32_t sleeping;     /* tender: epoch of the network thread's sleep, 0 when awake */
    uint32_t rx_blocked;   /* tender: the RX ring was full when it went to sleep */
    uint64_t rx_oversized; /* tender: frames it read from the tap and dropped (too long) */
    uint32_t pad4[12];
    uint32_t tx_len[HVT_RING_SLOTS]; /* guest */
    uint32_t rx_len[HVT_RING_SLOTS]; /* tender */
};

/* The first byte of slot (i) of the TX or RX ring of the area at (base). */
#define HVT_TX_RING(base) ((base) + HVT_RING_HDR_SIZE)
#define HVT_RX_RING(base) ((base) + HVT_RING_HDR_SIZE + HVT_RING_BYTES)
#define HVT_SLOT_OFF(i)   (((i) % HVT_RING_SLOTS) * HVT_SLOT_SIZE)

/* Turns the offloads (MIRAGE_NET_OFFLOAD_*) of net device (handle) on, all
 * others off; (ret) 0, or MIRAGE_EINVAL for ones the device does not offer. */
struct hvt_hc_net_offload {
    uint32_t handle;
    uint32_t offloads;
    int32_t ret;
    uint32_t pad;
};

/* ---- boot info -------------------------------------------------------- */

#define HVT_BOOT_MAGIC   0x4d485654u /* "MHVT" */
#define HVT_BOOT_VERSION 6 /* 6: MIRAGE_NET_OFFLOAD_USO, GSO_UDP_L4 frames in the rings */
#define HVT_MAX_DEVS     63
#define HVT_NAME_MAX     64

/* The disk image is not writable: the tender opened it read-only. */
#define HVT_DEV_READ_ONLY 1u

struct hvt_dev_info {
    uint32_t type; /* MIRAGE_DEV_NET or MIRAGE_DEV_BLOCK */
    uint16_t mtu;
    uint8_t mac[6];
    uint32_t flags;      /* block: HVT_DEV_READ_ONLY */
    uint64_t capacity;   /* block: bytes */
    uint64_t block_size; /* block: bytes per sector */
    uint64_t ring;       /* net: guest address of its ring area (struct hvt_ring_hdr);
                            block: of its request slot (struct hvt_block_slot) */
    uint32_t offloads;   /* net: MIRAGE_NET_OFFLOAD_* the tap offers (HVT_HC_NET_OFFLOAD) */
    uint32_t pad;
};

/*
 * Placed by the tender in guest memory above the image; %rdi points at it on
 * entry, %rsp is 16-byte aligned and FS points at (tcb), whose word at 0x28 is
 * a random stack-protector canary, so protected code may run from the start;
 * the binding keeps that canary (no CPUID or RDRAND traps at boot).
 */
struct hvt_boot_info {
    uint32_t magic;
    uint32_t version;
    uint64_t mem_size;
    uint64_t heap_start, heap_size;
    uint64_t tsc_hz;     /* the guest's TSC frequency */
    uint64_t tsc_mult;   /* ns = (tsc - tsc_base) * tsc_mult >> 32 */
    uint64_t wall_ns;    /* host wall clock when the guest starts */
    uint64_t tcb[8];     /* initial FS target: tcb[5] (0x28) the canary, tcb[6] the pointer guard */
    uint8_t entropy[32]; /* from the tender's getrandom: the random generator's seed */
    char name[HVT_NAME_MAX];
    uint32_t ndevs;
    uint32_t pad;
    struct hvt_dev_info devs[HVT_MAX_DEVS];
    char cmdline[8192]; /* MIRAGE_CMDLINE_MAX, NUL-terminated */
};

#endif
