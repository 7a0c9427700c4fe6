/* hello.c: a Solo5 program: greets, prints its command line, checks heap, clocks and TLS base. */
#include "solo5.h"
#include "util.h"

/* The thread pointer's view of the TCB: %fs:0 and the canary at %fs:0x28. */
static uintptr_t fs_word(unsigned offset)
{
    uintptr_t v;
    __asm__ volatile("movq %%fs:(%1), %0" : "=r"(v) : "r"((uintptr_t)offset));
    return v;
}

/* A TCB of our own: the self-pointer at 0 and the running canary at 0x28 kept,
 * as the shim asks, so protected code goes on working after the switch. */
static uintptr_t tcb[32] __attribute__((aligned(64)));

static int check_tls(void)
{
    solo5_result_t r;

    tcb[0] = (uintptr_t)tcb;
    tcb[0x28 / 8] = fs_word(0x28);
    r = solo5_set_tls_base((uintptr_t)tcb);
    if (r == SOLO5_R_EINVAL) {
        t_puts("TLS base: refused\n"); /* the unix target: the host libc owns FS */
        return 0;
    }
    if (r != SOLO5_R_OK || fs_word(0) != (uintptr_t)tcb) {
        t_puts("TLS base: FS does not point at the new block\n");
        return -1;
    }
    t_puts("TLS base: ok\n");
    return 0;
}

static int check_heap(const struct solo5_start_info *si)
{
    volatile uint8_t *first = (volatile uint8_t *)si->heap_start;
    volatile uint8_t *last = first + si->heap_size - 1;

    if (si->heap_size < 4096) {
        t_puts("heap: too small\n");
        return -1;
    }
    *first = 0xa5;
    *last = 0x5a;
    if (*first != 0xa5 || *last != 0x5a) {
        t_puts("heap: does not keep what is written\n");
        return -1;
    }
    t_puts("heap: ");
    t_putu(si->heap_size >> 10);
    t_puts(" KiB\n");
    return 0;
}

static int check_clocks(void)
{
    solo5_time_t a = solo5_clock_monotonic(), b;
    solo5_time_t wall = solo5_clock_wall();

    solo5_yield(a + 10000000ull, NULL); /* 10 ms, no devices: a sleep */
    b = solo5_clock_monotonic();
    if (b < a + 10000000ull) {
        t_puts("clock: yield returned before its deadline\n");
        return -1;
    }
    /* After 2020-01-01: the host gave us a real wall clock. */
    if (wall < 1577836800ull * 1000000000ull) {
        t_puts("clock: wall clock before 2020\n");
        return -1;
    }
    t_puts("clocks: ok\n");
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *rest;
    int failed = 0;

    t_puts("\n**** Solo5 shim test: hello ****\n\n");
    t_puts("Hello, World\n");
    t_puts("Command line is: '");
    t_puts(si->cmdline);
    t_puts("'\n");
    if (t_prefix(si->cmdline, "--abort", &rest))
        solo5_abort();
    if (t_prefix(si->cmdline, "--exit=", &rest)) {
        int status = 0;
        for (; *rest >= '0' && *rest <= '9' && status < 1000; rest++)
            status = status * 10 + (*rest - '0');
        solo5_exit(status);
    }
    failed |= check_heap(si);
    failed |= check_clocks();
    failed |= check_tls();
    t_puts(failed ? "FAILURE\n" : "SUCCESS\n");
    return failed ? SOLO5_EXIT_FAILURE : SOLO5_EXIT_SUCCESS;
}
