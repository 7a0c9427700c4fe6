/* fuzz_gdb_rsp.c: the gdb packet reader and command parser on arbitrary bytes from a debugger. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdb_rsp.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gdb_rsp_in in;
    static struct gdb_rsp_cmd cmd;
    static uint8_t framed[2 * GDB_RSP_BODY_MAX + 8];
    static struct gdb_rsp_in again;

    gdb_rsp_in_init(&in);
    for (size_t i = 0; i < size; i++) {
        enum gdb_rsp_event e = gdb_rsp_feed(&in, data[i]);
        size_t n;

        check(in.len <= GDB_RSP_BODY_MAX);
        if (e == GDB_RSP_REFUSED)
            check(in.why != NULL);
        if (e != GDB_RSP_PACKET)
            continue;
        gdb_rsp_parse(in.body, in.len, &cmd);
        check(cmd.kind != GDB_CMD_BAD || cmd.why != NULL);
        check(cmd.data_len <= sizeof(cmd.data));
        if (cmd.kind == GDB_CMD_READ_MEM || cmd.kind == GDB_CMD_WRITE_MEM)
            check(cmd.len <= GDB_RSP_BODY_MAX / 2);
        if (cmd.kind == GDB_CMD_WRITE_MEM)
            check(cmd.data_len == cmd.len);
        /* what the stub frames, its reader takes back unchanged */
        n = gdb_rsp_frame(in.body, in.len, framed, sizeof(framed));
        check(n > 0);
        gdb_rsp_in_init(&again);
        for (size_t k = 0; k < n; k++)
            check(gdb_rsp_feed(&again, framed[k]) == (k + 1 < n ? GDB_RSP_MORE : GDB_RSP_PACKET));
        check(again.len == in.len && memcmp(again.body, in.body, in.len) == 0);
    }
    return 0;
}
