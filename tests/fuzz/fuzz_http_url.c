/* fuzz_http_url.c: the HTTP client's URL parser (names, IPv4 and bracketed IPv6 hosts) on
 * arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/error.h"
#include "mirage/http.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_http_url u, again;
    static char url[sizeof(u.host) + sizeof(u.path) + 32];
    const char *err = NULL;
    char *s = malloc(size + 1);
    int r;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    r = mirage_http_url_parse(s, &u, &err);
    free(s);
    check(r == 0 || (r == MIRAGE_EINVAL && err != NULL));
    if (r != 0)
        return 0;
    /* What it accepts is whole: a host, a port, a path of visible characters. */
    check(strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0);
    check(u.host[0] != 0 && memchr(u.host, 0, sizeof(u.host)) != NULL);
    check(u.port != 0 && u.path[0] == '/');
    for (const char *c = u.path; *c; c++)
        check((unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f);
    check(u.ip.family == 0 || u.ip.family == 4 || u.ip.family == 6);
    check(u.ip.family == 6 || strpbrk(u.host, "[]:/?#") == NULL);
    /* Written back as a URL (an IPv6 host in brackets), it parses to the same parts. */
    snprintf(url, sizeof(url), u.ip.family == 6 ? "%s://[%s]:%u%s" : "%s://%s:%u%s", u.scheme,
             u.host, u.port, u.path);
    check(mirage_http_url_parse(url, &again, &err) == 0);
    check(strcmp(again.host, u.host) == 0 && again.port == u.port);
    check(strcmp(again.path, u.path) == 0 && again.ip.family == u.ip.family);
    check(memcmp(again.ip.a, u.ip.a, sizeof(u.ip.a)) == 0);
    return 0;
}
