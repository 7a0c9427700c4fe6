/* client.c: the HTTP/1.1 client: requests by URL, kept-alive connections, chunked and length
 * bodies, redirects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"
#include "mirage/key.h"
#include "mirage/time.h"

#define HEAD_MAX 16384
#define WBUF     4096

struct mirage_http_client {
    struct mirage_stack *stack;
    struct mirage_http_client_config cfg;
    /* the kept connection */
    struct mirage_flow *flow;
    char scheme[8], host[256];
    uint16_t port;
    struct mirage_channel ch;
    uint8_t rbuf[HEAD_MAX], wbuf[WBUF];
};

static const char *method_names[] = {"",    "GET",    "HEAD",    "POST",
                                     "PUT", "DELETE", "OPTIONS", "PATCH"};

/* An IPv4 literal "a.b.c.d". */
static int parse_ipv4(const char *s, struct mirage_ipaddr *a)
{
    unsigned v[4];

    for (int i = 0; i < 4; i++) {
        const char *d = s;
        v[i] = 0;
        while (*s >= '0' && *s <= '9' && v[i] <= 255)
            v[i] = v[i] * 10 + (unsigned)(*s++ - '0');
        if (s == d || v[i] > 255 || s - d > 3 || *s != (i < 3 ? '.' : 0))
            return -1;
        s++;
    }
    *a = mirage_ipv4_addr((uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3]);
    return 0;
}

/* The URL's host at (p) (RFC 3986 3.2.2): an IPv6 literal in brackets, or a
 * name or IPv4 literal up to the port, path, query or fragment. Returns what
 * follows it, or NULL with *err. */
static const char *parse_host(const char *p, struct mirage_http_url *u, const char **err)
{
    const char *end;
    char why[96];
    size_t n;

    if (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL) {
            *err = "no ']' after the URL's IPv6 address";
            return NULL;
        }
        n = (size_t)(end - p - 1);
        if (n == 0 || n >= sizeof(u->host) ||
            mirage_key_parse_ipv6(p + 1, n, u->ip.a, why, sizeof(why)) != 0) {
            *err = "not an IPv6 address between the URL's brackets";
            return NULL;
        }
        u->ip.family = 6;
        memcpy(u->host, p + 1, n);
        end++;
        if (*end != 0 && strchr(":/?#", *end) == NULL) {
            *err = "text after the ']' of the URL's IPv6 address";
            return NULL;
        }
        return end;
    }
    end = p + strcspn(p, ":/?#");
    n = (size_t)(end - p);
    if (n == 0 || n >= sizeof(u->host)) {
        *err = n ? "the host name is too long" : "no host in the URL";
        return NULL;
    }
    memcpy(u->host, p, n);
    if (strpbrk(u->host, "[]") != NULL) {
        *err = "a bracket in the URL's host outside an IPv6 address";
        return NULL;
    }
    if (parse_ipv4(u->host, &u->ip) != 0)
        u->ip.family = 0; /* a name */
    return end;
}

int mirage_http_url_parse(const char *url, struct mirage_http_url *u, const char **err)
{
    const char *p;
    size_t n;

    memset(u, 0, sizeof(*u));
    if (strncmp(url, "http://", 7) == 0) {
        strcpy(u->scheme, "http");
        u->port = 80;
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        strcpy(u->scheme, "https");
        u->port = 443;
        p = url + 8;
    } else {
        *err = "the URL is not http:// or https://";
        return MIRAGE_EINVAL;
    }
    p = parse_host(p, u, err);
    if (p == NULL)
        return MIRAGE_EINVAL;
    if (*p == ':') {
        unsigned long port = 0;
        const char *d = ++p;
        while (*p >= '0' && *p <= '9' && port <= 65535)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == d || port == 0 || port > 65535 || (*p && *p != '/' && *p != '?' && *p != '#')) {
            *err = "bad port in the URL";
            return MIRAGE_EINVAL;
        }
        u->port = (uint16_t)port;
    }
    n = strcspn(p, "#");
    if (n + 2 > sizeof(u->path)) {
        *err = "the path is too long";
        return MIRAGE_EINVAL;
    }
    if (*p != '/')
        u->path[0] = '/';
    memcpy(u->path + (*p != '/'), p, n);
    for (const char *c = u->path; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            *err = "a space or control character in the URL's path";
            return MIRAGE_EINVAL;
        }
    }
    return 0;
}

/* (u)'s host as a URL and the Host field write it: an IPv6 one in brackets;
 * with its port when (port) is not 0. */
static void authority(const struct mirage_http_url *u, uint16_t port, char *buf, size_t size)
{
    const char *open = u->ip.family == 6 ? "[" : "", *close = u->ip.family == 6 ? "]" : "";

    if (port != 0)
        snprintf(buf, size, "%s%s%s:%u", open, u->host, close, port);
    else
        snprintf(buf, size, "%s%s%s", open, u->host, close);
}

struct mirage_http_client *mirage_http_client_new(struct mirage_stack *stack,
                                                  const struct mirage_http_client_config *cfg)
{
    struct mirage_http_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->stack = stack;
    if (cfg)
        c->cfg = *cfg;
    if (c->cfg.timeout == 0)
        c->cfg.timeout = MIRAGE_SEC(30);
    if (c->cfg.max_redirects == 0 && !c->cfg.no_redirects)
        c->cfg.max_redirects = 5;
    if (c->cfg.no_redirects)
        c->cfg.max_redirects = 0;
    if (c->cfg.max_body == 0)
        c->cfg.max_body = 16u << 20;
    return c;
}

static void drop_conn(struct mirage_http_client *c)
{
    if (c->flow)
        mirage_flow_close(c->flow);
    c->flow = NULL;
}

void mirage_http_client_free(struct mirage_http_client *c)
{
    if (c == NULL)
        return;
    drop_conn(c);
    free(c);
}

static void free_fields(struct mirage_http_client_response *resp)
{
    for (size_t i = 0; i < resp->head.nfields; i++) {
        free((char *)resp->head.fields[i].name);
        free((char *)resp->head.fields[i].value);
    }
    resp->head.nfields = 0;
    if (resp->head.reason && resp->head.reason[0])
        free((char *)resp->head.reason);
    resp->head.reason = NULL;
}

void mirage_http_client_response_free(struct mirage_http_client_response *r)
{
    if (r == NULL)
        return;
    free_fields(r);
    free(r->body);
    free(r);
}

/* The kept connection if it goes to (u), else a new one; *reused says which. */
static int get_conn(struct mirage_http_client *c, const struct mirage_http_url *u, int *reused,
                    const char **err)
{
    struct mirage_ipaddr ip;
    struct mirage_flow *f;

    *reused = 0;
    if (c->flow && strcmp(c->scheme, u->scheme) == 0 && strcmp(c->host, u->host) == 0 &&
        c->port == u->port) {
        *reused = 1;
        return 0;
    }
    drop_conn(c);
    ip = u->ip;
    if (ip.family == 0) {
        if (c->cfg.resolve == NULL) {
            *err = "the host is not an IP address (no DNS here: no resolver given)";
            return MIRAGE_EINVAL;
        }
        int rr = c->cfg.resolve(c->cfg.resolve_ctx, u->host, &ip);
        if (rr != 0) {
            *err = rr == MIRAGE_ENOENT ? "the host's name has no address"
                                       : "the host's name could not be resolved";
            return rr;
        }
    }
    if (strcmp(u->scheme, "https") == 0 && c->cfg.wrap == NULL) {
        *err = "https:// needs TLS, which this client was not given";
        return MIRAGE_ENOTSUP;
    }
    int r = mirage_tcp_connect(c->stack, &ip, u->port, &f, mirage_deadline_in(c->cfg.timeout));
    if (r != 0) {
        *err = "cannot connect";
        return r;
    }
    if (strcmp(u->scheme, "https") == 0) {
        f = c->cfg.wrap(c->cfg.wrap_ctx, f, u->host);
        if (f == NULL) {
            *err = "TLS refused the connection";
            return MIRAGE_ENOTSUP;
        }
    }
    c->flow = f;
    strcpy(c->scheme, u->scheme);
    strcpy(c->host, u->host);
    c->port = u->port;
    mirage_channel_init(&c->ch, f, c->rbuf, sizeof(c->rbuf), c->wbuf, sizeof(c->wbuf));
    return 0;
}

/* Reads the response head into resp (its strings point into *headbuf, which the caller frees). */
static int read_head(struct mirage_http_client *c, int method,
                     struct mirage_http_client_response *resp, char **headbuf, int *got_any,
                     const char **err)
{
    for (;;) {
        const uint8_t *p;
        size_t n = mirage_channel_peek(&c->ch, &p);
        size_t end = mirage_http_head_end(p, n);
        *got_any = n > 0;
        if (end > 0) {
            char *h = malloc(end + 1);
            if (h == NULL)
                return MIRAGE_ENOMEM;
            memcpy(h, p, end);
            h[end] = 0;
            mirage_channel_consume(&c->ch, end);
            int r = mirage_http_parse_response(h, end, method, &resp->head, err);
            if (r != 0) {
                free(h);
                return r;
            }
            if (resp->head.status >= 100 && resp->head.status < 200) {
                free(h); /* 100 Continue and the like: the real answer follows */
                continue;
            }
            *headbuf = h;
            return 0;
        }
        if (n >= sizeof(c->rbuf)) {
            *err = "the response head is too large";
            return MIRAGE_EMSGSIZE;
        }
        if (c->ch.eof) {
            *err = n ? "the response ended inside its head" : "the server closed the connection";
            return MIRAGE_ENODATA;
        }
        int r = mirage_channel_fill(&c->ch, mirage_deadline_in(c->cfg.timeout));
        if (r != 0) {
            *err = "no response";
            return r;
        }
    }
}

/* One request on one connection; the response's body is read whole. */
static int exchange(struct mirage_http_client *c, enum mirage_http_method method,
                    const struct mirage_http_url *u, const void *body, size_t len,
                    const char *content_type, struct mirage_http_client_response *resp,
                    const char **err)
{
    int reused, r, got_any = 0;
    char *headbuf = NULL;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = get_conn(c, u, &reused, err);
        if (r != 0)
            break;
        uint64_t dl = mirage_deadline_in(c->cfg.timeout);
        int defport = (strcmp(u->scheme, "http") == 0 && u->port == 80) ||
                      (strcmp(u->scheme, "https") == 0 && u->port == 443);
        char hostport[300];
        authority(u, defport ? 0 : u->port, hostport, sizeof(hostport));
        r = mirage_channel_printf(&c->ch, dl,
                                  "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mirage\r\n",
                                  method_names[method], u->path, hostport);
        if (r == 0 && (body != NULL || method == MIRAGE_HTTP_POST || method == MIRAGE_HTTP_PUT))
            r = mirage_channel_printf(&c->ch, dl, "Content-Length: %zu\r\n", len);
        if (r == 0 && content_type)
            r = mirage_channel_printf(&c->ch, dl, "Content-Type: %s\r\n", content_type);
        if (r == 0)
            r = mirage_channel_write(&c->ch, "\r\n", 2, dl);
        if (r == 0 && len > 0)
            r = mirage_channel_write(&c->ch, body, len, dl);
        if (r == 0)
            r = mirage_channel_flush(&c->ch, dl);
        if (r == 0)
            r = read_head(c, method, resp, &headbuf, &got_any, err);
        if (r == 0)
            break;
        drop_conn(c);
        /* A kept connection the server closed meanwhile: once more on a new one. */
        if (!(reused && !got_any && (method == MIRAGE_HTTP_GET || method == MIRAGE_HTTP_HEAD)))
            break;
    }
    if (r != 0) {
        memset(&resp->head, 0, sizeof(resp->head)); /* its strings were in freed heads */
        return r;
    }
    /* The body of a redirect about to be followed is read and dropped: a sink gets only
     * the final response's, as curl -L prints only the last. */
    int st = resp->head.status, drop = 0;
    if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) &&
        c->cfg.max_redirects > 0 && resp->redirects < c->cfg.max_redirects &&
        mirage_http_field(resp->head.fields, resp->head.nfields, "Location") != NULL)
        drop = 1;
    struct mirage_http_body b;
    mirage_http_body_init(&b, &c->ch, &resp->head.framing,
                          !resp->head.framing.chunked && !resp->head.framing.has_length,
                          c->cfg.sink || drop ? 0 : c->cfg.max_body);
    size_t cap = 0;
    for (;;) {
        uint8_t buf[4096];
        size_t got;
        r = mirage_http_body_read(&b, buf, sizeof(buf), &got, mirage_deadline_in(c->cfg.timeout));
        if (r != 0) {
            *err = r == MIRAGE_EMSGSIZE ? "the body is larger than allowed"
                                        : "the body ended early or was malformed";
            break;
        }
        if (got == 0)
            break;
        if (drop)
            continue;
        if (c->cfg.sink) {
            r = c->cfg.sink(c->cfg.sink_ctx, buf, got);
            if (r != 0) {
                *err = "the sink refused the body";
                break;
            }
            continue;
        }
        if (resp->len + got + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            while (ncap < resp->len + got + 1)
                ncap *= 2;
            uint8_t *nb = realloc(resp->body, ncap);
            if (nb == NULL) {
                r = MIRAGE_ENOMEM;
                break;
            }
            resp->body = nb;
            cap = ncap;
        }
        memcpy(resp->body + resp->len, buf, got);
        resp->len += got;
        resp->body[resp->len] = 0;
    }
    if (resp->body == NULL && !c->cfg.sink && r == 0)
        resp->body = calloc(1, 1);
    /* The head's strings live in headbuf: keep them with the response by
     * copying the fields we hand out into the response's own storage. */
    if (r != 0 || resp->head.framing.close || b.until_close)
        drop_conn(c);
    /* Fields point into headbuf, which must outlive the response: append it. */
    resp->head.reason = headbuf && resp->head.reason[0] ? strdup(resp->head.reason) : "";
    for (size_t i = 0; i < resp->head.nfields; i++) {
        resp->head.fields[i].name = strdup(resp->head.fields[i].name);
        resp->head.fields[i].value = strdup(resp->head.fields[i].value);
    }
    free(headbuf);
    return r;
}

int mirage_http_client_request(struct mirage_http_client *c, enum mirage_http_method method,
                               const char *url, const void *body, size_t len,
                               const char *content_type, struct mirage_http_client_response **out,
                               const char **err)
{
    struct mirage_http_client_response *resp;
    struct mirage_http_url u;
    const char *dummy;
    int r;

    if (err == NULL)
        err = &dummy;
    *out = NULL;
    if (method < MIRAGE_HTTP_GET || method > MIRAGE_HTTP_PATCH)
        return MIRAGE_EINVAL;
    resp = calloc(1, sizeof(*resp));
    if (resp == NULL)
        return MIRAGE_ENOMEM;
    snprintf(resp->url, sizeof(resp->url), "%s", url);
    for (;;) {
        r = mirage_http_url_parse(resp->url, &u, err);
        if (r != 0)
            break;
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
        free_fields(resp);
        r = exchange(c, method, &u, body, len, content_type, resp, err);
        if (r != 0)
            break;
        int st = resp->head.status;
        const char *loc = mirage_http_field(resp->head.fields, resp->head.nfields, "Location");
        if (!(st == 301 || st == 302 || st == 303 || st == 307 || st == 308) || loc == NULL ||
            c->cfg.max_redirects == 0)
            break;
        if (resp->redirects >= c->cfg.max_redirects) {
            *err = "too many redirects";
            r = MIRAGE_ELOOP;
            break;
        }
        resp->redirects++;
        char next[sizeof(resp->url)];
        if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
            snprintf(next, sizeof(next), "%s", loc);
        else if (loc[0] == '/') {
            char host[300];
            authority(&u, u.port, host, sizeof(host));
            snprintf(next, sizeof(next), "%s://%s%s", u.scheme, host, loc);
        } else {
            *err = "a relative redirect that is not a path";
            r = MIRAGE_EINVAL;
            break;
        }
        memcpy(resp->url, next, sizeof(next));
        if (st == 303 || ((st == 301 || st == 302) && method == MIRAGE_HTTP_POST)) {
            method = MIRAGE_HTTP_GET; /* as browsers do (RFC 9110 15.4.2-4) */
            body = NULL;
            len = 0;
            content_type = NULL;
        }
    }
    if (r != 0) {
        mirage_http_client_response_free(resp);
        return r;
    }
    *out = resp;
    return 0;
}
