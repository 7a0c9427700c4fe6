/* malloc.c: a TLSF-style allocator (O(1), coalescing) over the platform's heap region. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/heap.h"
#include "mirage/platform.h"

/*
 * Every block starts with a 16-byte header: its size (a multiple of 16, with
 * flags in the low bits) and a check word that mixes size, address and a
 * cookie, so a stray write, a wild pointer or a second free is caught before
 * the allocator acts on it. A free block also holds its free-list links and,
 * in its last word, its size, so that the block after it can find its start
 * when it coalesces backwards. No two free blocks are ever adjacent.
 *
 * Free blocks sit in segregated lists indexed two levels deep (the two-level
 * segregated fit of TLSF): the first level is the size's power of two, the
 * second splits that range into 16 parts; two bitmaps find the smallest
 * non-empty list that fits in a few bit instructions.
 */

#define HDR           16
#define MIN_BLOCK     48 /* header, two links, footer, rounded to 16 */
#define FREE_BIT      1
#define PREV_FREE_BIT 2
#define FLAGS         15

#define SL_LOG      4
#define SL_COUNT    (1 << SL_LOG)
#define FL_SHIFT    (SL_LOG + 4) /* sizes below 256 step by 16 in list 0 */
#define SMALL       (1 << FL_SHIFT)
#define FL_COUNT    40
#define MAX_HEAP    ((size_t)1 << (FL_SHIFT + FL_COUNT - 2))
#define MAX_REQUEST (MAX_HEAP / 2)

#define COOKIE 0x6d69726167656870ULL

struct block {
    size_t size; /* total bytes including this header | flags */
    size_t check;
    struct block *next; /* free blocks only */
    struct block *prev;
};

static struct block *heads[FL_COUNT][SL_COUNT];
static uint64_t fl_bitmap;
static uint32_t sl_bitmap[FL_COUNT];
static uintptr_t heap_lo, heap_hi; /* first block, sentinel header */
static bool ready;
static size_t bytes_used, bytes_free;

__attribute__((noreturn)) static void corrupt(const char *what)
{
    static const char prefix[] = "malloc: ";
    mirage_console_write(prefix, sizeof(prefix) - 1);
    mirage_console_write(what, strlen(what));
    mirage_console_write("\n", 1);
    mirage_abort();
}

static size_t bsize(const struct block *b)
{
    return b->size & ~(size_t)FLAGS;
}

static size_t checksum(const struct block *b, size_t size_field)
{
    return size_field ^ (uintptr_t)b ^ COOKIE;
}

static void set_header(struct block *b, size_t size, size_t flags)
{
    b->size = size | flags;
    b->check = checksum(b, b->size);
}

static void set_flag(struct block *b, size_t flag, bool on)
{
    set_header(b, bsize(b), on ? (b->size & FLAGS) | flag : (b->size & FLAGS) & ~flag);
}

static bool header_ok(const struct block *b)
{
    return b->check == checksum(b, b->size);
}

static struct block *next_block(struct block *b)
{
    return (struct block *)((uintptr_t)b + bsize(b));
}

static void set_footer(struct block *b)
{
    ((size_t *)next_block(b))[-1] = bsize(b);
}

static void mapping(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < SMALL) {
        *fl = 0;
        *sl = (unsigned)(size / 16);
    } else {
        unsigned lg = 63 - (unsigned)__builtin_clzll(size);
        *sl = (unsigned)(size >> (lg - SL_LOG)) ^ SL_COUNT;
        *fl = lg - FL_SHIFT + 1;
    }
}

static void insert(struct block *b)
{
    unsigned fl, sl;

    mapping(bsize(b), &fl, &sl);
    b->prev = NULL;
    b->next = heads[fl][sl];
    if (b->next)
        b->next->prev = b;
    heads[fl][sl] = b;
    fl_bitmap |= 1ULL << fl;
    sl_bitmap[fl] |= 1U << sl;
    bytes_free += bsize(b);
}

static void unlink_free(struct block *b)
{
    unsigned fl, sl;

    mapping(bsize(b), &fl, &sl);
    if (b->next)
        b->next->prev = b->prev;
    if (b->prev) {
        b->prev->next = b->next;
    } else {
        heads[fl][sl] = b->next;
        if (!b->next) {
            sl_bitmap[fl] &= ~(1U << sl);
            if (!sl_bitmap[fl])
                fl_bitmap &= ~(1ULL << fl);
        }
    }
    bytes_free -= bsize(b);
}

/* A free block of at least (size) bytes, or NULL. */
static struct block *find_fit(size_t size)
{
    unsigned fl, sl;
    size_t rounded = size;

    /* Rounding up to the next list boundary means any block of the list found fits. */
    if (size >= SMALL)
        rounded += ((size_t)1 << (63 - __builtin_clzll(size) - SL_LOG)) - 1;
    mapping(rounded, &fl, &sl);
    if (fl < FL_COUNT) {
        uint32_t sl_map = sl_bitmap[fl] & (~0U << sl);
        uint64_t fl_map = fl + 1 < 64 ? fl_bitmap & (~0ULL << (fl + 1)) : 0;
        if (!sl_map && fl_map) {
            fl = (unsigned)__builtin_ctzll(fl_map);
            sl_map = sl_bitmap[fl];
        }
        if (sl_map)
            return heads[fl][__builtin_ctz(sl_map)];
    }
    /* Nothing in the lists that surely fit: the request's own list may still
     * hold a block big enough (the last big block of a nearly full heap).
     * Look at a few of its blocks, to stay O(1). */
    mapping(size, &fl, &sl);
    if (fl >= FL_COUNT)
        return NULL;
    struct block *b = heads[fl][sl];
    for (int i = 0; b && i < 8; i++, b = b->next) {
        if (bsize(b) >= size)
            return b;
    }
    return NULL;
}

static void init(void)
{
    uintptr_t start;
    size_t size;

    ready = true;
    mirage_heap(&start, &size);
    uintptr_t lo = (start + 15) & ~(uintptr_t)15;
    if (size > MAX_HEAP)
        size = MAX_HEAP;
    if (start + size < lo + MIN_BLOCK + HDR)
        return; /* no usable heap: every allocation fails */
    uintptr_t hi = (start + size - HDR) & ~(uintptr_t)15;
    heap_lo = lo;
    heap_hi = hi;
    struct block *first = (struct block *)lo;
    set_header(first, hi - lo, FREE_BIT);
    set_footer(first);
    /* A permanently used zero-size block at the end stops every walk. */
    set_header((struct block *)hi, 0, PREV_FREE_BIT);
    insert(first);
}

/* The block of a pointer malloc returned, checked; ends the unikernel if it is not one. */
static struct block *checked_block(void *p, const char *who)
{
    uintptr_t a = (uintptr_t)p;

    if ((a & 15) || a < heap_lo + HDR || a > heap_hi)
        corrupt(who);
    struct block *b = (struct block *)(a - HDR);
    if (!header_ok(b) || bsize(b) < MIN_BLOCK || bsize(b) > heap_hi - (uintptr_t)b)
        corrupt("invalid pointer or corrupted block header (a double free?)");
    if (b->size & FREE_BIT)
        corrupt("double free");
    if (!header_ok(next_block(b)))
        corrupt("block header overwritten (a buffer overflow?)");
    return b;
}

/* Returns block (b), in use, to the free lists, merged with free neighbours. */
static void free_block(struct block *b)
{
    size_t size = bsize(b);
    struct block *next = next_block(b);

    bytes_used -= size - HDR;
    if (next->size & FREE_BIT) {
        unlink_free(next);
        size += bsize(next);
        next->check = 0; /* a later free of a stale pointer fails the check */
    }
    if (b->size & PREV_FREE_BIT) {
        size_t prev_size = ((size_t *)b)[-1];
        struct block *prev = (struct block *)((uintptr_t)b - prev_size);
        if (prev_size < MIN_BLOCK || prev_size > (uintptr_t)b - heap_lo || !header_ok(prev) ||
            !(prev->size & FREE_BIT) || bsize(prev) != prev_size)
            corrupt("free block corrupted (a use after free?)");
        unlink_free(prev);
        size += prev_size;
        b->check = 0;
        b = prev;
    }
    set_header(b, size, FREE_BIT);
    set_footer(b);
    set_flag(next_block(b), PREV_FREE_BIT, true);
    insert(b);
}

/* Shrinks block (b), in use, to (need) bytes if the rest makes a block of its own. */
static void trim(struct block *b, size_t need)
{
    size_t size = bsize(b);

    if (size - need < MIN_BLOCK)
        return;
    struct block *tail = (struct block *)((uintptr_t)b + need);
    set_header(b, need, b->size & FLAGS);
    set_header(tail, size - need, 0);
    bytes_used -= HDR; /* the tail's header comes out of b's bytes */
    free_block(tail);
}

/* The block size that holds (n) bytes, or 0 if (n) is too big. */
static size_t block_size(size_t n)
{
    if (n > MAX_REQUEST)
        return 0;
    size_t need = ((n + 15) & ~(size_t)15) + HDR;
    return need < MIN_BLOCK ? MIN_BLOCK : need;
}

void *malloc(size_t n)
{
    size_t need = block_size(n);

    if (!ready)
        init();
    struct block *b = need ? find_fit(need) : NULL;
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    unlink_free(b);
    set_header(b, bsize(b), 0);
    set_flag(next_block(b), PREV_FREE_BIT, false);
    bytes_used += bsize(b) - HDR;
    trim(b, need);
    return (char *)b + HDR;
}

void free(void *p)
{
    if (!p)
        return;
    free_block(checked_block(p, "free() of a pointer malloc did not return"));
}

void *calloc(size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    struct block *b = checked_block(p, "realloc() of a pointer malloc did not return");
    size_t need = block_size(n);
    if (!need) {
        errno = ENOMEM;
        return NULL;
    }
    size_t size = bsize(b);
    if (need > size) {
        struct block *next = next_block(b);
        if ((next->size & FREE_BIT) && size + bsize(next) >= need) {
            /* Grow in place into the free block that follows. */
            size_t next_size = bsize(next);
            unlink_free(next);
            next->check = 0;
            size += next_size;
            set_header(b, size, b->size & FLAGS);
            set_flag(next_block(b), PREV_FREE_BIT, false);
            bytes_used += next_size;
        } else {
            void *q = malloc(n);
            if (q) {
                memcpy(q, p, size - HDR);
                free_block(b);
            }
            return q;
        }
    }
    trim(b, need);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return malloc(n);
    if (n > MAX_REQUEST || align > MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    /* Room to cut a free block of its own off the front before the aligned
     * spot and still keep a whole block after it. */
    char *p = malloc(n + align + MIN_BLOCK + 16);
    if (!p)
        return NULL;
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(align - 1);
    if (a != (uintptr_t)p) {
        if (a - (uintptr_t)p < MIN_BLOCK)
            a = ((uintptr_t)p + MIN_BLOCK + align - 1) & ~(align - 1);
        struct block *lead = (struct block *)(p - HDR);
        struct block *b = (struct block *)(a - HDR);
        size_t gap = a - (uintptr_t)p;
        set_header(b, bsize(lead) - gap, 0);
        set_header(lead, gap, lead->size & FLAGS);
        bytes_used -= HDR;
        free_block(lead);
        p = (char *)a;
    }
    trim((struct block *)(p - HDR), block_size(n));
    return p;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = aligned_alloc(align, n);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    return bsize(checked_block(p, "malloc_usable_size() of a pointer malloc did not return")) - HDR;
}

size_t mirage_heap_used(void)
{
    return bytes_used;
}

size_t mirage_heap_free(void)
{
    if (!ready)
        init();
    return bytes_free;
}
