/* channel.h: a buffered reader and writer over any flow (lines, exact reads, buffered writes). */
#ifndef MIRAGE_CHANNEL_H
#define MIRAGE_CHANNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mirage/flow.h"

/*
 * MirageOS's mirage-channel. The caller owns the channel and both buffers
 * (no allocation inside); the read buffer bounds the longest line, the write
 * buffer how much is sent in one go. Calls that wait suspend only the calling
 * fiber until (deadline), as the flow's own do, and return its errors
 * (MIRAGE_ETIMEDOUT, MIRAGE_ECANCELED, MIRAGE_ECONNRESET, ...).
 * Views returned by the read calls stay valid until the next call on the
 * channel that reads.
 */
struct mirage_channel {
    struct mirage_flow *flow;
    uint8_t *rbuf;
    size_t rcap, rpos, rlen; /* unread bytes: rbuf[rpos .. rpos + rlen) */
    uint8_t *wbuf;
    size_t wcap, wlen;
    int eof; /* the peer ended its stream: no more bytes will come */
};

/* Attaches (ch) to (flow) with the caller's buffers; (wbuf) may be NULL with
 * wcap 0 (writes then go straight to the flow). */
void mirage_channel_init(struct mirage_channel *ch, struct mirage_flow *flow, uint8_t *rbuf,
                         size_t rcap, uint8_t *wbuf, size_t wcap);

/* Reads one line ending in LF (a CR before it is dropped): *line views it
 * without the ending, *len its length. Returns 0; MIRAGE_EMSGSIZE when no LF
 * comes within (max) bytes (or the read buffer) (nothing is consumed);
 * MIRAGE_ENODATA at the end of the stream (a last unterminated line is
 * returned as a line first). */
int mirage_channel_read_line(struct mirage_channel *ch, const char **line, size_t *len, size_t max,
                             uint64_t deadline);

/* Reads exactly (n) bytes into (buf). Returns 0 or MIRAGE_ENODATA when the
 * stream ends first (what came is lost). */
int mirage_channel_read_exactly(struct mirage_channel *ch, void *buf, size_t n, uint64_t deadline);

/* Views up to (max) buffered bytes, reading once from the flow only when none
 * are buffered, and consumes them. *len == 0 at the end of the stream. */
int mirage_channel_read_some(struct mirage_channel *ch, const uint8_t **data, size_t *len,
                             size_t max, uint64_t deadline);

/* The unread bytes, without consuming them; mirage_channel_consume(n) drops
 * the first (n) of them. */
size_t mirage_channel_peek(const struct mirage_channel *ch, const uint8_t **data);
void mirage_channel_consume(struct mirage_channel *ch, size_t n);

/* Reads once from the flow into the free end of the read buffer (moving the
 * unread bytes to its front first). Returns 0 (ch->eof tells the end of the
 * stream), MIRAGE_ENOSPC when the buffer is full of unread bytes, or the
 * flow's error. */
int mirage_channel_fill(struct mirage_channel *ch, uint64_t deadline);

/* Puts (len) bytes in front of what is unread, as if they had just been read
 * (a server hands a parked connection's bytes back). Returns 0 or
 * MIRAGE_ENOSPC. */
int mirage_channel_unread(struct mirage_channel *ch, const void *data, size_t len);

/* Buffers (len) bytes for sending, writing the buffer to the flow when full
 * (a write larger than the buffer goes straight out after it). */
int mirage_channel_write(struct mirage_channel *ch, const void *data, size_t len,
                         uint64_t deadline);
/* As mirage_channel_write, of printf's output. MIRAGE_EMSGSIZE if it does
 * not fit an empty write buffer. */
int mirage_channel_printf(struct mirage_channel *ch, uint64_t deadline, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends everything buffered. */
int mirage_channel_flush(struct mirage_channel *ch, uint64_t deadline);

#endif
