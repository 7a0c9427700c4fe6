/* test_tender_opts.c: the tenders' command line: options, devices, MACs, the guest's arguments. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "mirage/key.h"
#include "tender.h"

static struct tender_opts opts;
static char err[TENDER_ERR_MAX];

/* Parses the NULL-terminated argument list after "mirage-spt". */
static int parse(const char *first, ...)
{
    char *argv[256];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)"mirage-spt";
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 255; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return tender_opts_parse(argc, argv, &opts, err);
}

#define REFUSED(msg, ...)                                                                          \
    do {                                                                                           \
        CHECK_INT(parse(__VA_ARGS__, NULL), -1);                                                   \
        CHECK_STR(err, msg);                                                                       \
    } while (0)

/* A boot-argument error: the tenders exit 64 for it, as the unikernel would. */
#define BAD_ARGS(msg, ...)                                                                         \
    do {                                                                                           \
        CHECK_INT(parse(__VA_ARGS__, NULL), TENDER_OPTS_BAD_ARGS);                                 \
        CHECK_STR(err, msg);                                                                       \
    } while (0)

static void test_valid(void)
{
    CHECK_INT(parse("hello.spt", NULL), 0);
    CHECK_STR(opts.image, "hello.spt");
    CHECK_INT(opts.mem_bytes, 32 << 20);
    CHECK_INT(opts.ndevs, 0);
    CHECK_STR(opts.cmdline, "");
    CHECK_INT(opts.help, 0);

    CHECK_INT(parse("--mem=64", "--net:service=tap0", "--block:storage=disk.img",
                    "--net-mac:service=02:00:00:AB:cd:ef", "web.hvt", "--", "-l", "debug",
                    "--port=80", NULL),
              0);
    CHECK_STR(err, "");
    CHECK_INT(opts.mem_bytes, 64 << 20);
    CHECK_STR(opts.image, "web.hvt");
    CHECK_INT(opts.ndevs, 2);
    CHECK_STR(opts.devs[0].name, "service");
    CHECK_INT(opts.devs[0].type, MIRAGE_DEV_NET);
    CHECK_STR(opts.devs[0].value, "tap0");
    CHECK_INT(opts.devs[0].has_mac, 1);
    CHECK_INT(opts.devs[0].mac[0], 0x02);
    CHECK_INT(opts.devs[0].mac[3], 0xab);
    CHECK_INT(opts.devs[0].mac[5], 0xef);
    CHECK_STR(opts.devs[1].name, "storage");
    CHECK_INT(opts.devs[1].type, MIRAGE_DEV_BLOCK);
    CHECK_STR(opts.devs[1].value, "disk.img");
    CHECK_INT(opts.devs[1].has_mac, 0);
    CHECK_STR(opts.cmdline, "-l debug --port=80");

    /* --net-mac before its --net; a value may contain '='. */
    CHECK_INT(parse("--net-mac:n=02:00:00:00:00:01", "--block:b=a=b.img", "--net:n=t", "x", NULL),
              0);
    CHECK_INT(opts.ndevs, 2);
    CHECK_STR(opts.devs[0].name, "n");
    CHECK_STR(opts.devs[0].value, "t");
    CHECK_INT(opts.devs[0].has_mac, 1);
    CHECK_INT(opts.devs[0].mac[5], 1);
    CHECK_STR(opts.devs[1].value, "a=b.img");

    CHECK_INT(parse("--mem=1", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 1 << 20);
    CHECK_INT(parse("--mem=3072", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 3072ULL << 20);
    /* Above 4 GiB too: the host's memory is checked apart (tender_mem_check). */
    CHECK_INT(parse("--mem=4096", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 4096ULL << 20);
    CHECK_INT(parse("--mem=524288", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 524288ULL << 20);
    CHECK_INT(parse("--mem=0064", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 64 << 20);

    /* After IMAGE everything belongs to the guest, even options and a second "--". */
    CHECK_INT(parse("x", "--mem=2", "--help", "--", "a", NULL), 0);
    CHECK_INT(opts.mem_bytes, 32 << 20);
    CHECK_INT(opts.help, 0);
    CHECK_INT(opts.guest_help, 1);
    CHECK_STR(opts.cmdline, "--mem=2 --help -- a");
    CHECK_INT(parse("x", "--helpful", "-l", "debug", NULL), 0);
    CHECK_INT(opts.guest_help, 0);
    CHECK_INT(parse("x", "--", "--", NULL), 0);
    CHECK_STR(opts.cmdline, "--");

    /* "--" before IMAGE ends the options: an image name may start with '-'. */
    CHECK_INT(parse("--mem=8", "--", "-odd.spt", "a", NULL), 0);
    CHECK_STR(opts.image, "-odd.spt");
    CHECK_STR(opts.cmdline, "a");

    /* Empty guest arguments are kept as they are: the guest sees the spaces. */
    CHECK_INT(parse("x", "a", "", "b", NULL), 0);
    CHECK_STR(opts.cmdline, "a  b");
    CHECK_INT(parse("x", "\"a b\"", "c\\ d", NULL), 0);
    CHECK_STR(opts.cmdline, "\"a b\" c\\ d");

    CHECK_INT(parse("--help", NULL), 0);
    CHECK_INT(opts.help, 1);
    CHECK_INT(parse("--mem=8", "--help", "--bogus", NULL), 0);
    CHECK_INT(opts.help, 1);
}

static void test_errors(void)
{
    CHECK_INT(parse(NULL), -1);
    CHECK_STR(err, "no unikernel image given");
    REFUSED("no unikernel image given", "--mem=8");
    REFUSED("no unikernel image given", "--mem=8", "--");
    REFUSED("the unikernel image path is empty", "");

    REFUSED("unknown option '--foo'", "--foo", "x");
    REFUSED("unknown option '-m'", "-m", "x");
    REFUSED("unknown option '-'", "-", "x");
    REFUSED("unknown option '--memory=8'", "--memory=8", "x");
    REFUSED("unknown option '--net=tap0'", "--net=tap0", "x");
    REFUSED("unknown option '--help=1'", "--help=1", "x");

    REFUSED("--mem needs a value: use --mem=MB", "--mem", "8", "x");
    REFUSED("--mem: no value: use --mem=MB", "--mem=", "x");
    REFUSED("--mem=abc: not a decimal number of MB", "--mem=abc", "x");
    REFUSED("--mem=-1: not a decimal number of MB", "--mem=-1", "x");
    REFUSED("--mem=+8: not a decimal number of MB", "--mem=+8", "x");
    REFUSED("--mem=8M: not a decimal number of MB", "--mem=8M", "x");
    REFUSED("--mem= 8: not a decimal number of MB", "--mem= 8", "x");
    REFUSED("--mem=0x10: not a decimal number of MB", "--mem=0x10", "x");
    REFUSED("--mem=0: must be from 1 to 524288 MB", "--mem=0", "x");
    REFUSED("--mem=524289: must be from 1 to 524288 MB", "--mem=524289", "x");
    REFUSED("--mem=99999999999999999999999999: must be from 1 to 524288 MB",
            "--mem=99999999999999999999999999", "x");
    REFUSED("--mem=18446744073709551617: must be from 1 to 524288 MB", "--mem=18446744073709551617",
            "x");
    REFUSED("--mem given twice", "--mem=8", "--mem=8", "x");

    REFUSED("--net needs a device: use --net:NAME=TAP", "--net", "x");
    REFUSED("--net-mac needs a device: use --net-mac:NAME=MAC", "--net-mac", "x");
    REFUSED("--block needs a device: use --block:NAME=PATH", "--block", "x");
    REFUSED("--net:service: no value: use --net:service=TAP", "--net:service", "x");
    REFUSED("--block:disk: no value: use --block:disk=PATH", "--block:disk", "x");
    REFUSED("--net:service=: empty TAP", "--net:service=", "x");
    REFUSED("--block:disk=: empty PATH", "--block:disk=", "x");
    REFUSED("--net-mac:service=: empty MAC", "--net-mac:service=", "x");
    REFUSED("--net:=tap0: device name '' is empty", "--net:=tap0", "x");
    REFUSED("--net:: device name '' is empty", "--net:", "x");
    REFUSED("--block:my-disk=d.img: device name 'my-disk' may contain only A-Z, a-z, 0-9 and _",
            "--block:my-disk=d.img", "x");
    REFUSED("--net:a:b=t: device name 'a:b' may contain only A-Z, a-z, 0-9 and _", "--net:a:b=t",
            "x");
    REFUSED("--net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=t: device name "
            "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 59 "
            "characters",
            "--net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=t", "x");
    CHECK_INT(
        parse("--net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=t", "x", NULL), 0);

    REFUSED("device 'service' is given twice", "--net:service=tap0", "--net:service=tap1", "x");
    REFUSED("device 'd' is given twice", "--block:d=a", "--block:d=a", "x");
    REFUSED("device 'd' is given twice", "--net:d=tap0", "--block:d=a", "x");
    REFUSED("device 'd' is given twice", "--block:d=a", "--net:d=tap0", "x");
    REFUSED("--net-mac:d given twice", "--net:d=t", "--net-mac:d=02:00:00:00:00:01",
            "--net-mac:d=02:00:00:00:00:02", "x");
    REFUSED("--net-mac:d given without --net:d=TAP", "--net-mac:d=02:00:00:00:00:01", "x");
    REFUSED("--net-mac:d given without --net:d=TAP", "--net:e=t", "--net-mac:d=02:00:00:00:00:01",
            "x");
    REFUSED("--net-mac:d: 'd' is given as a block device", "--block:d=a",
            "--net-mac:d=02:00:00:00:00:01", "x");
    REFUSED("--net-mac:d given for block device 'd'", "--net-mac:d=02:00:00:00:00:01",
            "--block:d=a", "x");
}

/* --net-mac's parser is the runtime's: the tenders take what a boot key takes. */
static int mac_parse(const char *s, uint8_t mac[6])
{
    return mirage_key_parse_mac(s, strlen(s), mac, NULL, 0);
}

static void test_mac(void)
{
    uint8_t mac[6] = {0};

    CHECK_INT(mac_parse("02:00:5e:10:FF:0a", mac), 0);
    CHECK(memcmp(mac, "\x02\x00\x5e\x10\xff\x0a", 6) == 0);
    CHECK(mac_parse("", mac) < 0);
    CHECK(mac_parse("02:00:5e:10:ff", mac) < 0);
    CHECK(mac_parse("02:00:5e:10:ff:", mac) < 0);
    CHECK(mac_parse("02:00:5e:10:ff:0", mac) < 0);
    CHECK(mac_parse("02:00:5e:10:ff:0a:", mac) < 0);
    CHECK(mac_parse("02:00:5e:10:ff:0a0", mac) < 0);
    CHECK(mac_parse("02-00-5e-10-ff-0a", mac) < 0);
    CHECK(mac_parse("2:0:5e:10:ff:a", mac) < 0);
    CHECK(mac_parse("0g:00:5e:10:ff:0a", mac) < 0);
    CHECK(mac_parse(" 02:00:5e:10:ff:0a", mac) < 0);
    CHECK(mac_parse("020:0:5e:10:ff:0a", mac) < 0);

    REFUSED("--net-mac:n: '02:00:00:00:00' is not a MAC address like 02:00:00:00:00:01",
            "--net:n=t", "--net-mac:n=02:00:00:00:00", "x");
    REFUSED("--net-mac:n: 01:00:5e:00:00:01 is a multicast address (lowest bit of the first "
            "octet set)",
            "--net:n=t", "--net-mac:n=01:00:5e:00:00:01", "x");
    REFUSED("--net-mac:n: ff:ff:ff:ff:ff:ff is a multicast address (lowest bit of the first "
            "octet set)",
            "--net:n=t", "--net-mac:n=ff:ff:ff:ff:ff:ff", "x");
    REFUSED("--net-mac:n: 00:00:00:00:00:00 is the all-zero address", "--net:n=t",
            "--net-mac:n=00:00:00:00:00:00", "x");
    /* A globally administered unicast address is the user's choice. */
    CHECK_INT(parse("--net:n=t", "--net-mac:n=00:16:3e:00:00:01", "x", NULL), 0);
}

/* Only the fields in use are written: leftovers in a reused struct must not
 * show through as devices, MACs, a command line or --help. */
static void test_reused_struct(void)
{
    memset(&opts, 0xa5, sizeof(opts));
    CHECK_INT(parse("--net:n=t", "x", NULL), 0);
    CHECK_INT(opts.mem_bytes, 32 << 20);
    CHECK_INT(opts.help, 0);
    CHECK_INT(opts.ndevs, 1);
    CHECK_STR(opts.devs[0].name, "n");
    CHECK_STR(opts.devs[0].value, "t");
    CHECK_INT(opts.devs[0].has_mac, 0);
    CHECK_INT(opts.devs[0].type, MIRAGE_DEV_NET);
    CHECK_STR(opts.cmdline, "");
    memset(&opts, 0xa5, sizeof(opts));
    CHECK_INT(parse("--net-mac:n=02:00:00:00:00:01", "--net:n=t", "x", "a", "b", NULL), 0);
    CHECK_INT(opts.devs[0].has_mac, 1);
    CHECK_INT(opts.devs[0].mac[5], 1);
    CHECK_STR(opts.cmdline, "a b");
    memset(&opts, 0xa5, sizeof(opts));
    CHECK_INT(parse("--bogus", NULL), -1);
    CHECK_INT(opts.ndevs, 0);
    CHECK_STR(opts.cmdline, "");
}

static void test_devices_limit(void)
{
    char names[MIRAGE_MANIFEST_MAX + 1][32];
    char *argv[MIRAGE_MANIFEST_MAX + 4];
    int argc = 0;

    argv[argc++] = (char *)"mirage-spt";
    for (int i = 0; i <= MIRAGE_MANIFEST_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "--block:d%d=f", i);
        argv[argc++] = names[i];
    }
    argv[argc++] = (char *)"x";
    argv[argc] = NULL;
    CHECK_INT(tender_opts_parse(argc - 2, argv, &opts, err), -1);
    CHECK_STR(err, "no unikernel image given");
    argv[argc - 2] = (char *)"x"; /* 63 devices, then the image */
    CHECK_INT(tender_opts_parse(argc - 1, argv, &opts, err), 0);
    CHECK_INT(opts.ndevs, 63);
    argv[argc - 2] = names[63];
    CHECK_INT(tender_opts_parse(argc, argv, &opts, err), -1);
    CHECK_STR(err, "too many devices: at most 63");
}

static void test_cmdline_length(void)
{
    static char big[MIRAGE_CMDLINE_MAX + 10];
    char *argv[8];

    /* Exactly 8191 bytes fit. */
    memset(big, 'a', MIRAGE_CMDLINE_MAX - 1);
    big[MIRAGE_CMDLINE_MAX - 1] = '\0';
    CHECK_INT(parse("x", big, NULL), 0);
    CHECK_INT(strlen(opts.cmdline), 8191);

    big[MIRAGE_CMDLINE_MAX - 1] = 'a';
    big[MIRAGE_CMDLINE_MAX] = '\0';
    BAD_ARGS("command line too long: 8192 bytes, limit 8191", "x", big);

    /* The separating spaces count too: 8190 + 1 + 1 = 8192. */
    big[MIRAGE_CMDLINE_MAX - 2] = '\0';
    BAD_ARGS("command line too long: 8192 bytes, limit 8191", "x", big, "b");
    CHECK_INT(parse("x", big, "", NULL), 0);
    CHECK_INT(strlen(opts.cmdline), 8191);

    argv[0] = (char *)"mirage-hvt";
    argv[1] = (char *)"x";
    for (int i = 2; i < 7; i++)
        argv[i] = big;
    argv[7] = NULL;
    CHECK_INT(tender_opts_parse(7, argv, &opts, err), TENDER_OPTS_BAD_ARGS);
    CHECK_STR(err, "command line too long: 40954 bytes, limit 8191");
}

/* Captures the usage text through a temporary file standing in for stdout. */
static void test_usage(void)
{
    FILE *tmp = tmpfile();
    char text[4096];
    size_t n;
    int saved;

    CHECK(tmp != NULL);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    tender_usage("mirage-hvt");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    CHECK(strncmp(text, "usage: mirage-hvt [OPTIONS] IMAGE [--] [ARGS...]\n", 49) == 0);
    CHECK(strstr(text, "--mem=MB") != NULL);
    CHECK(strstr(text, "--net:NAME=TAP") != NULL);
    CHECK(strstr(text, "--net-mac:NAME=MAC") != NULL);
    CHECK(strstr(text, "--block:NAME=PATH") != NULL);
}

/* --dumpcore[=DIR]: the directory (. alone), once, never empty. */
static void test_dumpcore(void)
{
    CHECK_INT(parse("hello.spt", NULL), 0);
    CHECK(opts.dumpcore == NULL);
    CHECK_INT(parse("--dumpcore", "hello.spt", NULL), 0);
    CHECK_STR(opts.dumpcore, ".");
    CHECK_INT(parse("--dumpcore=/var/crash", "hello.hvt", "--dumpcore", NULL), 0);
    CHECK_STR(opts.dumpcore, "/var/crash");
    CHECK_STR(opts.cmdline, "--dumpcore"); /* after the image: the guest's */
    REFUSED("--dumpcore= needs a directory: use --dumpcore=DIR", "--dumpcore=", "hello.spt");
    REFUSED("--dumpcore is given twice", "--dumpcore", "--dumpcore=/tmp", "hello.spt");
    REFUSED("unknown option '--dumpcores'", "--dumpcores", "hello.spt");
}

int main(void)
{
    test_dumpcore();
    test_valid();
    test_errors();
    test_mac();
    test_reused_struct();
    test_devices_limit();
    test_cmdline_length();
    test_usage();
    return CHECK_DONE();
}
