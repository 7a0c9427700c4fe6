/* fuzz_reasm.c: sequences of fragments into the reassembly cache IPv6 uses, checking its bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/net/reasm.h"
#include "fuzz_platform.h"
#include "mirage/ipv6.h"
#include "mirage/time.h"

/*
 * Input: records of 6 bytes, one fragment each:
 *   [0] bits 0-1 which of 4 datagrams (ids; bit 2 of the id also changes
 *       the source), bit 2 "more fragments", bits 3-7 a pause before it
 *       in seconds (0..31: two in a row pass the 60 s timeout)
 *   [1..2] the offset in 8-byte units (13 bits)
 *   [3..4] the length in bytes
 *   [5] the header length before the data, in 8-byte units past 40
 * Each datagram's bytes are a pattern of its id and position, and its
 * header one of its id, so whatever comes out can be checked byte for byte.
 *
 * Invariants: the cache never charges more than its byte limit; a datagram
 * delivered (or reported timed out) is never longer than the largest
 * datagram nor than the bytes fed for it since its last outcome, carries
 * exactly the pattern at every position, and the header of its offset-0
 * fragment; nothing leaks (reasm_clear at the end, LeakSanitizer).
 */
#define DATAGRAMS 4
#define MAX_LEN   65535u

static const struct reasm_limits limits = {MIRAGE_IPV6_REASM_BYTES, MIRAGE_IPV6_REASM_FRAGMENTS,
                                           MIRAGE_IPV6_REASM_TIMEOUT_NS, MAX_LEN,
                                           MIRAGE_IPV6_MIN_MTU};
static size_t fed[DATAGRAMS]; /* bytes given for each since its last outcome */

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint8_t pat[DATAGRAMS][MAX_LEN], hpat[DATAGRAMS][40 + 255 * 8];

/* Each datagram's bytes and header, made once. */
static void patterns(void)
{
    static int made;

    if (made)
        return;
    for (unsigned id = 0; id < DATAGRAMS; id++) {
        for (size_t i = 0; i < MAX_LEN; i++)
            pat[id][i] = (uint8_t)(id * 31u + i * 7u + (i >> 8));
        hpat[id][0] = (uint8_t)id;
        for (size_t i = 1; i < sizeof(hpat[id]); i++)
            hpat[id][i] = (uint8_t)(id * 17u + i * 3u);
    }
    made = 1;
}

static void key_of(unsigned id, struct reasm_key *k)
{
    memset(k, 0, sizeof(*k));
    k->src[0] = 0xfd;
    k->src[15] = (uint8_t)(id & 2);
    k->dst[0] = 0xfd;
    k->dst[15] = 1;
    k->id = id;
}

/* Which datagram a header names (its pattern starts with the id). */
static unsigned id_of(const uint8_t *hdr, size_t hdr_len)
{
    check(hdr_len >= 40 && hdr[0] < DATAGRAMS);
    return hdr[0];
}

static void outcome(const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len)
{
    unsigned id = id_of(hdr, hdr_len);

    check(len <= MAX_LEN && len <= fed[id]);
    check(hdr_len <= sizeof(hpat[id]) && memcmp(hdr, hpat[id], hdr_len) == 0);
    check(memcmp(data, pat[id], len) == 0);
    fed[id] = 0;
}

static void delivered(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
                      size_t len)
{
    (void)ctx;
    outcome(hdr, hdr_len, data, len);
}

static void expired(void *ctx, const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len)
{
    (void)ctx;
    outcome(hdr, hdr_len, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    struct reasm_cache rc;

    patterns();
    reasm_init(&rc, &limits);
    memset(fed, 0, sizeof(fed));
    for (; size >= 6; in += 6, size -= 6) {
        unsigned id = in[0] & 3;
        size_t off = (size_t)((in[1] << 8 | in[2]) & 0x1fff) * 8;
        size_t len = (size_t)(in[3] << 8 | in[4]);
        size_t hdr_len = 40 + (size_t)in[5] * 8;
        struct reasm_key k;
        struct reasm_frag f = {hpat[id], hdr_len, NULL, len, off, (in[0] & 4) != 0};

        fz_now += MIRAGE_SEC(in[0] >> 3);
        /* Bytes past the largest datagram come from a zero page: the cache
         * must refuse them, so they are never compared. */
        if (off >= MAX_LEN || len > MAX_LEN - off) {
            static const uint8_t zeros[MAX_LEN + 8192 * 8];
            f.data = zeros;
        } else {
            f.data = pat[id] + off;
        }
        key_of(id, &k);
        reasm_expire(&rc, fz_now, expired, NULL);
        fed[id] += len;
        reasm_input(&rc, &k, &f, fz_now, delivered, NULL);
        check(rc.bytes <= limits.bytes);
        check(reasm_next_expiry(&rc) == UINT64_MAX || rc.entries > 0);
    }
    reasm_clear(&rc);
    check(rc.bytes == 0 && rc.entries == 0);
    return 0;
}
