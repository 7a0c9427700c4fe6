/* fuzz_http_request.c: the HTTP request-head parser and the head-end finder on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/http.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* Every string the parser returns lies inside the head it was given. */
static void inside(const char *s, const char *head, size_t len)
{
    if (s != NULL)
        check(s >= head && s + strlen(s) <= head + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_http_request req;
    const char *err = NULL;
    size_t end = mirage_http_head_end(data, size);
    char *head;

    check(end <= size);
    if (end == 0)
        end = size; /* the parser must refuse an incomplete head too */
    head = malloc(end + 1);
    if (head == NULL)
        return 0;
    memcpy(head, data, end);
    head[end] = 0;
    int st = mirage_http_parse_request(head, end, 64, &req, &err);
    if (st != 0) {
        check(err != NULL);
        check(st == 400 || st == 417 || st == 431 || st == 501 || st == 505);
    } else {
        check(req.method >= MIRAGE_HTTP_GET && req.method <= MIRAGE_HTTP_PATCH);
        check(req.minor == 0 || req.minor == 1);
        check(req.nfields <= 64);
        check(!(req.framing.chunked && req.framing.has_length));
        if (strcmp(req.path, "/") != 0) /* an absolute target without a path gets "/" */
            inside(req.path, head, end);
        inside(req.query, head, end);
        inside(req.method_name, head, end);
        if (req.host != NULL)
            inside(req.host, head, end);
        for (size_t i = 0; i < req.nfields; i++) {
            inside(req.fields[i].name, head, end);
            inside(req.fields[i].value, head, end);
            check(strpbrk(req.fields[i].value, "\r\n") == NULL);
        }
    }
    free(head);
    return 0;
}
