/* fault.c: misbehaves as argv[1] asks, so tests can check each target reports it and ends right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"
#include "mirage/sched.h"

MIRAGE_MANIFEST();

/*
 * Modes: return N | exit N | abort | null-write | null-read | text-write |
 * rodata-write | exec-data | exec-stack | exec-heap | wild-jump |
 * noncanonical | ud2 | div0 | int3 | stack-smash | stack-overflow | syscall |
 * fiber-overflow (a fiber runs 1 KiB past its 16 KiB stack, then returns), fiber-overflow-reused
 * (the same on a stack a finished fiber left behind), create PATH (opens PATH for writing with
 * a direct openat), link-core FD,DIRFD,PATH (names the --dumpcore file FD in DIRFD as PATH
 * with a direct linkat, as the tender does but with its own name: spt's filter must refuse).
 * Each prints "fault: MODE" first, so a test can tell the program got there.
 */

static unsigned char data_code[16] = {0xc3}; /* ret */
static const char rodata[] = "read-only";
static volatile int zero, one = 1;
/* Addresses through a volatile so the compiler cannot see (and refuse) the bad access. */
static volatile uintptr_t page0 = 8, noncanonical = 0x8000000000000000ULL;
static volatile unsigned long depth_limit = ~0UL;

__attribute__((noinline)) static void call(void *code)
{
    ((void (*)(void))code)();
}

/* Writes past its buffer: the canary check ends the unikernel on return. */
__attribute__((noinline)) static void smash(const char *src, size_t n)
{
    char buf[16];

    memcpy(buf, src, n);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* Recurses until its frames reach (limit) bytes below (top), writing every
 * byte of each frame so that neither a guard page nor a canary is skipped. */
__attribute__((noinline)) static int dive(uintptr_t top, size_t limit)
{
    volatile char frame[512];

    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (char)i;
    if (top - (uintptr_t)frame >= limit)
        return frame[0];
    return dive(top, limit) + frame[1];
}

static int shallow(void *arg)
{
    (void)arg;
    return 7;
}

static int diver(void *arg)
{
    volatile char here;

    (void)arg;
    return dive((uintptr_t)&here, MIRAGE_FIBER_STACK_MIN + 1024);
}

__attribute__((noinline)) static int recurse(volatile char *prev, unsigned long depth)
{
    volatile char frame[4096];

    frame[0] = prev ? prev[0] + 1 : 0;
    if (depth >= depth_limit)
        return frame[0];
    return recurse(frame, depth + 1) + frame[1];
}

/* A system call made straight from the guest, as a compromised one would. */
static long raw_syscall(long n, long a, long b, long c, long d, long e)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e;
    long r;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}

static int run(const char *mode, const char *arg)
{
    if (strcmp(mode, "exit") == 0)
        exit(atoi(arg));
    if (strcmp(mode, "abort") == 0)
        mirage_abort();
    if (strcmp(mode, "null-write") == 0)
        *(volatile int *)page0 = 1;
    if (strcmp(mode, "null-read") == 0)
        return *(volatile int *)(page0 + 8);
    if (strcmp(mode, "text-write") == 0)
        *(volatile unsigned char *)(uintptr_t)mirage_main = 0xcc;
    if (strcmp(mode, "rodata-write") == 0)
        *(volatile char *)rodata = 'X';
    if (strcmp(mode, "exec-data") == 0)
        call(data_code);
    if (strcmp(mode, "exec-stack") == 0) {
        unsigned char code[16] = {0xc3};
        call(code);
    }
    if (strcmp(mode, "exec-heap") == 0) {
        unsigned char *code = malloc(16);
        if (code == NULL)
            return 2;
        code[0] = 0xc3;
        call(code);
    }
    if (strcmp(mode, "wild-jump") == 0)
        call((void *)0xdead000);
    if (strcmp(mode, "noncanonical") == 0)
        return *(volatile int *)noncanonical;
    if (strcmp(mode, "ud2") == 0)
        __builtin_trap();
    if (strcmp(mode, "div0") == 0)
        zero = one / zero;
    if (strcmp(mode, "int3") == 0)
        __asm__ volatile("int3");
    if (strcmp(mode, "stack-smash") == 0) {
        char big[64];
        volatile size_t n = sizeof(big); /* hidden from the host compiler's bounds warning */
        memset(big, 'A', sizeof(big));
        smash(big, n);
    }
    if (strcmp(mode, "stack-overflow") == 0)
        return recurse(NULL, 0);
    if (strcmp(mode, "fiber-overflow") == 0) {
        struct mirage_fiber *f =
            mirage_fiber_spawn("deep-diver", diver, NULL, MIRAGE_FIBER_STACK_MIN);
        return f ? mirage_fiber_join(f, NULL) : 4;
    }
    if (strcmp(mode, "fibers") == 0) {
        /* Fibers of 1 MiB stacks until the heap is full: the runtime logs
         * what failed and the heap in use; then all are let go. */
        unsigned n = 0;

        while (n < 100000 && mirage_fiber_spawn("hog", shallow, NULL, 1u << 20) != NULL)
            n++;
        printf("spawned %u fibers of 1 MiB\n", n);
        return n > 0 && n < 100000 ? 0 : 4;
    }
    if (strcmp(mode, "fiber-overflow-reused") == 0) {
        /* The second fiber gets the first one's stack back, guard and all,
         * and a fault there names the second. */
        int r = 0;
        struct mirage_fiber *f =
            mirage_fiber_spawn("shallow", shallow, NULL, MIRAGE_FIBER_STACK_MIN);

        if (f == NULL || mirage_fiber_join(f, &r) != 0 || r != 7)
            return 4;
        f = mirage_fiber_spawn("second-diver", diver, NULL, MIRAGE_FIBER_STACK_MIN);
        return f ? mirage_fiber_join(f, NULL) : 4;
    }
    if (strcmp(mode, "syscall") == 0) {
        /* getpid: no binding ever needs it. */
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(39L) : "rcx", "r11", "memory");
        printf("fault: getpid returned %ld\n", r);
        return 3;
    }
    if (strcmp(mode, "create") == 0) {
        /* openat(AT_FDCWD, arg, O_WRONLY | O_CREAT | O_TRUNC, 0600) */
        long fd = raw_syscall(257, -100, (long)arg, 01 | 0100 | 01000, 0600, 0);

        printf("fault: openat returned %ld\n", fd);
        if (fd >= 0)
            printf("fault: write returned %ld\n", raw_syscall(1, fd, (long)"x", 1, 0, 0));
        return 3;
    }
    if (strcmp(mode, "link-core") == 0) {
        /* linkat(FD, "", DIRFD, PATH, AT_EMPTY_PATH) after writing into FD */
        char *end;
        long fd = strtol(arg, &end, 10), dirfd = *end == ',' ? strtol(end + 1, &end, 10) : -1;
        const char *path = *end == ',' ? end + 1 : "";

        printf("fault: pwrite64 returned %ld\n", raw_syscall(18, fd, (long)"#!/bin/sh\n", 10, 0, 0));
        printf("fault: linkat returned %ld\n", raw_syscall(265, fd, (long)"", dirfd, (long)path,
                                                             0x1000));
        return 3;
    }
    printf("fault: unknown mode '%s'\n", mode);
    return 2;
}

int mirage_main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: fault MODE [N]\n");
        return 2;
    }
    printf("fault: %s\n", argv[1]);
    if (strcmp(argv[1], "return") == 0)
        return atoi(argc > 2 ? argv[2] : "0");
    run(argv[1], argc > 2 ? argv[2] : "0");
    printf("fault: %s did not fault\n", argv[1]);
    return 3;
}
