/* hvt.c: the hvt binding: console, clocks, yield, guards, exit by hypercall; block I/O by slot. */
#include <stddef.h>
#include <string.h>

#include "hvt.h"
#include "mirage/abi/block.h"
#include "mirage/cpu.h"
#include "mirage/manifest.h"
#include "mirage/tcb.h"

const struct hvt_boot_info *hvt_boot;
static uint64_t tsc_base;
static uint64_t block_acquired;

/* Called from _start. FS moves to the libc's TCB inside
 * mirage_tcb_init_seeded(), so this frame must not carry a canary. */
__attribute__((no_stack_protector, noreturn)) void mirage_hvt_start(const struct hvt_boot_info *bi)
{
    tsc_base = mirage_cpu_tsc();
    hvt_boot = bi;
    mirage_tcb_init_seeded(&bi->tcb[5]); /* the tender's canary and pointer guard */
    mirage_exit(mirage_boot(bi->name));
}

void mirage_console_write(const char *buf, size_t len)
{
    static struct hvt_hc_console a;

    a = (struct hvt_hc_console){(uintptr_t)buf, len};

    hvt_hypercall(HVT_HC_CONSOLE, &a);
}

uint64_t mirage_clock_monotonic(void)
{
    return (uint64_t)(((unsigned __int128)(mirage_cpu_tsc() - tsc_base) * hvt_boot->tsc_mult) >> 32);
}

uint64_t mirage_clock_wall(void)
{
    return hvt_boot->wall_ns + mirage_clock_monotonic();
}

/* How long mirage_yield spins for a submitted request before it exits to the
 * tender (as block_io spins for its own). */
#define BLOCK_WAIT_SPIN_NS 2000000

/* Requests submitted and not yet completed (bit h), and each slot's last
 * sequence number. */
static uint64_t block_inflight;
static uint32_t block_seq[HVT_MAX_DEVS];

/* The handles whose submitted request the tender has finished. */
static mirage_handle_set_t block_ready(void)
{
    mirage_handle_set_t r = 0;

    for (uint64_t f = block_inflight; f; f &= f - 1) {
        unsigned h = (unsigned)__builtin_ctzll(f);
        const struct hvt_block_slot *s =
            (const struct hvt_block_slot *)(uintptr_t)hvt_boot->devs[h].ring;
        if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) == block_seq[h])
            r |= 1ULL << h;
    }
    return r;
}

/*
 * A frame that arrives within the spin after the guest ran out of work is
 * picked up without a VM exit and re-entry (~90 us together here, plus an
 * ioeventfd kick of ~35 us for the frames it sent). The spin adapts: it halves
 * each time it catches nothing (sparse traffic then pays no spin and no kick:
 * its answer leaves with the yield exit) and is back in full as soon as a
 * frame comes in within a spin's length, or the tender reports that it waited
 * less than that in the yield.
 */
#define YIELD_SPIN_NS  50000
#define YIELD_SPIN_MIN 1000

static uint64_t spin_ns = YIELD_SPIN_NS;

void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    uint64_t start = mirage_clock_monotonic(), spin_until = 0, waited = 0;
    int exited = 0;

    if (hvt_boot->ndevs > 0 && spin_ns > 0) {
        spin_until = start + spin_ns;
        hvt_net_kick(0); /* the tender sends while we spin */
    }
    /* A request the block thread is serving ends soon (a 4 KiB read in ~10 us):
     * spin for it as block_io does rather than pay a VM exit per request. */
    if (block_inflight && spin_until < start + BLOCK_WAIT_SPIN_NS)
        spin_until = start + BLOCK_WAIT_SPIN_NS;
    for (;;) {
        static struct hvt_hc_yield a;
        uint64_t now;

        *ready = hvt_net_ready() | block_ready();
        now = mirage_clock_monotonic();
        if (*ready) {
            /* Caught by the spin, or so soon that a spin would have caught it. */
            if (!exited || waited <= YIELD_SPIN_NS)
                spin_ns = YIELD_SPIN_NS;
            break;
        }
        if (now >= deadline)
            break;
        if (now < spin_until) {
            __builtin_ia32_pause();
            continue;
        }
        if (!exited) {
            spin_ns = spin_ns / 2 < YIELD_SPIN_MIN ? 0 : spin_ns / 2;
            exited = 1;
        }
        hvt_net_kick(1); /* the tender drains the TX rings when we yield */
        a.timeout_ns = deadline - now;
        a.waited_ns = 0;
        hvt_hypercall(HVT_HC_YIELD, &a);
        waited = a.waited_ns;
    }
    hvt_net_kick(0);
}

int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info)
{
    for (uint32_t i = 0; i < mirage_manifest.count && i < hvt_boot->ndevs; i++) {
        const struct hvt_dev_info *d = &hvt_boot->devs[i];

        if (mirage_manifest.entries[i].type != MIRAGE_DEV_BLOCK || d->type != MIRAGE_DEV_BLOCK ||
            strcmp(mirage_manifest.entries[i].name, name))
            continue;
        if (block_acquired & (1ULL << i))
            return MIRAGE_EINVAL;
        block_acquired |= 1ULL << i;
        *h = i;
        info->capacity = d->capacity;
        info->block_size = d->block_size;
        info->read_only = (d->flags & HVT_DEV_READ_ONLY) != 0;
        return 0;
    }
    return MIRAGE_ENOENT;
}

/* How long the guest spins for an answer before it gives the host its CPU
 * back with a yield exit between looks (the block thread may need this very
 * CPU): a 1 MiB read from the page cache takes ~150 us; a shorter spin (0.1
 * ms) measured 3.5 GB/s at 1 MiB requests against 5-6 GB/s with this one. */
#define BLOCK_SPIN_NS 2000000

/* One request through the device's slot (abi/hvt.h): no VM exit unless the
 * block thread sleeps (a kick, handled inside KVM) or is slow to answer. */
/* Checks a request and hands it to the tender's block thread. */
static int block_publish(mirage_handle_t h, uint32_t op, uint64_t offset, const uint8_t *buf,
                         size_t size)
{
    const struct hvt_dev_info *d;
    struct hvt_block_slot *s;

    if (h >= 64 || !(block_acquired & (1ULL << h)))
        return MIRAGE_EINVAL;
    if (block_inflight & (1ULL << h))
        return MIRAGE_EAGAIN;
    d = &hvt_boot->devs[h];
    if (op != HVT_BLOCK_FLUSH &&
        !mirage_block_range_ok(offset, size, d->block_size, d->capacity))
        return MIRAGE_EINVAL;
    if (op == HVT_BLOCK_WRITE && (d->flags & HVT_DEV_READ_ONLY))
        return MIRAGE_EROFS;
    s = (struct hvt_block_slot *)(uintptr_t)d->ring;
    hvt_net_kick(0); /* frames sent before a long request leave now, not after it */
    s->op = op;
    s->offset = offset;
    s->buf = (uintptr_t)buf;
    s->size = size;
    s->ret = MIRAGE_EIO;
    __atomic_store_n(&s->req, ++block_seq[h], __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->sleeping, __ATOMIC_RELAXED))
        __asm__ volatile("outb %%al, %0" : : "N"(HVT_PORT_BLOCK), "a"(0) : "memory");
    return 0;
}

int mirage_platform_block_submit(mirage_handle_t h, enum mirage_platform_block_op op,
                                 uint64_t offset, uint8_t *buf, size_t size)
{
    static const uint32_t ops[] = {HVT_BLOCK_READ, HVT_BLOCK_WRITE, HVT_BLOCK_FLUSH};
    int r;

    if ((unsigned)op > MIRAGE_PLATFORM_BLOCK_FLUSH)
        return MIRAGE_EINVAL;
    if (op == MIRAGE_PLATFORM_BLOCK_FLUSH)
        offset = size = 0;
    if ((r = block_publish(h, ops[op], offset, buf, size)) == 0)
        block_inflight |= 1ULL << h;
    return r;
}

int mirage_platform_block_complete(mirage_handle_t h)
{
    const struct hvt_block_slot *s;

    if (h >= 64 || !(block_inflight & (1ULL << h)))
        return MIRAGE_EINVAL;
    s = (const struct hvt_block_slot *)(uintptr_t)hvt_boot->devs[h].ring;
    if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != block_seq[h])
        return MIRAGE_EAGAIN;
    block_inflight &= ~(1ULL << h);
    return (int)s->ret;
}

/* One request, waited for here: spinning, then yielding the CPU to the host. */
static int block_io(mirage_handle_t h, uint32_t op, uint64_t offset, const uint8_t *buf,
                    size_t size)
{
    const struct hvt_block_slot *s;
    uint64_t start;
    int r = block_publish(h, op, offset, buf, size);

    if (r < 0)
        return r;
    s = (const struct hvt_block_slot *)(uintptr_t)hvt_boot->devs[h].ring;
    start = mirage_clock_monotonic();
    while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != block_seq[h]) {
        if (mirage_clock_monotonic() - start < BLOCK_SPIN_NS) {
            __builtin_ia32_pause();
        } else {
            static struct hvt_hc_yield y;

            y = (struct hvt_hc_yield){BLOCK_SPIN_NS / 10, 0};

            hvt_hypercall(HVT_HC_YIELD, &y);
        }
    }
    return (int)s->ret;
}

int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf, size_t size)
{
    return block_io(h, HVT_BLOCK_WRITE, offset, buf, size);
}

int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    return block_io(h, HVT_BLOCK_READ, offset, buf, size);
}

int mirage_platform_block_flush(mirage_handle_t h)
{
    return block_io(h, HVT_BLOCK_FLUSH, 0, NULL, 0);
}

const char *mirage_cmdline(void)
{
    return hvt_boot->cmdline;
}

size_t mirage_host_entropy(void *buf, size_t len)
{
    if (len > sizeof(hvt_boot->entropy))
        len = sizeof(hvt_boot->entropy);
    memcpy(buf, hvt_boot->entropy, len);
    return len;
}

void mirage_heap(uintptr_t *start, size_t *size)
{
    *start = hvt_boot->heap_start;
    *size = hvt_boot->heap_size;
}

int mirage_mem_guard(void *page, size_t len, int guard)
{
    static struct hvt_hc_guard a;

    a = (struct hvt_hc_guard){(uintptr_t)page, len, guard != 0, MIRAGE_EINVAL};

    hvt_hypercall(HVT_HC_GUARD, &a);
    return a.ret;
}

/* CR4.FSGSBASE is on, so ring 3 sets its own FS base without an exit. */
__attribute__((no_stack_protector)) int mirage_set_tls_base(uintptr_t base)
{
    __asm__ volatile("wrfsbase %0" : : "r"(base) : "memory");
    return 0;
}

void mirage_exit(int status)
{
    static struct hvt_hc_exit a;

    a = (struct hvt_hc_exit){(uint32_t)status & 0xff, 0};

    for (;;)
        hvt_hypercall(HVT_HC_EXIT, &a);
}

void mirage_abort(void)
{
    static struct hvt_hc_exit a;

    a = (struct hvt_hc_exit){255, 1};

    for (;;)
        hvt_hypercall(HVT_HC_EXIT, &a);
}
