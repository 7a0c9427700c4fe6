/* entropy.c: prints what the host hands the unikernel to seed its random generator, and a draw. */
#include <stdio.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"
#include "mirage/random.h"

MIRAGE_MANIFEST();

static void hex(const char *what, const uint8_t *p, size_t n)
{
    printf("%s %zu ", what, n);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

int mirage_main(int argc, char **argv)
{
    uint8_t a[32], b[32], r[16];
    size_t na, nb;

    (void)argc;
    (void)argv;
    na = mirage_host_entropy(a, sizeof(a));
    nb = mirage_host_entropy(b, 16);
    hex("host", a, na);
    hex("again", b, nb);
    mirage_random_bytes(r, sizeof(r));
    hex("random", r, sizeof(r));
    return 0;
}
