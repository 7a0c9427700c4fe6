/* unikernel.c: serves every file of a read-only key-value store over HTTP/1.1 (MirageOS's static_website). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/http.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"

#define CHUNK 16384 /* bytes read from the store per write */

struct site {
    struct mirage_kv *kv;
    const char *scheme; /* "http" or "https" */
    uint16_t port;
};

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

static const char *content_type(const char *key)
{
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');

    if (dot != NULL && (slash == NULL || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The request path, percent-decoded, as a store key. Returns 0 or -1 (a bad
 * escape, a NUL, too long). */
static int path_key(const char *path, char *key, size_t size)
{
    size_t n = 0;

    for (const char *p = path; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (lo < 0)
                return -1;
            c = hi << 4 | lo;
            p += 2;
        }
        if (c == 0 || n + 1 >= size)
            return -1;
        key[n++] = (char)c;
    }
    key[n] = 0;
    return 0;
}

static int text(struct mirage_http_exchange *x, int status, const char *msg)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, mirage_http_reason(status),
                     msg ? ": " : "", msg ? msg : "");
    return mirage_http_respond(x, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* A permanent redirect to (path) on this site. */
static int redirect(struct mirage_http_exchange *x, const struct site *site, const char *path,
                    const char *query)
{
    char loc[2048];

    (void)site;
    if (snprintf(loc, sizeof(loc), "%s%s%s", path, query ? "?" : "", query ? query : "") >=
        (int)sizeof(loc))
        return text(x, 414, NULL);
    mirage_http_add_header(x, "Location", loc);
    return text(x, 301, loc);
}

/* Whether If-None-Match (a list of entity tags, or "*") names (etag); weak
 * comparison, as RFC 9110 13.1.2 asks for GET and HEAD. */
static int etag_matches(const char *inm, const char *etag)
{
    const char *p = inm;
    size_t elen = strlen(etag);

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *e = p;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (q == NULL)
                return 0;
            e = q + 1;
        } else {
            while (*e && *e != ',')
                e++;
        }
        if ((size_t)(e - p) == elen && memcmp(p, etag, elen) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static int serve(void *ctx, struct mirage_http_exchange *x)
{
    struct site *site = ctx;
    const struct mirage_http_request *req = mirage_http_exchange_request(x);
    enum mirage_kv_kind kind;
    char key[MIRAGE_KV_KEY_MAX + 16], etag[64], lm[30];
    uint64_t size, mtime, first = 0, last = 0;
    int status = 200, r;
    const char *v;

    if (req->method == MIRAGE_HTTP_OPTIONS) {
        mirage_http_add_header(x, "Allow", "GET, HEAD, OPTIONS");
        return mirage_http_respond(x, 204, NULL, NULL, 0);
    }
    if (req->method != MIRAGE_HTTP_GET && req->method != MIRAGE_HTTP_HEAD) {
        mirage_http_add_header(x, "Allow", "GET, HEAD, OPTIONS");
        return text(x, 405, NULL);
    }
    if (path_key(req->path, key, MIRAGE_KV_KEY_MAX) != 0)
        return text(x, 400, "bad path");
    r = mirage_kv_exists(site->kv, key, &kind, NULL);
    if (r == MIRAGE_EINVAL || r == MIRAGE_ENAMETOOLONG)
        return text(x, 400, "bad path");
    if (r == 0 && kind == MIRAGE_KV_DICTIONARY) {
        size_t n = strlen(key);
        if (n == 0 || key[n - 1] != '/') {
            char path[MIRAGE_KV_KEY_MAX + 2];
            snprintf(path, sizeof(path), "%s/", req->path);
            return redirect(x, site, path, req->query);
        }
        strcat(key, "index.html");
        r = mirage_kv_exists(site->kv, key, &kind, NULL);
    }
    if (r != 0 || kind != MIRAGE_KV_VALUE) {
        const char *fb = key_fallback.v.str;
        if (fb[0] == 0 || mirage_kv_exists(site->kv, fb, &kind, NULL) != 0 ||
            kind != MIRAGE_KV_VALUE)
            return text(x, 404, NULL);
        snprintf(key, sizeof(key), "%s", fb);
        status = 404;
    }
    if (mirage_kv_size(site->kv, key, &size, NULL) != 0 ||
        mirage_kv_last_modified(site->kv, key, &mtime, NULL) != 0)
        return text(x, 500, "the store failed");
    /* As nginx: the tag is the modification time and the size. */
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)(mtime / 1000000000u),
             (unsigned long long)size);
    mirage_http_date_format(mtime / 1000000000u, lm);
    if (status == 200) {
        mirage_http_add_header(x, "ETag", etag);
        mirage_http_add_header(x, "Last-Modified", lm);
        mirage_http_add_header(x, "Accept-Ranges", "bytes");
        uint64_t since;
        if ((v = mirage_http_request_field(req, "If-None-Match")) != NULL) {
            if (etag_matches(v, etag))
                return mirage_http_respond(x, 304, NULL, NULL, 0);
        } else if ((v = mirage_http_request_field(req, "If-Modified-Since")) != NULL &&
                   mirage_http_date_parse(v, &since) == 0 && mtime / 1000000000u <= since) {
            return mirage_http_respond(x, 304, NULL, NULL, 0);
        }
        v = mirage_http_request_field(req, "Range");
        const char *ifr = mirage_http_request_field(req, "If-Range");
        if (v != NULL && req->method == MIRAGE_HTTP_GET &&
            (ifr == NULL || strcmp(ifr, etag) == 0 || strcmp(ifr, lm) == 0)) {
            r = mirage_http_range_parse(v, size, &first, &last);
            char cr[80];
            if (r == MIRAGE_ERANGE) {
                snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
                mirage_http_add_header(x, "Content-Range", cr);
                return text(x, 416, NULL);
            }
            if (r == 0) {
                status = 206;
                snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                         (unsigned long long)last, (unsigned long long)size);
                mirage_http_add_header(x, "Content-Range", cr);
            }
        }
    }
    if (status != 206) {
        first = 0;
        last = size - 1;
    }
    uint64_t len = size == 0 ? 0 : last - first + 1;
    mirage_http_add_header(x, "Content-Type", content_type(key));
    r = mirage_http_start(x, status, (int64_t)len);
    if (r != 0 || req->method == MIRAGE_HTTP_HEAD)
        return r;
    uint8_t *buf = malloc(len < CHUNK ? (size_t)len + 1 : CHUNK);
    if (buf == NULL)
        return MIRAGE_ENOMEM;
    for (uint64_t off = first; r == 0 && off < first + len;) {
        size_t want = first + len - off < CHUNK ? (size_t)(first + len - off) : CHUNK, got = 0;
        r = mirage_kv_get_partial(site->kv, key, off, buf, want, &got, NULL);
        if (r == 0 && got == 0)
            r = MIRAGE_EIO; /* the value shrank under us */
        if (r == 0)
            r = mirage_http_write(x, buf, got);
        off += got;
    }
    free(buf);
    return r;
}

struct listener {
    struct mirage_http_server *server;
    struct mirage_tcp_listener *l;
};

static int run_listener(void *arg)
{
    struct listener *li = arg;
    int r = mirage_http_serve(li->server, li->l, NULL, NULL);

    mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
    return 1;
}

int start(struct mirage_stack *stack, struct mirage_kv *htdocs)
{
    static struct site http_site;
    static struct listener http;
    struct mirage_http_server_config cfg = {0};
    struct mirage_ipaddr addr[4];
    size_t naddr = mirage_stack_ip_addresses(stack, addr, 4);
    char where[32] = "(no address yet)";
    int r;

    cfg.workers = (unsigned)key_workers.v.num;
    cfg.idle_timeout = (uint64_t)key_idle_timeout.v.num * 1000000000u;
    http_site.kv = htdocs;
    http_site.scheme = "http";
    http_site.port = (uint16_t)key_http_port.v.num;
    http.server = mirage_http_server_new(&cfg, serve, &http_site);
    if (http.server == NULL)
        return 1;
    r = mirage_tcp_listen(stack, http_site.port, NULL, &http.l);
    if (r != 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", http_site.port,
                       mirage_strerror(r));
        return 1;
    }
    if (naddr > 0)
        snprintf(where, sizeof(where), "%u.%u.%u.%u:%u", addr[0].a[0], addr[0].a[1],
                 addr[0].a[2], addr[0].a[3], http_site.port);
    mirage_log_app_msg(&mirage_log_app, "serving http://%s/", where);
    return run_listener(&http);
}
