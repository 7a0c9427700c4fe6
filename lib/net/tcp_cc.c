/* tcp_cc.c: congestion control: NewReno (RFC 5681, RFC 6582) and CUBIC (RFC 9438). */
#include "mirage/time.h"
#include "tcp_internal.h"

static uint32_t half_flight(const struct tcp_conn *c)
{
    uint32_t h = tcp_flight(c) / 2;

    return h > 2u * c->mss ? h : 2u * c->mss;
}

/* Slow start (RFC 5681 3.1, byte counting with L = 2 SMSS, RFC 3465);
 * returns the bytes left over once cwnd reaches ssthresh. */
static uint32_t slow_start(struct tcp_conn *c, uint32_t acked)
{
    uint32_t inc = acked < 2u * c->mss ? acked : 2u * c->mss;

    if (c->cwnd + inc > c->ssthresh) {
        uint32_t used = c->ssthresh > c->cwnd ? c->ssthresh - c->cwnd : 0;
        c->cwnd = c->ssthresh > c->cwnd ? c->ssthresh : c->cwnd;
        return acked > used ? acked - used : 0;
    }
    c->cwnd += inc;
    return 0;
}

/* ---- NewReno ---- */

static void reno_init(struct tcp_conn *c)
{
    /* RFC 6928 initial window, RFC 5681 initial ssthresh (arbitrarily high). */
    uint32_t iw = 4380 > 2u * c->mss ? 4380 : 2u * c->mss;
    uint32_t iw10 = 10u * c->mss < 14600 ? 10u * c->mss : 14600;

    c->cwnd = iw10 > iw ? iw10 : iw;
    c->ssthresh = 0x7fffffff;
}

static void reno_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
    (void)now;
    if (c->cwnd < c->ssthresh) {
        acked = slow_start(c, acked);
        if (acked == 0)
            return;
    }
    /* Congestion avoidance: one SMSS per cwnd of acknowledged bytes. */
    c->cub.acked += acked;
    if (c->cub.acked >= c->cwnd) {
        c->cub.acked -= c->cwnd;
        c->cwnd += c->mss;
    }
}

static void reno_on_loss(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    c->ssthresh = half_flight(c);
    c->cwnd = c->ssthresh;
    c->cub.acked = 0;
}

static void reno_on_rto(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    c->ssthresh = half_flight(c);
    c->cub.acked = 0;
}

static void reno_recovered(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    /* RFC 6582 3.2 step 3: deflate to ssthresh, never bursting more than
     * one segment over what is in flight. */
    uint32_t f = tcp_flight(c) + c->mss;
    c->cwnd = c->ssthresh < f ? c->ssthresh : f;
    if (c->cwnd < c->mss)
        c->cwnd = c->mss;
}

const struct tcp_cc_ops tcp_newreno = {
    "newreno", reno_init, reno_on_ack, reno_on_loss, reno_on_rto, reno_recovered,
};

/* ---- CUBIC ---- */

#define CUBIC_C    0.4
#define CUBIC_BETA 0.7

static double cube_root(double x)
{
    double r = x > 1.0 ? x / 3.0 : 1.0;

    if (x <= 0.0)
        return 0.0;
    for (int i = 0; i < 60; i++) {
        double next = r - (r * r * r - x) / (3.0 * r * r);
        if (next == r)
            break;
        r = next;
    }
    return r;
}

static void cubic_init(struct tcp_conn *c)
{
    reno_init(c);
    c->cub.w_max = 0;
    c->cub.epoch = 0;
}

static void cubic_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
    double mss = c->mss, cwnd, t, target, w_cubic;

    if (c->cwnd < c->ssthresh) {
        acked = slow_start(c, acked);
        if (acked == 0)
            return;
    }
    cwnd = c->cwnd / mss;
    if (c->cub.epoch == 0) {
        /* A new congestion-avoidance epoch (RFC 9438 4.2, 4.8 without a loss). */
        c->cub.epoch = now;
        if (c->cub.w_max < cwnd) {
            c->cub.w_max = cwnd;
            c->cub.k = 0;
        } else {
            c->cub.k = cube_root((c->cub.w_max - cwnd) / CUBIC_C);
        }
        c->cub.w_est = cwnd;
    }
    t = (double)(now - c->cub.epoch) / 1e9;
    /* The window one RTT ahead is the target (RFC 9438 4.2). */
    t += (double)(c->srtt ? c->srtt : MIRAGE_MS(100)) / 1e9;
    w_cubic = CUBIC_C * (t - c->cub.k) * (t - c->cub.k) * (t - c->cub.k) + c->cub.w_max;
    /* Reno-friendly estimate (RFC 9438 4.3). */
    c->cub.w_est += 3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA) * (acked / mss) / cwnd;
    if (w_cubic < c->cub.w_est) {
        /* Reno-friendly region: cwnd follows the Reno estimate. */
        uint32_t est = (uint32_t)(c->cub.w_est * mss);
        if (est > c->cwnd)
            c->cwnd = est;
        return;
    }
    target = w_cubic;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    if (target > cwnd) /* (target - cwnd) / cwnd SMSS per SMSS acknowledged */
        c->cwnd += (uint32_t)((target - cwnd) / cwnd * acked);
}

static void cubic_loss(struct tcp_conn *c)
{
    double cwnd = (double)c->cwnd / c->mss;

    /* Fast convergence (RFC 9438 4.7). */
    if (cwnd < c->cub.w_max)
        c->cub.w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
    else
        c->cub.w_max = cwnd;
    c->ssthresh = (uint32_t)(c->cwnd * CUBIC_BETA);
    if (c->ssthresh < 2u * c->mss)
        c->ssthresh = 2u * c->mss;
    c->cub.epoch = 0;
    c->cub.acked = 0;
}

static void cubic_on_loss(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    cubic_loss(c);
    c->cwnd = c->ssthresh;
}

static void cubic_on_rto(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    cubic_loss(c);
}

static void cubic_recovered(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    c->cwnd = c->ssthresh;
}

const struct tcp_cc_ops tcp_cubic = {
    "cubic", cubic_init, cubic_on_ack, cubic_on_loss, cubic_on_rto, cubic_recovered,
};
