/* fault.c: reports a guest fault or a forbidden system call and ends with the tender status. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ucontext.h>

#include "mirage/abi/guard.h"
#include "spt.h"
#include "sysnames.h"

/*
 * The handlers run after the guest has taken over the process: FS points at
 * the guest's TCB (so nothing here may use TLS: no errno, no stack protector,
 * no libc beyond what is inlined), only write(2), exit_group and the guest's
 * own mprotect pass the seccomp filter, and the guest's stack may be anything (they run on their
 * own alternate stack). They report and end the process; they never return.
 */
#define NOSP __attribute__((no_stack_protector))
#define PAGE 4096

static uint64_t guard_page;
static uint64_t heap_lo, heap_hi;
/* --dumpcore (spt_faults_core) */
static const struct tender_core *core;
static uint64_t core_image_lo, core_mem_lo, core_mem_hi, core_fiber_sym;
static const char *core_name;

struct msg {
    char buf[256];
    unsigned n;
};

NOSP static void put(struct msg *m, const char *s)
{
    while (*s != '\0' && m->n < sizeof(m->buf))
        m->buf[m->n++] = *s++;
}

NOSP static void put_num(struct msg *m, uint64_t v, unsigned base)
{
    char tmp[24];
    int i = 0;

    if (base == 16)
        put(m, "0x");
    do {
        tmp[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (i > 0 && m->n < sizeof(m->buf))
        m->buf[m->n++] = tmp[--i];
}

NOSP static void say(struct msg *m)
{
    long r;

    if (m->n < sizeof(m->buf))
        m->buf[m->n++] = '\n';
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(1L), "D"(2L), "S"(m->buf), "d"((long)m->n)
                     : "rcx", "r11", "memory");
}

__attribute__((noreturn)) NOSP static void end(int status)
{
    long r;

    for (;;)
        __asm__ volatile("syscall" : "=a"(r) : "a"(231L), "D"((long)status) : "rcx", "r11");
}

__attribute__((noreturn)) NOSP static void report(struct msg *m, int status)
{
    say(m);
    end(status);
}

NOSP static long sys_mprotect(uint64_t addr, uint64_t len, long prot)
{
    long r;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(10L), "D"(addr), "S"(len), "d"(prot)
                     : "rcx", "r11", "memory");
    return r;
}

/* Names the fiber whose guard page is at (page), from the label the runtime
 * left there (abi/guard.h). The guest is ending, so the handler may make the
 * label and the name readable again: the filter allows read/write mprotect
 * inside the heap, where both must lie. Nothing in them is trusted. */
NOSP static void put_owner(struct msg *m, uint64_t page)
{
    const volatile struct mirage_guard_label *l = (const void *)(uintptr_t)page;
    const volatile char *name;
    uint64_t a, first, last;

    if (sys_mprotect(page, PAGE, 3) != 0 || l->magic != MIRAGE_GUARD_MAGIC)
        goto anonymous;
    a = l->name;
    if (a < heap_lo || heap_hi - heap_lo < MIRAGE_GUARD_NAME_MAX ||
        a > heap_hi - MIRAGE_GUARD_NAME_MAX)
        goto anonymous;
    first = a & ~(uint64_t)(PAGE - 1);
    last = (a + MIRAGE_GUARD_NAME_MAX - 1) & ~(uint64_t)(PAGE - 1);
    if (sys_mprotect(first, last + PAGE - first, 3) != 0)
        goto anonymous;
    name = (const volatile char *)(uintptr_t)a;
    put(m, "fiber '");
    for (int i = 0; i < MIRAGE_GUARD_NAME_MAX - 1 && name[i] != '\0' && m->n < sizeof(m->buf); i++)
        m->buf[m->n++] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    put(m, "'");
    return;
anonymous:
    put(m, "a fiber");
}

NOSP static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    struct msg m = {.n = 0};
    unsigned nr = (unsigned)si->si_syscall;

    (void)sig;
    (void)ctx;
    put(&m, "mirage-spt: forbidden system call ");
    put_num(&m, nr, 10);
    if (si->si_arch != AUDIT_ARCH_X86_64)
        put(&m, " (not the x86_64 ABI)");
    else if (nr & 0x40000000)
        put(&m, " (the x32 ABI)");
    else if (nr < sizeof(sysnames) / sizeof(sysnames[0]) && sysnames[nr] != NULL) {
        put(&m, " (");
        put(&m, sysnames[nr]);
        put(&m, ")");
    }
    put(&m, " at ");
    put_num(&m, (uint64_t)(uintptr_t)si->si_call_addr, 16);
    report(&m, TENDER_EXIT_SANDBOX);
}

NOSP static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    default:
        return "SIGTRAP";
    }
}

/* x86 exception vectors and page-fault error code bits (Intel SDM vol. 3, 4.7 and 6.15). */
#define TRAP_GP  13
#define TRAP_PF  14
#define PF_WRITE 2
#define PF_FETCH 16

/* The running fiber's name into (m), from the runtime's mirage_fiber_running.
 * The pointer is checked to lie in the guest's memory, where the runtime
 * keeps fiber records (never in a guard page unless its state is wrecked). */
NOSP static void put_running(struct msg *m)
{
    const volatile char *name;
    uint64_t a;

    if (core_fiber_sym < core_image_lo || core_fiber_sym + 8 > core_mem_lo) {
        put(m, "?");
        return;
    }
    a = *(const volatile uint64_t *)(uintptr_t)core_fiber_sym;
    if (a < core_image_lo || a > core_mem_hi - MIRAGE_GUARD_NAME_MAX) {
        put(m, "?");
        return;
    }
    name = (const volatile char *)(uintptr_t)a;
    for (int i = 0; i < MIRAGE_GUARD_NAME_MAX - 1 && name[i] != '\0' && m->n < sizeof(m->buf); i++)
        m->buf[m->n++] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
}

/* --dumpcore: the registers of the interrupted guest, (what) it did (a
 * message without its "mirage-spt: " and newline), its memory. */
NOSP static void dump(int signo, const ucontext_t *uc, const char *what, unsigned wlen)
{
    const greg_t *g = uc->uc_mcontext.gregs;
    struct tender_core_info info;
    struct tender_core_region rg[2];
    struct msg text = {.n = 0}, m = {.n = 0};
    int r;

    if (core == NULL)
        return;
    put(&text, "fiber '");
    put_running(&text);
    put(&text, "': ");
    for (unsigned i = 0; i < wlen && text.n < sizeof(text.buf) - 1; i++)
        text.buf[text.n++] = what[i];
    text.buf[text.n < sizeof(text.buf) ? text.n : sizeof(text.buf) - 1] = '\0';
    info.regs = (struct tender_core_regs){.r15 = (uint64_t)g[REG_R15],
                                          .r14 = (uint64_t)g[REG_R14],
                                          .r13 = (uint64_t)g[REG_R13],
                                          .r12 = (uint64_t)g[REG_R12],
                                          .rbp = (uint64_t)g[REG_RBP],
                                          .rbx = (uint64_t)g[REG_RBX],
                                          .r11 = (uint64_t)g[REG_R11],
                                          .r10 = (uint64_t)g[REG_R10],
                                          .r9 = (uint64_t)g[REG_R9],
                                          .r8 = (uint64_t)g[REG_R8],
                                          .rax = (uint64_t)g[REG_RAX],
                                          .rcx = (uint64_t)g[REG_RCX],
                                          .rdx = (uint64_t)g[REG_RDX],
                                          .rsi = (uint64_t)g[REG_RSI],
                                          .rdi = (uint64_t)g[REG_RDI],
                                          .orig_rax = (uint64_t)-1,
                                          .rip = (uint64_t)g[REG_RIP],
                                          .cs = 0x33,
                                          .eflags = (uint64_t)g[REG_EFL],
                                          .rsp = (uint64_t)g[REG_RSP],
                                          .ss = 0x2b};
    info.signo = signo;
    info.name = core_name;
    info.text = text.buf;
    rg[0] = (struct tender_core_region){.vaddr = core_image_lo,
                                        .len = core_mem_lo - core_image_lo,
                                        .data = (const uint8_t *)(uintptr_t)core_image_lo,
                                        .resident_only = 1};
    rg[1] = (struct tender_core_region){.vaddr = core_mem_lo,
                                        .len = core_mem_hi - core_mem_lo,
                                        .data = (const uint8_t *)(uintptr_t)core_mem_lo,
                                        .resident_only = 1};
    r = tender_core_write(core, &info, rg, 2);
    put(&m, r < 0 ? "mirage-spt: cannot write the core file " : "mirage-spt: core dumped to ");
    put(&m, core->path);
    if (r < 0) {
        put(&m, ": error ");
        put_num(&m, (uint64_t)-r, 10);
    }
    say(&m);
}

NOSP static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    const ucontext_t *uc = ctx;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    uint64_t trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    uint64_t code = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    struct msg m = {.n = 0};

    /* mirage_abort(): ud2 with SPT_ABORT_MAGIC in rax. The guest said why. */
    if (sig == SIGILL && si->si_code > 0 &&
        (uint64_t)uc->uc_mcontext.gregs[REG_RAX] == SPT_ABORT_MAGIC && rip >= core_image_lo &&
        rip < core_mem_lo && *(const volatile uint16_t *)(uintptr_t)rip == 0x0b0f) {
        dump(SIGABRT, uc, "abort", 5);
        end(TENDER_EXIT_ABORT);
    }
    put(&m, "mirage-spt: guest fault: ");
    put(&m, signame(sig));
    if (si->si_code <= 0) {
        /* Sent by a process, not raised by the CPU. */
        put(&m, " sent by process ");
        put_num(&m, (uint64_t)si->si_pid, 10);
        report(&m, TENDER_EXIT_FAULT);
    }
    if (sig == SIGSEGV && trapno == TRAP_PF) {
        put(&m, code & PF_FETCH ? " executing" : code & PF_WRITE ? " writing" : " reading");
        put(&m, " address ");
        put_num(&m, (uint64_t)(uintptr_t)si->si_addr, 16);
        if ((uint64_t)(uintptr_t)si->si_addr - guard_page < PAGE) {
            put(&m, " (stack overflow)");
        } else if (!(code & PF_FETCH) && (uint64_t)(uintptr_t)si->si_addr >= heap_lo &&
                   (uint64_t)(uintptr_t)si->si_addr < heap_hi) {
            /* The heap is mapped read/write throughout; only a page the guest
             * itself set to PROT_NONE faults there: a fiber stack's guard. */
            put(&m, ": stack overflow of ");
            put_owner(&m, (uint64_t)(uintptr_t)si->si_addr & ~(uint64_t)(PAGE - 1));
            put(&m, " (guard page at ");
            put_num(&m, (uint64_t)(uintptr_t)si->si_addr & ~(uint64_t)(PAGE - 1), 16);
            put(&m, ")");
        }
    } else if (sig == SIGSEGV && trapno == TRAP_GP) {
        put(&m, " general protection fault (a non-canonical address or a privileged instruction)");
    } else if (sig == SIGILL) {
        put(&m, " illegal instruction");
    } else if (sig == SIGFPE) {
        put(&m, " arithmetic error (division by zero?)");
    } else if (sig == SIGBUS) {
        put(&m, " bus error at address ");
        put_num(&m, (uint64_t)(uintptr_t)si->si_addr, 16);
    } else if (sig == SIGTRAP) {
        put(&m, " breakpoint");
    } else {
        put(&m, " at address ");
        put_num(&m, (uint64_t)(uintptr_t)si->si_addr, 16);
    }
    put(&m, " (rip ");
    put_num(&m, rip, 16);
    put(&m, ")");
    say(&m);
    dump(sig, uc, m.buf + 12, m.n - 13);
    end(TENDER_EXIT_FAULT);
}

void spt_faults_core(const struct tender_core *c, uint64_t image_lo, uint64_t mem_lo,
                     uint64_t mem_hi, uint64_t fiber_sym, const char *name)
{
    core = c;
    core_image_lo = image_lo;
    core_mem_lo = mem_lo;
    core_mem_hi = mem_hi;
    core_fiber_sym = fiber_sym;
    core_name = name;
}

int spt_faults_catch(uint64_t guard, uint64_t heap_start, uint64_t heap_end, char *err)
{
    static char altstack[32768] __attribute__((aligned(64)));
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    struct sigaction sa = {.sa_flags = SA_SIGINFO | SA_ONSTACK};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigset_t unblock;

    guard_page = guard;
    heap_lo = heap_start;
    heap_hi = heap_end;
    sigfillset(&sa.sa_mask);
    sigemptyset(&unblock);
    if (sigaltstack(&ss, NULL) < 0)
        goto bad;
    sa.sa_sigaction = on_fault;
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        if (sigaction(faults[i], &sa, NULL) < 0)
            goto bad;
        sigaddset(&unblock, faults[i]);
    }
    sa.sa_sigaction = on_sigsys;
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        goto bad;
    sigaddset(&unblock, SIGSYS);
    /* A closed console must not kill the tender: the write fails instead. */
    if (sigaction(SIGPIPE, &ign, NULL) < 0 || sigaction(SIGXFSZ, &ign, NULL) < 0)
        goto bad;
    /* Inherited blocked faults would kill the process without a word. */
    if (sigprocmask(SIG_UNBLOCK, &unblock, NULL) < 0)
        goto bad;
    return 0;
bad:
    snprintf(err, TENDER_ERR_MAX, "cannot install the fault handlers: %s", strerror(errno));
    return -1;
}
