/* test_kv_mem.c: kv_rw_mem passes the kv conformance suite, read-write and over the fixture. */
#include "fake_platform.h"
#include "kv_suite.h"

/* A second store holding what the first held: the in-memory store has no
 * device to survive on, so "reopening" copies it key by key (and so checks
 * list, get and last_modified agree with what set stored). */
static void copy_tree(struct mirage_kv *from, struct mirage_kv *to, const char *dict)
{
    struct mirage_kv_entry *e;
    size_t n;

    CHECK_INT(mirage_kv_list(from, dict, &e, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *v;
        size_t len;
        uint64_t ns;
        if (e[i].kind == MIRAGE_KV_DICTIONARY) {
            copy_tree(from, to, e[i].key);
            continue;
        }
        CHECK_INT(mirage_kv_get(from, e[i].key, &v, &len, NULL), 0);
        CHECK_INT(mirage_kv_last_modified(from, e[i].key, &ns, NULL), 0);
        CHECK_INT(mirage_kv_allocate(to, e[i].key, 0, ns, NULL), 0);
        CHECK_INT(mirage_kv_set_partial(to, e[i].key, 0, v, len, NULL), 0);
        free(v);
    }
    free(e);
}

static struct mirage_kv *reopen(void *ctx, struct mirage_kv *kv)
{
    struct mirage_kv *fresh;
    uint64_t cap = *(uint64_t *)ctx;

    CHECK_INT(mirage_kv_mem_new(cap, &fresh), 0);
    copy_tree(kv, fresh, "/");
    mirage_kv_disconnect(kv);
    return fresh;
}

static void test_suite(uint64_t capacity, int with_reopen)
{
    struct mirage_kv *kv;
    struct kv_suite_opts o = {with_reopen ? reopen : NULL, &capacity, capacity};

    CHECK_INT(mirage_kv_mem_new(capacity, &kv), 0);
    kv_suite_rw(&kv, &o);
    mirage_kv_disconnect(kv);
}

static void test_fixture(void)
{
    struct mirage_kv *kv;

    CHECK_INT(mirage_kv_mem_new(0, &kv), 0);
    kv_fixture_fill(kv);
    kv_suite_ro(kv);
    mirage_kv_disconnect(kv);
}

/* Times come from the wall clock at the call; a batch stamps all its
 * changes with one time; a dictionary follows its latest change. */
static void test_times(void)
{
    struct mirage_kv *kv;
    uint64_t t1, t2, td;

    CHECK_INT(mirage_kv_mem_new(0, &kv), 0);
    CHECK_INT(mirage_kv_set(kv, "/d/a", "a", 1, NULL), 0);
    CHECK_INT(mirage_kv_last_modified(kv, "/d/a", &t1, NULL), 0);
    CHECK_INT(t1, mirage_clock_wall());
    fake_now += 5000;
    CHECK_INT(mirage_kv_set(kv, "/d/b", "b", 1, NULL), 0);
    CHECK_INT(mirage_kv_last_modified(kv, "/d/b", &t2, NULL), 0);
    CHECK_INT(t2 - t1, 5000);
    CHECK_INT(mirage_kv_last_modified(kv, "/d", &td, NULL), 0);
    CHECK_INT(td, t2);
    CHECK_INT(mirage_kv_last_modified(kv, "/", &td, NULL), 0);
    CHECK_INT(td, t2);
    fake_now += 5000;
    /* A rename keeps the value's time, and changes both dictionaries'. */
    CHECK_INT(mirage_kv_rename(kv, "/d/a", "/e/a", NULL), 0);
    CHECK_INT(mirage_kv_last_modified(kv, "/e/a", &td, NULL), 0);
    CHECK_INT(td, t1);
    CHECK_INT(mirage_kv_last_modified(kv, "/d", &td, NULL), 0);
    CHECK_INT(td, t2 + 5000);
    CHECK_INT(mirage_kv_last_modified(kv, "/e", &td, NULL), 0);
    CHECK_INT(td, t2 + 5000);
    mirage_kv_disconnect(kv);
}

/* A failed operation leaves the capacity accounting as it was. */
static void test_capacity_after_failures(void)
{
    struct mirage_kv *kv;
    static uint8_t buf[1000];
    struct mirage_kv_op ops[] = {
        {MIRAGE_KV_OP_SET, "/x", NULL, buf, 600},
        {MIRAGE_KV_OP_REMOVE, "/k", NULL, NULL, 0},
        {MIRAGE_KV_OP_SET, "/y", NULL, buf, 600}, /* 1200 > 1000 */
    };

    CHECK_INT(mirage_kv_mem_new(1000, &kv), 0);
    CHECK_INT(mirage_kv_set(kv, "/k", buf, 300, NULL), 0);
    CHECK_INT(mirage_kv_batch(kv, ops, 3, NULL), MIRAGE_ENOSPC);
    CHECK_INT(mirage_kv_set(kv, "/k", buf, 1000, NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/k2", buf, 1, NULL), MIRAGE_ENOSPC);
    CHECK_INT(mirage_kv_rename(kv, "/k", "/moved/k", NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/k2", buf, 1, NULL), MIRAGE_ENOSPC);
    CHECK_INT(mirage_kv_set(kv, "/moved/k", buf, 999, NULL), 0);
    CHECK_INT(mirage_kv_set(kv, "/k2", buf, 1, NULL), 0);
    mirage_kv_disconnect(kv);
}

int main(void)
{
    test_suite(0, 0);
    test_suite(0, 1);
    test_suite(4u << 20, 1);
    test_fixture();
    test_times();
    test_capacity_after_failures();
    return CHECK_DONE();
}
