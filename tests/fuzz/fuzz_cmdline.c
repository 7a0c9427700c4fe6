/* fuzz_cmdline.c: the boot command line splitter; two leading bytes set buffer and argv sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/cmdline.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[64];
    const char *err;
    size_t bufsize;
    int max, argc;
    char *line, *buf;

    if (size < 2)
        return 0;
    /* Small sizes reach the limits; 0 means "plenty". */
    bufsize = data[0] ? data[0] : MIRAGE_CMDLINE_MAX;
    max = data[1] % 65;
    line = malloc(size - 1);
    buf = malloc(bufsize);
    if (line == NULL || buf == NULL)
        goto out;
    memcpy(line, data + 2, size - 2);
    line[size - 2] = '\0';
    argc = mirage_cmdline_split(line, buf, bufsize, argv, max, &err);
    if (argc < 0) {
        check(err != NULL);
        goto out;
    }
    check(err == NULL && argc < max && argv[argc] == NULL);
    for (int i = 0; i < argc; i++) {
        check(argv[i] >= buf && argv[i] < buf + bufsize);
        check(memchr(argv[i], '\0', (size_t)(buf + bufsize - argv[i])) != NULL);
    }
out:
    free(line);
    free(buf);
    return 0;
}
