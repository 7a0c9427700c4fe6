/* main.c: mirage-spt: loads a unikernel into this process, seals it in seccomp and jumps to it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spt.h"

_Static_assert(SPT_EXIT_LOST == TENDER_EXIT_LOST, "the binding's status for a lost tap");

static struct tender_opts opts;
static struct tender_image img;
static struct tender_device devs[MIRAGE_MANIFEST_MAX];
static struct tender_core core = {.fd = -1, .dirfd = -1};

/* mirage_fiber_running's address in the image (fd), for the core file's note. */
static uint64_t fiber_symbol(int fd)
{
    struct stat st;
    uint64_t a = TENDER_NO_SYMBOL;
    void *data;

    if (fstat(fd, &st) < 0 || st.st_size <= 0)
        return a;
    data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED)
        return a;
    a = tender_elf_object(data, (size_t)st.st_size, "mirage_fiber_running");
    munmap(data, (size_t)st.st_size);
    return a;
}

static int refuse(const char *err)
{
    fprintf(stderr, "mirage-spt: %s\n", err);
    return TENDER_EXIT_REFUSED;
}

/* The unikernel's name: the image's file name without its directory and ".spt". */
static void set_name(struct spt_boot_info *boot, const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(base);

    if (len > 4 && strcmp(base + len - 4, ".spt") == 0)
        len -= 4;
    if (len > sizeof(boot->name) - 1)
        len = sizeof(boot->name) - 1;
    memcpy(boot->name, base, len);
    boot->name[len] = '\0';
}

/* One epoll instance holds every tap, with the handle as its data, for mirage_yield. */
static int make_epoll(struct spt_boot_info *boot, char *err)
{
    boot->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (boot->epoll_fd < 0)
        goto bad;
    for (unsigned h = 0; h < boot->ndevs; h++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = h};

        if (boot->devs[h].type == MIRAGE_DEV_NET &&
            epoll_ctl(boot->epoll_fd, EPOLL_CTL_ADD, boot->devs[h].fd, &ev) < 0)
            goto bad;
    }
    return 0;
bad:
    snprintf(err, TENDER_ERR_MAX, "cannot set up epoll: %m");
    return -1;
}

/* The guest's canary, pointer guard and random seed. Should getrandom fail
 * (no entropy yet this early after the host's boot), they stay zero and the
 * guest takes its own from the CPU. */
static void fill_random(struct spt_boot_info *boot)
{
    if (getrandom(boot->random, sizeof(boot->random), GRND_NONBLOCK) != sizeof(boot->random))
        memset(boot->random, 0, sizeof(boot->random));
    if (getrandom(boot->entropy, sizeof(boot->entropy), GRND_NONBLOCK) != sizeof(boot->entropy))
        memset(boot->entropy, 0, sizeof(boot->entropy));
}

static void fill_boot(struct spt_boot_info *boot)
{
    fill_random(boot);
    boot->magic = SPT_BOOT_MAGIC;
    boot->version = SPT_BOOT_VERSION;
    boot->ndevs = img.ndevs;
    for (unsigned h = 0; h < img.ndevs; h++) {
        struct spt_dev_info *d = &boot->devs[h];

        d->type = devs[h].type;
        d->fd = devs[h].fd;
        memcpy(d->mac, devs[h].mac, sizeof(d->mac));
        d->mtu = devs[h].mtu;
        d->capacity = devs[h].capacity;
        d->block_size = devs[h].block_size;
        d->flags = devs[h].read_only ? SPT_DEV_READ_ONLY : 0;
        d->flags |= devs[h].vnet ? SPT_DEV_VNET : 0;
        d->offloads = devs[h].offloads;
        /* tender_tap_open() took only names shorter than IFNAMSIZ. */
        if (d->type == MIRAGE_DEV_NET)
            strncpy(d->tap, devs[h].host, sizeof(d->tap) - 1);
    }
    set_name(boot, opts.image);
    boot->clock_gettime = spt_vdso_clock_gettime();
    /* Only the bytes in use: each page of guest memory touched costs a fault. */
    memcpy(boot->cmdline, opts.cmdline, strnlen(opts.cmdline, sizeof(boot->cmdline) - 1));
}

/* Leaves the tender for good: the guest's stack, its boot info in %rdi, its entry. */
__attribute__((noreturn)) static void enter(uint64_t entry, uint64_t stack_top,
                                            struct spt_boot_info *boot)
{
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "jmp *%1"
                     :
                     : "r"(stack_top), "r"(entry), "D"(boot)
                     : "memory");
    __builtin_unreachable();
}

int main(int argc, char **argv)
{
    char err[TENDER_ERR_MAX];
    struct spt_guest_mem mem;
    uint64_t fiber_sym = TENDER_NO_SYMBOL;
    int fd, r;

    r = tender_opts_parse(argc, argv, &opts, err);
    if (r == TENDER_OPTS_BAD_ARGS) {
        fprintf(stderr, "mirage-spt: %s\n", err);
        return TENDER_EXIT_USAGE;
    }
    if (r < 0) {
        fprintf(stderr, "mirage-spt: %s (see --help)\n", err);
        return TENDER_EXIT_REFUSED;
    }
    if (opts.help) {
        tender_usage("mirage-spt");
        return 0;
    }
    if (opts.gdb_port)
        return refuse("--gdb is mirage-hvt's: on spt, run gdb on the tender with "
                      "tender/spt/mirage-spt-gdb.py (see the README)");
    if (tender_mem_check(opts.mem_bytes, err) < 0)
        return refuse(err);
    fd = spt_image_open(opts.image, &img, err);
    if (fd < 0)
        return refuse(err);
    if (tender_devices_open(&opts, &img, devs, err) < 0 || spt_image_map(fd, &img, err) < 0 ||
        spt_guest_map(img.hi, opts.mem_bytes, &mem, err) < 0)
        return refuse(err);
    if (opts.dumpcore) {
        if (tender_core_open(&core, opts.dumpcore, "mirage-spt", err) < 0)
            return refuse(err);
        fiber_sym = fiber_symbol(fd);
    }
    close(fd);
    spt_faults_core(opts.dumpcore ? &core : NULL, img.lo, img.hi, img.hi + opts.mem_bytes,
                    fiber_sym,
                    strrchr(opts.image, '/') ? strrchr(opts.image, '/') + 1 : opts.image);
    fill_boot(mem.boot);
    if (make_epoll(mem.boot, err) < 0 ||
        spt_faults_catch(mem.guard, mem.boot->heap_start,
                         mem.boot->heap_start + mem.boot->heap_size, err) < 0 ||
        spt_filter_install(mem.boot, &core, err) < 0)
        return refuse(err);
    enter(img.entry, mem.stack_top, mem.boot);
}
