/* fuzz_platform.h: the platform API for fuzzers: a virtual clock, quiet, never blocks. */
#ifndef FUZZ_PLATFORM_H
#define FUZZ_PLATFORM_H

#include <stdint.h>
#include <stdlib.h>

#include "mirage/error.h"
#include "mirage/platform.h"

/* Virtual time the fuzzer moves; a fixed start keeps runs reproducible. Unlike
 * tests/unit/fake_platform.h, a yield with no deadline returns (nothing is
 * ready) instead of ending the process, and there are no real guard pages. */
static uint64_t fz_now = 1000000000ull;

uint64_t mirage_clock_monotonic(void)
{
    return fz_now;
}

uint64_t mirage_clock_wall(void)
{
    return fz_now;
}

void mirage_console_write(const char *buf, size_t len)
{
    (void)buf, (void)len;
}

/* Waiting for a deadline is jumping the clock to it: nothing is ever ready. */
void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    if (deadline > fz_now && deadline != UINT64_MAX)
        fz_now = deadline;
    *ready = 0;
}

const char *mirage_cmdline(void)
{
    return "fuzz";
}

void mirage_abort(void)
{
    abort();
}

/* No host randomness under the fuzzer: runs stay reproducible. */
size_t mirage_host_entropy(void *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 0;
}

/* No guard pages under the fuzzer: fiber stacks keep their canaries. */
int mirage_mem_guard(void *page, size_t len, int guard)
{
    (void)page;
    (void)len;
    (void)guard;
    return MIRAGE_EINVAL;
}

void mirage_exit(int status)
{
    exit(status);
}

#endif
