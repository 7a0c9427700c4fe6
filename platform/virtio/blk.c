/* blk.c: the virtio binding's block devices: virtio-blk, one per manifest disk in PCI order. */
#include <string.h>

#include "mirage/abi/block.h"
#include "mirage/manifest.h"
#include "virtio.h"
#include "virtq.h"

#define QMAX             16 /* one request at a time: header, data, status */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_BLK_SIZE 20
#define BLK_T_IN         0
#define BLK_T_OUT        1
#define BLK_T_FLUSH      4
#define BLK_S_OK         0

/* A request's data in one descriptor of at most this much; larger ones are split. */
#define CHUNK (256u * 1024)
/* How long a request may take before the device is given up on. */
#define TIMEOUT_NS (30ULL * 1000000000ULL)

struct blk_req_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

struct disk {
    const char *name;
    struct vio dev;
    struct virtq q;
    struct blk_req_hdr *hdr; /* a page of our own: the header, then the status byte */
    volatile uint8_t *status;
    uint64_t capacity, block_size;
    int read_only, flush, failed;
};

static struct disk disks[MIRAGE_MANIFEST_MAX];
static uint64_t present, acquired;

static uint64_t cfg64(struct vio *d, unsigned off)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)virtio_pci_cfg8(d, off + i) << (8 * i);
    return v;
}

static void say_dev(struct disk *k, const char *why)
{
    virtio_say("virtio: block device '");
    virtio_say(k->name);
    virtio_say("': ");
    virtio_say(why);
    virtio_say("\n");
}

static int setup(uint32_t entry, int index)
{
    struct disk *k = &disks[entry];
    const char *why;
    uint64_t feat;

    k->name = mirage_manifest.entries[entry].name;
    if (virtio_pci_find(VIRTIO_TYPE_BLK, index, &k->dev, &why) < 0 ||
        virtio_pci_negotiate(&k->dev, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH,
                             &feat, &why) < 0 ||
        virtio_pci_queue(&k->dev, 0, QMAX, &k->q, &why) < 0)
        goto bad;
    k->block_size = 512;
    if (feat & VIRTIO_BLK_F_BLK_SIZE) {
        k->block_size = (uint64_t)virtio_pci_cfg8(&k->dev, BLK_CFG_BLK_SIZE) |
                        (uint64_t)virtio_pci_cfg8(&k->dev, BLK_CFG_BLK_SIZE + 1) << 8 |
                        (uint64_t)virtio_pci_cfg8(&k->dev, BLK_CFG_BLK_SIZE + 2) << 16 |
                        (uint64_t)virtio_pci_cfg8(&k->dev, BLK_CFG_BLK_SIZE + 3) << 24;
        if (k->block_size != 512 && k->block_size != 4096) {
            why = "block size other than 512 or 4096";
            goto bad;
        }
    }
    k->capacity = cfg64(&k->dev, BLK_CFG_CAPACITY);
    if (k->capacity > (UINT64_MAX >> 9)) {
        why = "capacity out of range";
        goto bad;
    }
    k->capacity *= 512; /* always in 512-byte units */
    k->capacity -= k->capacity % k->block_size;
    k->read_only = (feat & VIRTIO_BLK_F_RO) != 0;
    k->flush = (feat & VIRTIO_BLK_F_FLUSH) != 0;
    k->hdr = virtio_boot_alloc(VIRTIO_PAGE);
    if (k->hdr == NULL) {
        why = "no memory for its requests";
        goto bad;
    }
    k->status = (volatile uint8_t *)k->hdr + sizeof(*k->hdr);
    virtio_pci_driver_ok(&k->dev);
    return 0;
bad:
    return virtio_say_unusable("block", k->name, "virtio-blk", index, why);
}

void virtio_blk_init(void)
{
    present = virtio_setup_each(MIRAGE_DEV_BLOCK, setup);
}

/* Reads the interrupt status of the disks on line (irq): the line drops.
 * Requests are waited for by polling, so nothing else is due. */
void virtio_blk_ack(unsigned irq)
{
    for (uint32_t i = 0; i < mirage_manifest.count; i++)
        if ((present & (1ULL << i)) && disks[i].dev.irq == irq)
            (void)virtio_pci_isr(&disks[i].dev);
}

int mirage_platform_block_acquire(const char *name, mirage_handle_t *h,
                                  struct mirage_platform_block_info *info)
{
    int i = virtio_acquire(MIRAGE_DEV_BLOCK, name, present, &acquired);

    if (i < 0)
        return i;
    *h = (mirage_handle_t)i;
    info->capacity = disks[i].capacity;
    info->block_size = disks[i].block_size;
    info->read_only = disks[i].read_only;
    return 0;
}

/* One request: header, (len) bytes at (buf) unless a flush, status; waits
 * for the device, checking what it returns. */
static int request(struct disk *k, uint32_t type, uint64_t sector, uint8_t *buf, uint32_t len)
{
    volatile struct virtq_desc *d = k->q.desc;
    uint64_t start;
    uint16_t head;
    uint32_t used_len;
    const char *why;
    int r, n = 0;

    *k->hdr = (struct blk_req_hdr){type, 0, sector};
    *k->status = 0xff;
    d[n] = (struct virtq_desc){(uintptr_t)k->hdr, sizeof(*k->hdr), VIRTQ_DESC_F_NEXT, 1};
    n++;
    if (len) {
        d[n] = (struct virtq_desc){
            (uintptr_t)buf, len,
            (uint16_t)(VIRTQ_DESC_F_NEXT | (type == BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0)), 2};
        n++;
    }
    d[n] = (struct virtq_desc){(uintptr_t)k->status, 1, VIRTQ_DESC_F_WRITE, 0};
    if (virtq_publish(&k->q, 0) < 0) {
        why = "request slot still with the device";
        goto broken;
    }
    virtio_pci_notify(&k->dev, 0);
    start = mirage_clock_monotonic();
    while ((r = virtq_next_used(&k->q, &head, &used_len, &why)) == 0) {
        if (mirage_clock_monotonic() - start > TIMEOUT_NS) {
            why = "no answer to a request within 30 s";
            goto broken;
        }
        __builtin_ia32_pause();
    }
    if (r < 0)
        goto broken;
    if (head != 0) {
        why = "used ring returns a chain it was not given";
        goto broken;
    }
    return *k->status == BLK_S_OK ? 0 : MIRAGE_EIO;
broken:
    k->failed = 1;
    say_dev(k, why);
    return MIRAGE_EIO;
}

static struct disk *disk_of(mirage_handle_t h)
{
    if (h >= MIRAGE_MANIFEST_MAX || !(acquired & (1ULL << h)))
        return NULL;
    return &disks[h];
}

static int io(mirage_handle_t h, uint32_t type, uint64_t offset, uint8_t *buf, size_t size)
{
    struct disk *k = disk_of(h);

    if (k == NULL || !mirage_block_range_ok(offset, size, k->block_size, k->capacity))
        return MIRAGE_EINVAL;
    if (type == BLK_T_OUT && k->read_only)
        return MIRAGE_EROFS;
    if (k->failed)
        return MIRAGE_EIO;
    while (size > 0) {
        uint32_t n = size > CHUNK ? CHUNK : (uint32_t)size;
        int r = request(k, type, offset / 512, buf, n);

        if (r < 0)
            return r;
        offset += n;
        buf += n;
        size -= n;
    }
    return 0;
}

int mirage_platform_block_write(mirage_handle_t h, uint64_t offset, const uint8_t *buf, size_t size)
{
    return io(h, BLK_T_OUT, offset, (uint8_t *)buf, size);
}

int mirage_platform_block_read(mirage_handle_t h, uint64_t offset, uint8_t *buf, size_t size)
{
    return io(h, BLK_T_IN, offset, buf, size);
}

/* Without VIRTIO_BLK_F_FLUSH the device writes through: nothing to do. */
int mirage_platform_block_flush(mirage_handle_t h)
{
    struct disk *k = disk_of(h);

    if (k == NULL)
        return MIRAGE_EINVAL;
    if (k->failed)
        return MIRAGE_EIO;
    if (!k->flush || k->read_only)
        return 0;
    return request(k, BLK_T_FLUSH, 0, NULL, 0);
}

/* Requests are synchronous here (the driver polls its queue for the answer):
 * block.h's callers fall back to the calls above. */
int mirage_platform_block_submit(mirage_handle_t h, enum mirage_platform_block_op op,
                                 uint64_t offset, uint8_t *buf, size_t size)
{
    (void)h, (void)op, (void)offset, (void)buf, (void)size;
    return MIRAGE_ENOTSUP;
}

int mirage_platform_block_complete(mirage_handle_t h)
{
    (void)h;
    return MIRAGE_EINVAL;
}
