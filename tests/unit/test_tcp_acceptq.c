/* test_tcp_acceptq.c: data and FIN that arrive before the application accepts are kept, not reset.
 */
#include "check.h"
#include "fake_platform.h"
#include "mirage/error.h"
#include "mirage/sched.h"
#include "mirage/tcp.h"
#include "mirage/time.h"
#include "tcp_harness.h"

static struct harness H;

/*
 * A connection waiting in the listener's accept queue has no application yet;
 * it is not one the application closed. The Linux kernel sends its request
 * (and often its FIN) right behind the handshake's ACK, so on a real wire they
 * arrive before accept returns: stack.bats and tcp.bats saw such connections
 * reset ("Connection reset by peer" before the echo server accepted them).
 */
static void test_data_before_accept(void)
{
    enum { N = 3 };
    struct mirage_tcp_listener *l;
    struct mirage_flow *c[N], *s;
    struct mirage_ipaddr dst;
    struct mirage_tcp_stats st;
    char buf[64], want[16];
    size_t got, len;

    harness_init(&H, 21, NULL, &(struct link_params){.delay = MIRAGE_MS(1)});
    dst = H.ep[0].addr;
    CHECK_INT(mirage_tcp_listener_open(H.ep[0].tcp, 7, NULL, &l), 0);
    for (int i = 0; i < N; i++) {
        CHECK_INT(mirage_tcp_connect_flow(H.ep[1].tcp, &dst, 7, &c[i], MIRAGE_FOREVER), 0);
        len = (size_t)snprintf(want, sizeof(want), "request %d", i);
        CHECK_INT(mirage_flow_write(c[i], want, len, MIRAGE_FOREVER), 0);
        if (i > 0) /* the first keeps its side open */
            CHECK_INT(mirage_flow_shutdown(c[i], MIRAGE_SHUT_WR), 0);
    }
    mirage_sleep_ns(MIRAGE_MS(50)); /* all of it has arrived; nothing was accepted yet */
    mirage_tcp_stats(H.ep[0].tcp, &st);
    CHECK_INT(st.resets_sent, 0);
    for (int i = 0; i < N; i++) {
        CHECK_INT(mirage_tcp_listener_accept(l, &s, NULL, NULL, MIRAGE_FOREVER), 0);
        len = (size_t)snprintf(want, sizeof(want), "request %d", i);
        CHECK_INT(mirage_flow_read(s, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
        CHECK_INT(got, len);
        CHECK(memcmp(buf, want, len) == 0);
        if (i > 0) { /* then the FIN */
            CHECK_INT(mirage_flow_read(s, buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
            CHECK_INT(got, 0);
        }
        CHECK_INT(mirage_flow_write(s, buf, 0, MIRAGE_FOREVER), 0);
        mirage_flow_close(s);
    }
    for (int i = 0; i < N; i++) {
        CHECK_INT(mirage_flow_read(c[i], buf, sizeof(buf), &got, MIRAGE_FOREVER), 0);
        CHECK_INT(got, 0); /* an orderly end, not MIRAGE_ECONNRESET */
        mirage_flow_close(c[i]);
    }
    mirage_tcp_listener_close(l);
    mirage_sleep_ns(MIRAGE_SEC(121)); /* past TIME_WAIT */
    for (int i = 0; i < 2; i++) {
        mirage_tcp_stats(H.ep[i].tcp, &st);
        CHECK_INT(st.conns, 0);
        CHECK_INT(st.resets_sent, 0);
    }
    harness_free(&H);
}

int main(void)
{
    (void)stream_fill; /* the harness's stream helper is for transfers */
    test_data_before_accept();
    return CHECK_DONE();
}
