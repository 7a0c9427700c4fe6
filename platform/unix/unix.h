/* unix.h: state shared by the files of the unix binding. */
#ifndef PLATFORM_UNIX_H
#define PLATFORM_UNIX_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/manifest.h"
#include "mirage/platform.h"

/* What the command line bound to the manifest entry with the same index. */
struct unix_binding {
    const char *path; /* tap name or file; NULL: the device's own name */
    int has_mac;
    uint8_t mac[6];
    int fd;   /* valid once acquired */
    int acquired;
    uint64_t capacity;
    uint16_t mtu;          /* net: the tap's, read when acquired */
    int vnet;              /* net: the tap carries a virtio-net header (IFF_VNET_HDR) */
    uint32_t offered, on;  /* net: MIRAGE_NET_OFFLOAD_* the tap can do, and turned on */
    uint64_t rx_oversized; /* net: frames over mtu + 14 read and dropped */
    int read_only;         /* block: the file is not writable */
    uint32_t sector_size;  /* block: --block-sector-size, 0 for the default 512 */
};
extern struct unix_binding unix_bindings[MIRAGE_MANIFEST_MAX];

/* --net-offload=off: taps are opened without the virtio-net header and
 * offer no offloads (frame by frame, as an old tap). */
extern int unix_net_offload_off;

/* The MTUs a tap may have, as the tenders take them (tender.h). */
#define UNIX_MTU_MIN 68
#define UNIX_MTU_MAX 9000

/* Reads tap (tap)'s MTU into *mtu; says what is wrong on stderr and returns
 * -1 when it cannot be read or is out of range. */
int unix_tap_mtu(const char *tap, uint16_t *mtu);

/* As the tenders do: every declared net device's tap must exist (it is
 * never created); says which does not on stderr and returns -1. */
int unix_taps_check(const char *prog);

/* Index of the manifest entry called (name, len), or -1. */
int unix_manifest_find(const char *name, size_t len);

/* The binding of the device (name) of (type) not yet acquired: its handle,
 * MIRAGE_ENOENT or MIRAGE_EINVAL (acquired already). */
int unix_lookup(const char *name, uint32_t type, struct unix_binding **b);
/* The acquired binding of handle (h) of (type), or NULL. */
struct unix_binding *unix_handle(mirage_handle_t h, uint32_t type);

int unix_mac_parse(const char *s, uint8_t mac[6]);

/* hostfd.c implements platform.h's host descriptors; the event loop polls
 * this descriptor, or -1 while none was ever added. */
int unix_hostfd_pollfd(void);

/* block.c: the eventfd mirage_yield polls for block device (h), readable once
 * its submitted request is done; -1 when none is in flight. */
int unix_block_pollfd(mirage_handle_t h);

#endif
