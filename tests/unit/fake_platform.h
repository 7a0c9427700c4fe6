/* fake_platform.h: a virtual-time platform for runtime unit tests: yield jumps the clock to the deadline. */
#ifndef FAKE_PLATFORM_H
#define FAKE_PLATFORM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mirage/platform.h"

/* The clock only moves when the loop yields (or a test moves it), so every
 * timing in these tests is exact and no test depends on the host's speed. */
static uint64_t fake_now = 1000000;
static uint64_t fake_wall_base = 1700000000ULL * 1000000000ULL;
static int fake_yields;
static uint64_t fake_last_deadline;
/* A device "becomes ready" at fake_ready_at with the handles in fake_ready. */
static uint64_t fake_ready_at = UINT64_MAX;
static mirage_handle_set_t fake_ready;
static char fake_console[65536];
static size_t fake_console_len;

uint64_t mirage_clock_monotonic(void)
{
    return fake_now;
}

uint64_t mirage_clock_wall(void)
{
    return fake_wall_base + fake_now;
}

void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    fake_yields++;
    fake_last_deadline = deadline;
    *ready = 0;
    if (fake_ready_at != UINT64_MAX && fake_ready_at <= deadline) {
        if (fake_ready_at > fake_now)
            fake_now = fake_ready_at;
        *ready = fake_ready;
        fake_ready_at = UINT64_MAX;
        return;
    }
    if (deadline == UINT64_MAX) {
        fprintf(stderr, "fake platform: yield forever with no device event: the test hangs\n");
        _exit(3);
    }
    if (deadline > fake_now)
        fake_now = deadline;
}

/* Real guard pages (the tests run hosted): fake_guards counts those up,
 * fake_last_guard is the latest; fake_guard_refuse plays a target without. */
static int fake_guards, fake_guard_refuse;
static void *fake_last_guard;

void mirage_sched_release_stacks(void);

/* LeakSanitizer's scan at exit faults on a guard page: the stacks the
 * runtime keeps guarded for reuse go back first. */
static void fake_release_at_exit(void)
{
    mirage_sched_release_stacks();
}

int mirage_mem_guard(void *page, size_t len, int guard)
{
    static int registered;

    if (!registered)
        registered = atexit(fake_release_at_exit) == 0;
    if (fake_guard_refuse || ((uintptr_t)page & 4095) != 0 || len == 0 || (len & 4095) != 0 ||
        mprotect(page, len, guard ? PROT_NONE : PROT_READ | PROT_WRITE) != 0)
        return MIRAGE_EINVAL;
    fake_guards += guard ? 1 : -1;
    if (guard)
        fake_last_guard = page;
    return 0;
}

/* The host's randomness as a test sets it; fake_entropy_calls counts the asks. */
static uint8_t fake_entropy[32];
static size_t fake_entropy_len;
static int fake_entropy_calls;

size_t mirage_host_entropy(void *buf, size_t len)
{
    fake_entropy_calls++;
    if (len > fake_entropy_len)
        len = fake_entropy_len;
    memcpy(buf, fake_entropy, len);
    return len;
}

void mirage_console_write(const char *buf, size_t len)
{
    if (len > sizeof(fake_console) - fake_console_len)
        len = sizeof(fake_console) - fake_console_len;
    memcpy(fake_console + fake_console_len, buf, len);
    fake_console_len += len;
}

static inline void fake_console_clear(void)
{
    fake_console_len = 0;
    fake_console[0] = '\0';
}

/* The console so far as a string. */
static inline const char *fake_console_text(void)
{
    if (fake_console_len == sizeof(fake_console))
        fake_console_len--;
    fake_console[fake_console_len] = '\0';
    return fake_console;
}

void mirage_abort(void)
{
    fwrite(fake_console, 1, fake_console_len, stderr);
    _exit(255);
}

void mirage_exit(int status)
{
    exit(status);
}

#endif
