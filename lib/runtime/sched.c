/* sched.c: fibers, the run queue, waits with deadlines, join/pick/cancel and the event loop. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/abi/guard.h"
#include "mirage/cpu.h"
#include "mirage/platform.h"
#include "mirage/heap.h"
#include "mirage/sched.h"
#include "mirage/time.h"
#include "runtime.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCHED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCHED_ASAN 1
#endif
#endif

#ifdef SCHED_ASAN
/* AddressSanitizer must be told when the stack changes under it, or it
 * reports fiber stacks as wild accesses. */
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
#endif

void mirage_ctx_switch(void **save_sp, void *load_sp);
void mirage_ctx_start(void);

enum state { RUNNABLE, WAITING, DONE, STOPPED };

struct mirage_fiber {
    void *sp;    /* saved stack pointer while not running */
    char *stack; /* NULL for main and once a finished fiber's stack is freed */
    size_t stack_size;
    char *base;  /* the allocation: a page below (stack), then the stack */
    char *guard; /* (base) while the platform keeps it inaccessible, else NULL */
    struct mirage_fiber *guarded_prev, *guarded_next; /* fibers with a guard */
    mirage_fiber_fn fn;
    void *arg;
    enum state state;
    int result;
    int wake; /* what the current wait returns */
    unsigned cancelled : 1, shielded : 1, detached : 1, app : 1;
    struct mirage_fiber *rq_next;
    struct mirage_fiber *all_prev, *all_next; /* every fiber alive but main */
    struct mirage_cond *wq; /* the condition waited on, or NULL */
    struct mirage_fiber *wq_prev, *wq_next;
    struct mirage_timer timer;
    struct mirage_cond *watcher; /* broadcast when the fiber returns */
    struct mirage_fiber_group *group; /* counts the fiber until it returns */
    struct mirage_fiber *group_prev, *group_next; /* the group's running members */
    char name[MIRAGE_GUARD_NAME_MAX];
#ifdef SCHED_ASAN
    void *fake_stack;
    const void *asan_bottom;
    size_t asan_size;
#endif
};

/* The bottom of every fiber stack holds these words; a fiber that ran past
 * its stack has overwritten them by the time it is switched away from. */
#define CANARY_WORDS 8
#define CANARY_SEED 0x6d69726167652121ULL

/* A guard page below each stack where the platform can make one (on top of
 * the canaries, which catch what a guard cannot: a frame that jumps over it). */
#define GUARD_PAGE 4096

/* Above each guarded stack, the name of the fiber on it: the guard page's
 * label (abi/guard.h) points here, so a tender's fault message can name it. */
#define NAME_SLOT MIRAGE_GUARD_NAME_MAX

/* Finished fibers' guarded stacks, up to this many bytes of stack, kept for
 * the next spawns of the same size: guarding and unguarding cost a system
 * call each (~2 us), or on hvt a VM exit each and refaults of the pages
 * around (~200 us under PVM). Given back when a spawn runs short of memory. */
#define STACK_CACHE_BYTES (4u << 20)

/* Handles are 0..62 (platform.h): one wait queue per bit of a handle set. */
#define HANDLES 64

static struct mirage_fiber main_fiber = {.name = "main"};
static struct mirage_fiber *cur = &main_fiber;
/* The running fiber's name, for a tender writing a core file (mirage/sched.h). */
const char *mirage_fiber_running = main_fiber.name;
static struct mirage_fiber *prev; /* the fiber that last switched away */
static struct mirage_fiber *rq_head, *rq_tail;
static struct mirage_cond devq[HANDLES];
static size_t default_stack = MIRAGE_FIBER_STACK_DEFAULT;
static int in_callback;
static unsigned ticks;
static struct mirage_sched_stats stats;
static struct mirage_fiber *guarded; /* for mirage_sched_guard_owner() */
static int guards_unavailable;       /* the platform refused once: canaries only */
/* A cached stack's first words, at the bottom of its usable part. */
struct cached_stack {
    struct cached_stack *next;
    size_t size;
};
static struct cached_stack *stack_cache;
static size_t cached_bytes;
static int app_running; /* between mirage_sched_app_begin and _end */
/* Every fiber alive, for mirage_sched_app_end. */
static struct mirage_fiber *all_fibers;

void (*runtime_event_hook)(uint8_t source, const void *data, size_t len);

static void rq_push(struct mirage_fiber *f)
{
    f->rq_next = NULL;
    if (rq_tail)
        rq_tail->rq_next = f;
    else
        rq_head = f;
    rq_tail = f;
}

static struct mirage_fiber *rq_pop(void)
{
    struct mirage_fiber *f = rq_head;

    if (f) {
        rq_head = f->rq_next;
        if (rq_head == NULL)
            rq_tail = NULL;
    }
    return f;
}

static void wq_append(struct mirage_cond *c, struct mirage_fiber *f)
{
    f->wq = c;
    f->wq_next = NULL;
    f->wq_prev = c->tail;
    if (c->tail)
        c->tail->wq_next = f;
    else
        c->head = f;
    c->tail = f;
}

static void wq_unlink(struct mirage_fiber *f)
{
    struct mirage_cond *c = f->wq;

    if (f->wq_prev)
        f->wq_prev->wq_next = f->wq_next;
    else
        c->head = f->wq_next;
    if (f->wq_next)
        f->wq_next->wq_prev = f->wq_prev;
    else
        c->tail = f->wq_prev;
    f->wq = NULL;
    f->wq_prev = f->wq_next = NULL;
}

static uint64_t canary(const struct mirage_fiber *f, int i)
{
    return CANARY_SEED ^ (uintptr_t)f ^ ((uint64_t)i << 59);
}

static void check_canary(const struct mirage_fiber *f)
{
    const uint64_t *w = (const uint64_t *)f->stack;

    if (w == NULL)
        return;
    for (int i = 0; i < CANARY_WORDS; i++) {
        if (w[i] != canary(f, i)) {
            runtime_say("fiber '", f->name, "' overflowed its stack");
            mirage_abort();
        }
    }
}

static void link_guarded(struct mirage_fiber *f)
{
    f->guarded_prev = NULL;
    f->guarded_next = guarded;
    if (guarded)
        guarded->guarded_prev = f;
    guarded = f;
}

static void unlink_guarded(struct mirage_fiber *f)
{
    if (f->guarded_prev)
        f->guarded_prev->guarded_next = f->guarded_next;
    else
        guarded = f->guarded_next;
    if (f->guarded_next)
        f->guarded_next->guarded_prev = f->guarded_prev;
}

/* A guarded stack of (size) bytes: from the cache, else newly allocated with
 * its guard page labelled and made inaccessible. NULL if the platform has no
 * guard pages (guards_unavailable is set then) or memory is short. */
static char *guarded_stack(size_t size)
{
    size_t total = (GUARD_PAGE + size + NAME_SLOT + GUARD_PAGE - 1) & ~(size_t)(GUARD_PAGE - 1);
    struct mirage_guard_label label = {MIRAGE_GUARD_MAGIC, 0};
    char *base;

    for (struct cached_stack **p = &stack_cache; *p; p = &(*p)->next) {
        if ((*p)->size == size) {
            base = (char *)*p - GUARD_PAGE;
            *p = (*p)->next;
            cached_bytes -= size;
            return base;
        }
    }
    base = aligned_alloc(GUARD_PAGE, total);
    if (base == NULL && stack_cache != NULL) {
        mirage_sched_release_stacks();
        base = aligned_alloc(GUARD_PAGE, total);
    }
    if (base == NULL)
        return NULL;
    label.name = (uintptr_t)(base + GUARD_PAGE + size);
    memcpy(base, &label, sizeof(label));
    if (mirage_mem_guard(base, GUARD_PAGE, 1) != 0) {
        guards_unavailable = 1;
        free(base);
        return NULL;
    }
    return base;
}

/* Allocates (f)'s stack of (size) bytes above a page of its own: the guard
 * where the platform can make one, else a red zone that keeps a small
 * overrun off the neighbours until the canaries (at the bottom of the usable
 * part) catch it. */
static int alloc_stack(struct mirage_fiber *f, size_t size)
{
    if (size > SIZE_MAX - 2 * GUARD_PAGE - NAME_SLOT)
        return -1;
    f->stack_size = size;
    f->base = guards_unavailable ? NULL : guarded_stack(size);
    if (f->base != NULL) {
        f->guard = f->base;
        f->stack = f->base + GUARD_PAGE;
        memcpy(f->stack + size, f->name, NAME_SLOT);
        link_guarded(f);
        return 0;
    }
    if (!guards_unavailable)
        return -1;
    f->base = aligned_alloc(16, GUARD_PAGE + size);
    if (f->base == NULL)
        return -1;
    f->stack = f->base + GUARD_PAGE;
    return 0;
}

/* Lifts (base)'s guard and frees it: the allocator writes its bookkeeping
 * into freed memory. A host short of memory may refuse to lift it (unix:
 * mprotect fails with ENOMEM under a data limit); the block is then kept
 * out of use rather than handed back with a page no one may touch. */
static void unguard_free(char *base, const char *owner)
{
    static int said;

    if (mirage_mem_guard(base, GUARD_PAGE, 0) != 0) {
        if (!said++)
            runtime_say("cannot lift the guard page of fiber '", owner,
                        "' (short of memory): its stack is kept out of use");
        return;
    }
    free(base);
}

void mirage_sched_release_stacks(void)
{
    while (stack_cache != NULL) {
        struct cached_stack *c = stack_cache;

        stack_cache = c->next;
        cached_bytes -= c->size;
        unguard_free((char *)c - GUARD_PAGE, (char *)c + c->size);
    }
}

static void free_stack(struct mirage_fiber *f)
{
    if (f->guard) {
        unlink_guarded(f);
        f->guard = NULL;
        if (f->stack_size <= STACK_CACHE_BYTES - cached_bytes) {
            struct cached_stack *c = (struct cached_stack *)(void *)f->stack;

            c->size = f->stack_size;
            c->next = stack_cache;
            stack_cache = c;
            cached_bytes += f->stack_size;
        } else {
            unguard_free(f->base, f->name);
        }
    } else {
        free(f->base);
    }
    f->base = NULL;
    f->stack = NULL;
}

const char *mirage_sched_guard_owner(uintptr_t addr)
{
    for (const struct mirage_fiber *f = guarded; f; f = f->guarded_next)
        if (addr - (uintptr_t)f->guard < GUARD_PAGE)
            return f->name;
    return NULL;
}

static void free_fiber(struct mirage_fiber *f)
{
    if (f->all_prev)
        f->all_prev->all_next = f->all_next;
    else
        all_fibers = f->all_next;
    if (f->all_next)
        f->all_next->all_prev = f->all_prev;
    free_stack(f);
    free(f);
    stats.fibers--;
}

/* Runs in whichever fiber has just gained the CPU. */
static void after_switch(void)
{
    struct mirage_fiber *p = prev;

#ifdef SCHED_ASAN
    __sanitizer_finish_switch_fiber(cur->fake_stack, &p->asan_bottom, &p->asan_size);
#endif
    /* A finished fiber cannot free the stack it runs on: its successor does. */
    if (p->state == DONE) {
        free_stack(p);
        if (p->detached)
            free_fiber(p);
    }
}

static void switch_to(struct mirage_fiber *next)
{
    struct mirage_fiber *self = cur;

    check_canary(self);
    prev = self;
    cur = next;
    mirage_fiber_running = next->name;
    stats.switches++;
#ifdef SCHED_ASAN
    __sanitizer_start_switch_fiber(self->state == DONE ? NULL : &self->fake_stack,
                                   next->asan_bottom, next->asan_size);
#endif
    mirage_ctx_switch(&self->sp, next->sp);
    after_switch();
}

static void wake(struct mirage_fiber *f, int result)
{
    if (f->state == STOPPED && f->wq) {
        wq_unlink(f); /* its condition is signalled: it just leaves the queue */
        return;
    }
    if (f->state != WAITING)
        return;
    if (f->wq)
        wq_unlink(f);
    mirage_timer_stop(&f->timer);
    f->wake = result;
    f->state = RUNNABLE;
    rq_push(f);
}

static void on_timeout(struct mirage_timer *t)
{
    wake((struct mirage_fiber *)((char *)t - offsetof(struct mirage_fiber, timer)),
         MIRAGE_ETIMEDOUT);
}

static void expire_timers(uint64_t now)
{
    in_callback = 1;
    runtime_timer_expire(now);
    in_callback = 0;
}

static mirage_handle_set_t devices_waited(void)
{
    mirage_handle_set_t set = 0;

    for (int h = 0; h < HANDLES; h++)
        if (devq[h].head)
            set |= 1ULL << h;
    return set;
}

/* Nothing can run and nothing can wake anyone: rather than block forever,
 * the waiting fiber (or main) gets MIRAGE_EDEADLK. */
static void deadlock(void)
{
    struct mirage_fiber *v = cur->state == WAITING ? cur : &main_fiber;

    runtime_say("deadlock: fiber '", v->name, "' waits and nothing can wake it");
    if (v->state != WAITING)
        mirage_abort();
    wake(v, MIRAGE_EDEADLK);
}

/* Runs due timers and asks the platform for ready devices; blocks until the
 * next deadline or input only when (block) and nothing is runnable. */
static void poll_events(int block)
{
    mirage_handle_set_t waited, ready = 0;
    uint64_t deadline;

    expire_timers(mirage_clock_monotonic());
    waited = devices_waited();
    if (rq_head)
        block = 0;
    if (!block && !waited)
        return;
    deadline = block ? runtime_timer_next() : 0;
    if (block && deadline == MIRAGE_FOREVER && !waited) {
        /* A running caller (mirage_sched_drain) has simply nothing left. */
        if (cur->state != RUNNABLE)
            deadlock();
        return;
    }
    stats.yields++;
    mirage_yield(deadline, &ready);
    if (runtime_event_hook) {
        uint64_t ev[2] = {mirage_cpu_tsc(), ready};
        runtime_event_hook(0, ev, sizeof(ev));
    }
    ready &= waited;
    for (int h = 0; ready != 0 && h < HANDLES; h++) {
        if (ready & (1ULL << h)) {
            mirage_cond_broadcast(&devq[h]);
            ready &= ~(1ULL << h);
        }
    }
    expire_timers(mirage_clock_monotonic());
}

/* Gives the CPU to the next runnable fiber (which may be the caller, once
 * woken); returns when the caller runs again. A DONE caller never returns. */
static void schedule(void)
{
    for (;;) {
        struct mirage_fiber *next;

        /* Busy fibers must not starve timers and devices. */
        if (rq_head && (++ticks & 63) == 0)
            poll_events(0);
        next = rq_pop();
        if (next) {
            if (next != cur)
                switch_to(next);
            return;
        }
        poll_events(1);
    }
}

static int wait_on(struct mirage_cond *c, uint64_t deadline)
{
    struct mirage_fiber *self = cur;

    if (in_callback) {
        runtime_say("a timer callback tried to wait (in fiber '", self->name, "')");
        mirage_abort();
    }
    if (self->cancelled && !self->shielded)
        return MIRAGE_ECANCELED;
    if (c)
        wq_append(c, self);
    if (deadline != MIRAGE_FOREVER)
        mirage_timer_start(&self->timer, deadline, on_timeout);
    self->state = WAITING;
    self->wake = 0;
    schedule();
    return self->wake;
}

static void fiber_entry(struct mirage_fiber *f)
{
    after_switch();
    f->result = f->fn(f->arg);
    f->state = DONE;
    check_canary(f);
    if (f->watcher)
        mirage_cond_broadcast(f->watcher);
    if (f->group) {
        if (f->group_prev)
            f->group_prev->group_next = f->group_next;
        else
            f->group->members = f->group_next;
        if (f->group_next)
            f->group_next->group_prev = f->group_prev;
        f->group->running--;
        mirage_cond_broadcast(&f->group->done);
    }
    schedule();
    runtime_say("finished fiber '", f->name, "' was resumed");
    mirage_abort();
}

size_t mirage_sched_set_stack_size(size_t bytes)
{
    size_t old = default_stack;

    if (bytes != 0)
        default_stack = bytes < MIRAGE_FIBER_STACK_MIN ? MIRAGE_FIBER_STACK_MIN : bytes;
    return old;
}

struct mirage_fiber *mirage_fiber_spawn(const char *name, mirage_fiber_fn fn, void *arg,
                                        size_t stack)
{
    struct mirage_fiber *f;
    uint64_t *frame;

    if (stack == 0)
        stack = default_stack;
    if (stack < MIRAGE_FIBER_STACK_MIN)
        stack = MIRAGE_FIBER_STACK_MIN;
    if (stack > SIZE_MAX / 2)
        return NULL;
    stack = (stack + 15) & ~(size_t)15;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    strncpy(f->name, name ? name : "fiber", sizeof(f->name) - 1);
    if (alloc_stack(f, stack) < 0) {
        mirage_memory_failed("the stack of fiber", f->name, stack);
        free(f);
        return NULL;
    }
    f->fn = fn;
    f->arg = arg;
    f->state = RUNNABLE;
    for (int i = 0; i < CANARY_WORDS; i++)
        ((uint64_t *)f->stack)[i] = canary(f, i);
    /* The frame mirage_ctx_switch pops: control words, r15..r12, rbx, rbp,
     * then mirage_ctx_start as the return address, 16 bytes below the top. */
    frame = (uint64_t *)(f->stack + stack) - 8;
    memset(frame, 0, 8 * sizeof(*frame));
    frame[0] = 0x1f80 | (0x037fULL << 32); /* MXCSR and x87 defaults */
    frame[3] = (uintptr_t)fiber_entry;     /* r13 */
    frame[4] = (uintptr_t)f;               /* r12 */
    frame[7] = (uintptr_t)mirage_ctx_start;
    f->sp = frame;
#ifdef SCHED_ASAN
    f->asan_bottom = f->stack;
    f->asan_size = stack;
#endif
    f->app = app_running && (cur == &main_fiber || cur->app);
    f->all_next = all_fibers;
    if (all_fibers)
        all_fibers->all_prev = f;
    all_fibers = f;
    stats.fibers++;
    rq_push(f);
    return f;
}

void mirage_fiber_service(struct mirage_fiber *f)
{
    if (f != NULL)
        f->app = 0;
}

void mirage_sched_app_begin(void)
{
    app_running = 1;
}

/* Takes (f) off the run queue. */
static void rq_remove(struct mirage_fiber *f)
{
    struct mirage_fiber *p = NULL;

    for (struct mirage_fiber *q = rq_head; q; p = q, q = q->rq_next) {
        if (q != f)
            continue;
        if (p)
            p->rq_next = q->rq_next;
        else
            rq_head = q->rq_next;
        if (rq_tail == q)
            rq_tail = p;
        return;
    }
}

static void say_count(const char *before, size_t n, const char *after)
{
    char num[24], *p = num + sizeof(num) - 1;

    *p = '\0';
    do {
        *--p = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    runtime_say(before, p, after);
}

size_t mirage_sched_app_end(void)
{
    size_t stopped = 0;

    app_running = 0;
    for (struct mirage_fiber *f = all_fibers; f; f = f->all_next) {
        if (!f->app || f->state == DONE || f->state == STOPPED)
            continue;
        if (stopped < 3)
            runtime_say("fiber '", f->name,
                        "' still ran when start returned: stopped (join or cancel the "
                        "application's fibers before start returns)");
        if (f->state == RUNNABLE)
            rq_remove(f);
        /* A device's queue is the runtime's; any other condition may lie in
         * start's returned frame and is left alone. */
        if (f->wq && f->wq >= devq && f->wq < devq + HANDLES)
            wq_unlink(f);
        mirage_timer_stop(&f->timer);
        f->state = STOPPED;
        /* Its stack goes back (nothing live points into it); the record
         * stays, as a condition on the heap may still list it. */
        free_stack(f);
        stopped++;
    }
    if (stopped > 3)
        say_count("... ", stopped, " fibers stopped in all");
    return stopped;
}

void mirage_fiber_detach(struct mirage_fiber *f)
{
    if (f == NULL || f == &main_fiber)
        return;
    if (f->state == DONE && f->stack == NULL)
        free_fiber(f);
    else
        f->detached = 1;
}

int mirage_fiber_group_spawn(struct mirage_fiber_group *g, const char *name, mirage_fiber_fn fn,
                             void *arg, size_t stack)
{
    struct mirage_fiber *f = mirage_fiber_spawn(name, fn, arg, stack);

    if (f == NULL)
        return MIRAGE_ENOMEM;
    f->group = g;
    f->group_prev = NULL;
    f->group_next = g->members;
    if (g->members)
        g->members->group_prev = f;
    g->members = f;
    g->running++;
    g->spawned++;
    f->detached = 1;
    return 0;
}

int mirage_fiber_group_wait(struct mirage_fiber_group *g, uint64_t deadline)
{
    while (g->running > 0) {
        int r = mirage_cond_wait(&g->done, deadline);

        if (r < 0)
            return r;
    }
    return 0;
}

void mirage_fiber_cancel(struct mirage_fiber *f)
{
    if (f == NULL || f->state == DONE)
        return;
    f->cancelled = 1;
    if (f->state == WAITING && !f->shielded)
        wake(f, MIRAGE_ECANCELED);
}

static size_t count_done(struct mirage_fiber **fs, size_t n)
{
    size_t done = 0;

    for (size_t i = 0; i < n; i++)
        done += fs[i]->state == DONE;
    return done;
}

/* Cancels every unfinished fiber of fs[0..n) and waits, not cancellable
 * itself, until all have returned. */
static void cancel_and_wait(struct mirage_fiber **fs, size_t n, struct mirage_cond *c)
{
    unsigned shielded = cur->shielded;

    for (size_t i = 0; i < n; i++)
        mirage_fiber_cancel(fs[i]);
    cur->shielded = 1;
    while (count_done(fs, n) < n)
        if (wait_on(c, MIRAGE_FOREVER) == MIRAGE_EDEADLK)
            break;
    cur->shielded = shielded;
}

void mirage_fiber_group_stop(struct mirage_fiber_group *g)
{
    unsigned shielded = cur->shielded;

    for (struct mirage_fiber *f = g->members; f != NULL; f = f->group_next)
        mirage_fiber_cancel(f);
    cur->shielded = 1;
    while (g->running > 0)
        if (wait_on(&g->done, MIRAGE_FOREVER) == MIRAGE_EDEADLK)
            break;
    cur->shielded = shielded;
}

/* Frees fs[0..n) once done, taking results; an unfinished one (after a
 * deadlock) is detached instead, as nothing may free a live fiber. */
static void collect(struct mirage_fiber **fs, size_t n, int *results)
{
    for (size_t i = 0; i < n; i++) {
        fs[i]->watcher = NULL;
        if (results)
            results[i] = fs[i]->result;
        mirage_fiber_detach(fs[i]);
    }
}

/* Makes (c) the watcher of fs[0..n); a fiber given twice, already watched,
 * detached or the caller itself makes it refuse, changing nothing. */
static int watch(struct mirage_fiber **fs, size_t n, struct mirage_cond *c)
{
    for (size_t i = 0; i < n; i++) {
        if (fs[i] == NULL || fs[i] == cur || fs[i] == &main_fiber || fs[i]->watcher ||
            fs[i]->detached) {
            while (i-- > 0)
                fs[i]->watcher = NULL;
            return MIRAGE_EINVAL;
        }
        fs[i]->watcher = c;
    }
    return 0;
}

int mirage_fiber_join_all(struct mirage_fiber **fs, size_t n, int *results)
{
    struct mirage_cond c = MIRAGE_COND_INIT;
    int r = watch(fs, n, &c);

    if (r < 0)
        return r;
    while (count_done(fs, n) < n) {
        int w = wait_on(&c, MIRAGE_FOREVER);

        if (w == MIRAGE_ECANCELED || w == MIRAGE_EDEADLK) {
            r = w;
            cancel_and_wait(fs, n, &c);
            break;
        }
    }
    collect(fs, n, results);
    return r;
}

int mirage_fiber_join(struct mirage_fiber *f, int *result)
{
    return mirage_fiber_join_all(&f, 1, result);
}

int mirage_fiber_pick(struct mirage_fiber **fs, size_t n, size_t *winner, int *result)
{
    struct mirage_cond c = MIRAGE_COND_INIT;
    int r = n == 0 ? MIRAGE_EINVAL : watch(fs, n, &c);
    size_t w = n;

    if (r < 0)
        return r;
    while (count_done(fs, n) == 0) {
        int e = wait_on(&c, MIRAGE_FOREVER);

        if (e == MIRAGE_ECANCELED || e == MIRAGE_EDEADLK) {
            r = e;
            break;
        }
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (fs[i]->state == DONE) {
            w = i;
            break;
        }
    }
    cancel_and_wait(fs, n, &c);
    if (w < n) {
        if (winner)
            *winner = w;
        if (result)
            *result = fs[w]->result;
    }
    collect(fs, n, NULL);
    return r;
}

struct mirage_fiber *mirage_fiber_self(void)
{
    return cur;
}

const char *mirage_fiber_name(const struct mirage_fiber *f)
{
    return f->name;
}

int mirage_fiber_cancelled(void)
{
    return cur->cancelled;
}

int mirage_fiber_yield(void)
{
    if (in_callback) {
        runtime_say("a timer callback tried to yield (in fiber '", cur->name, "')");
        mirage_abort();
    }
    if (cur->cancelled && !cur->shielded)
        return MIRAGE_ECANCELED;
    rq_push(cur);
    schedule();
    return 0;
}

int mirage_wait_device(mirage_handle_t h, uint64_t deadline)
{
    if (h >= HANDLES)
        return MIRAGE_EINVAL;
    return wait_on(&devq[h], deadline);
}

int mirage_wait_device_shielded(mirage_handle_t h, uint64_t deadline)
{
    unsigned shielded = cur->shielded;
    int r;

    if (h >= HANDLES)
        return MIRAGE_EINVAL;
    cur->shielded = 1;
    r = wait_on(&devq[h], deadline);
    cur->shielded = shielded;
    return r;
}

int mirage_cond_wait(struct mirage_cond *c, uint64_t deadline)
{
    return wait_on(c, deadline);
}

int mirage_cond_signal(struct mirage_cond *c)
{
    while (c->head && c->head->state == STOPPED)
        wake(c->head, 0);
    if (c->head == NULL)
        return 0;
    wake(c->head, 0);
    return 1;
}

int mirage_cond_broadcast(struct mirage_cond *c)
{
    int n = 0;

    while (c->head) {
        n += c->head->state != STOPPED;
        wake(c->head, 0);
    }
    return n;
}

int mirage_sleep_until(uint64_t deadline)
{
    int r = wait_on(NULL, deadline);

    return r == MIRAGE_ETIMEDOUT ? 0 : r;
}

int mirage_sched_drain(void)
{
    for (;;) {
        if (cur->cancelled && !cur->shielded)
            return MIRAGE_ECANCELED;
        if (rq_head) {
            mirage_fiber_yield();
            continue;
        }
        if (runtime_timer_next() == MIRAGE_FOREVER && !devices_waited())
            return 0;
        poll_events(1);
    }
}

void mirage_sched_stats(struct mirage_sched_stats *st)
{
    *st = stats;
}
