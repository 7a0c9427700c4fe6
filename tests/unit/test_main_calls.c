/* test_main_calls.c: the library calls a generated main.c makes: stack keys, messages. */
#include "check.h"
#include "fake_platform.h"
#include "mirage/device.h"
#include "mirage/error.h"
#include "mirage/key.h"
#include "mirage/log.h"
#include "mirage/stack.h"
#include "mirage/time.h"

static struct mirage_key *keys[] = {&mirage_key_ipv4, &mirage_key_ipv4_gateway,
                                    &mirage_key_dhcp_timeout, NULL};

/* Parses (args) as main.c does, after resetting what a previous parse set. */
static int boot(const char *const *args, const char *ipv4_default)
{
    char *argv[8] = {(char *)"web"};
    int argc = 1;

    for (size_t i = 0; keys[i]; i++) {
        keys[i]->set = keys[i]->has_value = 0;
        memset(&keys[i]->v, 0, sizeof(keys[i]->v));
    }
    mirage_key_ipv4.def = ipv4_default; /* what main.c sets from configure */
    while (args[argc - 1])
        argv[argc] = (char *)args[argc - 1], argc++;
    fake_console_clear();
    mirage_log_reset();
    return mirage_key_parse_args(argc, argv, keys);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_stack_config_from_keys(void)
{
    struct mirage_stack_config sc;

    /* A static address and gateway from the boot arguments: DHCP is off even
     * when configure asked for it, since --ipv4 was given. */
    CHECK_INT(boot(ARGS("--ipv4=10.1.2.3/16", "--ipv4-gateway=10.1.0.1"), NULL), 0);
    memset(&sc, 0, sizeof(sc));
    mirage_stack_config_from_keys(&sc, 1);
    CHECK_INT(sc.dhcp, 0);
    CHECK_INT(sc.ipv4.family, 4);
    CHECK(memcmp(sc.ipv4.a, "\x0a\x01\x02\x03", 4) == 0);
    CHECK_INT(sc.ipv4_prefix, 16);
    CHECK_INT(sc.has_gateway, 1);
    CHECK(memcmp(sc.gateway.a, "\x0a\x01\x00\x01", 4) == 0);
    CHECK(sc.dhcp_deadline == 0);

    /* DHCP with nothing given: no address, a deadline --dhcp-timeout (60 s) away. */
    CHECK_INT(boot(ARGS("--dhcp-timeout=60"), NULL), 0);
    memset(&sc, 0, sizeof(sc));
    mirage_stack_config_from_keys(&sc, 1);
    CHECK_INT(sc.dhcp, 1);
    CHECK_INT(sc.ipv4.family, 0);
    CHECK_INT(sc.has_gateway, 0);
    CHECK(sc.dhcp_deadline == mirage_clock_monotonic() + 60000000000ULL);
    /* --dhcp-timeout=0: wait for ever. */
    CHECK_INT(boot(ARGS("--dhcp-timeout=0"), NULL), 0);
    memset(&sc, 0, sizeof(sc));
    mirage_stack_config_from_keys(&sc, 1);
    CHECK(sc.dhcp == 1 && sc.dhcp_deadline == 0);

    /* Without DHCP the configured default address is the address. */
    CHECK_INT(boot(ARGS("--dhcp-timeout=5"), "10.0.0.2/24"), 0);
    memset(&sc, 0, sizeof(sc));
    mirage_stack_config_from_keys(&sc, 0);
    CHECK(sc.dhcp == 0 && sc.dhcp_deadline == 0);
    CHECK(memcmp(sc.ipv4.a, "\x0a\x00\x00\x02", 4) == 0);
    CHECK_INT(sc.ipv4_prefix, 24);
    mirage_key_ipv4.def = "10.0.0.2/24";
}

static void test_messages(void)
{
    fake_console_clear();
    CHECK_INT(mirage_stack_no_lease("web"), MIRAGE_EXIT_NO_LEASE);
    CHECK_STR(fake_console_text(), "web: no DHCP lease within --dhcp-timeout: give the address "
                                   "with --ipv4=ADDR/LEN, or start a DHCP server on the network\n");
    fake_console_clear();
    CHECK_INT(mirage_device_connect_failed("web", "network", "service", MIRAGE_ENOENT), 1);
    const char *want = "web: cannot connect the network device 'service': ";
    CHECK(strncmp(fake_console_text(), want, strlen(want)) == 0);
    CHECK(strstr(fake_console_text(), mirage_strerror(MIRAGE_ENOENT)) != NULL);
}

int main(void)
{
    test_stack_config_from_keys();
    test_messages();
    return CHECK_DONE();
}
