/* spt.h: the ABI between mirage-spt and the spt binding: boot info and the system call rules. */
#ifndef MIRAGE_ABI_SPT_H
#define MIRAGE_ABI_SPT_H

#include <stdint.h>

/*
 * The guest runs in the tender's own process. On entry %rdi points at a
 * struct spt_boot_info in guest memory, %rsp is 16-byte aligned at the top of
 * guest memory, FS is still the tender's thread pointer (the binding replaces
 * it with arch_prctl(ARCH_SET_FS) before protected code runs with the final
 * canary, which it takes from (random): no CPUID or RDRAND at boot). A
 * seccomp filter allows only these system calls; anything else ends the
 * guest (mirage-spt exits with TENDER_EXIT_SANDBOX):
 *
 *   read/readv(tap fd)    write(1, 2 or a tap fd)
 *   writev(tap fd with SPT_DEV_VNET, iov, 2): the virtio-net header and the frame
 *   ioctl(tap fd with offloads, TUNSETOFFLOAD, flags): flags within TUN_F_CSUM,
 *       TUN_F_TSO4, TUN_F_TSO6, TUN_F_USO4 and TUN_F_USO6, only those the tender
 *       found the tap takes, in the combinations of mirage_tun_offload_setting()
 *   pread64/pwrite64(block fd, count, pos): count and pos multiples of the
 *       device's block_size, count < 2^32, pos + count <= capacity;
 *       pwrite64 only on a disk without SPT_DEV_READ_ONLY
 *   fdatasync(block fd) of a disk without SPT_DEV_READ_ONLY (flush)
 *   epoll_pwait2(epoll_fd, ..., sigmask = NULL)
 *   clock_gettime(CLOCK_REALTIME or CLOCK_MONOTONIC): the fallback of the vDSO's
 *       clock_gettime, which the binding calls at (clock_gettime) when the tender found it
 *   arch_prctl(ARCH_SET_FS)   exit_group
 *   mprotect(addr, len, PROT_NONE or PROT_READ|PROT_WRITE) with
 *       [addr, addr + len) inside the heap, when the heap ends below 4 GiB
 */
#define SPT_BOOT_MAGIC   0x4d535054u /* "MSPT" */
#define SPT_BOOT_VERSION 7 /* 7: MIRAGE_NET_OFFLOAD_USO in spt_dev_info.offloads */

/* mirage_abort() runs ud2 with this in rax: the tender's fault handler takes
 * it for an abort (status 255, a core file with --dumpcore), not a fault. */
#define SPT_ABORT_MAGIC 0x54524f4241ull /* "ABORT" */
#define SPT_MAX_DEVS     63
#define SPT_NAME_MAX     64
#define SPT_TAP_MAX      16 /* IFNAMSIZ */

/* When a tap is deleted under a running guest (epoll reports EPOLLERR or
 * EPOLLHUP for it, or read/write fail with EBADFD), the binding writes
 * "mirage-spt: net device 'NAME': tap 'TAP' is gone" to fd 2 and exits with
 * this status, TENDER_EXIT_LOST (see tender/common/tender.h). */
#define SPT_EXIT_LOST 252

/* The largest single pread64/pwrite64 the binding issues; the filter allows
 * any count below 2^32, this keeps each call well inside it. */
#define SPT_BLOCK_MAX_IO (1u << 30)

struct spt_dev_info {
    uint32_t type; /* MIRAGE_DEV_NET or MIRAGE_DEV_BLOCK */
    int32_t fd;    /* the tap (non-blocking) or the disk image */
    uint8_t mac[6];
    uint16_t mtu;
    uint32_t flags;        /* block: SPT_DEV_READ_ONLY; net: SPT_DEV_VNET */
    uint32_t offloads;     /* net: MIRAGE_NET_OFFLOAD_* the tap takes, all off at start */
    uint64_t capacity;     /* block: bytes */
    uint64_t block_size;   /* block: bytes per sector */
    char tap[SPT_TAP_MAX]; /* net: the tap's name, NUL-terminated, for messages */
};

/* The disk image is not writable: the tender opened it read-only. */
#define SPT_DEV_READ_ONLY 1u
/* The tap carries a 10-byte virtio-net header (struct virtio_net_hdr, host
 * byte order) before each frame, both ways (IFF_VNET_HDR). */
#define SPT_DEV_VNET 2u

struct spt_boot_info {
    uint32_t magic;
    uint32_t version;
    uint64_t heap_start, heap_size; /* free guest memory for malloc */
    int32_t epoll_fd;               /* holds every tap fd, with data.u64 = its handle */
    uint32_t ndevs;                 /* entries of the manifest, devs[0..ndevs) */
    uint64_t random[2];             /* from the tender's getrandom: canary, pointer guard */
    uint8_t entropy[32];            /* from the tender's getrandom: a seed (all zero: none) */
    uint64_t clock_gettime;         /* the vDSO's clock_gettime(id, ts), or 0: system call */
    char name[SPT_NAME_MAX];        /* the image's name without directory or ".spt" */
    struct spt_dev_info devs[SPT_MAX_DEVS];
    char cmdline[8192]; /* MIRAGE_CMDLINE_MAX, NUL-terminated */
};

#endif
