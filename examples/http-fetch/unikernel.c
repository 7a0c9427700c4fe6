/* unikernel.c: fetches a URL with the HTTP client, over TLS for https://, and prints the body
 * (MirageOS's http-fetch). */
#include <stdio.h>
#include <string.h>

#include "mirage/dns.h"
#include "mirage/http.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/stack.h"
#include "mirage/time.h"
#include "mirage/tls.h"

/* Bodies go to the console as they arrive: a large file is never held whole. */
static int print_body(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    fwrite(data, 1, len, stdout);
    return 0;
}

/* An https:// connection: TLS checked against the CA store, for --servername or the URL's host. */
static struct mirage_flow *tls_wrap(void *ctx, struct mirage_flow *tcp, const char *host)
{
    struct mirage_tls_client *tls = ctx;
    struct mirage_flow *f;
    const char *name = key_servername.v.str[0] ? key_servername.v.str : host;

    if (mirage_tls_client_flow(tls, tcp, name, &f) != 0) {
        mirage_flow_close(tcp);
        return NULL;
    }
    return f;
}

/* A host given by name: its first address (IPv4, else IPv6) from --dns-servers. */
static int resolve(void *ctx, const char *host, struct mirage_ipaddr *addr)
{
    uint64_t deadline = mirage_deadline_in(MIRAGE_SEC(10));
    size_t n;
    int r = mirage_dns_resolve(ctx, host, MIRAGE_DNS_A, addr, 1, &n, deadline);

    if (r == MIRAGE_ENOENT)
        r = mirage_dns_resolve(ctx, host, MIRAGE_DNS_AAAA, addr, 1, &n, deadline);
    if (r < 0)
        mirage_log_err(&mirage_log_app, "%s: %s", host,
                       r == MIRAGE_ENOENT ? "no such name, or no address" : mirage_strerror(r));
    return r;
}

int start(struct mirage_stack *stack, struct mirage_kv *ca)
{
    static const char *const alpn[] = {"http/1.1"};
    struct mirage_tls_opts opts = {.alpn = alpn, .n_alpn = 1};
    struct mirage_http_client_config cfg = {0};
    struct mirage_tls_client *tls = NULL;
    struct mirage_http_client *c;
    enum mirage_http_method method = MIRAGE_HTTP_GET;
    const char *m = key_method.v.str, *err = NULL;
    int status = 0;

    if (strcmp(m, "HEAD") == 0)
        method = MIRAGE_HTTP_HEAD;
    else if (strcmp(m, "POST") == 0)
        method = MIRAGE_HTTP_POST;
    else if (strcmp(m, "GET") != 0) {
        mirage_log_err(&mirage_log_app, "--method=%s: GET, HEAD or POST", m);
        return 64;
    }
    if (!key_headers.v.flag)
        cfg.sink = print_body; /* with --headers the body is collected, to print after them */
    /* TLS for https:// URLs, and for redirects from http:// to https://. */
    int r = mirage_tls_client_from_kv(&opts, ca, "/", &tls);
    if (r == 0) {
        cfg.wrap = tls_wrap;
        cfg.wrap_ctx = tls;
    } else if (strncmp(key_uri.v.str, "https://", 8) == 0) {
        mirage_log_err(&mirage_log_app, "no CA certificates to check %s against: %s", key_uri.v.str,
                       mirage_strerror(r));
        return 1;
    }
    struct mirage_dns_stub *stub = NULL;
    if (mirage_key_dns_servers.v.list.count > 0) {
        struct mirage_dns_stub_config sc = {0};
        char e[128];
        if (mirage_dns_stub_servers(&mirage_key_dns_servers.v.list, &sc, e, sizeof(e)) < 0) {
            mirage_log_err(&mirage_log_app, "--dns-servers: %s", e);
            mirage_tls_client_free(tls);
            return 64;
        }
        if (mirage_dns_stub_new(stack, &sc, &stub) < 0) {
            mirage_tls_client_free(tls);
            return 1;
        }
        cfg.resolve = resolve;
        cfg.resolve_ctx = stub;
    }
    c = mirage_http_client_new(stack, &cfg);
    if (c == NULL) {
        mirage_tls_client_free(tls);
        mirage_dns_stub_free(stub);
        return 1;
    }
    for (long long i = 0; i < key_repeat.v.num; i++) {
        struct mirage_http_client_response *resp;
        const char *data = key_data.v.str;
        r = mirage_http_client_request(
            c, method, key_uri.v.str, method == MIRAGE_HTTP_POST ? data : NULL,
            method == MIRAGE_HTTP_POST ? strlen(data) : 0,
            method == MIRAGE_HTTP_POST ? "text/plain" : NULL, &resp, &err);
        if (r != 0) {
            mirage_log_err(&mirage_log_app, "%s: %s (%s)", key_uri.v.str, err ? err : "failed",
                           mirage_strerror(r));
            mirage_http_client_free(c);
            mirage_tls_client_free(tls);
            mirage_dns_stub_free(stub);
            return 1;
        }
        if (key_headers.v.flag) {
            printf("HTTP/1.%d %d %s\n", resp->head.minor, resp->head.status, resp->head.reason);
            for (size_t k = 0; k < resp->head.nfields; k++)
                printf("%s: %s\n", resp->head.fields[k].name, resp->head.fields[k].value);
            printf("\n");
            fwrite(resp->body, 1, resp->len, stdout);
        }
        mirage_log_info(&mirage_log_app, "%s: %d %s, %u redirects", resp->url, resp->head.status,
                        resp->head.reason, resp->redirects);
        status = resp->head.status;
        mirage_http_client_response_free(resp);
    }
    fflush(stdout);
    mirage_http_client_free(c);
    mirage_tls_client_free(tls);
    mirage_dns_stub_free(stub);
    return status >= 200 && status < 400 ? 0 : 2;
}
