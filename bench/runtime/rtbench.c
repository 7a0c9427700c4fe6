/* rtbench.c: the runtime on its own target: switch, spawn, 100k timers, sleep(1 ms) latency. */
#include <stdio.h>
#include <stdlib.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "mirage/time.h"

MIRAGE_MANIFEST();

#define SWITCH_ROUNDS 1000000
#define TIMERS        100000
#define SLEEPS        200
#define SPAWNS        2000

static int pingpong(void *arg)
{
    (void)arg;
    for (int i = 0; i < SWITCH_ROUNDS; i++)
        mirage_fiber_yield();
    return 0;
}

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

/* ns per spawn + join of a fiber with the default stack; (fresh): with its
 * stack allocated and guarded anew each time instead of reused. */
static double spawn_ns(int fresh)
{
    uint64_t t0 = mirage_clock_monotonic();

    for (int i = 0; i < SPAWNS; i++) {
        if (fresh)
            mirage_sched_release_stacks();
        mirage_fiber_join(mirage_fiber_spawn("short", nothing, NULL, 0), NULL);
    }
    return (double)(mirage_clock_monotonic() - t0) / SPAWNS;
}

static void on_timer(struct mirage_timer *t)
{
    (void)t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_fiber *fs[2];
    struct mirage_sched_stats s0, s1;
    static struct mirage_timer timers[TIMERS];
    static uint64_t late[SLEEPS];
    uint64_t t0, t1, t2, x = 0x9e3779b97f4a7c15ULL;

    (void)argc;
    (void)argv;
    /* Two fibers yielding to each other: every yield is one switch. */
    fs[0] = mirage_fiber_spawn("ping", pingpong, NULL, 0);
    fs[1] = mirage_fiber_spawn("pong", pingpong, NULL, 0);
    mirage_sched_stats(&s0);
    t0 = mirage_clock_monotonic();
    mirage_fiber_join_all(fs, 2, NULL);
    t1 = mirage_clock_monotonic();
    mirage_sched_stats(&s1);
    printf("switch_ns %.1f\n", (double)(t1 - t0) / (double)(s1.switches - s0.switches));

    /* The monotonic clock, as TCP reads it per receive batch. */
    t0 = mirage_clock_monotonic();
    for (int i = 0; i < 100000; i++)
        x += mirage_clock_monotonic();
    t1 = mirage_clock_monotonic();
    printf("clock_ns %.1f\n", (double)(t1 - t0) / 100000);

    printf("spawn_join_ns %.1f\n", spawn_ns(0));
    printf("spawn_join_fresh_ns %.1f\n", spawn_ns(1));

    /* 100k timers, all already due, so expiry needs no sleep. */
    t0 = mirage_clock_monotonic();
    for (int i = 0; i < TIMERS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mirage_timer_start(&timers[i], t0 - 1000000 + x % 1000000, on_timer);
    }
    t1 = mirage_clock_monotonic();
    mirage_sched_drain();
    t2 = mirage_clock_monotonic();
    printf("timer_insert_ns %.1f\ntimer_expire_ns %.1f\n", (double)(t1 - t0) / TIMERS,
           (double)(t2 - t1) / TIMERS);

    /* How late sleep(1 ms) wakes an idle unikernel. */
    for (int i = 0; i < SLEEPS; i++) {
        t0 = mirage_clock_monotonic();
        mirage_sleep_ns(MIRAGE_MS(1));
        late[i] = mirage_clock_monotonic() - t0 - MIRAGE_MS(1);
    }
    qsort(late, SLEEPS, sizeof(late[0]), cmp_u64);
    printf("sleep_late_median_us %.1f\nsleep_late_p99_us %.1f\n", (double)late[SLEEPS / 2] / 1000,
           (double)late[SLEEPS * 99 / 100] / 1000);
    return 0;
}
