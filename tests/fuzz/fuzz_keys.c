/* fuzz_keys.c: the boot-argument splitter, the option loop and every key parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/cmdline.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/platform.h"

void mirage_console_write(const char *buf, size_t len)
{
    (void)buf;
    (void)len;
}

uint64_t mirage_clock_monotonic(void)
{
    return 0;
}

static struct mirage_key k_str = MIRAGE_KEY_STR("s", "x", "");
static struct mirage_key k_int = MIRAGE_KEY_INTEGER("port", "1", 0, 65535, "");
static struct mirage_key k_bool = MIRAGE_KEY_FLAG("b", "false", "");
static struct mirage_key k_v4 = MIRAGE_KEY_OF("a4", MIRAGE_KEY_IPV4, NULL, "");
static struct mirage_key k_p4 = MIRAGE_KEY_OF("p4", MIRAGE_KEY_IPV4_PREFIX, "10.0.0.2/24", "");
static struct mirage_key k_v6 = MIRAGE_KEY_OF("a6", MIRAGE_KEY_IPV6, NULL, "");
static struct mirage_key k_p6 = MIRAGE_KEY_OF("p6", MIRAGE_KEY_IPV6_PREFIX, NULL, "");
static struct mirage_key k_mac = MIRAGE_KEY_OF("mac", MIRAGE_KEY_MAC, NULL, "");
static struct mirage_key k_list = MIRAGE_KEY_OF("l", MIRAGE_KEY_LIST, "", "");
static struct mirage_key k_dur = {.name = "d", .type = MIRAGE_KEY_DURATION, .def = "5s",
                                  .doc = "", .min = 0, .max = INT64_MAX};
static struct mirage_key *keys[] = {&k_str, &k_int, &k_bool, &k_v4,   &k_p4,  &k_v6,
                                    &k_p6,  &k_mac, &k_list, &k_dur, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[MIRAGE_CMDLINE_MAX];
    static char *argv[257];
    char line[MIRAGE_CMDLINE_MAX];
    const char *err;
    uint8_t out[16];
    int64_t n;
    char msg[128];
    int argc;

    if (size == 0 || size >= sizeof(line))
        return 0;
    /* The raw parsers see the bytes as they are, with no NUL. */
    mirage_key_parse_ipv4((const char *)data, size, out, msg, sizeof(msg));
    mirage_key_parse_ipv6((const char *)data, size, out, msg, sizeof(msg));
    mirage_key_parse_mac((const char *)data, size, out, msg, sizeof(msg));
    {
        int family = 0;
        uint16_t port = 0;
        if (mirage_key_parse_ip_port((const char *)data, size, out, &family, &port, msg,
                                     sizeof(msg)) == 0 &&
            (family != 4 && family != 6))
            abort();
    }
    mirage_key_parse_int((const char *)data, size, -5, 70000, &n, msg, sizeof(msg));
    if (mirage_key_parse_duration((const char *)data, size, 0, INT64_MAX, &n, msg, sizeof(msg)) ==
        0 && n < 0)
        abort();
    {
        struct mirage_key_ip ip;
        int flag;
        if (mirage_key_parse_prefix((const char *)data, size, size & 1, &ip, msg, sizeof(msg)) ==
                0 &&
            ip.bits > 128)
            abort();
        mirage_key_parse_bool((const char *)data, size, &flag, msg, sizeof(msg));
    }
    mirage_key_utf8_valid((const char *)data, size, NULL);

    memcpy(line, data, size);
    line[size] = '\0';
    mirage_log_set(line, msg, sizeof(msg));
    argv[0] = (char *)"fuzz";
    argc = mirage_cmdline_split(line, buf, sizeof(buf), argv + 1, 256, &err);
    if (argc < 0) {
        if (err == NULL)
            abort(); /* a refusal must say why */
        return 0;
    }
    int r = mirage_key_parse_args(argc + 1, argv, keys);
    if (r != 0 && r != MIRAGE_EXIT_HELP && r != MIRAGE_EXIT_USAGE)
        abort();
    if (r == 0) {
        /* Parsed keys hold what their types promise. */
        if (k_int.v.num < 0 || k_int.v.num > 65535 || k_p4.v.ip.bits > 32 ||
            (k_p6.has_value && k_p6.v.ip.bits > 128))
            abort();
        for (size_t i = 0; i < k_list.v.list.count; i++)
            if (k_list.v.list.items[i] == NULL)
                abort();
    }
    mirage_log_reset();
    return 0;
}
