#!/usr/bin/env bash
# observe.sh: what syslog and metrics cost a unikernel: stack-echo's connection rate with its log lines to the console, to rsyslogd over UDP and TCP, and with --monitor at 1 s, beside rsyslogd taking logger's lines (markdown).
#
# Run as root from the repository root after `make`: bench/observe.sh [SECONDS [ROUNDS]]
# stack-echo logs two lines per connection ("connected", "closed"); a python client in
# the namespace opens, echoes one byte over and closes connections one after another for
# SECONDS (default 5) per row. The four settings of a target are measured in turn, ROUNDS
# times over (default 3), so the spread of each is seen beside the others'. rsyslogd
# (Debian's) listens in the namespace on UDP and TCP 1514 and writes each line to a file,
# counted after the run; the reference row is rsyslogd taking the same number of lines from
# `logger` in the same run. Not a test.
#
# The client closes first, so each connection leaves a TIME_WAIT socket in the namespace for
# 60 s. Without tcp_tw_reuse, once ~10,000 of them hold the ephemeral ports, every connect()
# searches the port space in the client's kernel (__inet_hash_connect ->
# __inet_check_established, 2.5 ms of CPU per connect measured here): the rate fell from
# ~2,500/s to 70-150/s for whichever rows came after a fast one, whatever their logging. As in
# bench/net.sh and tcp.bats, the namespace reuses TIME_WAIT ports (timestamps are on, so this is
# safe); the TIME_WAIT count at each row's start is printed (TW_REUSE=0 shows the old way).
# The ephemeral range stays the default (32768-60999), above the collectors' ports: a client
# TIME_WAIT socket on 8094 or 1514 (not SO_REUSEADDR) makes their bind fail even with reuseaddr.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_setup observe "${1:-5}"
ROUNDS=${2:-3}
TW_REUSE=${TW_REUSE:-1} # TW_REUSE=0 bench/observe.sh: the old, bimodal measurement
NET=10.214.0

bench_need_files -e "$B/uk/stack-echo" "$B/bin/mirage-spt" "$B/uk/stack-echo.spt"
bench_need_commands rsyslogd logger socat python3

bench_tap "$NET.1/24"
in_ns sysctl -qw "net.ipv4.tcp_tw_reuse=$TW_REUSE"

# ---- the collectors -------------------------------------------------------------------
cat >"$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK")
module(load="imudp")
module(load="imtcp")
input(type="imudp" port="1514" address="$NET.1")
input(type="imtcp" port="1514" address="$NET.1")
*.* action(type="omfile" file="$WORK/lines")
EOF
rsyslog_start() {
    rm -f "$WORK/lines" "$WORK/rsyslog.pid"
    ip netns exec "$NS" rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid" >"$WORK/rsyslog.log" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 50; i++)); do
        in_ns ss -Hltn "sport = :1514" | grep -q 1514 && return 0
        sleep 0.1
    done
    echo "rsyslogd did not listen" >&2
    return 1
}
# lines_settled: the count of lines rsyslogd wrote, once it stops growing (up to 5 s).
lines_settled() {
    local n=-1 m i
    for ((i = 0; i < 25; i++)); do
        m=$( (cat "$WORK/lines" 2>/dev/null || true) | wc -l)
        [ "$m" = "$n" ] && break
        n=$m
        sleep 0.2
    done
    echo "$n"
}

# ---- the load: connections one after another ---------------------------------------------
cat >"$WORK/conns.py" <<'EOF'
import socket, sys, time
host, dur = sys.argv[1], float(sys.argv[2])
n, end = 0, time.monotonic() + dur
t0 = time.monotonic()
while time.monotonic() < end:
    s = socket.create_connection((host, 7), timeout=5)
    s.sendall(b"x")
    s.recv(1)
    s.close()
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
EOF

# boot CMD...: stack-echo until it says it listens (on its console or, with --syslog, to rsyslogd).
BENCH_LOGS=("$WORK/lines")
boot() { bench_boot 100 "echo on TCP and UDP" "$@"; }

# row TARGET KEY [UNIKERNEL-ARGS...]: one measurement of one setting, appended to
# $WORK/r.TARGET.KEY as "connections/s lines/s drop-notes time-wait-at-start".
row() {
    local target=$1 key=$2 rate lines before tw dropped
    shift 2
    local args=("--ipv4=$NET.2/24" --connections=1000000 "$@")
    rsyslog_start
    case $target in
    unix) boot "$ROOT/$B/uk/stack-echo" --net:tap0=tap0 -- "${args[@]}" ;;
    spt) boot "$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$ROOT/$B/uk/stack-echo.spt" "${args[@]}" ;;
    esac
    tw=$(in_ns ss -Htan state time-wait | wc -l)
    before=$(lines_settled)
    rate=$(in_ns python3 "$WORK/conns.py" "$NET.2" "$DUR")
    lines=$(($(lines_settled) - before))
    dropped=$( (grep -ho 'log lines dropped' "$WORK/lines" "$WORK/uk.log" 2>/dev/null || true) | wc -l)
    echo "$rate $(awk -v l="$lines" -v d="$DUR" 'BEGIN { printf "%.0f", l / d }') $dropped $tw" \
        >>"$WORK/r.$target.$key"
    bench_stop
}

# monitor_row TARGET: the console row with --monitor every second to a socat collector.
monitor_row() {
    local collector
    ip netns exec "$NS" socat -u TCP-LISTEN:8094,reuseaddr "OPEN:$WORK/metrics,creat,append" \
        </dev/null >/dev/null 2>&1 &
    collector=$!
    local i
    for ((i = 0; i < 50; i++)); do
        in_ns ss -Hltn "sport = :8094" | grep -q 8094 && break
        sleep 0.1
    done
    row "$1" monitor "--monitor=$NET.1:8094" --monitor-interval=1s
    kill -KILL "$collector" 2>/dev/null || true
    wait "$collector" 2>/dev/null || true
    [ -s "$WORK/metrics" ] || echo "(no metrics sample reached the collector: $1)"
    rm -f "$WORK/metrics"
}

# report TARGET KEY LABEL: the table row of one setting over its rounds: each round's rate,
# the median, and what the setting costs per connection over the console's median.
report() {
    local f="$WORK/r.$1.$2" base="$WORK/r.$1.console"
    awk -v t="$1" -v key="$2" -v label="$3" -v bf="$base" '
        function median(a, n,   i, j, x) {
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] > a[j]; j--) { x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        BEGIN { while ((getline line < bf) > 0) { split(line, x, " "); b[++nb] = x[1] } }
        { r[++n] = $1; rs = rs (n > 1 ? " / " : "") $1; l[n] = $2; d += $3
          tw = tw (n > 1 ? " / " : "") $4 }
        END {
            m = median(r, n); bm = median(b, nb)
            cost = key == "console" ? "(reference)" : sprintf("%+.0f", 1e6 / m - 1e6 / bm)
            printf "| %s | %s | %s | %.0f | %s | %.0f | %d | %s |\n", t, label, rs, m, cost,
                median(l, n), d, tw
        }' "$f"
}

echo "## Observability: syslog and metrics (bench/observe.sh, ${DUR} s a row, $ROUNDS rounds)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); machine load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(2 cores shared with other work). stack-echo, connections one after another from python in"
echo "the namespace (connect, 1 byte echoed, close; two log lines each). Each round measures the"
echo "four settings in turn; connections/s of every round, then their median; cost: microseconds"
echo "a connection over the console row's median (1/rate - 1/console), same run. lines/s: what"
echo "rsyslogd wrote per second (median); drops: 'N log lines dropped' notes (the queue of 16 was"
echo "full), all rounds; TIME_WAIT: the client's TIME_WAIT sockets when each round's row began"
echo "(net.ipv4.tcp_tw_reuse=$TW_REUSE in the client's namespace)."
echo
for ((round = 0; round < ROUNDS; round++)); do
    for t in unix spt; do
        row "$t" console
        row "$t" udp "--syslog=$NET.1:1514"
        row "$t" tcp "--syslog=$NET.1:1514" --syslog-transport=tcp
        monitor_row "$t"
    done
done
echo "| target | logging | connections/s (rounds) | median | cost (us/conn) | lines/s | drops | TIME_WAIT at start |"
echo "|---|---|---|---|---|---|---|---|"
for t in unix spt; do
    report "$t" console "console (to a file)"
    report "$t" udp "syslog UDP"
    report "$t" tcp "syslog TCP"
    report "$t" monitor "console + --monitor 1s"
done
echo

# ---- the reference: rsyslogd's own intake from logger, the same lines per second -------------
n=20000
seq -f "reference line %g" 1 "$n" >"$WORK/ref.txt"
echo "| reference | lines received | logger's seconds | lines/s |"
echo "|---|---|---|---|"
for proto in udp tcp; do
    rsyslog_start
    t0=$(date +%s%N)
    in_ns logger "--$proto" -n "$NET.1" -P 1514 -f "$WORK/ref.txt"
    t1=$(date +%s%N)
    got=$(lines_settled)
    awk -v p="$proto" -v n="$n" -v g="$got" -v ns=$((t1 - t0)) \
        'BEGIN { printf "| logger --%s -f (%d lines) to rsyslogd | %d | %.2f | %.0f |\n", p, n, g, ns / 1e9, g / (ns / 1e9) }'
    bench_stop
done
