/* crashrun.c: SIGKILLs a crashkv unikernel at seeded random moments and checks its store after each kill. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tool/kv/fileblock.h"
#include "cgkvd.h"

/*
 * usage: crashrun --target=unix|spt|hvt --image=PATH [--kills=N] [--seconds=T]
 *                 [--seed=S] [--window-ms=W] [--size=BYTES] [--sector-size=N] [--build=DIR]
 *
 * Each round boots build/uk/crashkv[.spt|.hvt] on the image, waits for it to
 * mount ("ready"), lets it run for a random 0..W ms while it acknowledges
 * changes, SIGKILLs the tender (or the unix process), then mounts the image
 * here with the same store code and checks that it holds every acknowledged
 * change and the interrupted one whole or not at all (the model of
 * tests/kv/crashgen.h), and that every stored extent passes its checksum.
 * Stops after N kills or T seconds; exits 0 and prints the count, or 1 with
 * the first difference (the image is kept).
 */

static const char *target = "unix", *image, *build = "build";
static uint32_t ss = 512;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("crashrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static pid_t spawn(uint64_t seed, uint64_t from, int *out)
{
    char a_seed[40], a_from[40], a_blk[600], img[512], tender[512];
    int p[2];
    pid_t pid;

    snprintf(a_seed, sizeof a_seed, "--seed=%llu", (unsigned long long)seed);
    snprintf(a_from, sizeof a_from, "--from=%llu", (unsigned long long)from);
    snprintf(a_blk, sizeof a_blk, "--block:storage=%s", image);
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (strcmp(target, "unix") == 0) {
            snprintf(img, sizeof img, "%s/uk/crashkv", build);
            execl(img, img, a_blk, "--", a_seed, a_from, (char *)NULL);
        } else if (strcmp(target, "spt") == 0) {
            snprintf(tender, sizeof tender, "%s/bin/mirage-spt", build);
            snprintf(img, sizeof img, "%s/uk/crashkv.spt", build);
            execl(tender, tender, a_blk, img, a_seed, a_from, (char *)NULL);
        } else {
            snprintf(tender, sizeof tender, "%s/bin/mirage-hvt", build);
            snprintf(img, sizeof img, "%s/uk/crashkv.hvt", build);
            execl(tender, tender, "--mem=64", a_blk, img, a_seed, a_from, (char *)NULL);
        }
        _exit(127);
    }
    close(p[1]);
    *out = p[0];
    return pid;
}

/* Reads what is ready (or waits up to ms) into buf; -1 at end of file. */
static int read_some(int fd, char *buf, size_t *len, size_t cap, int ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, ms) <= 0)
        return 0;
    ssize_t n = read(fd, buf + *len, cap - *len - 1);
    if (n <= 0)
        return -1;
    *len += (size_t)n;
    buf[*len] = '\0';
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, from = 0, size = 16 << 20, rng;
    long kills = 100, max_s = 240, window = 20, done = 0, landed = 0, acks = 0;
    struct cg_model m = {0};
    char why[300];

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--target=", 9) == 0)
            target = argv[i] + 9;
        else if (strncmp(argv[i], "--image=", 8) == 0)
            image = argv[i] + 8;
        else if (strncmp(argv[i], "--kills=", 8) == 0)
            kills = atol(argv[i] + 8);
        else if (strncmp(argv[i], "--seconds=", 10) == 0)
            max_s = atol(argv[i] + 10);
        else if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 10);
        else if (strncmp(argv[i], "--window-ms=", 12) == 0)
            window = atol(argv[i] + 12);
        else if (strncmp(argv[i], "--size=", 7) == 0)
            size = strtoull(argv[i] + 7, NULL, 10);
        else if (strncmp(argv[i], "--sector-size=", 14) == 0)
            ss = (uint32_t)atol(argv[i] + 14);
        else if (strncmp(argv[i], "--build=", 8) == 0)
            build = argv[i] + 8;
        else
            die("unknown argument %s", argv[i]);
    }
    if (image == NULL || window < 1)
        die("usage: crashrun --target=unix|spt|hvt --image=PATH [--kills=N] [--seconds=T] "
            "[--seed=S] [--window-ms=W]");
    int fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
        die("%s: %s", image, strerror(errno));
    close(fd);
    rng = cg_mix(seed * 31337);
    double t0 = now_ms();
    while (done < kills && now_ms() - t0 < max_s * 1000.0) {
        static char out[1 << 20];
        size_t len = 0, seen = 0;
        int pipefd, ready = 0, st;
        uint64_t next = from;
        pid_t pid = spawn(seed, from, &pipefd);
        double deadline = now_ms() + 30000, kill_at = 0;

        /* run until a random moment after it is ready, checking each acknowledgement */
        for (;;) {
            int r = read_some(pipefd, out, &len, sizeof out, 1);
            char *nl;
            while ((nl = memchr(out + seen, '\n', len - seen)) != NULL) {
                unsigned long long i;
                int res;
                *nl = '\0';
                if (!ready && sscanf(out + seen, "ready %llu", &i) == 1) {
                    ready = 1;
                    kill_at = now_ms() + (double)((rng = cg_mix(rng)) % (uint64_t)(window * 1000)) / 1000;
                } else if (sscanf(out + seen, "ack %llu %d", &i, &res) == 2) {
                    struct cg_op op;
                    if (i != next)
                        die("round %ld: ack %llu, expected %llu", done, i, (unsigned long long)next);
                    cg_gen(seed, i, &m, &op);
                    int want = cg_apply(&m, &op);
                    if (want != res)
                        die("round %ld: change %llu (type %d) gave %d, the model says %d", done, i,
                            op.type, res, want);
                    cg_op_free(&op);
                    next++;
                    acks++;
                } else {
                    fprintf(stderr, "crashrun: %s: %s\n", target, out + seen);
                }
                seen = (size_t)(nl - out) + 1;
            }
            if (r < 0) {
                waitpid(pid, &st, 0);
                die("round %ld: %s exited (status %d) before it was killed", done, target,
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            }
            if (ready && now_ms() >= kill_at)
                break;
            if (!ready && now_ms() > deadline) {
                kill(pid, SIGKILL);
                die("round %ld: %s not ready after 30 s", done, target);
            }
        }
        kill(pid, SIGKILL);
        /* acknowledgements written before the kill are still in the pipe */
        while (read_some(pipefd, out, &len, sizeof out, 1000) > 0) {
            char *nl;
            while ((nl = memchr(out + seen, '\n', len - seen)) != NULL) {
                unsigned long long i;
                int res;
                *nl = '\0';
                if (sscanf(out + seen, "ack %llu %d", &i, &res) == 2) {
                    struct cg_op op;
                    if (i != next)
                        die("round %ld: ack %llu, expected %llu", done, i, (unsigned long long)next);
                    cg_gen(seed, i, &m, &op);
                    int want = cg_apply(&m, &op);
                    if (want != res)
                        die("round %ld: change %llu gave %d, the model says %d", done, i, res, want);
                    cg_op_free(&op);
                    next++;
                    acks++;
                }
                seen = (size_t)(nl - out) + 1;
            }
            if (len > sizeof out - 4096)
                len = seen = 0;
        }
        close(pipefd);
        waitpid(pid, &st, 0);
        done++;

        /* the store as the host finds it: the model, or the model with the interrupted change */
        struct cg_model with = {0};
        struct cg_op op;
        cg_gen(seed, next, &m, &op);
        cg_model_copy(&with, &m);
        cg_apply(&with, &op);
        cg_op_free(&op);
        struct fileblock f;
        struct kvd *s;
        char msg[320];
        if (fileblock_open(&f, image, 0, ss) < 0)
            die("%s: %s", image, strerror(errno));
        if (kvd_mount(&f.blk, NULL, &s, msg, sizeof msg) != 0)
            die("round %ld (after change %llu): the store does not mount: %s", done,
                (unsigned long long)next, msg);
        if (cg_kvd_matches(s, &m, why, sizeof why)) {
            cg_model_free(&with);
        } else if (cg_kvd_matches(s, &with, why, sizeof why)) {
            cg_model_free(&m);
            m = with;
            landed++;
        } else {
            die("round %ld: the store holds neither the %llu acknowledged changes nor those and "
                "change %llu: %s",
                done, (unsigned long long)next, (unsigned long long)next, why);
        }
        if (kvd_verify(s, NULL, NULL) != 0)
            die("round %ld: damaged extents: %s", done, kvd_message(s));
        kvd_unmount(s);
        mirage_block_disconnect(&f.blk);
        from = next + 1;
    }
    printf("crashrun: %s: %ld kills in %.1f s, %ld changes acknowledged, %ld interrupted changes "
           "found landed, every check passed\n",
           target, done, (now_ms() - t0) / 1000, acks, landed);
    cg_model_free(&m);
    return done >= kills ? 0 : 1;
}
