/* test_kv_crunch.c: the crunch store over a table like mirage crunch's passes the read-only suite.
 */
#include "fake_platform.h"
#include "kv_suite.h"

/* The fixture as mirage crunch lays it out: directories and files sorted by key. */
static struct mirage_crunch_entry entries[] = {
    {"/", MIRAGE_KV_DICTIONARY, 0, 0, 11},        {"/big.bin", MIRAGE_KV_VALUE, 0, 0, 12},
    {"/dir", MIRAGE_KV_DICTIONARY, 0, 0, 13},     {"/dir/a.bin", MIRAGE_KV_VALUE, 0, 0, 14},
    {"/dir/sub", MIRAGE_KV_DICTIONARY, 0, 0, 15}, {"/dir/sub/deep.txt", MIRAGE_KV_VALUE, 0, 0, 16},
    {"/dir/z", MIRAGE_KV_VALUE, 0, 0, 17},        {"/empty", MIRAGE_KV_VALUE, 0, 0, 18},
    {"/hello.txt", MIRAGE_KV_VALUE, 0, 0, 19},
};
#define N (sizeof(entries) / sizeof(entries[0]))

static uint8_t *lay_out(struct mirage_crunch *img)
{
    uint64_t total = 0, off = 0;
    uint8_t *data;

    for (size_t i = 0; i < KV_FIXTURE_N; i++)
        total += kv_fixture_size(&kv_fixture[i]);
    data = malloc(total);
    for (size_t i = 0; i < N; i++) {
        for (size_t f = 0; f < KV_FIXTURE_N; f++) {
            if (strcmp(kv_fixture[f].key, entries[i].key) != 0)
                continue;
            uint8_t *b = kv_fixture_bytes(&kv_fixture[f]);
            entries[i].offset = off;
            entries[i].size = kv_fixture_size(&kv_fixture[f]);
            memcpy(data + off, b, entries[i].size);
            off += entries[i].size;
            free(b);
        }
    }
    *img = (struct mirage_crunch){entries, N, data, total};
    return data;
}

static void test_fixture(void)
{
    struct mirage_crunch img;
    struct mirage_kv *kv;
    uint8_t *data = lay_out(&img);
    uint64_t ns;

    CHECK_INT(mirage_kv_crunch_new(&img, &kv), 0);
    kv_suite_ro(kv);
    CHECK_INT(mirage_kv_last_modified(kv, "/dir/z", &ns, NULL), 0);
    CHECK_INT(ns, 17);
    CHECK_INT(mirage_kv_last_modified(kv, "/", &ns, NULL), 0);
    CHECK_INT(ns, 11);
    mirage_kv_disconnect(kv);
    free(data);
}

/* A table that breaks the generator's promises is refused, not trusted. */
static void test_bad_tables(void)
{
    static const uint8_t data[8];
    struct mirage_kv *kv;
    struct mirage_crunch_entry no_root[] = {{"/a", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch_entry unsorted[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                             {"/b", MIRAGE_KV_VALUE, 0, 1, 0},
                                             {"/a", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch_entry outside[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                            {"/a", MIRAGE_KV_VALUE, 4, 5, 0}};
    struct mirage_crunch_entry orphan[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                           {"/d/a", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch_entry under_value[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                                {"/d", MIRAGE_KV_VALUE, 0, 1, 0},
                                                {"/d/a", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch_entry not_canonical[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                                  {"/a/", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch_entry bad_kind[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                             {"/a", 7, 0, 1, 0}};
    struct mirage_crunch imgs[] = {
        {no_root, 1, data, 8},  {unsorted, 3, data, 8},    {outside, 2, data, 8},
        {orphan, 2, data, 8},   {under_value, 3, data, 8}, {not_canonical, 2, data, 8},
        {bad_kind, 2, data, 8}, {no_root, 0, data, 8},
    };

    for (size_t i = 0; i < sizeof(imgs) / sizeof(imgs[0]); i++)
        CHECK_INT(mirage_kv_crunch_new(&imgs[i], &kv), MIRAGE_EINVAL);
}

/* "/d-x" sorts between "/d" and "/d/a": list("/d") still finds "/d/a". */
static void test_sibling_sorts_between(void)
{
    static const uint8_t data[2] = {'a', 'x'};
    static struct mirage_crunch_entry e[] = {{"/", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                             {"/d", MIRAGE_KV_DICTIONARY, 0, 0, 0},
                                             {"/d-x", MIRAGE_KV_VALUE, 1, 1, 0},
                                             {"/d/a", MIRAGE_KV_VALUE, 0, 1, 0}};
    struct mirage_crunch img = {e, 4, data, 2};
    struct mirage_kv *kv;

    CHECK_INT(mirage_kv_crunch_new(&img, &kv), 0);
    KV_LIST(kv, "/d", "a:v");
    KV_LIST(kv, "/", "d:d d-x:v");
    mirage_kv_disconnect(kv);
}

int main(void)
{
    test_fixture();
    test_sibling_sorts_between();
    test_bad_tables();
    return CHECK_DONE();
}
