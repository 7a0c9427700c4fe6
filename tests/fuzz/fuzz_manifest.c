/* fuzz_manifest.c: the manifest descriptor validator on arbitrary bytes. */
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
    if (tender_manifest_parse(data, size, &img, err) < 0) {
        check(err[0] != '\0' && img.ndevs == 0);
        return 0;
    }
    check(img.ndevs <= MIRAGE_MANIFEST_MAX && size == 8 + (size_t)img.ndevs * 64);
    for (unsigned i = 0; i < img.ndevs; i++) {
        const char *name = img.devs[i].name;
        size_t len = strnlen(name, MIRAGE_MANIFEST_NAME_MAX);

        check(len > 0 && len < MIRAGE_MANIFEST_NAME_MAX);
        for (size_t k = 0; k < len; k++)
            check((name[k] >= 'a' && name[k] <= 'z') || (name[k] >= 'A' && name[k] <= 'Z') ||
                  (name[k] >= '0' && name[k] <= '9') || name[k] == '_');
        for (unsigned j = 0; j < i; j++)
            check(strcmp(img.devs[j].name, name) != 0);
        check(img.devs[i].type == MIRAGE_DEV_NET || img.devs[i].type == MIRAGE_DEV_BLOCK);
    }
    return 0;
}
