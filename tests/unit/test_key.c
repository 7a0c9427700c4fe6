/* test_key.c: boot keys: every type's parser, the option loop, --help, usage errors, and --logs. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/log.h"

MIRAGE_LOG_SOURCE(tcp_src, "tcp", "TCP, for the tests");

static char err[256];

static int v4(const char *s, uint8_t out[4])
{
    return mirage_key_parse_ipv4(s, strlen(s), out, err, sizeof(err));
}

static int v6(const char *s, uint8_t out[16])
{
    return mirage_key_parse_ipv6(s, strlen(s), out, err, sizeof(err));
}

static void test_ipv4(void)
{
    uint8_t a[4];

    CHECK_INT(v4("10.0.0.2", a), 0);
    CHECK(a[0] == 10 && a[1] == 0 && a[2] == 0 && a[3] == 2);
    CHECK_INT(v4("255.255.255.255", a), 0);
    CHECK_INT(v4("10.0.0.300", a), MIRAGE_ERANGE);
    CHECK(strstr(err, "over 255") != NULL);
    const char *bad[] = {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "01.2.3.4", "1..2.3", "a.b.c.d",
                         "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1000.1.1.1", "1.2.3.4/24"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(v4(bad[i], a) < 0);
}

static void test_ipv6(void)
{
    uint8_t a[16], want[16] = {0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

    CHECK_INT(v6("fc00::2", a), 0);
    CHECK(memcmp(a, want, 16) == 0);
    CHECK_INT(v6("fc00:0:0:0:0:0:0:2", a), 0);
    CHECK(memcmp(a, want, 16) == 0);
    CHECK_INT(v6("::", a), 0);
    CHECK(a[0] == 0 && a[15] == 0);
    CHECK_INT(v6("::1", a), 0);
    CHECK(a[15] == 1 && a[14] == 0);
    CHECK_INT(v6("1::", a), 0);
    CHECK(a[1] == 1 && a[15] == 0);
    CHECK_INT(v6("::ffff:10.0.0.1", a), 0);
    CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 10 && a[15] == 1);
    CHECK_INT(v6("2001:DB8:a:b:c:d:e:f", a), 0);
    CHECK(a[2] == 0x0d && a[3] == 0xb8 && a[15] == 0x0f);
    const char *bad[] = {"", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3",
                         "12345::", ":1::", "1:", "g::", "1:2:3:4:5:6:7::8:9", "::1.2.3",
                         "1:2:3:4:5:6:7:1.2.3.4", "fc00::2/64", "1:2:3:4:5:6:7:8::"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (v6(bad[i], a) >= 0)
            fprintf(stderr, "accepted bad IPv6 '%s'\n", bad[i]);
        CHECK(v6(bad[i], a) < 0);
    }
}

/* IP[:PORT]: IPV4, IPV4:PORT, IPV6, [IPV6] and [IPV6]:PORT; the port is left
 * alone when none is given. */
static int ip_port(const char *s, uint8_t a[16], int *family, uint16_t *port)
{
    return mirage_key_parse_ip_port(s, strlen(s), a, family, port, err, sizeof(err));
}

static void test_ip_port(void)
{
    uint8_t a[16];
    int family;
    uint16_t port = 53;

    CHECK_INT(ip_port("10.0.0.1", a, &family, &port), 0);
    CHECK(family == 4 && a[0] == 10 && a[3] == 1 && port == 53);
    CHECK_INT(ip_port("10.0.0.1:5353", a, &family, &port), 0);
    CHECK(family == 4 && port == 5353);
    port = 53;
    CHECK_INT(ip_port("fd00::1", a, &family, &port), 0);
    CHECK(family == 6 && a[0] == 0xfd && a[15] == 1 && port == 53);
    CHECK_INT(ip_port("[fd00::2]", a, &family, &port), 0);
    CHECK(family == 6 && a[15] == 2 && port == 53);
    CHECK_INT(ip_port("[fd00::3]:8053", a, &family, &port), 0);
    CHECK(family == 6 && a[15] == 3 && port == 8053);
    CHECK_INT(ip_port("[::ffff:10.0.0.1]:1", a, &family, &port), 0);
    CHECK(family == 6 && a[10] == 0xff && a[12] == 10 && port == 1);

    CHECK(ip_port("[fd00::1", a, &family, &port) < 0);
    CHECK(strstr(err, "no ']'") != NULL);
    CHECK(ip_port("[fd00::1]x", a, &family, &port) < 0);
    CHECK(strstr(err, "after ']'") != NULL);
    CHECK(ip_port("[fd00::1]:0", a, &family, &port) < 0);
    CHECK(strstr(err, "port") != NULL);
    CHECK(ip_port("10.0.0.1:", a, &family, &port) < 0);
    CHECK(strstr(err, "port") != NULL);
    const char *bad[] = {"",           "[]",           "[10.0.0.1]:53",   "10.0.0.1:65536",
                         "010.0.0.1",  "fd00::1:99999", "fd00::g",        "host.example:53",
                         "[fd00::1]:53:1", ":53"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ip_port(bad[i], a, &family, &port) >= 0)
            fprintf(stderr, "accepted bad IP[:PORT] '%s'\n", bad[i]);
        CHECK(ip_port(bad[i], a, &family, &port) < 0);
    }
}

static void test_int_mac_utf8(void)
{
    int64_t v;
    uint8_t m[6];
    size_t bad;

    CHECK_INT(mirage_key_parse_int("8080", 4, 0, 65535, &v, err, sizeof(err)), 0);
    CHECK_INT(v, 8080);
    CHECK_INT(mirage_key_parse_int("99999", 5, 0, 65535, &v, err, sizeof(err)), MIRAGE_ERANGE);
    CHECK_STR(err, "'99999' is out of range 0..65535");
    CHECK_INT(mirage_key_parse_int("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v, err,
                                   sizeof(err)),
              0);
    CHECK(v == INT64_MIN);
    CHECK_INT(mirage_key_parse_int("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v, err,
                                   sizeof(err)),
              MIRAGE_ERANGE);
    CHECK_INT(mirage_key_parse_int("12a", 3, 0, 100, &v, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_INT(mirage_key_parse_int("-", 1, -5, 5, &v, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_INT(mirage_key_parse_mac("02:00:5e:10:00:AB", 17, m, err, sizeof(err)), 0);
    CHECK(m[0] == 2 && m[5] == 0xab);
    CHECK(mirage_key_parse_mac("02:00:5e:10:00:A", 16, m, err, sizeof(err)) < 0);
    CHECK(mirage_key_parse_mac("02-00-5e-10-00-ab", 17, m, err, sizeof(err)) < 0);
    CHECK_INT(mirage_key_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x90\xab", 15, &bad), 1);
    CHECK_INT(mirage_key_utf8_valid("ab\xff", 3, &bad), 0);
    CHECK_INT(bad, 2);
    CHECK_INT(mirage_key_utf8_valid("\xc0\xaf", 2, &bad), 0);         /* overlong */
    CHECK_INT(mirage_key_utf8_valid("\xed\xa0\x80", 3, &bad), 0);     /* surrogate */
    CHECK_INT(mirage_key_utf8_valid("\xf4\x90\x80\x80", 4, &bad), 0); /* > U+10FFFF */
    CHECK_INT(mirage_key_utf8_valid("\xe2\x82", 2, &bad), 0);         /* cut short */
}

static int64_t dur(const char *s, int64_t min, int64_t max, int expect)
{
    int64_t ns = -1;

    CHECK_INT(mirage_key_parse_duration(s, strlen(s), min, max, &ns, err, sizeof(err)), expect);
    return ns;
}

/* Durations, prefixes and booleans: the formats the tool and the tenders share. */
static void test_duration_prefix_bool(void)
{
    struct mirage_key_ip ip;
    int b;

    CHECK_INT(dur("250ms", 0, INT64_MAX, 0), 250000000);
    CHECK_INT(dur("7ns", 0, INT64_MAX, 0), 7);
    CHECK_INT(dur("3us", 0, INT64_MAX, 0), 3000);
    CHECK_INT(dur("5s", 0, INT64_MAX, 0), 5000000000LL);
    CHECK_INT(dur("2m", 0, INT64_MAX, 0), 120000000000LL);
    CHECK_INT(dur("1h", 0, INT64_MAX, 0), 3600000000000LL);
    CHECK_INT(dur("9223372036s", 0, INT64_MAX, 0), 9223372036000000000LL);
    dur("9223372037s", 0, INT64_MAX, MIRAGE_ERANGE);
    CHECK_STR(err, "'9223372037s' is too long a duration");
    dur("5", 0, INT64_MAX, MIRAGE_EINVAL);
    CHECK_STR(err, "'5' is not a duration (a number and ns, us, ms, s, m or h)");
    dur("s", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("-1s", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("+1s", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("1 s", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("1S", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("1.5s", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("", 0, INT64_MAX, MIRAGE_EINVAL);
    dur("2s", 0, 1000000000, MIRAGE_ERANGE);
    CHECK_STR(err, "'2s' is out of range 0..1000000000 ns");

    CHECK_INT(mirage_key_parse_prefix("10.1.2.3/16", 11, 0, &ip, err, sizeof(err)), 0);
    CHECK(ip.addr[0] == 10 && ip.addr[3] == 3 && ip.bits == 16);
    CHECK(mirage_key_parse_prefix("10.1.2.3/016", 12, 0, &ip, err, sizeof(err)) < 0);
    CHECK_STR(err, "'10.1.2.3/016' has a bad prefix length (0 to 32)");
    CHECK_INT(mirage_key_parse_prefix("10.1.2.3/0", 10, 0, &ip, err, sizeof(err)), 0);
    CHECK(mirage_key_parse_prefix("10.1.2.3/00", 11, 0, &ip, err, sizeof(err)) < 0);
    CHECK(mirage_key_parse_prefix("10.1.2.3", 8, 0, &ip, err, sizeof(err)) < 0);
    CHECK_STR(err, "'10.1.2.3' has no /LENGTH prefix length");
    CHECK_INT(mirage_key_parse_prefix("fc00::1/128", 11, 1, &ip, err, sizeof(err)), 0);
    CHECK_INT(ip.bits, 128);

    CHECK_INT(mirage_key_parse_bool("Yes", 3, &b, err, sizeof(err)), 0);
    CHECK_INT(b, 1);
    CHECK_INT(mirage_key_parse_bool("off", 3, &b, err, sizeof(err)), 0);
    CHECK_INT(b, 0);
    /* (s, len) is the whole text: a longer string is not a prefix match. */
    CHECK_INT(mirage_key_parse_bool("onward", 2, &b, err, sizeof(err)), 0);
    CHECK_INT(mirage_key_parse_bool("onward", 6, &b, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_STR(err, "'onward' is not true or false");
}

static struct mirage_key k_hello = MIRAGE_KEY_STR("hello", "Hello World!", "How to say hello.");
static struct mirage_key k_port = MIRAGE_KEY_INTEGER("port", "80", 0, 65535, "The port.");
static struct mirage_key k_verbose = MIRAGE_KEY_FLAG("verbose", "false", "Say more.");
static struct mirage_key k_mac = MIRAGE_KEY_OF("mac", MIRAGE_KEY_MAC, NULL, "A MAC.");
static struct mirage_key k_list = MIRAGE_KEY_OF("peers", MIRAGE_KEY_LIST, "", "Peers.");
static struct mirage_key *keys[] = {&k_hello,       &k_port,        &k_verbose,
                                    &k_mac,         &k_list,        &mirage_key_ipv4,
                                    &mirage_key_ipv6, &mirage_key_ipv4_gateway, NULL};

static int parse(const char *const *args)
{
    char *argv[32] = {(char *)"uk"};
    int argc = 1;

    while (args[argc - 1])
        argv[argc] = (char *)args[argc - 1], argc++;
    fake_console_clear();
    mirage_log_reset();
    return mirage_key_parse_args(argc, argv, keys);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_parse_args(void)
{
    CHECK_INT(parse(ARGS(NULL)), 0);
    CHECK_STR(k_hello.v.str, "Hello World!");
    CHECK_INT(k_port.v.num, 80);
    CHECK_INT(k_verbose.v.flag, 0);
    CHECK_INT(k_mac.has_value, 0);
    CHECK_INT(k_list.v.list.count, 0);
    CHECK_INT(mirage_key_ipv4.v.ip.addr[3], 2);
    CHECK_INT(mirage_key_ipv4.v.ip.bits, 24);
    CHECK_INT(mirage_key_ipv6.has_value, 0);

    CHECK_INT(parse(ARGS("--hello=hi there", "--port", "8080", "--verbose", "--mac=02:00:00:00:00:01",
                         "--peers=a,,b", "--ipv4=192.168.1.5/16", "--ipv6=fc00::5/64")),
              0);
    CHECK_STR(k_hello.v.str, "hi there");
    CHECK_INT(k_hello.set, 1);
    CHECK_INT(k_port.v.num, 8080);
    CHECK_INT(k_verbose.v.flag, 1);
    CHECK_INT(k_mac.v.mac[5], 1);
    CHECK_INT(k_list.v.list.count, 3);
    CHECK_STR(k_list.v.list.items[0], "a");
    CHECK_STR(k_list.v.list.items[1], "");
    CHECK_STR(k_list.v.list.items[2], "b");
    CHECK_INT(mirage_key_ipv4.v.ip.addr[0], 192);
    CHECK_INT(mirage_key_ipv4.v.ip.bits, 16);
    CHECK_INT(mirage_key_ipv6.v.ip.addr[15], 5);
    CHECK_INT(mirage_key_ipv6.v.ip.bits, 64);
    CHECK_INT(parse(ARGS("--verbose=no")), 0);
    CHECK_INT(k_verbose.v.flag, 0);
}

static void expect_usage(const char *const *args, const char *msg)
{
    int r = parse(args);

    CHECK_INT(r, MIRAGE_EXIT_USAGE);
    if (strstr(fake_console_text(), msg) == NULL)
        fprintf(stderr, "wanted '%s' in: %s\n", msg, fake_console_text());
    CHECK(strstr(fake_console_text(), msg) != NULL);
    CHECK(strstr(fake_console_text(), "Try 'uk --help'") != NULL);
}

static void test_usage_errors(void)
{
    expect_usage(ARGS("--port=99999"), "uk: option '--port': '99999' is out of range 0..65535");
    expect_usage(ARGS("--ipv4=10.0.0.300/24"),
                 "option '--ipv4': '10.0.0.300' is not an IPv4 address (a number is over 255)");
    expect_usage(ARGS("--ipv4=10.0.0.3/33"), "bad prefix length (0 to 32)");
    expect_usage(ARGS("--ipv4=10.0.0.3"), "has no /LENGTH");
    expect_usage(ARGS("--nope=1"), "unknown option '--nope'");
    expect_usage(ARGS("stray"), "unexpected argument 'stray'");
    expect_usage(ARGS(""), "unexpected argument ''");
    expect_usage(ARGS("--hello"), "option '--hello' needs a value");
    expect_usage(ARGS("--port=1", "--port=2"), "option '--port' is given twice");
    expect_usage(ARGS("--verbose=maybe"), "'maybe' is not true or false");
    expect_usage(ARGS("--hello=\xff"), "argument 1 is not valid UTF-8 (byte 9)");
    expect_usage(ARGS("-l", "tcp:loud"), "option '--logs': bad log level in 'tcp:loud'");
    expect_usage(ARGS("-l"), "option '--logs' needs a value");
    expect_usage(ARGS("--logs=debug,"), "bad log level in ''");
    /* A malformed -l is a usage error with the syntax, not an unknown source. */
    expect_usage(ARGS("-l=tcp:info"), "option '--logs': bad source name in log setting "
                                      "'=tcp:info': expected LEVEL, *:LEVEL or SOURCE:LEVEL");
    expect_usage(ARGS("--logs=tcp debug:info"), "bad source name in log setting");
    expect_usage(ARGS("-l=debug"), "bad log level in '=debug'");
    CHECK_INT(parse(ARGS("-ltcp:debug,net.x-1_b:info")), 0);
}

static void test_help(void)
{
    CHECK_INT(parse(ARGS("--port=1", "--help")), MIRAGE_EXIT_HELP);
    const char *h = fake_console_text();
    CHECK(strstr(h, "APPLICATION OPTIONS\n") != NULL);
    CHECK(strstr(h, "--hello=STRING (default: Hello World!)\n           How to say hello.") !=
          NULL);
    CHECK(strstr(h, "--port=INT (0..65535) (default: 80)") != NULL);
    CHECK(strstr(h, "NETWORK OPTIONS\n       --ipv4=IPV4/LEN (default: 10.0.0.2/24)") != NULL);
    CHECK(strstr(h, "--ipv6=IPV6/LEN (no default)") != NULL);
    CHECK(strstr(h, "-l LEVELS, --logs=LEVELS") != NULL);
    CHECK(strstr(h, "tcp: TCP, for the tests") != NULL);
    CHECK(strstr(h, "application:") != NULL);
}

static void test_logs(void)
{
    struct mirage_log_src *app = &mirage_log_app;

    CHECK(mirage_log_find("tcp") == &tcp_src);
    CHECK_INT(parse(ARGS(NULL)), 0);
    CHECK(mirage_log_enabled(app, MIRAGE_LOG_INFO));
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_DEBUG));
    CHECK_INT(parse(ARGS("-l", "debug")), 0);
    CHECK(mirage_log_enabled(&tcp_src, MIRAGE_LOG_DEBUG));
    CHECK_INT(parse(ARGS("-l", "*:debug")), 0);
    CHECK(mirage_log_enabled(app, MIRAGE_LOG_DEBUG));
    CHECK_INT(parse(ARGS("-l", "tcp:debug,*:warning")), 0);
    CHECK(mirage_log_enabled(&tcp_src, MIRAGE_LOG_DEBUG));
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_INFO));
    CHECK(mirage_log_enabled(app, MIRAGE_LOG_WARNING));
    CHECK_INT(parse(ARGS("--logs=quiet")), 0);
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_APP));
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_ERROR));
    CHECK_INT(parse(ARGS("-lapp")), 0);
    CHECK(mirage_log_enabled(app, MIRAGE_LOG_APP));
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_ERROR));
    /* An unknown source warns and the rest still applies. */
    CHECK_INT(parse(ARGS("-l", "nosuch:debug,application:error")), 0);
    CHECK(strstr(fake_console_text(), "[WARNING] [mirage] unknown log source 'nosuch'") != NULL);
    CHECK(mirage_log_enabled(app, MIRAGE_LOG_ERROR));
    CHECK(!mirage_log_enabled(app, MIRAGE_LOG_WARNING));
    /* The line format: seconds since boot, level, source, message. */
    CHECK_INT(parse(ARGS(NULL)), 0);
    fake_now += 1500000;
    mirage_log_info(app, "hello %d", 4);
    mirage_log_debug(app, "hidden");
    CHECK(strstr(fake_console_text(), ": [INFO] [application] hello 4\n") != NULL);
    CHECK(strstr(fake_console_text(), "hidden") == NULL);
    /* A long message is cut with a visible mark, never silently. */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fake_console_clear();
    mirage_log_info(app, "%s", big);
    CHECK_INT(fake_console_len, 1023);
    CHECK(strstr(fake_console_text(), "xx[...]\n") != NULL);
}

int main(void)
{
    test_ipv4();
    test_ipv6();
    test_ip_port();
    test_int_mac_utf8();
    test_duration_prefix_bool();
    test_parse_args();
    test_usage_errors();
    test_help();
    test_logs();
    return CHECK_DONE();
}
