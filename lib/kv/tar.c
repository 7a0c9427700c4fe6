/* tar.c: tar_kv_ro, the read-only store over a tar archive on a block device, indexed at connect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "mirage/block.h"
#include "mirage/kv.h"
#include "mirage/platform.h"
#include "mirage/sched.h"
#include "mirage/wire.h"
#include "table.h"

/*
 * The archive is read once at connect, header by header, into the same sorted
 * table crunch uses (table.h): a value's offset is where its bytes start on
 * the device. Values are read from the device on demand. What GNU tar writes
 * is understood: ustar (name and prefix), GNU long names and link names
 * ('L', 'K'), pax extended headers ('x': path, linkpath, size, mtime; 'g' is
 * checked and ignored), hard links to files earlier in the archive. Anything
 * else, or anything malformed, refuses the archive with the header's offset.
 */

#define HDR          512
#define WINDOW       (64 * 1024) /* bytes read ahead while scanning headers */
#define LONGNAME_MAX 4096        /* bytes of a GNU long name record */
#define PAX_MAX      65536       /* bytes of a pax extended header */

struct tar {
    struct mirage_kv kv; /* first: kv.h's view */
    struct mirage_crunch table;
    struct mirage_crunch_entry *entries;
    char *names;
    struct mirage_block *block;
    uint8_t *sector; /* one sector, for reads that do not start or end on one */
    int busy;        /* a read is using (sector) */
    struct mirage_cond idle;
};

/* ---- scanning the archive ---------------------------------------------------- */

/* An entry while scanning: its key is an offset into the names arena. */
struct item {
    size_t key;
    uint8_t kind;
    int implied; /* a parent no header names */
    uint64_t offset, size, mtime;
    uint64_t at; /* the header's byte offset, for messages */
    size_t seq;  /* order in the archive: a later entry of a key replaces an earlier one */
};

struct scan {
    struct mirage_block *block;
    uint64_t bytes; /* of the device */
    uint8_t *win;   /* a window of the device: [win_off, win_off + win_len) */
    uint64_t win_off;
    size_t win_len;
    struct item *items;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    char *msg;
    size_t msglen;
    /* what 'L', 'K' and 'x' headers say about the next entry */
    char *next_path, *next_link;
    int has_size, has_mtime;
    uint64_t next_size, next_mtime;
};

static int fail(struct scan *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct scan *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->msg, s->msglen, fmt, ap);
    va_end(ap);
    return code;
}

/* Copies (len) bytes at byte (off) of the device into (dst), through the window. */
static int scan_read(struct scan *s, uint64_t off, uint8_t *dst, size_t len)
{
    uint32_t ss = s->block->info.sector_size;

    while (len > 0) {
        size_t n;
        if (off < s->win_off || off >= s->win_off + s->win_len) {
            uint64_t start = off - off % ss;
            uint64_t left = s->bytes - start;
            size_t want = left < WINDOW ? (size_t)left : WINDOW;
            int r;
            want -= want % ss;
            if (want == 0)
                return fail(s, MIRAGE_EBADMSG, "tar: byte %llu is past the end of the device",
                            (unsigned long long)off);
            if ((r = mirage_block_read(s->block, start / ss, s->win, want)) < 0) {
                s->win_len = 0;
                return fail(s, r, "tar: reading the device at byte %llu: %s",
                            (unsigned long long)start, mirage_strerror(r));
            }
            s->win_off = start;
            s->win_len = want;
        }
        n = (size_t)(s->win_off + s->win_len - off);
        if (n > len)
            n = len;
        memcpy(dst, s->win + (off - s->win_off), n);
        dst += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Adds (name, n) to the names arena; returns its offset or SIZE_MAX. */
static size_t add_name(struct scan *s, const char *name, size_t n)
{
    size_t at = s->names_len;

    if (s->names_len + n + 1 > s->names_cap) {
        size_t cap = s->names_cap ? s->names_cap * 2 : 4096;
        char *p;
        while (cap < s->names_len + n + 1)
            cap *= 2;
        if (!(p = realloc(s->names, cap)))
            return SIZE_MAX;
        s->names = p;
        s->names_cap = cap;
    }
    memcpy(s->names + at, name, n);
    s->names[at + n] = '\0';
    s->names_len += n + 1;
    return at;
}

static int add_item(struct scan *s, const char *key, const struct item *it)
{
    size_t k;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct item *p = realloc(s->items, cap * sizeof(*p));
        if (!p)
            return fail(s, MIRAGE_ENOMEM, "tar: out of memory for %zu entries", s->n);
        s->items = p;
        s->cap = cap;
    }
    if ((k = add_name(s, key, strlen(key))) == SIZE_MAX)
        return fail(s, MIRAGE_ENOMEM, "tar: out of memory for the names");
    s->items[s->n] = *it;
    s->items[s->n].key = k;
    s->items[s->n].seq = s->n;
    s->n++;
    return 0;
}

/* A numeric field: ASCII octal, or GNU's base-256 (first byte 0x80) for values
 * octal cannot hold. Negative base-256 values (0xff) are refused. */
static int numeric(const uint8_t *h, size_t off, size_t width, uint64_t *out)
{
    struct mirage_rd r;

    if (h[off] == 0x80) {
        uint64_t x = 0;
        for (size_t i = 1; i < width; i++) {
            if (x >> 55)
                return -1;
            x = x << 8 | h[off + i];
        }
        *out = x;
        return 0;
    }
    if (h[off] & 0x80)
        return -1;
    r = mirage_rd_init(h + off, width);
    *out = mirage_rd_octal(&r, width);
    return r.bad ? -1 : 0;
}

/* Whether the 512 bytes at (h) are all zero: the end of the archive. */
static int zero_block(const uint8_t *h)
{
    for (size_t i = 0; i < HDR; i++)
        if (h[i])
            return 0;
    return 1;
}

/* Reads a record of (size) bytes after the header at (at) into a new
 * NUL-terminated buffer. */
static int read_record(struct scan *s, uint64_t at, uint64_t size, uint64_t max, const char *what,
                       char **out)
{
    char *p;
    int r;

    if (size > max)
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: %s of %llu bytes (at most %llu)",
                    (unsigned long long)at, what, (unsigned long long)size,
                    (unsigned long long)max);
    if (!(p = malloc((size_t)size + 1)))
        return fail(s, MIRAGE_ENOMEM, "tar: out of memory for a %s", what);
    if ((r = scan_read(s, at + HDR, (uint8_t *)p, (size_t)size)) < 0) {
        free(p);
        return r;
    }
    p[size] = '\0';
    *out = p;
    return 0;
}

/* A decimal number of (n) bytes at (p), all digits. */
static int decimal(const char *p, size_t n, uint64_t *out)
{
    uint64_t x = 0;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *out = x;
    return 0;
}

/* A pax time, "SECONDS[.FRACTION]", in ns since the epoch (not before it). */
static int pax_time(const char *p, size_t n, uint64_t *ns)
{
    const char *dot = memchr(p, '.', n);
    size_t whole = dot ? (size_t)(dot - p) : n;
    uint64_t sec, frac = 0;

    if (decimal(p, whole, &sec) < 0 || sec > UINT64_MAX / 1000000000ULL - 1)
        return -1;
    if (dot) {
        size_t fl = n - whole - 1;
        for (size_t i = 0; i < 9; i++) {
            char c = i < fl ? dot[1 + i] : '0';
            if (c < '0' || c > '9')
                return -1;
            frac = frac * 10 + (uint64_t)(c - '0');
        }
        for (size_t i = 9; i < fl; i++)
            if (dot[1 + i] < '0' || dot[1 + i] > '9')
                return -1;
    }
    *ns = sec * 1000000000ULL + frac;
    return 0;
}

/* The records "LEN KEY=VALUE\n" of a pax header at (at); for an 'x' header
 * (apply) the ones that matter are kept for the next entry. */
static int pax(struct scan *s, uint64_t at, const char *p, size_t size, int apply)
{
    size_t o = 0;

    while (o < size) {
        size_t i = o, len = 0, rec, eq;
        const char *key, *val;
        size_t klen, vlen;

        while (i < size && p[i] >= '0' && p[i] <= '9' && i - o < 10)
            len = len * 10 + (size_t)(p[i++] - '0');
        if (i == o || i >= size || p[i] != ' ' || len <= i - o + 1 || len > size - o ||
            p[o + len - 1] != '\n')
            return fail(s, MIRAGE_EBADMSG,
                        "tar header at byte %llu: pax record at byte %zu of the extended "
                        "header has a bad length",
                        (unsigned long long)at, o);
        rec = o + len - 1; /* the newline */
        key = p + i + 1;
        for (eq = i + 1; eq < rec && p[eq] != '='; eq++)
            ;
        if (eq == rec || eq == i + 1)
            return fail(s, MIRAGE_EBADMSG,
                        "tar header at byte %llu: pax record at byte %zu has no KEY=VALUE",
                        (unsigned long long)at, o);
        klen = (size_t)(p + eq - key);
        val = p + eq + 1;
        vlen = (size_t)(p + rec - val);
        o += len;
        if (!apply)
            continue;
#define IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
        if (IS("path") || IS("linkpath")) {
            char **dst = IS("path") ? &s->next_path : &s->next_link;
            if (memchr(val, '\0', vlen) || vlen == 0 || vlen > LONGNAME_MAX)
                return fail(s, MIRAGE_EBADMSG,
                            "tar header at byte %llu: pax %.*s is empty, too long or holds a "
                            "NUL byte",
                            (unsigned long long)at, (int)klen, key);
            free(*dst);
            if (!(*dst = malloc(vlen + 1)))
                return fail(s, MIRAGE_ENOMEM, "tar: out of memory for a pax record");
            memcpy(*dst, val, vlen);
            (*dst)[vlen] = '\0';
        } else if (IS("size")) {
            if (decimal(val, vlen, &s->next_size) < 0)
                return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: pax size '%.*s'",
                            (unsigned long long)at, (int)(vlen < 40 ? vlen : 40), val);
            s->has_size = 1;
        } else if (IS("mtime")) {
            if (pax_time(val, vlen, &s->next_mtime) < 0)
                return fail(s, MIRAGE_EBADMSG,
                            "tar header at byte %llu: pax mtime '%.*s' (seconds since 1970, "
                            "not before)",
                            (unsigned long long)at, (int)(vlen < 40 ? vlen : 40), val);
            s->has_mtime = 1;
        } else if (klen > 11 && memcmp(key, "GNU.sparse.", 11) == 0) {
            return fail(s, MIRAGE_EBADMSG,
                        "tar header at byte %llu: a sparse file (pax %.*s), which "
                        "tar_kv_ro does not read",
                        (unsigned long long)at, (int)klen, key);
        }
#undef IS
    }
    return 0;
}

/* The canonical key of an archive name, or an error naming it and (at). */
static int name_key(struct scan *s, uint64_t at, const char *name, char key[MIRAGE_KV_KEY_MAX + 1])
{
    struct mirage_kv_error err;
    const char *p = name;

    if (*p == '/')
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: absolute path \"%.200s\"",
                    (unsigned long long)at, name);
    /* "./a" as `tar -C dir .` writes it; "." or "./" is the root. */
    while (p[0] == '.' && p[1] == '/')
        for (p += 2; *p == '/';)
            p++;
    if (strcmp(p, ".") == 0)
        p = "";
    if (mirage_kv_key_canonical(p, key, &err) < 0)
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: bad name \"%.200s\": %s",
                    (unsigned long long)at, name, err.detail);
    return 0;
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case '2':
        return "a symbolic link (make the archive with tar -h to store what it points to)";
    case '3':
        return "a character device";
    case '4':
        return "a block device";
    case '6':
        return "a FIFO";
    case 'S':
        return "a GNU sparse file";
    case 'M':
        return "a GNU multi-volume continuation";
    case 'V':
        return "a GNU volume label";
    case 'D':
        return "a GNU incremental dump directory";
    case 'N':
        return "an old GNU long-name record";
    default:
        return "of an unknown type";
    }
}

/* The one entry of the header (h) at (at); *next is where the following header starts. */
static int header(struct scan *s, const uint8_t *h, uint64_t at, uint64_t *next)
{
    uint64_t stored, sum_u = 0, size, mtime, data, padded;
    int64_t sum_s = 0;
    uint8_t type = h[156];
    char name[101 + 155 + 1], key[MIRAGE_KV_KEY_MAX + 1];
    struct mirage_rd rd = mirage_rd_init(h + 148, 8);
    int posix, gnu, r;
    struct item it = {0};

    for (size_t i = 0; i < HDR; i++) {
        uint8_t c = i >= 148 && i < 156 ? ' ' : h[i];
        sum_u += c;
        sum_s += (int8_t)c;
    }
    stored = mirage_rd_octal(&rd, 8);
    posix = memcmp(h + 257, "ustar\0", 6) == 0 && memcmp(h + 263, "00", 2) == 0;
    gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
    if (rd.bad)
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: %sthe checksum field is not octal",
                    (unsigned long long)at, at == 0 && !posix && !gnu ? "not a tar archive: " : "");
    if (stored != sum_u && (int64_t)stored != sum_s)
        return fail(s, MIRAGE_EBADMSG,
                    "tar header at byte %llu: %sbad checksum (stored %llo, computed %llo)",
                    (unsigned long long)at, at == 0 && !posix && !gnu ? "not a tar archive: " : "",
                    (unsigned long long)stored, (unsigned long long)sum_u);
    if (!posix && !gnu)
        return fail(s, MIRAGE_EBADMSG,
                    "tar header at byte %llu: not a ustar or GNU tar header (magic \"%.5s\")",
                    (unsigned long long)at, (const char *)h + 257);
    if (numeric(h, 124, 12, &size) < 0)
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: bad size field",
                    (unsigned long long)at);
    if (numeric(h, 136, 12, &mtime) < 0 || mtime > UINT64_MAX / 1000000000ULL)
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: bad mtime field",
                    (unsigned long long)at);
    mtime *= 1000000000ULL;
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K')
        ; /* its own size, whatever an earlier pax header said */
    else if (s->has_size)
        size = s->next_size;
    if (s->has_mtime)
        mtime = s->next_mtime;
    /* The data, padded to whole headers, must be on the device. */
    data = at + HDR;
    padded = size + (HDR - size % HDR) % HDR;
    if (size > UINT64_MAX - HDR || padded > s->bytes || data > s->bytes - padded)
        return fail(s, MIRAGE_EBADMSG,
                    "tar header at byte %llu: a size of %llu bytes runs past the end of the "
                    "device (%llu bytes)",
                    (unsigned long long)at, (unsigned long long)size, (unsigned long long)s->bytes);
    *next = data + padded;

    if (type == 'L' || type == 'K') {
        char *v;
        if ((r = read_record(s, at, size, LONGNAME_MAX, "GNU long name", &v)) < 0)
            return r;
        if (size == 0 || memchr(v, '\0', (size_t)size) == NULL || v[0] == '\0') {
            free(v);
            return fail(s, MIRAGE_EBADMSG,
                        "tar header at byte %llu: GNU long name without a terminating NUL",
                        (unsigned long long)at);
        }
        free(type == 'L' ? s->next_path : s->next_link);
        *(type == 'L' ? &s->next_path : &s->next_link) = v;
        return 0;
    }
    if (type == 'x' || type == 'g') {
        char *v;
        if ((r = read_record(s, at, size, PAX_MAX, "pax extended header", &v)) < 0)
            return r;
        r = pax(s, at, v, (size_t)size, type == 'x');
        free(v);
        return r;
    }

    /* An entry: its name is the long one given before it, or prefix/name. */
    if (s->next_path) {
        r = name_key(s, at, s->next_path, key);
    } else {
        size_t o = 0, pl = posix ? strnlen((const char *)h + 345, 155) : 0;
        if (pl) {
            memcpy(name, h + 345, pl);
            name[pl] = '/';
            o = pl + 1;
        }
        size_t nl = strnlen((const char *)h, 100);
        memcpy(name + o, h, nl);
        name[o + nl] = '\0';
        if (o + nl == 0)
            return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: an entry with no name",
                        (unsigned long long)at);
        r = name_key(s, at, name, key);
    }
    if (r < 0)
        return r;

    it.at = at;
    it.mtime = mtime;
    switch (type) {
    case '0':
    case '\0':
    case '7':
        if (strcmp(key, "/") == 0)
            return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: a file named as the root",
                        (unsigned long long)at);
        it.kind = MIRAGE_KV_VALUE;
        it.offset = data;
        it.size = size;
        break;
    case '5':
        it.kind = MIRAGE_KV_DICTIONARY;
        break;
    case '1': {
        char target[MIRAGE_KV_KEY_MAX + 1], hl[101];
        const char *link = s->next_link;
        const struct item *found = NULL;
        if (!link) {
            size_t ll = strnlen((const char *)h + 157, 100);
            memcpy(hl, h + 157, ll);
            hl[ll] = '\0';
            link = hl;
        }
        if ((r = name_key(s, at, link, target)) < 0)
            return r;
        for (size_t i = s->n; i-- > 0;)
            if (strcmp(s->names + s->items[i].key, target) == 0) {
                found = &s->items[i];
                break;
            }
        if (!found || found->kind != MIRAGE_KV_VALUE)
            return fail(s, MIRAGE_EBADMSG,
                        "tar header at byte %llu: hard link %.200s -> %.200s: the target is not "
                        "a file earlier in the archive",
                        (unsigned long long)at, key, target);
        it.kind = MIRAGE_KV_VALUE;
        it.offset = found->offset;
        it.size = found->size;
        *next = data; /* a link has no data, whatever its size says */
        break;
    }
    default:
        return fail(s, MIRAGE_EBADMSG, "tar header at byte %llu: %.200s is %s (type '%c')",
                    (unsigned long long)at, key, type_name(type),
                    type >= ' ' && type < 0x7f ? type : '?');
    }
    free(s->next_path);
    free(s->next_link);
    s->next_path = s->next_link = NULL;
    s->has_size = s->has_mtime = 0;
    return add_item(s, key, &it);
}

static const char *sort_names; /* qsort has no context argument */

static int by_key(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(sort_names + x->key, sort_names + y->key);

    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Adds the parents of every entry (and the root) no header names. */
static int add_parents(struct scan *s)
{
    size_t n = s->n;
    struct item root = {.kind = MIRAGE_KV_DICTIONARY, .implied = 1};
    int r;

    if ((r = add_item(s, "/", &root)) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        char key[MIRAGE_KV_KEY_MAX + 1];
        char *slash;
        strcpy(key, s->names + s->items[i].key);
        while ((slash = strrchr(key, '/')) != NULL && slash != key) {
            struct item p = {.kind = MIRAGE_KV_DICTIONARY, .implied = 1, .at = s->items[i].at};
            *slash = '\0';
            if ((r = add_item(s, key, &p)) < 0)
                return r;
        }
    }
    return 0;
}

/* Sorts, merges entries of one key (the last value wins, as when extracting)
 * and refuses a key that is both a value and a dictionary. */
static int merge(struct scan *s, size_t *count)
{
    size_t o = 0;

    sort_names = s->names;
    qsort(s->items, s->n, sizeof(*s->items), by_key);
    for (size_t i = 0; i < s->n;) {
        size_t j = i;
        struct item m = s->items[i];
        const struct item *val = NULL, *dir = NULL;
        for (; j < s->n && strcmp(s->names + s->items[j].key, s->names + m.key) == 0; j++) {
            const struct item *x = &s->items[j];
            if (x->kind == MIRAGE_KV_VALUE)
                val = x;
            else if (!dir || dir->implied)
                dir = x;
        }
        if (val && dir) {
            /* A dictionary is implied by an entry under the key. */
            return fail(s, MIRAGE_EBADMSG,
                        "tar: %.200s is a file (header at byte %llu) and a directory (header at "
                        "byte %llu)",
                        s->names + m.key, (unsigned long long)val->at, (unsigned long long)dir->at);
        }
        if (val)
            m = *val;
        else {
            m = *dir;
            for (size_t k = i; k < j; k++)
                if (!s->items[k].implied && s->items[k].mtime > m.mtime)
                    m.mtime = s->items[k].mtime;
        }
        s->items[o++] = m;
        i = j;
    }
    *count = o;
    return 0;
}

static void scan_free(struct scan *s)
{
    free(s->win);
    free(s->items);
    free(s->names);
    free(s->next_path);
    free(s->next_link);
}

/* ---- the store ----------------------------------------------------------------- */

static struct tar *tar_of(struct mirage_kv *kv)
{
    return (struct tar *)kv;
}

/* The device may suspend a read: one at a time uses the sector buffer. */
static void lock(struct tar *t)
{
    while (t->busy)
        mirage_cond_wait(&t->idle, UINT64_MAX);
    t->busy = 1;
}

static void unlock(struct tar *t)
{
    t->busy = 0;
    mirage_cond_signal(&t->idle);
}

/* Copies (len) bytes at byte (off) of the device into (buf): whole sectors
 * straight into it, the ends through the sector buffer. */
static int read_bytes(struct tar *t, uint64_t off, uint8_t *buf, size_t len)
{
    uint32_t ss = t->block->info.sector_size;
    int r = 0;

    lock(t);
    while (len > 0 && r == 0) {
        uint64_t sector = off / ss;
        size_t in = (size_t)(off % ss), n;
        if (in == 0 && len >= ss) {
            n = len - len % ss;
            r = mirage_block_read(t->block, sector, buf, n);
        } else {
            n = ss - in < len ? ss - in : len;
            if ((r = mirage_block_read(t->block, sector, t->sector, ss)) == 0)
                memcpy(buf, t->sector + in, n);
        }
        off += n;
        buf += n;
        len -= n;
    }
    unlock(t);
    return r;
}

static int read_failed(struct mirage_kv_error *err, const char *key, int r, uint64_t off)
{
    return mirage_kv_fail(err, r, key, "reading the device at byte %llu: %s",
                          (unsigned long long)off, mirage_strerror(r));
}

static int t_exists(struct mirage_kv *kv, const char *key, enum mirage_kv_kind *kind,
                    struct mirage_kv_error *err)
{
    return mirage_kv_table_exists(&tar_of(kv)->table, key, kind, err);
}

static int t_get(struct mirage_kv *kv, const char *key, uint8_t **value, size_t *len,
                 struct mirage_kv_error *err)
{
    struct tar *t = tar_of(kv);
    const struct mirage_crunch_entry *e;
    int r = mirage_kv_table_find_value(&t->table, key, &e, err);

    if (r < 0)
        return r;
    if (e->size > SIZE_MAX - 1 || !(*value = malloc(e->size ? (size_t)e->size : 1)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, key, "a value of %llu bytes",
                              (unsigned long long)e->size);
    if ((r = read_bytes(t, e->offset, *value, (size_t)e->size)) < 0) {
        free(*value);
        *value = NULL;
        return read_failed(err, key, r, e->offset);
    }
    *len = (size_t)e->size;
    return 0;
}

static int t_get_partial(struct mirage_kv *kv, const char *key, uint64_t offset, void *buf,
                         size_t len, size_t *got, struct mirage_kv_error *err)
{
    struct tar *t = tar_of(kv);
    const struct mirage_crunch_entry *e;
    size_t n = 0;
    int r = mirage_kv_table_find_value(&t->table, key, &e, err);

    if (r < 0)
        return r;
    if (offset >= e->size)
        return 0;
    n = e->size - offset < len ? (size_t)(e->size - offset) : len;
    if ((r = read_bytes(t, e->offset + offset, buf, n)) < 0)
        return read_failed(err, key, r, e->offset + offset);
    *got = n;
    return 0;
}

static int t_list(struct mirage_kv *kv, const char *key, struct mirage_kv_entry **entries,
                  size_t *n, struct mirage_kv_error *err)
{
    return mirage_kv_table_list(&tar_of(kv)->table, key, entries, n, err);
}

static int t_last_modified(struct mirage_kv *kv, const char *key, uint64_t *ns,
                           struct mirage_kv_error *err)
{
    return mirage_kv_table_last_modified(&tar_of(kv)->table, key, ns, err);
}

static int t_digest(struct mirage_kv *kv, const char *key, uint8_t out[32],
                    struct mirage_kv_error *err)
{
    struct tar *t = tar_of(kv);
    const struct mirage_crunch_entry *e;
    br_sha256_context c;
    uint8_t *buf;
    uint64_t done = 0;
    int r = mirage_kv_table_find_value(&t->table, key, &e, err);

    if (r < 0)
        return r;
    if (!(buf = malloc(WINDOW)))
        return mirage_kv_fail(err, MIRAGE_ENOMEM, key, NULL);
    br_sha256_init(&c);
    while (done < e->size) {
        size_t n = e->size - done < WINDOW ? (size_t)(e->size - done) : WINDOW;
        if ((r = read_bytes(t, e->offset + done, buf, n)) < 0) {
            free(buf);
            return read_failed(err, key, r, e->offset + done);
        }
        br_sha256_update(&c, buf, n);
        done += n;
    }
    br_sha256_out(&c, out);
    free(buf);
    return 0;
}

static int t_size(struct mirage_kv *kv, const char *key, uint64_t *size,
                  struct mirage_kv_error *err)
{
    return mirage_kv_table_size(&tar_of(kv)->table, key, size, err);
}

static void t_disconnect(struct mirage_kv *kv)
{
    struct tar *t = tar_of(kv);

    free(t->entries);
    free(t->names);
    free(t->sector);
    free(t);
}

static const struct mirage_kv_ops tar_ops = {
    .exists = t_exists,
    .get = t_get,
    .get_partial = t_get_partial,
    .list = t_list,
    .last_modified = t_last_modified,
    .digest = t_digest,
    .size = t_size,
    .disconnect = t_disconnect,
};

/* Builds (t)'s table from the merged items: dictionaries' times are the
 * latest of anything under them. */
static int build_table(struct tar *t, struct scan *s, size_t n)
{
    if (!(t->entries = calloc(n, sizeof(*t->entries))))
        return fail(s, MIRAGE_ENOMEM, "tar: out of memory for %zu entries", n);
    t->names = s->names;
    s->names = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &s->items[i];
        t->entries[i] = (struct mirage_crunch_entry){t->names + it->key, it->kind, it->offset,
                                                     it->size, it->mtime};
    }
    t->table = (struct mirage_crunch){t->entries, n, NULL, mirage_block_bytes(t->block)};
    /* Sorted keys: everything under a dictionary comes after it. */
    for (size_t i = n; i-- > 1;) {
        struct mirage_crunch_entry *e = &t->entries[i];
        char parent[MIRAGE_KV_KEY_MAX + 1];
        size_t pl = (size_t)(strrchr(e->key, '/') - e->key), j;
        memcpy(parent, e->key, pl ? pl : 1);
        parent[pl ? pl : 1] = '\0';
        j = mirage_kv_table_lower_bound(&t->table, parent);
        if (j < i && t->entries[j].mtime < e->mtime)
            t->entries[j].mtime = e->mtime;
    }
    return 0;
}

int mirage_kv_tar_connect(struct mirage_block *block, struct mirage_kv **out, char *msg,
                          size_t msglen)
{
    struct scan s = {
        .block = block, .bytes = mirage_block_bytes(block), .msg = msg, .msglen = msglen};
    struct tar *t;
    uint8_t h[HDR];
    uint64_t at = 0;
    size_t n = 0;
    int r;

    msg[0] = '\0';
    if (!(s.win = malloc(WINDOW)) || !(t = calloc(1, sizeof(*t)))) {
        free(s.win);
        return fail(&s, MIRAGE_ENOMEM, "tar: out of memory");
    }
    t->block = block;
    for (;;) {
        uint64_t next = 0;
        if (at + HDR > s.bytes) {
            r = fail(&s, MIRAGE_EBADMSG,
                     "tar: the archive ends at byte %llu without its end-of-archive blocks "
                     "(truncated?)",
                     (unsigned long long)at);
            goto out;
        }
        if ((r = scan_read(&s, at, h, HDR)) < 0)
            goto out;
        if (zero_block(h))
            break;
        if ((r = header(&s, h, at, &next)) < 0)
            goto out;
        at = next;
    }
    if (s.next_path || s.next_link || s.has_size || s.has_mtime) {
        r = fail(&s, MIRAGE_EBADMSG,
                 "tar: the archive ends at byte %llu after a long-name or pax header with no "
                 "entry",
                 (unsigned long long)at);
        goto out;
    }
    if ((r = add_parents(&s)) < 0 || (r = merge(&s, &n)) < 0 || (r = build_table(t, &s, n)) < 0)
        goto out;
    if (!(t->sector = malloc(block->info.sector_size))) {
        r = fail(&s, MIRAGE_ENOMEM, "tar: out of memory");
        goto out;
    }
    t->kv.ops = &tar_ops;
    *out = &t->kv;
    scan_free(&s);
    return 0;
out:
    scan_free(&s);
    free(t->entries);
    free(t->names);
    free(t);
    return r;
}

int mirage_kv_tar_open(struct mirage_block *block, struct mirage_kv **out)
{
    char msg[400], line[500];
    int r = mirage_kv_tar_connect(block, out, msg, sizeof msg);

    if (r) {
        int n = snprintf(line, sizeof line, "tar_kv_ro on block device '%s': %s\n",
                         block->name ? block->name : "?", msg);
        mirage_console_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    }
    return r;
}
