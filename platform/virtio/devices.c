/* devices.c: the virtio binding's devices: none is driven yet, so every acquire is refused by name.
 */
#include "virtio.h"

void virtio_devices_init(void)
{
}

mirage_handle_set_t virtio_devices_ready(void)
{
    return 0;
}

int mirage_net_acquire(const char *name, mirage_handle_t *h, struct mirage_net_info *info)
{
    (void)h;
    (void)info;
    virtio_say("virtio: net device '");
    virtio_say(name);
    virtio_say("': virtio-net is not supported yet\n");
    return MIRAGE_ENOENT;
}

int mirage_net_write(mirage_handle_t h, const uint8_t *buf, size_t size)
{
    (void)h, (void)buf, (void)size;
    return MIRAGE_EINVAL;
}

int mirage_net_read(mirage_handle_t h, uint8_t *buf, size_t size, size_t *read_size)
{
    (void)h, (void)buf, (void)size, (void)read_size;
    return MIRAGE_EINVAL;
}

int mirage_net_writev(mirage_handle_t h, const struct mirage_frame *frames, size_t n, size_t *sent)
{
    (void)h, (void)frames, (void)n;
    *sent = 0;
    return MIRAGE_EINVAL;
}

int mirage_net_readv(mirage_handle_t h, struct mirage_frame *frames, size_t n, size_t *got)
{
    (void)h, (void)frames, (void)n;
    *got = 0;
    return MIRAGE_EINVAL;
}

int mirage_net_stats(mirage_handle_t h, struct mirage_net_stats *st)
{
    (void)h, (void)st;
    return MIRAGE_EINVAL;
}

int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info)
{
    (void)h;
    (void)info;
    virtio_say("virtio: block device '");
    virtio_say(name);
    virtio_say("': virtio-blk is not supported yet\n");
    return MIRAGE_ENOENT;
}

int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf, size_t size)
{
    (void)h, (void)offset, (void)buf, (void)size;
    return MIRAGE_EINVAL;
}

int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    (void)h, (void)offset, (void)buf, (void)size;
    return MIRAGE_EINVAL;
}

int mirage_platform_block_flush(mirage_handle_t h)
{
    (void)h;
    return MIRAGE_EINVAL;
}
