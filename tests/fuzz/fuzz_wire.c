/* fuzz_wire.c: the wire.h cursors driven by a program of reads and writes, checked against a model.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/checksum.h"
#include "mirage/wire.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* Input: [1 byte: buffer size][ops ...][data]. Each op byte: low 4 bits the
 * operation, high 4 bits its size argument. The reader reads the data; the
 * writer writes into a separate heap buffer of the given size, so ASan sees
 * any byte touched outside either. A bad cursor must stay at its end. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = data[0];
    size_t nops = data[1] % 32;
    if (size < 2 + nops)
        return 0;
    const uint8_t *ops = data + 2;
    size_t dlen = size - 2 - nops;
    uint8_t *in = malloc(dlen ? dlen : 1), *out = malloc(cap ? cap : 1);
    if (in == NULL || out == NULL)
        goto done;
    memcpy(in, ops + nops, dlen);
    struct mirage_rd r = mirage_rd_init(in, dlen);
    struct mirage_wr w = mirage_wr_init(out, cap);
    for (size_t i = 0; i < nops; i++) {
        size_t n = ops[i] >> 4;
        size_t before = r.off, wbefore = w.off;
        int was_bad = r.bad, wwas_bad = w.bad;
        uint64_t v = 0;
        switch (ops[i] & 15) {
        case 0:
            v = mirage_rd_u8(&r);
            break;
        case 1:
            v = mirage_rd_be16(&r);
            break;
        case 2:
            v = mirage_rd_le32(&r);
            break;
        case 3:
            v = mirage_rd_be64(&r);
            break;
        case 4:
            v = mirage_rd_octal(&r, n);
            break;
        case 5: {
            struct mirage_rd s = mirage_rd_sub(&r, n);
            check(s.bad ? s.len == 0 : s.len == n);
            v = mirage_rd_le16(&s);
            break;
        }
        case 6:
            mirage_rd_seek(&r, n);
            break;
        case 7: {
            uint8_t tmp[16];
            mirage_rd_bytes(&r, tmp, n);
            v = tmp[0];
            break;
        }
        case 8:
            mirage_wr_be16(&w, (uint16_t)before);
            break;
        case 9:
            mirage_wr_le64(&w, before);
            break;
        case 10:
            mirage_wr_octal(&w, n, before);
            break;
        case 11:
            mirage_wr_zeros(&w, n);
            break;
        case 12:
            mirage_wr_seek(&w, n);
            break;
        case 13:
            mirage_wr_bytes(&w, in, n < dlen ? n : dlen);
            break;
        case 14:
            v = mirage_csum(in, dlen);
            break;
        default:
            v = mirage_rd_take(&r, n) != NULL;
            break;
        }
        (void)v;
        check(r.off <= r.len && w.off <= w.len);
        if (r.bad)
            check(r.off == r.len);
        if (w.bad)
            check(w.off == w.len);
        check(!was_bad || r.bad);
        check(!wwas_bad || w.bad);
        (void)wbefore;
    }
    /* What was written reads back with the same lengths. */
    struct mirage_rd back = mirage_rd_init(out, w.off);
    mirage_rd_skip(&back, w.off);
    check(!back.bad);
done:
    free(in);
    free(out);
    return 0;
}
