/* fuzz_elf.c: the tender's ELF image parser on arbitrary bytes; what it accepts must be sound. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tender_image img;
    char err[TENDER_ERR_MAX];

    err[0] = '\0';
    if (tender_elf_parse(data, size, &img, err) < 0) {
        check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    /* Accepted: every promise of tender.h holds. */
    check(img.nsegs >= 1 && img.nsegs <= TENDER_MAX_SEGS);
    check(img.lo >= TENDER_IMAGE_MIN && img.hi <= TENDER_IMAGE_MAX && img.lo < img.hi);
    check(img.lo % 4096 == 0 && img.hi % 4096 == 0);
    for (unsigned i = 0; i < img.nsegs; i++) {
        const struct tender_segment *s = &img.segs[i];

        check(s->vaddr % 4096 == 0 && s->filesz <= s->memsz);
        check(s->offset <= size && s->filesz <= size - s->offset);
        check(s->vaddr >= img.lo && s->vaddr + s->memsz <= img.hi);
        check((s->flags & (PF_W | PF_X)) != (PF_W | PF_X));
        for (unsigned j = 0; j < i; j++)
            check(s->vaddr >= img.segs[j].vaddr + img.segs[j].memsz ||
                  img.segs[j].vaddr >= s->vaddr + s->memsz);
    }
    check(img.ndevs <= MIRAGE_MANIFEST_MAX);
    for (unsigned i = 0; i < img.ndevs; i++) {
        size_t len = strnlen(img.devs[i].name, MIRAGE_MANIFEST_NAME_MAX);

        check(len > 0 && len < MIRAGE_MANIFEST_NAME_MAX);
        check(img.devs[i].type == MIRAGE_DEV_NET || img.devs[i].type == MIRAGE_DEV_BLOCK);
    }
    return 0;
}
