/* vm.c: creating the KVM VM and vCPU, laying out guest memory and starting it in ring 3 long mode.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#define PAGE 4096ULL
#define BIG  0x200000ULL

#define PTE_P    0x1ULL
#define PTE_W    0x2ULL
#define PTE_U    0x4ULL
#define PTE_PS   0x80ULL
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

#define CR0_PE         0x1ULL
#define CR0_MP         0x2ULL
#define CR0_ET         0x10ULL
#define CR0_NE         0x20ULL
#define CR0_WP         0x10000ULL
#define CR0_PG         0x80000000ULL
#define CR4_PAE        0x20ULL
#define CR4_OSFXSR     0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define CR4_FSGSBASE   0x10000ULL
#define EFER_SCE       0x1ULL
#define EFER_LME       0x100ULL
#define EFER_LMA       0x400ULL
#define EFER_NXE       0x800ULL

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* Page tables come from a bump allocator in the tender's first MiB. */
struct pt_alloc {
    struct hvt_vm *vm;
    uint64_t next;
};

static uint64_t *pt_at(struct hvt_vm *vm, uint64_t gpa)
{
    return (uint64_t *)(vm->mem + gpa);
}

/* The table entry (e) points to, allocating a zeroed table if it is empty. */
static uint64_t *pt_next(struct pt_alloc *pa, uint64_t *e)
{
    if (!*e) {
        if (pa->next >= HVT_GUEST_MIN)
            return NULL;
        *e = pa->next | PTE_P | PTE_W | PTE_U;
        pa->next += PAGE;
    }
    if (*e & PTE_PS)
        return NULL;
    return pt_at(pa->vm, *e & PTE_ADDR);
}

/* Identity-maps [lo, hi) (page-aligned) with leaf (flags), in 2 MiB pages where they fit. */
static int map_range(struct pt_alloc *pa, uint64_t lo, uint64_t hi, uint64_t flags)
{
    uint64_t *pml4 = pt_at(pa->vm, HVT_PT_POOL);
    uint64_t *pdpt = pt_next(pa, &pml4[0]);

    if (!pdpt)
        return -1;
    for (uint64_t a = lo; a < hi;) {
        uint64_t *pd = pt_next(pa, &pdpt[(a >> 30) & 511]);
        uint64_t *pde, *pt;

        if (!pd)
            return -1;
        pde = &pd[(a >> 21) & 511];
        if (!(a & (BIG - 1)) && hi - a >= BIG && !*pde) {
            *pde = a | flags | PTE_PS;
            a += BIG;
            continue;
        }
        pt = pt_next(pa, pde);
        if (!pt)
            return -1;
        pt[(a >> 12) & 511] = a | flags;
        a += PAGE;
    }
    return 0;
}

static uint64_t seg_flags(uint32_t pf)
{
    uint64_t f = PTE_P | PTE_U;

    if (pf & 2) /* PF_W */
        f |= PTE_W;
    if (!(pf & 1)) /* PF_X */
        f |= PTE_NX;
    return f;
}

static void set_gdt(struct hvt_vm *vm)
{
    uint64_t *gdt = pt_at(vm, HVT_GDT_ADDR);
    uint64_t tss = HVT_TSS_ADDR, limit = HVT_TSS_LIMIT;
    uint8_t *t = vm->mem + HVT_TSS_ADDR;
    uint64_t rsp0 = HVT_STACK0_TOP;
    uint16_t iopb = 104;

    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffULL; /* ring-0 64-bit code, accessed */
    gdt[2] = 0x00cf93000000ffffULL; /* ring-0 data */
    gdt[3] = 0x00affb000000ffffULL; /* ring-3 64-bit code */
    gdt[4] = 0x00cff3000000ffffULL; /* ring-3 data */
    gdt[5] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x8bULL << 40) | ((limit >> 16) << 48) |
             (((tss >> 24) & 0xff) << 56); /* busy 64-bit TSS */
    gdt[6] = tss >> 32;
    memcpy(t + 4, &rsp0, 8);
    memcpy(t + 102, &iopb, 2);
    memset(t + 104, 0, HVT_IO_PORTS / 8);
    t[HVT_TSS_LIMIT] = 0xff; /* the CPU may read one byte past the last port's */
}

/* Vector v's stub: push $v; out %al, $HVT_PORT_FAULT; jmp . (the tender never resumes it). */
static void set_idt(struct hvt_vm *vm)
{
    uint64_t *idt = pt_at(vm, HVT_IDT_ADDR);
    uint8_t *stubs = vm->mem + HVT_STUBS_ADDR;

    for (unsigned v = 0; v < 32; v++) {
        uint64_t off = HVT_STUBS_ADDR + v * 8;
        uint8_t code[8] = {0x6a, (uint8_t)v, 0xe6, HVT_PORT_FAULT, 0xeb, 0xfe, 0xf4, 0xf4};

        memcpy(stubs + v * 8, code, 8);
        idt[2 * v] = (off & 0xffff) | ((uint64_t)HVT_SEL_CODE0 << 16) | (0x8eULL << 40) |
                     (((off >> 16) & 0xffff) << 48);
        idt[2 * v + 1] = off >> 32;
    }
    /* The `syscall` entry (LSTAR): a unikernel has none, so the stub only reports it. */
    stubs[32 * 8] = 0xe6;
    stubs[32 * 8 + 1] = HVT_PORT_SYSCALL;
    stubs[32 * 8 + 2] = 0xeb;
    stubs[32 * 8 + 3] = 0xfe;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
    struct kvm_segment s = {
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = dpl,
        .db = !code,
        .s = 1,
        .l = code,
        .g = 1,
    };
    return s;
}

/*
 * The guest's CPUID, built from the host's own instead of asking KVM for its
 * whole supported table (KVM_GET_SUPPORTED_CPUID alone costs ~0.6 ms here):
 * ring 3 code runs natively, so it may use what the CPU has, minus what needs
 * state the tender does not enable (XSAVE/AVX, since CR4.OSXSAVE stays off).
 */
static int set_cpuid(struct hvt_vm *vm, char *err)
{
    enum { N = 5 };
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[N];
    } cp;
    static const uint32_t leaves[N] = {0, 1, 7, 0x80000000, 0x80000001};
    const uint32_t avx1 = (1u << 12) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29);
    const uint32_t keep7 = (1u << 0) | (1u << 3) | (1u << 8) | (1u << 9) | (1u << 18) | (1u << 19) |
                           (1u << 23) | (1u << 29); /* FSGSBASE BMI1 BMI2 ERMS
                                                       RDSEED ADX CLFLUSHOPT SHA */

    memset(&cp, 0, sizeof(cp));
    cp.c.nent = N;
    for (int i = 0; i < N; i++) {
        struct kvm_cpuid_entry2 *e = &cp.e[i];

        e->function = leaves[i];
        __cpuid_count(leaves[i], 0, e->eax, e->ebx, e->ecx, e->edx);
    }
    cp.e[0].eax = 7;
    cp.e[1].ecx = (cp.e[1].ecx & ~avx1 & ~(1u << 21) & ~(1u << 24)) | (1u << 31);
    cp.e[1].ebx &= 0x00ffffff; /* APIC id 0 */
    cp.e[2].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    cp.e[2].eax = 0;
    cp.e[2].ebx &= keep7;
    cp.e[2].ecx = cp.e[2].edx = 0;
    if (cp.e[3].eax > 0x80000001)
        cp.e[3].eax = 0x80000001;
    if (ioctl(vm->vcpufd, KVM_SET_CPUID2, &cp) < 0)
        return tender_fail(err, "KVM_SET_CPUID2: %s", strerror(errno));
    return 0;
}

static int set_regs(struct hvt_vm *vm, char *err)
{
    struct kvm_sregs sr;
    struct kvm_regs r;
    struct {
        struct kvm_msrs m;
        struct kvm_msr_entry e[3];
    } msrs;

    if (ioctl(vm->vcpufd, KVM_GET_SREGS, &sr) < 0)
        return tender_fail(err, "KVM_GET_SREGS: %s", strerror(errno));
    sr.cs = seg(HVT_SEL_CODE3, 11, 3, 1);
    sr.ss = seg(HVT_SEL_DATA3, 3, 3, 0);
    sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
    sr.fs.base = vm->boot_gpa + offsetof(struct hvt_boot_info, tcb);
    sr.tr = (struct kvm_segment){.base = HVT_TSS_ADDR,
                                 .limit = HVT_TSS_LIMIT,
                                 .selector = HVT_SEL_TSS,
                                 .type = 11,
                                 .present = 1};
    sr.ldt = (struct kvm_segment){.unusable = 1};
    sr.gdt.base = HVT_GDT_ADDR;
    sr.gdt.limit = 7 * 8 - 1;
    sr.idt.base = HVT_IDT_ADDR;
    sr.idt.limit = 32 * 16 - 1;
    sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sr.cr3 = HVT_PT_POOL;
    sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE;
    sr.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    if (ioctl(vm->vcpufd, KVM_SET_SREGS, &sr) < 0)
        return tender_fail(err, "KVM_SET_SREGS: %s", strerror(errno));

    msrs.m.nmsrs = 3;
    msrs.e[0] = (struct kvm_msr_entry){.index = 0xc0000082, .data = HVT_STUBS_ADDR + 32 * 8};
    msrs.e[1] = (struct kvm_msr_entry){.index = 0xc0000081,
                                       .data = ((uint64_t)HVT_SEL_CODE0 << 32) |
                                               ((uint64_t)(HVT_SEL_CODE3 - 16) << 48)};
    msrs.e[2] = (struct kvm_msr_entry){.index = 0xc0000084, .data = 0x700}; /* SFMASK: IF TF DF */
    if (ioctl(vm->vcpufd, KVM_SET_MSRS, &msrs) != 3)
        return tender_fail(err, "KVM_SET_MSRS: %s", strerror(errno));

    memset(&r, 0, sizeof(r));
    r.rip = vm->entry;
    r.rsp = vm->stack_top;
    r.rdi = vm->boot_gpa;
    r.rflags = 0x3002; /* IOPL 3, reserved bit 1; interrupts off */
    if (ioctl(vm->vcpufd, KVM_SET_REGS, &r) < 0)
        return tender_fail(err, "KVM_SET_REGS: %s", strerror(errno));
    return 0;
}

static int create(struct hvt_vm *vm, char *err)
{
    struct kvm_userspace_memory_region region;
    struct kvm_enable_cap cap;
    int size;

    vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm < 0)
        return tender_fail(err, "cannot open /dev/kvm: %s", strerror(errno));
    vm->vmfd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
    if (vm->vmfd < 0)
        return tender_fail(err, "KVM_CREATE_VM: %s", strerror(errno));
    vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->mem == MAP_FAILED)
        return tender_fail(err, "cannot allocate %llu MB of guest memory: %s",
                        (unsigned long long)(vm->mem_size >> 20), strerror(errno));
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = vm->mem_size,
        .userspace_addr = (uintptr_t)vm->mem,
    };
    if (ioctl(vm->vmfd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return tender_fail(err, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
    /* With the local APIC in the kernel (and no PIC or IOAPIC), creating and
     * destroying the vCPU does not flip KVM's no-APIC static key, whose code
     * patching (IPIs to every CPU) cost ~0.5 ms per run here. */
    cap = (struct kvm_enable_cap){.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {0}};
    if (ioctl(vm->vmfd, KVM_ENABLE_CAP, &cap) < 0)
        return tender_fail(err, "KVM_CAP_SPLIT_IRQCHIP: %s", strerror(errno));
    vm->vcpufd = ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
    if (vm->vcpufd < 0)
        return tender_fail(err, "KVM_CREATE_VCPU: %s", strerror(errno));
    size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return tender_fail(err, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpufd, 0);
    if (vm->run == MAP_FAILED)
        return tender_fail(err, "cannot map the vCPU: %s", strerror(errno));
    return set_cpuid(vm, err);
}

static int fill_boot(struct hvt_vm *vm, const char *name, const char *cmdline, uint64_t heap_lo,
                     uint64_t heap_hi, char *err)
{
    struct hvt_boot_info *b = vm->boot;
    int khz = ioctl(vm->vcpufd, KVM_GET_TSC_KHZ, 0);
    uint64_t rnd[2] = {0, 0};

    if (khz <= 0)
        return tender_fail(err, "KVM_GET_TSC_KHZ: %s", strerror(errno));
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd) ||
        getrandom(b->entropy, sizeof(b->entropy), GRND_NONBLOCK) != sizeof(b->entropy))
        return tender_fail(err, "getrandom: %s", strerror(errno));
    b->magic = HVT_BOOT_MAGIC;
    b->version = HVT_BOOT_VERSION;
    b->mem_size = vm->mem_size;
    b->heap_start = heap_lo;
    b->heap_size = heap_hi - heap_lo;
    b->tsc_hz = (uint64_t)khz * 1000;
    b->tsc_mult = (1000000000ULL << 32) / b->tsc_hz;
    b->tcb[0] = vm->boot_gpa + offsetof(struct hvt_boot_info, tcb);
    b->tcb[5] = rnd[0] & ~0xffULL; /* a NUL low byte stops string overreads at the canary */
    b->tcb[6] = rnd[1];
    snprintf(b->name, sizeof(b->name), "%s", name);
    if (strlen(cmdline) >= sizeof(b->cmdline))
        return tender_fail(err, "command line too long");
    strcpy(b->cmdline, cmdline);
    b->ndevs = vm->img->ndevs;
    for (unsigned i = 0; i < vm->img->ndevs; i++) {
        struct hvt_dev_info *d = &b->devs[i];
        const struct tender_device *t = &vm->devs[i];

        d->type = t->type;
        d->mtu = t->mtu;
        memcpy(d->mac, t->mac, 6);
        d->capacity = t->capacity;
        d->block_size = t->block_size;
        d->flags = t->read_only ? HVT_DEV_READ_ONLY : 0;
        d->ring = vm->ring_gpa[i];
        d->offloads = t->vnet ? t->offloads : 0;
    }
    return 0;
}

int hvt_vm_setup(struct hvt_vm *vm, const uint8_t *data, const char *name, const char *cmdline,
                 char *err)
{
    const struct tender_image *img = vm->img;
    struct pt_alloc pa = {vm, HVT_PT_POOL + PAGE};
    const uint64_t nnet = hvt_ndevs(vm, MIRAGE_DEV_NET), nblk = hvt_ndevs(vm, MIRAGE_DEV_BLOCK);
    const uint64_t rw = PTE_P | PTE_W | PTE_U | PTE_NX;
    uint64_t boot_end, ring_lo, slot_lo, stack_lo, heap_hi, shared;

    vm->boot_gpa = align_up(img->hi, PAGE);
    boot_end = vm->boot_gpa + align_up(sizeof(struct hvt_boot_info), PAGE);
    /* At the top: the net rings, the block slots, then the initial stack. */
    shared = nnet * HVT_RING_AREA_SIZE + align_up(nblk * sizeof(struct hvt_block_slot), PAGE);
    ring_lo = vm->mem_size - nnet * HVT_RING_AREA_SIZE;
    slot_lo = vm->mem_size - shared;
    stack_lo = slot_lo - HVT_STACK_SIZE;
    heap_hi = stack_lo - PAGE; /* an unmapped guard page below the stack */
    if (vm->mem_size < shared + HVT_STACK_SIZE + PAGE || heap_hi < boot_end + BIG)
        return tender_fail(err, "--mem=%llu is too small for this image (needs %llu MB or more)",
                        (unsigned long long)(vm->mem_size >> 20),
                        (unsigned long long)((boot_end + BIG + HVT_STACK_SIZE + PAGE + shared +
                                              (1 << 20) - 1) >>
                                             20));
    if (create(vm, err) < 0)
        return -1;

    for (unsigned i = 0; i < img->nsegs; i++) {
        const struct tender_segment *s = &img->segs[i];

        memcpy(vm->mem + s->vaddr, data + s->offset, s->filesz);
        if (map_range(&pa, s->vaddr, align_up(s->vaddr + s->memsz, PAGE), seg_flags(s->flags)))
            return tender_fail(err, "image too large to map");
    }
    set_gdt(vm);
    set_idt(vm);
    if (map_range(&pa, HVT_GDT_ADDR, HVT_STUBS_ADDR, PTE_P | PTE_W | PTE_NX) ||
        map_range(&pa, HVT_STUBS_ADDR, HVT_STUBS_ADDR + PAGE, PTE_P) ||
        map_range(&pa, HVT_STACK0_TOP - PAGE, HVT_STACK0_TOP, PTE_P | PTE_W | PTE_NX) ||
        map_range(&pa, vm->boot_gpa, boot_end, PTE_P | PTE_U | PTE_NX) ||
        map_range(&pa, boot_end, heap_hi, rw) || map_range(&pa, stack_lo, vm->mem_size, rw))
        return tender_fail(err, "image too large to map");

    for (unsigned i = 0, n = 0, b = 0; i < img->ndevs; i++) {
        if (vm->devs[i].type == MIRAGE_DEV_NET)
            vm->ring_gpa[i] = ring_lo + HVT_RING_AREA_SIZE * n++;
        else if (vm->devs[i].type == MIRAGE_DEV_BLOCK)
            vm->ring_gpa[i] = slot_lo + sizeof(struct hvt_block_slot) * b++;
    }
    vm->boot = (struct hvt_boot_info *)(vm->mem + vm->boot_gpa);
    vm->entry = img->entry;
    vm->stack_top = slot_lo;
    if (hvt_guard_init(vm, boot_end, heap_hi) < 0)
        return tender_fail(err, "out of memory");
    if (fill_boot(vm, name, cmdline, boot_end, heap_hi, err) < 0)
        return -1;
    return set_regs(vm, err);
}

int hvt_kick_fd(struct hvt_vm *vm, uint16_t port, int *fd, char *err)
{
    struct kvm_ioeventfd io;

    *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (*fd < 0)
        return tender_fail(err, "eventfd: %s", strerror(errno));
    io = (struct kvm_ioeventfd){.addr = port, .len = 1, .fd = *fd, .flags = KVM_IOEVENTFD_FLAG_PIO};
    if (ioctl(vm->vmfd, KVM_IOEVENTFD, &io) < 0)
        return tender_fail(err, "KVM_IOEVENTFD: %s", strerror(errno));
    return 0;
}

int hvt_thread_start(void *(*fn)(void *), void *arg, const int *started, const char *what,
                     char *err)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, fn, arg);

    if (e)
        return tender_fail(err, "cannot start the %s thread: %s", what, strerror(e));
    /* A new thread makes system calls (rseq, ...) with signals blocked before it
     * runs our code; under the filter those would kill the tender without a word. */
    while (!__atomic_load_n(started, __ATOMIC_ACQUIRE))
        sched_yield();
    return 0;
}

uint64_t hvt_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void hvt_io_loop(int *started, unsigned (*serve)(void *), void (*sleep)(void *), void *arg)
{
    uint64_t idle_since = 0;

    __atomic_store_n(started, 1, __ATOMIC_RELEASE);
    for (;;) {
        if (serve(arg)) {
            idle_since = 0;
            continue;
        }
        if (!idle_since) {
            idle_since = hvt_now_ns();
            continue;
        }
        if (hvt_now_ns() - idle_since < HVT_IO_SPIN_NS) {
            /* not a bare pause: a vCPU thread woken on this CPU must not
             * wait for the end of our time slice */
            sched_yield();
            continue;
        }
        sleep(arg);
        idle_since = 0;
    }
}
