/* devices.c: the virtio binding's devices at boot, and which have input after an interrupt. */
#include "virtio.h"

int virtio_polled;

void virtio_devices_init(void)
{
    virtio_net_init();
    virtio_blk_init();
}

/* Every line that fired is acknowledged at its devices (reading the ISR
 * lowers a level-triggered line) before mirage_yield unmasks it again. */
mirage_handle_set_t virtio_devices_ready(void)
{
    uint32_t fired = __atomic_exchange_n(&virtio_irq_pending, 0, __ATOMIC_SEQ_CST);

    for (unsigned irq = 1; irq < 16; irq++)
        if (fired & (1u << irq)) {
            virtio_net_ack(irq);
            virtio_blk_ack(irq);
        }
    return virtio_net_ready();
}
