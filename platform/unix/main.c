/* main.c: the unix target's entry: device options, the command line, fault reports. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "mirage/cmdline.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "unix.h"

static char cmdline[MIRAGE_CMDLINE_MAX];
struct unix_binding unix_bindings[MIRAGE_MANIFEST_MAX];
int unix_net_offload_off;

const char *mirage_cmdline(void)
{
    return cmdline;
}

size_t mirage_host_entropy(void *buf, size_t len)
{
    ssize_t n = getrandom(buf, len > 256 ? 256 : len, GRND_NONBLOCK);

    return n > 0 ? (size_t)n : 0;
}

static void fault(int sig, siginfo_t *si, void *ctx)
{
    char msg[160];
    const char *owner;
    int n;

    (void)ctx;
    if (sig == SIGABRT) {
        n = snprintf(msg, sizeof(msg), "mirage: unikernel aborted\n");
        (void)!write(2, msg, (size_t)n);
        _exit(255);
    }
    owner = sig == SIGSEGV ? mirage_sched_guard_owner((uintptr_t)si->si_addr) : NULL;
    if (owner)
        n = snprintf(msg, sizeof(msg),
                     "mirage: unikernel fault: stack overflow of fiber '%s' (address %p in its guard "
                     "page)\n",
                     owner, si->si_addr);
    else
        n = snprintf(msg, sizeof(msg), "mirage: unikernel fault: %s at address %p\n",
                     strsignal(sig), si->si_addr);
    (void)!write(2, msg, (size_t)n);
    _exit(254);
}

/* Faults end the unikernel with a message and the statuses the tenders use. */
static void catch_faults(void)
{
    static char altstack[16384];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    struct sigaction sa = {.sa_sigaction = fault, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

    sigaltstack(&ss, NULL);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

static int bind_option(const char *arg, const char *prog)
{
    const char *kinds[] = {"--net:", "--net-mac:", "--block:", "--block-sector-size:"};

    if (strncmp(arg, "--net-offload=", 14) == 0) {
        if (strcmp(arg + 14, "on") != 0 && strcmp(arg + 14, "off") != 0) {
            fprintf(stderr, "%s: %s: take --net-offload=on or --net-offload=off\n", prog, arg);
            return -1;
        }
        unix_net_offload_off = strcmp(arg + 14, "off") == 0;
        return 1;
    }
    for (int k = 0; k < 4; k++) {
        size_t klen = strlen(kinds[k]);
        const char *name, *eq;
        size_t nlen;
        int h;

        if (strncmp(arg, kinds[k], klen) != 0)
            continue;
        name = arg + klen;
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : 0;
        if (eq == NULL || nlen == 0 || eq[1] == '\0') {
            fprintf(stderr, "%s: option '%s' needs the form %sNAME=VALUE\n", prog, arg, kinds[k]);
            return -1;
        }
        h = unix_manifest_find(name, nlen);
        if (h < 0) {
            fprintf(stderr, "%s: device '%.*s' is given but not declared by the unikernel\n", prog,
                    (int)nlen, name);
            return -1;
        }
        if (k == 3) {
            /* As the tenders take it; the file NAME when no --block:NAME=PATH is given. */
            if (strcmp(eq + 1, "512") != 0 && strcmp(eq + 1, "4096") != 0) {
                fprintf(stderr, "%s: --block-sector-size:%.*s=%s: the sector size is 512 or 4096\n",
                        prog, (int)nlen, name, eq + 1);
                return -1;
            }
            if (mirage_manifest.entries[h].type != MIRAGE_DEV_BLOCK) {
                fprintf(stderr, "%s: --block-sector-size:%.*s: '%.*s' is a net device\n", prog,
                        (int)nlen, name, (int)nlen, name);
                return -1;
            }
            if (unix_bindings[h].sector_size) {
                fprintf(stderr, "%s: --block-sector-size:%.*s given twice\n", prog, (int)nlen,
                        name);
                return -1;
            }
            unix_bindings[h].sector_size = (uint32_t)atoi(eq + 1);
        } else if (k == 1) {
            if (unix_mac_parse(eq + 1, unix_bindings[h].mac) < 0) {
                fprintf(stderr, "%s: '%s' is not a unicast MAC address\n", prog, eq + 1);
                return -1;
            }
            unix_bindings[h].has_mac = 1;
        } else {
            unix_bindings[h].path = eq + 1;
        }
        return 1;
    }
    return 0;
}

/* argv: [--net:NAME=TAP] [--net-mac:NAME=MAC] [--block:NAME=PATH]
 * [--block-sector-size:NAME=512|4096]
 * [--net-offload=on|off] [--] ARGS...
 * A device not given is opened under its own name (tap NAME, file NAME). */
int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t len = 0;
    int i = 1, help = 0;

    catch_faults();
    for (; i < argc; i++) {
        int r = bind_option(argv[i], prog);
        if (r < 0)
            return 64;
        if (r == 0)
            break;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    for (; i < argc; i++) {
        size_t n = strlen(argv[i]);

        help |= strcmp(argv[i], "--help") == 0;
        if (len + n + 2 > sizeof(cmdline)) {
            fprintf(stderr, "%s: command line too long: limit %zu bytes\n", prog,
                    sizeof(cmdline) - 1);
            return 64;
        }
        if (len > 0)
            cmdline[len++] = ' ';
        memcpy(cmdline + len, argv[i], n);
        len += n;
    }
    cmdline[len] = '\0';
    /* A missing tap is refused before the unikernel runs, as the tenders do,
     * unless it runs only to show its --help. */
    if (!help && unix_taps_check(prog) < 0)
        return 125;
    setvbuf(stdout, NULL, _IOLBF, 0);
    mirage_exit(mirage_boot(prog));
}

void mirage_exit(int status)
{
    fflush(stdout);
    exit(status & 0xff);
}

void mirage_abort(void)
{
    fflush(stdout);
    _exit(255);
}

void mirage_console_write(const char *buf, size_t len)
{
    fflush(stdout);
    while (len > 0) {
        ssize_t n = write(1, buf, len);
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

int mirage_set_tls_base(uintptr_t base)
{
    (void)base; /* the host libc owns the thread pointer on unix */
    return MIRAGE_EINVAL;
}
