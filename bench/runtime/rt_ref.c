/* rt_ref.c: rtbench's host references: swapcontext, pthread create + join, nanosleep(1 ms). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#define ROUNDS 1000000
#define SLEEPS 200

static ucontext_t main_ctx, fiber_ctx;

static unsigned long long now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void fiber(void)
{
    for (;;)
        swapcontext(&fiber_ctx, &main_ctx);
}

static void *nothing(void *arg)
{
    return arg;
}

static int cmp(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

    return x < y ? -1 : x > y;
}

int main(void)
{
    static char stack[65536];
    static unsigned long long late[SLEEPS];
    unsigned long long t0, t1;

    getcontext(&fiber_ctx);
    fiber_ctx.uc_stack.ss_sp = stack;
    fiber_ctx.uc_stack.ss_size = sizeof(stack);
    fiber_ctx.uc_link = NULL;
    makecontext(&fiber_ctx, fiber, 0);
    t0 = now();
    for (int i = 0; i < ROUNDS; i++)
        swapcontext(&main_ctx, &fiber_ctx);
    t1 = now();
    printf("switch_ns %.1f\n", (double)(t1 - t0) / (2.0 * ROUNDS));
    t0 = now();
    for (int i = 0; i < 100000; i++)
        t1 += now();
    printf("clock_ns %.1f\n", (double)(now() - t0) / 100000);
    t0 = now();
    for (int i = 0; i < 2000; i++) {
        pthread_t t;

        if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
            return 1;
    }
    t1 = now();
    printf("spawn_join_ns %.1f\n", (double)(t1 - t0) / 2000);
    for (int i = 0; i < SLEEPS; i++) {
        struct timespec ts = {0, 1000000};

        t0 = now();
        nanosleep(&ts, NULL);
        late[i] = now() - t0 - 1000000;
    }
    qsort(late, SLEEPS, sizeof(late[0]), cmp);
    printf("sleep_late_median_us %.1f\nsleep_late_p99_us %.1f\n", (double)late[SLEEPS / 2] / 1000,
           (double)late[SLEEPS * 99 / 100] / 1000);
    return 0;
}
