/* vm.h: the state of one mirage-hvt virtual machine and the parts of the tender that share it. */
#ifndef HVT_VM_H
#define HVT_VM_H

#include <stdint.h>

#include "mirage/abi/hvt.h"
#include "tender.h"

/* Guest-physical layout of the tender's private first MiB (supervisor-only). */
#define HVT_GDT_ADDR   0x1000ULL
#define HVT_TSS_ADDR   0x1800ULL
#define HVT_IDT_ADDR   0x2000ULL
#define HVT_STUBS_ADDR 0x3000ULL  /* one 8-byte stub per vector 0..31 */
#define HVT_STACK0_TOP 0x5000ULL  /* ring-0 stack page 0x4000..0x5000 */
#define HVT_PT_POOL    0x10000ULL /* page tables from here up to HVT_GUEST_MIN */

#define HVT_SEL_CODE0 0x08
#define HVT_SEL_DATA0 0x10
#define HVT_SEL_CODE3 0x1b
#define HVT_SEL_DATA3 0x23
#define HVT_SEL_TSS   0x28

/* PVM runs ring 3 with IOPL 0 whatever RFLAGS says, so the TSS carries an I/O
 * bitmap allowing ports 0..HVT_IO_PORTS-1 (the tender names any it does not serve). */
#define HVT_IO_PORTS  1024
#define HVT_TSS_LIMIT (104 + HVT_IO_PORTS / 8)

#define HVT_STACK_SIZE (1ULL << 20)

/* The network side: one per VM, shared by the vCPU thread and the I/O thread. */
struct hvt_net;
/* The block side: one per VM with block devices, served by its own thread. */
struct hvt_block;
/* --gdb: the debugger's connection and what it set (gdb.c). */
struct hvt_gdb;

struct hvt_vm {
    int kvm, vmfd, vcpufd;
    struct kvm_run *run;
    uint8_t *mem;
    uint64_t mem_size;
    struct tender_image *img;
    struct tender_device *devs; /* img->ndevs of them, index = handle */
    struct hvt_boot_info *boot; /* inside mem */
    uint64_t boot_gpa, entry, stack_top;
    uint64_t ring_gpa[HVT_MAX_DEVS]; /* net: its ring area; block: its request slot */
    struct hvt_net *net;             /* NULL without net devices */
    struct hvt_block *block;         /* NULL without block devices */
    uint64_t heap_lo, heap_hi;       /* where guard pages may be */
    uint8_t *guard_map;              /* a bit per heap page: PROT_NONE in (mem) */
    uint64_t nguards;
    struct tender_core core; /* --dumpcore; fd -1 without */
    uint64_t fiber_sym;      /* mirage_fiber_running in the image, or TENDER_NO_SYMBOL */
    const char *name;        /* the unikernel's */
    struct hvt_gdb *gdb;     /* --gdb; NULL without */
};

/* run.c: writes the core file when --dumpcore asked for one: the registers
 * (r), signal (signo) and what happened (what), naming the running fiber. */
struct kvm_regs;
void hvt_dumpcore(struct hvt_vm *vm, const struct kvm_regs *r, int signo, const char *what);

/* Whether any page of [gpa, gpa + len) is a guard page (the tender's own
 * accesses there would fault). (gpa, len) lie inside guest memory. */
int hvt_guarded(const struct hvt_vm *vm, uint64_t gpa, uint64_t len);

/* (len) bytes of guest memory at (gpa), inside [HVT_GUEST_MIN, mem) and
 * clear of guard pages, or NULL. Safe against overflow for any untrusted gpa
 * and len. The one translation of a guest-supplied range: hypercall arguments
 * and buffers (run.c) and block request buffers (block.c) all go through it;
 * hvt_bad_range says why it refused. */
static inline void *hvt_gpa(const struct hvt_vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa < HVT_GUEST_MIN || len > vm->mem_size || gpa > vm->mem_size - len)
        return 0;
    if (vm->nguards && hvt_guarded(vm, gpa, len))
        return 0;
    return vm->mem + gpa;
}

/* Writes "mirage-hvt: (who) 0xGPA + LEN" and why hvt_gpa() refuses the range:
 * "outside guest memory [0x100000, 0xMEM)" or "touches a guard page". */
void hvt_bad_range(const struct hvt_vm *vm, const char *who, uint64_t gpa, uint64_t len);

/* How many of (vm)'s devices are of (type) (MIRAGE_DEV_NET, MIRAGE_DEV_BLOCK). */
static inline unsigned hvt_ndevs(const struct hvt_vm *vm, uint32_t type)
{
    unsigned n = 0;

    for (unsigned i = 0; i < vm->img->ndevs; i++)
        n += vm->devs[i].type == type;
    return n;
}

/* vm.c: creates the VM and vCPU, lays out memory, loads the image and boot
 * info from (image data), sets the registers. Returns 0 or -1 with (err). */
int hvt_vm_setup(struct hvt_vm *vm, const uint8_t *data, const char *name, const char *cmdline,
                 char *err);

/* run.c: runs the vCPU until the guest ends; returns the tender's exit status. */
int hvt_vm_run(struct hvt_vm *vm);

/* net.c: sets up the rings' I/O thread and the kick ioeventfd (none without
 * net devices). Returns 0 or -1 with (err). */
int hvt_net_setup(struct hvt_vm *vm, char *err);
/* Starts the I/O thread. */
int hvt_net_start(struct hvt_vm *vm, char *err);
/* Blocks the vCPU thread for up to (timeout_ns) or until a frame waits in an
 * RX ring or (donefd), when not -1, is readable (then drained): the block
 * thread finished a request. */
void hvt_net_wait(struct hvt_vm *vm, uint64_t timeout_ns, int donefd);
/* Gives the I/O thread a moment to send what the guest queued before it exited. */
void hvt_net_flush(struct hvt_vm *vm);
/* HVT_HC_NET_OFFLOAD: turns (offloads) of the net device at manifest index
 * (handle) on (TUNSETOFFLOAD), the rest off; 0 or a negative MIRAGE_E* code. */
int hvt_net_offload(struct hvt_vm *vm, uint32_t handle, uint32_t offloads);
/* The fds the I/O thread and hvt_net_wait use, for the seccomp filter;
 * returns how many were written to (fds). */
int hvt_net_fds(const struct hvt_vm *vm, int *fds, int max);

/* block.c: the block devices' request slots, their kick ioeventfd and the
 * thread that serves them (nothing without block devices). 0 or -1 with (err). */
int hvt_block_setup(struct hvt_vm *vm, char *err);
int hvt_block_start(struct hvt_vm *vm, char *err);
/* The fds the block thread uses, for the seccomp filter; returns how many. */
int hvt_block_fds(const struct hvt_vm *vm, int *fds, int max);
/* An eventfd the block thread signals after each request it finishes, so a
 * yielding guest waiting for one wakes (-1 without block devices). */
int hvt_block_donefd(const struct hvt_vm *vm);

/* guard.c: guard pages in the heap [heap_lo, heap_hi). Returns 0 or -1 (no memory). */
int hvt_guard_init(struct hvt_vm *vm, uint64_t heap_lo, uint64_t heap_hi);
/* The guard hypercall's work: 0 or a negative MIRAGE_E* code. */
int64_t hvt_guard_set(struct hvt_vm *vm, uint64_t addr, uint64_t len, int guard);
/* After KVM_RUN failed with EFAULT: reports a guest access to a guard page
 * and returns the exit status, or -1 if it was not that. */
int hvt_guard_fault(struct hvt_vm *vm);

/* sandbox.c: confines the tender to what running (vm) needs. */
int hvt_sandbox(const struct hvt_vm *vm, char *err);

/* vm.c: an eventfd that a guest's 1-byte write to (port) signals inside KVM
 * (KVM_IOEVENTFD): a kick that costs no return to the tender. 0 or -1 with (err). */
int hvt_kick_fd(struct hvt_vm *vm, uint16_t port, int *fd, char *err);
/* vm.c: starts fn(arg) as the (what) thread and waits until it has set
 * *started, past its start-up system calls. 0 or -1 with (err). */
int hvt_thread_start(void *(*fn)(void *), void *arg, const int *started, const char *what,
                     char *err);

/* vm.c: CLOCK_MONOTONIC in nanoseconds. */
uint64_t hvt_now_ns(void);
/* vm.c: the body of an I/O thread (net, block): sets *started, then calls
 * serve(arg) while it finds work (it returns how much); after HVT_IO_SPIN_NS
 * without any, calls sleep(arg), which returns when the guest kicks. Long enough
 * to cover a guest's re-entry after a yield (~100-150 us on PVM) and its next
 * request, so that request needs no kick. Never returns. */
#define HVT_IO_SPIN_NS 200000ULL
void hvt_io_loop(int *started, unsigned (*serve)(void *), void (*sleep)(void *), void *arg);

/* gdb.c: --gdb[=PORT]. hvt_gdb_wait listens on 127.0.0.1:(port), takes one
 * connection and starts the thread that turns gdb's Ctrl-C into a stop
 * (before the sandbox; 0 or -1 with (err)). The rest return HVT_GDB_RESUME
 * when the guest is to run on, or the tender's exit status; each first serves
 * gdb until it resumes the guest, and does nothing once gdb is gone. */
#define HVT_GDB_RESUME   (-1)
#define HVT_GDB_NOT_MINE (-3)
int hvt_gdb_wait(struct hvt_vm *vm, uint16_t port, char *err);
/* The connection's fd for the sandbox, or -1. */
int hvt_gdb_fd(const struct hvt_vm *vm);
/* Before the guest's first instruction. */
int hvt_gdb_start(struct hvt_vm *vm);
/* KVM_RUN (or a wait) was interrupted: a stop if gdb asked for one. */
int hvt_gdb_interrupted(struct hvt_vm *vm);
/* Exception (vec, ec) with the ring-3 frame (rip, cs, rflags, rsp, ss): a
 * stop if it is one of gdb's breakpoints or its single step, else
 * HVT_GDB_NOT_MINE. */
int hvt_gdb_trap(struct hvt_vm *vm, uint64_t vec, uint64_t ec, const uint64_t *frame);
/* The guest faulted or aborted (registers r, Linux signal signo) and is to
 * end with (status): gdb looks at it first. */
int hvt_gdb_fault(struct hvt_vm *vm, const struct kvm_regs *r, int signo, int status);
/* The guest ended with (status): tells gdb. */
void hvt_gdb_exited(struct hvt_vm *vm, int status);

/* Writes "mirage-hvt: " and the formatted message to stderr with one write(). */
void hvt_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
