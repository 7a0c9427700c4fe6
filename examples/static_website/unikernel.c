/* unikernel.c: serves every file of a read-only key-value store over HTTP/1.1 (MirageOS's
 * static_website). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/block.h"
#include "mirage/http.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"
#include "mirage/time.h"
#include "mirage/tls.h"
#include "site.h"

#define CHUNK 16384 /* bytes read from the store per write */

struct site {
    struct mirage_kv *kv;
    int redirect_to_https; /* the HTTP side of a site with --https-redirect */
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

/* Whether (a) and (b) are equal but for ASCII case. */
static int same_word(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if ((*a | 0x20) != (*b | 0x20))
            return 0;
    return *a == *b;
}

static const char *content_type(const char *key)
{
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');

    if (dot != NULL && (slash == NULL || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (same_word(dot + 1, types[i].ext))
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

    if (site->redirect_to_https) {
        char loc[2048], host[300];
        const char *h = req->host ? req->host : key_hostname.v.str;
        size_t hl = strcspn(h, ":"); /* the HTTP port goes, the HTTPS one comes */
        if (key_https_port.v.num == 443)
            snprintf(host, sizeof(host), "%.*s", (int)hl, h);
        else
            snprintf(host, sizeof(host), "%.*s:%lld", (int)hl, h, (long long)key_https_port.v.num);
        if (snprintf(loc, sizeof(loc), "https://%s%s%s%s", host, req->path, req->query ? "?" : "",
                     req->query ? req->query : "") >= (int)sizeof(loc))
            return text(x, 414, NULL);
        mirage_http_add_header(x, "Location", loc);
        return text(x, 308, loc);
    }
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
    struct mirage_tls_server *tls; /* NULL: plain HTTP */
    uint16_t port;
};

/* Each accepted connection of the HTTPS listener becomes a TLS flow. */
static struct mirage_flow *tls_wrap(void *ctx, struct mirage_flow *tcp)
{
    struct listener *li = ctx;
    struct mirage_flow *f;

    if (mirage_tls_server_flow(li->tls, tcp, &f) != 0) {
        mirage_flow_close(tcp);
        return NULL;
    }
    return f;
}

static int run_listener(void *arg)
{
    struct listener *li = arg;
    int r = mirage_http_serve(li->server, li->l, li->tls ? tls_wrap : NULL, li);

    mirage_log_err(&mirage_log_app, "accept on port %u: %s", li->port, mirage_strerror(r));
    return 1;
}

/* The certificates of the tar image on (dev) (HOST/cert.pem and key.pem): into *out, or, with
 * (tls), served by it from now on. */
static int certs_from_image(struct mirage_block *dev, struct mirage_tls_server *tls,
                            struct mirage_tls_certs **out)
{
    struct mirage_kv *kv;
    char msg[256];
    int r = mirage_kv_tar_connect(dev, &kv, msg, sizeof(msg));

    if (r != 0) {
        mirage_log_err(&mirage_log_app, "certificates: block device '%s': %s", dev->name,
                       r == MIRAGE_EBADMSG ? msg : mirage_strerror(r));
        return r;
    }
    r = tls ? mirage_tls_server_reload(tls, kv, "/") : mirage_tls_certs_from_kv(kv, "/", out);
    mirage_kv_disconnect(kv);
    return r;
}

/* The TLS configuration from the certificate store (or image): HOST/cert.pem and key.pem,
 * chosen by SNI, "default" for other names. */
static int tls_from_store(struct mirage_kv *store, struct mirage_block *dev,
                          struct mirage_tls_server **out)
{
    static const char *const alpn[] = {"http/1.1"};
    struct mirage_tls_opts opts = {0};
    struct mirage_tls_certs *certs;
    int r =
        store ? mirage_tls_certs_from_kv(store, "/", &certs) : certs_from_image(dev, NULL, &certs);

    if (r != 0)
        return r;
    opts.alpn = alpn;
    opts.n_alpn = 1;
    return mirage_tls_server_new(&opts, certs, out);
}

#define IMAGE_MAX (1u << 20) /* the largest certificate image watched for changes */

/* Reloads the certificates from the tls device on SIGHUP (unix) and when its bytes change. */
struct reloader {
    struct mirage_tls_server *tls;
    struct mirage_block *dev;
    uint8_t *seen; /* the image the served certificates came from, or NULL */
    size_t len;
};

/* The device's bytes in a new buffer, or NULL (too large: not watched; or unreadable). */
static uint8_t *image_read(struct mirage_block *dev, size_t *len)
{
    uint64_t n = mirage_block_bytes(dev);
    uint8_t *buf = n <= IMAGE_MAX ? malloc(n ? (size_t)n : 1) : NULL;

    if (buf != NULL && mirage_block_read(dev, 0, buf, (size_t)n) != 0) {
        free(buf);
        buf = NULL;
    }
    *len = (size_t)n;
    return buf;
}

static void reload(struct reloader *rl, const char *why)
{
    size_t len;
    uint8_t *now = image_read(rl->dev, &len);
    int r = certs_from_image(rl->dev, rl->tls, NULL);

    if (r == 0) {
        mirage_log_app_msg(&mirage_log_app, "certificates reloaded from block device '%s' (%s)",
                           rl->dev->name, why);
        free(rl->seen);
        rl->seen = now;
        rl->len = len;
    } else {
        /* A torn or bad image: the old certificates stay, and the next check tries again. */
        mirage_log_err(&mirage_log_app, "certificates not reloaded (%s): %s; the old ones stay",
                       why, mirage_strerror(r));
        free(now);
    }
}

static int reload_main(void *arg)
{
    struct reloader *rl = arg;
    int signals = site_reload_signals();
    uint64_t period = (uint64_t)key_reload_check.v.num * 1000000000u;
    uint64_t tick = signals ? 250000000u : period, next = mirage_clock_monotonic() + period;

    if (tick == 0)
        return 0; /* no signal and no checks: nothing to wait for */
    if (period != 0 && rl->seen == NULL)
        mirage_log_warn(&mirage_log_app, "block device '%s': over %u bytes, not watched",
                        rl->dev->name, IMAGE_MAX);
    for (;;) {
        if (mirage_sleep_ns(tick) != 0)
            return 0;
        if (signals && site_reload_requested())
            reload(rl, "SIGHUP");
        if (period != 0 && rl->seen != NULL && mirage_clock_monotonic() >= next) {
            size_t len;
            uint8_t *now = image_read(rl->dev, &len);
            if (now != NULL && (len != rl->len || memcmp(now, rl->seen, len) != 0))
                reload(rl, "its bytes changed");
            free(now);
            next = mirage_clock_monotonic() + period;
        }
    }
}

/* Listens on both families; the log says every URL it answers at (IPv6 ones
 * still in duplicate address detection are not there yet). */
static int listen_on(struct mirage_stack *stack, struct listener *li, const char *scheme)
{
    int r = mirage_tcp_listen(stack, li->port, NULL, &li->l);
    char prefix[16], urls[4 * 64];

    if (r != 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", li->port,
                       mirage_strerror(r));
        return r;
    }
    snprintf(prefix, sizeof(prefix), "%s://", scheme);
    if (mirage_stack_format_addresses(stack, li->port, prefix, "/", urls, sizeof(urls))[0])
        mirage_log_app_msg(&mirage_log_app, "serving %s", urls);
    else
        mirage_log_app_msg(&mirage_log_app, "serving %s on port %u", scheme, li->port);
    return 0;
}

/* --stats=N: a line every N seconds, for sizing --mem (bench/http.sh reads it). */
static int stats_main(void *arg)
{
    struct listener *li = arg;

    for (;;) {
        struct mirage_http_server_stats a, b = {0};
        if (mirage_sleep_ns((uint64_t)key_stats.v.num * 1000000000u) != 0)
            return 0;
        mirage_http_server_stats(li[0].server, &a);
        if (li[1].server)
            mirage_http_server_stats(li[1].server, &b);
        mirage_log_app_msg(&mirage_log_app,
                           "stats: connections %llu (parked %llu), workers %llu, requests %llu, "
                           "heap %zu bytes",
                           (unsigned long long)(a.conns + b.conns),
                           (unsigned long long)(a.parked + b.parked),
                           (unsigned long long)(a.workers + b.workers),
                           (unsigned long long)(a.requests + b.requests), site_heap_used());
    }
}

int site_main(struct mirage_stack *stack, struct mirage_kv *htdocs, struct mirage_kv *certs,
              struct mirage_block *certs_dev)
{
    static struct site plain_site, tls_site;
    static struct listener li[2]; /* HTTP, HTTPS */
    struct listener *const http = &li[0], *const https = &li[1];
    struct mirage_http_server_config cfg = {0};
    struct mirage_fiber *f[2];
    size_t nf = 0;

    cfg.workers = (unsigned)key_workers.v.num;
    cfg.idle_timeout = (uint64_t)key_idle_timeout.v.num * 1000000000u;
    plain_site.kv = htdocs;
    tls_site.kv = htdocs;
    plain_site.redirect_to_https = key_tls.v.flag && key_https_redirect.v.flag;
    http->port = (uint16_t)key_http_port.v.num;
    http->server = mirage_http_server_new(&cfg, serve, &plain_site);
    if (http->server == NULL || listen_on(stack, http, "http") != 0)
        return 1;
    f[nf++] = mirage_fiber_spawn("http-accept", run_listener, http, 0);
    if (key_tls.v.flag) {
        static struct reloader rl;
        size_t len = 0;
        /* The image read before the certificates: a change in between is seen by the check. */
        rl.seen = certs_dev ? image_read(certs_dev, &len) : NULL;
        rl.len = len;
        int r = tls_from_store(certs, certs_dev, &https->tls);
        if (r != 0) {
            mirage_log_err(&mirage_log_app, "no HTTPS: %s", mirage_strerror(r));
            return 1;
        }
        https->port = (uint16_t)key_https_port.v.num;
        https->server = mirage_http_server_new(&cfg, serve, &tls_site);
        if (https->server == NULL || listen_on(stack, https, "https") != 0)
            return 1;
        f[nf++] = mirage_fiber_spawn("https-accept", run_listener, https, 0);
        if (certs_dev != NULL) {
            rl.tls = https->tls;
            rl.dev = certs_dev;
            struct mirage_fiber *rf = mirage_fiber_spawn("tls-reload", reload_main, &rl, 0);
            if (rf)
                mirage_fiber_detach(rf);
        }
    }
    if (key_stats.v.num > 0) {
        struct mirage_fiber *st = mirage_fiber_spawn("stats", stats_main, li, 0);
        if (st)
            mirage_fiber_detach(st);
    }
    for (size_t i = 0; i < nf; i++)
        if (f[i] == NULL)
            return 1;
    /* Both serve until one fails; then the unikernel ends. */
    int result = 1;
    mirage_fiber_pick(f, nf, NULL, &result);
    return result;
}
