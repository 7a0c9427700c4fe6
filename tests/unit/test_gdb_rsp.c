/* test_gdb_rsp.c: the gdb packet parser: framing, checksums, escapes, run-lengths, limits, commands. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "gdb_rsp.h"

/* Feeds (s) and returns the last event that was not GDB_RSP_MORE (or MORE). */
static enum gdb_rsp_event feed(struct gdb_rsp_in *in, const char *s, size_t n)
{
    enum gdb_rsp_event last = GDB_RSP_MORE;

    for (size_t i = 0; i < n; i++) {
        enum gdb_rsp_event e = gdb_rsp_feed(in, (uint8_t)s[i]);

        if (e != GDB_RSP_MORE)
            last = e;
    }
    return last;
}
#define FEED(in, lit) feed(in, lit, sizeof(lit) - 1)

static void test_framing(void)
{
    struct gdb_rsp_in in;

    gdb_rsp_in_init(&in);
    CHECK_INT(FEED(&in, "$g#67"), GDB_RSP_PACKET);
    CHECK_INT(in.len, 1);
    CHECK_STR((char *)in.body, "g");
    CHECK_INT(FEED(&in, "$m100000,4#ee"), GDB_RSP_PACKET);
    CHECK_STR((char *)in.body, "m100000,4");
    /* checksum digits in either case; a wrong one is a NAK */
    CHECK_INT(FEED(&in, "$?#3F"), GDB_RSP_PACKET);
    CHECK_INT(FEED(&in, "$?#40"), GDB_RSP_BAD_SUM);
    CHECK_INT(FEED(&in, "$?#zz"), GDB_RSP_BAD_SUM);
    /* acks, NAKs, Ctrl-C and noise between packets */
    CHECK_INT(FEED(&in, "+"), GDB_RSP_ACK);
    CHECK_INT(FEED(&in, "-"), GDB_RSP_NAK);
    CHECK_INT(FEED(&in, "\x03"), GDB_RSP_INTERRUPT);
    CHECK_INT(FEED(&in, "xyz\n"), GDB_RSP_MORE);
    /* a '$' starts over: the unfinished packet is dropped */
    CHECK_INT(FEED(&in, "$mxx$g#67"), GDB_RSP_PACKET);
    CHECK_STR((char *)in.body, "g");
}

static void test_escapes_and_runs(void)
{
    struct gdb_rsp_in in;
    uint8_t out[64];
    const uint8_t body[] = {'X', '$', '#', '}', '*', 0};
    size_t n;

    gdb_rsp_in_init(&in);
    /* "}\x03" is '#' escaped: 0x03 ^ 0x20 = '#'; the sum covers the raw bytes */
    CHECK_INT(FEED(&in, "$a}\x03#e1"), GDB_RSP_PACKET);
    CHECK_INT(in.len, 2);
    CHECK(in.body[1] == '#');
    /* "0* " is '0' and 3 more: "0000" */
    CHECK_INT(FEED(&in, "$0* #7a"), GDB_RSP_PACKET);
    CHECK_STR((char *)in.body, "0000");
    CHECK_INT(FEED(&in, "$*  #6a"), GDB_RSP_REFUSED);
    CHECK_STR(in.why, "run-length with no byte before it");
    /* what the framer escapes, the reader takes back */
    n = gdb_rsp_frame(body, sizeof(body), out, sizeof(out));
    CHECK(n > 0);
    CHECK(memchr(out + 1, '$', n - 1) == NULL);
    CHECK(memchr(out + 1, '#', n - 4) == NULL);
    CHECK_INT(feed(&in, (const char *)out, n), GDB_RSP_PACKET);
    CHECK_INT(in.len, sizeof(body));
    CHECK(memcmp(in.body, body, sizeof(body)) == 0);
    /* a frame that does not fit is refused, not cut */
    CHECK_INT(gdb_rsp_frame(body, sizeof(body), out, 8), 0);
}

static void test_limits(void)
{
    static char big[3 * GDB_RSP_BODY_MAX];
    struct gdb_rsp_in in;
    uint8_t sum = 0;
    size_t n = 0;
    char tail[4];

    gdb_rsp_in_init(&in);
    big[n++] = '$';
    for (size_t i = 0; i < 2 * GDB_RSP_BODY_MAX; i++, n++) {
        big[n] = 'a';
        sum += 'a';
    }
    snprintf(tail, sizeof(tail), "#%02x", sum);
    memcpy(big + n, tail, 3);
    n += 3;
    CHECK_INT(feed(&in, big, n), GDB_RSP_REFUSED);
    CHECK_STR(in.why, "packet longer than PacketSize (4096 bytes)");
    CHECK(in.len <= GDB_RSP_BODY_MAX);
    /* a run-length cannot grow a packet past the limit either */
    gdb_rsp_in_init(&in);
    n = 0;
    sum = 0;
    big[n++] = '$';
    for (int i = 0; i < 100; i++) {
        big[n++] = 'a';
        big[n++] = '*';
        big[n++] = '~';
        sum += 'a' + '*' + '~';
    }
    snprintf(tail, sizeof(tail), "#%02x", sum);
    memcpy(big + n, tail, 3);
    n += 3;
    CHECK_INT(feed(&in, big, n), GDB_RSP_REFUSED);
    CHECK(in.len <= GDB_RSP_BODY_MAX);
    /* and the reader is ready for the next packet */
    CHECK_INT(FEED(&in, "$g#67"), GDB_RSP_PACKET);
}

static struct gdb_rsp_cmd cmd;

static enum gdb_rsp_kind parse(const char *s)
{
    gdb_rsp_parse((const uint8_t *)s, strlen(s), &cmd);
    return cmd.kind;
}

static void test_commands(void)
{
    CHECK_INT(parse("?"), GDB_CMD_STOP_REASON);
    CHECK_INT(parse("g"), GDB_CMD_READ_REGS);
    CHECK_INT(parse("m100000,40"), GDB_CMD_READ_MEM);
    CHECK_INT(cmd.addr, 0x100000);
    CHECK_INT(cmd.len, 0x40);
    CHECK_INT(parse("m100000,801"), GDB_CMD_BAD);
    CHECK_STR(cmd.why, "length over 2048 bytes");
    CHECK_INT(parse("mffffffffffffffff,ffffffffffffffff"), GDB_CMD_BAD);
    CHECK_INT(parse("m1ffffffffffffffff,1"), GDB_CMD_BAD); /* 17 digits */
    CHECK_INT(parse("m,4"), GDB_CMD_BAD);
    CHECK_INT(parse("m100000"), GDB_CMD_BAD);
    CHECK_INT(parse("m100000,4x"), GDB_CMD_BAD);
    CHECK_INT(parse("M100000,2:cc90"), GDB_CMD_WRITE_MEM);
    CHECK_INT(cmd.data_len, 2);
    CHECK(cmd.data[0] == 0xcc && cmd.data[1] == 0x90);
    CHECK_INT(parse("M100000,3:cc90"), GDB_CMD_BAD);
    CHECK_STR(cmd.why, "data length differs from the length given");
    CHECK_INT(parse("M100000,2:cc9"), GDB_CMD_BAD);
    CHECK_INT(parse("M100000,2:ccxx"), GDB_CMD_BAD);
    CHECK_INT(parse("Z0,1003f6,1"), GDB_CMD_INSERT_BP);
    CHECK_INT(cmd.addr, 0x1003f6);
    CHECK_INT(parse("z0,1003f6,1"), GDB_CMD_REMOVE_BP);
    CHECK_INT(parse("Z1,1003f6,1"), GDB_CMD_UNSUPPORTED); /* hardware: not served */
    CHECK_INT(parse("Z0,1003f6"), GDB_CMD_BAD);
    CHECK_INT(parse("c"), GDB_CMD_CONTINUE);
    CHECK_INT(cmd.has_addr, 0);
    CHECK_INT(parse("c100200"), GDB_CMD_CONTINUE);
    CHECK_INT(cmd.has_addr, 1);
    CHECK_INT(cmd.addr, 0x100200);
    CHECK_INT(parse("s"), GDB_CMD_STEP);
    CHECK_INT(parse("S05;100200"), GDB_CMD_STEP);
    CHECK_INT(cmd.addr, 0x100200);
    CHECK_INT(parse("C0b"), GDB_CMD_CONTINUE);
    CHECK_INT(parse("cxyz"), GDB_CMD_BAD);
    CHECK_INT(parse("vCont?"), GDB_CMD_VCONT_QUERY);
    CHECK_INT(parse("vCont;s:p1.1;c"), GDB_CMD_STEP);
    CHECK_INT(parse("vCont;c"), GDB_CMD_CONTINUE);
    CHECK_INT(parse("vCont;C05:1"), GDB_CMD_CONTINUE);
    CHECK_INT(parse("vCont;r100,200"), GDB_CMD_BAD);
    CHECK_INT(parse("vCont;"), GDB_CMD_UNSUPPORTED);
    CHECK_INT(parse("qSupported:multiprocess+;swbreak+"), GDB_CMD_SUPPORTED);
    CHECK_INT(parse("qSupportedX"), GDB_CMD_UNSUPPORTED);
    CHECK_INT(parse("QStartNoAckMode"), GDB_CMD_NO_ACK);
    CHECK_INT(parse("qAttached:1"), GDB_CMD_ATTACHED);
    CHECK_INT(parse("qC"), GDB_CMD_THREAD);
    CHECK_INT(cmd.thread_query, 'C');
    CHECK_INT(parse("qfThreadInfo"), GDB_CMD_THREAD);
    CHECK_INT(cmd.thread_query, 'f');
    CHECK_INT(parse("k"), GDB_CMD_KILL);
    CHECK_INT(parse("vKill;1"), GDB_CMD_KILL);
    CHECK_INT(parse("D"), GDB_CMD_DETACH);
    CHECK_INT(parse("Hg0"), GDB_CMD_SET_THREAD);
    CHECK_INT(parse("vMustReplyEmpty"), GDB_CMD_UNSUPPORTED);
    CHECK_INT(parse(""), GDB_CMD_UNSUPPORTED);
    CHECK_INT(parse("G00"), GDB_CMD_BAD);
}

static void test_registers(void)
{
    struct gdb_rsp_regs r, back;
    char hex[2 * GDB_RSP_REGS_SIZE + 2];

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < 16; i++)
        r.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    r.rip = 0x1003f6;
    r.eflags = 0x3202;
    r.cs = 0x1b;
    r.ss = 0x23;
    gdb_rsp_regs_hex(&r, hex);
    /* rax first, little-endian; rip after the 16 general registers; then eflags */
    CHECK(memcmp(hex, "1111111111111111", 16) == 0);
    CHECK(memcmp(hex + 16 * 16, "f603100000000000", 16) == 0);
    CHECK(memcmp(hex + 17 * 16, "02320000", 8) == 0);
    hex[2 * GDB_RSP_REGS_SIZE] = 0;
    {
        char g[2 * GDB_RSP_REGS_SIZE + 2] = "G";

        memcpy(g + 1, hex, 2 * GDB_RSP_REGS_SIZE);
        g[2 * GDB_RSP_REGS_SIZE + 1] = 0;
        CHECK_INT(parse(g), GDB_CMD_WRITE_REGS);
        CHECK_INT(gdb_rsp_regs_from(cmd.data, cmd.data_len, &back), 0);
        CHECK(memcmp(&r, &back, sizeof(r)) == 0);
    }
    CHECK_INT(gdb_rsp_regs_from(cmd.data, GDB_RSP_REGS_SIZE - 1, &back), -1);
}

int main(void)
{
    test_framing();
    test_escapes_and_runs();
    test_limits();
    test_commands();
    test_registers();
    return CHECK_DONE();
}
