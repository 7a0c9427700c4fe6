/* sandbox.c: the seccomp filter mirage-hvt puts on itself before the guest's first instruction. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mirage/platform.h"
#include "vm.h"

/* Any other system call is a tender bug or an exploit: say which and stop. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    char msg[96];
    int n;

    (void)sig;
    (void)ctx;
    n = snprintf(msg, sizeof(msg), "mirage-hvt: tender stopped: forbidden system call %d\n",
                 si->si_syscall);
    if (write(2, msg, n) < 0)
        _exit(TENDER_EXIT_SANDBOX);
    _exit(TENDER_EXIT_SANDBOX);
}

static int allow_fd(scmp_filter_ctx ctx, int call, int fd)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 1, SCMP_A0(SCMP_CMP_EQ, (unsigned)fd));
}

int hvt_sandbox(const struct hvt_vm *vm, char *err)
{
    static const int plain[] = {
        SCMP_SYS(ppoll),        SCMP_SYS(nanosleep),       SCMP_SYS(clock_nanosleep),
        SCMP_SYS(exit),         SCMP_SYS(exit_group),      SCMP_SYS(clock_gettime),
        SCMP_SYS(gettimeofday), SCMP_SYS(restart_syscall), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(sched_yield),  SCMP_SYS(futex),
    };
    static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS};
    struct sigaction sa;
    scmp_filter_ctx ctx;
    int fds[HVT_MAX_DEVS + 2], nfds, rc = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return tender_fail(err, "sigaction: %s", strerror(errno));
    ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return tender_fail(err, "seccomp_init failed");
    rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
    for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)vm->vcpufd),
                               SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
    /* Guard pages: heap pages of guest memory to no access and back, never executable. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           SCMP_A2(SCMP_CMP_EQ, PROT_NONE));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           SCMP_A2(SCMP_CMP_EQ, PROT_READ | PROT_WRITE));
    rc |= allow_fd(ctx, SCMP_SYS(write), 1);
    rc |= allow_fd(ctx, SCMP_SYS(write), 2);
    nfds = hvt_net_fds(vm, fds, HVT_MAX_DEVS + 2);
    for (int i = 0; i < nfds; i++) {
        rc |= allow_fd(ctx, SCMP_SYS(read), fds[i]);
        rc |= allow_fd(ctx, SCMP_SYS(write), fds[i]);
        /* the taps' frames: a virtio-net header and a frame wrapping in its ring */
        rc |= allow_fd(ctx, SCMP_SYS(readv), fds[i]);
        rc |= allow_fd(ctx, SCMP_SYS(writev), fds[i]);
    }
    /* HVT_HC_NET_OFFLOAD: TUNSETOFFLOAD on a tap, with the settings it makes of what the tap takes. */
    for (unsigned i = 0; i < vm->img->ndevs; i++) {
        if (vm->devs[i].type != MIRAGE_DEV_NET || !vm->devs[i].vnet || !vm->devs[i].offloads)
            continue;
        for (unsigned k = 0; mirage_tun_offload_setting(vm->devs[i].offloads, k) != ~0UL; k++)
            rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 3,
                                   SCMP_A0(SCMP_CMP_EQ, (unsigned)vm->devs[i].fd),
                                   SCMP_A1(SCMP_CMP_EQ, TUNSETOFFLOAD),
                                   SCMP_A2(SCMP_CMP_EQ, mirage_tun_offload_setting(vm->devs[i].offloads, k)));
    }
    nfds = hvt_block_fds(vm, fds, HVT_MAX_DEVS + 2);
    for (int i = 0; i < nfds; i++) {
        rc |= allow_fd(ctx, SCMP_SYS(read), fds[i]);
        rc |= allow_fd(ctx, SCMP_SYS(write), fds[i]);
    }
    for (unsigned i = 0; i < vm->img->ndevs; i++) {
        if (vm->devs[i].type != MIRAGE_DEV_BLOCK)
            continue;
        rc |= allow_fd(ctx, SCMP_SYS(pread64), vm->devs[i].fd);
        if (vm->devs[i].read_only)
            continue;
        rc |= allow_fd(ctx, SCMP_SYS(pwrite64), vm->devs[i].fd);
        rc |= allow_fd(ctx, SCMP_SYS(fdatasync), vm->devs[i].fd);
    }
    /* --dumpcore: the one file, written and then named in its directory. */
    if (vm->core.fd >= 0) {
        rc |= allow_fd(ctx, SCMP_SYS(pwrite64), vm->core.fd);
        rc |= allow_fd(ctx, SCMP_SYS(ftruncate), vm->core.fd);
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(linkat), 5,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)vm->core.fd),
                               SCMP_A1(SCMP_CMP_EQ, (uintptr_t)vm->core.link_old),
                               SCMP_A2(SCMP_CMP_EQ, (unsigned)vm->core.dirfd),
                               SCMP_A3(SCMP_CMP_EQ, (uintptr_t)vm->core.link_new),
                               SCMP_A4(SCMP_CMP_EQ, AT_EMPTY_PATH));
    }
    /* --gdb: the debugger's connection, the registers it sets, and the
     * watcher's signal that stops the vCPU on Ctrl-C. */
    if (hvt_gdb_fd(vm) >= 0) {
        static const unsigned long gdb_ioctls[] = {KVM_SET_REGS, KVM_SET_SREGS};
        int fd = hvt_gdb_fd(vm);

        rc |= allow_fd(ctx, SCMP_SYS(read), fd);
        rc |= allow_fd(ctx, SCMP_SYS(write), fd);
        rc |= allow_fd(ctx, SCMP_SYS(recvfrom), fd);
        rc |= allow_fd(ctx, SCMP_SYS(shutdown), fd);
        for (size_t i = 0; i < sizeof(gdb_ioctls) / sizeof(gdb_ioctls[0]); i++)
            rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                                   SCMP_A0(SCMP_CMP_EQ, (unsigned)vm->vcpufd),
                                   SCMP_A1(SCMP_CMP_EQ, gdb_ioctls[i]));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)getpid()),
                               SCMP_A2(SCMP_CMP_EQ, SIGUSR1));
    }
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0)
        return tender_fail(err, "cannot install the seccomp filter: %s", strerror(-rc));
    return 0;
}
