/* solo5.c: the Solo5 guest interface over the platform API; runs the program's solo5_app_main(). */
#include <stdlib.h>
#include <string.h>

#include "mirage/cmdline.h"
#include "mirage/log.h"
#include "mirage/platform.h"
#include "mirage/tcb.h"
#include "solo5.h"

/* How much of the heap region stays with the C library's malloc (the binding
 * and the libc may allocate): an eighth, at least this much. */
#define LIBC_RESERVE_MIN (256u << 10)
#define WRITE_RETRIES    64

static struct solo5_start_info start_info;
static char app_cmdline[MIRAGE_CMDLINE_MAX];

static void say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

/* What a --solo5:NAME option does: a log level for the platform's messages. */
static void solo5_option(const char *name, size_t len)
{
    static const char *const levels[][2] = {{"quiet", "quiet"},
                                            {"error", "error"},
                                            {"warn", "warning"},
                                            {"info", "info"},
                                            {"debug", "debug"}};

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strlen(levels[i][0]) == len && memcmp(name, levels[i][0], len) == 0) {
            mirage_log_set(levels[i][1], NULL, 0);
            return;
        }
    say("solo5: unknown option '--solo5:");
    mirage_console_write(name, len);
    say("': ignored (quiet, error, warn, info or debug)\n");
}

/*
 * As Solo5's bindings do, the platform takes the --solo5: words out of the
 * command line and the program sees the rest, words separated by one space.
 */
static const char *take_solo5_options(const char *in)
{
    size_t out = 0;

    while (*in != '\0') {
        size_t len = strcspn(in, " ");

        if (len > 8 && strncmp(in, "--solo5:", 8) == 0) {
            solo5_option(in + 8, len - 8);
        } else if (len > 0) {
            if (out > 0)
                app_cmdline[out++] = ' ';
            memcpy(app_cmdline + out, in, len); /* fits: no longer than (in) */
            out += len;
        }
        in += len;
        in += strspn(in, " ");
    }
    app_cmdline[out] = '\0';
    return app_cmdline;
}

static solo5_result_t result(int err)
{
    switch (err) {
    case 0:
        return SOLO5_R_OK;
    case MIRAGE_EAGAIN:
        return SOLO5_R_AGAIN;
    case MIRAGE_EINVAL:
    case MIRAGE_ENOENT:
        return SOLO5_R_EINVAL;
    default:
        return SOLO5_R_EUNSPEC;
    }
}

/*
 * The program gets one block from malloc rather than the raw mirage_heap()
 * region, because on spt and hvt the libc's malloc owns that region and the
 * two must not overlap. Halving on failure copes with what the binding has
 * already taken.
 */
static void give_heap(void)
{
    uintptr_t start;
    size_t size, reserve, want;

    mirage_heap(&start, &size);
    reserve = size / 8 > LIBC_RESERVE_MIN ? size / 8 : LIBC_RESERVE_MIN;
    want = size > 2 * reserve ? size - reserve : size / 2;
    for (; want >= 4096; want /= 2) {
        void *p = malloc(want);
        if (p != NULL) {
            start_info.heap_start = (uintptr_t)p;
            start_info.heap_size = want;
            return;
        }
    }
}

/*
 * Never returns: the status goes to mirage_exit() directly, so no frame that
 * was active before the program could change the TLS base (and with it the
 * stack-protector canary) ever checks its canary again.
 */
__attribute__((no_stack_protector)) int mirage_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    start_info.cmdline = take_solo5_options(mirage_cmdline());
    give_heap();
    mirage_exit(solo5_app_main(&start_info));
}

void solo5_exit(int status)
{
    mirage_exit(status);
}

void solo5_abort(void)
{
    say("solo5: solo5_abort() called\n");
    mirage_abort();
}

/* Unprotected: its own epilogue runs after the canary may have changed. */
__attribute__((no_stack_protector)) solo5_result_t solo5_set_tls_base(uintptr_t base)
{
    return result(mirage_set_tls_base(base));
}

size_t solo5_tls_size(void)
{
    return mirage_tcb_block_size();
}

uintptr_t solo5_tls_tp_offset(uintptr_t tls)
{
    return mirage_tcb_block_tp(tls);
}

/* Unprotected, as solo5_set_tls_base(): it reads the canary it copies. */
__attribute__((no_stack_protector)) solo5_result_t solo5_tls_init(uintptr_t tls)
{
    return result(mirage_tcb_block_init(tls));
}

solo5_time_t solo5_clock_monotonic(void)
{
    return mirage_clock_monotonic();
}

solo5_time_t solo5_clock_wall(void)
{
    return mirage_clock_wall();
}

void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set)
{
    mirage_handle_set_t ready = 0;

    mirage_yield(deadline, &ready);
    if (ready_set != NULL)
        *ready_set = ready;
}

void solo5_console_write(const char *buf, size_t size)
{
    mirage_console_write(buf, size);
}

solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info)
{
    struct mirage_net_info ni;
    mirage_handle_t h;
    int r = mirage_net_acquire(name, &h, &ni);

    if (r < 0)
        return result(r);
    *handle = h;
    for (int i = 0; i < SOLO5_NET_ALEN; i++)
        info->mac_address[i] = ni.mac[i];
    info->mtu = ni.mtu;
    return SOLO5_R_OK;
}

/* Solo5 drops a frame the host cannot take; a few polls first give a busy
 * host queue the chance to drain, so a burst loses less. */
solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf, size_t size)
{
    int r = mirage_net_write(handle, buf, size);

    for (int i = 0; r == MIRAGE_EAGAIN && i < WRITE_RETRIES; i++) {
        mirage_handle_set_t ignored;
        mirage_yield(0, &ignored);
        r = mirage_net_write(handle, buf, size);
    }
    return r == MIRAGE_EAGAIN ? SOLO5_R_OK : result(r);
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf, size_t size, size_t *read_size)
{
    return result(mirage_net_read(handle, buf, size, read_size));
}

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info)
{
    struct mirage_platform_block_info bi;
    mirage_handle_t h;
    int r = mirage_platform_block_acquire(name, &h, &bi);

    if (r < 0)
        return result(r);
    *handle = h;
    info->capacity = bi.capacity;
    info->block_size = bi.block_size;
    return SOLO5_R_OK;
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset, const uint8_t *buf,
                                 size_t size)
{
    return result(mirage_platform_block_write(handle, offset, buf, size));
}

solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset, uint8_t *buf,
                                size_t size)
{
    return result(mirage_platform_block_read(handle, offset, buf, size));
}
