/* fuzz_mirage_state.c: the tool's Makefile-header and remembered-arguments parsers on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../tool/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char args[8][STATE_ARG_LEN];
    struct mirage_state st;
    int n;

    if (mirage_state_parse((const char *)data, size, &st) == 0) {
        /* What it accepts is always safe to hand to clean. */
        if (!mirage_state_valid_build_dir(st.build) || strlen(st.name) == 0)
            __builtin_trap();
    }
    if (mirage_state_parse_args((const char *)data, size, args, 8, &n) == 0 && (n < 0 || n > 8))
        __builtin_trap();
    return 0;
}
