/* fuzz_dhcp.c: any sequence of datagrams and clock steps keeps the DHCP parser and client sane. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/dhcp.h"

static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x42};
static int bound, lost;

static void check(int ok)
{
    if (!ok)
        abort();
}

static int on_send(void *ctx, const uint8_t *msg, size_t len, const uint8_t src[4],
                   const uint8_t dst[4])
{
    struct mirage_dhcp_msg m;

    (void)ctx;
    (void)src;
    (void)dst;
    /* What the client sends must parse back as a request from it. */
    check(len >= 300 && len <= MIRAGE_DHCP_MSG_MAX);
    check(mirage_dhcp_parse(msg, len, &m, NULL, 0) == 0);
    check(m.op == 1 && memcmp(m.chaddr, mac, 6) == 0);
    return 0;
}

static void on_bound(void *ctx, const struct mirage_dhcp_lease *l)
{
    (void)ctx;
    check(l->addr[0] != 0 && l->addr[0] < 224 && l->prefix <= 32);
    check(l->t1_s <= l->t2_s && l->t2_s <= l->lease_s);
    bound++;
}

static void on_lost(void *ctx)
{
    (void)ctx;
    lost++;
}

/* Input: records of [flags][step][len_hi][len_lo][len bytes]. flags bit 0
 * patches in the client's xid and MAC so messages get past the first checks;
 * step advances the clock by step * 16 s and ticks the client. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_dhcp_client c;
    struct mirage_dhcp_msg m;
    char err[128];
    size_t off = 0;

    bound = lost = 0;
    if (mirage_dhcp_client_init(&c, mac, "fuzz", on_send, on_bound, on_lost, NULL) != 0)
        abort();
    mirage_dhcp_client_start(&c, fz_now);
    while (off + 4 <= size) {
        uint8_t flags = data[off], step = data[off + 1];
        size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
        uint8_t *msg;

        off += 4;
        if (len > size - off)
            len = size - off;
        msg = malloc(len ? len : 1);
        memcpy(msg, data + off, len);
        off += len;
        if ((flags & 1) && len >= 34) {
            msg[4] = (uint8_t)(c.xid >> 24);
            msg[5] = (uint8_t)(c.xid >> 16);
            msg[6] = (uint8_t)(c.xid >> 8);
            msg[7] = (uint8_t)c.xid;
            memcpy(msg + 28, mac, 6);
        }
        if (mirage_dhcp_parse(msg, len, &m, err, sizeof(err)) == 0) {
            check(m.op == 1 || m.op == 2);
            check(m.type >= 1 && m.type <= 8 && m.ndns <= MIRAGE_DHCP_MAX_DNS);
            check(strlen(m.hostname) <= MIRAGE_DHCP_HOSTNAME_MAX);
        } else {
            check(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        }
        mirage_dhcp_client_input(&c, msg, len, fz_now);
        free(msg);
        fz_now += (uint64_t)step * 16000000000ull;
        mirage_dhcp_client_tick(&c, fz_now);
        check(c.deadline > fz_now || c.state == MIRAGE_DHCP_INIT);
        check(c.state <= MIRAGE_DHCP_REBINDING);
        check(c.has_lease == (c.state >= MIRAGE_DHCP_BOUND));
    }
    check(lost <= bound);
    return 0;
}
