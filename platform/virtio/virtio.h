/* virtio.h: what the virtio binding's files share: port I/O, the boot state, interrupts, devices.
 */
#ifndef PLATFORM_VIRTIO_H
#define PLATFORM_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/platform.h"

/*
 * The unikernel runs alone in ring 0 of a virtual machine: no tender checks
 * anything for it. Interrupts are off (IF = 0) except inside mirage_yield's
 * HLT; every interrupt and exception runs on an IST stack of its own, so the
 * red zone of the interrupted code is never overwritten.
 */

#define VIRTIO_PAGE 4096ULL

static inline __attribute__((always_inline)) void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline __attribute__((always_inline)) uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline __attribute__((always_inline)) uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline __attribute__((always_inline)) uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/* boot.c: writes (s) to the console; for the binding's own messages. */
void virtio_say(const char *s);
/* boot.c: writes (v) in hexadecimal (0x...) or decimal to the console. */
void virtio_say_hex(uint64_t v);
void virtio_say_dec(uint64_t v);

/* boot.c: identity-maps [phys, phys + len) uncached, not executable, for a
 * device's registers. Returns 0, or -1 when the binding's spare page-table
 * pages are used up. */
int virtio_map_mmio(uint64_t phys, uint64_t len);

/* console.c: the serial port (COM1) at boot. */
void virtio_console_init(void);

/* clock.c: the PIC remapped to vectors 32..47 with every line masked, the TSC
 * calibrated against the PIT, the wall clock read from the RTC. */
void virtio_clock_init(void);

/* start.S's interrupt stubs set bit n when IRQ line n fired (and mask it). */
extern volatile uint32_t virtio_irq_pending;

/* clock.c: lets IRQ line (irq) (0..15) wake mirage_yield. */
void virtio_irq_enable(unsigned irq);

/* pci.c / net.c / blk.c: found at boot, before the heap exists (their
 * registers are mapped then). The handles with work pending, and a device's
 * interrupt acknowledged. */
void virtio_devices_init(void);
mirage_handle_set_t virtio_devices_ready(void);

#endif
