/* time.c: clocks and sleep over the platform's clocks and the scheduler's deadlines. */
#include "mirage/platform.h"
#include "mirage/time.h"

uint64_t mirage_deadline_in(uint64_t ns)
{
    uint64_t now = mirage_clock_monotonic();

    return ns >= MIRAGE_FOREVER - now ? MIRAGE_FOREVER : now + ns;
}

int mirage_sleep_ns(uint64_t ns)
{
    return mirage_sleep_until(mirage_deadline_in(ns));
}
