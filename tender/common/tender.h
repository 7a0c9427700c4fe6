/* tender.h: what mirage-spt and mirage-hvt share: options, ELF image, manifest, devices. */
#ifndef TENDER_H
#define TENDER_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/cmdline.h"
#include "mirage/manifest.h"

/*
 * Exit statuses of a tender. A guest's own exit status (0..255) passes
 * through unchanged; the tender adds these for what ends a guest otherwise.
 */
#define TENDER_EXIT_ABORT   255 /* the guest aborted (abort(), stack smashing) */
#define TENDER_EXIT_FAULT   254 /* a CPU exception: page fault, #GP, #UD, ... */
#define TENDER_EXIT_SANDBOX 253 /* a forbidden system call or a bad hypercall / guest pointer */
/* A device was taken away on the host while the guest ran: its tap was deleted
 * (`ip link del`, or its network namespace went). A host-side failure, not a
 * guest fault: the tender (hvt) or the binding (spt, unix) names the device
 * and the tap and ends the unikernel at once, rather than let it poll a dead
 * descriptor forever. The unix binding exits with the same status. */
#define TENDER_EXIT_LOST    252
#define TENDER_EXIT_REFUSED 125 /* the tender refused to start: options, image, devices */
/* The guest's command line is too long to pass: a bad boot argument, for
 * which a unikernel exits 64 on every target. */
#define TENDER_EXIT_USAGE 64

/* Errors are reported as a message in a caller-provided buffer of this size. */
#define TENDER_ERR_MAX 256

/* Formats a message into (err), TENDER_ERR_MAX bytes, and returns -1: every
 * tender function that refuses says why this way. */
int tender_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options ---------------------------------------------------------- */

/* One --net:NAME=TAP, --net-mac:NAME=MAC or --block:NAME=PATH as given. */
struct tender_devopt {
    char name[MIRAGE_MANIFEST_NAME_MAX];
    const char *value; /* TAP name or PATH (points into argv) */
    int has_mac;
    uint8_t mac[6];
    uint32_t type;        /* MIRAGE_DEV_NET or MIRAGE_DEV_BLOCK */
    uint32_t sector_size; /* block: --block-sector-size, 0 when not given */
};

struct tender_opts {
    uint64_t mem_bytes; /* --mem=MB, default TENDER_MEM_DEFAULT_MB */
    const char *image;  /* path of the unikernel ELF */
    struct tender_devopt devs[MIRAGE_MANIFEST_MAX];
    unsigned ndevs;
    char cmdline[MIRAGE_CMDLINE_MAX]; /* the guest's arguments joined with spaces */
    int help;                         /* --help was given */
    /* --net-offload=on|off (default on): taps carry a virtio-net header and
     * offer checksum and TCP and UDP segmentation offloads to the guest. */
    int net_offload;
    /* The guest's arguments ask only for its help (--help): its
     * declared devices need not be given, since it stops before using them. */
    int guest_help;
    const char *dumpcore; /* --dumpcore[=DIR]: the directory for a core file; NULL: none */
    uint16_t gdb_port;    /* --gdb[=PORT] (hvt): the port gdb attaches to; 0: none */
};

#define TENDER_GDB_PORT 1234

#define TENDER_MEM_DEFAULT_MB 32
/* What the options accept: 512 GiB, all that hvt's guest page tables (one
 * PML4 entry) map. What a run may use is also bounded by the host's memory:
 * tender_mem_check(). */
#define TENDER_MEM_MAX_MB 524288

/* Parses the tender's argv: [--mem=MB] [--net:N=TAP] [--net-mac:N=MAC] [--net-offload=on|off]
 * [--block:N=PATH] [--help] IMAGE [--] [ARGS...]. The guest's ARGS are joined
 * with single spaces into opts->cmdline. Returns 0, -1 with (err) naming a
 * problem of the tender's own (unknown option, bad MB, bad MAC, duplicate
 * device, no image), or TENDER_OPTS_BAD_ARGS with (err) when the guest's
 * command line is longer than MIRAGE_CMDLINE_MAX - 1 (a boot-argument error:
 * the tender exits TENDER_EXIT_USAGE for it). Only the fields in use are
 * written: the unused devs[] entries and the tail of cmdline stay as they were. */
int tender_opts_parse(int argc, char **argv, struct tender_opts *opts, char *err);
#define TENDER_OPTS_BAD_ARGS (-2)

/* Refuses (bytes) of guest memory the host cannot back: more than its
 * physical memory. Guest memory is mapped lazily, so less is always taken.
 * Returns 0 or -1 with (err) naming both sizes. */
int tender_mem_check(uint64_t bytes, char *err);

/* Prints the usage of tender (prog) to stdout. */
void tender_usage(const char *prog);

/* ---- ELF image -------------------------------------------------------- */

#define TENDER_MAX_SEGS 8

/* One PT_LOAD segment, validated: vaddr page-aligned, offset + filesz inside
 * the file, filesz <= memsz, inside [TENDER_IMAGE_MIN, TENDER_IMAGE_MAX),
 * no overlap with another, not both writable and executable. */
struct tender_segment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t filesz;
    uint64_t offset;
    uint32_t flags; /* PF_R | PF_W | PF_X */
};

struct tender_image {
    uint64_t entry;
    uint64_t lo, hi; /* page-aligned span of all segments */
    unsigned nsegs;
    struct tender_segment segs[TENDER_MAX_SEGS];
    unsigned ndevs; /* the manifest, validated */
    struct mirage_manifest_entry devs[MIRAGE_MANIFEST_MAX];
};

/* Images are linked at 1 MiB and must end below 1 GiB. */
#define TENDER_IMAGE_MIN 0x100000ULL
#define TENDER_IMAGE_MAX 0x40000000ULL

/* The PT_INTERP of our images (platform/{spt,hvt}/start.S): a path that does
 * not exist, so the host refuses to execute an image directly; the tenders
 * accept this one and refuse any other (a dynamically linked program). */
#define TENDER_INTERP "/nonexistent/mirage/"

/* Parses and validates the ELF file (data, size) as untrusted input: 64-bit
 * x86_64 ET_EXEC, sane headers, segments as above, an entry point inside an
 * executable segment, exactly one MIRAGE manifest note in a PT_NOTE.
 * Returns 0 or -1 with (err) naming the problem. */
int tender_elf_parse(const uint8_t *data, size_t size, struct tender_image *img, char *err);

/* The offset from (data) of the function symbol (name) in the ELF object
 * (data, size) as loaded in memory (the vDSO), or TENDER_NO_SYMBOL. */
#define TENDER_NO_SYMBOL UINT64_MAX
uint64_t tender_elf_symbol(const uint8_t *data, size_t size, const char *name);

/* The address of the data object (name) in the image's static symbol table
 * (.symtab), or TENDER_NO_SYMBOL (none, or the image is stripped). */
uint64_t tender_elf_object(const uint8_t *data, size_t size, const char *name);

/* Validates a manifest note descriptor (desc, size) into img->devs. */
int tender_manifest_parse(const uint8_t *desc, size_t size, struct tender_image *img, char *err);

/* Reads the file at (path) into memory (*data, *size; free() it) and parses it. */
int tender_image_load(const char *path, uint8_t **data, size_t *size, struct tender_image *img,
                      char *err);

/* ---- devices ---------------------------------------------------------- */

/* A declared device not given because the guest was booted for its help. */
#define TENDER_DEV_ABSENT 0

/* A device bound to the manifest entry at the same index (its handle). */
struct tender_device {
    uint32_t type;    /* MIRAGE_DEV_NET, MIRAGE_DEV_BLOCK or TENDER_DEV_ABSENT */
    int fd;           /* the tap (non-blocking) or the disk image */
    const char *host; /* the TAP name or PATH as given (points into argv), for messages */
    uint8_t mac[6];
    uint16_t mtu;        /* net: the tap's MTU when it was opened */
    int vnet;            /* net: opened with IFF_VNET_HDR (a virtio-net header per frame) */
    uint32_t offloads;   /* net: MIRAGE_NET_OFFLOAD_* the tap takes (all off until asked) */
    uint64_t capacity;   /* block: bytes */
    uint64_t block_size; /* block: 512 or 4096 */
    int read_only;       /* block: the image is not writable: opened read-only */
};

/* Matches opts->devs to img->devs by name and type and opens each: a declared
 * device not given, a given one not declared, or a type mismatch is refused
 * naming the device, except that with opts->guest_help a declared device not
 * given is left absent (type TENDER_DEV_ABSENT, fd -1): the guest's binding
 * refuses to acquire it. Taps are opened by name (IFF_TAP|IFF_NO_PI, O_NONBLOCK),
 * the MAC is --net-mac or a random locally administered one; a disk image
 * must be a regular file whose size is a non-zero whole number of sectors.
 * devs[i] corresponds to img->devs[i]. Returns 0 or -1 with (err). */
int tender_devices_open(const struct tender_opts *opts, const struct tender_image *img,
                        struct tender_device *devs, char *err);

/* Opens the tap device (name); returns the fd or -1 with (err). */
int tender_tap_open(const char *name, char *err);

/* As tender_tap_open; with (vnet) and a kernel that has it, the tap carries
 * a virtio-net header (IFF_VNET_HDR, 10 bytes) before each frame, *vnet_on
 * says whether it does and *offloads what TUNSETOFFLOAD takes
 * (MIRAGE_NET_OFFLOAD_*), left all off: the guest turns them on. */
int tender_tap_open_vnet(const char *name, int vnet, int *vnet_on, uint32_t *offloads, char *err);

/* The MTUs a tap may have: IPv4's least, and jumbo frames. */
#define TENDER_MTU_MIN 68
#define TENDER_MTU_MAX 9000

/* Reads the MTU of tap (name) into *mtu (SIOCGIFMTU); refuses one outside
 * TENDER_MTU_MIN..TENDER_MTU_MAX. Returns 0 or -1 with (err). */
int tender_tap_mtu(const char *name, uint16_t *mtu, char *err);

/* ---- core files (core.c): --dumpcore[=DIR] -------------------------------------------------- */

/* The core file, made before the sandbox as an unnamed file in DIR; written
 * and named DIR/core.PROG.PID only when the guest faults or aborts. */
struct tender_core {
    int fd, dirfd; /* -1: no --dumpcore */
    char name[64]; /* core.PROG.PID */
    char path[4160];
    /* linkat's "" and name, in a read-only page: the filters pin these pointers */
    const char *link_old, *link_new;
};

/* The guest's registers in the order of Linux's user_regs_struct (x86_64). */
struct tender_core_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax;
    uint64_t rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};

struct tender_core_info {
    struct tender_core_regs regs;
    int signo;        /* SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGABRT, ... */
    const char *name; /* the unikernel's, for gdb's "Core was generated by" */
    const char *text; /* the note: the fiber that ran and what happened */
};

/* A range of guest memory [vaddr, vaddr + len) (page-aligned) at (data) in
 * the tender; skip (may be NULL) says which pages not to write (guard pages);
 * readable: every page not skipped can be read (all-zero ones are left as holes). */
struct tender_core_region {
    uint64_t vaddr, len;
    const uint8_t *data;
    int (*skip)(void *ctx, uint64_t vaddr);
    void *ctx;
    int readable;      /* hvt: all of it can be read (zero pages are left out) */
    int resident_only; /* spt: pages never touched (mincore) are left out */
};

/* Prepares (c) for DIR (before the sandbox). 0, or -1 with (err). */
int tender_core_open(struct tender_core *c, const char *dir, const char *prog, char *err);

/* Writes the core: ELF header, a PT_NOTE (NT_PRSTATUS, NT_PRPSINFO and a
 * MIRAGE note with info->text) and a PT_LOAD per region, then links it into
 * its directory. Only raw system calls on c->fd and c->dirfd (safe in spt's
 * fault handler). Returns 0 or a negative errno. */
int tender_core_write(const struct tender_core *c, const struct tender_core_info *info,
                      const struct tender_core_region *rg, unsigned n);

#endif
