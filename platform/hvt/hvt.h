/* hvt.h: what the hvt binding's files share: the boot info and the hypercall instruction. */
#ifndef PLATFORM_HVT_H
#define PLATFORM_HVT_H

#include <stdint.h>

#include "mirage/abi/hvt.h"
#include "mirage/platform.h"

extern const struct hvt_boot_info *hvt_boot;

/* Hypercall (n) with the argument struct at (arg); the vCPU stops until the
 * tender is done. The port carries 32 bits, so (arg) must lie below 4 GiB:
 * the binding keeps its argument structs static (in the image, which ends
 * below 1 GiB), never on a stack, which is at the top of guest memory or a
 * fiber's in the heap, both above 4 GiB with --mem over 4096. */
#define hvt_hypercall(n, arg)                                                                      \
    __asm__ volatile("outl %0, %1"                                                                 \
                     :                                                                             \
                     : "a"((uint32_t)(uintptr_t)(arg)), "N"(HVT_PORT_BASE + (n))                   \
                     : "memory")

/* net.c: the handles with a frame waiting in their RX ring. */
mirage_handle_set_t hvt_net_ready(void);

/* net.c: kicks the tender's network thread for TX frames published since the
 * last call, unless (handed_over): the guest is about to yield, and the
 * tender drains every TX ring when it does. */
void hvt_net_kick(int handed_over);

#endif
