/* load.c: maps the unikernel's segments straight from its file, and the guest memory above them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spt.h"

#define PAGE           4096ULL
#define IMAGE_SIZE_MAX (64ULL << 20)
#define STACK_MAX      (1ULL << 20)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Segment flags from the ELF specification. */
#define PF_X 1
#define PF_W 2
#define PF_R 4

static uint64_t page_up(uint64_t x)
{
    return (x + PAGE - 1) & ~(PAGE - 1);
}

__attribute__((format(printf, 2, 3))) static int fail(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, TENDER_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

int spt_image_open(const char *path, struct tender_image *img, char *err)
{
    char msg[TENDER_ERR_MAX];
    struct stat st;
    void *data;
    int fd;

    /* O_NONBLOCK so that a FIFO given by mistake cannot hang the open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return fail(err, "image '%s': cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        fail(err, "image '%s': cannot stat: %s", path, strerror(errno));
        goto bad;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(err, "image '%s' is %s", path,
             S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        goto bad;
    }
    if (st.st_size == 0 || (uint64_t)st.st_size > IMAGE_SIZE_MAX) {
        fail(err, "image '%s' %s", path,
             st.st_size == 0 ? "is empty" : "is larger than the limit of 64 MiB");
        goto bad;
    }
    /* The parse reads the page cache through this mapping: no copy. It stays
     * mapped, read-only, for the whole run: the guest may read its own file. */
    data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
        fail(err, "image '%s': cannot map: %s", path, strerror(errno));
        goto bad;
    }
    if (tender_elf_parse(data, (size_t)st.st_size, img, msg) < 0) {
        fail(err, "image '%s': %s", path, msg);
        goto bad;
    }
    return fd;
bad:
    close(fd);
    return -1;
}

static int prot_of(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
           (flags & PF_X ? PROT_EXEC : 0);
}

static int map_at(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off, char *err)
{
    void *p =
        mmap((void *)addr, len, prot, flags | MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, (off_t)off);

    if (p == (void *)addr)
        return 0;
    if (p != MAP_FAILED)
        munmap(p, len); /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
    return fail(err, "cannot map guest memory at 0x%llx-0x%llx: %s", (unsigned long long)addr,
                (unsigned long long)(addr + len), p == MAP_FAILED ? strerror(errno) : "taken");
}

/* The slow path for a segment whose file offset is not page-aligned, or a
 * read-only one with bss: anonymous pages filled by pread, then protected. */
static int copy_segment(int fd, const struct tender_segment *s, char *err)
{
    uint64_t len = page_up(s->memsz);
    uint64_t got = 0;

    if (map_at(s->vaddr, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS, -1, 0, err) < 0)
        return -1;
    while (got < s->filesz) {
        ssize_t n = pread(fd, (char *)s->vaddr + got, s->filesz - got, (off_t)(s->offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(err, "cannot read the image: %s", n < 0 ? strerror(errno) : "it shrank");
        got += (uint64_t)n;
    }
    if (mprotect((void *)s->vaddr, len, prot_of(s->flags)) < 0)
        return fail(err, "cannot protect guest memory: %s", strerror(errno));
    return 0;
}

static int map_segment(int fd, const struct tender_segment *s, char *err)
{
    int prot = prot_of(s->flags);
    uint64_t file_end = page_up(s->filesz);
    uint64_t mem_end = page_up(s->memsz);

    /* The parser refuses these; a second look costs nothing. */
    if ((s->flags & PF_W) && (s->flags & PF_X))
        return fail(err, "segment at 0x%llx is writable and executable",
                    (unsigned long long)s->vaddr);
    if (s->offset % PAGE != 0 || (s->memsz > s->filesz && !(prot & PROT_WRITE)))
        return copy_segment(fd, s, err);
    if (s->filesz > 0 && map_at(s->vaddr, file_end, prot, 0, fd, s->offset, err) < 0)
        return -1;
    /* The file's last page continues past the segment: its bss part is zeroed. */
    if (s->memsz > s->filesz && s->filesz % PAGE != 0)
        memset((char *)s->vaddr + s->filesz, 0, file_end - s->filesz);
    if (mem_end > file_end &&
        map_at(s->vaddr + file_end, mem_end - file_end, prot, MAP_ANONYMOUS, -1, 0, err) < 0)
        return -1;
    return 0;
}

int spt_image_map(int fd, const struct tender_image *img, char *err)
{
    for (unsigned i = 0; i < img->nsegs; i++)
        if (map_segment(fd, &img->segs[i], err) < 0)
            return -1;
    return 0;
}

int spt_guest_map(uint64_t base, uint64_t bytes, struct spt_guest_mem *mem, char *err)
{
    uint64_t info = page_up(sizeof(struct spt_boot_info));
    uint64_t stack = bytes / 4 < STACK_MAX ? (bytes / 4) & ~(PAGE - 1) : STACK_MAX;
    uint64_t top = base + bytes;
    uint64_t guard = top - stack - PAGE;

    if (bytes % PAGE != 0 || bytes < info + 2 * PAGE + stack + PAGE)
        return fail(err, "--mem is too small for the guest");
    /* Lazily backed: untouched memory costs nothing, however large --mem is. */
    if (map_at(base, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, err) < 0)
        return -1;
    /* A stack overflow faults here rather than running into the heap. */
    if (mprotect((void *)guard, PAGE, PROT_NONE) < 0)
        return fail(err, "cannot protect the stack guard: %s", strerror(errno));
    mem->boot = (struct spt_boot_info *)base;
    mem->boot->heap_start = base + info;
    mem->boot->heap_size = guard - (base + info);
    mem->stack_top = top;
    mem->guard = guard;
    return 0;
}
