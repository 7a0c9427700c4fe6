/* disk.c: prints the block device's size and its first sector's first bytes; exits 0. */
#include <stdio.h>

#include "mirage/block.h"

static int show(struct mirage_block *disk)
{
    static uint8_t sector[4096];
    int r;

    printf("%s %s: %llu bytes in %u-byte blocks%s\n", key_greeting.v.str, disk->name,
           (unsigned long long)mirage_block_bytes(disk), (unsigned)disk->info.sector_size,
           disk->info.read_only ? ", read-only" : "");
    r = mirage_block_read(disk, 0, sector, disk->info.sector_size);
    if (r < 0)
        return 1;
    printf("first bytes: %.8s\n", (const char *)sector);
    return 0;
}

int start_disk(struct mirage_block *disk)
{
    return show(disk);
}

int start(struct mirage_block *disk, struct mirage_netif *net)
{
    printf("net %s: mtu %u\n", net->name, (unsigned)net->info.mtu);
    return show(disk);
}
