/* console.c: the virtio binding's console: the first serial port (COM1, 16550), polled. */
#include "virtio.h"

#define COM1          0x3f8
#define LSR_THR_EMPTY 0x20

void virtio_console_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* divisor latch */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc7); /* FIFOs on and cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

/* Bytes go out as they are ("\n" stays "\n"), as on the other targets. The
 * wait for room is bounded: a port that never empties loses bytes rather
 * than hanging the unikernel. */
void mirage_console_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        for (int spin = 0; spin < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); spin++)
            __builtin_ia32_pause();
        outb(COM1, (uint8_t)buf[i]);
    }
}
