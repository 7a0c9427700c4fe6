#!/usr/bin/env bash
# observe.sh: what syslog and metrics cost a unikernel: stack-echo's connection rate with its log lines to the console, to rsyslogd over UDP and TCP, and with --monitor at 1 s, beside rsyslogd taking logger's lines (markdown).
#
# Run as root from the repository root after `make`: bench/observe.sh [SECONDS]
# stack-echo logs two lines per connection ("connected", "closed"); a python client in
# the namespace opens, echoes one byte over and closes connections one after another for
# SECONDS (default 5) per row. rsyslogd (Debian's) listens in the namespace on UDP and
# TCP 1514 and writes each line to a file, counted after the run; the reference row is
# rsyslogd taking the same number of lines from `logger` in the same run. Not a test.
set -euo pipefail

B=build
DUR=${1:-5}
NS=mirage-bench-observe-$$
NET=10.214.0
WORK=$(mktemp -d)
ROOT=$PWD
PIDS=()

for f in "$B/uk/stack-echo" "$B/bin/mirage-spt" "$B/uk/stack-echo.spt"; do
    [ -e "$f" ] || { echo "missing $f: run make" >&2; exit 1; }
done
for c in rsyslogd logger socat python3; do
    command -v "$c" >/dev/null || { echo "missing $c: make deps" >&2; exit 1; }
done

stop() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
in_ns ip link set lo up
in_ns ip tuntap add dev tap0 mode tap
in_ns ip addr add "$NET.1/24" dev tap0
in_ns ip link set tap0 up

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

# boot NAME CMD...: stack-echo until it says it listens.
boot() {
    ip netns exec "$NS" "$@" >"$WORK/uk.log" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "echo on TCP and UDP" "$WORK/uk.log" && return 0
        [ -s "$WORK/lines" ] && grep -q "echo on TCP and UDP" "$WORK/lines" && return 0
        sleep 0.1
    done
    cat "$WORK/uk.log" >&2
    return 1
}

# row TARGET LABEL [UNIKERNEL-ARGS...]: connections/s and log lines/s for one setting.
row() {
    local target=$1 label=$2 rate lines before
    shift 2
    local args=("--ipv4=$NET.2/24" --connections=1000000 "$@")
    rsyslog_start
    case $target in
    unix) boot "$ROOT/$B/uk/stack-echo" --net:tap0=tap0 -- "${args[@]}" ;;
    spt) boot "$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$ROOT/$B/uk/stack-echo.spt" "${args[@]}" ;;
    esac
    before=$(lines_settled)
    rate=$(in_ns python3 "$WORK/conns.py" "$NET.2" "$DUR")
    lines=$(($(lines_settled) - before))
    local dropped
    dropped=$( (grep -ho 'log lines dropped' "$WORK/lines" "$WORK/uk.log" 2>/dev/null || true) | wc -l)
    printf '| %s | %s | %s | %s | %s |\n' "$target" "$label" "$rate" \
        "$(awk -v l="$lines" -v d="$DUR" 'BEGIN { printf "%.0f", l / d }')" "$dropped"
    stop
}

echo "## Observability: syslog and metrics (bench/observe.sh, ${DUR} s a row)"
echo
echo "Machine load at start: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)."
echo "stack-echo, connections one after another from python in the namespace (connect, 1 byte"
echo "echoed, close; two log lines each). lines/s: what rsyslogd wrote per second of the run;"
echo "drops: 'N log lines dropped' notes (the queue of 16 was full)."
echo
echo "| target | logging | connections/s | lines/s at rsyslogd | drop notes |"
echo "|---|---|---|---|---|"
for t in unix spt; do
    row "$t" "console (to a file)"
    row "$t" "syslog UDP" "--syslog=$NET.1:1514"
    row "$t" "syslog TCP" "--syslog=$NET.1:1514" --syslog-transport=tcp
    ip netns exec "$NS" socat -u TCP-LISTEN:8094,reuseaddr "OPEN:$WORK/metrics,creat,append" \
        </dev/null >/dev/null 2>&1 &
    collector=$!
    row "$t" "console + --monitor 1s" "--monitor=$NET.1:8094" --monitor-interval=1s
    kill -KILL "$collector" 2>/dev/null || true
    wait "$collector" 2>/dev/null || true
    [ -s "$WORK/metrics" ] || echo "(no metrics sample reached the collector)"
    rm -f "$WORK/metrics"
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
    stop
done
