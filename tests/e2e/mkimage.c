/* mkimage.c: writes a tiny unikernel-shaped ELF declaring the given devices, for tender tests.
 * usage: mkimage OUT [net:NAME | block:NAME]...   (its code is only a ud2) */
#include <stdio.h>
#include <string.h>

#include "elfgen.h"

int main(int argc, char **argv)
{
    static uint8_t buf[8192];
    struct elfgen_dev devs[MIRAGE_MANIFEST_MAX];
    struct elfgen g = {devs, 0, 1, NULL, 0};
    size_t len;
    FILE *f;

    if (argc < 2 || argc - 2 > MIRAGE_MANIFEST_MAX) {
        fprintf(stderr, "usage: mkimage OUT [net:NAME | block:NAME]...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "net:", 4) == 0) {
            devs[g.ndevs++] = (struct elfgen_dev){argv[i] + 4, MIRAGE_DEV_NET};
        } else if (strncmp(argv[i], "block:", 6) == 0) {
            devs[g.ndevs++] = (struct elfgen_dev){argv[i] + 6, MIRAGE_DEV_BLOCK};
        } else {
            fprintf(stderr, "mkimage: '%s' is not net:NAME or block:NAME\n", argv[i]);
            return 2;
        }
    }
    len = elfgen_build(buf, sizeof(buf), &g);
    f = fopen(argv[1], "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
