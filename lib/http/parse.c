/* parse.c: HTTP/1.1 message heads, chunk sizes, dates and ranges, parsed strictly (RFC 9110, 9112).
 */
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"
#include "mirage/wire.h"

/* tchar (RFC 9110 5.6.2): the characters of a token. */
static int is_tchar(int ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch > 0 && ch < 0x80 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int is_ows(int ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_hex(int ch)
{
    return mirage_hex_value(ch) >= 0;
}

/* A request-target's characters: visible ASCII. */
static int is_vchar(int ch)
{
    return ch > 0x20 && ch < 0x7f;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int ieq(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

static int ieqn(const char *a, size_t n, const char *b)
{
    size_t i;

    for (i = 0; i < n && b[i]; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return i == n && b[i] == 0;
}

/* ---- text through the wire toolkit's reader ----------------------------- */

/* A reader over a NUL-terminated string. */
static struct mirage_rd rd_str(const char *s)
{
    return mirage_rd_init(s, strlen(s));
}

/* Moves past the bytes for which (pred) holds; returns how many. */
static size_t rd_span(struct mirage_rd *r, int (*pred)(int ch))
{
    size_t n = 0;

    while (mirage_rd_peek(r) >= 0 && pred(mirage_rd_peek(r))) {
        mirage_rd_skip(r, 1);
        n++;
    }
    return n;
}

/* Moves past (s) if the next bytes are (s) exactly; 1 if they were. */
static int rd_lit(struct mirage_rd *r, const char *s)
{
    struct mirage_rd t = *r;
    size_t n = strlen(s);
    const uint8_t *v = mirage_rd_take(&t, n);

    if (v == NULL || memcmp(v, s, n) != 0)
        return 0;
    *r = t;
    return 1;
}

/* Moves past (ch) if it is next; 1 if it was. */
static int rd_char(struct mirage_rd *r, int ch)
{
    if (mirage_rd_peek(r) != ch)
        return 0;
    mirage_rd_skip(r, 1);
    return 1;
}

/* (n) decimal digits as a number, or -1 (the reader is then bad). */
static int rd_digits(struct mirage_rd *r, size_t n)
{
    const uint8_t *v = mirage_rd_take(r, n);
    int x = 0;

    for (size_t i = 0; v && i < n; i++) {
        if (!is_digit(v[i])) {
            mirage_rd_fail(r);
            return -1;
        }
        x = x * 10 + (v[i] - '0');
    }
    return v ? x : -1;
}

/* 1*DIGIT as a number into *v; -1 if none or it overflows. */
static int rd_number(struct mirage_rd *r, uint64_t *v)
{
    size_t n = 0;

    *v = 0;
    while (is_digit(mirage_rd_peek(r))) {
        int d = mirage_rd_u8(r) - '0';
        if (*v > (UINT64_MAX - 9) / 10)
            return -1;
        *v = *v * 10 + (uint64_t)d;
        n++;
    }
    return n ? 0 : -1;
}

size_t mirage_http_head_end(const uint8_t *p, size_t n)
{
    struct mirage_rd r = mirage_rd_init(p, n);

    while (mirage_rd_left(&r) > 0) {
        if (mirage_rd_u8(&r) != '\n')
            continue;
        if (rd_char(&r, '\n') || rd_lit(&r, "\r\n"))
            return r.off;
    }
    return 0;
}

const char *mirage_http_field(const struct mirage_http_field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ieq(fields[i].name, name))
            return fields[i].value;
    return NULL;
}

const char *mirage_http_request_field(const struct mirage_http_request *req, const char *name)
{
    return mirage_http_field(req->fields, req->nfields, name);
}

/*
 * Splits (head, len) into NUL-terminated lines in place, refusing a NUL, a
 * bare CR and a bare LF (both smuggling vectors when a proxy reads them
 * differently). *nlines lines start at lines[]; the final empty one is not
 * counted. Returns 0, MIRAGE_ENOSPC (more than cap lines) or MIRAGE_EINVAL.
 */
static int split_lines(char *head, size_t len, char **lines, size_t cap, size_t *nlines,
                       const char **err)
{
    struct mirage_rd r = mirage_rd_init(head, len);
    size_t start = 0, n = 0;

    while (mirage_rd_left(&r) > 0) {
        int ch = mirage_rd_u8(&r);
        if (ch == 0) {
            *err = "NUL byte in the head";
            return MIRAGE_EINVAL;
        }
        if (ch == '\n') {
            *err = "bare LF in the head";
            return MIRAGE_EINVAL;
        }
        if (ch != '\r')
            continue;
        if (!rd_char(&r, '\n')) {
            *err = "bare CR in the head";
            return MIRAGE_EINVAL;
        }
        head[r.off - 2] = 0;
        if (r.off - 2 == start) { /* the empty line */
            if (mirage_rd_left(&r) != 0) {
                *err = "bytes after the head's end";
                return MIRAGE_EINVAL;
            }
            *nlines = n;
            return 0;
        }
        if (n == cap) {
            *err = "too many header fields";
            return MIRAGE_ENOSPC;
        }
        lines[n++] = head + start;
        start = r.off;
    }
    *err = "the head does not end with an empty line";
    return MIRAGE_EINVAL;
}

/* field-vchar, SP and HTAB: what a field value may hold (obs-text included). */
static int is_field_char(int ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* One field line: name ":" OWS value OWS, split in place. */
static int parse_field(char *line, struct mirage_http_field *f, const char **err)
{
    struct mirage_rd r = rd_str(line);
    size_t name, value, vlen;

    if (is_ows(mirage_rd_peek(&r))) {
        *err = "obsolete line folding";
        return MIRAGE_EINVAL;
    }
    name = rd_span(&r, is_tchar);
    if (name == 0 || mirage_rd_peek(&r) != ':') {
        *err = name == 0                    ? "empty field name"
               : is_ows(mirage_rd_peek(&r)) ? "whitespace before a field's colon"
                                            : "bad character in a field name";
        return MIRAGE_EINVAL;
    }
    mirage_rd_skip(&r, 1);
    rd_span(&r, is_ows);
    value = r.off;
    vlen = rd_span(&r, is_field_char);
    if (mirage_rd_left(&r) != 0) {
        *err = "control character in a field value";
        return MIRAGE_EINVAL;
    }
    while (vlen > 0 && is_ows(line[value + vlen - 1]))
        vlen--;
    line[name] = 0;
    line[value + vlen] = 0;
    f->name = line;
    f->value = line + value;
    return 0;
}

/* Content-Length: 1*DIGIT, possibly as a list of equal values ("5, 5"). */
static int parse_length(const char *v, struct mirage_http_framing *fr, const char **err)
{
    struct mirage_rd r = rd_str(v);

    do {
        uint64_t n;
        rd_span(&r, is_ows);
        if (rd_number(&r, &n) != 0) {
            *err = mirage_rd_left(&r) && is_digit(mirage_rd_peek(&r)) ? "Content-Length too large"
                                                                      : "malformed Content-Length";
            return MIRAGE_EINVAL;
        }
        if (fr->has_length && fr->length != n) {
            *err = "conflicting Content-Length values";
            return MIRAGE_EINVAL;
        }
        fr->has_length = 1;
        fr->length = n;
        rd_span(&r, is_ows);
    } while (rd_char(&r, ','));
    if (mirage_rd_left(&r) != 0) {
        *err = "malformed Content-Length";
        return MIRAGE_EINVAL;
    }
    return 0;
}

static int not_comma(int ch)
{
    return ch != ',';
}

/* Calls fn for each element of a comma-separated list (empty ones skipped),
 * without its surrounding whitespace. Returns what fn returned first other
 * than 0. */
static int each_item(const char *v, int (*fn)(const char *item, size_t n, void *arg), void *arg)
{
    struct mirage_rd r = rd_str(v);

    while (mirage_rd_left(&r) > 0) {
        rd_span(&r, is_ows);
        size_t at = r.off, n = rd_span(&r, not_comma);
        while (n > 0 && is_ows(v[at + n - 1]))
            n--;
        if (n > 0) {
            int e = fn(v + at, n, arg);
            if (e != 0)
                return e;
        }
        rd_char(&r, ',');
    }
    return 0;
}

struct te_state {
    int codings, chunked_last, chunked_seen;
};

static int te_item(const char *item, size_t n, void *arg)
{
    struct te_state *st = arg;

    st->codings++;
    if (st->chunked_last)
        st->chunked_last = 0; /* chunked was not the final coding */
    if (ieqn(item, n, "chunked")) {
        if (st->chunked_seen)
            return 1;
        st->chunked_seen = 1;
        st->chunked_last = 1;
    }
    return 0;
}

struct conn_state {
    int close, keep_alive;
};

static int conn_item(const char *item, size_t n, void *arg)
{
    struct conn_state *st = arg;

    if (ieqn(item, n, "close"))
        st->close = 1;
    else if (ieqn(item, n, "keep-alive"))
        st->keep_alive = 1;
    return 0;
}

/*
 * The fields both kinds of message share: framing and Connection. Returns 0,
 * or an HTTP status (request) with *err set.
 */
static int parse_fields(char **lines, size_t n, struct mirage_http_field *fields, size_t *nfields,
                        int minor, struct mirage_http_framing *fr, const char **err)
{
    struct te_state te = {0, 0, 0};
    struct conn_state cs = {0, 0};
    int has_te = 0;

    memset(fr, 0, sizeof(*fr));
    for (size_t i = 0; i < n; i++) {
        struct mirage_http_field *f = &fields[i];
        if (parse_field(lines[i], f, err) != 0)
            return 400;
        if (ieq(f->name, "content-length")) {
            if (parse_length(f->value, fr, err) != 0)
                return 400;
        } else if (ieq(f->name, "transfer-encoding")) {
            has_te = 1;
            if (each_item(f->value, te_item, &te) != 0) {
                *err = "chunked applied twice";
                return 400;
            }
        } else if (ieq(f->name, "connection")) {
            each_item(f->value, conn_item, &cs);
        }
    }
    *nfields = n;
    if (has_te) {
        if (fr->has_length) {
            *err = "both Transfer-Encoding and Content-Length";
            return 400;
        }
        if (minor == 0) {
            *err = "Transfer-Encoding in an HTTP/1.0 message";
            return 400;
        }
        if (te.codings == 0 || !te.chunked_last) {
            *err = "Transfer-Encoding does not end with chunked";
            return 400;
        }
        if (te.codings > 1) {
            *err = "a transfer coding other than chunked";
            return 501;
        }
        fr->chunked = 1;
    }
    fr->close = cs.close || (minor == 0 && !cs.keep_alive);
    return 0;
}

static const struct {
    const char *name;
    enum mirage_http_method m;
} methods[] = {
    {"GET", MIRAGE_HTTP_GET},     {"HEAD", MIRAGE_HTTP_HEAD},     {"POST", MIRAGE_HTTP_POST},
    {"PUT", MIRAGE_HTTP_PUT},     {"DELETE", MIRAGE_HTTP_DELETE}, {"OPTIONS", MIRAGE_HTTP_OPTIONS},
    {"PATCH", MIRAGE_HTTP_PATCH},
};

/* "HTTP/" DIGIT "." DIGIT: returns 0 with major/minor or MIRAGE_EINVAL. */
static int parse_version(struct mirage_rd *r, int *major, int *minor)
{
    if (!rd_lit(r, "HTTP/") || (*major = rd_digits(r, 1)) < 0 || !rd_char(r, '.') ||
        (*minor = rd_digits(r, 1)) < 0)
        return MIRAGE_EINVAL;
    return 0;
}

static int not_path_end(int ch)
{
    return ch != '/' && ch != '?';
}

/* The target (NUL-terminated, in place): origin-form, absolute-form (its
 * authority becomes the host) or "*". */
static int parse_target(char *t, struct mirage_http_request *req, const char **err)
{
    struct mirage_rd r = rd_str(t);
    size_t n = mirage_rd_left(&r);

    if (rd_span(&r, is_vchar) != n) {
        *err = "bad character in the request target";
        return 400;
    }
    mirage_rd_seek(&r, 0);
    if (n >= 7 && (ieqn(t, 7, "http://") || (n >= 8 && ieqn(t, 8, "https://")))) {
        mirage_rd_seek(&r, t[4] == ':' ? 7 : 8);
        size_t auth = r.off, alen = rd_span(&r, not_path_end);
        if (alen == 0) {
            *err = "absolute target without a host";
            return 400;
        }
        /* The authority moves one byte left to make room for its NUL. */
        memmove(t + auth - 1, t + auth, alen);
        t[auth - 1 + alen] = 0;
        req->host = t + auth - 1; /* RFC 9112 3.2.2: the target's authority wins over Host */
        if (mirage_rd_peek(&r) != '/') {
            req->path = "/";
            if (rd_char(&r, '?'))
                req->query = t + r.off;
            return 0;
        }
        t += r.off;
    } else if (strcmp(t, "*") == 0) {
        if (req->method != MIRAGE_HTTP_OPTIONS) {
            *err = "'*' target with a method other than OPTIONS";
            return 400;
        }
        req->path = t;
        return 0;
    } else if (mirage_rd_peek(&r) != '/') {
        *err = "the request target is not a path";
        return 400;
    }
    char *q = strchr(t, '?');
    if (q != NULL) {
        *q = 0;
        req->query = q + 1;
    }
    req->path = t;
    return 0;
}

int mirage_http_parse_request(char *head, size_t len, size_t max_fields,
                              struct mirage_http_request *req, const char **err)
{
    char *lines[MIRAGE_HTTP_MAX_FIELDS + 1];
    size_t nlines = 0, method, target, tlen;
    struct mirage_rd r;
    int major, st;

    memset(req, 0, offsetof(struct mirage_http_request, fields));
    if (max_fields > MIRAGE_HTTP_MAX_FIELDS)
        max_fields = MIRAGE_HTTP_MAX_FIELDS;
    st = split_lines(head, len, lines, max_fields + 1, &nlines, err);
    if (st == MIRAGE_ENOSPC)
        return 431;
    if (st != 0)
        return 400;
    if (nlines == 0) {
        *err = "no request line";
        return 400;
    }
    /* request-line = method SP request-target SP HTTP-version */
    char *line = lines[0];
    r = rd_str(line);
    method = rd_span(&r, is_tchar);
    if (method == 0 || !rd_char(&r, ' ')) {
        *err = method == 0 ? "malformed method" : "malformed request line";
        return 400;
    }
    target = r.off;
    tlen = rd_span(&r, is_vchar);
    if (tlen == 0 || !rd_char(&r, ' ')) {
        *err = "malformed request line";
        return 400;
    }
    if (parse_version(&r, &major, &req->minor) != 0 || mirage_rd_left(&r) != 0) {
        *err = "malformed HTTP version";
        return 400;
    }
    if (major != 1) {
        *err = "HTTP major version other than 1";
        return 505;
    }
    if (req->minor > 1)
        req->minor = 1; /* a later 1.x is answered as 1.1 (RFC 9110 6.2) */
    line[method] = 0;
    line[target + tlen] = 0;
    req->method_name = line;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(line, methods[i].name) == 0)
            req->method = methods[i].m;
    if (req->method == 0) {
        *err = "method not implemented";
        return 501;
    }
    st = parse_target(line + target, req, err);
    if (st != 0)
        return st;
    st = parse_fields(lines + 1, nlines - 1, req->fields, &req->nfields, req->minor, &req->framing,
                      err);
    if (st != 0)
        return st;
    /* Host: exactly one in HTTP/1.1 (RFC 9112 3.2). */
    const char *host = NULL;
    int hosts = 0;
    for (size_t i = 0; i < req->nfields; i++) {
        if (ieq(req->fields[i].name, "host")) {
            host = req->fields[i].value;
            hosts++;
        } else if (ieq(req->fields[i].name, "expect")) {
            if (!ieq(req->fields[i].value, "100-continue")) {
                *err = "an expectation other than 100-continue";
                return 417;
            }
            req->expect_continue = req->minor >= 1;
        }
    }
    if (hosts > 1 || (hosts == 0 && req->minor >= 1)) {
        *err = hosts ? "more than one Host field" : "no Host field";
        return 400;
    }
    if (req->host == NULL)
        req->host = host;
    return 0;
}

int mirage_http_parse_response(char *head, size_t len, int request_method,
                               struct mirage_http_response_head *resp, const char **err)
{
    char *lines[MIRAGE_HTTP_MAX_FIELDS + 1];
    size_t nlines = 0;
    struct mirage_rd r;
    int major;

    memset(resp, 0, offsetof(struct mirage_http_response_head, fields));
    if (split_lines(head, len, lines, MIRAGE_HTTP_MAX_FIELDS + 1, &nlines, err) != 0)
        return MIRAGE_EINVAL;
    if (nlines == 0) {
        *err = "no status line";
        return MIRAGE_EINVAL;
    }
    /* status-line = HTTP-version SP status-code SP [reason-phrase] */
    r = rd_str(lines[0]);
    if (parse_version(&r, &major, &resp->minor) != 0 || major != 1 || !rd_char(&r, ' ')) {
        *err = "not an HTTP/1.x status line";
        return MIRAGE_EINVAL;
    }
    resp->status = rd_digits(&r, 3);
    if (resp->status < 100 || (mirage_rd_left(&r) && !rd_char(&r, ' '))) {
        *err = "malformed status code";
        return MIRAGE_EINVAL;
    }
    resp->reason = lines[0] + r.off;
    if (resp->minor > 1)
        resp->minor = 1;
    if (parse_fields(lines + 1, nlines - 1, resp->fields, &resp->nfields, resp->minor,
                     &resp->framing, err) != 0)
        return MIRAGE_EINVAL;
    if (request_method == MIRAGE_HTTP_HEAD || resp->status < 200 || resp->status == 204 ||
        resp->status == 304) {
        resp->framing.chunked = 0; /* no body, whatever the fields say (RFC 9112 6.3) */
        resp->framing.has_length = 1;
        resp->framing.length = 0;
    }
    return 0;
}

static int is_qdtext(int ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f);
}

int mirage_http_parse_chunk_size(const char *line, size_t len, uint64_t *size)
{
    struct mirage_rd r = mirage_rd_init(line, len);
    uint64_t n = 0;
    size_t digits = 0;

    while (is_hex(mirage_rd_peek(&r))) {
        if (++digits > 15)
            return MIRAGE_EINVAL; /* 2^60 and more: no body is that large */
        n = n << 4 | (uint64_t)mirage_hex_value(mirage_rd_u8(&r));
    }
    if (digits == 0)
        return MIRAGE_EINVAL;
    /* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ignored
     * but checked: a lenient reader here is a smuggling vector. */
    for (;;) {
        rd_span(&r, is_ows);
        if (mirage_rd_left(&r) == 0)
            break;
        if (!rd_char(&r, ';'))
            return MIRAGE_EINVAL;
        rd_span(&r, is_ows);
        if (rd_span(&r, is_tchar) == 0)
            return MIRAGE_EINVAL;
        struct mirage_rd t = r;
        rd_span(&t, is_ows);
        if (!rd_char(&t, '='))
            continue;
        r = t;
        rd_span(&r, is_ows);
        if (rd_char(&r, '"')) { /* quoted-string */
            for (;;) {
                rd_span(&r, is_qdtext);
                if (rd_char(&r, '"'))
                    break;
                if (!rd_char(&r, '\\') || !is_field_char(mirage_rd_peek(&r)))
                    return MIRAGE_EINVAL;
                mirage_rd_skip(&r, 1);
            }
        } else if (rd_span(&r, is_tchar) == 0) {
            return MIRAGE_EINVAL;
        }
    }
    *size = n;
    return 0;
}

/* ---- dates ---------------------------------------------------------------- */

static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), and back. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void mirage_http_date_format(uint64_t seconds, char out[30])
{
    int64_t y;
    unsigned m, d;
    uint64_t day = seconds / 86400, s = seconds % 86400;

    civil_from_days((int64_t)day, &y, &m, &d);
    if (y > 9999) { /* the format has four digits of year */
        y = 9999;
        m = 12;
        d = 31;
        s = 86399;
    }
    memcpy(out, days[day % 7], 3);
    out[3] = ',';
    out[4] = ' ';
    out[5] = (char)('0' + d / 10);
    out[6] = (char)('0' + d % 10);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    out[12] = (char)('0' + y / 1000);
    out[13] = (char)('0' + y / 100 % 10);
    out[14] = (char)('0' + y / 10 % 10);
    out[15] = (char)('0' + y % 10);
    out[16] = ' ';
    unsigned hh = (unsigned)(s / 3600), mm = (unsigned)(s / 60 % 60), ss = (unsigned)(s % 60);
    out[17] = (char)('0' + hh / 10);
    out[18] = (char)('0' + hh % 10);
    out[19] = ':';
    out[20] = (char)('0' + mm / 10);
    out[21] = (char)('0' + mm % 10);
    out[22] = ':';
    out[23] = (char)('0' + ss / 10);
    out[24] = (char)('0' + ss % 10);
    memcpy(out + 25, " GMT", 5);
}

/* A month's three letters: 1..12, or 0 (the reader is then bad). */
static int rd_month(struct mirage_rd *r)
{
    const uint8_t *v = mirage_rd_take(r, 3);

    for (int i = 0; v && i < 12; i++)
        if (memcmp(v, months[i], 3) == 0)
            return i + 1;
    mirage_rd_fail(r);
    return 0;
}

/* "HH:MM:SS" as seconds of the day, or -1. */
static int rd_clock(struct mirage_rd *r)
{
    int h = rd_digits(r, 2), m = rd_char(r, ':') ? rd_digits(r, 2) : -1,
        s = rd_char(r, ':') ? rd_digits(r, 2) : -1;

    if (h < 0 || m < 0 || s < 0 || h > 23 || m > 59 || s > 60)
        return -1;
    return h * 3600 + m * 60 + s;
}

static int is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int mirage_http_date_parse(const char *s, uint64_t *seconds)
{
    struct mirage_rd r = rd_str(s);
    int d = -1, m = 0, y = -1, hms = -1;
    size_t day = rd_span(&r, is_alpha);

    if (day == 3 && rd_lit(&r, ", ")) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        d = rd_digits(&r, 2);
        if (rd_char(&r, ' ') && (m = rd_month(&r)) && rd_char(&r, ' ') &&
            (y = rd_digits(&r, 4)) >= 0 && rd_char(&r, ' '))
            hms = rd_clock(&r);
    } else if (day > 3 && rd_lit(&r, ", ")) { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        d = rd_digits(&r, 2);
        if (rd_char(&r, '-') && (m = rd_month(&r)) && rd_char(&r, '-') &&
            (y = rd_digits(&r, 2)) >= 0 && rd_char(&r, ' '))
            hms = rd_clock(&r);
        y += y < 70 ? 2000 : 1900; /* RFC 9110 5.6.7: 50 years ahead at most, near enough */
    } else if (day == 3 && rd_char(&r, ' ')) { /* asctime: Sun Nov  6 08:49:37 1994 */
        if ((m = rd_month(&r)) && rd_char(&r, ' ')) {
            d = rd_char(&r, ' ') ? rd_digits(&r, 1) : rd_digits(&r, 2);
            if (rd_char(&r, ' ') && (hms = rd_clock(&r)) >= 0 && rd_char(&r, ' '))
                y = rd_digits(&r, 4);
        }
        if (y >= 0 && mirage_rd_left(&r) == 0 && !r.bad)
            goto check;
        return MIRAGE_EINVAL;
    } else {
        return MIRAGE_EINVAL;
    }
    if (hms < 0 || !rd_lit(&r, " GMT") || mirage_rd_left(&r) != 0)
        return MIRAGE_EINVAL;
check:
    if (d < 1 || d > 31 || m < 1 || y < 1970 || hms < 0 || r.bad)
        return MIRAGE_EINVAL;
    *seconds = (uint64_t)days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + (uint64_t)hms;
    return 0;
}

/* ---- ranges ---------------------------------------------------------------- */

int mirage_http_range_parse(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
    struct mirage_rd r = rd_str(v);
    uint64_t a, b = UINT64_MAX;

    if (mirage_rd_left(&r) < 6 || !ieqn(v, 6, "bytes="))
        return 1;
    mirage_rd_skip(&r, 6);
    rd_span(&r, is_ows);
    if (strchr(v, ',') != NULL)
        return 1;           /* several ranges: the whole representation instead */
    if (rd_char(&r, '-')) { /* suffix: the last N bytes */
        if (rd_number(&r, &b) < 0 || (rd_span(&r, is_ows), mirage_rd_left(&r) != 0))
            return 1;
        if (b == 0 || size == 0)
            return MIRAGE_ERANGE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 0;
    }
    if (rd_number(&r, &a) < 0 || !rd_char(&r, '-'))
        return 1;
    if (is_digit(mirage_rd_peek(&r)) && (rd_number(&r, &b) < 0 || b < a))
        return 1;
    rd_span(&r, is_ows);
    if (mirage_rd_left(&r) != 0)
        return 1;
    if (a >= size)
        return MIRAGE_ERANGE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 0;
}

const char *mirage_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
