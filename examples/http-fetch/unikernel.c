/* unikernel.c: fetches a URL with the HTTP client and prints the body (MirageOS's http-fetch). */
#include <stdio.h>
#include <string.h>

#include "mirage/http.h"
#include "mirage/log.h"
#include "mirage/stack.h"

/* Bodies go to the console as they arrive: a large file is never held whole. */
static int print_body(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    fwrite(data, 1, len, stdout);
    return 0;
}

int start(struct mirage_stack *stack)
{
    struct mirage_http_client_config cfg = {0};
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
    c = mirage_http_client_new(stack, &cfg);
    if (c == NULL)
        return 1;
    for (long long i = 0; i < key_repeat.v.num; i++) {
        struct mirage_http_client_response *resp;
        const char *data = key_data.v.str;
        int r = mirage_http_client_request(
            c, method, key_uri.v.str, method == MIRAGE_HTTP_POST ? data : NULL,
            method == MIRAGE_HTTP_POST ? strlen(data) : 0,
            method == MIRAGE_HTTP_POST ? "text/plain" : NULL, &resp, &err);
        if (r != 0) {
            mirage_log_err(&mirage_log_app, "%s: %s (%s)", key_uri.v.str, err ? err : "failed",
                           mirage_strerror(r));
            mirage_http_client_free(c);
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
    return status >= 200 && status < 400 ? 0 : 2;
}
