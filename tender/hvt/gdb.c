/* gdb.c: --gdb: mirage-hvt's GDB remote stub: registers, memory, breakpoints, steps, Ctrl-C, faults. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb_rsp.h"
#include "vm.h"

#define PAGE     4096ULL
#define RFLAGS_TF 0x100ULL
#define INT3     0xcc
#define MAX_BPS  64

/* gdb's own signal numbers (the protocol's), where they differ from Linux's. */
#define GDB_SIGBUS 10

/*
 * How gdb's stops are made here (see the README's "Debugging"). The guest's
 * exceptions reach the tender through its ring-0 stubs (vm.c), so a software
 * breakpoint is an int3 the stub reports, and a single step is the trap flag:
 * the CPU raises #DB after one instruction and the stub reports that too.
 * Both leave the vCPU in the ring-0 stub with the interrupted ring-3 state in
 * the exception frame; resuming puts that state back (KVM_SET_REGS and the
 * ring-3 segments through KVM_SET_SREGS). KVM's own guest debugging
 * (KVM_SET_GUEST_DEBUG) is not used: the guest's exceptions are known to
 * reach its stubs under nested PVM, KVM's debugging there is not.
 */

struct hvt_gdb {
    int fd;     /* the connection; -1 once gdb detached */
    int no_ack; /* QStartNoAckMode */
    int swbreak; /* gdb takes "swbreak" stops: a breakpoint's pc is its own address */
    struct gdb_rsp_in in;
    uint8_t out[2 * GDB_RSP_BODY_MAX + 8]; /* the last reply, framed, for a NAK */
    size_t out_len;
    char reply[GDB_RSP_BODY_MAX + 1];
    struct gdb_rsp_cmd cmd;
    struct kvm_regs regs;            /* the guest's, as gdb sees and changes them */
    struct kvm_segment cs3, ss3;     /* the ring-3 segments, to return to */
    int in_stub;                     /* stopped in the ring-0 stub: resuming leaves it */
    int stepping;                    /* the last resume was a step */
    int signo;                       /* the last stop's, in gdb's numbering */
    int at_bp;                       /* the last stop was one of gdb's breakpoints */
    int fatal;                       /* stopped at a fault or abort: the exit status it ends with */
    struct {
        uint64_t addr;
        uint8_t saved;
    } bps[MAX_BPS];
    unsigned nbps;
    /* Ctrl-C: the watcher thread polls the connection while the guest runs. */
    pthread_t vcpu;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;
    volatile int interrupt;
    int started;
};

static int attached(const struct hvt_vm *vm)
{
    return vm->gdb && vm->gdb->fd >= 0;
}

/* ---- the connection ------------------------------------------------------ */

static void send_raw(struct hvt_gdb *g, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0 && g->fd >= 0) {
        ssize_t n = write(g->fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* gdb is gone: the next read says so */
        p += n;
        len -= (size_t)n;
    }
}

static void reply(struct hvt_gdb *g, const char *body)
{
    g->out_len = gdb_rsp_frame((const uint8_t *)body, strlen(body), g->out, sizeof(g->out));
    send_raw(g, g->out, g->out_len);
}

static int gdb_signal(int linux_signo)
{
    return linux_signo == SIGBUS ? GDB_SIGBUS : linux_signo;
}

/* ---- guest memory as gdb addresses it ----------------------------------------- */

/* Whether the guest's page tables map the page at (va) for ring 3. */
static int user_page(const struct hvt_vm *vm, uint64_t va)
{
    uint64_t table = HVT_PT_POOL, e = 0;

    if (va >> 39)
        return 0; /* one PML4 entry: the low 512 GiB */
    for (int level = 3; level >= 0; level--) {
        unsigned idx = (va >> (12 + 9 * level)) & 511;

        if (table + PAGE > vm->mem_size)
            return 0;
        memcpy(&e, vm->mem + table + idx * 8, 8);
        if ((e & 5) != 5) /* present, user */
            return 0;
        if (level > 0 && level < 3 && (e & 0x80))
            return 1; /* a large page */
        table = e & 0x000ffffffffff000ULL;
    }
    return 1;
}

/* (len) bytes at guest address (va) in the tender, or NULL: each page must be
 * mapped for the guest and none a guard page (hvt_gpa). */
static uint8_t *guest_range(const struct hvt_vm *vm, uint64_t va, uint64_t len)
{
    if (len == 0 || !hvt_gpa(vm, va, len))
        return NULL;
    for (uint64_t a = va & ~(PAGE - 1); a < va + len; a += PAGE)
        if (!user_page(vm, a))
            return NULL;
    return vm->mem + va;
}

static int find_bp(const struct hvt_gdb *g, uint64_t addr)
{
    for (unsigned i = 0; i < g->nbps; i++)
        if (g->bps[i].addr == addr)
            return (int)i;
    return -1;
}

static void remove_all_bps(struct hvt_vm *vm)
{
    struct hvt_gdb *g = vm->gdb;

    for (unsigned i = 0; i < g->nbps; i++) {
        uint8_t *p = guest_range(vm, g->bps[i].addr, 1);

        if (p)
            *p = g->bps[i].saved;
    }
    g->nbps = 0;
}

/* m: the memory gdb asked for, with its own breakpoints shown as they were. */
static void read_mem(struct hvt_vm *vm, const struct gdb_rsp_cmd *c)
{
    struct hvt_gdb *g = vm->gdb;
    const uint8_t *p = guest_range(vm, c->addr, c->len);
    uint8_t buf[GDB_RSP_BODY_MAX / 2];

    if (!p) {
        reply(g, "E0e");
        return;
    }
    memcpy(buf, p, c->len);
    for (unsigned i = 0; i < g->nbps; i++)
        if (g->bps[i].addr - c->addr < c->len)
            buf[g->bps[i].addr - c->addr] = g->bps[i].saved;
    gdb_rsp_hex(buf, c->len, g->reply);
    g->reply[2 * c->len] = 0;
    reply(g, g->reply);
}

static void write_mem(struct hvt_vm *vm, const struct gdb_rsp_cmd *c)
{
    struct hvt_gdb *g = vm->gdb;
    uint8_t *p = guest_range(vm, c->addr, c->len);

    if (!p && c->len) {
        reply(g, "E0e");
        return;
    }
    for (uint64_t i = 0; i < c->len; i++) {
        int b = find_bp(g, c->addr + i);

        if (b >= 0)
            g->bps[b].saved = c->data[i]; /* stays a breakpoint until z0 */
        else
            p[i] = c->data[i];
    }
    reply(g, "OK");
}

static void insert_bp(struct hvt_vm *vm, uint64_t addr)
{
    struct hvt_gdb *g = vm->gdb;
    uint8_t *p = guest_range(vm, addr, 1);

    if (!p) {
        reply(g, "E0e");
        return;
    }
    if (find_bp(g, addr) < 0) {
        if (g->nbps == MAX_BPS) {
            reply(g, "E1c"); /* ENOSPC */
            return;
        }
        g->bps[g->nbps].addr = addr;
        g->bps[g->nbps++].saved = *p;
        *p = INT3;
    }
    reply(g, "OK");
}

static void remove_bp(struct hvt_vm *vm, uint64_t addr)
{
    struct hvt_gdb *g = vm->gdb;
    int b = find_bp(g, addr);
    uint8_t *p = guest_range(vm, addr, 1);

    if (b >= 0) {
        if (p)
            *p = g->bps[b].saved;
        g->bps[b] = g->bps[--g->nbps];
    }
    reply(g, "OK");
}

/* ---- registers -------------------------------------------------------------- */

static void regs_to_gdb(const struct kvm_regs *k, struct gdb_rsp_regs *r)
{
    const uint64_t gpr[16] = {k->rax, k->rbx, k->rcx, k->rdx, k->rsi, k->rdi, k->rbp, k->rsp,
                              k->r8,  k->r9,  k->r10, k->r11, k->r12, k->r13, k->r14, k->r15};

    memcpy(r->gpr, gpr, sizeof(gpr));
    r->rip = k->rip;
    r->eflags = (uint32_t)k->rflags;
    r->cs = HVT_SEL_CODE3;
    r->ss = r->ds = r->es = r->fs = r->gs = HVT_SEL_DATA3;
}

static void regs_from_gdb(const struct gdb_rsp_regs *r, struct kvm_regs *k)
{
    __u64 *gpr[16] = {&k->rax, &k->rbx, &k->rcx, &k->rdx, &k->rsi, &k->rdi, &k->rbp, &k->rsp,
                         &k->r8,  &k->r9,  &k->r10, &k->r11, &k->r12, &k->r13, &k->r14, &k->r15};

    for (int i = 0; i < 16; i++)
        *gpr[i] = r->gpr[i];
    k->rip = r->rip;
    /* the privilege bits stay the tender's: IOPL 3, interrupts off, reserved bit 1 */
    k->rflags = (r->eflags & 0xcd5 & ~0x200ULL) | 0x3002;
}

/* Puts gdb's view of the registers back into the vCPU before it runs again,
 * out of the ring-0 stub if it stopped there. 0, or -1 (said why). */
static int load_regs(struct hvt_vm *vm)
{
    struct hvt_gdb *g = vm->gdb;

    if (ioctl(vm->vcpufd, KVM_SET_REGS, &g->regs) < 0) {
        hvt_say("gdb: KVM_SET_REGS: %s\n", strerror(errno));
        return -1;
    }
    if (g->in_stub) {
        struct kvm_sregs sr;

        if (ioctl(vm->vcpufd, KVM_GET_SREGS, &sr) < 0)
            return hvt_say("gdb: KVM_GET_SREGS: %s\n", strerror(errno)), -1;
        sr.cs = g->cs3;
        sr.ss = g->ss3;
        if (ioctl(vm->vcpufd, KVM_SET_SREGS, &sr) < 0)
            return hvt_say("gdb: KVM_SET_SREGS: %s\n", strerror(errno)), -1;
        g->in_stub = 0;
    }
    return 0;
}

/* ---- the watcher: Ctrl-C while the guest runs -------------------------------- */

static void on_kick(int sig)
{
    (void)sig; /* only to make KVM_RUN, or a yield's wait, return EINTR */
}

static void *watch(void *arg)
{
    struct hvt_vm *vm = arg;
    struct hvt_gdb *g = vm->gdb;

    __atomic_store_n(&g->started, 1, __ATOMIC_RELEASE);
    for (;;) {
        struct pollfd pfd = {.fd = g->fd, .events = POLLIN};
        uint8_t c = 0;
        ssize_t n;

        pthread_mutex_lock(&g->lock);
        while (!g->running || g->interrupt)
            pthread_cond_wait(&g->cond, &g->lock);
        pthread_mutex_unlock(&g->lock);
        if (ppoll(&pfd, 1, NULL, NULL) <= 0)
            continue;
        pthread_mutex_lock(&g->lock);
        if (g->running && !g->interrupt) {
            /* 0x03 is Ctrl-C; anything else (or gdb gone) also wants the
             * vCPU's attention: it reads the rest once stopped. */
            n = recv(g->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 1 && c == 0x03 && recv(g->fd, &c, 1, MSG_DONTWAIT) < 0)
                c = 0;
            g->interrupt = 1;
            vm->run->immediate_exit = 1;
            pthread_kill(g->vcpu, SIGUSR1);
        }
        pthread_mutex_unlock(&g->lock);
    }
    return NULL;
}

static void set_running(struct hvt_gdb *g, int running)
{
    pthread_mutex_lock(&g->lock);
    g->running = running;
    if (!running)
        g->interrupt = 0;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* ---- a stop: serve gdb until it resumes, detaches or kills ----------------------- */

static void detach(struct hvt_vm *vm)
{
    struct hvt_gdb *g = vm->gdb;

    remove_all_bps(vm);
    g->regs.rflags &= ~RFLAGS_TF;
    g->stepping = 0;
    if (!g->fatal && load_regs(vm) < 0)
        g->fatal = TENDER_EXIT_FAULT;
    shutdown(g->fd, SHUT_RDWR);
    /* the fd stays open (the sandbox names it) but is never used again */
    g->fd = -1;
    hvt_say("gdb detached; the unikernel runs on\n");
}

/* Why the guest stopped. At one of its breakpoints gdb reads the pc as the
 * breakpoint's address when it takes "swbreak" stops; else, as after a
 * trap, one byte on, which it moves back itself. */
static void stop_reply(struct hvt_gdb *g)
{
    if (g->at_bp && g->swbreak)
        snprintf(g->reply, sizeof(g->reply), "T%02xswbreak:;", g->signo);
    else
        snprintf(g->reply, sizeof(g->reply), "S%02x", g->signo);
    reply(g, g->reply);
}

/* The result of one packet: go on serving, resume, or end with a status. */
#define SERVE  (-2)
#define RESUME HVT_GDB_RESUME

static int command(struct hvt_vm *vm, const uint8_t *body, size_t len)
{
    struct hvt_gdb *g = vm->gdb;
    struct gdb_rsp_cmd *c = &g->cmd;
    struct gdb_rsp_regs r;

    gdb_rsp_parse(body, len, c);
    switch (c->kind) {
    case GDB_CMD_UNSUPPORTED:
        reply(g, "");
        return SERVE;
    case GDB_CMD_BAD:
        hvt_say("gdb: bad packet '%.40s': %s\n", (const char *)body, c->why);
        reply(g, "E16");
        return SERVE;
    case GDB_CMD_STOP_REASON:
        stop_reply(g);
        return SERVE;
    case GDB_CMD_READ_REGS:
        regs_to_gdb(&g->regs, &r);
        gdb_rsp_regs_hex(&r, g->reply);
        g->reply[2 * GDB_RSP_REGS_SIZE] = 0;
        reply(g, g->reply);
        return SERVE;
    case GDB_CMD_WRITE_REGS:
        gdb_rsp_regs_from(c->data, c->data_len, &r);
        regs_from_gdb(&r, &g->regs);
        reply(g, "OK");
        return SERVE;
    case GDB_CMD_READ_MEM:
        read_mem(vm, c);
        return SERVE;
    case GDB_CMD_WRITE_MEM:
        write_mem(vm, c);
        return SERVE;
    case GDB_CMD_INSERT_BP:
        insert_bp(vm, c->addr);
        return SERVE;
    case GDB_CMD_REMOVE_BP:
        remove_bp(vm, c->addr);
        return SERVE;
    case GDB_CMD_SUPPORTED:
        g->swbreak = memmem(body, len, "swbreak+", 8) != NULL;
        snprintf(g->reply, sizeof(g->reply), "PacketSize=%x;QStartNoAckMode+%s", GDB_RSP_BODY_MAX,
                 g->swbreak ? ";swbreak+" : "");
        reply(g, g->reply);
        return SERVE;
    case GDB_CMD_NO_ACK:
        reply(g, "OK");
        g->no_ack = 1;
        return SERVE;
    case GDB_CMD_VCONT_QUERY:
        reply(g, "vCont;c;C;s;S");
        return SERVE;
    case GDB_CMD_ATTACHED:
        reply(g, "1"); /* quitting gdb detaches: the unikernel is a service */
        return SERVE;
    case GDB_CMD_SET_THREAD:
        reply(g, "OK");
        return SERVE;
    case GDB_CMD_THREAD:
        reply(g, c->thread_query == 'C' ? "QC1" : c->thread_query == 'f' ? "m1" : "l");
        return SERVE;
    case GDB_CMD_CONTINUE:
    case GDB_CMD_STEP:
        if (g->fatal)
            return g->fatal; /* a fault cannot be resumed: the unikernel ends as it would have */
        if (c->has_addr)
            g->regs.rip = c->addr;
        g->stepping = c->kind == GDB_CMD_STEP;
        if (g->stepping)
            g->regs.rflags |= RFLAGS_TF;
        return load_regs(vm) < 0 ? TENDER_EXIT_FAULT : RESUME;
    case GDB_CMD_KILL:
        remove_all_bps(vm);
        if (len > 1)
            reply(g, "OK"); /* vKill has a reply, k none */
        hvt_say("gdb killed the unikernel\n");
        shutdown(g->fd, SHUT_RDWR);
        g->fd = -1;
        return TENDER_EXIT_ABORT;
    case GDB_CMD_DETACH:
        reply(g, "OK");
        detach(vm);
        return g->fatal ? g->fatal : RESUME;
    }
    reply(g, "");
    return SERVE;
}

/* Serves gdb while the guest is stopped (with (signo), told to gdb when
 * (announce)). Returns RESUME, or the tender's exit status. */
static int serve(struct hvt_vm *vm, int announce)
{
    struct hvt_gdb *g = vm->gdb;
    uint8_t buf[4096];

    set_running(g, 0);
    vm->run->immediate_exit = 0;
    if (announce)
        stop_reply(g);
    for (;;) {
        ssize_t n = read(g->fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            detach(vm);
            return g->fatal ? g->fatal : RESUME;
        }
        for (ssize_t i = 0; i < n; i++) {
            int st;

            switch (gdb_rsp_feed(&g->in, buf[i])) {
            case GDB_RSP_PACKET:
                if (!g->no_ack)
                    send_raw(g, "+", 1);
                st = command(vm, g->in.body, g->in.len);
                if (st == SERVE)
                    break;
                if (st == RESUME)
                    set_running(g, 1);
                return st;
            case GDB_RSP_BAD_SUM:
                hvt_say("gdb: packet with a wrong checksum%s\n",
                        g->no_ack ? " (answered E01)" : " (asked again)");
                if (g->no_ack)
                    reply(g, "E01");
                else
                    send_raw(g, "-", 1);
                break;
            case GDB_RSP_REFUSED:
                hvt_say("gdb: packet refused: %s\n", g->in.why);
                if (!g->no_ack)
                    send_raw(g, "+", 1);
                reply(g, "E01");
                break;
            case GDB_RSP_NAK:
                if (!g->no_ack)
                    send_raw(g, g->out, g->out_len);
                break;
            case GDB_RSP_INTERRUPT: /* stopped already */
            case GDB_RSP_ACK:
            case GDB_RSP_MORE:
                break;
            }
        }
    }
}

/* Reads the vCPU's registers into gdb's view. */
static int fetch_regs(struct hvt_vm *vm)
{
    if (ioctl(vm->vcpufd, KVM_GET_REGS, &vm->gdb->regs) < 0) {
        hvt_say("gdb: KVM_GET_REGS: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- what run.c calls --------------------------------------------------------- */

int hvt_gdb_wait(struct hvt_vm *vm, uint16_t port, char *err)
{
    static struct hvt_gdb gdb;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sigaction act;
    struct kvm_sregs sr;
    int one = 1, lfd, fd;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return tender_fail(err, "--gdb: socket: %s", strerror(errno));
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
        tender_fail(err, "--gdb: cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
        close(lfd);
        return -1;
    }
    hvt_say("waiting for gdb on 127.0.0.1:%u (target remote :%u)\n", port, port);
    do
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    close(lfd); /* one debugger per run */
    if (fd < 0)
        return tender_fail(err, "--gdb: accept: %s", strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ioctl(vm->vcpufd, KVM_GET_SREGS, &sr) < 0 || ioctl(vm->vcpufd, KVM_GET_REGS, &gdb.regs) < 0)
        return tender_fail(err, "--gdb: cannot read the vCPU: %s", strerror(errno));
    gdb.fd = fd;
    gdb.cs3 = sr.cs;
    gdb.ss3 = sr.ss;
    gdb.signo = SIGTRAP;
    gdb.vcpu = pthread_self();
    gdb_rsp_in_init(&gdb.in);
    pthread_mutex_init(&gdb.lock, NULL);
    pthread_cond_init(&gdb.cond, NULL);
    memset(&act, 0, sizeof(act));
    act.sa_handler = on_kick; /* no SA_RESTART: waits end with EINTR */
    if (sigaction(SIGUSR1, &act, NULL) < 0)
        return tender_fail(err, "--gdb: sigaction: %s", strerror(errno));
    vm->gdb = &gdb;
    return hvt_thread_start(watch, vm, &gdb.started, "gdb", err);
}

int hvt_gdb_fd(const struct hvt_vm *vm)
{
    return vm->gdb ? vm->gdb->fd : -1;
}

int hvt_gdb_start(struct hvt_vm *vm)
{
    if (!attached(vm))
        return RESUME;
    vm->gdb->signo = SIGTRAP;
    return serve(vm, 0);
}

int hvt_gdb_interrupted(struct hvt_vm *vm)
{
    struct hvt_gdb *g = vm->gdb;

    vm->run->immediate_exit = 0;
    if (!attached(vm) || !g->interrupt)
        return RESUME;
    if (fetch_regs(vm) < 0)
        return TENDER_EXIT_FAULT;
    g->signo = SIGINT;
    g->at_bp = 0;
    return serve(vm, 1);
}

int hvt_gdb_trap(struct hvt_vm *vm, uint64_t vec, uint64_t ec, const uint64_t *frame)
{
    struct hvt_gdb *g = vm->gdb;
    uint64_t rip = frame[0];

    if (!attached(vm))
        return HVT_GDB_NOT_MINE;
    /* int3 from ring 3 through a ring-0 gate is a #GP naming vector 3 at the
     * int3 itself; as #BP it would be the byte after. */
    if (vec == 13 && ec == (3 << 3 | 2) && find_bp(g, rip) >= 0)
        g->at_bp = 1;
    else if (vec == 3 && find_bp(g, rip - 1) >= 0)
        g->at_bp = 1, rip--;
    else if (vec == 1 && g->stepping)
        g->at_bp = 0;
    else
        return HVT_GDB_NOT_MINE;
    if (fetch_regs(vm) < 0)
        return TENDER_EXIT_FAULT;
    g->regs.rip = g->at_bp && !g->swbreak ? rip + 1 : rip;
    g->regs.rflags = frame[2] & ~RFLAGS_TF;
    g->regs.rsp = frame[3];
    g->in_stub = 1;
    g->stepping = 0;
    g->signo = SIGTRAP;
    return serve(vm, 1);
}

int hvt_gdb_fault(struct hvt_vm *vm, const struct kvm_regs *r, int signo, int status)
{
    struct hvt_gdb *g = vm->gdb;

    if (!attached(vm))
        return status;
    g->regs = *r;
    g->regs.rflags &= ~RFLAGS_TF;
    g->signo = gdb_signal(signo);
    g->at_bp = 0;
    g->fatal = status;
    return serve(vm, 1);
}

void hvt_gdb_exited(struct hvt_vm *vm, int status)
{
    struct hvt_gdb *g = vm->gdb;

    if (!attached(vm))
        return;
    if (g->fatal)
        snprintf(g->reply, sizeof(g->reply), "X%02x", g->signo);
    else
        snprintf(g->reply, sizeof(g->reply), "W%02x", status & 0xff);
    reply(g, g->reply);
}
