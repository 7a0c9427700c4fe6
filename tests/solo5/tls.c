/* tls.c: a Solo5 program whose _Thread_local variables work: the boot block and solo5_tls_* blocks.
 */
#include "solo5.h"
#include "util.h"

static _Thread_local uint64_t counter = 42;         /* .tdata */
static _Thread_local char name[24] = "first block"; /* .tdata */
static _Thread_local uint64_t zeroed[64];           /* .tbss */

static uint8_t block2[4096] __attribute__((aligned(64)));

__attribute__((noinline)) static uint64_t *counter_at(void)
{
    return &counter;
}

static int check(int cond, const char *what)
{
    if (!cond) {
        t_puts("FAILURE: ");
        t_puts(what);
        t_puts("\n");
    }
    return cond ? 0 : 1;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    uint64_t sum = 0;
    int failed = 0;
    uintptr_t tp2;

    (void)si;
    t_puts("\n**** Solo5 shim test: tls ****\n\n");
    for (int i = 0; i < 64; i++)
        sum |= zeroed[i];
    failed |= check(counter == 42, "the boot block's .tdata was not copied");
    failed |= check(t_memeq(name, "first block", 12), "the boot block's string");
    failed |= check(sum == 0, "the boot block's .tbss is not zero");
    counter = 7;
    zeroed[63] = 5;
    t_puts("tls size ");
    t_putu(solo5_tls_size());
    t_puts("\n");
    failed |= check(solo5_tls_size() <= sizeof(block2), "block2 too small");
    failed |= check(solo5_tls_init((uintptr_t)block2) == SOLO5_R_OK, "solo5_tls_init");
    tp2 = solo5_tls_tp_offset((uintptr_t)block2);
    failed |= check(tp2 > (uintptr_t)block2 && tp2 < (uintptr_t)block2 + sizeof(block2),
                    "tp outside its block");
    if (solo5_set_tls_base(tp2) == SOLO5_R_EINVAL) {
        /* unix: the host libc owns FS; the boot block is the host's own. */
        t_puts("TLS base: refused\n");
    } else {
        failed |= check(counter == 42 && zeroed[63] == 0, "the second block is not fresh");
        failed |= check(counter_at() != 0, "counter's address");
        counter = 9;
        name[0] = 'F';
        t_puts("second block: ok\n");
    }
    t_puts(failed ? "FAILURE\n" : "tls: ok\nSUCCESS\n");
    return failed ? SOLO5_EXIT_FAILURE : SOLO5_EXIT_SUCCESS;
}
