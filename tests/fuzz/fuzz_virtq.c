/* fuzz_virtq.c: a hostile device's used ring against virtq_next_used; each 5-byte step publishes or
 * returns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../platform/virtio/virtq.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct virtq q;
    uint16_t qsize;
    void *mem;
    const char *why;

    if (size < 1)
        return 0;
    qsize = (uint16_t)(1u << (data[0] % 11)); /* 1 .. 1024 */
    mem = aligned_alloc(VIRTQ_ALIGN, virtq_bytes(qsize));
    if (mem == NULL)
        return 0;
    memset(mem, 0, virtq_bytes(qsize));
    virtq_init(&q, mem, qsize);
    for (size_t i = 1; i + 5 <= size; i += 5) {
        const uint8_t *s = data + i;
        uint16_t head;
        uint32_t len;
        int r;

        switch (s[0] % 4) {
        case 0: /* the driver publishes a head (any: out of range is refused) */
            (void)virtq_publish(&q, (uint16_t)(s[1] | s[2] << 8));
            break;
        case 1: /* the device writes a used entry at its index */
            q.used->ring[q.used->idx % q.size] = (struct virtq_used_elem){
                (uint32_t)(s[1] | s[2] << 8), (uint32_t)(s[3] | s[4] << 8)};
            break;
        case 2: /* the device moves its index anywhere */
            q.used->idx = (uint16_t)(q.used->idx + (s[1] | s[2] << 8));
            break;
        default: /* the driver reads what came back */
            r = virtq_next_used(&q, &head, &len, &why);
            check(r >= -1 && r <= 1);
            if (r == 1)
                check(head < q.size);
            if (r < 0)
                goto out;
        }
        check(q.in_flight <= q.size);
    }
out:
    free(mem);
    return 0;
}
