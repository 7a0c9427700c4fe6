/* filter_net.c: spt only: raw system calls on a tap that probe mirage-spt's seccomp filter, one per
 * run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The binding's raw system calls, and its record of the boot info (spt_boot) for the real fds. */
#include "../../platform/spt/sys.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"));

/*
 * Modes (numbers in C syntax; TAP is the tap's own fd, OTHER a number given):
 *   writev-tap IOVCNT            writev(TAP, a zeroed header and a 60-byte frame, IOVCNT)
 *   writev-fd FD                 writev(FD, the same, 2)
 *   ioctl-tap CMD ARG            ioctl(TAP, CMD, ARG)
 *   ioctl-fd FD CMD ARG          ioctl(FD, CMD, ARG)
 *   offloads                     prints what the tender offered: "offered N"
 * Prints "filter: allowed, returned R" when the call came back; a refused
 * call never returns (the tender reports SIGSYS).
 */
static uint8_t hdr[10], frame[60];

static long num(int argc, char **argv, int i)
{
    return i < argc ? (long)strtoull(argv[i], NULL, 0) : 0;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_net_info info;
    mirage_handle_t h;
    const char *mode = argc > 1 ? argv[1] : "";
    struct {
        const void *base;
        size_t len;
    } iov[3] = {{hdr, sizeof(hdr)}, {frame, sizeof(frame)}, {frame, 0}};
    long r, tap;

    if (mirage_net_acquire("service", &h, &info) < 0) {
        printf("filter: no net device\n");
        return 2;
    }
    tap = spt_boot->devs[h].fd;
    memset(frame, 0xff, 12); /* a broadcast from ff:ff..: dropped by the host, harmless */
    if (strcmp(mode, "offloads") == 0) {
        printf("offered %u\n", info.offloads);
        return 0;
    } else if (strcmp(mode, "writev-tap") == 0) {
        r = spt_syscall3(SYS_writev, tap, (long)iov, num(argc, argv, 2));
    } else if (strcmp(mode, "writev-fd") == 0) {
        r = spt_syscall3(SYS_writev, num(argc, argv, 2), (long)iov, 2);
    } else if (strcmp(mode, "ioctl-tap") == 0) {
        r = spt_syscall3(SYS_ioctl, tap, num(argc, argv, 2), num(argc, argv, 3));
    } else if (strcmp(mode, "ioctl-fd") == 0) {
        r = spt_syscall3(SYS_ioctl, num(argc, argv, 2), num(argc, argv, 3), num(argc, argv, 4));
    } else {
        printf("filter: unknown mode '%s'\n", mode);
        return 2;
    }
    printf("filter: allowed, returned %ld\n", r);
    return 0;
}
