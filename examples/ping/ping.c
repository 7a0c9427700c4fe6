/* ping.c: answers ARP and ICMP echo requests on every network device its manifest declares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/responder.h"
#include "mirage/key.h"
#include "mirage/platform.h"
#include "ping.h"

/*
 * The first device takes its address from --ipv4=A.B.C.D/P, the k-th (k >= 2)
 * from --ipv4-k=...; one.c and two.c are the start functions taking one or two
 * devices. Frames move in batches: one readv, the answers built, one writev.
 */

#define BATCH            32
#define MAX_NICS         8
#define BATCHES_PER_TURN 8 /* then the other devices get a turn */
#define WRITE_RETRIES    1000
#define IDLE_NS          1000000000ull

struct nic {
    const char *name;
    const char *key;
    mirage_handle_t h;
    struct mirage_net_info info;
    int prefix;
    int have_addr;
    struct mirage_responder echo;
    struct mirage_frame rx[BATCH];
    struct mirage_frame tx[BATCH];
    uint64_t sent;
    uint64_t tx_dropped;
};

static struct nic nics[MAX_NICS];
static int n_nics;
static const char *prog;
static mirage_handle_set_t pending; /* input seen while waiting to send */

static void usage(void)
{
    printf("usage: %s --ipv4=A.B.C.D/P [--ipv4-2=A.B.C.D/P ...] [--count=N]\n"
           "  Answers ARP and ICMP echo requests for the address of each network device.\n"
           "  --ipv4=ADDR/P     address of device '%s' (required)\n",
           prog, n_nics > 0 ? nics[0].name : "service");
    for (int i = 1; i < n_nics; i++)
        printf("  %s=ADDR/P   address of device '%s' (required)\n", nics[i].key, nics[i].name);
    printf("  --count=N         exit after answering N requests (default: run until killed)\n");
}

/* Takes the devices main.c connected and names the key of each. */
static int take_nics(struct mirage_netif *const *nets, int count)
{
    static char keys[MAX_NICS][24];

    if (count < 1 || count > MAX_NICS) {
        printf("%s: %d network devices: between 1 and %d are answered\n", prog, count, MAX_NICS);
        return -1;
    }
    for (n_nics = 0; n_nics < count; n_nics++) {
        struct nic *n = &nics[n_nics];
        if (n_nics == 0)
            snprintf(keys[n_nics], sizeof(keys[n_nics]), "--ipv4");
        else
            snprintf(keys[n_nics], sizeof(keys[n_nics]), "--ipv4-%d", n_nics + 1);
        n->name = nets[n_nics]->name;
        n->key = keys[n_nics];
        n->h = nets[n_nics]->handle;
        n->info = nets[n_nics]->info;
    }
    return 0;
}

/* Returns 0, 63 after --help, or 64 after naming a bad argument. */
static int parse_args(int argc, char **argv, uint64_t *count)
{
    char err[160];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        int matched = 0;

        if (strcmp(a, "--help") == 0) {
            usage();
            return 63;
        }
        if (klen == 7 && strncmp(a, "--count", 7) == 0 && eq) {
            int64_t v;
            if (mirage_key_parse_int(eq + 1, strlen(eq + 1), 0, INT64_MAX, &v, err, sizeof(err)) <
                0) {
                printf("%s: --count: %s\n", prog, err);
                return 64;
            }
            *count = (uint64_t)v;
            continue;
        }
        for (int k = 0; k < n_nics && eq; k++) {
            struct nic *n = &nics[k];
            if (strlen(n->key) != klen || strncmp(a, n->key, klen) != 0)
                continue;
            struct mirage_key_ip ip;
            if (mirage_key_parse_prefix(eq + 1, strlen(eq + 1), 0, &ip, err, sizeof(err)) < 0) {
                printf("%s: %s: %s (A.B.C.D/P)\n", prog, n->key, err);
                return 64;
            }
            memcpy(n->echo.ipv4, ip.addr, 4);
            n->prefix = ip.bits;
            n->have_addr = 1;
            matched = 1;
        }
        if (!matched) {
            printf("%s: unknown argument '%s' (see --help)\n", prog, a);
            return 64;
        }
    }
    for (int k = 0; k < n_nics; k++) {
        if (!nics[k].have_addr) {
            printf("%s: %s=A.B.C.D/P is required for device '%s'\n", prog, nics[k].key,
                   nics[k].name);
            return 64;
        }
    }
    return 0;
}

static int setup_nic(struct nic *n)
{
    uint8_t ip[4];
    size_t cap;

    if (n->h >= 64) {
        printf("%s: device '%s' has handle %llu, outside a handle set\n", prog, n->name,
               (unsigned long long)n->h);
        return -1;
    }
    cap = (size_t)n->info.mtu + MIRAGE_RESPONDER_ETH_HLEN;
    if (cap < MIRAGE_RESPONDER_MIN_FRAME)
        cap = MIRAGE_RESPONDER_MIN_FRAME;
    for (int i = 0; i < BATCH; i++) {
        n->rx[i].buf = malloc(cap);
        n->tx[i].buf = malloc(cap);
        if (n->rx[i].buf == NULL || n->tx[i].buf == NULL) {
            printf("%s: out of memory for frame buffers\n", prog);
            return -1;
        }
        n->rx[i].cap = n->tx[i].cap = cap;
    }
    memcpy(ip, n->echo.ipv4, 4);
    mirage_responder_init(&n->echo, n->info.mac, ip);
    printf("%s: %s mac %02x:%02x:%02x:%02x:%02x:%02x ipv4 %u.%u.%u.%u/%d mtu %u\n", prog, n->name,
           n->info.mac[0], n->info.mac[1], n->info.mac[2], n->info.mac[3], n->info.mac[4],
           n->info.mac[5], ip[0], ip[1], ip[2], ip[3], n->prefix, (unsigned)n->info.mtu);
    return 0;
}

/* Sends tx[0..count), waiting a bounded while when the device is full;
 * what still does not fit is dropped, as a full NIC queue would. */
static void send_all(struct nic *n, size_t count)
{
    size_t done = 0;

    for (int tries = 0; done < count && tries < WRITE_RETRIES; tries++) {
        size_t sent = 0;
        mirage_handle_set_t ready = 0;
        int r = mirage_net_writev(n->h, n->tx + done, count - done, &sent);

        done += sent;
        if (r == MIRAGE_EAGAIN) {
            mirage_yield(0, &ready); /* gives the host a moment to drain */
            pending |= ready;
            continue;
        }
        if (r < 0) {
            done++; /* a frame the device refused: skip it, never loop on it */
            n->tx_dropped++;
        }
    }
    n->sent += done;
    n->tx_dropped += count - done;
}

/* Answers up to BATCHES_PER_TURN batches; returns 1 if input may remain. */
static int serve(struct nic *n, uint64_t *answered, uint64_t limit)
{
    for (int b = 0; b < BATCHES_PER_TURN; b++) {
        size_t got = 0, out = 0;
        int r = mirage_net_readv(n->h, n->rx, BATCH, &got);

        if (r == MIRAGE_EAGAIN)
            return 0;
        if (r < 0) {
            printf("%s: reading from '%s' failed: %s\n", prog, n->name, mirage_strerror(r));
            return 0;
        }
        for (size_t i = 0; i < got; i++) {
            if (n->rx[i].len > n->rx[i].cap)
                continue; /* a length the binding should never report: never read past buf */
            size_t len = mirage_responder_answer(&n->echo, n->rx[i].buf, n->rx[i].len,
                                                 n->tx[out].buf, n->tx[out].cap);
            if (len > 0 && (limit == 0 || *answered + out < limit))
                n->tx[out++].len = len;
        }
        send_all(n, out);
        *answered += out;
        if (limit && *answered >= limit)
            return 0;
    }
    return 1;
}

int ping_main(struct mirage_netif *const *nets, int count_nets, int argc, char **argv)
{
    uint64_t count = 0, answered = 0;
    int r;

    prog = argv[0];
    if (take_nics(nets, count_nets) < 0)
        return 1;
    r = parse_args(argc, argv, &count);
    if (r != 0)
        return r;
    for (int k = 0; k < n_nics; k++)
        if (setup_nic(&nics[k]) < 0)
            return 1;

    while (count == 0 || answered < count) {
        mirage_handle_set_t ready = 0;
        uint64_t deadline = pending ? 0 : mirage_clock_monotonic() + IDLE_NS;

        mirage_yield(deadline, &ready);
        ready |= pending;
        pending = 0;
        for (int k = 0; k < n_nics && (count == 0 || answered < count); k++) {
            struct nic *n = &nics[k];
            if ((ready & (1ull << n->h)) && serve(n, &answered, count))
                pending |= 1ull << n->h;
        }
    }
    for (int k = 0; k < n_nics; k++) {
        const struct mirage_responder_stats *s = &nics[k].echo.stats;
        printf("%s: %s answered %llu (arp %llu, icmp %llu), frames %llu, bad %llu, ignored %llu, "
               "send dropped %llu\n",
               prog, nics[k].name, (unsigned long long)nics[k].sent,
               (unsigned long long)s->arp_replies, (unsigned long long)s->icmp_replies,
               (unsigned long long)s->frames, (unsigned long long)s->bad,
               (unsigned long long)s->ignored, (unsigned long long)nics[k].tx_dropped);
    }
    return 0;
}
