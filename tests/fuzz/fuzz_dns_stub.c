/* fuzz_dns_stub.c: the stub resolver's answer matching, its cache and the answers it builds from a
 * server's, and following CNAMEs through what it cached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/dns.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* The input is a server's answer to "www.example.com. A" asked with id 0x4242: it is matched,
 * cached, then a client's query of the same question is answered from it over UDP and TCP, and
 * the name resolved through the cache (the stub has no stack: nothing is sent). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
                                    3,    'w',  'w',  'w',  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                    3,    'c',  'o',  'm',  0, 0,   1,   0,   1,
                                    0,    0,    41,   4,    0, 0,   0,   0,   0, 0, 0};
    static uint8_t out[65535];
    struct mirage_dns_stub_config cfg = {.cache_entries = 4, .cache_bytes = 65536};
    struct mirage_dns_stub *stub;
    struct mirage_dns_question q;
    struct mirage_ipaddr addrs[4];
    const char *why = NULL;
    const uint8_t *msg;
    size_t n, len;
    uint32_t age;

    check(mirage_dns_name_from_text(&q.name, "www.example.com.", 16, NULL, NULL) == 0);
    q.type = MIRAGE_DNS_A;
    q.qclass = MIRAGE_DNS_CLASS_IN;
    if (mirage_dns_stub_match(data, size, 0x4242, &q, &why) < 0) {
        check(why != NULL);
        return 0;
    }
    for (int tcp = 0; tcp < 2; tcp++) {
        size_t cap = tcp ? sizeof(out) : 1232;
        n = mirage_dns_stub_answer(data, size, 7, query, sizeof(query), tcp, out, cap);
        check(n <= cap);
        if (n == 0)
            continue;
        /* What we send is a well-formed answer to the client's question and id. */
        check(out[0] == 0x12 && out[1] == 0x34);
        out[0] = 0x42;
        out[1] = 0x42;
        check(mirage_dns_stub_match(out, n, 0x4242, &q, &why) == 0);
    }
    check(mirage_dns_stub_new(NULL, &cfg, &stub) == 0);
    if (mirage_dns_stub_store(stub, &q, data, size) > 0) {
        msg = mirage_dns_stub_cached(stub, &q, &len, &age);
        check(msg != NULL && len == size && memcmp(msg, data, size) == 0);
    }
    int r = mirage_dns_resolve(stub, "www.example.com", MIRAGE_DNS_A, addrs, 4, &n, 0);
    check(r < 0 || (n > 0 && n <= 4));
    mirage_dns_stub_free(stub);
    return 0;
}
