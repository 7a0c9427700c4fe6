/* body.c: message bodies read from a channel: by Content-Length, chunked, or to the end of the
 * stream. */
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"
#include "mirage/wire.h"

/* The longest chunk-size line (with its extensions) or trailer field. */
#define BODY_MAX_LINE 4096

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_DONE };

void mirage_http_body_init(struct mirage_http_body *b, struct mirage_channel *ch,
                           const struct mirage_http_framing *f, int until_close, uint64_t max)
{
    memset(b, 0, sizeof(*b));
    b->ch = ch;
    b->max = max;
    b->max_line = BODY_MAX_LINE;
    if (f->chunked) {
        b->chunked = 1;
        b->state = CH_SIZE;
    } else if (f->has_length) {
        b->left = f->length;
        b->done = f->length == 0;
    } else if (until_close) {
        b->until_close = 1;
    } else {
        b->done = 1; /* a request without framing has no body (RFC 9112 6.3) */
    }
}

/* A line ending in CRLF, up to (max) bytes with it; a bare LF or a longer
 * line is MIRAGE_EINVAL, the end of the stream MIRAGE_ENODATA. (*line, *len)
 * views it without the CRLF until the next read. */
static int crlf_line(struct mirage_channel *ch, const char **line, size_t *len, size_t max,
                     uint64_t deadline)
{
    for (;;) {
        const uint8_t *p;
        size_t n = mirage_channel_peek(ch, &p);
        struct mirage_rd rd = mirage_rd_init(p, n < max ? n : max);
        int prev = -1, c;
        while ((c = mirage_rd_peek(&rd)) >= 0 && c != '\n') {
            prev = c;
            mirage_rd_skip(&rd, 1);
        }
        if (c == '\n') {
            if (prev != '\r')
                return MIRAGE_EINVAL; /* a bare LF */
            *line = (const char *)p;
            *len = rd.off - 1;
            mirage_channel_consume(ch, rd.off + 1);
            return 0;
        }
        if (n >= max)
            return MIRAGE_EINVAL;
        if (ch->eof)
            return MIRAGE_ENODATA;
        int r = mirage_channel_fill(ch, deadline);
        if (r == MIRAGE_ENOSPC)
            return MIRAGE_EINVAL;
        if (r != 0)
            return r;
    }
}

/* The next chunk's size line, or the trailer section after the last chunk. */
static int chunk_header(struct mirage_http_body *b, uint64_t deadline)
{
    const char *line;
    size_t len;
    int r;

    if (b->state == CH_DATA_END) {
        r = crlf_line(b->ch, &line, &len, 2, deadline);
        if (r != 0)
            return r;
        if (len != 0)
            return MIRAGE_EINVAL; /* the chunk's data must end with CRLF exactly */
        b->state = CH_SIZE;
    }
    r = crlf_line(b->ch, &line, &len, b->max_line, deadline);
    if (r != 0)
        return r;
    if (mirage_http_parse_chunk_size(line, len, &b->left) != 0)
        return MIRAGE_EINVAL;
    if (b->max && b->left > b->max - b->total)
        return MIRAGE_EMSGSIZE; /* refused before its bytes are read */
    if (b->left > 0) {
        b->state = CH_DATA;
        return 0;
    }
    /* The last chunk: trailer fields until the empty line, dropped. */
    for (unsigned fields = 0;; fields++) {
        r = crlf_line(b->ch, &line, &len, b->max_line, deadline);
        if (r != 0)
            return r;
        if (len == 0)
            break;
        if (fields >= MIRAGE_HTTP_MAX_FIELDS || line[0] == ' ' || line[0] == '\t' ||
            memchr(line, ':', len) == NULL)
            return MIRAGE_EINVAL;
    }
    b->state = CH_DONE;
    b->done = 1;
    return 0;
}

int mirage_http_body_read(struct mirage_http_body *b, void *buf, size_t cap, size_t *got,
                          uint64_t deadline)
{
    const uint8_t *data;
    size_t n;
    int r;

    *got = 0;
    while (!b->done && b->chunked && b->state != CH_DATA) {
        r = chunk_header(b, deadline);
        if (r != 0)
            return r;
    }
    if (b->done || cap == 0)
        return 0;
    size_t want = cap;
    if (!b->until_close && b->left < want)
        want = (size_t)b->left;
    r = mirage_channel_read_some(b->ch, &data, &n, want, deadline);
    if (r != 0)
        return r;
    if (n == 0) {
        if (b->until_close) {
            b->done = 1;
            return 0;
        }
        return MIRAGE_ENODATA;
    }
    if (b->max && b->total + n > b->max)
        return MIRAGE_EMSGSIZE;
    memcpy(buf, data, n);
    b->total += n;
    *got = n;
    if (!b->until_close) {
        b->left -= n;
        if (b->left == 0) {
            if (b->chunked)
                b->state = CH_DATA_END;
            else
                b->done = 1;
        }
    }
    return 0;
}
