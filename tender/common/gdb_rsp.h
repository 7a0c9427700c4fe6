/* gdb_rsp.h: the GDB Remote Serial Protocol's packets: framing, checksums, escapes, run-lengths, hex, commands. */
#ifndef GDB_RSP_H
#define GDB_RSP_H

#include <stddef.h>
#include <stdint.h>

/* The largest packet body taken (after escapes and run-lengths are undone)
 * and sent; announced to gdb as PacketSize. */
#define GDB_RSP_BODY_MAX 4096

/* What one byte from gdb completed. */
enum gdb_rsp_event {
    GDB_RSP_MORE,      /* nothing yet */
    GDB_RSP_PACKET,    /* a whole packet: in->body, in->len (NUL after it) */
    GDB_RSP_BAD_SUM,   /* a packet whose checksum did not match: answer '-' */
    GDB_RSP_REFUSED,   /* a packet too long or malformed (in->why): answer with an error */
    GDB_RSP_ACK,       /* '+' */
    GDB_RSP_NAK,       /* '-': send the last reply again */
    GDB_RSP_INTERRUPT, /* 0x03 between packets: Ctrl-C */
};

/* The receiving side: fed a byte at a time, it never holds more than
 * GDB_RSP_BODY_MAX bytes of body, whatever the packet's length. */
struct gdb_rsp_in {
    int state;
    uint8_t sum;        /* of the raw bytes between '$' and '#' */
    int got;            /* the checksum's first hex digit, shifted; -1: not hex */
    int last;           /* the body's last byte, for a run-length; -1 for none */
    const char *why;    /* GDB_RSP_REFUSED: what was wrong */
    size_t len;         /* body bytes so far */
    uint8_t body[GDB_RSP_BODY_MAX + 1];
};

void gdb_rsp_in_init(struct gdb_rsp_in *in);

/* Takes the next byte (c) gdb sent; returns what it completed. A '$' always
 * starts a new packet, dropping one unfinished. */
enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp_in *in, uint8_t c);

/* Frames (body, len) as $...#xx into (out, cap), escaping '$', '#', '}' and
 * '*'. Returns the framed length, or 0 if it does not fit (nothing useful is
 * then in out). */
size_t gdb_rsp_frame(const uint8_t *body, size_t len, uint8_t *out, size_t cap);

/* Writes (len) bytes of (src) as lower-case hex to (dst) (2 * len bytes, no NUL). */
void gdb_rsp_hex(const uint8_t *src, size_t len, char *dst);

/* ---- commands ----------------------------------------------------------- */

enum gdb_rsp_kind {
    GDB_CMD_UNSUPPORTED, /* well-formed enough, not served: the empty reply */
    GDB_CMD_BAD,         /* a command served, with bad arguments (cmd->why): an error reply */
    GDB_CMD_STOP_REASON, /* ? */
    GDB_CMD_READ_REGS,   /* g */
    GDB_CMD_WRITE_REGS,  /* G: data, data_len bytes */
    GDB_CMD_READ_MEM,    /* m addr,len */
    GDB_CMD_WRITE_MEM,   /* M addr,len:data */
    GDB_CMD_INSERT_BP,   /* Z0,addr,kind */
    GDB_CMD_REMOVE_BP,   /* z0,addr,kind */
    GDB_CMD_CONTINUE,    /* c [addr], C sig[;addr], vCont;c, vCont;C */
    GDB_CMD_STEP,        /* s [addr], S sig[;addr], vCont;s, vCont;S */
    GDB_CMD_KILL,        /* k, vKill */
    GDB_CMD_DETACH,      /* D */
    GDB_CMD_SUPPORTED,   /* qSupported[:features] */
    GDB_CMD_NO_ACK,      /* QStartNoAckMode */
    GDB_CMD_VCONT_QUERY, /* vCont? */
    GDB_CMD_ATTACHED,    /* qAttached */
    GDB_CMD_SET_THREAD,  /* H... (one thread: always OK) */
    GDB_CMD_THREAD,      /* qC, qfThreadInfo, qsThreadInfo */
};

/* The register file in gdb's amd64 layout ('g' and 'G'): the 24 general
 * registers; the x87 and SSE ones that follow are left out (gdb takes a
 * shorter 'g' and marks them unavailable). */
struct gdb_rsp_regs {
    uint64_t gpr[16]; /* rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15 */
    uint64_t rip;
    uint32_t eflags, cs, ss, ds, es, fs, gs;
};
#define GDB_RSP_REGS_SIZE (17 * 8 + 7 * 4)

struct gdb_rsp_cmd {
    enum gdb_rsp_kind kind;
    const char *why;    /* GDB_CMD_BAD */
    uint64_t addr, len; /* m, M, Z0/z0 (len: the kind), c/s with an address */
    int has_addr;       /* c/s resume at addr */
    int thread_query;   /* GDB_CMD_THREAD: 'C', 'f' or 's' */
    uint8_t data[GDB_RSP_BODY_MAX / 2]; /* M's bytes; G's registers */
    size_t data_len;
};

/* Parses the body of one packet (body, len) into (cmd). Never fails: what it
 * does not know is GDB_CMD_UNSUPPORTED, a known command with arguments that
 * do not parse (hex, numbers over 64 bits, a length over what fits a reply,
 * a data length other than the one announced) is GDB_CMD_BAD. */
void gdb_rsp_parse(const uint8_t *body, size_t len, struct gdb_rsp_cmd *cmd);

/* Registers to the 'g' reply's hex (2 * GDB_RSP_REGS_SIZE chars, no NUL). */
void gdb_rsp_regs_hex(const struct gdb_rsp_regs *r, char *dst);
/* G's data (data, len) to registers: 0, or -1 if it is shorter than GDB_RSP_REGS_SIZE. */
int gdb_rsp_regs_from(const uint8_t *data, size_t len, struct gdb_rsp_regs *r);

#endif
