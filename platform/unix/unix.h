/* unix.h: state shared by the files of the unix binding. */
#ifndef PLATFORM_UNIX_H
#define PLATFORM_UNIX_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/manifest.h"

/* What the command line bound to the manifest entry with the same index. */
struct unix_binding {
    const char *path; /* tap name or file; NULL: the device's own name */
    int has_mac;
    uint8_t mac[6];
    int fd;   /* valid once acquired */
    int acquired;
    uint64_t capacity;
};
extern struct unix_binding unix_bindings[MIRAGE_MANIFEST_MAX];

/* Index of the manifest entry called (name, len), or -1. */
int unix_manifest_find(const char *name, size_t len);

int unix_mac_parse(const char *s, uint8_t mac[6]);

#endif
