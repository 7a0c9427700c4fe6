/* badptr.c: hvt-only unikernel that makes one malformed hypercall, chosen by its first argument. */
#include <stdint.h>
#include <string.h>

#include "mirage/abi/hvt.h"
#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST(MIRAGE_BLOCK("disk"));

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

static void out32(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port) : "memory");
}

extern const struct hvt_boot_info *hvt_boot;

/* A raw request in the disk's slot (abi/hvt.h), bypassing the binding's
 * checks; returns the tender's answer. */
static int64_t slot_request(uint64_t offset, uint64_t buf, uint64_t size)
{
    struct hvt_block_slot *s = (struct hvt_block_slot *)(uintptr_t)hvt_boot->devs[0].ring;
    uint32_t seq = s->done + 1;

    s->op = HVT_BLOCK_READ;
    s->offset = offset;
    s->buf = buf;
    s->size = size;
    s->ret = MIRAGE_EIO;
    __atomic_store_n(&s->req, seq, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __asm__ volatile("outb %%al, %0" : : "N"(HVT_PORT_BLOCK), "a"(0) : "memory");
    for (uint64_t i = 0; __atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != seq; i++) {
        struct hvt_hc_yield y = {1000000, 0};

        if (i > 5000)
            return 1; /* 5 s without an answer */
        out32(HVT_PORT_BASE + HVT_HC_YIELD, (uint32_t)(uintptr_t)&y);
    }
    return s->ret;
}

/* A heap page far from any stack, made a guard page; NULL if refused. */
static uint8_t *guarded_page(uintptr_t heap)
{
    uint8_t *page = (uint8_t *)((heap + 0xfffff) & ~0xfffULL);

    return mirage_mem_guard(page, 4096, 1) == 0 ? page : NULL;
}

/* Hypercall (n)'s argument struct at (gpa): beyond memory, or running from
 * the page before a guard page into it. */
static void arg_at(unsigned n, uintptr_t gpa)
{
    out32(HVT_PORT_BASE + n, (uint32_t)gpa);
}

int mirage_main(int argc, char **argv)
{
    static uint8_t buf[4096];
    const char *what = argc > 1 ? argv[1] : "";
    uintptr_t heap;
    size_t heap_size;
    struct hvt_hc_console con;

    mirage_heap(&heap, &heap_size);
    say("badptr: ");
    say(what);
    say("\n");
    if (!strcmp(what, "console-beyond")) {
        /* a buffer that runs past the end of guest memory */
        con = (struct hvt_hc_console){heap + heap_size, 1ULL << 32};
        out32(HVT_PORT_BASE + HVT_HC_CONSOLE, (uint32_t)(uintptr_t)&con);
    } else if (!strcmp(what, "console-wrap")) {
        /* base + length overflows 64 bits */
        con = (struct hvt_hc_console){0x200000, UINT64_MAX - 0x1000};
        out32(HVT_PORT_BASE + HVT_HC_CONSOLE, (uint32_t)(uintptr_t)&con);
    } else if (!strcmp(what, "console-tender")) {
        /* the tender's private first MiB (page tables) */
        con = (struct hvt_hc_console){0x10000, 64};
        out32(HVT_PORT_BASE + HVT_HC_CONSOLE, (uint32_t)(uintptr_t)&con);
    } else if (!strcmp(what, "struct")) {
        /* the argument struct itself outside guest memory */
        out32(HVT_PORT_BASE + HVT_HC_CONSOLE, 0xfffffff0u);
    } else if (!strcmp(what, "block")) {
        /* a block read into memory the guest does not have */
        slot_request(0, 0xfffff000u, 4096);
    } else if (!strcmp(what, "block-wrap")) {
        /* buffer + size overflows 64 bits */
        slot_request(0, 0x200000, UINT64_MAX - 0xfff);
    } else if (!strcmp(what, "block-tender")) {
        /* the tender's private first MiB */
        slot_request(0, 0x10000, 4096);
    } else if (!strcmp(what, "block-guard")) {
        /* a buffer whose end lies in a guard page */
        uint8_t *page = guarded_page(heap);

        if (page == NULL)
            return 1;
        slot_request(0, (uintptr_t)page - 512, 4096);
    } else if (!strcmp(what, "exit-beyond") || !strcmp(what, "yield-beyond") ||
               !strcmp(what, "guard-beyond")) {
        /* an argument struct past the end of guest memory */
        arg_at(what[0] == 'e'   ? HVT_HC_EXIT
               : what[0] == 'y' ? HVT_HC_YIELD
                                : HVT_HC_GUARD,
               0xfffffff0u);
    } else if (!strcmp(what, "exit-guard") || !strcmp(what, "yield-guard") ||
               !strcmp(what, "guard-guard") || !strcmp(what, "console-guard")) {
        /* an argument struct that ends in a guard page */
        uint8_t *page = guarded_page(heap);

        if (page == NULL)
            return 1;
        arg_at(what[0] == 'e'   ? HVT_HC_EXIT
               : what[0] == 'y' ? HVT_HC_YIELD
               : what[0] == 'g' ? HVT_HC_GUARD
                                : HVT_HC_CONSOLE,
               (uintptr_t)page - 4);
    } else if (!strcmp(what, "block-range")) {
        /* beyond the disk's capacity: an error for the guest, not a violation */
        int64_t r = slot_request(1ULL << 40, (uintptr_t)buf, 4096);

        say(r == MIRAGE_EINVAL ? "block-range: EINVAL\n" : "block-range: wrong\n");
        return r == MIRAGE_EINVAL ? 0 : 1;
    } else if (!strcmp(what, "guard-range")) {
        /* guard requests the tender must refuse: outside the heap, unaligned, empty, wrapping */
        struct hvt_hc_guard g[] = {{(uintptr_t)buf & ~0xfffULL, 4096, 1, 0},
                                   {heap + 1, 4096, 1, 0},
                                   {heap, 100, 1, 0},
                                   {heap, 0, 1, 0},
                                   {heap + heap_size, 4096, 1, 0},
                                   {heap, UINT64_MAX & ~0xfffULL, 1, 0},
                                   {0x10000, 4096, 1, 0}};
        int refused = 0;

        for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
            out32(HVT_PORT_BASE + HVT_HC_GUARD, (uint32_t)(uintptr_t)&g[i]);
            refused += g[i].ret == MIRAGE_EINVAL;
        }
        buf[0] = 1; /* still writable */
        say(refused == (int)(sizeof(g) / sizeof(g[0])) ? "guard-range: EINVAL\n"
                                                       : "guard-range: wrong\n");
        return refused == (int)(sizeof(g) / sizeof(g[0])) ? 0 : 1;
    } else if (!strcmp(what, "guard-lift")) {
        /* a page guarded and given back keeps its contents and works again */
        volatile uint8_t *page = (volatile uint8_t *)((heap + 0xfffff) & ~0xfffULL);

        page[0] = 42;
        if (mirage_mem_guard((void *)page, 4096, 1) != 0 || mirage_mem_guard((void *)page, 4096, 0))
            return 1;
        page[1] = 43;
        say(page[0] == 42 && page[1] == 43 ? "guard-lift: ok\n" : "guard-lift: wrong\n");
        return page[0] == 42 && page[1] == 43 ? 0 : 1;
    } else if (!strcmp(what, "guard-touch") || !strcmp(what, "guard-console")) {
        /* a guarded heap page, far from any stack, read by the guest or named in a hypercall */
        volatile uint8_t *page = (volatile uint8_t *)((heap + 0xfffff) & ~0xfffULL);

        if (mirage_mem_guard((void *)page, 4096, 1) != 0)
            return 1;
        if (what[6] == 't') {
            say(page[8] ? "" : "");
        } else {
            con = (struct hvt_hc_console){(uintptr_t)page + 16, 16};
            out32(HVT_PORT_BASE + HVT_HC_CONSOLE, (uint32_t)(uintptr_t)&con);
        }
    } else if (!strcmp(what, "port")) {
        out32(0x3f8, 0);
    } else if (!strcmp(what, "in")) {
        uint8_t v;
        __asm__ volatile("inb $0x80, %0" : "=a"(v));
    } else {
        say("usage: badptr console-beyond|console-wrap|console-tender|struct|block|"
            "block-wrap|block-tender|block-guard|exit-beyond|yield-beyond|guard-beyond|"
            "exit-guard|yield-guard|guard-guard|console-guard|"
            "block-range|guard-range|guard-lift|guard-touch|guard-console|port|in\n");
        return 2;
    }
    say("badptr: the tender let it through\n");
    return 1;
}
