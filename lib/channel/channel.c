/* channel.c: a buffered reader and writer over any flow. */
#include <stdio.h>
#include <string.h>

#include "mirage/channel.h"
#include "mirage/error.h"

void mirage_channel_init(struct mirage_channel *ch, struct mirage_flow *flow, uint8_t *rbuf,
                         size_t rcap, uint8_t *wbuf, size_t wcap)
{
    ch->flow = flow;
    ch->rbuf = rbuf;
    ch->rcap = rcap;
    ch->rpos = 0;
    ch->rlen = 0;
    ch->wbuf = wbuf;
    ch->wcap = wbuf ? wcap : 0;
    ch->wlen = 0;
    ch->eof = 0;
}

int mirage_channel_fill(struct mirage_channel *ch, uint64_t deadline)
{
    size_t got = 0;
    int r;

    if (ch->eof)
        return 0;
    if (ch->rpos > 0) {
        memmove(ch->rbuf, ch->rbuf + ch->rpos, ch->rlen);
        ch->rpos = 0;
    }
    if (ch->rlen == ch->rcap)
        return MIRAGE_ENOSPC;
    r = mirage_flow_read(ch->flow, ch->rbuf + ch->rlen, ch->rcap - ch->rlen, &got, deadline);
    if (r != 0)
        return r;
    if (got == 0)
        ch->eof = 1;
    ch->rlen += got;
    return 0;
}

size_t mirage_channel_peek(const struct mirage_channel *ch, const uint8_t **data)
{
    *data = ch->rbuf + ch->rpos;
    return ch->rlen;
}

void mirage_channel_consume(struct mirage_channel *ch, size_t n)
{
    if (n > ch->rlen)
        n = ch->rlen;
    ch->rpos += n;
    ch->rlen -= n;
    if (ch->rlen == 0)
        ch->rpos = 0;
}

int mirage_channel_unread(struct mirage_channel *ch, const void *data, size_t len)
{
    if (len > ch->rcap - ch->rlen)
        return MIRAGE_ENOSPC;
    if (len > ch->rpos) {
        memmove(ch->rbuf + len, ch->rbuf + ch->rpos, ch->rlen);
        ch->rpos = len;
    }
    ch->rpos -= len;
    memcpy(ch->rbuf + ch->rpos, data, len);
    ch->rlen += len;
    return 0;
}

int mirage_channel_read_line(struct mirage_channel *ch, const char **line, size_t *len, size_t max,
                             uint64_t deadline)
{
    size_t scanned = 0;

    if (max > ch->rcap)
        max = ch->rcap;
    for (;;) {
        const uint8_t *p = ch->rbuf + ch->rpos;
        const uint8_t *lf = memchr(p + scanned, '\n', ch->rlen - scanned);
        if (lf != NULL && (size_t)(lf - p) < max) {
            size_t n = (size_t)(lf - p);
            *line = (const char *)p;
            *len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
            mirage_channel_consume(ch, n + 1);
            return 0;
        }
        if (lf != NULL || ch->rlen >= max)
            return MIRAGE_EMSGSIZE;
        if (ch->eof) {
            if (ch->rlen == 0)
                return MIRAGE_ENODATA;
            *line = (const char *)p;
            *len = ch->rlen;
            mirage_channel_consume(ch, ch->rlen);
            return 0;
        }
        scanned = ch->rlen;
        int r = mirage_channel_fill(ch, deadline);
        if (r != 0)
            return r;
    }
}

int mirage_channel_read_some(struct mirage_channel *ch, const uint8_t **data, size_t *len,
                             size_t max, uint64_t deadline)
{
    *len = 0;
    *data = ch->rbuf + ch->rpos;
    if (ch->rlen == 0) {
        int r = mirage_channel_fill(ch, deadline);
        if (r != 0)
            return r;
    }
    *data = ch->rbuf + ch->rpos;
    *len = ch->rlen < max ? ch->rlen : max;
    ch->rpos += *len;
    ch->rlen -= *len;
    return 0;
}

int mirage_channel_read_exactly(struct mirage_channel *ch, void *buf, size_t n, uint64_t deadline)
{
    uint8_t *out = buf;

    while (n > 0) {
        if (ch->rlen > 0) {
            size_t k = ch->rlen < n ? ch->rlen : n;
            memcpy(out, ch->rbuf + ch->rpos, k);
            mirage_channel_consume(ch, k);
            out += k;
            n -= k;
            continue;
        }
        if (ch->eof)
            return MIRAGE_ENODATA;
        if (n >= ch->rcap) { /* large reads skip the buffer */
            size_t got = 0;
            int r = mirage_flow_read(ch->flow, out, n, &got, deadline);
            if (r != 0)
                return r;
            if (got == 0)
                ch->eof = 1;
            out += got;
            n -= got;
            continue;
        }
        int r = mirage_channel_fill(ch, deadline);
        if (r != 0)
            return r;
    }
    return 0;
}

int mirage_channel_flush(struct mirage_channel *ch, uint64_t deadline)
{
    int r = 0;

    if (ch->wlen > 0)
        r = mirage_flow_write(ch->flow, ch->wbuf, ch->wlen, deadline);
    ch->wlen = 0;
    return r;
}

int mirage_channel_write(struct mirage_channel *ch, const void *data, size_t len, uint64_t deadline)
{
    if (len <= ch->wcap - ch->wlen) {
        memcpy(ch->wbuf + ch->wlen, data, len);
        ch->wlen += len;
        return 0;
    }
    if (len < ch->wcap) { /* fill the buffer up, send it, keep the rest */
        size_t k = ch->wcap - ch->wlen;
        memcpy(ch->wbuf + ch->wlen, data, k);
        ch->wlen = ch->wcap;
        int r = mirage_channel_flush(ch, deadline);
        if (r != 0)
            return r;
        memcpy(ch->wbuf, (const uint8_t *)data + k, len - k);
        ch->wlen = len - k;
        return 0;
    }
    /* Larger than the buffer: one write of both, no copy. */
    struct mirage_iovec iov[2] = {{ch->wbuf, ch->wlen}, {data, len}};
    int r = ch->wlen > 0 ? mirage_flow_writev(ch->flow, iov, 2, deadline)
                         : mirage_flow_writev(ch->flow, &iov[1], 1, deadline);
    ch->wlen = 0;
    return r;
}

int mirage_channel_printf(struct mirage_channel *ch, uint64_t deadline, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ch->wbuf == NULL)
        return MIRAGE_EMSGSIZE;
    for (int pass = 0; pass < 2; pass++) {
        va_start(ap, fmt);
        n = vsnprintf((char *)ch->wbuf + ch->wlen, ch->wcap - ch->wlen, fmt, ap);
        va_end(ap);
        if (n < 0)
            return MIRAGE_EINVAL;
        if ((size_t)n < ch->wcap - ch->wlen) {
            ch->wlen += (size_t)n;
            return 0;
        }
        if (pass == 0 && ch->wlen > 0) {
            int r = mirage_channel_flush(ch, deadline);
            if (r != 0)
                return r;
        } else {
            break;
        }
    }
    return MIRAGE_EMSGSIZE;
}
