/* fuzz_tcp_parse.c: any bytes given to the TCP segment and option parser give a bounded view or an
 * error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/tcp.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_tcp_seg s;
    const char *err = NULL;
    struct mirage_ipaddr a = mirage_ipv4_addr(10, 0, 0, 1), b = mirage_ipv4_addr(10, 0, 0, 2);
    /* A copy of exactly (size) bytes on the heap, so ASan catches any read past it. */
    uint8_t *in = malloc(size ? size : 1);

    memcpy(in, data, size);
    if (mirage_tcp_parse(in, size, &s, &err) == 0) {
        check(size >= 20);
        check(s.data >= in + 20 && s.data + s.len == in + size);
        check(s.nsack <= 4);
        check(s.wscale >= -1 && s.wscale <= 14);
        check(s.src_port != 0 && s.dst_port != 0);
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < s.len; i++)
            sink ^= s.data[i];
        (void)sink;
    } else {
        check(err != NULL && err[0] != '\0');
    }
    (void)mirage_tcp_checksum(mirage_tcp_pseudo(&a, &b, size), in, size);
    free(in);
    return 0;
}
