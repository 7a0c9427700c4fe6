/* netsend.c: sends broadcast frames on its net device and checks the API's refusals; the test
 * counts them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

MIRAGE_MANIFEST(MIRAGE_NET("service"));

/* argv[1]: how many single frames to send (default 5); then 3 more in one batch.
 * Prints "netsend: sent N frames" and exits 0, or names the failed check and exits 1. */
static uint8_t frame[2048];

static int fail(const char *what, int r)
{
    printf("netsend: FAIL: %s: %s\n", what, mirage_strerror(r));
    return 1;
}

/* A full device answers EAGAIN: as an application would, let the host drain it
 * (yield 1 ms) and try again, for up to 10 s (a loaded host's tender thread can
 * take over a second to get a CPU). */
static int write_retrying(mirage_handle_t h, const uint8_t *buf, size_t len)
{
    uint64_t give_up = mirage_clock_monotonic() + 10000000000ULL;
    mirage_handle_set_t ready;
    int r;

    while ((r = mirage_net_write(h, buf, len)) == MIRAGE_EAGAIN &&
           mirage_clock_monotonic() < give_up)
        mirage_yield(mirage_clock_monotonic() + 1000000, &ready);
    return r;
}

int mirage_main(int argc, char **argv)
{
    struct mirage_net_info info, again;
    struct mirage_platform_block_info binfo;
    struct mirage_frame batch[3];
    mirage_handle_t h, h2;
    mirage_handle_set_t ready;
    int count = argc > 1 ? atoi(argv[1]) : 5;
    uint64_t t0, deadline;
    size_t sent = 0;
    int r;

    r = mirage_net_acquire("service", &h, &info);
    if (r < 0)
        return fail("acquire", r);
    printf("netsend: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u\n", info.mac[0], info.mac[1],
           info.mac[2], info.mac[3], info.mac[4], info.mac[5], info.mtu);
    if ((r = mirage_net_acquire("service", &h2, &again)) != MIRAGE_EINVAL)
        return fail("second acquire not refused", r);
    if ((r = mirage_platform_block_acquire("service", &h2, &binfo)) != MIRAGE_ENOENT)
        return fail("acquire as block not refused", r);

    memset(frame, 0xff, 6); /* broadcast */
    memcpy(frame + 6, info.mac, 6);
    frame[12] = 0x88; /* 0x88b5: the IEEE's local experimental EtherType */
    frame[13] = 0xb5;
    for (int i = 0; i < count; i++) {
        frame[14] = (uint8_t)i;
        if ((r = write_retrying(h, frame, 60)) < 0)
            return fail("write", r);
    }
    for (int i = 0; i < 3; i++)
        batch[i] = (struct mirage_frame){frame, sizeof(frame), 60 + (size_t)i * 100, {0}};
    if ((r = mirage_net_writev(h, batch, 3, &sent)) < 0 || sent != 3)
        return fail("writev", r);
    if ((r = mirage_net_write(h, frame, (size_t)info.mtu + 15)) != MIRAGE_EINVAL)
        return fail("oversized frame not refused", r);
    if ((r = mirage_net_write(h + 1, frame, 60)) != MIRAGE_EINVAL)
        return fail("write on an unacquired handle not refused", r);

    /* A yield returns no earlier than its deadline when nothing arrives for us to
     * wait on; a frame from the host's own stack may end it sooner, marked ready. */
    t0 = mirage_clock_monotonic();
    deadline = t0 + 20 * 1000 * 1000;
    mirage_yield(deadline, &ready);
    if (ready == 0 && mirage_clock_monotonic() < deadline)
        return fail("yield returned before its deadline with nothing ready", 0);
    if ((ready & ~((mirage_handle_set_t)1 << h)) != 0)
        return fail("yield reported a handle that is not ours", 0);
    printf("netsend: sent %d frames\n", count + 3);
    return 0;
}
