/* filter.c: spt only: raw system calls that probe mirage-spt's seccomp filter, one per run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The binding's raw system calls, and its record of the boot info (spt_boot) for the real fds. */
#include "../../platform/spt/sys.h"

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));

/*
 * Modes (numbers in C syntax):
 *   pread OFF SIZE | pwrite OFF SIZE   on the disk's fd
 *   read FD | write FD | readv FD      zero bytes
 *   clock ID | arch_prctl CODE | epoll-sigmask | epoll-fd FD
 *   nr N                               system call N with zero arguments
 *   int80                              getpid through the 32-bit ABI
 *   mprotect start|end|image OFF LEN PROT   at the heap's start or end or the
 *                                      image's first page, plus OFF (may be negative)
 * Prints "filter: allowed, returned R" when the call came back; a refused
 * call never returns (the tender reports SIGSYS).
 */
static uint8_t buf[1 << 20];

static long num(int argc, char **argv, int i)
{
    return i < argc ? (long)strtoull(argv[i], NULL, 0) : 0;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_platform_block_info info;
    mirage_handle_t h;
    const char *mode = argc > 1 ? argv[1] : "";
    long a = num(argc, argv, 2), b = num(argc, argv, 3), r;
    uint64_t ts[2], mask = 0;
    uint8_t ev[12 * 4];

    if (mirage_platform_block_acquire("storage", &h, &info) < 0) {
        printf("filter: no storage\n");
        return 2;
    }
    if (strcmp(mode, "pread") == 0 || strcmp(mode, "pwrite") == 0) {
        if ((unsigned long)b > sizeof(buf))
            b = sizeof(buf);
        r = spt_syscall6(mode[1] == 'r' ? SYS_pread64 : SYS_pwrite64, spt_boot->devs[h].fd,
                         (long)buf, b, a, 0, 0);
    } else if (strcmp(mode, "read") == 0 || strcmp(mode, "write") == 0) {
        r = spt_syscall6(mode[0] == 'r' ? SYS_read : SYS_write, a, (long)buf, 0, 0, 0, 0);
    } else if (strcmp(mode, "readv") == 0) {
        r = spt_syscall6(SYS_readv, a, (long)buf, 0, 0, 0, 0);
    } else if (strcmp(mode, "clock") == 0) {
        r = spt_syscall6(SYS_clock_gettime, a, (long)ts, 0, 0, 0, 0);
    } else if (strcmp(mode, "arch_prctl") == 0) {
        r = spt_syscall6(SYS_arch_prctl, a, (long)ts, 0, 0, 0, 0);
    } else if (strcmp(mode, "epoll-sigmask") == 0) {
        ts[0] = ts[1] = 0;
        r = spt_syscall6(SYS_epoll_pwait2, spt_boot->epoll_fd, (long)ev, 4, (long)ts, (long)&mask,
                         8);
    } else if (strcmp(mode, "epoll-fd") == 0) {
        ts[0] = ts[1] = 0;
        r = spt_syscall6(SYS_epoll_pwait2, a, (long)ev, 4, (long)ts, 0, 0);
    } else if (strcmp(mode, "nr") == 0) {
        r = spt_syscall6(a, 0, 0, 0, 0, 0, 0);
    } else if (strcmp(mode, "mprotect") == 0 && argc > 5) {
        uint64_t base = strcmp(argv[2], "start") == 0 ? spt_boot->heap_start
                        : strcmp(argv[2], "end") == 0 ? spt_boot->heap_start + spt_boot->heap_size
                                                      : 0x100000;
        r = spt_syscall6(SYS_mprotect, (long)(base + (uint64_t)num(argc, argv, 3)),
                         num(argc, argv, 4), num(argc, argv, 5), 0, 0, 0);
    } else if (strcmp(mode, "int80") == 0) {
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    } else {
        printf("filter: unknown mode '%s'\n", mode);
        return 2;
    }
    printf("filter: allowed, returned %ld\n", r);
    return 0;
}
