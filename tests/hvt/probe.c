/* probe.c: hvt-only unikernel that checks what the binding promises: clocks, heap, TLS, stack, SSE.
 */
#include <stdint.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST();

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

static void say_num(const char *label, uint64_t v)
{
    char buf[24];
    char *p = buf + sizeof(buf);

    *--p = 0;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    say(label);
    say(p);
    say("\n");
}

/* Uses about (kib) KiB of stack; the compiler cannot fold it away. */
static uint64_t deep(unsigned kib)
{
    volatile uint8_t page[1024];

    page[0] = (uint8_t)kib;
    page[1023] = 1;
    if (kib == 0)
        return page[0];
    return deep(kib - 1) + page[1023];
}

static unsigned parse(const char *s)
{
    unsigned v = 0;

    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned)(*s++ - '0');
    return v;
}

int mirage_main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    if (!strcmp(what, "clock")) {
        /* monotonic advances across a 20 ms yield, by about that much */
        mirage_handle_set_t ready;
        uint64_t t0 = mirage_clock_monotonic(), t1;

        mirage_yield(t0 + 20000000, &ready);
        t1 = mirage_clock_monotonic();
        say_num("slept_ms: ", (t1 - t0) / 1000000);
        say_num("wall_s: ", mirage_clock_wall() / 1000000000);
        return t1 >= t0 + 20000000 ? 0 : 1;
    }
    if (!strcmp(what, "clockcost")) {
        /* reading the clock must not exit: a million reads take milliseconds */
        uint64_t t0 = mirage_clock_monotonic(), t = t0;

        for (int i = 0; i < 1000000; i++)
            t = mirage_clock_monotonic();
        say_num("clock_read_ns: ", (t - t0) / 1000000);
        return 0;
    }
    if (!strcmp(what, "heap")) {
        /* every page of the heap is writable and reads back */
        uintptr_t start;
        size_t size;

        mirage_heap(&start, &size);
        for (uintptr_t a = start; a < start + size; a += 4096)
            *(volatile uint64_t *)a = a;
        for (uintptr_t a = start; a < start + size; a += 4096)
            if (*(volatile uint64_t *)a != a)
                return 1;
        say_num("heap_mb: ", size >> 20);
        return 0;
    }
    if (!strcmp(what, "tls")) {
        uint64_t canary, self;

        __asm__ volatile("movq %%fs:0x28, %0" : "=r"(canary));
        __asm__ volatile("movq %%fs:0, %0" : "=r"(self));
        say(canary != 0 && self != 0 ? "tls: ok\n" : "tls: missing\n");
        return canary != 0 && self != 0 ? 0 : 1;
    }
    if (!strcmp(what, "sse")) {
        volatile double a = 1.5, b = 2.25;
        double c = a * b;

        say(c == 3.375 ? "sse: ok\n" : "sse: wrong\n");
        return c == 3.375 ? 0 : 1;
    }
    if (!strcmp(what, "stack")) {
        unsigned kib = argc > 2 ? parse(argv[2]) : 64;

        say_num("stack_kib: ", kib);
        deep(kib);
        say("stack: ok\n");
        return 0;
    }
    if (!strcmp(what, "cpuid")) {
        /* the CPU features the guest sees: RDRAND (leaf 1 ecx bit 30), FSGSBASE (leaf 7 ebx bit 0)
         */
        uint32_t a, b, c, d;

        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
        say((c >> 30) & 1 ? "rdrand: yes\n" : "rdrand: no\n");
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
        say(b & 1 ? "fsgsbase: yes\n" : "fsgsbase: no\n");
        return 0;
    }
    say("usage: hvtprobe cpuid|clock|clockcost|heap|tls|sse|stack KIB\n");
    return 2;
}
