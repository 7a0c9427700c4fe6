/* crashkv.c: a unikernel making a seeded stream of kv_rw_disk changes, printing each
 * acknowledgement. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
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
    struct mirage_block *b;
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
    if ((r = mirage_block_connect("storage", &b)) != 0) {
        say("crashkv: storage: %s\n", mirage_strerror(r));
        return 1;
    }
    r = kvd_mount(b, NULL, &s, msg, sizeof msg);
    if (r == MIRAGE_EINVAL && strstr(msg, "blank device")) {
        if ((r = kvd_format(b, cg_mix(seed), msg, sizeof msg)) == 0)
            r = kvd_mount(b, NULL, &s, msg, sizeof msg);
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
