/* timer.c: pending timers in a binary min-heap on deadline, O(log n) start, stop and expiry. */
#include <stdlib.h>

#include "mirage/sched.h"
#include "runtime.h"

static struct mirage_timer **heap; /* heap[0] is the earliest */
static size_t count, cap;

static int earlier(size_t a, size_t b)
{
    return heap[a]->deadline < heap[b]->deadline;
}

static void place(size_t i, struct mirage_timer *t)
{
    heap[i] = t;
    t->slot = i + 1;
}

static void swap(size_t a, size_t b)
{
    struct mirage_timer *t = heap[a];

    place(a, heap[b]);
    place(b, t);
}

static void sift_up(size_t i)
{
    while (i > 0 && earlier(i, (i - 1) / 2)) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < count && earlier(l, m))
            m = l;
        if (r < count && earlier(r, m))
            m = r;
        if (m == i)
            return;
        swap(i, m);
        i = m;
    }
}

/* Takes heap slot (i) out, keeping the heap ordered. */
static void remove_at(size_t i)
{
    heap[i]->slot = 0;
    count--;
    if (i == count)
        return;
    place(i, heap[count]);
    sift_down(i);
    sift_up(i);
}

void mirage_timer_stop(struct mirage_timer *t)
{
    if (t->slot != 0)
        remove_at(t->slot - 1);
}

void mirage_timer_start(struct mirage_timer *t, uint64_t deadline,
                        void (*fn)(struct mirage_timer *t))
{
    mirage_timer_stop(t);
    if (count == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        struct mirage_timer **n = realloc(heap, ncap * sizeof(*n));

        if (n == NULL) {
            /* Losing a timer would hang a fiber forever without a word. */
            runtime_say("out of memory for ", "a timer", "");
            mirage_abort();
        }
        heap = n;
        cap = ncap;
    }
    t->deadline = deadline;
    t->fn = fn;
    place(count, t);
    count++;
    sift_up(count - 1);
}

size_t mirage_timer_count(void)
{
    return count;
}

uint64_t runtime_timer_next(void)
{
    return count ? heap[0]->deadline : MIRAGE_FOREVER;
}

size_t runtime_timer_expire(uint64_t now)
{
    size_t ran = 0;

    while (count > 0 && heap[0]->deadline <= now) {
        struct mirage_timer *t = heap[0];

        remove_at(0);
        t->fn(t);
        ran++;
    }
    return ran;
}
