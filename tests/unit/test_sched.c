/* test_sched.c: fibers, sleep, conditions, devices, join/pick/cancel, timers and overflow checks.
 */
#include <signal.h>
#include <sys/wait.h>

#include "check.h"
#include "fake_platform.h"
#include "mirage/abi/guard.h"
#include "mirage/sched.h"
#include "mirage/time.h"

static char trace[256];

static void note(const char *s)
{
    strncat(trace, s, sizeof(trace) - strlen(trace) - 1);
}

static int return_arg(void *arg)
{
    note("r");
    return (int)(intptr_t)arg;
}

static void test_spawn_join(void)
{
    struct mirage_fiber *f = mirage_fiber_spawn("ret", return_arg, (void *)42, 0);
    int r = 0;

    trace[0] = '\0';
    CHECK(f != NULL);
    CHECK_STR(mirage_fiber_name(f), "ret");
    note("m"); /* spawn does not run the fiber before the caller waits */
    CHECK_INT(mirage_fiber_join(f, &r), 0);
    CHECK_INT(r, 42);
    CHECK_STR(trace, "mr");
}

struct sleeper {
    uint64_t ns;
    uint64_t woke_at;
    char tag[2];
};

static int sleep_fn(void *arg)
{
    struct sleeper *s = arg;
    int r = mirage_sleep_ns(s->ns);

    s->woke_at = mirage_clock_monotonic();
    note(s->tag);
    return r;
}

static int use_stack(void *arg)
{
    volatile char buf[12 * 1024];

    for (size_t i = 0; i < sizeof(buf); i += 512)
        buf[i] = (char)i;
    return buf[(size_t)arg] + 1;
}

/* The default stack size: returns the previous one, clamps to the minimum,
 * 0 only asks; fibers spawned with 0 run on it. */
static void test_stack_size(void)
{
    CHECK_INT(mirage_sched_set_stack_size(32 * 1024), MIRAGE_FIBER_STACK_DEFAULT);
    CHECK_INT(mirage_sched_set_stack_size(1), 32 * 1024);
    CHECK_INT(mirage_sched_set_stack_size(0), MIRAGE_FIBER_STACK_MIN);
    struct mirage_fiber *f = mirage_fiber_spawn("small", use_stack, (void *)512, 0);
    int r = 0;
    CHECK(f != NULL);
    CHECK_INT(mirage_fiber_join(f, &r), 0);
    CHECK_INT(r, 1);
    CHECK_INT(mirage_sched_set_stack_size(MIRAGE_FIBER_STACK_DEFAULT), MIRAGE_FIBER_STACK_MIN);
}

/* Wakes in deadline order, each exactly at its deadline, one yield per wake. */
static void test_sleep_order(void)
{
    struct sleeper s[3] = {{300, 0, "c"}, {100, 0, "a"}, {200, 0, "b"}};
    struct mirage_fiber *fs[3];
    int results[3];
    uint64_t t0 = mirage_clock_monotonic();
    int y0 = fake_yields;

    trace[0] = '\0';
    for (int i = 0; i < 3; i++)
        fs[i] = mirage_fiber_spawn(s[i].tag, sleep_fn, &s[i], 0);
    CHECK_INT(mirage_fiber_join_all(fs, 3, results), 0);
    CHECK_STR(trace, "abc");
    for (int i = 0; i < 3; i++) {
        CHECK_INT(results[i], 0);
        CHECK_INT(s[i].woke_at - t0, s[i].ns);
    }
    CHECK_INT(fake_yields - y0, 3);
}

/* pick: the 10 ns sleeper wins, the 50 ns one is cancelled mid-sleep. */
static void test_pick(void)
{
    struct sleeper s[2] = {{50, 0, "x"}, {10, 0, "y"}};
    struct mirage_fiber *fs[2];
    size_t winner = 9;
    int result = 9;
    uint64_t t0 = mirage_clock_monotonic();
    struct mirage_sched_stats st;

    trace[0] = '\0';
    fs[0] = mirage_fiber_spawn("x", sleep_fn, &s[0], 0);
    fs[1] = mirage_fiber_spawn("y", sleep_fn, &s[1], 0);
    CHECK_INT(mirage_fiber_pick(fs, 2, &winner, &result), 0);
    CHECK_INT(winner, 1);
    CHECK_INT(result, 0);
    CHECK_STR(trace, "yx");
    CHECK_INT(s[0].woke_at - t0, 10); /* woken by the cancel, not its deadline */
    CHECK_INT(mirage_timer_count(), 0);
    mirage_sched_stats(&st);
    CHECK_INT(st.fibers, 0);
    CHECK_INT(mirage_fiber_pick(fs, 0, NULL, NULL), MIRAGE_EINVAL);
}

static struct mirage_cond cond = MIRAGE_COND_INIT;

static int cond_waiter(void *arg)
{
    int r = mirage_cond_wait(&cond,
                             arg ? mirage_deadline_in((uint64_t)(uintptr_t)arg) : MIRAGE_FOREVER);
    note(r == 0 ? "s" : r == MIRAGE_ETIMEDOUT ? "t" : "?");
    return r;
}

static void test_cond(void)
{
    struct mirage_fiber *fs[3];
    int results[3];

    trace[0] = '\0';
    fs[0] = mirage_fiber_spawn("w0", cond_waiter, NULL, 0);
    fs[1] = mirage_fiber_spawn("w1", cond_waiter, NULL, 0);
    fs[2] = mirage_fiber_spawn("w2", cond_waiter, (void *)1000, 0);
    CHECK_INT(mirage_fiber_yield(), 0); /* all three now wait */
    CHECK_INT(mirage_cond_signal(&cond), 1);
    CHECK_INT(mirage_fiber_yield(), 0);
    CHECK_STR(trace, "s");
    CHECK_INT(mirage_cond_broadcast(&cond), 2);
    CHECK_INT(mirage_fiber_join_all(fs, 3, results), 0);
    CHECK_INT(results[0], 0);
    CHECK_INT(results[1], 0);
    CHECK_INT(results[2], 0);
    /* A wait with a deadline and no signal times out, exactly then. */
    trace[0] = '\0';
    uint64_t t0 = mirage_clock_monotonic();
    fs[0] = mirage_fiber_spawn("w3", cond_waiter, (void *)700, 0);
    CHECK_INT(mirage_fiber_join(fs[0], &results[0]), 0);
    CHECK_INT(results[0], MIRAGE_ETIMEDOUT);
    CHECK_INT(mirage_clock_monotonic() - t0, 700);
    CHECK(cond.head == NULL);
}

static int forever_fn(void *arg)
{
    (void)arg;
    int r1 = mirage_sleep_until(MIRAGE_FOREVER);
    int r2 = mirage_sleep_ns(1); /* cancellation is sticky */

    return r1 == MIRAGE_ECANCELED && r2 == MIRAGE_ECANCELED ? 7 : -1;
}

static int canceller(void *arg)
{
    mirage_sleep_ns(100);
    mirage_fiber_cancel(arg);
    return 0;
}

static void test_cancel(void)
{
    struct mirage_fiber *f = mirage_fiber_spawn("forever", forever_fn, NULL, 0);
    struct mirage_fiber *c = mirage_fiber_spawn("canceller", canceller, f, 0);
    int r = 0;

    CHECK_INT(mirage_fiber_join(f, &r), 0);
    CHECK_INT(r, 7);
    CHECK_INT(mirage_fiber_join(c, NULL), 0);
    CHECK_INT(mirage_timer_count(), 0);
}

/* A joiner that is cancelled cancels what it joins, waits for it, and says so. */
static int joiner(void *arg)
{
    struct mirage_fiber *inner = mirage_fiber_spawn("inner", forever_fn, NULL, 0);
    int r = 0, j = mirage_fiber_join(inner, &r);

    *(int *)arg = r;
    return j;
}

static void test_cancel_joiner(void)
{
    int inner_result = 0, r = 0;
    struct mirage_fiber *j = mirage_fiber_spawn("joiner", joiner, &inner_result, 0);
    struct mirage_fiber *c = mirage_fiber_spawn("canceller", canceller, j, 0);
    struct mirage_fiber *both[2] = {j, c};
    int results[2];

    CHECK_INT(mirage_fiber_join_all(both, 2, results), 0);
    r = results[0];
    CHECK_INT(r, MIRAGE_ECANCELED);
    CHECK_INT(inner_result, 7);
}

static int twice_fn(void *arg)
{
    (void)arg;
    return mirage_sleep_ns(5);
}

static void test_join_errors(void)
{
    struct mirage_fiber *f = mirage_fiber_spawn("t", twice_fn, NULL, 0);
    struct mirage_fiber *pair[2] = {f, f};

    CHECK_INT(mirage_fiber_join(mirage_fiber_self(), NULL), MIRAGE_EINVAL);
    CHECK_INT(mirage_fiber_join_all(pair, 2, NULL), MIRAGE_EINVAL);
    CHECK_INT(mirage_fiber_join(f, NULL), 0);
}

static int dev_fn(void *arg)
{
    uintptr_t h = (uintptr_t)arg;
    int r = mirage_wait_device(h, mirage_deadline_in(1000));

    note(r == 0 ? "R" : r == MIRAGE_ETIMEDOUT ? "T" : "?");
    return r;
}

/* Input on handle 3 wakes only its waiter; the handle-4 waiter times out. */
static void test_device(void)
{
    struct mirage_fiber *fs[2];
    int results[2];
    uint64_t t0 = mirage_clock_monotonic();

    trace[0] = '\0';
    fake_ready_at = t0 + 400;
    fake_ready = 1ULL << 3;
    fs[0] = mirage_fiber_spawn("dev3", dev_fn, (void *)3, 0);
    fs[1] = mirage_fiber_spawn("dev4", dev_fn, (void *)4, 0);
    CHECK_INT(mirage_fiber_join_all(fs, 2, results), 0);
    CHECK_INT(results[0], 0);
    CHECK_INT(results[1], MIRAGE_ETIMEDOUT);
    CHECK_STR(trace, "RT");
    CHECK_INT(mirage_clock_monotonic() - t0, 1000);
    CHECK_INT(mirage_wait_device(64, 0), MIRAGE_EINVAL);
}

/* Nothing can ever signal: main gets EDEADLK instead of hanging. */
static void test_deadlock(void)
{
    struct mirage_cond never = MIRAGE_COND_INIT;

    fake_console_clear();
    CHECK_INT(mirage_cond_wait(&never, MIRAGE_FOREVER), MIRAGE_EDEADLK);
    CHECK(strstr(fake_console_text(), "deadlock: fiber 'main'") != NULL);
    CHECK(never.head == NULL);
}

/* ---- callback timers ---- */

#define MANY 100000
static struct mirage_timer timers[MANY];
static uint64_t last_fired;
static int fired, out_of_order;

static void on_fire(struct mirage_timer *t)
{
    if (t->deadline < last_fired)
        out_of_order++;
    last_fired = t->deadline;
    fired++;
}

static void test_many_timers(void)
{
    uint64_t base = mirage_clock_monotonic(), x = 88172645463325252ULL;

    for (int i = 0; i < MANY; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mirage_timer_start(&timers[i], base + 1 + x % 1000000, on_fire);
    }
    CHECK_INT(mirage_timer_count(), MANY);
    for (int i = 0; i < MANY; i += 2)
        mirage_timer_stop(&timers[i]);
    mirage_timer_stop(&timers[0]); /* stopping twice is harmless */
    CHECK_INT(mirage_timer_count(), MANY / 2);
    /* Re-arming moves a pending timer rather than adding it twice. */
    mirage_timer_start(&timers[1], base + 2000000, on_fire);
    CHECK_INT(mirage_timer_count(), MANY / 2);
    last_fired = 0;
    CHECK_INT(mirage_sched_drain(), 0);
    CHECK_INT(fired, MANY / 2);
    CHECK_INT(out_of_order, 0);
    CHECK_INT(last_fired, base + 2000000);
    CHECK_INT(mirage_timer_count(), 0);
    /* Timers already due when drained: they run, and drain returns. */
    fired = 0;
    for (int i = 0; i < 1000; i++)
        mirage_timer_start(&timers[i], mirage_clock_monotonic() - 500 + (uint64_t)i % 7, on_fire);
    CHECK_INT(mirage_sched_drain(), 0);
    CHECK_INT(fired, 1000);
}

/* A full heap must not lose a timer (the array heap once aborted "out of
 * memory for a timer" when it could not grow): arming allocates nothing, so
 * it cannot fail. Checked with the sanitizer's count of bytes in use. */
size_t __sanitizer_get_current_allocated_bytes(void);

/* More than any earlier test armed at once, so a heap that grows would grow. */
#define FULL 300000
static struct mirage_timer full[FULL];

static void test_timers_need_no_memory(void)
{
    uint64_t base = mirage_clock_monotonic(), x = 2463534242ULL;
    size_t before = __sanitizer_get_current_allocated_bytes();

    for (int i = 0; i < FULL; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mirage_timer_start(&full[i], base + 1 + x % 500000, on_fire);
    }
    /* Moves and stops all over the heap, not only at its top. */
    for (int i = 0; i < FULL; i += 3)
        mirage_timer_start(&full[i], base + 1 + (uint64_t)i * 7 % 500000, on_fire);
    for (int i = 1; i < FULL; i += 5)
        mirage_timer_stop(&full[i]);
    CHECK_INT(__sanitizer_get_current_allocated_bytes(), before);
    CHECK_INT(mirage_timer_count(), FULL - FULL / 5);
    fired = 0;
    out_of_order = 0;
    last_fired = 0;
    CHECK_INT(mirage_sched_drain(), 0);
    CHECK_INT(fired, FULL - FULL / 5);
    CHECK_INT(out_of_order, 0);
    CHECK_INT(mirage_timer_count(), 0);
    for (int i = 0; i < FULL; i++)
        CHECK(!mirage_timer_pending(&full[i]));
}

/* ---- the application's fibers when start returns ---- */

static struct mirage_cond app_cond = MIRAGE_COND_INIT;
static int app_ran_after;

/* Waits on a condition start owns, as an echo connection's fiber did. */
static int app_waiter(void *arg)
{
    struct mirage_cond *in_frame = arg;

    mirage_cond_wait(in_frame, MIRAGE_FOREVER);
    app_ran_after = 1;
    return 0;
}

static int app_sleeper(void *arg)
{
    (void)arg;
    mirage_cond_wait(&app_cond, mirage_clock_monotonic() + MIRAGE_MS(5));
    app_ran_after = 1;
    return 0;
}

static int service(void *arg)
{
    (void)arg;
    mirage_sleep_ns(MIRAGE_MS(1));
    return 0;
}

/* A start() that returns with detached fibers still running. */
static void fake_start(void)
{
    struct mirage_cond in_frame = MIRAGE_COND_INIT;

    mirage_fiber_detach(mirage_fiber_spawn("echo", app_waiter, &in_frame, 0));
    mirage_fiber_detach(mirage_fiber_spawn("sleeper", app_sleeper, NULL, 0));
    mirage_fiber_detach(mirage_fiber_spawn("runnable", app_sleeper, NULL, 0));
    mirage_fiber_yield(); /* the first two wait, the third is runnable again */
    mirage_cond_signal(&app_cond);
}

static void test_app_fibers_stopped(void)
{
    struct mirage_fiber *svc;

    fake_console_len = 0;
    mirage_sched_app_begin();
    fake_start();
    svc = mirage_fiber_spawn("svc", service, NULL, 0);
    mirage_fiber_service(svc); /* a device's own: it goes on */
    CHECK_INT(mirage_sched_app_end(), 3);
    CHECK(strstr(fake_console_text(), "fiber 'echo' still ran when start returned") != NULL);
    CHECK(strstr(fake_console_text(), "fiber 'sleeper'") != NULL);
    /* Nothing of theirs runs again: not the timer, not a signal. */
    CHECK_INT(mirage_cond_broadcast(&app_cond), 0);
    CHECK_INT(mirage_fiber_join(svc, NULL), 0);
    CHECK_INT(mirage_sched_drain(), 0);
    CHECK_INT(app_ran_after, 0);
    /* Fibers spawned after start returned are the runtime's again. */
    mirage_sched_app_begin();
    CHECK_INT(mirage_sched_app_end(), 0);
}

/* ---- many fibers and the stack check ---- */

static int counter;

static int bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        counter++;
        mirage_fiber_yield();
    }
    return 0;
}

static void test_many_fibers(void)
{
    enum { N = 500 };
    struct mirage_fiber *fs[N];

    counter = 0;
    for (int i = 0; i < N; i++) {
        fs[i] = mirage_fiber_spawn("bump", bump, NULL, MIRAGE_FIBER_STACK_MIN);
        CHECK(fs[i] != NULL);
    }
    CHECK_INT(mirage_fiber_join_all(fs, N, NULL), 0);
    CHECK_INT(counter, 3 * N);
    /* Detached fibers free themselves. */
    for (int i = 0; i < 10; i++)
        mirage_fiber_detach(mirage_fiber_spawn("det", bump, NULL, 0));
    CHECK_INT(mirage_sched_drain(), 0);
    struct mirage_sched_stats st;
    mirage_sched_stats(&st);
    CHECK_INT(st.fibers, 0);
}

/* Without instrumentation: the point is to run past the stack's end as a
 * real overflow would, which the sanitizer would (rightly) stop first. */
__attribute__((no_sanitize_address, noinline)) static int deep(int n)
{
    volatile char frame[1024];

    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (char)n;
    return n == 0 ? frame[0] : deep(n - 1) + frame[1];
}

static int overflow_fn(void *arg)
{
    (void)arg;
    return deep(18); /* ~19 KiB of frames on a 16 KiB stack */
}

/* The child's report of a guard-page hit, as the unix binding's handler does it. */
static void on_guard_hit(int sig, siginfo_t *si, void *ctx)
{
    const char *owner = mirage_sched_guard_owner((uintptr_t)si->si_addr);

    (void)sig;
    (void)ctx;
    if (owner) {
        (void)!write(2, "guard of ", 9);
        (void)!write(2, owner, strlen(owner));
        (void)!write(2, "\n", 1);
    }
    _exit(254);
}

/* Runs "greedy" past its 16 KiB stack in a child; returns its exit status
 * (or 1000 + signal) with what it wrote to stderr in buf. */
static int overflow_child(int guards, char *buf, size_t size)
{
    static char altstack[65536];
    pid_t pid;
    int status = 0, fds[2];
    ssize_t n;

    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
        struct sigaction sa = {.sa_sigaction = on_guard_hit, .sa_flags = SA_SIGINFO | SA_ONSTACK};

        close(fds[0]);
        dup2(fds[1], 2);
        sigaltstack(&ss, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        fake_guard_refuse = !guards;
        struct mirage_fiber *f =
            mirage_fiber_spawn("greedy", overflow_fn, NULL, MIRAGE_FIBER_STACK_MIN);
        mirage_fiber_join(f, NULL);
        _exit(0);
    }
    close(fds[1]);
    /* To the end: the child writes its report in pieces. */
    size_t got = 0;
    while (got < size - 1 && (n = read(fds[0], buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

/* With a guard page the first write past the stack faults, and the fault
 * address names the fiber; without one the canaries catch it at the switch. */
static void test_overflow_caught(void)
{
    char buf[512] = "";

    CHECK_INT(overflow_child(1, buf, sizeof(buf)), 254);
    CHECK(strstr(buf, "guard of greedy") != NULL);
    CHECK_INT(overflow_child(0, buf, sizeof(buf)), 255);
    CHECK(strstr(buf, "fiber 'greedy' overflowed its stack") != NULL);
}

static int check_guard(void *arg)
{
    char *page = fake_last_guard;
    int fds[2];

    (void)arg;
    CHECK(page != NULL);
    CHECK(mirage_sched_guard_owner((uintptr_t)page) != NULL &&
          strcmp(mirage_sched_guard_owner((uintptr_t)page), "guarded") == 0);
    CHECK(mirage_sched_guard_owner((uintptr_t)page + 4095) != NULL);
    CHECK(mirage_sched_guard_owner((uintptr_t)page + 4096) == NULL);
    CHECK(mirage_sched_guard_owner((uintptr_t)page - 1) == NULL);
    /* Really inaccessible: the kernel refuses to read it (no fault here). */
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], page, 1) == -1);
    close(fds[0]);
    close(fds[1]);
    /* The stack itself starts right above it. */
    CHECK((uintptr_t)&page > (uintptr_t)page + 4096);
    CHECK((uintptr_t)&page < (uintptr_t)page + 4096 + MIRAGE_FIBER_STACK_MIN);
    return 0;
}

static int name_self(void *arg)
{
    *(char **)arg = (char *)__builtin_frame_address(0);
    return 0;
}

static void test_guard_pages(void)
{
    struct mirage_fiber *f;
    char *page, *sp1 = NULL, *sp2 = NULL;
    struct mirage_guard_label label;

    mirage_sched_release_stacks();
    CHECK_INT(fake_guards, 0);
    f = mirage_fiber_spawn("guarded", check_guard, NULL, MIRAGE_FIBER_STACK_MIN);
    CHECK(f != NULL);
    CHECK_INT(fake_guards, 1);
    page = fake_last_guard;
    CHECK_INT(mirage_fiber_join(f, NULL), 0);
    /* Kept guarded for the next fiber of that size, but no one's any more. */
    CHECK_INT(fake_guards, 1);
    CHECK(mirage_sched_guard_owner((uintptr_t)page) == NULL);

    /* The next spawn of that size gets it back without guarding anew; the
     * label in the guard page (abi/guard.h) names whoever runs on it. */
    fake_last_guard = NULL;
    f = mirage_fiber_spawn("second", name_self, &sp1, MIRAGE_FIBER_STACK_MIN);
    CHECK(f != NULL && fake_last_guard == NULL);
    CHECK(strcmp(mirage_sched_guard_owner((uintptr_t)page), "second") == 0);
    CHECK(mprotect(page, 4096, PROT_READ) == 0);
    memcpy(&label, page, sizeof(label));
    CHECK(mprotect(page, 4096, PROT_NONE) == 0);
    CHECK(label.magic == MIRAGE_GUARD_MAGIC);
    CHECK(strcmp((const char *)(uintptr_t)label.name, "second") == 0);
    CHECK((uintptr_t)label.name >= (uintptr_t)page + 4096 + MIRAGE_FIBER_STACK_MIN);
    CHECK_INT(mirage_fiber_join(f, NULL), 0);
    CHECK(sp1 > page + 4096 && sp1 < page + 4096 + MIRAGE_FIBER_STACK_MIN);

    /* Another size does not take it. */
    f = mirage_fiber_spawn("bigger", name_self, &sp2, 2 * MIRAGE_FIBER_STACK_MIN);
    CHECK(f != NULL && fake_last_guard != NULL && fake_last_guard != page);
    CHECK_INT(fake_guards, 2);
    CHECK_INT(mirage_fiber_join(f, NULL), 0);
    CHECK(sp2 < page || sp2 > page + 4096 + MIRAGE_FIBER_STACK_MIN);

    /* Up to 4 MiB of stacks are kept; the rest are unguarded and freed at
     * once: 16 + 32 KiB are in already, so 15 of 256 KiB fit. */
    struct mirage_fiber *fs[40];
    for (int i = 0; i < 40; i++)
        fs[i] = mirage_fiber_spawn("many", name_self, &sp1, 256 * 1024);
    CHECK_INT(fake_guards, 42);
    CHECK_INT(mirage_fiber_join_all(fs, 40, NULL), 0);
    CHECK_INT(fake_guards, 17);
    mirage_sched_release_stacks();
    CHECK_INT(fake_guards, 0);
}

/* Sleeps (arg) ns, then notes "g". */
static int group_member(void *arg)
{
    mirage_sleep_ns((uint64_t)(uintptr_t)arg);
    note("g");
    return 0;
}

/* A group's wait ends when the last of its fibers returns, not before; a
 * deadline ends it earlier; an empty group does not wait; the fibers are
 * detached (freed by the runtime, no join). */
static void test_fiber_group(void)
{
    struct mirage_fiber_group g = {0};
    uint64_t t0 = mirage_clock_monotonic();

    trace[0] = '\0';
    CHECK_INT(mirage_fiber_group_wait(&g, MIRAGE_FOREVER), 0);
    CHECK_INT(mirage_fiber_group_spawn(&g, "g1", group_member, (void *)300, 0), 0);
    CHECK_INT(mirage_fiber_group_spawn(&g, "g2", group_member, (void *)100, 0), 0);
    CHECK_INT(mirage_fiber_group_spawn(&g, "g3", group_member, (void *)200, 0), 0);
    CHECK_INT(g.running, 3);
    CHECK_INT(g.spawned, 3);
    CHECK_INT(mirage_fiber_group_wait(&g, t0 + 150), MIRAGE_ETIMEDOUT);
    CHECK_STR(trace, "g");
    CHECK_INT(g.running, 2);
    CHECK_INT(mirage_fiber_group_wait(&g, MIRAGE_FOREVER), 0);
    CHECK_STR(trace, "ggg");
    CHECK_INT(g.running, 0);
    CHECK_INT(mirage_clock_monotonic() - t0, 300);
    CHECK(g.done.head == NULL);
}

/* Stopping a group wakes each running member's wait with MIRAGE_ECANCELED
 * (a member would wait 1000 s otherwise) and returns when all have returned,
 * even in a cancelled caller; members already returned are not touched; the
 * group is ready for new members after. */
static int group_sleeper(void *arg)
{
    int r = mirage_sleep_ns((uint64_t)(uintptr_t)arg);

    note(r == MIRAGE_ECANCELED ? "c" : "s");
    return 0;
}

static int group_stopper(void *arg)
{
    struct mirage_fiber_group *g = arg;

    mirage_fiber_cancel(mirage_fiber_self());
    mirage_fiber_group_stop(g);
    note(g->running == 0 ? "0" : "!");
    return 0;
}

static void test_fiber_group_stop(void)
{
    struct mirage_fiber_group g = {0};
    uint64_t t0 = mirage_clock_monotonic();
    struct mirage_fiber *stopper;

    trace[0] = '\0';
    mirage_fiber_group_stop(&g); /* an empty group: returns at once */
    CHECK_INT(mirage_fiber_group_spawn(&g, "q", group_sleeper, (void *)10, 0), 0);
    CHECK_INT(mirage_fiber_group_spawn(&g, "l1", group_sleeper, (void *)1000000000000, 0), 0);
    CHECK_INT(mirage_fiber_group_spawn(&g, "l2", group_sleeper, (void *)1000000000000, 0), 0);
    CHECK_INT(mirage_sleep_ns(50), 0);
    CHECK_STR(trace, "s");
    CHECK_INT(g.running, 2);
    mirage_fiber_group_stop(&g);
    CHECK_STR(trace, "scc");
    CHECK_INT(g.running, 0);
    CHECK(g.members == NULL);
    CHECK(mirage_clock_monotonic() - t0 < 1000000);

    /* A cancelled fiber stopping a group still waits for it. */
    CHECK_INT(mirage_fiber_group_spawn(&g, "l3", group_sleeper, (void *)1000000000000, 0), 0);
    CHECK((stopper = mirage_fiber_spawn("stopper", group_stopper, &g, 0)) != NULL);
    CHECK_INT(mirage_fiber_join(stopper, NULL), 0);
    CHECK_STR(trace, "sccc0");
    CHECK(g.members == NULL);
}

int main(void)
{
    test_spawn_join();
    test_stack_size();
    test_sleep_order();
    test_pick();
    test_cond();
    test_fiber_group();
    test_fiber_group_stop();
    test_cancel();
    test_cancel_joiner();
    test_join_errors();
    test_device();
    test_deadlock();
    test_many_timers();
    test_timers_need_no_memory();
    test_many_fibers();
    test_guard_pages();
    test_overflow_caught();
    test_app_fibers_stopped(); /* last: stopped fibers' records stay */
    return CHECK_DONE();
}
