/* virtq.h: split virtqueues and feature negotiation, checked against what a device returns. */
#ifndef PLATFORM_VIRTQ_H
#define PLATFORM_VIRTQ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Portable C over memory only (the unit tests drive it with a simulated
 * device): the PCI transports in pci.c program the addresses, this file
 * fills and reads the rings. Everything a device writes (the used ring) is
 * checked before it is believed.
 */

#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_MAX_SIZE     1024 /* larger queues are refused (legacy devices cannot shrink) */
#define VIRTQ_ALIGN        4096 /* the legacy layout's used-ring alignment */

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct virtq_avail {
    uint16_t flags, idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id, len;
};

struct virtq_used {
    uint16_t flags, idx;
    struct virtq_used_elem ring[];
};

struct virtq {
    uint16_t size;
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    uint16_t avail_idx;                 /* our next avail index */
    uint16_t used_seen;                 /* the used index consumed so far */
    uint16_t in_flight;                 /* chains the device holds */
    uint64_t busy[VIRTQ_MAX_SIZE / 64]; /* heads the device holds */
};

/* Whether (size), as a device reports it, can be used: a power of two from 1
 * to VIRTQ_MAX_SIZE. Returns 0, or -1 with *why saying what is wrong. */
int virtq_size_ok(uint32_t size, const char **why);

/* Bytes of the legacy contiguous layout of a queue of (size) entries:
 * descriptors, available ring, padding to VIRTQ_ALIGN, used ring. */
size_t virtq_bytes(uint16_t size);

/* Lays the queue out in (mem), virtq_bytes(size) zeroed bytes aligned to
 * VIRTQ_ALIGN (the legacy layout; modern devices take it as well). */
void virtq_init(struct virtq *q, void *mem, uint16_t size);

/* Makes the chain starting at descriptor (head) available (the caller
 * filled the descriptors). Returns 0, or -1 if (head) is out of range or
 * already with the device. The caller notifies the device afterwards. */
int virtq_publish(struct virtq *q, uint16_t head);

/* The next chain the device returned: 1 with *head and *len, 0 if none, or
 * -1 with *why when the device broke the rules (an index that ran ahead of
 * what it holds, a head out of range or not with it); a queue that gave -1
 * must not be used again. */
int virtq_next_used(struct virtq *q, uint16_t *head, uint32_t *len, const char **why);

/* Feature bits this binding knows. */
#define VIRTIO_F_VERSION_1    (1ULL << 32)
#define VIRTIO_NET_F_MTU      (1ULL << 3)
#define VIRTIO_NET_F_MAC      (1ULL << 5)
#define VIRTIO_BLK_F_RO       (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH    (1ULL << 9)

/* The features to accept from (offered): those in (wanted), plus
 * VIRTIO_F_VERSION_1, which a modern device must offer and a legacy one
 * cannot. Returns 0 with *chosen, or -1 with *why. */
int virtio_features_choose(uint64_t offered, int modern, uint64_t wanted, uint64_t *chosen,
                           const char **why);

#endif
