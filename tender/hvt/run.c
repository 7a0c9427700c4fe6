/* run.c: the vCPU loop: hypercalls with checked guest pointers, exceptions and other exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "mirage/abi/guard.h"
#include "mirage/cpu.h"
#include "mirage/error.h"
#include "vm.h"

/* Not a status: the guest continues. */
#define CONTINUE (-1)

static const char *const hc_names[HVT_HC_COUNT] = {"console", "exit", "yield", "guard",
                                                   "net offload"};

static int bad(const struct hvt_vm *vm, unsigned n, const char *what, uint64_t gpa, uint64_t size)
{
    char who[64];

    snprintf(who, sizeof(who), "bad hypercall %u (%s): %s", n, hc_names[n], what);
    hvt_bad_range(vm, who, gpa, size);
    return TENDER_EXIT_SANDBOX;
}

static int hc_console(struct hvt_vm *vm, uint64_t gpa)
{
    struct hvt_hc_console *p = hvt_gpa(vm, gpa, sizeof(*p));
    struct hvt_hc_console a;
    const uint8_t *buf;

    if (!p)
        return bad(vm, HVT_HC_CONSOLE, "argument", gpa, sizeof(*p));
    memcpy(&a, p, sizeof(a));
    buf = hvt_gpa(vm, a.buf, a.len);
    if (!buf)
        return bad(vm, HVT_HC_CONSOLE, "buffer", a.buf, a.len);
    while (a.len > 0) {
        ssize_t n = write(1, buf, a.len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the console is gone; the guest carries on as a daemon would */
        buf += n;
        a.len -= n;
    }
    return CONTINUE;
}

/* The running fiber's name, from the runtime's mirage_fiber_running, printable, or "?". */
static void running_fiber(const struct hvt_vm *vm, char name[MIRAGE_GUARD_NAME_MAX])
{
    const uint64_t *ptr;
    const char *src;

    strcpy(name, "?");
    if (vm->fiber_sym == TENDER_NO_SYMBOL || (ptr = hvt_gpa(vm, vm->fiber_sym, 8)) == NULL)
        return;
    src = hvt_gpa(vm, *ptr, MIRAGE_GUARD_NAME_MAX);
    for (int i = 0; src && i < MIRAGE_GUARD_NAME_MAX - 1 && src[i]; i++) {
        name[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
        name[i + 1] = 0;
    }
}

static int skip_guard(void *ctx, uint64_t vaddr)
{
    const struct hvt_vm *vm = ctx;

    return vm->nguards && hvt_guarded(vm, vaddr, 4096);
}

void hvt_dumpcore(struct hvt_vm *vm, const struct kvm_regs *r, int signo, const char *what)
{
    struct tender_core_info info;
    struct tender_core_region rg = {.vaddr = HVT_GUEST_MIN,
                                    .len = vm->mem_size - HVT_GUEST_MIN,
                                    .data = vm->mem + HVT_GUEST_MIN,
                                    .skip = skip_guard,
                                    .ctx = vm,
                                    .readable = 1};
    struct kvm_sregs sr;
    char fiber[MIRAGE_GUARD_NAME_MAX], text[256];
    int rc;

    if (vm->core.fd < 0)
        return;
    running_fiber(vm, fiber);
    snprintf(text, sizeof(text), "fiber '%s': %s", fiber, what);
    memset(&info, 0, sizeof(info));
    info.regs = (struct tender_core_regs){.r15 = r->r15,
                                          .r14 = r->r14,
                                          .r13 = r->r13,
                                          .r12 = r->r12,
                                          .rbp = r->rbp,
                                          .rbx = r->rbx,
                                          .r11 = r->r11,
                                          .r10 = r->r10,
                                          .r9 = r->r9,
                                          .r8 = r->r8,
                                          .rax = r->rax,
                                          .rcx = r->rcx,
                                          .rdx = r->rdx,
                                          .rsi = r->rsi,
                                          .rdi = r->rdi,
                                          .orig_rax = (uint64_t)-1,
                                          .rip = r->rip,
                                          .cs = HVT_SEL_CODE3,
                                          .eflags = r->rflags,
                                          .rsp = r->rsp,
                                          .ss = HVT_SEL_DATA3};
    if (ioctl(vm->vcpufd, KVM_GET_SREGS, &sr) == 0)
        info.regs.fs_base = sr.fs.base;
    info.signo = signo;
    info.name = vm->name;
    info.text = text;
    rc = tender_core_write(&vm->core, &info, &rg, 1);
    if (rc < 0)
        hvt_say("cannot write the core file %s: %s\n", vm->core.path, strerror(-rc));
    else
        hvt_say("core dumped to %s (%s)\n", vm->core.path, text);
}

/* The guest faulted or aborted and ends with (st): the core file, then gdb
 * (either may be off). (r): the registers it ended with, NULL: the vCPU's. */
static int ended(struct hvt_vm *vm, struct kvm_regs *r, int signo, const char *what, int st)
{
    struct kvm_regs now;

    if (vm->core.fd < 0 && !vm->gdb)
        return st;
    if (!r && ioctl(vm->vcpufd, KVM_GET_REGS, &now) < 0)
        return st;
    r = r ? r : &now;
    if (vm->core.fd >= 0)
        hvt_dumpcore(vm, r, signo, what);
    return vm->gdb ? hvt_gdb_fault(vm, r, signo, st) : st;
}

static int hc_exit(struct hvt_vm *vm, uint64_t gpa)
{
    struct hvt_hc_exit *p = hvt_gpa(vm, gpa, sizeof(*p));

    if (!p)
        return bad(vm, HVT_HC_EXIT, "argument", gpa, sizeof(*p));
    hvt_net_flush(vm);
    if (p->abort)
        return ended(vm, NULL, SIGABRT, "abort", TENDER_EXIT_ABORT);
    return p->status & 0xff;
}

static int hc_yield(struct hvt_vm *vm, uint64_t gpa)
{
    struct hvt_hc_yield *p = hvt_gpa(vm, gpa, sizeof(*p));
    uint64_t t;

    if (!p)
        return bad(vm, HVT_HC_YIELD, "argument", gpa, sizeof(*p));
    t = p->timeout_ns;
    if (vm->net) {
        struct timespec t0, t1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        hvt_net_wait(vm, t, hvt_block_donefd(vm));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        p->waited_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + t1.tv_nsec - t0.tv_nsec;
    } else if (t > 0) {
        struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
        struct pollfd pfd = {.fd = hvt_block_donefd(vm), .events = POLLIN};
        uint64_t junk;

        if (ts.tv_sec > 86400)
            ts.tv_sec = 86400; /* the guest yields again if it wants longer */
        /* Without block devices fd is -1 and ppoll only sleeps; with them a
         * request finished meanwhile ends the wait. */
        if (ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & POLLIN) &&
            read(pfd.fd, &junk, sizeof(junk)) < 0)
            return CONTINUE;
    }
    return CONTINUE;
}

static int hc_guard(struct hvt_vm *vm, uint64_t gpa)
{
    struct hvt_hc_guard *p = hvt_gpa(vm, gpa, sizeof(*p));
    struct hvt_hc_guard a;
    int32_t ret;

    if (!p)
        return bad(vm, HVT_HC_GUARD, "argument", gpa, sizeof(*p));
    memcpy(&a, p, sizeof(a));
    /* Checked again: the argument may lie in the very page being guarded. */
    ret = (int32_t)hvt_guard_set(vm, a.addr, a.len, a.guard != 0);
    p = hvt_gpa(vm, gpa, sizeof(*p));
    if (!p)
        return bad(vm, HVT_HC_GUARD, "argument", gpa, sizeof(*p));
    p->ret = ret;
    return CONTINUE;
}

static int hc_net_offload(struct hvt_vm *vm, uint64_t gpa)
{
    struct hvt_hc_net_offload *p = hvt_gpa(vm, gpa, sizeof(*p));

    if (!p)
        return bad(vm, HVT_HC_NET_OFFLOAD, "argument", gpa, sizeof(*p));
    p->ret = hvt_net_offload(vm, p->handle, p->offloads);
    return CONTINUE;
}

/* The guest ran `syscall`: there is no kernel to take it. */
static int syscall_exit(struct hvt_vm *vm)
{
    struct kvm_regs r;

    if (ioctl(vm->vcpufd, KVM_GET_REGS, &r) < 0) {
        hvt_say("guest made a system call\n");
        return TENDER_EXIT_SANDBOX;
    }
    hvt_say("guest made system call %llu at rip 0x%llx: a unikernel has no system calls\n",
            (unsigned long long)r.rax, (unsigned long long)r.rcx - 2);
    return TENDER_EXIT_SANDBOX;
}

/* The signal a debugger expects for exception vector (v). */
static int vec_signal(uint64_t v)
{
    switch (v) {
    case 0:
    case 16:
    case 19:
        return SIGFPE;
    case 1:
    case 3:
        return SIGTRAP;
    case 6:
        return SIGILL;
    case 17:
        return SIGBUS;
    default:
        return SIGSEGV;
    }
}

/* The stub pushed the vector on the ring-0 stack above what the CPU pushed:
 * [error code,] rip, cs, rflags, rsp, ss of the interrupted ring-3 code. */
static int fault(struct hvt_vm *vm)
{
    struct kvm_regs r;
    struct kvm_sregs sr;
    uint64_t w[7], v, ec = 0, rip;
    const uint64_t *frame;
    char what[200];
    int whole, st;

    if (ioctl(vm->vcpufd, KVM_GET_REGS, &r) < 0 || ioctl(vm->vcpufd, KVM_GET_SREGS, &sr) < 0 ||
        r.rsp < HVT_STACK0_TOP - 4096 || r.rsp > HVT_STACK0_TOP - 6 * sizeof(w[0])) {
        hvt_say("guest fault: cannot read the exception frame\n");
        return TENDER_EXIT_FAULT;
    }
    /* Six words, or seven with an error code: no more than the stack holds. */
    memset(w, 0, sizeof(w));
    memcpy(w, vm->mem + r.rsp,
           HVT_STACK0_TOP - r.rsp < sizeof(w) ? HVT_STACK0_TOP - r.rsp : sizeof(w));
    v = w[0] & 31;
    frame = w + 1;
    if (mirage_cpu_vector_has_error_code(v))
        ec = *frame++;
    rip = frame[0];
    whole = r.rsp <= HVT_STACK0_TOP - (frame - w + 5) * sizeof(w[0]);
    if (vm->gdb && whole && (st = hvt_gdb_trap(vm, v, ec, frame)) != HVT_GDB_NOT_MINE)
        return st;
    /* PVM enters LSTAR still in ring 3, so a syscall shows as a fetch fault there. */
    if (v == 14 && rip == HVT_STUBS_ADDR + 32 * 8)
        return syscall_exit(vm);
    if (v == 14) {
        const char *how = ec & 0x10 ? "executing" : ec & 2 ? "writing" : "reading";
        const char *why = ec & 1 ? "protection violation" : "page not present";

        snprintf(what, sizeof(what),
                 "guest fault: %s %s 0x%llx at rip 0x%llx: %s (error code 0x%llx)",
                 mirage_cpu_vector_name(v), how, (unsigned long long)sr.cr2,
                 (unsigned long long)rip, why, (unsigned long long)ec);
    } else {
        snprintf(what, sizeof(what),
                 "guest fault: %s at rip 0x%llx (error code 0x%llx, cr2 0x%llx)",
                 mirage_cpu_vector_name(v), (unsigned long long)rip, (unsigned long long)ec,
                 (unsigned long long)sr.cr2);
    }
    hvt_say("%s\n", what);
    if (!whole)
        return TENDER_EXIT_FAULT; /* no registers to show */
    /* The interrupted code's registers: the stub changed only rsp and rip. */
    r.rip = frame[0];
    r.rflags = frame[2];
    r.rsp = frame[3];
    return ended(vm, &r, vec_signal(v), what, TENDER_EXIT_FAULT);
}

static int io_exit(struct hvt_vm *vm)
{
    struct kvm_run *run = vm->run;
    unsigned port = run->io.port, n = port - HVT_PORT_BASE;
    uint32_t gpa;

    if (run->io.direction == KVM_EXIT_IO_OUT && port == HVT_PORT_FAULT)
        return fault(vm);
    if (run->io.direction == KVM_EXIT_IO_OUT && port == HVT_PORT_SYSCALL)
        return syscall_exit(vm);
    if (run->io.direction == KVM_EXIT_IO_OUT && (port == HVT_PORT_KICK || port == HVT_PORT_BLOCK))
        return CONTINUE; /* no network or block thread to wake */
    if (run->io.direction != KVM_EXIT_IO_OUT || port < HVT_PORT_BASE || n >= HVT_HC_COUNT ||
        run->io.size != 4 || run->io.count != 1) {
        hvt_say("bad hypercall: %s of %u byte(s) at port 0x%x\n",
                run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read", run->io.size, port);
        return TENDER_EXIT_SANDBOX;
    }
    memcpy(&gpa, (uint8_t *)run + run->io.data_offset, 4);
    switch (n) {
    case HVT_HC_CONSOLE:
        return hc_console(vm, gpa);
    case HVT_HC_EXIT:
        return hc_exit(vm, gpa);
    case HVT_HC_YIELD:
        return hc_yield(vm, gpa);
    case HVT_HC_NET_OFFLOAD:
        return hc_net_offload(vm, gpa);
    default:
        return hc_guard(vm, gpa);
    }
}

static int run(struct hvt_vm *vm)
{
    for (;;) {
        int st;

        if (ioctl(vm->vcpufd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                if (vm->gdb && (st = hvt_gdb_interrupted(vm)) != HVT_GDB_RESUME)
                    return st;
                continue;
            }
            if (errno == EFAULT && (st = hvt_guard_fault(vm)) >= 0)
                return ended(vm, NULL, SIGSEGV, "stack overflow: a guard page was touched", st);
            hvt_say("KVM_RUN: %s\n", strerror(errno));
            return TENDER_EXIT_FAULT;
        }
        switch (vm->run->exit_reason) {
        case KVM_EXIT_IO:
            st = io_exit(vm);
            if (st != CONTINUE)
                return st;
            break;
        case KVM_EXIT_SHUTDOWN:
            hvt_say("guest fault: triple fault (the exception handler itself faulted)\n");
            return TENDER_EXIT_FAULT;
        case KVM_EXIT_INTERNAL_ERROR:
            hvt_say("guest fault: KVM internal error %u\n", vm->run->internal.suberror);
            return TENDER_EXIT_FAULT;
        case KVM_EXIT_FAIL_ENTRY:
            hvt_say("guest fault: VM entry failed (reason 0x%llx)\n",
                    (unsigned long long)vm->run->fail_entry.hardware_entry_failure_reason);
            return TENDER_EXIT_FAULT;
        default:
            hvt_say("guest fault: unexpected VM exit %u\n", vm->run->exit_reason);
            return TENDER_EXIT_FAULT;
        }
    }
}

int hvt_vm_run(struct hvt_vm *vm)
{
    struct timespec now;
    int st;

    clock_gettime(CLOCK_REALTIME, &now);
    vm->boot->wall_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    st = vm->gdb ? hvt_gdb_start(vm) : CONTINUE;
    if (st == CONTINUE)
        st = run(vm);
    if (vm->gdb)
        hvt_gdb_exited(vm, st);
    return st;
}
