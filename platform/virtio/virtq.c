/* virtq.c: split virtqueues and feature negotiation, checked against what a device returns. */
#include <string.h>

#include "virtq.h"

int virtq_size_ok(uint32_t size, const char **why)
{
    if (size == 0) {
        *why = "queue size 0";
        return -1;
    }
    if (size > VIRTQ_MAX_SIZE) {
        *why = "queue size over 1024";
        return -1;
    }
    if (size & (size - 1)) {
        *why = "queue size not a power of two";
        return -1;
    }
    return 0;
}

static size_t align_up(size_t n)
{
    return (n + VIRTQ_ALIGN - 1) & ~(size_t)(VIRTQ_ALIGN - 1);
}

size_t virtq_bytes(uint16_t size)
{
    return align_up(16 * (size_t)size + 6 + 2 * (size_t)size) + align_up(6 + 8 * (size_t)size);
}

void virtq_init(struct virtq *q, void *mem, uint16_t size)
{
    uint8_t *m = mem;

    memset(q, 0, sizeof(*q));
    q->size = size;
    q->desc = (volatile struct virtq_desc *)m;
    q->avail = (volatile struct virtq_avail *)(m + 16 * (size_t)size);
    q->used =
        (volatile struct virtq_used *)(m + align_up(16 * (size_t)size + 6 + 2 * (size_t)size));
}

int virtq_publish(struct virtq *q, uint16_t head)
{
    if (head >= q->size || (q->busy[head / 64] >> (head % 64)) & 1)
        return -1;
    q->busy[head / 64] |= 1ULL << (head % 64);
    q->in_flight++;
    q->avail->ring[q->avail_idx % q->size] = head;
    /* The entry before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail_idx++;
    q->avail->idx = q->avail_idx;
    return 0;
}

int virtq_next_used(struct virtq *q, uint16_t *head, uint32_t *len, const char **why)
{
    uint16_t idx = q->used->idx, ahead = (uint16_t)(idx - q->used_seen);
    volatile struct virtq_used_elem *e;
    uint32_t id;

    if (ahead == 0)
        return 0;
    if (ahead > q->in_flight) {
        *why = "used index ran ahead of the buffers it was given";
        return -1;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    e = &q->used->ring[q->used_seen % q->size];
    id = e->id;
    if (id >= q->size) {
        *why = "used ring names a descriptor out of range";
        return -1;
    }
    if (!((q->busy[id / 64] >> (id % 64)) & 1)) {
        *why = "used ring returns a descriptor it was not given";
        return -1;
    }
    q->busy[id / 64] &= ~(1ULL << (id % 64));
    q->in_flight--;
    q->used_seen++;
    *head = (uint16_t)id;
    *len = e->len;
    return 1;
}

int virtio_features_choose(uint64_t offered, int modern, uint64_t wanted, uint64_t *chosen,
                           const char **why)
{
    if (modern && !(offered & VIRTIO_F_VERSION_1)) {
        *why = "modern device without VIRTIO_F_VERSION_1";
        return -1;
    }
    *chosen = offered & (wanted & ~VIRTIO_F_VERSION_1);
    if (modern)
        *chosen |= VIRTIO_F_VERSION_1;
    return 0;
}
