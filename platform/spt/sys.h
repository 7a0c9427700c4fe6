/* sys.h: raw Linux system calls and the state the spt binding's files share. */
#ifndef SPT_SYS_H
#define SPT_SYS_H

#include <stdint.h>

#include "mirage/abi/spt.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

/* The x86_64 numbers of the calls the tender's seccomp filter allows. */
#define SYS_read          0
#define SYS_write         1
#define SYS_pread64       17
#define SYS_readv         19
#define SYS_writev        20
#define SYS_ioctl         16
#define SYS_pwrite64      18
#define SYS_mprotect      10
#define SYS_fdatasync     75
#define SYS_arch_prctl    158
#define SYS_clock_gettime 228
#define SYS_exit_group    231
#define SYS_epoll_pwait2  441

#define SPT_EAGAIN          11
#define SPT_EINTR           4
#define SPT_EBADFD          77 /* a tap whose device was deleted */
#define SPT_EPOLLERR        0x008
#define SPT_EPOLLHUP        0x010
#define SPT_ARCH_SET_FS     0x1002
#define SPT_CLOCK_REALTIME  0
#define SPT_CLOCK_MONOTONIC 1

struct spt_timespec {
    int64_t sec;
    int64_t nsec;
};

/* The kernel's x86_64 struct epoll_event is packed: 12 bytes. */
struct spt_epoll_event {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

static inline long spt_syscall1(long n, long a)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
    return r;
}

static inline long spt_syscall2(long n, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

static inline long spt_syscall3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static inline long spt_syscall4(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return r;
}

static inline long spt_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

/* The tender's boot info, recorded by spt_main before anything else runs. */
extern const struct spt_boot_info *spt_boot;

/* Set when a handle has been acquired: a second acquire is refused. */
extern uint8_t spt_acquired[SPT_MAX_DEVS];

/* Finds (name) of (type) in the image's manifest and marks it acquired:
 * returns its handle, MIRAGE_ENOENT, or MIRAGE_EINVAL if already acquired. */
int spt_acquire(const char *name, uint32_t type);

/* The device at (h) if it is acquired and of (type), else NULL. */
const struct spt_dev_info *spt_device(mirage_handle_t h, uint32_t type);

/* The tap behind net device (h) was deleted on the host: says so on fd 2 and
 * ends the unikernel with SPT_EXIT_LOST (see mirage/abi/spt.h). */
__attribute__((noreturn)) void spt_net_lost(mirage_handle_t h);

#endif
