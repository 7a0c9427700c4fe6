/* test_virtq.c: virtqueues against a simulated device that breaks the rules, and feature
 * negotiation. */
#include <stdint.h>
#include <stdlib.h>

#include "../../platform/virtio/virtq.h"
#include "check.h"

/* A queue of (size) in fresh aligned memory. */
static void *make(struct virtq *q, uint16_t size)
{
    void *mem = aligned_alloc(VIRTQ_ALIGN, virtq_bytes(size));

    memset(mem, 0, virtq_bytes(size));
    virtq_init(q, mem, size);
    return mem;
}

/* The simulated device returns chain (id) with (len) bytes. */
static void device_returns(struct virtq *q, uint32_t id, uint32_t len)
{
    q->used->ring[q->used->idx % q->size] = (struct virtq_used_elem){id, len};
    q->used->idx++;
}

static void sizes(void)
{
    const char *why = NULL;

    CHECK_INT(virtq_size_ok(0, &why), -1);
    CHECK_STR(why, "queue size 0");
    CHECK_INT(virtq_size_ok(2048, &why), -1);
    CHECK_STR(why, "queue size over 1024");
    CHECK_INT(virtq_size_ok(65535, &why), -1);
    CHECK_INT(virtq_size_ok(96, &why), -1);
    CHECK_STR(why, "queue size not a power of two");
    CHECK_INT(virtq_size_ok(1, &why), 0);
    CHECK_INT(virtq_size_ok(256, &why), 0);
    CHECK_INT(virtq_size_ok(1024, &why), 0);
    /* The legacy layout: 256 entries take 4096 + 512 + 6 bytes, then the used ring aligned. */
    CHECK_INT(virtq_bytes(256), 8192 + 4096);
}

static void rings(void)
{
    struct virtq q;
    void *mem = make(&q, 8);
    const char *why = NULL;
    uint16_t head = 99;
    uint32_t len = 0;

    CHECK_INT(virtq_next_used(&q, &head, &len, &why), 0);
    CHECK_INT(virtq_publish(&q, 0), 0);
    CHECK_INT(virtq_publish(&q, 2), 0);
    CHECK_INT(virtq_publish(&q, 2), -1); /* already with the device */
    CHECK_INT(virtq_publish(&q, 8), -1); /* out of range */
    CHECK_INT(q.avail->idx, 2);
    CHECK_INT(q.avail->ring[0], 0);
    CHECK_INT(q.avail->ring[1], 2);

    device_returns(&q, 2, 60);
    CHECK_INT(virtq_next_used(&q, &head, &len, &why), 1);
    CHECK_INT(head, 2);
    CHECK_INT(len, 60);
    CHECK_INT(q.in_flight, 1);
    /* Returned twice: the device no longer holds it. */
    device_returns(&q, 2, 60);
    CHECK_INT(virtq_next_used(&q, &head, &len, &why), -1);
    CHECK_STR(why, "used ring returns a descriptor it was not given");
    free(mem);

    mem = make(&q, 8);
    CHECK_INT(virtq_publish(&q, 0), 0);
    device_returns(&q, 9, 1);
    CHECK_INT(virtq_next_used(&q, &head, &len, &why), -1);
    CHECK_STR(why, "used ring names a descriptor out of range");
    free(mem);

    /* An index that runs ahead of what the device was given. */
    mem = make(&q, 8);
    CHECK_INT(virtq_publish(&q, 0), 0);
    q.used->idx = 5;
    CHECK_INT(virtq_next_used(&q, &head, &len, &why), -1);
    CHECK_STR(why, "used index ran ahead of the buffers it was given");
    free(mem);

    /* Indices wrap at 65536 as the spec has them. */
    mem = make(&q, 4);
    q.avail_idx = q.used_seen = 65534;
    q.used->idx = 65534;
    for (int round = 0; round < 4; round++) {
        CHECK_INT(virtq_publish(&q, 1), 0);
        device_returns(&q, 1, 10);
        CHECK_INT(virtq_next_used(&q, &head, &len, &why), 1);
        CHECK_INT(head, 1);
    }
    CHECK_INT(q.used_seen, 2);
    free(mem);
}

static void features(void)
{
    uint64_t chosen = 0;
    const char *why = NULL;
    const uint64_t net = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU;

    /* A modern device that does not offer VERSION_1 is refused. */
    CHECK_INT(virtio_features_choose(VIRTIO_NET_F_MAC, 1, net, &chosen, &why), -1);
    CHECK_STR(why, "modern device without VIRTIO_F_VERSION_1");
    /* Only what is both offered and wanted; VERSION_1 on modern only. */
    CHECK_INT(virtio_features_choose(VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | (1ULL << 15), 1, net,
                                     &chosen, &why),
              0);
    CHECK(chosen == (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC));
    CHECK_INT(virtio_features_choose(0, 0, net, &chosen, &why), 0);
    CHECK(chosen == 0);
    CHECK_INT(virtio_features_choose(~0ULL, 0, net | VIRTIO_F_VERSION_1, &chosen, &why), 0);
    CHECK(chosen == net);
}

int main(void)
{
    sizes();
    rings();
    features();
    CHECK_DONE();
}
