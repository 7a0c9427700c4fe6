/* fuzz_http_fields.c: response heads, field values (dates, ranges, chunk sizes) on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/http.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mirage_http_response_head resp;
    const char *err = NULL;
    char *s = malloc(size + 1);
    uint64_t a = 0, b = 0, secs;
    char date[30];

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    /* Field values are NUL-terminated strings from a parsed head. */
    int r = mirage_http_range_parse(s, 1000, &a, &b);
    check(r == 0 || r == 1 || r == MIRAGE_ERANGE);
    if (r == 0)
        check(a <= b && b < 1000);
    if (mirage_http_date_parse(s, &secs) == 0) {
        mirage_http_date_format(secs, date);
        uint64_t back;
        check(mirage_http_date_parse(date, &back) == 0);
        check(back == secs || secs >= 253402300800ull); /* year 10000: clamped */
    }
    if (mirage_http_parse_chunk_size(s, size, &a) == 0)
        check(a < (1ull << 60));
    memcpy(s, data, size);
    r = mirage_http_parse_response(s, size, size & 1 ? MIRAGE_HTTP_HEAD : MIRAGE_HTTP_GET, &resp,
                                   &err);
    if (r != 0)
        check(r == MIRAGE_EINVAL && err != NULL);
    else
        check(resp.status >= 100 && resp.status <= 999 && resp.nfields <= MIRAGE_HTTP_MAX_FIELDS);
    free(s);
    return 0;
}
