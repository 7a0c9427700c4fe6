/* fuzz_tender_opts.c: the tenders' option parser on an argv split from the input at NUL bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender.h"

#define MAX_ARGS 256

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tender_opts opts;
    char *argv[MAX_ARGS + 2];
    char err[TENDER_ERR_MAX];
    char *copy = malloc(size + 1);
    int argc = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = (char *)"mirage-spt";
    for (size_t start = 0; start <= size && argc <= MAX_ARGS;) {
        size_t len = strlen(copy + start);

        argv[argc++] = copy + start;
        start += len + 1;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    if (tender_opts_parse(argc, argv, &opts, err) < 0) {
        check(err[0] != '\0');
    } else if (!opts.help) {
        check(opts.image != NULL && opts.image[0] != '\0');
        check(strlen(opts.cmdline) < MIRAGE_CMDLINE_MAX);
        check(opts.mem_bytes >= 1 << 20 && opts.mem_bytes <= (uint64_t)TENDER_MEM_MAX_MB << 20);
        check(opts.ndevs <= MIRAGE_MANIFEST_MAX);
        for (unsigned i = 0; i < opts.ndevs; i++) {
            check(opts.devs[i].value != NULL && opts.devs[i].value[0] != '\0');
            check(!opts.devs[i].has_mac || !(opts.devs[i].mac[0] & 1));
            for (unsigned j = 0; j < i; j++)
                check(strcmp(opts.devs[i].name, opts.devs[j].name) != 0);
        }
    }
    free(copy);
    return 0;
}
