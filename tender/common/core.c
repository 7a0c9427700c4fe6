/* core.c: an ELF core file of a guest that faulted or aborted, readable by gdb IMAGE CORE. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "tender.h"

/*
 * Writing runs in the spt tender's fault handler too, where FS points at the
 * guest's TCB: so no errno, no stack protector, no stdio, only raw system
 * calls, each of which the tenders' filters allow for the core file's
 * descriptor alone (pwrite64, ftruncate, linkat of it into its directory).
 */
#define NOSP        __attribute__((no_stack_protector))
#define PAGE        4096ull
#define NOTE_MIRAGE 0x4d47 /* our note's type in the "MIRAGE" namespace */

NOSP static long sys6(long n, long a, long b, long c, long d, long e)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}

NOSP static int put(int fd, const void *buf, uint64_t len, uint64_t off)
{
    const uint8_t *p = buf;

    while (len > 0) {
        long n = sys6(18 /* pwrite64 */, fd, (long)p, (long)len, (long)off, 0);

        if (n == -4 /* EINTR */)
            continue;
        if (n <= 0)
            return n < 0 ? (int)n : -5;
        p += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int tender_core_open(struct tender_core *c, const char *dir, const char *prog, char *err)
{
    char *page;

    c->fd = c->dirfd = -1;
    c->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0)
        return tender_fail(err, "--dumpcore: directory '%s': %m", dir);
    /* Unnamed until there is something in it: a run that ends well leaves nothing. */
    c->fd = openat(c->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (c->fd < 0) {
        tender_fail(err, "--dumpcore: cannot make a file in '%s': %m", dir);
        close(c->dirfd);
        c->dirfd = -1;
        return -1;
    }
    snprintf(c->name, sizeof(c->name), "core.%s.%d", prog, (int)getpid());
    snprintf(c->path, sizeof(c->path), "%s/%s", dir, c->name);
    /* linkat's two names in a page of their own, then read-only: the filters
     * allow linkat with these very pointers only, and an spt guest, which
     * shares the tender's address space, can neither change them nor make
     * the page writable again (it may mprotect its heap alone). */
    page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        tender_fail(err, "--dumpcore: %m");
        close(c->fd);
        close(c->dirfd);
        c->fd = c->dirfd = -1;
        return -1;
    }
    page[0] = '\0';
    memcpy(page + 8, c->name, strlen(c->name) + 1);
    if (mprotect(page, PAGE, PROT_READ) < 0) {
        tender_fail(err, "--dumpcore: %m");
        close(c->fd);
        close(c->dirfd);
        c->fd = c->dirfd = -1;
        return -1;
    }
    c->link_old = page;
    c->link_new = page + 8;
    return 0;
}

NOSP static uint32_t note(uint8_t *p, const char *name, uint32_t type, const void *desc,
                          uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1, at = 12;

    memcpy(p, &namesz, 4);
    memcpy(p + 4, &descsz, 4);
    memcpy(p + 8, &type, 4);
    memcpy(p + at, name, namesz);
    at += (namesz + 3) & ~3u;
    memcpy(p + at, desc, descsz);
    at += (descsz + 3) & ~3u;
    return at;
}

NOSP static int zero_page(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;

    for (unsigned i = 0; i < PAGE / 8; i++)
        if (w[i])
            return 0;
    return 1;
}

NOSP int tender_core_write(const struct tender_core *c, const struct tender_core_info *info,
                           const struct tender_core_region *rg, unsigned n)
{
    /* The notes: NT_PRSTATUS (registers and signal), NT_PRPSINFO (the name),
     * and ours, the fiber that was running and what happened, as text. */
    static uint8_t notes[sizeof(struct elf_prstatus) + sizeof(struct elf_prpsinfo) + 512];
    static struct elf_prstatus st;
    static struct elf_prpsinfo ps;
    static unsigned char vec[4096]; /* mincore's answer for 16 MiB */
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    uint64_t off, data_off, end = 0;
    uint32_t nlen = 0, tlen = (uint32_t)strnlen(info->text, 255);
    char text[256];
    int r;

    if (c->fd < 0)
        return -9; /* EBADF */
    memset(&st, 0, sizeof(st));
    st.pr_info.si_signo = info->signo;
    st.pr_cursig = (short)info->signo;
    st.pr_pid = 1;
    memcpy(&st.pr_reg, &info->regs, sizeof(st.pr_reg));
    memset(&ps, 0, sizeof(ps));
    ps.pr_state = 'R';
    ps.pr_sname = 'R';
    ps.pr_pid = 1;
    memcpy(ps.pr_fname, info->name, strnlen(info->name, sizeof(ps.pr_fname) - 1));
    memcpy(ps.pr_psargs, info->name, strnlen(info->name, sizeof(ps.pr_psargs) - 1));
    memcpy(text, info->text, tlen);
    text[tlen] = '\0';
    nlen += note(notes + nlen, "CORE", NT_PRSTATUS, &st, sizeof(st));
    nlen += note(notes + nlen, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
    nlen += note(notes + nlen, "MIRAGE", NOTE_MIRAGE, text, tlen + 1);

    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = (Elf64_Half)(1 + n);
    if ((r = put(c->fd, &eh, sizeof(eh), 0)) < 0)
        return r;
    off = sizeof(eh) + (uint64_t)(1 + n) * sizeof(Elf64_Phdr);
    memset(&ph, 0, sizeof(ph));
    ph.p_type = PT_NOTE;
    ph.p_offset = off;
    ph.p_filesz = nlen;
    ph.p_align = 4;
    if ((r = put(c->fd, &ph, sizeof(ph), sizeof(eh))) < 0 || (r = put(c->fd, notes, nlen, off)) < 0)
        return r;
    data_off = (off + nlen + PAGE - 1) & ~(PAGE - 1);
    /* Memory: each region a PT_LOAD; a page left unwritten (all zeros, one the
     * tender says to skip, or one the guest made unreadable: a guard page) is a
     * hole in the file and reads as zeros. */
    for (unsigned i = 0; i < n; i++) {
        memset(&ph, 0, sizeof(ph));
        ph.p_type = PT_LOAD;
        ph.p_flags = PF_R | PF_W | PF_X;
        ph.p_offset = data_off;
        ph.p_vaddr = rg[i].vaddr;
        ph.p_filesz = ph.p_memsz = rg[i].len;
        ph.p_align = PAGE;
        if ((r = put(c->fd, &ph, sizeof(ph), sizeof(eh) + (uint64_t)(1 + i) * sizeof(ph))) < 0)
            return r;
        for (uint64_t p = 0; p < rg[i].len; p += PAGE) {
            uint64_t len = rg[i].len - p < PAGE ? rg[i].len - p : PAGE;

            if (rg[i].resident_only && p % (PAGE * sizeof(vec)) == 0) {
                uint64_t chunk =
                    rg[i].len - p < PAGE * sizeof(vec) ? rg[i].len - p : PAGE * sizeof(vec);

                /* Pages never touched are zeros: left out. A range with a
                 * hole (ENOMEM) is written page by page instead. */
                if (sys6(27 /* mincore */, (long)(rg[i].vaddr + p), (long)chunk, (long)vec, 0, 0) <
                    0)
                    memset(vec, 1, sizeof(vec));
            }
            if (rg[i].resident_only && !(vec[(p / PAGE) % sizeof(vec)] & 1))
                continue;
            if (rg[i].skip && rg[i].skip(rg[i].ctx, rg[i].vaddr + p))
                continue;
            if (rg[i].readable && len == PAGE && zero_page(rg[i].data + p))
                continue;
            r = put(c->fd, rg[i].data + p, len, data_off + p);
            if (r == -14 /* EFAULT: unreadable, a guard page */)
                continue;
            if (r < 0)
                return r;
        }
        data_off += (rg[i].len + PAGE - 1) & ~(PAGE - 1);
        end = data_off;
    }
    if (end && (r = (int)sys6(77 /* ftruncate */, c->fd, (long)end, 0, 0, 0)) < 0)
        return r;
    /* Now it gets its name in the directory. */
    return (int)sys6(265 /* linkat */, c->fd, (long)c->link_old, c->dirfd, (long)c->link_new,
                     0x1000 /* AT_EMPTY_PATH */);
}
