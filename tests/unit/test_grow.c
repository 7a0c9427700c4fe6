/* test_grow.c: mirage_grow, the one growable array: growth, contents kept, overflow refused. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "mirage/error.h"
#include "mirage/heap.h"

struct pair {
    uint32_t a, b;
};

int main(void)
{
    struct pair *v = NULL;
    size_t n = 0, cap = 0;

    /* From nothing: at least 4 elements; then doubling, keeping what is there. */
    CHECK_INT(mirage_grow(&v, &cap, 1, sizeof *v), 0);
    CHECK(v != NULL);
    CHECK_INT(cap, 4);
    for (uint32_t i = 0; i < 1000; i++) {
        CHECK_INT(mirage_grow(&v, &cap, n + 1, sizeof *v), 0);
        v[n++] = (struct pair){i, ~i};
    }
    CHECK_INT(cap, 1024);
    for (uint32_t i = 0; i < 1000; i++)
        CHECK(v[i].a == i && v[i].b == ~i);

    /* Room already there: nothing moves. */
    struct pair *same = v;
    CHECK_INT(mirage_grow(&v, &cap, 1024, sizeof *v), 0);
    CHECK(v == same && cap == 1024);

    /* A need above twice the capacity is taken as it is. */
    CHECK_INT(mirage_grow(&v, &cap, 5000, sizeof *v), 0);
    CHECK_INT(cap, 5000);
    CHECK(v[999].a == 999);

    /* A size that overflows: refused, the array and capacity unchanged. */
    same = v;
    CHECK_INT(mirage_grow(&v, &cap, SIZE_MAX / 4, sizeof *v), MIRAGE_ENOMEM);
    CHECK(v == same && cap == 5000);
    free(v);

    /* Bytes: a buffer grows to the length asked. */
    char *buf = NULL;
    size_t bcap = 0;
    CHECK_INT(mirage_grow(&buf, &bcap, 300, 1), 0);
    CHECK_INT(bcap, 300);
    CHECK_INT(mirage_grow(&buf, &bcap, 301, 1), 0);
    CHECK_INT(bcap, 600);
    free(buf);
    return CHECK_DONE();
}
