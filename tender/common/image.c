/* image.c: reading the unikernel image file into memory before it is parsed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tender.h"

#define IMAGE_SIZE_MAX (64u << 20)

static int read_all(int fd, uint8_t *buf, size_t size, const char *path, char *err)
{
    size_t got = 0;

    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tender_fail(err, "image '%s': cannot read: %s", path, strerror(errno));
        if (n == 0)
            return tender_fail(err, "image '%s': shrank while being read", path);
        got += (size_t)n;
    }
    return 0;
}

static int load(int fd, const char *path, uint8_t **data, size_t *size, char *err)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return tender_fail(err, "image '%s': cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return tender_fail(err, "image '%s' is a directory", path);
    if (!S_ISREG(st.st_mode))
        return tender_fail(err, "image '%s' is not a regular file", path);
    if (st.st_size == 0)
        return tender_fail(err, "image '%s' is empty", path);
    if (st.st_size > IMAGE_SIZE_MAX)
        return tender_fail(err, "image '%s' is %lld bytes, more than the limit of 64 MiB", path,
                           (long long)st.st_size);
    *size = (size_t)st.st_size;
    *data = malloc(*size);
    if (*data == NULL)
        return tender_fail(err, "image '%s': out of memory for %zu bytes", path, *size);
    return read_all(fd, *data, *size, path, err);
}

int tender_image_load(const char *path, uint8_t **data, size_t *size, struct tender_image *img,
                      char *err)
{
    char msg[TENDER_ERR_MAX];
    int fd, rc;

    *data = NULL;
    *size = 0;
    /* O_NONBLOCK so that a FIFO given by mistake cannot hang the open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return tender_fail(err, "image '%s': cannot open: %s", path, strerror(errno));
    rc = load(fd, path, data, size, err);
    close(fd);
    if (rc == 0 && tender_elf_parse(*data, *size, img, msg) < 0)
        rc = tender_fail(err, "image '%s': %s", path, msg);
    if (rc < 0) {
        free(*data);
        *data = NULL;
        *size = 0;
    }
    return rc;
}
