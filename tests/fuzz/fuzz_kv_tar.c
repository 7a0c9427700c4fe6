/* fuzz_kv_tar.c: tar_kv_ro's index of an arbitrary device, then every key read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_platform.h"
#include "mirage/block.h"
#include "mirage/kv.h"

/*
 * The input, zero-padded to whole 512-byte sectors, is the device. Connect
 * must index it or refuse it with a message; an indexed archive is walked:
 * every dictionary listed, every value read whole, in part and digested,
 * and each read must agree with the value's size.
 */

static void check(int cond)
{
    if (!cond)
        abort();
}

static void walk(struct mirage_kv *kv, const char *dict, int depth)
{
    struct mirage_kv_entry *e;
    size_t n;

    check(depth < 600);
    check(mirage_kv_list(kv, dict, &e, &n, NULL) == 0);
    for (size_t i = 0; i < n; i++) {
        enum mirage_kv_kind k;
        uint64_t size, ns;
        uint8_t *v, d[32], part[100];
        size_t len, got = 0;
        check(mirage_kv_exists(kv, e[i].key, &k, NULL) == 0 && k == e[i].kind);
        check(mirage_kv_last_modified(kv, e[i].key, &ns, NULL) == 0);
        if (k == MIRAGE_KV_DICTIONARY) {
            walk(kv, e[i].key, depth + 1);
            continue;
        }
        check(mirage_kv_size(kv, e[i].key, &size, NULL) == 0);
        check(mirage_kv_get(kv, e[i].key, &v, &len, NULL) == 0 && len == size);
        check(mirage_kv_get_partial(kv, e[i].key, size / 2, part, sizeof(part), &got, NULL) == 0);
        check(got == (size - size / 2 < sizeof(part) ? size - size / 2 : sizeof(part)));
        check(got == 0 || memcmp(part, v + size / 2, got) == 0);
        check(mirage_kv_digest(kv, e[i].key, d, NULL) == 0);
        free(v);
    }
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mirage_block *b;
    struct mirage_kv *kv;
    size_t bytes = (size + 511) / 512 * 512;
    char msg[400];
    int r;

    if (bytes == 0 || bytes > 4 * 1024 * 1024)
        return 0;
    check(mirage_block_ramdisk_new("fuzz", bytes, 512, &b) == 0);
    {
        uint8_t *img = calloc(1, bytes);
        check(img != NULL);
        memcpy(img, data, size);
        check(mirage_block_write(b, 0, img, bytes) == 0);
        free(img);
    }
    r = mirage_kv_tar_connect(b, &kv, msg, sizeof(msg));
    if (r == 0) {
        walk(kv, "/", 0);
        mirage_kv_disconnect(kv);
    } else {
        check(msg[0] != '\0');
    }
    mirage_block_disconnect(b);
    return 0;
}
