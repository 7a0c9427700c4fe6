/* device.h: the platform network devices a generated main.c connects and hands to start (block.h:
 * disks). */
#ifndef MIRAGE_DEVICE_H
#define MIRAGE_DEVICE_H

#include "mirage/platform.h"

struct mirage_netif_ops;
struct mirage_netif_state;

/* A network interface of the manifest, connected before start runs. The
 * fields after info are lib/net's (see mirage/netif.h): zero-initialise them. */
struct mirage_netif {
    const char *name; /* its manifest name ("service", "tap0", ...) */
    mirage_handle_t handle;
    struct mirage_net_info info;
    const struct mirage_netif_ops *ops; /* NULL: the platform device (handle) */
    void *ops_ctx;
    struct mirage_netif_state *state; /* buffers, receive fiber, counters */
};

/* Says "PROG: cannot connect the KIND device 'NAME': REASON" on the console
 * and returns 1, the unikernel's exit status for it (lib/runtime/device.c). */
int mirage_device_connect_failed(const char *prog, const char *kind, const char *name, int err);

#endif
