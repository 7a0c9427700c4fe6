/* fuzz_netif_rx.c: frames of any reported size and failed reads through netif into the IPv4 stack.
 */
#include "mirage/sched.h"
#include "mirage/time.h"
#include "net_fuzz.h"

/*
 * The input is a script for the device, step after step:
 *   byte 0        bit 7: this read fails (bits 0..6 pick the error); else a frame,
 *                 with bit 6 a UDP GSO frame (NEEDS_CSUM, GSO_UDP_L4) of segments
 *                 of 50 * (bits 0..4) bytes (0: malformed) and hdr_len 42, or with
 *                 bit 5 one past the frame (malformed)
 *   bytes 1..2    the frame's length as the device reports it (big-endian):
 *                 0..65535, so also longer than the 1514-byte buffer
 *   then          min(length, what is left) bytes of the frame, copied into
 *                 the buffer as far as it holds them (the rest is 0xee)
 * netif must hand the stack only frames that fit (every byte of them written
 * by the device), count the others, and keep receiving after any error.
 */
static const uint8_t *in;
static size_t in_len, in_off, reads_failed, handed_over;
static struct mirage_cond more = MIRAGE_COND_INIT;

static const int errors[] = {MIRAGE_EIO, MIRAGE_EINVAL, MIRAGE_ENOMEM, MIRAGE_EUNSPEC};

static int script_readv(void *ctx, struct mirage_frame *f, size_t n, size_t *got)
{
    (void)ctx;
    *got = 0;
    while (*got < n && in_len - in_off >= 3) {
        uint8_t kind = in[in_off];
        size_t len = (size_t)in[in_off + 1] << 8 | in[in_off + 2], take, copy;

        if (kind & 0x80) {
            if (*got > 0)
                break; /* an error comes at the start of a read */
            in_off += 3;
            reads_failed++;
            return errors[kind % (sizeof(errors) / sizeof(errors[0]))];
        }
        in_off += 3;
        take = len < in_len - in_off ? len : in_len - in_off;
        copy = take < f[*got].cap ? take : f[*got].cap;
        memcpy(f[*got].buf, in + in_off, copy);
        if (copy < f[*got].cap)
            memset(f[*got].buf + copy, 0xee, (len < f[*got].cap ? len : f[*got].cap) - copy);
        in_off += take;
        f[*got].len = len;
        f[*got].meta = (struct mirage_net_meta){0};
        if (kind & 0x40)
            f[*got].meta = (struct mirage_net_meta){
                MIRAGE_NET_META_NEEDS_CSUM, MIRAGE_NET_GSO_UDP_L4,
                (uint16_t)((kind & 0x20) ? len + 1 : 42), (uint16_t)(50 * (kind & 0x1f)), 34, 6};
        handed_over += len <= f[*got].cap;
        (*got)++;
    }
    return *got ? 0 : MIRAGE_EAGAIN;
}

static int script_wait(void *ctx, uint64_t deadline)
{
    (void)ctx;
    return mirage_cond_wait(&more, deadline);
}

static const struct mirage_netif_ops script_ops = {sink_write, script_readv, script_wait};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int listening;
    struct fz_stack *s = fz_stack();
    struct mirage_netif_stats before, after;
    uint8_t *copy = fz_copy(data, size);

    if (!listening) {
        s->nif.ops = &script_ops; /* before the first listen, as netif.h asks */
        fz_check(mirage_eth_start(s->eth) == 0);
        listening = 1;
    }
    mirage_netif_stats(&s->nif, &before);
    in = copy;
    in_len = size;
    in_off = 0;
    reads_failed = handed_over = 0;
    mirage_cond_broadcast(&more);
    /* The receive fiber runs when this one sleeps; after a failed read it
     * pauses up to a second (virtual time here): a step of script each time
     * at least. */
    for (size_t i = 0; i < size / 3 + 1 && in_len - in_off >= 3; i++)
        mirage_sleep_ns(MIRAGE_SEC(2));
    mirage_sleep_ns(MIRAGE_SEC(2));
    fz_check(in_len - in_off < 3);
    mirage_netif_stats(&s->nif, &after);
    fz_check(after.rx_errors - before.rx_errors == reads_failed);
    fz_check(after.rx_frames - before.rx_frames == handed_over);
    in = NULL;
    in_len = in_off = 0;
    free(copy);
    return 0;
}
