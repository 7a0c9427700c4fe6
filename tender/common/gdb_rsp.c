/* gdb_rsp.c: the GDB Remote Serial Protocol's packets: framing, checksums, escapes, run-lengths, hex, commands. */
#include <string.h>

#include "gdb_rsp.h"
#include "mirage/wire.h"

enum { IDLE, BODY, ESCAPE, RUN, SUM1, SUM2 };

void gdb_rsp_in_init(struct gdb_rsp_in *in)
{
    in->state = IDLE;
    in->sum = 0;
    in->got = 0;
    in->last = -1;
    in->why = NULL;
    in->len = 0;
    in->body[0] = 0;
}

static void start(struct gdb_rsp_in *in)
{
    gdb_rsp_in_init(in);
    in->state = BODY;
}

/* Keeps only the first refusal's reason: it is the one gdb's packet earned. */
static void refuse(struct gdb_rsp_in *in, const char *why)
{
    if (!in->why)
        in->why = why;
}

/* One decoded body byte; past GDB_RSP_BODY_MAX the packet is only read to its end. */
static void push(struct gdb_rsp_in *in, uint8_t c)
{
    in->last = c;
    if (in->len >= GDB_RSP_BODY_MAX) {
        refuse(in, "packet longer than PacketSize (4096 bytes)");
        return;
    }
    in->body[in->len++] = c;
}

enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp_in *in, uint8_t c)
{
    int v;

    switch (in->state) {
    case IDLE:
        if (c == '$')
            start(in);
        else if (c == '+')
            return GDB_RSP_ACK;
        else if (c == '-')
            return GDB_RSP_NAK;
        else if (c == 0x03)
            return GDB_RSP_INTERRUPT;
        return GDB_RSP_MORE; /* noise between packets */
    case BODY:
        if (c == '$') {
            start(in);
        } else if (c == '#') {
            in->state = SUM1;
        } else if (c == '}') {
            in->sum += c;
            in->state = ESCAPE;
        } else if (c == '*') {
            in->sum += c;
            if (in->last < 0)
                refuse(in, "run-length with no byte before it");
            in->state = RUN;
        } else {
            in->sum += c;
            push(in, c);
        }
        return GDB_RSP_MORE;
    case ESCAPE:
        in->sum += c;
        push(in, c ^ 0x20);
        in->state = BODY;
        return GDB_RSP_MORE;
    case RUN:
        /* '*' n repeats the byte before it n - 29 more times; '#' and '$'
         * are never counts, so they keep their framing meaning. */
        if (c == '#' || c == '$' || c < ' ' || c > '~') {
            refuse(in, "bad run-length count");
            in->state = BODY;
            return gdb_rsp_feed(in, c);
        }
        in->sum += c;
        for (int i = 0; in->last >= 0 && i < c - 29; i++)
            push(in, (uint8_t)in->last);
        in->state = BODY;
        return GDB_RSP_MORE;
    case SUM1:
        v = mirage_hex_value(c);
        in->got = v < 0 ? -1 : v << 4;
        in->state = SUM2;
        return GDB_RSP_MORE;
    default: /* SUM2 */
        v = mirage_hex_value(c);
        in->state = IDLE;
        if (v < 0 || in->got < 0 || (in->got | v) != in->sum)
            return GDB_RSP_BAD_SUM;
        in->body[in->len] = 0;
        return in->why ? GDB_RSP_REFUSED : GDB_RSP_PACKET;
    }
}

size_t gdb_rsp_frame(const uint8_t *body, size_t len, uint8_t *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    struct mirage_wr w = mirage_wr_init(out, cap);
    uint8_t sum = 0;

    mirage_wr_u8(&w, '$');
    for (size_t i = 0; i < len; i++) {
        uint8_t c = body[i];

        if (c == '$' || c == '#' || c == '}' || c == '*') {
            mirage_wr_u8(&w, '}');
            sum += '}';
            c ^= 0x20;
        }
        mirage_wr_u8(&w, c);
        sum += c;
    }
    mirage_wr_u8(&w, '#');
    mirage_wr_u8(&w, (uint8_t)digits[sum >> 4]);
    mirage_wr_u8(&w, (uint8_t)digits[sum & 15]);
    return w.bad ? 0 : w.off;
}

void gdb_rsp_hex(const uint8_t *src, size_t len, char *dst)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
}

/* ---- commands ----------------------------------------------------------- */

/* A hex number of 1 to 16 digits; 0 and bad if there is none or more. */
static uint64_t rd_hexnum(struct mirage_rd *r)
{
    uint64_t x = 0;
    int digits = 0;

    while (mirage_hex_value(mirage_rd_peek(r)) >= 0) {
        if (++digits > 16) {
            mirage_rd_fail(r);
            return 0;
        }
        x = x << 4 | (uint64_t)mirage_hex_value(mirage_rd_u8(r));
    }
    if (digits == 0)
        mirage_rd_fail(r);
    return x;
}

/* The byte (c) must come next. */
static void rd_expect(struct mirage_rd *r, uint8_t c)
{
    if (mirage_rd_peek(r) != c)
        mirage_rd_fail(r);
    else
        mirage_rd_skip(r, 1);
}

/* The rest of (r) as hex pairs into cmd->data; bad if odd, not hex or too long. */
static void rd_hexdata(struct mirage_rd *r, struct gdb_rsp_cmd *cmd)
{
    size_t n = mirage_rd_left(r);

    if (n % 2 || n / 2 > sizeof(cmd->data)) {
        mirage_rd_fail(r);
        return;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = mirage_hex_value(mirage_rd_u8(r)), lo = mirage_hex_value(mirage_rd_u8(r));

        if (hi < 0 || lo < 0) {
            mirage_rd_fail(r);
            return;
        }
        cmd->data[i] = (uint8_t)(hi << 4 | lo);
    }
    cmd->data_len = n / 2;
}

static int is(const uint8_t *body, size_t len, const char *word)
{
    size_t n = strlen(word);

    return len >= n && memcmp(body, word, n) == 0;
}

static enum gdb_rsp_kind bad(struct gdb_rsp_cmd *cmd, const char *why)
{
    cmd->why = why;
    return cmd->kind = GDB_CMD_BAD;
}

/* m/M: addr,len, and for M the data; a read's reply must fit a packet. */
static void parse_mem(struct mirage_rd *r, struct gdb_rsp_cmd *cmd, int write)
{
    cmd->addr = rd_hexnum(r);
    rd_expect(r, ',');
    cmd->len = rd_hexnum(r);
    if (write) {
        rd_expect(r, ':');
        rd_hexdata(r, cmd);
    }
    if (r->bad || mirage_rd_left(r)) {
        bad(cmd, write ? "expected M addr,length:hex" : "expected m addr,length");
        return;
    }
    if (cmd->len > GDB_RSP_BODY_MAX / 2)
        bad(cmd, "length over 2048 bytes");
    else if (write && cmd->data_len != cmd->len)
        bad(cmd, "data length differs from the length given");
    else
        cmd->kind = write ? GDB_CMD_WRITE_MEM : GDB_CMD_READ_MEM;
}

/* Z/z: only type 0, software breakpoints, is served. */
static void parse_bp(struct mirage_rd *r, struct gdb_rsp_cmd *cmd, int insert)
{
    if (mirage_rd_peek(r) != '0' || r->len < 2 || r->p[r->off + 1] != ',')
        return; /* other types: unsupported, the empty reply */
    mirage_rd_skip(r, 2);
    cmd->addr = rd_hexnum(r);
    rd_expect(r, ',');
    cmd->len = rd_hexnum(r);
    if (r->bad || mirage_rd_left(r))
        bad(cmd, "expected Z0,addr,kind");
    else
        cmd->kind = insert ? GDB_CMD_INSERT_BP : GDB_CMD_REMOVE_BP;
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr]. */
static void parse_resume(struct mirage_rd *r, struct gdb_rsp_cmd *cmd, int step, int sig)
{
    if (sig) {
        (void)rd_hexnum(r); /* the signal: a unikernel has none to take */
        if (mirage_rd_peek(r) == ';')
            mirage_rd_skip(r, 1);
        else if (!r->bad && mirage_rd_left(r))
            mirage_rd_fail(r);
    }
    if (!r->bad && mirage_rd_left(r)) {
        cmd->addr = rd_hexnum(r);
        cmd->has_addr = 1;
    }
    if (r->bad || mirage_rd_left(r))
        bad(cmd, step ? "expected s [addr]" : "expected c [addr]");
    else
        cmd->kind = step ? GDB_CMD_STEP : GDB_CMD_CONTINUE;
}

/* vCont;ACTION[:thread]...: one thread, so the first action is its own. */
static void parse_vcont(struct mirage_rd *r, struct gdb_rsp_cmd *cmd)
{
    int a = mirage_rd_u8(r);

    if (a == 'C' || a == 'S')
        (void)rd_hexnum(r);
    else if (a != 'c' && a != 's')
        mirage_rd_fail(r);
    if (r->bad) {
        bad(cmd, "vCont takes c, C, s and S");
        return;
    }
    /* the thread and any further actions need no checking: they change nothing */
    cmd->kind = a == 'c' || a == 'C' ? GDB_CMD_CONTINUE : GDB_CMD_STEP;
}

void gdb_rsp_parse(const uint8_t *body, size_t len, struct gdb_rsp_cmd *cmd)
{
    struct mirage_rd r = mirage_rd_init(body, len);

    memset(cmd, 0, offsetof(struct gdb_rsp_cmd, data));
    cmd->data_len = 0;
    cmd->kind = GDB_CMD_UNSUPPORTED;
    if (len == 0)
        return;
    mirage_rd_skip(&r, 1);
    switch (body[0]) {
    case '?':
        cmd->kind = len == 1 ? GDB_CMD_STOP_REASON : GDB_CMD_UNSUPPORTED;
        return;
    case 'g':
        cmd->kind = len == 1 ? GDB_CMD_READ_REGS : GDB_CMD_UNSUPPORTED;
        return;
    case 'G':
        rd_hexdata(&r, cmd);
        if (r.bad || cmd->data_len < GDB_RSP_REGS_SIZE)
            bad(cmd, "expected G and the registers in hex");
        else
            cmd->kind = GDB_CMD_WRITE_REGS;
        return;
    case 'm':
    case 'M':
        parse_mem(&r, cmd, body[0] == 'M');
        return;
    case 'Z':
    case 'z':
        parse_bp(&r, cmd, body[0] == 'Z');
        return;
    case 'c':
    case 's':
    case 'C':
    case 'S':
        parse_resume(&r, cmd, body[0] == 's' || body[0] == 'S', body[0] == 'C' || body[0] == 'S');
        return;
    case 'k':
        cmd->kind = GDB_CMD_KILL;
        return;
    case 'D':
        cmd->kind = GDB_CMD_DETACH;
        return;
    case 'H':
        cmd->kind = GDB_CMD_SET_THREAD;
        return;
    }
    if ((len == 10 || (len > 10 && body[10] == ':')) && is(body, len, "qSupported"))
        cmd->kind = GDB_CMD_SUPPORTED;
    else if (len == 15 && is(body, len, "QStartNoAckMode"))
        cmd->kind = GDB_CMD_NO_ACK;
    else if (len == 6 && is(body, len, "vCont?"))
        cmd->kind = GDB_CMD_VCONT_QUERY;
    else if (len > 6 && is(body, len, "vCont;"))
        mirage_rd_seek(&r, 6), parse_vcont(&r, cmd);
    else if (is(body, len, "vKill") && (len == 5 || body[5] == ';'))
        cmd->kind = GDB_CMD_KILL;
    else if (is(body, len, "qAttached") && (len == 9 || body[9] == ':'))
        cmd->kind = GDB_CMD_ATTACHED;
    else if ((len == 2 && is(body, len, "qC")) || (len == 12 && is(body, len, "qfThreadInfo")) ||
             (len == 12 && is(body, len, "qsThreadInfo"))) {
        cmd->kind = GDB_CMD_THREAD;
        cmd->thread_query = body[1];
    }
}

/* ---- registers ---------------------------------------------------------- */

void gdb_rsp_regs_hex(const struct gdb_rsp_regs *r, char *dst)
{
    uint8_t raw[GDB_RSP_REGS_SIZE];
    struct mirage_wr w = mirage_wr_init(raw, sizeof(raw));
    const uint32_t segs[7] = {r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs};

    for (int i = 0; i < 16; i++)
        mirage_wr_le64(&w, r->gpr[i]);
    mirage_wr_le64(&w, r->rip);
    for (int i = 0; i < 7; i++)
        mirage_wr_le32(&w, segs[i]);
    gdb_rsp_hex(raw, sizeof(raw), dst);
}

int gdb_rsp_regs_from(const uint8_t *data, size_t len, struct gdb_rsp_regs *r)
{
    struct mirage_rd rd = mirage_rd_init(data, len);
    uint32_t *segs[7] = {&r->eflags, &r->cs, &r->ss, &r->ds, &r->es, &r->fs, &r->gs};

    if (len < GDB_RSP_REGS_SIZE)
        return -1;
    for (int i = 0; i < 16; i++)
        r->gpr[i] = mirage_rd_le64(&rd);
    r->rip = mirage_rd_le64(&rd);
    for (int i = 0; i < 7; i++)
        *segs[i] = mirage_rd_le32(&rd);
    return 0;
}
