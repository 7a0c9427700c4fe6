/* entry.c: the spt binding: start, console, clocks, yield, memory and exit over raw syscalls. */
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/tcb.h"
#include "sys.h"

const struct spt_boot_info *spt_boot;
uint8_t spt_acquired[SPT_MAX_DEVS];

__attribute__((noreturn)) static void exit_group(int status)
{
    for (;;)
        spt_syscall1(SYS_exit_group, status);
}

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

/* Called by _start; never returns. FS is still the tender's until
 * mirage_tcb_init_seeded() points it at our TCB with the tender's random
 * canary, so this frame must not carry a canary of its own. */
__attribute__((noreturn, no_stack_protector)) void spt_main(const struct spt_boot_info *boot);

void spt_main(const struct spt_boot_info *boot)
{
    spt_boot = boot;
    if (boot->magic != SPT_BOOT_MAGIC || boot->version != SPT_BOOT_VERSION) {
        say("spt: the tender speaks another boot ABI version\n");
        exit_group(255);
    }
    mirage_tcb_init_seeded(boot->random);
    mirage_exit(mirage_boot(boot->name));
}

const char *mirage_cmdline(void)
{
    return spt_boot->cmdline;
}

/* All zero: the tender's getrandom had nothing to give. */
size_t mirage_host_entropy(void *buf, size_t len)
{
    uint8_t any = 0;

    if (len > sizeof(spt_boot->entropy))
        len = sizeof(spt_boot->entropy);
    for (size_t i = 0; i < sizeof(spt_boot->entropy); i++)
        any |= spt_boot->entropy[i];
    if (!any)
        return 0;
    memcpy(buf, spt_boot->entropy, len);
    return len;
}

void mirage_heap(uintptr_t *start, size_t *size)
{
    *start = (uintptr_t)spt_boot->heap_start;
    *size = (size_t)spt_boot->heap_size;
}

int mirage_set_tls_base(uintptr_t base)
{
    return spt_syscall2(SYS_arch_prctl, SPT_ARCH_SET_FS, (long)base) == 0 ? 0 : MIRAGE_EINVAL;
}

void mirage_exit(int status)
{
    exit_group(status & 0xff);
}

void mirage_abort(void)
{
    /* The tender ends us with 255 from its SIGILL handler (and a core file
     * with --dumpcore); exit_group should that ever return. */
    __asm__ volatile("ud2" : : "a"(SPT_ABORT_MAGIC) : "memory");
    exit_group(255);
}

void mirage_console_write(const char *buf, size_t len)
{
    while (len > 0) {
        long n = spt_syscall3(SYS_write, 1, (long)buf, (long)len);
        if (n == -SPT_EINTR)
            continue;
        if (n <= 0)
            return; /* the console is gone: nothing better to do with the bytes */
        buf += n;
        len -= (size_t)n;
    }
}

/* Through the vDSO where the tender found it: no system call, and no
 * seccomp filter run, for the clock TCP reads on every receive batch. */
static uint64_t clock_ns(long id)
{
    struct spt_timespec ts;
    int (*vdso)(long, struct spt_timespec *) =
        (int (*)(long, struct spt_timespec *))(uintptr_t)spt_boot->clock_gettime;

    if (vdso != NULL ? vdso(id, &ts) != 0 : spt_syscall2(SYS_clock_gettime, id, (long)&ts) != 0)
        return 0;
    return (uint64_t)ts.sec * 1000000000ULL + (uint64_t)ts.nsec;
}

uint64_t mirage_clock_monotonic(void)
{
    return clock_ns(SPT_CLOCK_MONOTONIC);
}

uint64_t mirage_clock_wall(void)
{
    return clock_ns(SPT_CLOCK_REALTIME);
}

void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    struct spt_epoll_event ev[SPT_MAX_DEVS];
    struct spt_timespec ts = {0, 0};
    uint64_t now = mirage_clock_monotonic();
    mirage_handle_set_t set = 0;
    long n;

    if (deadline > now) {
        uint64_t wait = deadline - now;
        ts.sec = (int64_t)(wait / 1000000000ULL);
        ts.nsec = (int64_t)(wait % 1000000000ULL);
    }
    n = spt_syscall6(SYS_epoll_pwait2, spt_boot->epoll_fd, (long)ev, SPT_MAX_DEVS, (long)&ts, 0, 0);
    for (long i = 0; i < n; i++) {
        if (ev[i].data >= SPT_MAX_DEVS)
            continue;
        /* A deleted tap reports an error for ever: waiting on would spin. */
        if (ev[i].events & (SPT_EPOLLERR | SPT_EPOLLHUP))
            spt_net_lost(ev[i].data);
        set |= 1ULL << ev[i].data;
    }
    *ready = set;
}

int spt_acquire(const char *name, uint32_t type)
{
    uint32_t count = mirage_manifest.count;

    if (count > spt_boot->ndevs)
        count = spt_boot->ndevs;
    for (uint32_t h = 0; h < count; h++) {
        const struct mirage_manifest_entry *e = &mirage_manifest.entries[h];

        if (e->type != type || strncmp(e->name, name, sizeof(e->name)) != 0)
            continue;
        if (spt_boot->devs[h].type != type || spt_acquired[h])
            return MIRAGE_EINVAL;
        spt_acquired[h] = 1;
        return (int)h;
    }
    return MIRAGE_ENOENT;
}

const struct spt_dev_info *spt_device(mirage_handle_t h, uint32_t type)
{
    if (h >= SPT_MAX_DEVS || !spt_acquired[h] || spt_boot->devs[h].type != type)
        return NULL;
    return &spt_boot->devs[h];
}
