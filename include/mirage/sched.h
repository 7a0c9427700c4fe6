/* sched.h: cooperative fibers, waits with deadlines, join/pick/cancel and callback timers. */
#ifndef MIRAGE_SCHED_H
#define MIRAGE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/platform.h"

/*
 * One event loop, one CPU, no preemption: a fiber runs until it waits
 * (sleep, a device, a condition, a join) or calls mirage_fiber_yield().
 * The code that calls mirage_main() is itself a fiber, "main", so the
 * application is straight-line C from the start. When no fiber can run the
 * loop calls mirage_yield() with the earliest timer deadline and wakes
 * exactly the fibers whose device became ready or whose deadline passed.
 *
 * Every wait takes an absolute monotonic deadline (ns, mirage_clock_monotonic
 * scale); MIRAGE_FOREVER means none. Waits return 0 when woken as asked,
 * MIRAGE_ETIMEDOUT at the deadline, MIRAGE_ECANCELED once the fiber has been
 * cancelled (cancellation is sticky: every later wait of that fiber fails at
 * once, so it unwinds and returns), or MIRAGE_EDEADLK when nothing at all
 * could ever wake it (no timer pending, no device waited on, nothing runnable).
 */
#define MIRAGE_FOREVER UINT64_MAX

struct mirage_fiber; /* opaque; owned by the runtime */

/* A fiber's body; its return value is what join and pick report. */
typedef int (*mirage_fiber_fn)(void *arg);

/* The stack size of fibers spawned with stack 0: bytes, at least 16 KiB.
 * The default is MIRAGE_FIBER_STACK_DEFAULT. Returns the previous value. */
#define MIRAGE_FIBER_STACK_DEFAULT (64u * 1024u)
#define MIRAGE_FIBER_STACK_MIN (16u * 1024u)
size_t mirage_sched_set_stack_size(size_t bytes);

/* Creates a runnable fiber running fn(arg) on its own stack of (stack) bytes
 * (0: the default). (name) is copied (up to 23 bytes) and names the fiber in
 * messages, e.g. when it overflows its stack. Returns NULL when out of memory.
 * The caller must join, pick or detach the fiber exactly once. Does not
 * suspend the caller: the new fiber first runs when the caller waits. */
struct mirage_fiber *mirage_fiber_spawn(const char *name, mirage_fiber_fn fn, void *arg,
                                        size_t stack);

/* The name of the fiber whose stack guard page holds (addr), or NULL: for a
 * binding's fault handler (async-signal-safe: it only reads). */
const char *mirage_sched_guard_owner(uintptr_t addr);

/* The runtime keeps up to 4 MiB of finished fibers' guarded stacks for the
 * next spawns of the same size (guarding a page costs a system call, or VM
 * exits on hvt); this gives them back to the heap. */
void mirage_sched_release_stacks(void);

/* Lets the fiber run to its end with no one joining it; the runtime frees it. */
void mirage_fiber_detach(struct mirage_fiber *f);

/*
 * The application's fibers. The generated main.c brackets start() with
 * mirage_sched_app_begin() and mirage_sched_app_end(); a fiber spawned in
 * between by start or by one of its fibers is the application's, unless it
 * is marked a service (a device's or a stack's own fiber, spawned on the
 * application's behalf). A detached fiber that start leaves running when it
 * returns may point into start's returned frame (a server whose connection
 * fibers signal a condition on start's stack), and the stack's disconnect,
 * which runs the loop to let connections finish, would run it there. So
 * mirage_sched_app_end() stops each such fiber for good, naming it in a
 * message: it never runs again, it is not freed (something may still point
 * at it), and its waits end without waking it. Returns how many it stopped.
 */
void mirage_sched_app_begin(void);
size_t mirage_sched_app_end(void);
void mirage_fiber_service(struct mirage_fiber *f);

/* Suspends the caller until (f) returns, stores its value in *result (if not
 * NULL) and frees it. Returns 0, MIRAGE_EINVAL if (f) already has a joiner,
 * or MIRAGE_ECANCELED if the caller is cancelled: (f) is then cancelled
 * too, waited for and freed, as join cancels what it waits for. */
int mirage_fiber_join(struct mirage_fiber *f, int *result);

/* Joins all of fs[0..n): waits for every one, results[i] (if not NULL) gets
 * fs[i]'s value. Returns as mirage_fiber_join. Every fiber is freed. */
int mirage_fiber_join_all(struct mirage_fiber **fs, size_t n, int *results);

/* Waits for the first of fs[0..n) to return, cancels the others and waits
 * for them to unwind, then frees all. *winner (if not NULL) is its index,
 * *result (if not NULL) its value. Returns 0, MIRAGE_EINVAL for n == 0, or
 * MIRAGE_ECANCELED if the caller was cancelled (all are cancelled then). */
int mirage_fiber_pick(struct mirage_fiber **fs, size_t n, size_t *winner, int *result);

/* Asks (f) to stop: its current wait (if any) and every later one returns
 * MIRAGE_ECANCELED. Does not suspend the caller. A fiber cancelling itself
 * is allowed and takes effect at its next wait. */
void mirage_fiber_cancel(struct mirage_fiber *f);

/* The running fiber's name, kept where a tender writing a core file finds it
 * by its symbol (the note naming the fiber that faulted). Read-only. */
extern const char *mirage_fiber_running;

/* The running fiber, its name, and whether it has been cancelled. */
struct mirage_fiber *mirage_fiber_self(void);
const char *mirage_fiber_name(const struct mirage_fiber *f);
int mirage_fiber_cancelled(void);

/* Lets every other runnable fiber run once, then continues. Returns 0 or
 * MIRAGE_ECANCELED if the caller has been cancelled. */
int mirage_fiber_yield(void);

/* Suspends the caller until handle (h) has input (mirage_yield reported it
 * ready) or (deadline). Input already pending is reported by the next yield,
 * so the usual pattern is: read until MIRAGE_EAGAIN, then wait. */
int mirage_wait_device(mirage_handle_t h, uint64_t deadline);
/* As mirage_wait_device, but a cancelled caller waits all the same (it
 * returns 0 or MIRAGE_ETIMEDOUT): for a request the host is carrying out in
 * the caller's memory, which must not be given up half-way. */
int mirage_wait_device_shielded(mirage_handle_t h, uint64_t deadline);

/* A condition: fibers wait on it until another fiber or a timer signals it.
 * Owned by the caller; zero-initialised (MIRAGE_COND_INIT) is ready to use. */
struct mirage_cond {
    struct mirage_fiber *head, *tail;
};
#define MIRAGE_COND_INIT {NULL, NULL}

/* Suspends the caller until (c) is signalled or (deadline). */
int mirage_cond_wait(struct mirage_cond *c, uint64_t deadline);

/* Wakes the longest-waiting fiber on (c) / every fiber on (c). Never suspends;
 * safe from timer callbacks. Returns how many fibers were woken. */
int mirage_cond_signal(struct mirage_cond *c);
int mirage_cond_broadcast(struct mirage_cond *c);

/* Detached fibers waited for together: a server's connections, which end
 * before its start() returns. Zero-initialised is an empty group. */
struct mirage_fiber_group {
    unsigned running;        /* spawned and not yet returned */
    unsigned long spawned;   /* ever */
    struct mirage_cond done; /* broadcast as each one returns */
    struct mirage_fiber *members; /* the running ones, for mirage_fiber_group_stop */
};

/* Spawns fn(arg) as mirage_fiber_spawn does, detached, counted in (g) until
 * it returns. Returns 0, or MIRAGE_ENOMEM with nothing spawned. */
int mirage_fiber_group_spawn(struct mirage_fiber_group *g, const char *name, mirage_fiber_fn fn,
                             void *arg, size_t stack);

/* Waits until no fiber of (g) is running or (deadline). Returns 0,
 * MIRAGE_ETIMEDOUT or MIRAGE_ECANCELED. */
int mirage_fiber_group_wait(struct mirage_fiber_group *g, uint64_t deadline);

/* Cancels every running fiber of (g) (mirage_fiber_cancel) and waits until
 * all have returned, even when the caller itself is cancelled: how a server
 * stops its connections before it frees what they use. */
void mirage_fiber_group_stop(struct mirage_fiber_group *g);

/*
 * Callback timers for event-driven code (retransmission, ARP ageing): (fn)
 * runs from the event loop once the monotonic clock reaches (deadline). It
 * must not wait (a wait from a callback is a fatal error) but may start or
 * stop timers and signal conditions. Timers live in a pairing heap linked
 * through the structs themselves: start is O(1), stop O(log n) amortised, and
 * neither allocates, so arming a timer never fails, even with the heap full.
 * The struct is caller-owned, zero-initialised before first use, and must
 * stay valid while pending.
 */
struct mirage_timer {
    uint64_t deadline;
    void (*fn)(struct mirage_timer *t);
    struct mirage_timer *child, *sibling, *prev; /* the heap's links (timer.c) */
    int pending;
};

/* (Re)arms (t) to call fn(t) at (deadline); a pending (t) is moved. Never fails. */
void mirage_timer_start(struct mirage_timer *t, uint64_t deadline,
                        void (*fn)(struct mirage_timer *t));
/* Disarms (t); nothing happens if it is not pending. */
void mirage_timer_stop(struct mirage_timer *t);
static inline int mirage_timer_pending(const struct mirage_timer *t)
{
    return t->pending != 0;
}
/* How many timers are pending (callback timers and fiber deadlines). */
size_t mirage_timer_count(void);

/* Runs the event loop until no fiber other than the caller is runnable or
 * waiting on a timer or device: a way for main to let detached fibers
 * finish before it returns. Returns 0 or MIRAGE_ECANCELED. */
int mirage_sched_drain(void);

/* Counters for tests and benchmarks. */
struct mirage_sched_stats {
    uint64_t switches; /* context switches */
    uint64_t yields;   /* calls to mirage_yield() */
    uint64_t fibers;   /* fibers alive (spawned, not yet freed), main excluded */
};
void mirage_sched_stats(struct mirage_sched_stats *st);

#endif
