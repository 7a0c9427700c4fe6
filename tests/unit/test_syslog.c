/* test_syslog.c: RFC 5424 messages, octet-counting framing, the reporter's bounded queue and
 * console fallback. */
#include "../../lib/runtime/uplink.h"
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/syslog.h"
#include "mirage/time.h"

MIRAGE_LOG_SOURCE(src_tcp, "tcp", "a source");

/* 2023-11-14T22:13:20Z plus 123456789 ns */
#define WALL (1700000000ull * 1000000000ull + 123456789ull)

static void test_format_udp(void)
{
    char buf[MIRAGE_SYSLOG_MSG_MAX + 1];
    size_t n;

    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_WARNING, WALL, "web1", "hello", "tcp",
                             "retransmit\n", 11);
    buf[n] = '\0';
    /* daemon (3) * 8 + warning (4) */
    CHECK_STR(buf, "<28>1 2023-11-14T22:13:20.123456Z web1 hello - tcp - retransmit");
    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_APP, WALL, "h", "a", "application",
                             "x", 1);
    buf[n] = '\0';
    CHECK_STR(buf, "<29>1 2023-11-14T22:13:20.123456Z h a - application - x");
    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_DEBUG, WALL, "h", "a", "s", "", 0);
    buf[n] = '\0';
    CHECK_STR(buf, "<31>1 2023-11-14T22:13:20.123456Z h a - s - ");
    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_ERROR, WALL, "h", "a", "s", "e", 1);
    buf[n] = '\0';
    CHECK_STR(buf, "<27>1 2023-11-14T22:13:20.123456Z h a - s - e");
    /* A clock before 2000 is not a time: NILVALUE; an empty field too, and
     * spaces in a field become '_' so the header still splits in seven. */
    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_INFO, 5000000000ull, "h", "",
                             "two words", "m", 1);
    buf[n] = '\0';
    CHECK_STR(buf, "<30>1 - h - - two_words - m");
    /* MSGID is at most 32 characters. */
    n = mirage_syslog_format(buf, sizeof(buf), 0, MIRAGE_LOG_INFO, WALL, "h", "a",
                             "0123456789012345678901234567890123456789", "m", 1);
    buf[n] = '\0';
    CHECK(strstr(buf, " - 01234567890123456789012345678901 - m") != NULL);
    /* A buffer below the largest message is refused, not overrun. */
    CHECK_INT(mirage_syslog_format(buf, 100, 0, MIRAGE_LOG_INFO, WALL, "h", "a", "s", "m", 1), 0);
}

/* RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, the length in octets of what follows the space. */
static void test_format_tcp(void)
{
    char buf[MIRAGE_SYSLOG_MSG_MAX + 1], text[3000];
    size_t n;
    unsigned long len;
    char *sp;

    n = mirage_syslog_format(buf, sizeof(buf), 1, MIRAGE_LOG_INFO, WALL, "web1", "hello", "tcp",
                             "up", 2);
    buf[n] = '\0';
    CHECK_STR(buf, "55 <30>1 2023-11-14T22:13:20.123456Z web1 hello - tcp - up");
    CHECK_INT(strlen(strchr(buf, ' ') + 1), 55);
    /* A long text is cut so the whole frame fits MIRAGE_SYSLOG_MSG_MAX, and the count says so. */
    memset(text, 'x', sizeof(text));
    n = mirage_syslog_format(buf, sizeof(buf), 1, MIRAGE_LOG_INFO, WALL, "web1", "hello", "tcp",
                             text, sizeof(text));
    CHECK(n <= MIRAGE_SYSLOG_MSG_MAX);
    buf[n] = '\0';
    len = strtoul(buf, &sp, 10);
    CHECK(*sp == ' ');
    CHECK_INT(len, n - (size_t)(sp + 1 - buf));
    /* a message with a newline inside stays one frame: the count covers it */
    n = mirage_syslog_format(buf, sizeof(buf), 1, MIRAGE_LOG_INFO, WALL, "h", "a", "s", "a\nb\n",
                             4);
    buf[n] = '\0';
    CHECK_STR(buf, "47 <30>1 2023-11-14T22:13:20.123456Z h a - s - a\nb");
}

static void test_parse(void)
{
    struct mirage_syslog_config c;
    char err[200];

    memset(&c, 0, sizeof(c));
    CHECK_INT(mirage_syslog_parse_server("10.0.0.1", &c, err, sizeof(err)), 0);
    CHECK_INT(c.server.family, 4);
    CHECK_INT(c.server.a[3], 1);
    CHECK_INT(c.port, 514);
    CHECK_INT(mirage_syslog_parse_server("10.0.0.9:6514", &c, err, sizeof(err)), 0);
    CHECK_INT(c.server.a[3], 9);
    CHECK_INT(c.port, 6514);
    CHECK_INT(mirage_syslog_parse_server("10.0.0.1:0", &c, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_STR(err, "syslog server '10.0.0.1:0': '10.0.0.1:0' has no port after its ':' (a number "
                   "from 1 to 65535) (IPV4[:PORT] expected)");
    CHECK_INT(mirage_syslog_parse_server("10.0.0.1:", &c, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_INT(mirage_syslog_parse_server("10.0.0.1:65536", &c, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK_INT(mirage_syslog_parse_server("loghost", &c, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK(strstr(err, "IPV4[:PORT] expected") != NULL);
    CHECK_INT(mirage_syslog_parse_server("", &c, err, sizeof(err)), MIRAGE_EINVAL);
    CHECK(mirage_syslog_hostname_ok("web-1.example"));
    CHECK(!mirage_syslog_hostname_ok(""));
    CHECK(!mirage_syslog_hostname_ok("two words"));
    CHECK(!mirage_syslog_hostname_ok("caf\xc3\xa9"));
}

/* ---- the reporter over a stack that records datagrams ---- */

static char sent[64][MIRAGE_SYSLOG_MSG_MAX + 1];
static int nsent, fail_writes;

static int rec_udp_write(struct mirage_stack *s, uint16_t src_port, const struct mirage_ipaddr *dst,
                         uint16_t dst_port, int ttl, const void *data, size_t len)
{
    (void)s, (void)src_port, (void)ttl;
    CHECK_INT(dst->a[3], 7);
    CHECK_INT(dst_port, 1514);
    if (fail_writes)
        return MIRAGE_EHOSTUNREACH;
    if (nsent < 64 && len <= MIRAGE_SYSLOG_MSG_MAX) {
        memcpy(sent[nsent], data, len);
        sent[nsent][len] = '\0';
        nsent++;
    }
    return 0;
}

static const struct mirage_stack_ops rec_ops = {.udp_write = rec_udp_write};
static struct mirage_stack rec_stack = {&rec_ops};

static int count(const char *needle)
{
    int n = 0;

    for (const char *p = fake_console_text(); (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_reporter(void)
{
    struct mirage_syslog_config c = {.port = 1514, .hostname = "box", .app_name = "app"};
    struct mirage_syslog_stats st;

    c.server = mirage_ipv4_addr(10, 0, 0, 7);
    mirage_log_reset();
    mirage_log_set_limit(0);
    fake_console_clear();
    CHECK_INT(mirage_syslog_start(&rec_stack, &c), 0);
    CHECK_INT(mirage_syslog_start(&rec_stack, &c), MIRAGE_EEXIST);
    /* Logging never waits: the lines are queued, and sent once the fiber runs. */
    mirage_log_info(&src_tcp, "first %d", 1);
    mirage_log_app_msg(&mirage_log_app, "second");
    CHECK_INT(nsent, 0);
    mirage_fiber_yield();
    CHECK_INT(nsent, 2);
    CHECK(strstr(sent[0], "<30>1 ") == sent[0]);
    CHECK(strstr(sent[0], " box app - tcp - first 1") != NULL);
    CHECK(strstr(sent[1], " box app - application - second") != NULL);
    CHECK_STR(fake_console_text(), "");

    /* A burst beyond the queue: the queue's worth go, the rest are counted
     * and the next message says how many. */
    nsent = 0;
    for (int i = 0; i < MIRAGE_SYSLOG_QUEUE + 5; i++)
        mirage_log_info(&src_tcp, "burst %d", i);
    mirage_fiber_yield();
    CHECK_INT(nsent, MIRAGE_SYSLOG_QUEUE);
    mirage_syslog_stats(&st);
    CHECK_INT(st.dropped, 5);
    mirage_log_info(&src_tcp, "after");
    mirage_fiber_yield();
    CHECK_INT(nsent, MIRAGE_SYSLOG_QUEUE + 2);
    CHECK(strstr(sent[MIRAGE_SYSLOG_QUEUE], "<28>1 ") == sent[MIRAGE_SYSLOG_QUEUE]);
    CHECK(strstr(sent[MIRAGE_SYSLOG_QUEUE],
                 " - syslog - 5 log lines dropped: the syslog queue (16 lines) was full") != NULL);
    CHECK(strstr(sent[MIRAGE_SYSLOG_QUEUE + 1], " - tcp - after") != NULL);

    /* The server out of reach: the line goes to the console, with a warning,
     * and so does every line until the retry 1 s later succeeds. */
    nsent = 0;
    fail_writes = 1;
    mirage_log_info(&src_tcp, "lost?");
    mirage_fiber_yield();
    CHECK_INT(nsent, 0);
    CHECK_INT(count("[INFO] [tcp] lost?\n"), 1);
    CHECK_INT(count("[WARNING] [syslog] cannot reach 10.0.0.7:1514 over UDP"), 1);
    mirage_log_info(&src_tcp, "while down");
    CHECK_INT(count("[INFO] [tcp] while down\n"), 1);
    fail_writes = 0;
    mirage_sleep_ns(MIRAGE_MS(1500));
    mirage_log_info(&src_tcp, "back");
    mirage_fiber_yield();
    CHECK_INT(count("back"), 0);
    CHECK(nsent >= 1 && strstr(sent[nsent - 1], " - tcp - back") != NULL);

    /* Stop: what is queued leaves first, then the console is back. */
    mirage_log_info(&src_tcp, "last words");
    mirage_syslog_stop(mirage_deadline_in(MIRAGE_SEC(2)));
    CHECK(strstr(sent[nsent - 1], " - tcp - last words") != NULL);
    mirage_log_info(&src_tcp, "console again");
    CHECK_INT(count("[INFO] [tcp] console again\n"), 1);
    mirage_syslog_stats(&st);
    CHECK_INT(st.dropped, 5);
    CHECK_INT(st.console, 3);
    mirage_log_set_limit(MIRAGE_LOG_BURST);
}

/* The uplink the reporter and the monitor share: down once per spell, the back-off doubling
 * from the first retry to the last and starting over once the collector is back. */
static void test_uplink(void)
{
    struct uplink u = {.stack = &rec_stack, .port = 1514, .udp = 1,
                       .retry_first = MIRAGE_SEC(1), .retry_max = MIRAGE_SEC(5)};
    static const uint64_t waits[] = {1, 2, 4, 5, 5};

    u.addr = mirage_ipv4_addr(10, 0, 0, 7);
    nsent = 0;
    CHECK_INT(uplink_ready(&u, MIRAGE_FOREVER), 0);
    CHECK_INT(uplink_write(&u, "x", 1, MIRAGE_FOREVER), 0);
    CHECK_INT(nsent, 1);
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        uint64_t now = mirage_clock_monotonic();
        CHECK_INT(uplink_fail(&u), i == 0);
        CHECK(u.down);
        CHECK(u.retry_at >= now + MIRAGE_SEC(waits[i]) &&
              u.retry_at < now + MIRAGE_SEC(waits[i]) + MIRAGE_MS(100));
    }
    CHECK_INT(uplink_ready(&u, MIRAGE_FOREVER), 1); /* back: the caller says so */
    CHECK(!u.down);
    CHECK_INT(uplink_ready(&u, MIRAGE_FOREVER), 0);
    uint64_t now = mirage_clock_monotonic();
    CHECK_INT(uplink_fail(&u), 1);
    CHECK(u.retry_at < now + MIRAGE_SEC(1) + MIRAGE_MS(100));
    /* No back-off (the monitor's): retry_at stays. */
    struct uplink m = {.stack = &rec_stack, .udp = 1};
    CHECK_INT(uplink_fail(&m), 1);
    CHECK_INT(uplink_fail(&m), 0);
    CHECK(m.retry_at == 0);
    CHECK_INT(m.connects, 0);
}

int main(void)
{
    test_format_udp();
    test_format_tcp();
    test_parse();
    test_reporter();
    test_uplink();
    return CHECK_DONE();
}
