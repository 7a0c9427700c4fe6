/* timer.c: pending timers in an intrusive pairing heap on deadline: start and stop never allocate.
 */
#include <stddef.h>

#include "mirage/sched.h"
#include "runtime.h"

/*
 * A pairing heap (Fredman, Sedgewick, Sleator, Tarjan 1986) whose links live
 * in the caller's struct mirage_timer: arming a timer cannot fail for want of
 * memory, however many are pending, so a full heap never loses a timer (the
 * array heap this replaces had to abort when it could not grow). Start is
 * O(1); stop and expiry are O(log n) amortised.
 *
 * Each node's (child) is its leftmost child, (sibling) the next child of the
 * same parent, and (prev) the parent for a leftmost child, else the left
 * sibling; the root's prev is NULL.
 */
static struct mirage_timer *root;
static size_t count;

/* Joins two heaps (roots with no sibling); the later root becomes the
 * earlier one's leftmost child. */
static struct mirage_timer *meld(struct mirage_timer *a, struct mirage_timer *b)
{
    if (b->deadline < a->deadline) {
        struct mirage_timer *t = a;
        a = b;
        b = t;
    }
    b->prev = a;
    b->sibling = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    return a;
}

/* Melds the list of heaps starting at (first) into one: pairs left to right,
 * then the pairs right to left (the two-pass rule that gives the bounds). */
static struct mirage_timer *merge_pairs(struct mirage_timer *first)
{
    struct mirage_timer *pairs = NULL, *r;

    while (first) {
        struct mirage_timer *a = first, *b = a->sibling, *next = b ? b->sibling : NULL;

        a->sibling = a->prev = NULL;
        if (b) {
            b->sibling = b->prev = NULL;
            a = meld(a, b);
        }
        a->sibling = pairs; /* a stack of the pairs, the last on top */
        pairs = a;
        first = next;
    }
    if (pairs == NULL)
        return NULL;
    r = pairs;
    pairs = pairs->sibling;
    r->sibling = NULL;
    while (pairs) {
        struct mirage_timer *next = pairs->sibling;

        pairs->sibling = NULL;
        r = meld(r, pairs);
        pairs = next;
    }
    return r;
}

/* Takes (t), pending, out of the heap. */
static void unlink_timer(struct mirage_timer *t)
{
    struct mirage_timer *sub;

    if (t == root) {
        root = merge_pairs(t->child);
    } else {
        if (t->prev->child == t) /* leftmost: prev is the parent */
            t->prev->child = t->sibling;
        else
            t->prev->sibling = t->sibling;
        if (t->sibling)
            t->sibling->prev = t->prev;
        sub = merge_pairs(t->child);
        if (sub)
            root = meld(root, sub);
    }
    t->child = t->sibling = t->prev = NULL;
    t->pending = 0;
    count--;
}

void mirage_timer_stop(struct mirage_timer *t)
{
    if (t->pending)
        unlink_timer(t);
}

void mirage_timer_start(struct mirage_timer *t, uint64_t deadline,
                        void (*fn)(struct mirage_timer *t))
{
    mirage_timer_stop(t);
    t->deadline = deadline;
    t->fn = fn;
    t->child = t->sibling = t->prev = NULL;
    t->pending = 1;
    count++;
    root = root ? meld(root, t) : t;
}

size_t mirage_timer_count(void)
{
    return count;
}

uint64_t runtime_timer_next(void)
{
    return root ? root->deadline : MIRAGE_FOREVER;
}

size_t runtime_timer_expire(uint64_t now)
{
    size_t ran = 0;

    while (root && root->deadline <= now) {
        struct mirage_timer *t = root;

        unlink_timer(t);
        t->fn(t);
        ran++;
    }
    return ran;
}
