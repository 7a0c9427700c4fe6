/* platform.h: the one interface between the OS libraries and the host. */
#ifndef MIRAGE_PLATFORM_H
#define MIRAGE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"

/*
 * Each binding (platform/unix, platform/spt, platform/hvt) implements every
 * function here and nothing else; the libraries above see only this header.
 * One CPU, no threads: none of these functions is re-entrant and none suspends
 * a fiber; mirage_yield() is the only call that may block the whole unikernel.
 */

/* The application's entry point, called by the binding once the platform is up.
 * argv is the host command line joined with spaces and split as MirageOS does
 * (see mirage/cmdline.h); argv[0] is the unikernel's name. The return value is
 * the exit status. */
int mirage_main(int argc, char **argv);

/* Called by each binding's entry once the platform is up: splits
 * mirage_cmdline(), calls mirage_main() with (name) as argv[0] and returns its
 * status, or prints the problem and returns 64 for unsplittable arguments. */
int mirage_boot(const char *name);

/* ---- console ---------------------------------------------------------- */

/* Writes (len) bytes of (buf) to the console (the tender's stdout). */
void mirage_console_write(const char *buf, size_t len);

/* ---- clocks ----------------------------------------------------------- */

/* Nanoseconds since an arbitrary point at boot; never goes backwards. */
uint64_t mirage_clock_monotonic(void);

/* Nanoseconds since the Unix epoch (UTC), as the host tells it. */
uint64_t mirage_clock_wall(void);

/* ---- handles and yield ------------------------------------------------ */

/* A device handle is its index in the application manifest (0..62), so a set
 * of handles fits one 64-bit word: bit h is set when handle h is in the set. */
typedef uint64_t mirage_handle_t;
typedef uint64_t mirage_handle_set_t;

/* Blocks until the monotonic clock reaches (deadline) or a device has input.
 * On return *ready holds the handles with input pending (0 on timeout).
 * A deadline in the past polls without blocking. */
void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready);

/* ---- network devices -------------------------------------------------- */

/* A net device whose tap is deleted on the host while the unikernel runs
 * (`ip link del`, its network namespace gone) ends the unikernel with status
 * 252 (TENDER_EXIT_LOST) and the message "net device 'NAME': tap 'TAP' is
 * gone", on every target: from mirage_yield() or a read or write, or from the
 * tender's own threads on hvt. No call here returns an error for it. */

struct mirage_net_info {
    uint8_t mac[6];    /* the unikernel's own MAC address */
    uint16_t mtu;      /* payload bytes; a frame is at most mtu + 14 bytes */
    uint32_t offloads; /* MIRAGE_NET_OFFLOAD_*: what the device does for the stack */
};

/*
 * Offloads. A device offering none (offloads 0: an old tap, one opened with
 * the offloads switched off) moves whole frames of at most mtu + 14 bytes and
 * every frame's metadata is zero. The stack asks, never assumes.
 *
 * MIRAGE_NET_OFFLOAD_CSUM: on transmit the device completes the TCP or UDP
 * checksum of a frame whose metadata has MIRAGE_NET_META_NEEDS_CSUM (the
 * checksum field then holds the folded pseudo-header sum, not complemented);
 * on receive it may mark a frame MIRAGE_NET_META_CSUM_VALID (checked) or
 * MIRAGE_NET_META_NEEDS_CSUM (made on this host, never on a wire: its
 * checksum is partial and need not be checked).
 * MIRAGE_NET_OFFLOAD_TSO4 and MIRAGE_NET_OFFLOAD_TSO6 (each only with CSUM):
 * on transmit the device cuts a TCP frame over IPv4 (gso_type
 * MIRAGE_NET_GSO_TCPV4), respectively IPv6 (MIRAGE_NET_GSO_TCPV6), of up to
 * MIRAGE_NET_GSO_MAX bytes into segments of gso_size payload bytes (TSO); on
 * receive it may hand over such a coalesced frame (GRO), so read buffers are
 * at least MIRAGE_NET_GSO_MAX bytes (mirage_net_frame_max()).
 * MIRAGE_NET_OFFLOAD_USO (only with CSUM; both families at once, as Linux's
 * tap takes TUN_F_USO4 only together with TUN_F_USO6): the same for UDP
 * (gso_type MIRAGE_NET_GSO_UDP_L4): one frame holds one UDP header, whose
 * length covers the whole payload, and the payloads of several datagrams of
 * gso_size bytes each (the last may be shorter); the device cuts it into
 * datagrams on transmit (USO, as Linux's UDP_SEGMENT) and may hand one over
 * on receive, a host socket's UDP_SEGMENT send or UDP GRO.
 */
#define MIRAGE_NET_OFFLOAD_CSUM 1u
#define MIRAGE_NET_OFFLOAD_TSO4 2u
#define MIRAGE_NET_OFFLOAD_TSO6 4u
#define MIRAGE_NET_OFFLOAD_USO  8u
#define MIRAGE_NET_OFFLOAD_TSO  (MIRAGE_NET_OFFLOAD_TSO4 | MIRAGE_NET_OFFLOAD_TSO6)
#define MIRAGE_NET_OFFLOAD_GSO  (MIRAGE_NET_OFFLOAD_TSO | MIRAGE_NET_OFFLOAD_USO)
#define MIRAGE_NET_OFFLOAD_ALL  (MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_GSO)
/* The most datagrams one UDP GSO frame we send may carry: Linux's
 * UDP_MAX_SEGMENTS, 64 from 4.18 (128 since 6.x: this host's 6.18 refuses a
 * 129th); a tap refuses a longer train. */
#define MIRAGE_NET_USO_MAX_SEGS 64
/* The largest GSO frame, the one bound of every buffer, ring and check: an
 * IPv6 header and the most its 16-bit payload length says (an IPv4 datagram,
 * whose 16-bit length counts its header, is 40 bytes shorter). */
#define MIRAGE_NET_GSO_MAX (14 + 40 + 65535)

/* What travels with a frame: the fields of the virtio-net header (virtio 1.1,
 * 5.1.6), offsets counted from the frame's first byte. */
struct mirage_net_meta {
    uint8_t flags;        /* MIRAGE_NET_META_* */
    uint8_t gso_type;     /* MIRAGE_NET_GSO_NONE, _TCPV4, _TCPV6 or _UDP_L4 */
    uint16_t hdr_len;     /* GSO: bytes of headers before the payload */
    uint16_t gso_size;    /* GSO: payload bytes per segment */
    uint16_t csum_start;  /* NEEDS_CSUM: where the checksummed bytes start */
    uint16_t csum_offset; /* NEEDS_CSUM: where the checksum goes, from csum_start */
};
#define MIRAGE_NET_META_NEEDS_CSUM 1u
#define MIRAGE_NET_META_CSUM_VALID 2u
#define MIRAGE_NET_GSO_NONE        0u
#define MIRAGE_NET_GSO_TCPV4       1u /* VIRTIO_NET_HDR_GSO_TCPV4 */
#define MIRAGE_NET_GSO_TCPV6       4u /* VIRTIO_NET_HDR_GSO_TCPV6 */
/* VIRTIO_NET_HDR_GSO_UDP_L4 (virtio 1.2 5.1.6): in Linux's uapi headers from
 * 6.2 on, with TUN_F_USO4/6, not in Debian 12's 6.1 ones; 6.18's tap hands
 * over a host's UDP_SEGMENT send as one such frame (measured). Type 3, VIRTIO_NET_HDR_GSO_UDP (UFO: one datagram
 * cut into IP fragments), is never asked for nor taken: Linux no longer
 * makes it (4.14 on), and a frame of it is dropped as too long. */
#define MIRAGE_NET_GSO_UDP_L4      5u

/* The offload that carries frames of (gso_type) (the ECN bit 0x80 aside):
 * MIRAGE_NET_OFFLOAD_TSO4, _TSO6 or _USO, or 0 for any other type. */
static inline uint32_t mirage_net_gso_offload(uint8_t gso_type)
{
    switch (gso_type & 0x7f) {
    case MIRAGE_NET_GSO_TCPV4:
        return MIRAGE_NET_OFFLOAD_TSO4;
    case MIRAGE_NET_GSO_TCPV6:
        return MIRAGE_NET_OFFLOAD_TSO6;
    case MIRAGE_NET_GSO_UDP_L4:
        return MIRAGE_NET_OFFLOAD_USO;
    default:
        return 0;
    }
}

/* Whether (offloads) may be on together: known ones, segmentation only with
 * the checksum it needs. */
static inline int mirage_net_offloads_valid(uint32_t offloads)
{
    return !(offloads & ~MIRAGE_NET_OFFLOAD_ALL) &&
           (!(offloads & MIRAGE_NET_OFFLOAD_GSO) || (offloads & MIRAGE_NET_OFFLOAD_CSUM));
}

/* The largest frame a device with (info) writes or reads: mtu + 14, or
 * MIRAGE_NET_GSO_MAX with TSO4, TSO6 or USO. */
static inline size_t mirage_net_frame_max(const struct mirage_net_info *info)
{
    return (info->offloads & MIRAGE_NET_OFFLOAD_GSO) ? (size_t)MIRAGE_NET_GSO_MAX
                                                     : (size_t)info->mtu + 14;
}

/* Whether a device with (info) (its offloads those turned on) may send a
 * frame of (len) bytes with (meta): the one rule of every binding and of
 * lib/net. Only NEEDS_CSUM may be asked for, with its checksum inside the
 * frame; a frame over mtu + 14 only as a TCP/IPv4 or TCP/IPv6 GSO frame with
 * that family's TSO on, or a UDP one (GSO_UDP_L4) with USO on. */
static inline int mirage_net_tx_ok(const struct mirage_net_info *info,
                                   const struct mirage_net_meta *m, size_t len)
{
    if (m->flags & ~MIRAGE_NET_META_NEEDS_CSUM)
        return 0;
    if ((m->flags & MIRAGE_NET_META_NEEDS_CSUM) &&
        (!(info->offloads & MIRAGE_NET_OFFLOAD_CSUM) ||
         (size_t)m->csum_start + m->csum_offset + 2 > len))
        return 0;
    if (m->gso_type == MIRAGE_NET_GSO_NONE)
        return len <= (size_t)info->mtu + 14;
    return (m->gso_type == MIRAGE_NET_GSO_TCPV4 || m->gso_type == MIRAGE_NET_GSO_TCPV6 ||
            m->gso_type == MIRAGE_NET_GSO_UDP_L4) &&
           (info->offloads & mirage_net_gso_offload(m->gso_type)) &&
           (m->flags & MIRAGE_NET_META_NEEDS_CSUM) && m->gso_size > 0 && m->hdr_len < len &&
           len <= MIRAGE_NET_GSO_MAX;
}

/* Whether a device with (info) hands over a received frame of (len) bytes
 * whose virtio-net gso_type is (gso_type): up to mtu + 14, or a coalesced
 * TCP frame (GRO, gso_type TCPV4 or TCPV6, ECN bit 0x80 ignored) up to
 * MIRAGE_NET_GSO_MAX with that family's TSO on, or a UDP one (UDP_L4) with
 * USO on; longer ones are dropped and counted. */
static inline int mirage_net_rx_ok(const struct mirage_net_info *info, uint8_t gso_type,
                                   size_t len)
{
    if (len <= (size_t)info->mtu + 14)
        return 1;
    return (info->offloads & mirage_net_gso_offload(gso_type)) && len <= MIRAGE_NET_GSO_MAX;
}

/* The virtio-net header (virtio 1.1, 5.1.6, without num_buffers) a tap
 * opened with IFF_VNET_HDR puts before each frame, in the host's byte order
 * (little-endian: the tap's and x86's). Its flag and GSO values are those of
 * mirage_net_meta; 0x80 in gso_type is the ECN bit. Every binding that moves
 * it converts with the two functions below and nothing else. */
struct mirage_vnet_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
#define MIRAGE_VNET_GSO_ECN 0x80u

/* The header for a frame sent with (m), which mirage_net_tx_ok allowed. */
static inline struct mirage_vnet_hdr mirage_vnet_hdr_of(const struct mirage_net_meta *m)
{
    struct mirage_vnet_hdr h = {m->flags, m->gso_type, m->hdr_len, m->gso_size, m->csum_start,
                                m->csum_offset};

    return h;
}

/* The metadata of a received frame whose header is (h): the checksum flags,
 * and GSO TCP/IPv4, TCP/IPv6 (ECN or not), UDP (UDP_L4) or none;
 * mirage_net_rx_ok decides its length. */
static inline struct mirage_net_meta mirage_net_meta_of(const struct mirage_vnet_hdr *h)
{
    uint8_t gso = (uint8_t)(h->gso_type & ~MIRAGE_VNET_GSO_ECN);
    struct mirage_net_meta m = {
        (uint8_t)(h->flags & (MIRAGE_NET_META_NEEDS_CSUM | MIRAGE_NET_META_CSUM_VALID)),
        mirage_net_gso_offload(gso) ? gso : (uint8_t)MIRAGE_NET_GSO_NONE,
        h->hdr_len,
        h->gso_size,
        h->csum_start,
        h->csum_offset};

    return m;
}

/* TUNSETOFFLOAD's flags (linux/if_tun.h) for (offloads): what the tap is
 * told by every binding and tender, and what their filters let through. */
#define MIRAGE_TUN_F_CSUM 0x01u
#define MIRAGE_TUN_F_TSO4 0x02u
#define MIRAGE_TUN_F_TSO6 0x04u
/* Linux 6.2 (not in Debian 12's 6.1 headers); its tap refuses either one
 * alone (EINVAL). TUN_F_UFO (0x10) is never asked for: 6.18 takes it with
 * TUN_F_CSUM and does nothing with it (the host fragments big datagrams and
 * cuts UDP_SEGMENT sends itself, as with the checksum alone). */
#define MIRAGE_TUN_F_USO4 0x20u
#define MIRAGE_TUN_F_USO6 0x40u
static inline unsigned mirage_tun_offload_flags(uint32_t offloads)
{
    return ((offloads & MIRAGE_NET_OFFLOAD_CSUM) ? MIRAGE_TUN_F_CSUM : 0) |
           ((offloads & MIRAGE_NET_OFFLOAD_TSO4) ? MIRAGE_TUN_F_TSO4 : 0) |
           ((offloads & MIRAGE_NET_OFFLOAD_TSO6) ? MIRAGE_TUN_F_TSO6 : 0) |
           ((offloads & MIRAGE_NET_OFFLOAD_USO) ? MIRAGE_TUN_F_USO4 | MIRAGE_TUN_F_USO6 : 0);
}

/* The (k)th TUNSETOFFLOAD argument a tender lets a guest pass for a tap that
 * takes (offered) (k = 0, 1, ...; ~0UL past the last): the flags of each
 * set mirage_net_offloads_valid allows within (offered), none first. The
 * tenders' seccomp filters pin exactly these (USO4 never without USO6). */
static inline unsigned long mirage_tun_offload_setting(uint32_t offered, unsigned k)
{
    for (uint32_t set = 0; set <= MIRAGE_NET_OFFLOAD_ALL; set++)
        if (mirage_net_offloads_valid(set) && (set & ~offered) == 0 && k-- == 0)
            return mirage_tun_offload_flags(set);
    return ~0UL;
}

/* The offload sets a tap is asked to take when it is opened, most first
 * (i = 0, 1, ...; 0 after the last): the first TUNSETOFFLOAD the kernel
 * accepts is what the device offers, so a kernel without USO (before 6.2)
 * keeps TSO6 and TSO4, one that refuses TSO6 keeps TSO4 and one that refuses
 * both keeps the checksum. */
static inline uint32_t mirage_net_offload_probe(unsigned i)
{
    switch (i) {
    case 0:
        return MIRAGE_NET_OFFLOAD_ALL;
    case 1:
        return MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO4 | MIRAGE_NET_OFFLOAD_TSO6;
    case 2:
        return MIRAGE_NET_OFFLOAD_CSUM | MIRAGE_NET_OFFLOAD_TSO4;
    case 3:
        return MIRAGE_NET_OFFLOAD_CSUM;
    default:
        return 0;
    }
}

/* Binds the network device declared as (name) in the manifest.
 * Returns 0, MIRAGE_ENOENT if no such net device is declared,
 * or MIRAGE_EINVAL if it was already acquired. */
int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info);

/* Turns on (offloads), a subset of what acquire offered in info->offloads,
 * and off the rest; until called a device moves frames without metadata.
 * Returns 0, MIRAGE_EINVAL (not offered, or not a net handle) or MIRAGE_EIO
 * (the host refused). */
int mirage_net_set_offloads(mirage_handle_t h, uint32_t offloads);

/* Sends one Ethernet frame of (size) bytes (no metadata). Never blocks:
 * returns 0, MIRAGE_EAGAIN if the device cannot take it now, MIRAGE_EINVAL if
 * (size) exceeds mtu + 14 or (h) is not a net handle. */
int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size);

/* Receives one frame into (buf) of (size) bytes, at least
 * mirage_net_frame_max(); its metadata is lost (for a device with offloads
 * use mirage_net_readv). Returns 0 with *read_size set, or MIRAGE_EAGAIN when
 * nothing is pending. A frame longer than mtu + 14 (a jumbo frame, a
 * full-size 802.1Q one of 1518 bytes) that is not a coalesced TCP frame of
 * a device with that family's TSO offload (or a UDP one with USO) is never truncated nor returned: the
 * device consumes it and counts it in mirage_net_stats(), here or on the
 * host, and reads on. */
int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size);

/* A frame buffer for the batched calls: (buf, cap) on input, (len) on output;
 * (meta) is the frame's metadata (all zero on a device without offloads). */
struct mirage_frame {
    uint8_t *buf;
    size_t cap;
    size_t len;
    struct mirage_net_meta meta;
};

/* Sends frames[0..n) in order (frames[i].len bytes each, with their meta);
 * *sent is how many went out before the device filled up. Returns 0 if all
 * went, MIRAGE_EAGAIN if some did not, MIRAGE_EINVAL for a bad frame (longer
 * than mtu + 14 without GSO, metadata the device does not offer, or offsets
 * outside the frame; none after it is sent). */
int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n,
                      size_t *sent);

/* Receives up to (n) frames, each with its metadata; *got is how many.
 * Each frames[i].cap must be at least mirage_net_frame_max(). Returns 0 if at
 * least one arrived, MIRAGE_EAGAIN if none was pending. */
int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got);

/* What a net device dropped on receive before a read could return it. */
struct mirage_net_stats {
    uint64_t rx_oversized; /* frames longer than mtu + 14 */
};

/* Fills (st) with net device (h)'s counts since boot. Returns 0, or
 * MIRAGE_EINVAL if (h) is not a net handle. Never blocks. */
int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st);

/* ---- block devices ---------------------------------------------------- */

struct mirage_platform_block_info {
    uint64_t capacity;   /* bytes, a whole number of blocks */
    uint64_t block_size; /* bytes per sector: 512 or 4096 (--block-sector-size) */
    int read_only;       /* the host's image is not writable: writes give MIRAGE_EROFS */
};

/* Binds the block device declared as (name) in the manifest.
 * Returns 0, MIRAGE_ENOENT, or MIRAGE_EINVAL if already acquired. */
int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info);

/* Writes (size) bytes at byte (offset). Both must be multiples of block_size
 * and offset + size must not exceed capacity, else MIRAGE_EINVAL and nothing
 * is written. Blocks the unikernel until the data is with the host. */
int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf,
                                size_t size);

/* Reads (size) bytes at byte (offset), with the same rules as the write. */
int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size);

/* Makes the writes that returned before it durable on the host (fdatasync of
 * the image). Returns 0 (also for a read-only device), MIRAGE_EIO, or
 * MIRAGE_EINVAL for a bad handle. Blocks the unikernel until done. */
int mirage_platform_block_flush(mirage_handle_t h);

/* Requests that leave the unikernel running (hvt: the tender's block thread
 * serves the device's slot; unix: a helper thread per device). One at a time
 * per device. */
enum mirage_platform_block_op {
    MIRAGE_PLATFORM_BLOCK_READ,
    MIRAGE_PLATFORM_BLOCK_WRITE,
    MIRAGE_PLATFORM_BLOCK_FLUSH,
};

/* Starts (op) on (h) as the calls above would do it and returns at once: 0
 * (the host has it: (buf) must stay valid and unread/unwritten by the caller
 * until mirage_platform_block_complete gives the result; when it is done
 * mirage_yield reports (h) ready), MIRAGE_ENOTSUP where requests are only
 * synchronous (spt: its system calls are), MIRAGE_EAGAIN while an earlier
 * request on (h) is not complete, or MIRAGE_EINVAL / MIRAGE_EROFS as the
 * synchronous call (nothing started). Never blocks. */
int mirage_platform_block_submit(mirage_handle_t h, enum mirage_platform_block_op op,
                                 uint64_t offset, uint8_t *buf, size_t size);

/* The result of (h)'s submitted request, as the synchronous call would have
 * returned it, after which (h) takes the next one; MIRAGE_EAGAIN while it
 * runs; MIRAGE_EINVAL if none was submitted. Never blocks. */
int mirage_platform_block_complete(mirage_handle_t h);

/* ---- host descriptors (the unix binding only) ------------------------- */

/* On unix, host descriptors (the socket stack's sockets) wake fibers through
 * the event loop beside the devices. mirage_yield() reports the pseudo-handle
 * MIRAGE_HOSTFD_HANDLE (no manifest device has it) when any registered
 * descriptor has an event; a fiber waits for it with
 * mirage_wait_device(MIRAGE_HOSTFD_HANDLE, ...) and asks
 * mirage_hostfd_events() which ones. Registration is edge-triggered: wait
 * only after an operation said EAGAIN. Other bindings do not define these. */
#define MIRAGE_HOSTFD_HANDLE 63
/* Watches (fd) for input, output and hang-up; (tag) comes back with its
 * events. Returns 0, MIRAGE_ENOMEM or MIRAGE_EINVAL. close() also unwatches. */
int mirage_hostfd_add(int fd, void *tag);
void mirage_hostfd_del(int fd);
/* The tags of up to (max) descriptors with events since the last call;
 * never blocks. */
size_t mirage_hostfd_events(void **tags, size_t max);

/* ---- boot, memory, exit ----------------------------------------------- */

/* The host command line as one string: the tender's arguments after the
 * image (or after "--"), joined with single spaces. Valid for the whole run. */
const char *mirage_cmdline(void);

/* Copies up to (len) bytes of the host's randomness into (buf): the host's
 * getrandom, handed over at boot on spt and hvt (32 bytes, the same for the
 * whole run), asked for on each call on unix. Returns how many bytes were
 * written: 0 when the host had none to give. Seeds the random generator
 * together with the CPU's own sources. */
size_t mirage_host_entropy(void *buf, size_t len);

/* The free memory the unikernel may use as its heap: [*start, *start + *size).
 * The freestanding libc's malloc owns it on spt and hvt. */
void mirage_heap(uintptr_t *start, size_t *size);

/* Makes the (len) bytes at (page) inaccessible (guard 1) or readable and
 * writable again (guard 0): fiber stacks' guard pages. (page) is 4096-aligned,
 * (len) a non-zero multiple of 4096, and the range lies in memory the caller
 * allocated (the heap on spt and hvt). Returns 0, or MIRAGE_EINVAL when the
 * target cannot (the runtime then relies on stack canaries alone). */
int mirage_mem_guard(void *page, size_t len, int guard);

/* Sets the thread-pointer (FS) base; the word at base + 0x28 must hold the
 * stack-protector canary before any protected code runs with it. */
int mirage_set_tls_base(uintptr_t base);

/* Ends the unikernel with (status) (0..255 reach the host as they are). */
__attribute__((noreturn)) void mirage_exit(int status);

/* Ends the unikernel at once with status 255 after printing nothing more. */
__attribute__((noreturn)) void mirage_abort(void);

#endif
