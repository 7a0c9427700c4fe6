/* manifest.c: validating the device manifest an image carries in its MIRAGE note. */
#include <string.h>

#include "internal.h"
#include "tender.h"

#define HDR_SIZE   8u
#define ENTRY_SIZE 64u

_Static_assert(sizeof(struct mirage_manifest_hdr) == HDR_SIZE, "manifest header layout");
_Static_assert(sizeof(struct mirage_manifest_entry) == ENTRY_SIZE, "manifest entry layout");
_Static_assert(MIRAGE_MANIFEST_NAME_MAX + 4 == ENTRY_SIZE, "name field then type");

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

const char *tender_name_problem(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len >= MIRAGE_MANIFEST_NAME_MAX)
        return "is longer than 59 characters";
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i]))
            return "may contain only A-Z, a-z, 0-9 and _";
    return NULL;
}

int tender_manifest_parse(const uint8_t *desc, size_t size, struct tender_image *img, char *err)
{
    uint32_t version, count;

    img->ndevs = 0;
    if (size < HDR_SIZE)
        return tender_fail(err, "manifest: size %zu is too small for its %u-byte header", size,
                           HDR_SIZE);
    version = le32(desc);
    count = le32(desc + 4);
    if (version != MIRAGE_MANIFEST_VERSION)
        return tender_fail(err, "manifest: version %u is not supported (expected %d)", version,
                           MIRAGE_MANIFEST_VERSION);
    if (count > MIRAGE_MANIFEST_MAX)
        return tender_fail(err, "manifest: %u entries, at most %d", count, MIRAGE_MANIFEST_MAX);
    /* count <= 63, so this cannot overflow. */
    if (size != HDR_SIZE + (size_t)count * ENTRY_SIZE)
        return tender_fail(err, "manifest: size %zu does not match %u entries", size, count);

    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = desc + HDR_SIZE + (size_t)i * ENTRY_SIZE;
        const char *name = (const char *)e;
        const char *nul = memchr(name, '\0', MIRAGE_MANIFEST_NAME_MAX);
        struct mirage_manifest_entry *out = &img->devs[i];
        uint32_t type = le32(e + MIRAGE_MANIFEST_NAME_MAX);
        const char *problem;
        size_t len;

        if (nul == NULL)
            return tender_fail(err, "manifest: entry %u name is not NUL-terminated", i);
        len = (size_t)(nul - name);
        if (len == 0)
            return tender_fail(err, "manifest: entry %u name is empty", i);
        problem = tender_name_problem(name, len);
        if (problem != NULL)
            return tender_fail(err, "manifest: entry %u name %s", i, problem);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(img->devs[j].name, name) == 0)
                return tender_fail(err, "manifest: entry %u name '%s' duplicates entry %u", i, name,
                                   j);
        if (type != MIRAGE_DEV_NET && type != MIRAGE_DEV_BLOCK)
            return tender_fail(err,
                               "manifest: entry %u ('%s') has type %u, expected %d (net) or "
                               "%d (block)",
                               i, name, type, MIRAGE_DEV_NET, MIRAGE_DEV_BLOCK);
        /* Whatever follows the NUL in the field is ignored: the copy holds zeros there. */
        memset(out->name, 0, sizeof(out->name));
        memcpy(out->name, name, len);
        out->type = type;
    }
    img->ndevs = count;
    return 0;
}
