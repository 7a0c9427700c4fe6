/* block.c: the block thread serves each block device's request slot: requests cost no VM exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mirage/abi/block.h"
#include "mirage/error.h"
#include "vm.h"

struct disk {
    const struct tender_device *dev;
    const char *name;
    struct hvt_block_slot *slot;
    uint32_t done; /* the last sequence served, the thread's own copy */
};

struct hvt_block {
    struct hvt_vm *vm;
    unsigned n;
    struct disk disks[HVT_MAX_DEVS];
    int kickfd;  /* the guest's kicks, via KVM_IOEVENTFD */
    int donefd;  /* signalled after each request served: wakes a yielding vCPU */
    int started; /* set by the thread once glibc's thread start-up (rseq) is done */
};

static int64_t transfer(const struct tender_device *d, int write_op, uint8_t *buf, uint64_t off,
                        uint64_t size)
{
    while (size > 0) {
        ssize_t n = write_op ? pwrite(d->fd, buf, size, off) : pread(d->fd, buf, size, off);

        if (n < 0 && errno == EINTR)
            continue;
        /* A buffer the guest made inaccessible meanwhile fails with EFAULT
         * here: the kernel copies, so the tender never faults on it. */
        if (n <= 0)
            return MIRAGE_EIO;
        buf += n;
        off += n;
        size -= n;
    }
    return 0;
}

/* Serves (k)'s request (seq): the fields are read once, then checked. */
static void serve(struct hvt_block *blk, struct disk *k, uint32_t seq)
{
    const struct tender_device *d = k->dev;
    uint32_t op = __atomic_load_n(&k->slot->op, __ATOMIC_RELAXED);
    uint64_t off = __atomic_load_n(&k->slot->offset, __ATOMIC_RELAXED);
    uint64_t gpa = __atomic_load_n(&k->slot->buf, __ATOMIC_RELAXED);
    uint64_t size = __atomic_load_n(&k->slot->size, __ATOMIC_RELAXED);
    const struct hvt_vm *vm = blk->vm;
    /* The guest is inside its block call, so no guard hypercall changes the
     * guard pages while this thread reads them. */
    uint8_t *buf = hvt_gpa(vm, gpa, size);
    int64_t ret;

    if (op != HVT_BLOCK_FLUSH && buf == NULL) {
        char who[64];

        snprintf(who, sizeof(who), "bad block request on '%s': buffer", k->name);
        hvt_bad_range(vm, who, gpa, size);
        _exit(TENDER_EXIT_SANDBOX);
    }
    if (op == HVT_BLOCK_FLUSH)
        ret = d->read_only || fdatasync(d->fd) == 0 ? 0 : MIRAGE_EIO;
    else if (op > HVT_BLOCK_FLUSH || !mirage_block_range_ok(off, size, d->block_size, d->capacity))
        ret = MIRAGE_EINVAL;
    else if (op == HVT_BLOCK_WRITE && d->read_only)
        ret = MIRAGE_EROFS;
    else
        ret = transfer(d, op == HVT_BLOCK_WRITE, buf, off, size);
    __atomic_store_n(&k->slot->ret, ret, __ATOMIC_RELAXED);
    __atomic_store_n(&k->slot->done, seq, __ATOMIC_RELEASE);
    k->done = seq;
}

static unsigned serve_all(struct hvt_block *blk)
{
    unsigned work = 0;

    for (unsigned i = 0; i < blk->n; i++) {
        struct disk *k = &blk->disks[i];
        uint32_t seq = __atomic_load_n(&k->slot->req, __ATOMIC_ACQUIRE);

        if (seq != k->done) {
            serve(blk, k, seq);
            work++;
        }
    }
    if (work) {
        /* A guest that went on with other fibers may be yielding now: its
         * wait ends (hvt_net_wait or hc_yield polls donefd). */
        uint64_t one = 1;
        if (write(blk->donefd, &one, sizeof(one)) < 0)
            return work; /* the counter is full: the vCPU wakes anyway */
    }
    return work;
}

static void block_sleep(struct hvt_block *blk)
{
    struct pollfd pfd = {.fd = blk->kickfd, .events = POLLIN};
    uint64_t junk;

    for (unsigned i = 0; i < blk->n; i++)
        __atomic_store_n(&blk->disks[i].slot->sleeping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    /* A request published before the guest could see (sleeping) got no kick. */
    if (!serve_all(blk))
        while (ppoll(&pfd, 1, NULL, NULL) < 0 && errno == EINTR)
            ;
    for (unsigned i = 0; i < blk->n; i++)
        __atomic_store_n(&blk->disks[i].slot->sleeping, 0, __ATOMIC_SEQ_CST);
    if (read(blk->kickfd, &junk, sizeof(junk)) < 0)
        return; /* no kick pending */
}

static unsigned block_serve(void *arg)
{
    return serve_all(arg);
}

static void block_idle(void *arg)
{
    block_sleep(arg);
}

static void *block_thread(void *arg)
{
    struct hvt_block *blk = arg;

    hvt_io_loop(&blk->started, block_serve, block_idle, blk);
    return NULL;
}

int hvt_block_setup(struct hvt_vm *vm, char *err)
{
    struct hvt_block *blk;

    if (hvt_ndevs(vm, MIRAGE_DEV_BLOCK) == 0)
        return 0;
    blk = vm->block = calloc(1, sizeof(*vm->block));
    if (!blk)
        return tender_fail(err, "out of memory");
    blk->vm = vm;
    for (unsigned i = 0; i < vm->img->ndevs; i++) {
        struct disk *k = &blk->disks[blk->n];

        if (vm->devs[i].type != MIRAGE_DEV_BLOCK)
            continue;
        k->dev = &vm->devs[i];
        k->name = vm->img->devs[i].name;
        k->slot = (struct hvt_block_slot *)(vm->mem + vm->ring_gpa[i]);
        blk->n++;
    }
    blk->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (blk->donefd < 0)
        return tender_fail(err, "eventfd: %s", strerror(errno));
    return hvt_kick_fd(vm, HVT_PORT_BLOCK, &blk->kickfd, err);
}

int hvt_block_start(struct hvt_vm *vm, char *err)
{
    if (!vm->block)
        return 0;
    return hvt_thread_start(block_thread, vm->block, &vm->block->started, "block", err);
}

int hvt_block_fds(const struct hvt_vm *vm, int *fds, int max)
{
    if (!vm->block || max < 2)
        return 0;
    fds[0] = vm->block->kickfd;
    fds[1] = vm->block->donefd;
    return 2;
}

int hvt_block_donefd(const struct hvt_vm *vm)
{
    return vm->block ? vm->block->donefd : -1;
}
