/* tls.c: thread blocks for _Thread_local variables on unix, from the program's PT_TLS
 * (mirage/tcb.h). */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include "mirage/error.h"
#include "mirage/tcb.h"

/*
 * The host's libc owns the thread pointer on unix (mirage_set_tls_base()
 * refuses), but a block can still be laid out and filled as on spt and hvt:
 * the variables of the program's PT_TLS, then a TCB of TCB_SIZE bytes.
 */
#define TCB_SIZE 128
#define ALIGN    64

struct tls_template {
    const uint8_t *data;
    size_t filesz, memsz;
    int found;
};

static int find_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct tls_template *t = arg;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS) {
            t->data = (const uint8_t *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
            t->filesz = info->dlpi_phdr[i].p_filesz;
            t->memsz = info->dlpi_phdr[i].p_memsz;
            t->found = 1;
        }
    return 1; /* the first object is the program itself */
}

static struct tls_template template_of_program(void)
{
    struct tls_template t = {0};

    dl_iterate_phdr(find_tls, &t);
    return t;
}

static size_t vars_size(void)
{
    return (template_of_program().memsz + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

size_t mirage_tcb_block_size(void)
{
    return vars_size() + TCB_SIZE;
}

uintptr_t mirage_tcb_block_tp(uintptr_t block)
{
    return block + vars_size();
}

int mirage_tcb_block_init(uintptr_t block)
{
    struct tls_template t = template_of_program();
    uint8_t *vars = (uint8_t *)block;
    size_t n = vars_size();

    if (block % ALIGN != 0)
        return MIRAGE_EINVAL;
    memset(vars, 0, n + TCB_SIZE);
    if (t.found)
        memcpy(vars, t.data, t.filesz);
    *(uintptr_t *)(vars + n) = block + n; /* the TCB's self-pointer */
    return 0;
}
