/* boot.c: the virtio binding's boot: boot information, W^X page tables, GDT/TSS/IDT, faults, heap,
 * exit. */
#include <string.h>

#include "mirage/cmdline.h"
#include "mirage/cpu.h"
#include "mirage/manifest.h"
#include "mirage/sched.h"
#include "mirage/tcb.h"
#include "virtio.h"

extern char _virtio_load[], _virtio_rodata[], _virtio_data[], _end[];
extern char virtio_boot_stack_guard[], virtio_boot_stack[];
extern const uint64_t virtio_exc_stubs[32], virtio_irq_stubs[16];

#define PTE_P     0x1ULL
#define PTE_W     0x2ULL
#define PTE_PWT   0x8ULL
#define PTE_PCD   0x10ULL
#define PTE_NX    (1ULL << 63)
#define PTE_ADDR  0x000ffffffffff000ULL
#define BOOT_MAP  (1ULL << 30) /* what start.S's tables map */
#define MEM_MAX   (64ULL << 30)
#define MMIO_POOL 32 /* page-table pages kept for device registers */

#define MB_MAGIC  0x2badb002
#define PVH_MAGIC 0x336ec578

/* ISA debug exit (QEMU -device isa-debug-exit,iobase=0xf4,iosize=4): QEMU
 * exits with (value << 1) | 1. ACPI PM1a control of QEMU's PIIX4 and ICH9 as
 * SeaBIOS sets them up: SLP_EN with S5's type (0) powers off. */
#define DEBUG_EXIT_PORT 0xf4
#define ACPI_PM1A_CNT   0x604

static char cmdline[MIRAGE_CMDLINE_MAX];
static char name[64] = "unikernel";
static int cmdline_too_long;
static uint64_t mem_end;
static uint64_t pt_next, pt_limit;
static uint64_t *pml4;
static uintptr_t heap_start;
static size_t heap_size;

/* ---- console helpers ---------------------------------------------------- */

void virtio_say(const char *s)
{
    mirage_console_write(s, strlen(s));
}

void virtio_say_hex(uint64_t v)
{
    char b[19];
    int i = 18;

    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && i > 2);
    b[--i] = 'x';
    b[--i] = '0';
    virtio_say(b + i);
}

void virtio_say_dec(uint64_t v)
{
    char b[21];
    int i = 20;

    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    virtio_say(b + i);
}

int virtio_say_unusable(const char *kind, const char *dev, const char *model, int index,
                        const char *why)
{
    virtio_say("virtio: ");
    virtio_say(kind);
    virtio_say(" device '");
    virtio_say(dev);
    virtio_say("' (");
    virtio_say(model);
    virtio_say(" #");
    virtio_say_dec((uint64_t)index);
    virtio_say(" in PCI order): ");
    virtio_say(why);
    virtio_say("\n");
    return -1;
}

uint64_t virtio_setup_each(uint32_t type, int (*setup)(uint32_t entry, int index))
{
    uint64_t ok = 0;
    int index = 0;

    for (uint32_t i = 0; i < mirage_manifest.count; i++)
        if (mirage_manifest.entries[i].type == type && setup(i, index++) == 0)
            ok |= 1ULL << i;
    return ok;
}

int virtio_acquire(uint32_t type, const char *dev, uint64_t present, uint64_t *acquired)
{
    for (uint32_t i = 0; i < mirage_manifest.count; i++) {
        if (mirage_manifest.entries[i].type != type || strcmp(mirage_manifest.entries[i].name, dev))
            continue;
        if (!(present & (1ULL << i)))
            return MIRAGE_ENOENT;
        if (*acquired & (1ULL << i))
            return MIRAGE_EINVAL;
        *acquired |= 1ULL << i;
        return (int)i;
    }
    return MIRAGE_ENOENT;
}

/* ---- boot information --------------------------------------------------- */

/* Reads a 32- or 64-bit word of the boot information, which lies in the
 * first GiB that start.S mapped; anything beyond reads as 0. */
static uint64_t rd(uint64_t addr, int size)
{
    uint64_t v = 0;

    if (addr == 0 || addr + (uint64_t)size > BOOT_MAP)
        return 0;
    memcpy(&v, (const void *)(uintptr_t)addr, (size_t)size);
    return v;
}

/* A RAM region: the one that holds the image (at 1 MiB) sets mem_end. */
static void ram_region(uint64_t base, uint64_t len, uint32_t type)
{
    if (type == 1 && base <= (uint64_t)(uintptr_t)_virtio_load &&
        base + len > (uint64_t)(uintptr_t)_virtio_load)
        mem_end = base + len;
}

/* Takes the command line: (skip_image) drops its first word, the image's
 * path under multiboot, after taking its file name (without ".virtio") as
 * the unikernel's name. */
static void take_cmdline(uint64_t addr, int skip_image)
{
    size_t n = 0, len = 0;
    char c;

    if (addr == 0)
        return;
    if (skip_image) {
        const char *base = NULL;
        size_t i = 0;

        while (i < 4096 && (c = (char)rd(addr + i, 1)) != 0 && c != ' ' && c != '\t') {
            if (c == '/')
                base = NULL;
            else if (base == NULL)
                base = (const char *)(uintptr_t)(addr + i);
            i++;
        }
        if (base != NULL) {
            len = (size_t)((const char *)(uintptr_t)(addr + i) - base);
            if (len > 7 && memcmp(base + len - 7, ".virtio", 7) == 0)
                len -= 7;
            if (len > 0 && len < sizeof(name)) {
                memcpy(name, base, len);
                name[len] = 0;
            }
        }
        while ((c = (char)rd(addr + i, 1)) == ' ' || c == '\t')
            i++;
        addr += i;
    }
    while ((c = (char)rd(addr + n, 1)) != 0) {
        if (n + 1 >= sizeof(cmdline)) {
            cmdline_too_long = 1;
            break;
        }
        cmdline[n++] = c;
    }
    cmdline[n] = 0;
}

static void parse_multiboot(uint64_t mbi)
{
    uint32_t flags = (uint32_t)rd(mbi, 4);

    if (flags & (1u << 6)) {
        uint64_t p = rd(mbi + 48, 4), end = p + rd(mbi + 44, 4);

        for (int i = 0; p + 24 <= end && i < 128; i++) {
            ram_region(rd(p + 4, 8), rd(p + 12, 8), (uint32_t)rd(p + 20, 4));
            p += rd(p, 4) + 4;
        }
    }
    if (mem_end == 0 && (flags & 1))
        mem_end = 0x100000 + rd(mbi + 8, 4) * 1024;
    if (flags & (1u << 2))
        take_cmdline(rd(mbi + 16, 4), 1);
}

static void parse_pvh(uint64_t si)
{
    uint64_t map = rd(si + 40, 8);
    uint32_t n = (uint32_t)rd(si + 48, 4);

    if (rd(si, 4) != PVH_MAGIC)
        return;
    for (uint32_t i = 0; rd(si + 4, 4) >= 1 && i < n && i < 128; i++)
        ram_region(rd(map + 24 * i, 8), rd(map + 24 * i + 8, 8),
                   (uint32_t)rd(map + 24 * i + 16, 4));
    take_cmdline(rd(si + 24, 8), 0);
}

/* ---- page tables -------------------------------------------------------- */

static uint64_t *pt_alloc(void)
{
    uint64_t *p;

    if (pt_next + VIRTIO_PAGE > pt_limit)
        return NULL;
    p = (uint64_t *)(uintptr_t)pt_next;
    pt_next += VIRTIO_PAGE;
    memset(p, 0, VIRTIO_PAGE);
    return p;
}

/* The last-level entry that maps (va), with the tables above it made. */
static uint64_t *pte_of(uint64_t va)
{
    uint64_t *t = pml4;

    for (int level = 3; level > 0; level--) {
        unsigned i = (unsigned)(va >> (12 + 9 * level)) & 511;

        if (!(t[i] & PTE_P)) {
            uint64_t *n = pt_alloc();

            if (n == NULL)
                return NULL;
            t[i] = (uint64_t)(uintptr_t)n | PTE_P | PTE_W;
        }
        t = (uint64_t *)(uintptr_t)(t[i] & PTE_ADDR);
    }
    return &t[(va >> 12) & 511];
}

static int map(uint64_t start, uint64_t end, uint64_t flags)
{
    for (uint64_t va = start; va < end; va += VIRTIO_PAGE) {
        uint64_t *e = pte_of(va);

        if (e == NULL)
            return -1;
        *e = va | flags;
    }
    return 0;
}

static void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Identity maps from 1 MiB up: text RX, rodata R, data and bss RW NX with
 * the boot stack's guard page left out, the rest of RAM RW NX. Page 0 and
 * everything below the image stay unmapped. */
static void page_tables(void)
{
    uint64_t text = (uintptr_t)_virtio_load, ro = (uintptr_t)_virtio_rodata;
    uint64_t data = (uintptr_t)_virtio_data, end = (uintptr_t)_end;
    uint64_t guard = (uintptr_t)virtio_boot_stack_guard;
    uint64_t tables;

    pt_next = end;
    /* One page of last-level entries per 2 MiB, the levels above, the pool. */
    tables = (mem_end / (2ULL << 20) + mem_end / (1ULL << 30) + 8 + MMIO_POOL) * VIRTIO_PAGE;
    pt_limit = end + tables;
    pml4 = pt_alloc();
    if (map(text, ro, PTE_P) || map(ro, data, PTE_P | PTE_NX) ||
        map(data, guard, PTE_P | PTE_W | PTE_NX) ||
        map(guard + VIRTIO_PAGE, end, PTE_P | PTE_W | PTE_NX) ||
        map(end, mem_end, PTE_P | PTE_W | PTE_NX)) {
        virtio_say("virtio: cannot build the page tables\n");
        mirage_exit(254);
    }
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");
    heap_start = (uintptr_t)pt_limit;
    heap_size = mem_end > pt_limit ? (size_t)(mem_end - pt_limit) : 0;
    /* What is left of the page-table budget serves device registers. */
    pt_limit = pt_next + MMIO_POOL * VIRTIO_PAGE;
    if (pt_limit > heap_start)
        pt_limit = heap_start;
}

void *virtio_boot_alloc(size_t bytes)
{
    void *p = (void *)heap_start;

    bytes = (bytes + VIRTIO_PAGE - 1) & ~(size_t)(VIRTIO_PAGE - 1);
    if (bytes > heap_size / 2)
        return NULL;
    heap_start += bytes;
    heap_size -= bytes;
    memset(p, 0, bytes);
    return p;
}

int virtio_map_mmio(uint64_t phys, uint64_t len)
{
    uint64_t start = phys & ~(VIRTIO_PAGE - 1);

    for (uint64_t va = start; va < phys + len; va += VIRTIO_PAGE) {
        uint64_t *e;

        if (va >= (uintptr_t)_virtio_load && va < mem_end)
            return -1; /* never over RAM */
        e = pte_of(va);
        if (e == NULL)
            return -1;
        *e = va | PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_NX;
        invlpg(va);
    }
    return 0;
}

int mirage_mem_guard(void *page, size_t len, int guard)
{
    uint64_t va = (uintptr_t)page;

    if (va % VIRTIO_PAGE || len == 0 || len % VIRTIO_PAGE || va < heap_start ||
        len > heap_start + heap_size - va)
        return MIRAGE_EINVAL;
    for (uint64_t p = va; p < va + len; p += VIRTIO_PAGE) {
        uint64_t *e = pte_of(p);

        if (e == NULL)
            return MIRAGE_EINVAL;
        *e = guard ? (*e & ~PTE_P) : (p | PTE_P | PTE_W | PTE_NX);
        invlpg(p);
    }
    return 0;
}

/* ---- descriptors: GDT with a TSS whose IST stacks take every interrupt -- */

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap;
} __attribute__((packed));

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, attr;
    uint16_t off1;
    uint32_t off2, zero;
};

static uint64_t gdt[5];
static struct tss tss;
static struct idt_entry idt[48];
static uint8_t ist_fault[16384] __attribute__((aligned(16)));
static uint8_t ist_irq[4096] __attribute__((aligned(16)));

static void gate(int v, uint64_t addr, uint8_t ist)
{
    idt[v] = (struct idt_entry){(uint16_t)addr,         0x08, ist, 0x8e, (uint16_t)(addr >> 16),
                                (uint32_t)(addr >> 32), 0};
}

static void descriptors(void)
{
    uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } gp = {sizeof(gdt) - 1, (uintptr_t)gdt}, ip = {sizeof(idt) - 1, (uintptr_t)idt};

    tss.ist[0] = (uintptr_t)(ist_fault + sizeof(ist_fault));
    tss.ist[1] = (uintptr_t)(ist_irq + sizeof(ist_irq));
    tss.iomap = sizeof(tss);
    gdt[1] = 0x00209a0000000000ULL;
    gdt[2] = 0x0000920000000000ULL;
    gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
             ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[4] = base >> 32;
    for (int v = 0; v < 32; v++)
        gate(v, virtio_exc_stubs[v], 1);
    for (int v = 0; v < 16; v++)
        gate(32 + v, virtio_irq_stubs[v], 2);
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl $0x10, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "movw $0x18, %%ax\n\t"
                     "ltr %%ax\n\t"
                     "lidt %1"
                     :
                     : "m"(gp), "m"(ip)
                     : "rax", "memory");
}

/* ---- faults ------------------------------------------------------------- */

/* Called by start.S's stubs on the IST stack with (f) = vector, error code,
 * rip, cs, rflags, rsp, ss. Reports and ends the unikernel with 254. */
__attribute__((noreturn)) void virtio_fault(const uint64_t *f);
__attribute__((noreturn)) void virtio_fault(const uint64_t *f)
{
    uint64_t v = f[0] & 31, ec = f[1], rip = f[2], cr2;
    uint64_t bguard = (uintptr_t)virtio_boot_stack_guard;
    const char *owner;

    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    if (v == 14 && cr2 >= bguard && cr2 < bguard + VIRTIO_PAGE) {
        virtio_say("virtio: guest fault: stack overflow of the boot stack (guard page at ");
        virtio_say_hex(bguard);
        virtio_say(", rip ");
        virtio_say_hex(rip);
        virtio_say(")\n");
    } else if (v == 14 && (owner = mirage_sched_guard_owner(cr2)) != NULL) {
        virtio_say("virtio: guest fault: stack overflow of fiber '");
        virtio_say(owner);
        virtio_say("' (guard page at ");
        virtio_say_hex(cr2 & ~(VIRTIO_PAGE - 1));
        virtio_say(", rip ");
        virtio_say_hex(rip);
        virtio_say(")\n");
    } else if (v == 14) {
        virtio_say("virtio: guest fault: #PF (page fault) ");
        virtio_say(ec & 0x10 ? "executing " : ec & 2 ? "writing " : "reading ");
        virtio_say_hex(cr2);
        virtio_say(" at rip ");
        virtio_say_hex(rip);
        virtio_say(ec & 1 ? ": protection violation (error code "
                          : ": page not present (error code ");
        virtio_say_hex(ec);
        virtio_say(")\n");
    } else {
        virtio_say("virtio: guest fault: ");
        virtio_say(mirage_cpu_vector_name(v));
        virtio_say(" at rip ");
        virtio_say_hex(rip);
        virtio_say(" (error code ");
        virtio_say_hex(ec);
        virtio_say(", rsp ");
        virtio_say_hex(f[5]);
        virtio_say(")\n");
    }
    mirage_exit(254);
}

/* ---- entry -------------------------------------------------------------- */

/* start.S calls this in long mode on the boot stack: (kind) 1 multiboot, 2
 * PVH, (info) the loader's boot information. FS moves to the libc's TCB in
 * mirage_tcb_init_seeded(), so this frame must carry no canary. */
__attribute__((no_stack_protector, noreturn)) void virtio_start(int kind, uint64_t info);
__attribute__((no_stack_protector, noreturn)) void virtio_start(int kind, uint64_t info)
{
    mirage_tcb_init_seeded(NULL); /* no host seed: the canary comes from the CPU */
    virtio_console_init();
    if (kind == 1)
        parse_multiboot(info);
    else
        parse_pvh(info);
    if (mem_end > MEM_MAX)
        mem_end = MEM_MAX;
    if (mem_end < (uintptr_t)_end + (4ULL << 20)) {
        virtio_say(
            "virtio: no memory map from the boot loader, or less than 4 MiB above the image\n");
        mirage_exit(254);
    }
    page_tables();
    descriptors();
    virtio_clock_init();
    virtio_devices_init();
    if (cmdline_too_long) {
        virtio_say(name);
        virtio_say(": bad boot arguments: command line longer than ");
        virtio_say_dec(sizeof(cmdline) - 1);
        virtio_say(" bytes\n");
        mirage_exit(64);
    }
    mirage_exit(mirage_boot(name));
}

const char *mirage_cmdline(void)
{
    return cmdline;
}

/* No host hands randomness to a VM here: the generator seeds from the CPU. */
size_t mirage_host_entropy(void *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 0;
}

void mirage_heap(uintptr_t *start, size_t *size)
{
    *start = heap_start;
    *size = heap_size;
}

__attribute__((no_stack_protector)) int mirage_set_tls_base(uintptr_t base)
{
    uint32_t lo = (uint32_t)base, hi = (uint32_t)(base >> 32);

    __asm__ volatile("wrmsr" : : "c"(0xc0000100u), "a"(lo), "d"(hi) : "memory");
    return 0;
}

/* The status reaches QEMU's exit code through the debug-exit device as
 * (status << 1) | 1; without that device the VM powers off (libvirt). */
static __attribute__((noreturn)) void stop(int status)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)status);
    virtio_say("virtio: exit status ");
    virtio_say_dec((uint64_t)(status & 0xff));
    virtio_say(" (no isa-debug-exit device): powering off\n");
    outw(ACPI_PM1A_CNT, 1 << 13);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void mirage_exit(int status)
{
    stop(status & 0xff);
}

void mirage_abort(void)
{
    stop(255);
}
