/* fuzz_http_chunked.c: the chunked (and length) body decoder reading through a channel from
 * arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/channel.h"
#include "mirage/error.h"
#include "mirage/http.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* A flow that hands out the input in small pieces and never waits. */
struct memflow {
    struct mirage_flow flow;
    const uint8_t *p;
    size_t len, step;
};

static int mem_read(struct mirage_flow *f, void *buf, size_t cap, size_t *got, uint64_t deadline)
{
    struct memflow *m = (struct memflow *)f;
    size_t n = m->len < cap ? m->len : cap;

    (void)deadline;
    if (n > m->step)
        n = m->step;
    memcpy(buf, m->p, n);
    m->p += n;
    m->len -= n;
    *got = n;
    return 0;
}

static int mem_writev(struct mirage_flow *f, const struct mirage_iovec *iov, size_t n,
                      uint64_t deadline)
{
    (void)f, (void)iov, (void)n, (void)deadline;
    return 0;
}

static int mem_shutdown(struct mirage_flow *f, int how)
{
    (void)f, (void)how;
    return 0;
}

static void mem_close(struct mirage_flow *f)
{
    (void)f;
}

static const struct mirage_flow_ops mem_ops = {mem_read, mem_writev, mem_shutdown, mem_close, NULL};

/* First byte: read step and framing; the rest is the body on the wire. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memflow m;
    struct mirage_channel ch;
    struct mirage_http_body b;
    struct mirage_http_framing fr = {0};
    uint8_t rbuf[512], out[300];
    uint64_t max = 4096, total = 0;

    if (size < 1)
        return 0;
    m.flow.ops = &mem_ops;
    m.p = data + 1;
    m.len = size - 1;
    m.step = 1 + (data[0] & 31);
    fr.chunked = (data[0] & 0xc0) != 0xc0;
    fr.has_length = !fr.chunked;
    fr.length = data[0] & 0x3f;
    mirage_channel_init(&ch, &m.flow, rbuf, sizeof(rbuf), NULL, 0);
    mirage_http_body_init(&b, &ch, &fr, 0, max);
    for (int i = 0; i < 10000; i++) {
        size_t got = 0;
        int r = mirage_http_body_read(&b, out, sizeof(out), &got, 0);
        if (r != 0) {
            check(r == MIRAGE_EINVAL || r == MIRAGE_EMSGSIZE || r == MIRAGE_ENODATA);
            break;
        }
        check(got <= sizeof(out));
        total += got;
        check(total <= max);
        if (got == 0) {
            check(b.done);
            break;
        }
    }
    return 0;
}
