/* clock.c: the virtio binding's time: TSC calibrated against the PIT, the RTC's wall clock, HLT
 * idle. */
#include "mirage/cpu.h"
#include "virtio.h"

#define PIT_HZ    1193182ULL
#define PIT_CH0   0x40
#define PIT_CH2   0x42
#define PIT_CMD   0x43
#define PORT_B    0x61 /* bit 0: channel 2's gate; bit 5: its output */
#define PIC1      0x20
#define PIC2      0xa0
#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71

/* The PIT's one-shot reaches 65535 ticks (~55 ms): a longer wait takes several. */
#define PIT_MAX_TICKS   65535ULL
#define CALIBRATE_TICKS 11932 /* 10 ms */

volatile uint32_t virtio_irq_pending;
static uint16_t irq_enabled = 1u << 0 | 1u << 2; /* the timer, and the cascade to PIC2 */
static uint64_t tsc_base, tsc_hz, tsc_mult, wall_base;

static void pic_init(void)
{
    outb(PIC1, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2, 0x11);
    outb(PIC1 + 1, 32); /* ICW2: vectors 32..39 and 40..47 */
    outb(PIC2 + 1, 40);
    outb(PIC1 + 1, 4); /* ICW3: PIC2 on line 2 */
    outb(PIC2 + 1, 2);
    outb(PIC1 + 1, 1); /* ICW4: 8086 mode */
    outb(PIC2 + 1, 1);
    outb(PIC1 + 1, 0xff);
    outb(PIC2 + 1, 0xff);
}

void virtio_irq_enable(unsigned irq)
{
    if (irq < 16)
        irq_enabled |= (uint16_t)(1u << irq);
}

static void pic_unmask(void)
{
    outb(PIC1 + 1, (uint8_t)~irq_enabled);
    outb(PIC2 + 1, (uint8_t) ~(irq_enabled >> 8));
}

static uint16_t pit2_count(void)
{
    uint16_t c;

    outb(PIT_CMD, 0x80); /* latch channel 2 */
    c = inb(PIT_CH2);
    return (uint16_t)(c | inb(PIT_CH2) << 8);
}

/* TSC ticks over (window) PIT ticks, read from channel 2's latched count as
 * it runs down (mode 2, speaker off). Polling channel 2's output bit instead
 * gave windows up to 2.6 times too long under QEMU TCG here. Bounded: a PIT
 * that does not count gives 0. */
static uint64_t tsc_per_window(uint16_t window)
{
    uint16_t c0, c1;
    uint64_t t0, t1;
    uint32_t spins = 0;

    outb(PORT_B, (uint8_t)((inb(PORT_B) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(PIT_CMD, 0xb4);                                   /* channel 2, lo/hi byte, mode 2 */
    outb(PIT_CH2, 0xff);
    outb(PIT_CH2, 0xff);
    c0 = pit2_count();
    t0 = mirage_cpu_tsc();
    do {
        c1 = pit2_count();
        if (++spins > 10000000)
            return 0;
    } while ((uint16_t)(c0 - c1) < window);
    t1 = mirage_cpu_tsc();
    outb(PORT_B, (uint8_t)(inb(PORT_B) & ~0x03));
    return (t1 - t0) * window / (uint16_t)(c0 - c1);
}

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_ADDR, reg);
    return inb(CMOS_DATA);
}

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The RTC's time as nanoseconds since the epoch (its registers read twice
 * alike outside an update); 0 when it makes no sense. */
static uint64_t rtc_ns(void)
{
    uint8_t r[7], again[7];
    static const uint8_t regs[7] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
    uint8_t b;
    unsigned v[7];

    for (int tries = 0; tries < 10; tries++) {
        for (int spin = 0; spin < 1000000 && (cmos(0x0a) & 0x80); spin++)
            ;
        for (int i = 0; i < 7; i++)
            r[i] = cmos(regs[i]);
        for (int i = 0; i < 7; i++)
            again[i] = cmos(regs[i]);
        if (__builtin_memcmp(r, again, sizeof(r)) == 0)
            break;
    }
    b = cmos(0x0b);
    for (int i = 0; i < 7; i++) {
        uint8_t x = i == 2 ? (uint8_t)(r[i] & 0x7f) : r[i];
        v[i] = (b & 0x04) ? x : (unsigned)((x >> 4) * 10 + (x & 15));
    }
    if (!(b & 0x02) && (r[2] & 0x80)) /* 12-hour clock, PM */
        v[2] = (v[2] % 12) + 12;
    else if (!(b & 0x02) && v[2] == 12)
        v[2] = 0;
    if (v[6] < 19 || v[6] > 99)
        v[6] = 20;
    if (v[4] < 1 || v[4] > 12 || v[3] < 1 || v[3] > 31 || v[2] > 23 || v[1] > 59 || v[0] > 60)
        return 0;
    return (uint64_t)((days_from_civil((int64_t)(v[6] * 100 + v[5]), v[4], v[3]) * 86400 +
                       v[2] * 3600 + v[1] * 60 + v[0])) *
           1000000000ULL;
}

void virtio_clock_init(void)
{
    uint64_t ticks;

    pic_init();
    tsc_base = mirage_cpu_tsc();
    tsc_per_window(CALIBRATE_TICKS /
                   10); /* the first run pays for translating the loop under TCG */
    ticks = tsc_per_window(CALIBRATE_TICKS);
    if (ticks == 0) {
        virtio_say("virtio: the PIT never counted down: cannot calibrate the TSC\n");
        mirage_exit(254);
    }
    tsc_hz = ticks * PIT_HZ / CALIBRATE_TICKS;
    tsc_mult = (1000000000ULL << 32) / tsc_hz;
    wall_base = rtc_ns();
}

uint64_t mirage_clock_monotonic(void)
{
    return (uint64_t)(((unsigned __int128)(mirage_cpu_tsc() - tsc_base) * tsc_mult) >> 32);
}

uint64_t mirage_clock_wall(void)
{
    return wall_base + mirage_clock_monotonic();
}

/* Waits in HLT with interrupts on: the PIT's one-shot ends the wait at the
 * deadline (or after its longest count, and we look again), a device's
 * interrupt as soon as it has something. */
void mirage_yield(uint64_t deadline, mirage_handle_set_t *ready)
{
    for (;;) {
        uint64_t now, wait, ticks;

        *ready = virtio_devices_ready();
        now = mirage_clock_monotonic();
        if (*ready || now >= deadline)
            return;
        wait = deadline - now;
        if (virtio_polled && wait > 1000000)
            wait = 1000000; /* a device without an interrupt line: look every ms */
        ticks = wait > 60000000ULL ? PIT_MAX_TICKS : wait * PIT_HZ / 1000000000ULL + 1;
        if (ticks > PIT_MAX_TICKS)
            ticks = PIT_MAX_TICKS;
        outb(PIT_CMD, 0x30); /* channel 0, lo/hi byte, mode 0: one interrupt at the end */
        outb(PIT_CH0, (uint8_t)ticks);
        outb(PIT_CH0, (uint8_t)(ticks >> 8));
        pic_unmask();
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
}
