/* guard.c: fiber stacks' guard pages: heap pages the tender makes inaccessible in guest memory. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "mirage/abi/guard.h"
#include "mirage/error.h"
#include "vm.h"

#define PAGE 4096ULL

/* Linux 6.8 reports the address of a failed guest access along with EFAULT;
 * Debian 12's kernel headers predate it. The fields open the exit union. */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
struct memory_fault_exit {
    uint64_t flags, gpa, size;
};

/*
 * A guard page is PROT_NONE in the tender's mapping of guest memory, not a
 * cleared bit in the guest's page tables: KVM follows host mapping changes
 * through its MMU notifier (zapping the shadow entries and flushing the TLB),
 * whereas page-table writes made from outside the guest would go unseen by
 * PVM's shadow paging. The guest's next access there makes KVM_RUN fail with
 * EFAULT, and the tender keeps its own hands off those pages (hvt_gpa).
 */

int hvt_guard_init(struct hvt_vm *vm, uint64_t heap_lo, uint64_t heap_hi)
{
    uint64_t pages = (heap_hi - heap_lo) / PAGE;

    vm->heap_lo = heap_lo;
    vm->heap_hi = heap_hi;
    vm->nguards = 0;
    vm->guard_map = calloc((pages + 7) / 8, 1);
    return vm->guard_map ? 0 : -1;
}

static int is_guard(const struct hvt_vm *vm, uint64_t page)
{
    return vm->guard_map[page / 8] & (1u << (page % 8));
}

int hvt_guarded(const struct hvt_vm *vm, uint64_t gpa, uint64_t len)
{
    uint64_t lo = gpa, hi = gpa + len;

    if (lo < vm->heap_lo)
        lo = vm->heap_lo;
    if (hi > vm->heap_hi)
        hi = vm->heap_hi;
    for (uint64_t a = lo & ~(PAGE - 1); a < hi; a += PAGE)
        if (is_guard(vm, (a - vm->heap_lo) / PAGE))
            return 1;
    return 0;
}

void hvt_bad_range(const struct hvt_vm *vm, const char *who, uint64_t gpa, uint64_t len)
{
    if (gpa >= HVT_GUEST_MIN && len <= vm->mem_size && gpa <= vm->mem_size - len)
        hvt_say("%s 0x%llx + %llu touches a guard page\n", who, (unsigned long long)gpa,
                (unsigned long long)len);
    else
        hvt_say("%s 0x%llx + %llu outside guest memory [0x%llx, 0x%llx)\n", who,
                (unsigned long long)gpa, (unsigned long long)len, HVT_GUEST_MIN,
                (unsigned long long)vm->mem_size);
}

int64_t hvt_guard_set(struct hvt_vm *vm, uint64_t addr, uint64_t len, int guard)
{
    if (addr % PAGE || len % PAGE || len == 0 || addr < vm->heap_lo || addr > vm->heap_hi ||
        len > vm->heap_hi - addr)
        return MIRAGE_EINVAL;
    if (mprotect(vm->mem + addr, len, guard ? PROT_NONE : PROT_READ | PROT_WRITE) < 0)
        return errno == ENOMEM ? MIRAGE_ENOMEM : MIRAGE_EINVAL;
    for (uint64_t a = addr; a < addr + len; a += PAGE) {
        uint64_t page = (a - vm->heap_lo) / PAGE;
        uint8_t bit = (uint8_t)(1u << (page % 8));

        if (guard && !is_guard(vm, page)) {
            vm->guard_map[page / 8] |= bit;
            vm->nguards++;
        } else if (!guard && is_guard(vm, page)) {
            vm->guard_map[page / 8] &= (uint8_t)~bit;
            vm->nguards--;
        }
    }
    return 0;
}

/* The guard page the guest ran into: the one KVM reports (Linux 6.8+, not
 * every MMU), else the one a stack at (rsp) has grown into: a push or a store
 * into the frame just made (the 128-byte red zone included) lands at most a
 * page below the old stack pointer, so the guard lies in [rsp - 4 KiB - 128,
 * rsp + 4 KiB]. 0 if none does. */
static uint64_t faulted_page(const struct hvt_vm *vm, uint64_t rsp)
{
    const struct kvm_run *run = vm->run;
    uint64_t lo, hi;

    if (run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
        struct memory_fault_exit mf;
        uint64_t gpa;

        memcpy(&mf, &run->mmio, sizeof(mf));
        gpa = mf.gpa & ~(PAGE - 1);
        return gpa >= vm->heap_lo && gpa < vm->heap_hi && hvt_guarded(vm, gpa, 1) ? gpa : 0;
    }
    lo = rsp - PAGE - 128 > rsp ? 0 : (rsp - PAGE - 128) & ~(PAGE - 1);
    hi = rsp + PAGE < rsp ? rsp : rsp + PAGE;
    for (uint64_t a = lo > vm->heap_lo ? lo : vm->heap_lo; a <= hi && a < vm->heap_hi; a += PAGE)
        if (hvt_guarded(vm, a, 1))
            return a;
    return 0;
}

/* The owner's name as the guest labelled the page, made printable, or "". */
static void owner_name(struct hvt_vm *vm, uint64_t page, char name[MIRAGE_GUARD_NAME_MAX])
{
    struct mirage_guard_label label;
    const char *src;

    name[0] = 0;
    /* The guest is ending: the label may be read now. */
    if (mprotect(vm->mem + page, PAGE, PROT_READ | PROT_WRITE) < 0)
        return;
    memcpy(&label, vm->mem + page, sizeof(label));
    if (label.magic != MIRAGE_GUARD_MAGIC)
        return;
    src = hvt_gpa(vm, label.name, MIRAGE_GUARD_NAME_MAX);
    if (!src)
        return;
    for (int i = 0; i < MIRAGE_GUARD_NAME_MAX - 1 && src[i]; i++) {
        name[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
        name[i + 1] = 0;
    }
}

int hvt_guard_fault(struct hvt_vm *vm)
{
    struct kvm_regs r;
    uint64_t page;
    char name[MIRAGE_GUARD_NAME_MAX];

    if (vm->nguards == 0 || ioctl(vm->vcpufd, KVM_GET_REGS, &r) < 0)
        return -1;
    page = faulted_page(vm, r.rsp);
    if (page == 0) {
        /* Guest memory is mapped throughout but for guard pages. */
        hvt_say("guest fault: access to a guard page (rip 0x%llx, rsp 0x%llx)\n",
                (unsigned long long)r.rip, (unsigned long long)r.rsp);
        return TENDER_EXIT_FAULT;
    }
    owner_name(vm, page, name);
    if (name[0])
        hvt_say("guest fault: stack overflow of fiber '%s' (guard page at 0x%llx, rip 0x%llx)\n",
                name, (unsigned long long)page, (unsigned long long)r.rip);
    else
        hvt_say("guest fault: stack overflow of a fiber (guard page at 0x%llx, rip 0x%llx)\n",
                (unsigned long long)page, (unsigned long long)r.rip);
    return TENDER_EXIT_FAULT;
}
