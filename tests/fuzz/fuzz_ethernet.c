/* fuzz_ethernet.c: any frame into the whole IPv4 stack: no crash, every answer well-formed. */
#include "net_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_stack *s = fz_stack();
    uint8_t *f = fz_copy(data, size);

    mirage_eth_input(s->eth, f, size);
    free(f);
    fz_now += 1000000;
    return 0;
}
