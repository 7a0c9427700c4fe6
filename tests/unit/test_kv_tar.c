/* test_kv_tar.c: tar_kv_ro over archives GNU tar makes (every format, 512 and 4096-byte sectors)
 * passes the read-only suite; bad headers are refused by name and offset. */
#include <stdarg.h>
#include <sys/stat.h>

#include "fake_platform.h"
#include "kv_suite.h"
#include "mirage/block.h"
#include "mirage/wire.h"

static char work[] = "/tmp/test_kv_tar.XXXXXX";

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command in the work directory; a failure is a test failure. */
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", work);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fprintf(stderr, "command failed: %s\n", cmd);
        check_failures++;
    }
}

/* The bytes of (name) in the work directory. */
static uint8_t *slurp(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    uint8_t *b;
    long n;

    snprintf(path, sizeof(path), "%s/%s", work, name);
    if (!(f = fopen(path, "rb")))
        abort();
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A RAM disk of (ss)-byte sectors holding (img), zero-padded to a whole sector. */
static struct mirage_block *disk_of(const uint8_t *img, size_t len, uint32_t ss)
{
    struct mirage_block *b;
    size_t size = (len + ss - 1) / ss * ss;
    uint8_t *pad = calloc(1, size ? size : ss);

    if (!size)
        size = ss;
    memcpy(pad, img, len);
    CHECK_INT(mirage_block_ramdisk_new("tar", size, ss, &b), 0);
    CHECK_INT(mirage_block_write(b, 0, pad, size), 0);
    free(pad);
    return b;
}

/* Connects to the archive file (name) of the work directory. */
static int connect_file(const char *name, uint32_t ss, struct mirage_block **b,
                        struct mirage_kv **kv, char *msg, size_t msglen)
{
    size_t len;
    uint8_t *img = slurp(name, &len);

    *b = disk_of(img, len, ss);
    free(img);
    return mirage_kv_tar_connect(*b, kv, msg, msglen);
}

/* The fixture as GNU tar archives it, in each of its formats, on 512- and
 * 4096-byte sectors: the read-only suite passes. */
static void test_fixture(void)
{
    static const char *const how[] = {
        "tar -C fixture -cf t.tar .",                /* gnu, "./" names */
        "tar -C fixture -cf t.tar --format=posix .", /* pax */
        "tar -C fixture -cf t.tar --format=ustar .", /* plain ustar */
        "tar -C fixture -cf t.tar --format=gnu hello.txt empty dir big.bin",
        "tar -C fixture -cf t.tar --format=posix dir/a.bin dir/sub/deep.txt dir/z big.bin "
        "empty hello.txt", /* no directory headers: every one implied */
    };
    static const uint32_t sizes[] = {512, 4096};
    char msg[400];

    for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++)
        for (size_t j = 0; j < 2; j++) {
            struct mirage_block *b;
            struct mirage_kv *kv;
            sh("rm -f t.tar && %s", how[i]);
            CHECK_INT(connect_file("t.tar", sizes[j], &b, &kv, msg, sizeof(msg)), 0);
            if (msg[0])
                fprintf(stderr, "%s: %s\n", how[i], msg);
            kv_suite_ro(kv);
            mirage_kv_disconnect(kv);
            mirage_block_disconnect(b);
        }
}

/* Names longer than ustar's 100 bytes in each format (GNU 'L', pax path,
 * ustar's prefix), times, an empty directory, hard links, and keys where
 * "/d-x" sorts between "/d" and "/d/...". */
static void test_names_times_links(void)
{
    static const char *const fmts[] = {"gnu", "posix", "ustar"};
    char d90[101], f90[91], key[400], msg[400];
    uint64_t ns;
    size_t n;

    memset(d90, 'd', 90); /* ./DIR/FILE: 183 bytes, ustar's prefix and name */
    d90[90] = '\0';
    memset(f90, 'f', 90);
    f90[90] = '\0';
    sh("mkdir -p names/%s names/emptydir names/d names/d-x && echo long >names/%s/%s && "
       "echo one >names/d/one && echo x >names/d-x/x && echo same >names/orig && "
       "ln names/orig names/d/linked && touch -d @1600000000 names/%s/%s && "
       "touch -d @1500000000 names/orig names/d/one names/d-x/x names/emptydir names/d-x "
       "names/d names/%s names",
       d90, d90, f90, d90, f90, d90);
    for (size_t i = 0; i < 3; i++) {
        struct mirage_block *b;
        struct mirage_kv *kv;
        sh("rm -f n.tar && tar -C names -cf n.tar --format=%s .", fmts[i]);
        CHECK_INT(connect_file("n.tar", 512, &b, &kv, msg, sizeof(msg)), 0);
        snprintf(key, sizeof(key), "/%s/%s", d90, f90);
        CHECK(kv_is_str(kv, key, "long\n"));
        CHECK_INT(mirage_kv_last_modified(kv, key, &ns, NULL), 0);
        CHECK_INT(ns, 1600000000ULL * 1000000000ULL);
        /* A directory is as late as the latest thing under it. */
        CHECK_INT(mirage_kv_last_modified(kv, "/", &ns, NULL), 0);
        CHECK_INT(ns, 1600000000ULL * 1000000000ULL);
        CHECK_INT(mirage_kv_last_modified(kv, "/d", &ns, NULL), 0);
        CHECK(ns >= 1500000000ULL * 1000000000ULL);
        KV_LIST(kv, "/emptydir", "");
        KV_LIST(kv, "/d", "linked:v one:v");
        KV_LIST(kv, "/d-x", "x:v");
        CHECK(kv_is_str(kv, "/d/linked", "same\n"));
        CHECK(kv_is_str(kv, "/orig", "same\n"));
        {
            struct mirage_kv_entry *e;
            CHECK_INT(mirage_kv_list(kv, "/", &e, &n, NULL), 0);
            CHECK_INT(n, 5);
            free(e);
        }
        mirage_kv_disconnect(kv);
        mirage_block_disconnect(b);
    }
}

/* ---- hand-made headers ------------------------------------------------------ */

/* Sets (h)'s checksum field from its bytes, as tar does. */
static void seal(uint8_t *h)
{
    unsigned sum = 0;

    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

/* A ustar header for (name) of (type) and (size) at (h), sealed. */
static void header(uint8_t *h, const char *name, char type, uint64_t size, const char *link)
{
    struct mirage_wr w;

    memset(h, 0, 512);
    memcpy(h, name, strnlen(name, 100));
    w = mirage_wr_init(h + 100, 48);
    mirage_wr_octal(&w, 8, 0644);
    mirage_wr_octal(&w, 8, 1000);
    mirage_wr_octal(&w, 8, 1000);
    mirage_wr_octal(&w, 12, size);
    mirage_wr_octal(&w, 12, 1700000000);
    h[156] = (uint8_t)type;
    if (link)
        memcpy(h + 157, link, strnlen(link, 100));
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    seal(h);
}

/* An archive being made by hand: headers and data, then end blocks. */
struct arch {
    uint8_t b[64 * 1024];
    size_t len;
};

static uint8_t *add(struct arch *a, const char *name, char type, const void *data, size_t size)
{
    uint8_t *h = a->b + a->len;

    header(h, name, type, size, NULL);
    if (size)
        memcpy(h + 512, data, size);
    a->len += 512 + (size + 511) / 512 * 512;
    return h;
}

/* Connects to the hand-made archive (with (ends) end blocks) and returns the
 * connect's result with its message in (msg). */
static int try_arch(const struct arch *a, int ends, char *msg, size_t msglen)
{
    uint8_t *img = calloc(1, a->len + 1024);
    struct mirage_block *b;
    struct mirage_kv *kv = NULL;
    int r;

    memcpy(img, a->b, a->len);
    b = disk_of(img, a->len + (size_t)ends * 512, 512);
    r = mirage_kv_tar_connect(b, &kv, msg, msglen);
    if (r == 0)
        mirage_kv_disconnect(kv);
    mirage_block_disconnect(b);
    free(img);
    return r;
}

#define REFUSED(a, ends, want)                                                                     \
    do {                                                                                           \
        char m_[400];                                                                              \
        CHECK_INT(try_arch(a, ends, m_, sizeof(m_)), MIRAGE_EBADMSG);                              \
        if (!strstr(m_, want)) {                                                                   \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, m_, want); \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static void test_bad_headers(void)
{
    static struct arch a;
    char msg[400];
    uint8_t *h;

    /* The hand-made archive itself is good. */
    a.len = 0;
    add(&a, "ok.txt", '0', "fine\n", 5);
    add(&a, "dir/", '5', NULL, 0);
    CHECK_INT(try_arch(&a, 2, msg, sizeof(msg)), 0);

    /* A flipped bit anywhere in a header: its checksum no longer holds. */
    h = add(&a, "second", '0', "x", 1);
    h[3] ^= 0x10;
    REFUSED(&a, 2, "tar header at byte 1536: bad checksum");
    /* The checksum field itself not octal. */
    h[3] ^= 0x10;
    h[150] = 'z';
    REFUSED(&a, 2, "tar header at byte 1536: the checksum field is not octal");

    /* Not a tar archive at all. */
    a.len = 0;
    memset(a.b, 0xa5, 1024);
    a.len = 1024;
    REFUSED(&a, 2, "tar header at byte 0: not a tar archive: ");
    /* Right checksum, wrong magic (an old v7 archive, or another format). */
    a.len = 0;
    h = add(&a, "v7", '0', "x", 1);
    memset(h + 257, 0, 8);
    seal(h);
    REFUSED(&a, 2, "not a ustar or GNU tar header");

    /* A size past the end of the device. */
    a.len = 0;
    h = add(&a, "big", '0', "x", 1);
    header(h, "big", '0', 1ULL << 32, NULL);
    REFUSED(&a, 2, "tar header at byte 0: a size of 4294967296 bytes runs past the end");
    /* A size field that is not a number. */
    memcpy(h + 124, "12x", 3);
    seal(h);
    REFUSED(&a, 2, "bad size field");

    /* Truncated: no end-of-archive blocks, or data cut short. */
    a.len = 0;
    add(&a, "ok.txt", '0', "fine\n", 5);
    REFUSED(&a, 0, "the archive ends at byte 1024 without its end-of-archive blocks");
    a.len = 512;
    REFUSED(&a, 0, "runs past the end of the device");

    /* Names: absolute, with "..", "//", too long. */
    static const struct {
        const char *name, *want;
    } names[] = {
        {"/etc/passwd", "tar header at byte 0: absolute path \"/etc/passwd\""},
        {"a/../../etc/passwd", "bad name \"a/../../etc/passwd\": segment '..'"},
        {"../up", "bad name \"../up\": segment '..'"},
        {"a//b", "bad name \"a//b\": empty segment"},
        {".", "a file named as the root"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        a.len = 0;
        add(&a, names[i].name, '0', "x", 1);
        REFUSED(&a, 2, names[i].want);
    }

    /* Entries a store cannot hold. */
    a.len = 0;
    h = add(&a, "ln", '2', NULL, 0);
    header(h, "ln", '2', 0, "/etc/shadow");
    REFUSED(&a, 2, "ln is a symbolic link");
    a.len = 0;
    add(&a, "tty", '3', NULL, 0);
    REFUSED(&a, 2, "/tty is a character device (type '3')");
    a.len = 0;
    add(&a, "fifo", '6', NULL, 0);
    REFUSED(&a, 2, "/fifo is a FIFO");
    a.len = 0;
    add(&a, "weird", 'Q', NULL, 0);
    REFUSED(&a, 2, "/weird is of an unknown type (type 'Q')");
    a.len = 0;
    h = add(&a, "hard", '1', NULL, 0);
    header(h, "hard", '1', 0, "nothere");
    REFUSED(&a, 2, "hard link /hard -> /nothere: the target is not a file earlier");

    /* A file and a directory under one name. */
    a.len = 0;
    add(&a, "a", '0', "x", 1);
    add(&a, "a/b", '0', "y", 1);
    REFUSED(&a, 2, "tar: /a is a file (header at byte 0) and a directory");

    /* GNU long names: without a terminator, too long, or left dangling. */
    a.len = 0;
    add(&a, "././@LongLink", 'L', "abc", 3);
    add(&a, "x", '0', "x", 1);
    REFUSED(&a, 2, "tar header at byte 0: GNU long name without a terminating NUL");
    a.len = 0;
    add(&a, "././@LongLink", 'L', "long/name\0", 10);
    add(&a, "x", '0', "y", 1);
    CHECK_INT(try_arch(&a, 2, msg, sizeof(msg)), 0);
    a.len = 0;
    add(&a, "././@LongLink", 'L', "dangling\0", 9);
    REFUSED(&a, 2, "after a long-name or pax header with no entry");
    {
        static struct arch l;
        l.len = 0;
        header(l.b, "././@LongLink", 'L', 5000, NULL);
        l.len = 512 + 5120;
        REFUSED(&l, 2, "GNU long name of 5000 bytes (at most 4096)");
    }

    /* pax records: bad lengths, no '=', bad numbers, sparse files, deep keys. */
    static const struct {
        const char *rec, *want;
    } paxes[] = {
        {"13 path=abc\n", "pax record at byte 0 of the extended header has a bad length"},
        {"99 path=abc\n", "has a bad length"},
        {"0 path=abc\n", "has a bad length"},
        {"x path=abc\n", "has a bad length"},
        {"11 path=abc", "has a bad length"},
        {"8 noeqx\n", "has no KEY=VALUE"},
        {"11 size=1x\n", "pax size '1x'"},
        {"14 mtime=-1.5\n", "pax mtime '-1.5'"},
        {"20 GNU.sparse.map=0\n", "a sparse file (pax GNU.sparse.map)"},
        {"8 path=\n", "pax path is empty"},
    };
    for (size_t i = 0; i < sizeof(paxes) / sizeof(paxes[0]); i++) {
        a.len = 0;
        add(&a, "PaxHeaders/x", 'x', paxes[i].rec, strlen(paxes[i].rec));
        add(&a, "x", '0', "x", 1);
        REFUSED(&a, 2, paxes[i].want);
    }
    /* A good pax path, size and fractional mtime apply to the next entry. */
    {
        struct mirage_block *b;
        struct mirage_kv *kv;
        uint64_t ns, sz;
        const char *rec = "18 path=p/a/x.txt\n"
                          "30 mtime=1700000001.000000005\n"
                          "9 size=3\n";
        a.len = 0;
        add(&a, "PaxHeaders/x", 'x', rec, strlen(rec));
        add(&a, "short", '0', "abc", 3);
        memset(a.b + a.len, 0, 1024);
        b = disk_of(a.b, a.len + 1024, 512);
        CHECK_INT(mirage_kv_tar_connect(b, &kv, msg, sizeof(msg)), 0);
        CHECK(kv_is_str(kv, "/p/a/x.txt", "abc"));
        CHECK_INT(kv_kind(kv, "/short"), MIRAGE_KV_NONE);
        CHECK_INT(mirage_kv_last_modified(kv, "/p/a/x.txt", &ns, NULL), 0);
        CHECK_INT(ns, 1700000001000000005ULL);
        CHECK_INT(mirage_kv_size(kv, "/p/a/x.txt", &sz, NULL), 0);
        CHECK_INT(sz, 3);
        mirage_kv_disconnect(kv);
        mirage_block_disconnect(b);
    }
    /* A key over MIRAGE_KV_KEY_MAX through pax. */
    {
        char rec[1200];
        char path[1100];
        memset(path, 'a', sizeof(path) - 1);
        for (size_t i = 200; i < sizeof(path) - 1; i += 200)
            path[i] = '/';
        path[sizeof(path) - 1] = '\0';
        snprintf(rec, sizeof(rec), "%zu path=%s\n", strlen(path) + 11, path);
        a.len = 0;
        add(&a, "PaxHeaders/x", 'x', rec, strlen(rec));
        add(&a, "x", '0', "x", 1);
        REFUSED(&a, 2, "longer than 1024 bytes");
    }

    /* An all-zero device is an empty archive. */
    a.len = 0;
    {
        memset(a.b, 0, 10240);
        struct mirage_block *b = disk_of(a.b, 10240, 512);
        struct mirage_kv *kv;
        CHECK_INT(mirage_kv_tar_connect(b, &kv, msg, sizeof(msg)), 0);
        KV_LIST(kv, "/", "");
        mirage_kv_disconnect(kv);
        mirage_block_disconnect(b);
    }
}

/* GNU tar's own refusals are ours too: a symlink it archived is refused,
 * and an archive of a later version of a file gives the later bytes. */
static void test_gnu_tar_cases(void)
{
    struct mirage_block *b;
    struct mirage_kv *kv;
    char msg[400];

    sh("mkdir -p sym && echo t >sym/target && ln -sf target sym/link && "
       "tar -C sym -cf s.tar .");
    CHECK_INT(connect_file("s.tar", 512, &b, &kv, msg, sizeof(msg)), MIRAGE_EBADMSG);
    CHECK(strstr(msg, "/link is a symbolic link (make the archive with tar -h") != NULL);
    mirage_block_disconnect(b);
    sh("tar -C sym -chf h.tar .");
    CHECK_INT(connect_file("h.tar", 512, &b, &kv, msg, sizeof(msg)), 0);
    CHECK(kv_is_str(kv, "/link", "t\n"));
    mirage_kv_disconnect(kv);
    mirage_block_disconnect(b);

    sh("mkdir -p app && echo old >app/f && tar -C app -cf a.tar f && echo newer >app/f && "
       "tar -C app -rf a.tar f");
    CHECK_INT(connect_file("a.tar", 512, &b, &kv, msg, sizeof(msg)), 0);
    CHECK(kv_is_str(kv, "/f", "newer\n"));
    mirage_kv_disconnect(kv);
    mirage_block_disconnect(b);
}

int main(void)
{
    char fixture[600];

    if (!mkdtemp(work))
        abort();
    snprintf(fixture, sizeof(fixture), "%s/fixture", work);
    CHECK_INT(kv_fixture_write_dir(fixture), 0);
    test_fixture();
    test_names_times_links();
    test_bad_headers();
    test_gnu_tar_cases();
    sh("cd / && rm -rf '%s'", work);
    return CHECK_DONE();
}
