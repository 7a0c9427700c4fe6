/* crashkv.c: a unikernel making a seeded stream of kv_rw_disk changes, printing each acknowledgement. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

#include "cgkvd.h"

/*
 * tests/kv/crashrun.c boots it on unix, spt or hvt, SIGKILLs the tender at a
 * random moment and checks the store on the host. Arguments: --seed=S
 * --from=N (the first change to make; the store holds the model of the
 * changes before it, which the host has checked) [--max=M]. It formats a
 * blank device, prints "ready N" once mounted, then "ack I R" after change I
 * returned R (0 or a negative error): a change is acknowledged only once it
 * is durable.
 */

MIRAGE_MANIFEST(MIRAGE_BLOCK("storage"));

/* The manifest's block device as a struct mirage_block (test code: the
 * platform's own adapter replaces it once block("NAME") hands one out). */
struct pdev {
    struct mirage_block blk;
    mirage_handle_t h;
};

static int p_read(struct mirage_block *b, uint64_t sector, void *buf, size_t len)
{
    struct pdev *p = (struct pdev *)b;
    return mirage_platform_block_read(p->h, sector * b->info.sector_size, buf, len);
}

static int p_write(struct mirage_block *b, uint64_t sector, const void *buf, size_t len)
{
    struct pdev *p = (struct pdev *)b;
    return mirage_platform_block_write(p->h, sector * b->info.sector_size, buf, len);
}

static int p_flush(struct mirage_block *b)
{
    (void)b; /* the platform has no flush yet; a SIGKILL loses nothing the host was given */
    return 0;
}

static void p_disconnect(struct mirage_block *b)
{
    (void)b;
}

static const struct mirage_block_ops p_ops = {p_read, p_write, p_flush, p_disconnect};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mirage_console_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

int mirage_main(int argc, char **argv)
{
    uint64_t seed = 1, from = 0, max = 1000000;
    struct mirage_platform_block_info info;
    struct pdev p = {0};
    struct kvd *s;
    struct cg_model m;
    char msg[320];
    int r;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 10);
        else if (strncmp(argv[i], "--from=", 7) == 0)
            from = strtoull(argv[i] + 7, NULL, 10);
        else if (strncmp(argv[i], "--max=", 6) == 0)
            max = strtoull(argv[i] + 6, NULL, 10);
    }
    if ((r = mirage_platform_block_acquire("storage", &p.h, &info)) != 0) {
        say("crashkv: storage: %s\n", mirage_strerror(r));
        return 1;
    }
    p.blk.ops = &p_ops;
    p.blk.name = "storage";
    p.blk.info.sector_size = (uint32_t)info.block_size;
    p.blk.info.sectors = info.capacity / info.block_size;
    r = kvd_mount(&p.blk, NULL, &s, msg, sizeof msg);
    if (r == MIRAGE_EINVAL && strstr(msg, "blank device")) {
        if ((r = kvd_format(&p.blk, cg_mix(seed), msg, sizeof msg)) == 0)
            r = kvd_mount(&p.blk, NULL, &s, msg, sizeof msg);
    }
    if (r) {
        say("crashkv: mount: %s\n", msg);
        return 1;
    }
    if ((r = cg_kvd_load(s, &m)) != 0) {
        say("crashkv: reading the store: %s\n", kvd_message(s));
        return 1;
    }
    say("ready %llu\n", (unsigned long long)from);
    for (uint64_t i = from; i < from + max; i++) {
        struct cg_op op;
        cg_gen(seed, i, &m, &op);
        r = cg_kvd_run(s, &op);
        if (r != 0 && r != MIRAGE_ENOENT && r != MIRAGE_EINVAL && r != MIRAGE_EEXIST)
            say("crashkv: change %llu: %s\n", (unsigned long long)i, kvd_message(s));
        say("ack %llu %d\n", (unsigned long long)i, r);
        if (r == 0 || r == MIRAGE_ENOENT || r == MIRAGE_EINVAL || r == MIRAGE_EEXIST)
            cg_apply(&m, &op);
        cg_op_free(&op);
    }
    kvd_unmount(s);
    cg_model_free(&m);
    return 0;
}
