/* disk.c: prints the block device's size and its first sector's first bytes; exits 0. */
#include <stdio.h>

#include "mirage/platform.h"

static int show(struct mirage_blockdev *disk)
{
    static uint8_t sector[4096];
    int r;

    printf("%s %s: %llu bytes in %llu-byte blocks\n", key_greeting.v.str, disk->name,
           (unsigned long long)disk->info.capacity, (unsigned long long)disk->info.block_size);
    r = mirage_platform_block_read(disk->handle, 0, sector, disk->info.block_size);
    if (r < 0)
        return 1;
    printf("first bytes: %.8s\n", (const char *)sector);
    return 0;
}

int start_disk(struct mirage_blockdev *disk)
{
    return show(disk);
}

int start(struct mirage_blockdev *disk, struct mirage_netif *net)
{
    printf("net %s: mtu %u\n", net->name, (unsigned)net->info.mtu);
    return show(disk);
}
