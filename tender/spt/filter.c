/* filter.c: the seccomp filter: the few system calls the guest needs, their arguments pinned. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/if_tun.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mirage/platform.h"
#include "spt.h"

/*
 * Written as classic BPF rather than through libseccomp: building and loading
 * even a small libseccomp filter takes hundreds of microseconds, most of the
 * start-up budget, and libseccomp cannot compare two values of one argument,
 * while a block request needs pos + count <= capacity with 64-bit arithmetic.
 *
 * Layout: an arch check, a binary search on the system call number that
 * jumps to one block per call, each block ending with its own ALLOW and TRAP returns
 * so that every conditional jump stays short (cBPF offsets are 8 bits).
 * Anything not allowed returns TRAP: SIGSYS, which fault.c reports.
 */

struct fixup {
    unsigned insn;
    int label;
    char field; /* 't' (jt), 'f' (jf) or 'k' (ja) */
};

/* The arrays are sized for the devices at hand and live on the stack: a
 * static program of the largest size touched pages (and faulted) for nothing. */
struct prog {
    struct sock_filter *insn;
    int *label_at; /* instruction index of each label, -1 until placed */
    struct fixup *fix;
    unsigned n, max_insns;
    unsigned nlabels, max_labels;
    unsigned nfix, max_fix;
    int broken; /* ran out of room; reported by finish() */
};

#define NONE (-1)

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)

static void emit(struct prog *p, uint16_t code, uint32_t k)
{
    if (p->n == p->max_insns) {
        p->broken = 1;
        return;
    }
    p->insn[p->n++] = (struct sock_filter)BPF_STMT(code, k);
}

static int label(struct prog *p)
{
    if (p->nlabels == p->max_labels) {
        p->broken = 1;
        return 0;
    }
    p->label_at[p->nlabels] = -1;
    return (int)p->nlabels++;
}

static void place(struct prog *p, int l)
{
    p->label_at[l] = (int)p->n;
}

static void fixup(struct prog *p, unsigned insn, int l, char field)
{
    if (l == NONE)
        return;
    if (p->nfix == p->max_fix) {
        p->broken = 1;
        return;
    }
    p->fix[p->nfix++] = (struct fixup){insn, l, field};
}

/* A conditional jump: to (jt) when the test holds, else to (jf); NONE falls through. */
static void jump(struct prog *p, uint16_t op, uint32_t k, int jt, int jf)
{
    unsigned at = p->n;

    emit(p, BPF_JMP | op | BPF_K, k);
    fixup(p, at, jt, 't');
    fixup(p, at, jf, 'f');
}

static void jump_always(struct prog *p, int l)
{
    unsigned at = p->n;

    emit(p, BPF_JMP | BPF_JA, 0);
    fixup(p, at, l, 'k');
}

static void load(struct prog *p, uint32_t off)
{
    emit(p, BPF_LD | BPF_W | BPF_ABS, off);
}

static void ret(struct prog *p, uint32_t action)
{
    emit(p, BPF_RET | BPF_K, action);
}

/* Resolves the jumps; a conditional one too far for 8 bits breaks the program. */
static int finish(struct prog *p)
{
    if (p->broken)
        return -1;
    for (unsigned i = 0; i < p->nfix; i++) {
        struct sock_filter *f = &p->insn[p->fix[i].insn];
        int to = p->label_at[p->fix[i].label];
        long dist = (long)to - (long)p->fix[i].insn - 1;

        if (to < 0 || dist < 0 || (p->fix[i].field != 'k' && dist > 255))
            return -1;
        if (p->fix[i].field == 't')
            f->jt = (uint8_t)dist;
        else if (p->fix[i].field == 'f')
            f->jf = (uint8_t)dist;
        else
            f->k = (uint32_t)dist;
    }
    return 0;
}

/* Each block starts at its label with fresh ALLOW and TRAP labels it places at its end. */
struct block {
    int allow, trap;
};

static struct block block_begin(struct prog *p, int at)
{
    struct block b = {label(p), label(p)};

    place(p, at);
    return b;
}

static void block_end(struct prog *p, struct block b)
{
    place(p, b.allow);
    ret(p, SECCOMP_RET_ALLOW);
    place(p, b.trap);
    ret(p, SECCOMP_RET_TRAP);
}

/* With the fd loaded: jumps to (b)'s allow for the fd of every device of
 * (type), only the writable ones when (writable). */
static void allow_fds(struct prog *p, struct block b, const struct spt_boot_info *boot,
                      uint32_t type, int writable)
{
    for (unsigned h = 0; h < boot->ndevs; h++)
        if (boot->devs[h].type == type && !(writable && (boot->devs[h].flags & SPT_DEV_READ_ONLY)))
            jump(p, BPF_JEQ, (uint32_t)boot->devs[h].fd, b.allow, NONE);
}

/* read(fd, ...) and readv(fd, ...): the taps. */
static void read_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);

    load(p, ARG_LO(0));
    allow_fds(p, b, boot, MIRAGE_DEV_NET, 0);
    jump_always(p, b.trap);
    block_end(p, b);
}

/* write(fd, ...): the console (1), stderr for the fault reports (2), the taps. */
static void write_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);

    load(p, ARG_LO(0));
    jump(p, BPF_JEQ, 1, b.allow, NONE);
    jump(p, BPF_JEQ, 2, b.allow, NONE);
    allow_fds(p, b, boot, MIRAGE_DEV_NET, 0);
    jump_always(p, b.trap);
    block_end(p, b);
}

/* writev(fd, iov, 2): a tap with a virtio-net header, the header and the frame. */
static void writev_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);
    int fd_ok = label(p);

    load(p, ARG_LO(0));
    for (unsigned h = 0; h < boot->ndevs; h++)
        if (boot->devs[h].type == MIRAGE_DEV_NET && (boot->devs[h].flags & SPT_DEV_VNET))
            jump(p, BPF_JEQ, (uint32_t)boot->devs[h].fd, fd_ok, NONE);
    jump_always(p, b.trap);
    place(p, fd_ok);
    load(p, ARG_HI(2));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(2));
    jump(p, BPF_JEQ, 2, b.allow, b.trap);
    block_end(p, b);
}

/* ioctl(fd, TUNSETOFFLOAD, flags): a tap turning on or off offloads it was
 * found to take, nothing else (M[0] the fd's allowed flags' complement), and
 * only in combinations the guest may ask for (mirage_tun_offload_setting:
 * USO4 never without USO6, segmentation never without the checksum). */
static void ioctl_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);
    int cmd = label(p), within = label(p);

    load(p, ARG_LO(0));
    for (unsigned h = 0; h < boot->ndevs; h++) {
        const struct spt_dev_info *d = &boot->devs[h];
        uint32_t tun = mirage_tun_offload_flags(d->offloads);
        int next;

        if (d->type != MIRAGE_DEV_NET || !(d->flags & SPT_DEV_VNET) || d->offloads == 0)
            continue;
        next = label(p);
        jump(p, BPF_JEQ, (uint32_t)d->fd, NONE, next);
        emit(p, BPF_LD | BPF_IMM, ~tun);
        emit(p, BPF_ST, 0);
        jump_always(p, cmd);
        place(p, next);
    }
    jump_always(p, b.trap);
    place(p, cmd);
    load(p, ARG_HI(1));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(1));
    jump(p, BPF_JEQ, TUNSETOFFLOAD, NONE, b.trap);
    load(p, ARG_HI(2));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(2));
    emit(p, BPF_LDX | BPF_MEM, 0);
    emit(p, BPF_ALU | BPF_AND | BPF_X, 0);
    jump(p, BPF_JEQ, 0, within, b.trap);
    place(p, within);
    load(p, ARG_LO(2));
    for (unsigned k = 0; mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, k) != ~0UL; k++)
        jump(p, BPF_JEQ, (uint32_t)mirage_tun_offload_setting(MIRAGE_NET_OFFLOAD_ALL, k), b.allow,
             NONE);
    jump_always(p, b.trap);
    block_end(p, b);
}

/*
 * pread64/pwrite64(fd, buf, count, pos) for one disk: count < 2^32 and
 * pos < 2^63 so that the sum cannot wrap, both multiples of the sector, and
 * pos + count <= capacity, computed in 32-bit halves with scratch memory:
 * M[0] count, M[1] pos.lo, M[2] end.lo, M[3] pos.hi.
 */
static void disk_checks(struct prog *p, const struct spt_dev_info *d, struct block b)
{
    uint32_t sector_mask = (uint32_t)(d->block_size - 1);
    uint32_t cap_hi = (uint32_t)(d->capacity >> 32), cap_lo = (uint32_t)d->capacity;
    int carry = label(p), no_carry = label(p), end_hi = label(p), check_lo = label(p);

    load(p, ARG_HI(2));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(2));
    jump(p, BPF_JSET, sector_mask, b.trap, NONE);
    emit(p, BPF_ST, 0);
    load(p, ARG_LO(3));
    jump(p, BPF_JSET, sector_mask, b.trap, NONE);
    emit(p, BPF_ST, 1);
    emit(p, BPF_LDX | BPF_MEM, 0);
    emit(p, BPF_ALU | BPF_ADD | BPF_X, 0);
    emit(p, BPF_ST, 2);
    load(p, ARG_HI(3));
    jump(p, BPF_JGT, cap_hi, b.trap, NONE);
    emit(p, BPF_ST, 3);
    emit(p, BPF_LDX | BPF_MEM, 1);
    emit(p, BPF_LD | BPF_MEM, 2);
    /* end.lo < pos.lo exactly when the low halves carried. */
    jump(p, BPF_JGE | BPF_X, 0, no_carry, carry);
    place(p, carry);
    emit(p, BPF_LD | BPF_MEM, 3);
    emit(p, BPF_ALU | BPF_ADD | BPF_K, 1);
    jump_always(p, end_hi);
    place(p, no_carry);
    emit(p, BPF_LD | BPF_MEM, 3);
    place(p, end_hi);
    jump(p, BPF_JGT, cap_hi, b.trap, NONE);
    jump(p, BPF_JEQ, cap_hi, check_lo, b.allow);
    place(p, check_lo);
    emit(p, BPF_LD | BPF_MEM, 2);
    jump(p, BPF_JGT, cap_lo, b.trap, b.allow);
}

/* (writes): the pwrite64 block, which leaves out read-only disks. */
static void disk_block(struct prog *p, int at, const struct spt_boot_info *boot, int writes)
{
    place(p, at);
    for (unsigned h = 0; h < boot->ndevs; h++) {
        const struct spt_dev_info *d = &boot->devs[h];
        struct block b;
        int next;

        if (d->type != MIRAGE_DEV_BLOCK || (writes && (d->flags & SPT_DEV_READ_ONLY)))
            continue;
        b = (struct block){label(p), label(p)};
        next = label(p);
        load(p, ARG_LO(0)); /* again for each disk: the checks reuse A */
        jump(p, BPF_JEQ, (uint32_t)d->fd, NONE, next);
        disk_checks(p, d, b);
        block_end(p, b);
        place(p, next);
    }
    ret(p, SECCOMP_RET_TRAP);
}

/* fdatasync(fd): a writable disk's fd (a flush). */
static void fdatasync_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);

    load(p, ARG_HI(0));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(0));
    allow_fds(p, b, boot, MIRAGE_DEV_BLOCK, 1);
    jump_always(p, b.trap);
    block_end(p, b);
}

/* epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize): our
 * epoll fd, and no signal mask (the guest must not block SIGSYS and friends). */
static void epoll_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);

    load(p, ARG_LO(0));
    jump(p, BPF_JEQ, (uint32_t)boot->epoll_fd, NONE, b.trap);
    load(p, ARG_LO(4));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_HI(4));
    jump(p, BPF_JEQ, 0, b.allow, b.trap);
    block_end(p, b);
}

static void clock_block(struct prog *p, int at)
{
    struct block b = block_begin(p, at);

    load(p, ARG_LO(0));
    jump(p, BPF_JEQ, 0 /* CLOCK_REALTIME */, b.allow, NONE);
    jump(p, BPF_JEQ, 1 /* CLOCK_MONOTONIC */, b.allow, b.trap);
    block_end(p, b);
}

static void arch_prctl_block(struct prog *p, int at)
{
    struct block b = block_begin(p, at);

    load(p, ARG_LO(0));
    jump(p, BPF_JEQ, 0x1002 /* ARCH_SET_FS */, b.allow, b.trap);
    block_end(p, b);
}

/*
 * mprotect(addr, len, prot): fiber stacks' guard pages. prot is PROT_NONE or
 * PROT_READ|PROT_WRITE, never PROT_EXEC, and [addr, addr + len) lies within
 * the heap (whole pages; the kernel refuses an unaligned addr itself). So the
 * guest can only take away or give back read/write access to its own heap:
 * never execute anything, never touch its image (W^X stays), the boot info or
 * the initial stack and its guard. The checks compare 32-bit words, so a heap
 * ending above 4 GiB gets no mprotect at all (the binding knows and does not
 * ask). M[0] len, M[1] heap end - len.
 */
static void mprotect_block(struct prog *p, int at, const struct spt_boot_info *boot)
{
    struct block b = block_begin(p, at);
    uint64_t start = boot->heap_start, end = boot->heap_start + boot->heap_size;
    int prot_ok = label(p);

    if (end > 0xffffffffULL) {
        jump_always(p, b.trap);
        block_end(p, b);
        return;
    }
    load(p, ARG_HI(2));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(2));
    jump(p, BPF_JEQ, 0 /* PROT_NONE */, prot_ok, NONE);
    jump(p, BPF_JEQ, 3 /* PROT_READ | PROT_WRITE */, prot_ok, b.trap);
    place(p, prot_ok);
    load(p, ARG_HI(0));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_HI(1));
    jump(p, BPF_JEQ, 0, NONE, b.trap);
    load(p, ARG_LO(1));
    jump(p, BPF_JSET, 0xfff, b.trap, NONE);
    jump(p, BPF_JGT, (uint32_t)boot->heap_size, b.trap, NONE);
    emit(p, BPF_ST, 0);
    emit(p, BPF_LD | BPF_IMM, (uint32_t)end);
    emit(p, BPF_LDX | BPF_MEM, 0);
    emit(p, BPF_ALU | BPF_SUB | BPF_X, 0); /* no wrap: len <= heap size <= end */
    emit(p, BPF_ST, 1);
    load(p, ARG_LO(0));
    jump(p, BPF_JGE, (uint32_t)start, NONE, b.trap);
    emit(p, BPF_LDX | BPF_MEM, 1);
    jump(p, BPF_JGT | BPF_X, 0, b.trap, b.allow);
    block_end(p, b);
}

struct call {
    uint32_t nr;
    int target;
};

/*
 * A binary search over calls[0..n), sorted by number. When the filter is
 * installed the kernel runs it once for every system call number of both
 * x86 ABIs to cache which ones are always allowed, with interrupts off: a
 * linear dispatch made that the most expensive step of the tender's start
 * (build() now cuts that pass short, but the search keeps each call cheap).
 */
static void dispatch(struct prog *p, const struct call *c, size_t n)
{
    size_t mid = n / 2;
    int right;

    if (n <= 2) {
        for (size_t i = 0; i < n; i++) {
            int next = label(p);

            jump(p, BPF_JEQ, c[i].nr, NONE, next);
            jump_always(p, c[i].target);
            place(p, next);
        }
        ret(p, SECCOMP_RET_TRAP);
        return;
    }
    right = label(p);
    jump(p, BPF_JGE, c[mid].nr, right, NONE);
    dispatch(p, c, mid);
    place(p, right);
    dispatch(p, c + mid, n - mid);
}

/* --dumpcore's file (fault.c and core.c): pwrite64 and ftruncate of its fd,
 * linkat(fd, "", dirfd, name, AT_EMPTY_PATH) naming it in its directory, with
 * both names the tender's read-only ones (core->link_old, link_new), and
 * mincore (residency only) to leave untouched memory out. pwrite64 of any
 * other fd goes on to the disks' checks. */
static void core_blocks(struct prog *p, int l_pwrite, int l_disk_write, int l_trunc, int l_link,
                        int l_mincore, const struct tender_core *core)
{
    struct block b = block_begin(p, l_pwrite);

    if (core->fd >= 0) {
        load(p, ARG_LO(0));
        jump(p, BPF_JEQ, (uint32_t)core->fd, b.allow, NONE);
    }
    jump_always(p, l_disk_write);
    block_end(p, b);
    b = block_begin(p, l_trunc);
    if (core->fd >= 0) {
        load(p, ARG_LO(0));
        jump(p, BPF_JEQ, (uint32_t)core->fd, b.allow, b.trap);
    } else {
        jump_always(p, b.trap);
    }
    block_end(p, b);
    b = block_begin(p, l_link);
    if (core->fd >= 0) {
        load(p, ARG_LO(0));
        jump(p, BPF_JEQ, (uint32_t)core->fd, NONE, b.trap);
        load(p, ARG_LO(2));
        jump(p, BPF_JEQ, (uint32_t)core->dirfd, NONE, b.trap);
        /* the names: the tender's read-only ones, never the guest's */
        load(p, ARG_LO(1));
        jump(p, BPF_JEQ, (uint32_t)(uintptr_t)core->link_old, NONE, b.trap);
        load(p, ARG_HI(1));
        jump(p, BPF_JEQ, (uint32_t)((uintptr_t)core->link_old >> 32), NONE, b.trap);
        load(p, ARG_LO(3));
        jump(p, BPF_JEQ, (uint32_t)(uintptr_t)core->link_new, NONE, b.trap);
        load(p, ARG_HI(3));
        jump(p, BPF_JEQ, (uint32_t)((uintptr_t)core->link_new >> 32), NONE, b.trap);
        load(p, ARG_LO(4));
        jump(p, BPF_JEQ, 0x1000 /* AT_EMPTY_PATH */, b.allow, b.trap);
    } else {
        jump_always(p, b.trap);
    }
    block_end(p, b);
    b = block_begin(p, l_mincore);
    jump_always(p, core->fd >= 0 ? b.allow : b.trap);
    block_end(p, b);
}

static int build(struct prog *p, const struct spt_boot_info *boot, const struct tender_core *core)
{
    int l_pwrite = label(p), l_trunc = label(p), l_link = label(p), l_mincore = label(p);
    int l_read = label(p), l_write = label(p), l_epoll = label(p), l_disk = label(p);
    int l_disk_write = label(p), l_sync = label(p);
    int l_clock = label(p), l_arch = label(p), l_exit = label(p), bad = label(p);
    int l_mprotect = label(p), l_writev = label(p), l_ioctl = label(p);
    const struct call calls[] = {
        /* in ascending order: dispatch() searches them */
        {SYS_read, l_read},           {SYS_write, l_write},     {SYS_mprotect, l_mprotect},
        {SYS_ioctl, l_ioctl},         {SYS_pread64, l_disk},    {SYS_pwrite64, l_pwrite},
        {SYS_readv, l_read},          {SYS_writev, l_writev},   {SYS_mincore, l_mincore},
        {SYS_fdatasync, l_sync},      {SYS_ftruncate, l_trunc}, {SYS_arch_prctl, l_arch},
        {SYS_clock_gettime, l_clock}, {SYS_exit_group, l_exit}, {SYS_linkat, l_link},
        {SYS_epoll_pwait2, l_epoll},
    };

    load(p, offsetof(struct seccomp_data, arch));
    jump(p, BPF_JEQ, AUDIT_ARCH_X86_64, NONE, bad);
    /* Unused here, but the kernel's cache pass stops at the first load of an
     * argument: it then gives up on each system call number after three
     * instructions instead of walking the search (-8 us at start-up). */
    load(p, ARG_LO(0));
    load(p, offsetof(struct seccomp_data, nr));
    dispatch(p, calls, sizeof(calls) / sizeof(calls[0]));
    place(p, bad);
    ret(p, SECCOMP_RET_TRAP);

    /* Before the disks' blocks: cBPF jumps only forward. */
    core_blocks(p, l_pwrite, l_disk_write, l_trunc, l_link, l_mincore, core);
    read_block(p, l_read, boot);
    write_block(p, l_write, boot);
    writev_block(p, l_writev, boot);
    ioctl_block(p, l_ioctl, boot);
    epoll_block(p, l_epoll, boot);
    disk_block(p, l_disk, boot, 0);
    disk_block(p, l_disk_write, boot, 1);
    fdatasync_block(p, l_sync, boot);
    clock_block(p, l_clock);
    mprotect_block(p, l_mprotect, boot);
    arch_prctl_block(p, l_arch);
    place(p, l_exit);
    ret(p, SECCOMP_RET_ALLOW);
    return finish(p);
}

int spt_filter_install(const struct spt_boot_info *boot, const struct tender_core *core, char *err)
{
    unsigned nnet = 0, nblock = 0;

    for (unsigned h = 0; h < boot->ndevs; h++) {
        nnet += boot->devs[h].type == MIRAGE_DEV_NET;
        nblock += boot->devs[h].type == MIRAGE_DEV_BLOCK;
    }

    /* Generous bounds: the fixed part takes about 170 instructions, a disk 65
     * (its read and write checks and its fdatasync). */
    unsigned max_insns = 240 + 80 * nblock + 12 * nnet;
    unsigned max_labels = 96 + 20 * nblock + 2 * nnet;
    unsigned max_fix = 200 + 40 * nblock + 8 * nnet;
    struct sock_filter insn[max_insns];
    int label_at[max_labels];
    struct fixup fix[max_fix];
    struct prog p = {insn, label_at, fix, 0, max_insns, 0, max_labels, 0, max_fix, 0};
    struct sock_fprog fprog;

    if (build(&p, boot, core) < 0 || p.n > BPF_MAXINSNS) {
        snprintf(err, TENDER_ERR_MAX, "the seccomp filter does not fit (%u instructions)", p.n);
        return -1;
    }
    fprog.len = (unsigned short)p.n;
    fprog.filter = p.insn;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
        snprintf(err, TENDER_ERR_MAX, "cannot install the seccomp filter: %s", strerror(errno));
        return -1;
    }
    return 0;
}
