/* fuzz_dns_tsig.c: the TSIG verifier on arbitrary messages, as a query and as an answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/dns.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* The key the seeds (dig -y hmac-sha256:test.key.:...) were signed with. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_dns_tsig_key k;
    struct mirage_dns_tsig_result res;
    static const uint8_t request_mac[32] = {1, 2, 3};

    if (k.secret_len == 0) {
        check(mirage_dns_name_from_text(&k.name, "test.key.", 9, NULL, NULL) == 0);
        memcpy(k.secret, "secret-key-for-mirage-tsig-tests", 32);
        k.secret_len = 32;
    }
    for (int answer = 0; answer < 2; answer++) {
        int rc = mirage_dns_tsig_verify(data, size, &k, 1, 1796198169u, answer ? request_mac : NULL,
                                        answer ? 32 : 0, &res);
        if (rc == 0) {
            check(res.key == &k && res.error == 0 && res.tsig_error == 0);
        } else {
            check(rc == MIRAGE_ENOENT || rc == MIRAGE_EBADMSG || rc == MIRAGE_EACCES);
            check(res.why != NULL);
            check(rc != MIRAGE_EBADMSG || res.error == MIRAGE_DNS_FORMERR);
            check(rc != MIRAGE_EACCES || (res.error == MIRAGE_DNS_NOTAUTH && res.tsig_error >= 16));
        }
        if (res.tsig_rdata != NULL)
            check(res.tsig_rdata >= data && res.tsig_rdata + res.tsig_rdlen <= data + size);
    }
    return 0;
}
