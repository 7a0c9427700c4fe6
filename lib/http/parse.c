/* parse.c: HTTP/1.1 message heads, chunk sizes, dates and ranges, parsed strictly (RFC 9110, 9112).
 */
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"

/* tchar (RFC 9110 5.6.2): the characters of a token. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
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

size_t mirage_http_head_end(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
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
 * counted. Returns 0 or MIRAGE_EINVAL.
 */
static int split_lines(char *head, size_t len, char **lines, size_t cap, size_t *nlines,
                       const char **err)
{
    size_t start = 0, n = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = head[i];
        if (ch == 0) {
            *err = "NUL byte in the head";
            return MIRAGE_EINVAL;
        }
        if (ch == '\r' && (i + 1 >= len || head[i + 1] != '\n')) {
            *err = "bare CR in the head";
            return MIRAGE_EINVAL;
        }
        if (ch != '\n')
            continue;
        if (i == 0 || head[i - 1] != '\r') {
            *err = "bare LF in the head";
            return MIRAGE_EINVAL;
        }
        head[i - 1] = 0;
        if (i - 1 == start) { /* the empty line */
            if (i + 1 != len) {
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
        start = i + 1;
    }
    *err = "the head does not end with an empty line";
    return MIRAGE_EINVAL;
}

/* One field line: name ":" OWS value OWS. */
static int parse_field(char *line, struct mirage_http_field *f, const char **err)
{
    char *p = line, *v, *end;

    if (*p == ' ' || *p == '\t') {
        *err = "obsolete line folding";
        return MIRAGE_EINVAL;
    }
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == line || *p != ':') {
        *err = p == line                   ? "empty field name"
               : (*p == ' ' || *p == '\t') ? "whitespace before a field's colon"
                                           : "bad character in a field name";
        return MIRAGE_EINVAL;
    }
    *p++ = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    v = p;
    for (end = p; *end; end++) {
        unsigned char ch = (unsigned char)*end;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            *err = "control character in a field value";
            return MIRAGE_EINVAL;
        }
    }
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = 0;
    f->name = line;
    f->value = v;
    return 0;
}

/* Content-Length: 1*DIGIT, possibly as a list of equal values ("5, 5"). */
static int parse_length(const char *v, struct mirage_http_framing *fr, const char **err)
{
    while (*v) {
        uint64_t n = 0;
        const char *d = v;
        while (*v >= '0' && *v <= '9') {
            if (n > (UINT64_MAX - 9) / 10) {
                *err = "Content-Length too large";
                return MIRAGE_EINVAL;
            }
            n = n * 10 + (uint64_t)(*v++ - '0');
        }
        if (v == d) {
            *err = "malformed Content-Length";
            return MIRAGE_EINVAL;
        }
        if (fr->has_length && fr->length != n) {
            *err = "conflicting Content-Length values";
            return MIRAGE_EINVAL;
        }
        fr->has_length = 1;
        fr->length = n;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == ',') {
            v++;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == 0) {
                *err = "malformed Content-Length";
                return MIRAGE_EINVAL;
            }
        } else if (*v) {
            *err = "malformed Content-Length";
            return MIRAGE_EINVAL;
        }
    }
    return 0;
}

/* Calls fn for each element of a comma-separated list (empty ones skipped).
 * Returns what fn returned first other than 0. */
static int each_item(const char *v, int (*fn)(const char *item, size_t n, void *arg), void *arg)
{
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *s = v;
        while (*v && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            int r = fn(s, (size_t)(e - s), arg);
            if (r != 0)
                return r;
        }
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
static int parse_version(const char *v, int *major, int *minor)
{
    if (strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
        v[7] > '9' || v[8] != 0)
        return MIRAGE_EINVAL;
    *major = v[5] - '0';
    *minor = v[7] - '0';
    return 0;
}

/* The target: origin-form, absolute-form (its authority becomes the host) or "*". */
static int parse_target(char *t, struct mirage_http_request *req, const char **err)
{
    for (char *p = t; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            *err = "bad character in the request target";
            return 400;
        }
    }
    if (ieqn(t, 7, "http://") || ieqn(t, 8, "https://")) {
        char *auth = strstr(t, "://") + 3;
        char *slash = auth + strcspn(auth, "/?");
        if (slash == auth) {
            *err = "absolute target without a host";
            return 400;
        }
        req->host = auth; /* RFC 9112 3.2.2: the target's authority wins over Host */
        if (*slash == '/') {
            memmove(auth - 1, auth, (size_t)(slash - auth));
            slash[-1] = 0;
            req->host = auth - 1;
            t = slash;
        } else { /* "http://h" or "http://h?q": the path is "/" */
            size_t alen = (size_t)(slash - auth);
            memmove(auth - 1, auth, alen);
            auth[alen - 1] = 0;
            req->host = auth - 1;
            if (*slash == '?') {
                req->path = "/";
                req->query = slash + 1;
                return 0;
            }
            req->path = "/";
            return 0;
        }
    } else if (strcmp(t, "*") == 0) {
        if (req->method != MIRAGE_HTTP_OPTIONS) {
            *err = "'*' target with a method other than OPTIONS";
            return 400;
        }
        req->path = t;
        return 0;
    } else if (t[0] != '/') {
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
    size_t nlines = 0;
    int major, r;
    char *method, *target, *version, *sp;

    memset(req, 0, offsetof(struct mirage_http_request, fields));
    if (max_fields > MIRAGE_HTTP_MAX_FIELDS)
        max_fields = MIRAGE_HTTP_MAX_FIELDS;
    r = split_lines(head, len, lines, max_fields + 1, &nlines, err);
    if (r == MIRAGE_ENOSPC)
        return 431;
    if (r != 0)
        return 400;
    if (nlines == 0) {
        *err = "no request line";
        return 400;
    }
    /* request-line = method SP request-target SP HTTP-version */
    method = lines[0];
    sp = strchr(method, ' ');
    if (sp == NULL) {
        *err = "malformed request line";
        return 400;
    }
    *sp = 0;
    target = sp + 1;
    sp = strchr(target, ' ');
    if (sp == NULL || sp == target) {
        *err = "malformed request line";
        return 400;
    }
    *sp = 0;
    version = sp + 1;
    for (char *p = method; *p; p++)
        if (!is_tchar((unsigned char)*p))
            break;
        else if (p[1] == 0)
            goto method_ok;
    *err = "malformed method";
    return 400;
method_ok:
    if (parse_version(version, &major, &req->minor) != 0) {
        *err = "malformed HTTP version";
        return 400;
    }
    if (major != 1) {
        *err = "HTTP major version other than 1";
        return 505;
    }
    if (req->minor > 1)
        req->minor = 1; /* a later 1.x is answered as 1.1 (RFC 9110 6.2) */
    req->method_name = method;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(method, methods[i].name) == 0)
            req->method = methods[i].m;
    if (req->method == 0) {
        *err = "method not implemented";
        return 501;
    }
    r = parse_target(target, req, err);
    if (r != 0)
        return r;
    r = parse_fields(lines + 1, nlines - 1, req->fields, &req->nfields, req->minor, &req->framing,
                     err);
    if (r != 0)
        return r;
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
    int major, r;
    char *p;

    memset(resp, 0, offsetof(struct mirage_http_response_head, fields));
    r = split_lines(head, len, lines, MIRAGE_HTTP_MAX_FIELDS + 1, &nlines, err);
    if (r != 0)
        return MIRAGE_EINVAL;
    if (nlines == 0) {
        *err = "no status line";
        return MIRAGE_EINVAL;
    }
    /* status-line = HTTP-version SP status-code SP [reason-phrase] */
    p = lines[0];
    if (strlen(p) < 12 || p[8] != ' ' || p[12] != (p[12] ? ' ' : 0)) {
        *err = "malformed status line";
        return MIRAGE_EINVAL;
    }
    p[8] = 0;
    if (parse_version(p, &major, &resp->minor) != 0 || major != 1) {
        *err = "not an HTTP/1.x response";
        return MIRAGE_EINVAL;
    }
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') {
            *err = "malformed status code";
            return MIRAGE_EINVAL;
        }
        resp->status = resp->status * 10 + (p[i] - '0');
    }
    if (resp->status < 100) {
        *err = "malformed status code";
        return MIRAGE_EINVAL;
    }
    resp->reason = p[12] ? p + 13 : "";
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

int mirage_http_parse_chunk_size(const char *line, size_t len, uint64_t *size)
{
    uint64_t n = 0;
    size_t i = 0;

    for (; i < len; i++) {
        char ch = line[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        if (i >= 15)
            return MIRAGE_EINVAL; /* 2^60 and more: no body is that large */
        n = n << 4 | (uint64_t)d;
    }
    if (i == 0)
        return MIRAGE_EINVAL;
    /* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ignored
     * but checked: a lenient reader here is a smuggling vector. */
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        if (line[i++] != ';')
            return MIRAGE_EINVAL;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        size_t name = i;
        while (i < len && is_tchar((unsigned char)line[i]))
            i++;
        if (i == name)
            return MIRAGE_EINVAL;
        size_t j = i;
        while (j < len && (line[j] == ' ' || line[j] == '\t'))
            j++;
        if (j == len || line[j] != '=')
            continue;
        i = j + 1;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i < len && line[i] == '"') { /* quoted-string */
            for (i++; i < len && line[i] != '"'; i++) {
                unsigned char ch = (unsigned char)line[i];
                if (ch == '\\' && i + 1 < len)
                    ch = (unsigned char)line[++i];
                if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                    return MIRAGE_EINVAL;
            }
            if (i++ >= len)
                return MIRAGE_EINVAL;
        } else {
            size_t val = i;
            while (i < len && is_tchar((unsigned char)line[i]))
                i++;
            if (i == val)
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

/* (n) digits at *p as a number, moving past them; -1 if they are not all digits. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    return v;
}

static int month_of(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (strncmp(p, months[i], 3) == 0)
            return i + 1;
    return 0;
}

static int lit(const char **p, const char *s)
{
    size_t n = strlen(s);

    if (strncmp(*p, s, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* "HH:MM:SS" */
static int clock_of(const char **p, int *hms)
{
    int h = digits(p, 2), m, s;

    if (h < 0 || !lit(p, ":") || (m = digits(p, 2)) < 0 || !lit(p, ":") || (s = digits(p, 2)) < 0)
        return -1;
    if (h > 23 || m > 59 || s > 60)
        return -1;
    *hms = h * 3600 + m * 60 + s;
    return 0;
}

int mirage_http_date_parse(const char *s, uint64_t *seconds)
{
    const char *p = s;
    int d, m, y, hms;
    const char *comma = strchr(s, ',');

    if (comma != NULL && comma - s == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        p = s + 4;
        if (!lit(&p, " ") || (d = digits(&p, 2)) < 0 || !lit(&p, " ") || !(m = month_of(p)))
            return MIRAGE_EINVAL;
        p += 3;
        if (!lit(&p, " ") || (y = digits(&p, 4)) < 0 || !lit(&p, " ") || clock_of(&p, &hms) < 0 ||
            !lit(&p, " GMT") || *p)
            return MIRAGE_EINVAL;
    } else if (comma != NULL) { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        p = comma + 1;
        if (!lit(&p, " ") || (d = digits(&p, 2)) < 0 || !lit(&p, "-") || !(m = month_of(p)))
            return MIRAGE_EINVAL;
        p += 3;
        if (!lit(&p, "-") || (y = digits(&p, 2)) < 0 || !lit(&p, " ") || clock_of(&p, &hms) < 0 ||
            !lit(&p, " GMT") || *p)
            return MIRAGE_EINVAL;
        y += y < 70 ? 2000 : 1900; /* RFC 9110 5.6.7: 50 years ahead at most, near enough */
    } else {                       /* asctime: Sun Nov  6 08:49:37 1994 */
        if (strlen(s) != 24 || s[3] != ' ' || !(m = month_of(s + 4)) || s[7] != ' ')
            return MIRAGE_EINVAL;
        p = s + 8;
        if (*p == ' ')
            p++, d = digits(&p, 1);
        else
            d = digits(&p, 2);
        if (d < 0 || !lit(&p, " ") || clock_of(&p, &hms) < 0 || !lit(&p, " ") ||
            (y = digits(&p, 4)) < 0 || *p)
            return MIRAGE_EINVAL;
    }
    if (d < 1 || d > 31 || y < 1970)
        return MIRAGE_EINVAL;
    *seconds = (uint64_t)days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + (uint64_t)hms;
    return 0;
}

/* ---- ranges ---------------------------------------------------------------- */

/* A decimal number at *p (moving past it); -1 if none or too large. */
static int number(const char **p, uint64_t *v)
{
    const char *s = *p;

    *v = 0;
    while (**p >= '0' && **p <= '9') {
        if (*v > (UINT64_MAX - 9) / 10)
            return -1;
        *v = *v * 10 + (uint64_t)(*(*p)++ - '0');
    }
    return *p == s ? -1 : 0;
}

int mirage_http_range_parse(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p = v;
    uint64_t a, b;

    if (!ieqn(v, 6, "bytes="))
        return 1;
    p = v + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strchr(p, ',') != NULL)
        return 1;    /* several ranges: the whole representation instead */
    if (*p == '-') { /* suffix: the last N bytes */
        p++;
        if (number(&p, &b) < 0)
            return 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p)
            return 1;
        if (b == 0 || size == 0)
            return MIRAGE_ERANGE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 0;
    }
    if (number(&p, &a) < 0 || *p++ != '-')
        return 1;
    if (*p >= '0' && *p <= '9') {
        if (number(&p, &b) < 0 || b < a)
            return 1;
    } else {
        b = UINT64_MAX;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
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
