/* faults.c: a Solo5 program that misbehaves as told: smashes its stack, writes to its text, reads
 * page zero. */
#include "solo5.h"
#include "util.h"

/* Writes (n) bytes into a 16-byte buffer: past its end when n > 16, over the
 * canary the compiler put between it and the return address. */
__attribute__((noinline)) static void fill(volatile char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = 'x';
}

__attribute__((noinline)) static int smash(size_t n)
{
    char buf[16];

    fill(buf, n);
    return buf[0];
}

/* Through a variable, so the compiler cannot see (and refuse) the address. */
static volatile uintptr_t page_zero = 8;

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *rest;

    t_puts("\n**** Solo5 shim test: faults ****\n\n");
    if (t_prefix(si->cmdline, "smash", &rest)) {
        t_puts("smashing the stack\n");
        smash(64);
    } else if (t_prefix(si->cmdline, "text", &rest)) {
        volatile uint8_t *text = (volatile uint8_t *)(uintptr_t)&solo5_app_main;

        t_puts("writing to text\n");
        *text = 0xc3;
    } else if (t_prefix(si->cmdline, "zero", &rest)) {
        volatile const uint64_t *zero = (volatile const uint64_t *)page_zero;

        t_puts("reading page zero\n");
        t_putu(*zero);
    } else if (t_prefix(si->cmdline, "fine", &rest)) {
        smash(16); /* exactly the buffer: no harm */
        t_puts("SUCCESS\n");
        return SOLO5_EXIT_SUCCESS;
    } else {
        t_puts("usage: smash | text | zero | fine\n");
        return SOLO5_EXIT_FAILURE;
    }
    t_puts("FAILURE: still running\n");
    return SOLO5_EXIT_FAILURE;
}
