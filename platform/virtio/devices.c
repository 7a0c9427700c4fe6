/* devices.c: the virtio binding's devices at boot, and which of them have input after an interrupt.
 */
#include "virtio.h"

int virtio_polled;

/* net.c */
void virtio_net_ack(unsigned irq);

void virtio_devices_init(void)
{
    virtio_net_init();
}

/* Every line that fired is acknowledged at its devices (reading the ISR
 * lowers a level-triggered line) before mirage_yield unmasks it again. */
mirage_handle_set_t virtio_devices_ready(void)
{
    uint32_t fired = __atomic_exchange_n(&virtio_irq_pending, 0, __ATOMIC_SEQ_CST);

    for (unsigned irq = 1; irq < 16; irq++)
        if (fired & (1u << irq))
            virtio_net_ack(irq);
    return virtio_net_ready();
}

/* virtio-blk is not driven yet: every block device is refused by name. */
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
