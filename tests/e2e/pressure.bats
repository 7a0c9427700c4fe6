#!/usr/bin/env bats
# pressure.bats: stack-echo at a small heap on unix (direct), spt and hvt: thousands of idle connections and a churn under memory pressure never end it, it recovers once the load goes, and zero-window peers that vanish are released within the user timeout.

load helpers

TCPCLIENT=$B/bin/tcpclient
FLOOD=3000 # connections started at once: ~10x what --mem=32 holds by default
MEM=32     # MiB of guest memory (spt, hvt); unix gets the same as a data limit

setup_file() {
    local f
    for f in "$TCPCLIENT" "$UK/stack-echo" "$UK/stack-echo.spt" "$UK/stack-echo.hvt"; do
        [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: run make" >&2; return 1; }
    done
}

# Each test: its own namespace and /24 (10.213.N.0); the kernel is .1, the unikernel .2.
setup() {
    net_setup pressure 10.213
    netns_tap "$NS" tap0 "$NET.1/24"
    in_ns sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
}

teardown() {
    net_teardown
}

# boot TARGET ARGS...: stack-echo on TARGET at $NET.2 with MEM MiB; waits until it serves.
# unix has no --mem: its heap is the host's, so a data limit (prlimit) stands in for it.
boot() {
    local target=$1
    shift
    require_target "$target" stack-echo
    case $target in
    unix)
        TENDER_OPTS=(--net:tap0=tap0)
        target_argv unix stack-echo "--ipv4=$NET.2/24" "$@"
        uk_spawn "$NS" "$LOG" prlimit --data=$(((MEM + 16) << 20)) "${TARGET_ARGV[@]}"
        ;;
    spt | hvt)
        TENDER_OPTS=("--mem=$MEM" --net:service=tap0)
        uk_start "$NS" "$LOG" "$target" stack-echo "--ipv4=$NET.2/24" "$@"
        ;;
    esac
    uk_wait_line "$LOG" "echo on TCP and UDP $NET.2:7" 30
}

client() {
    in_ns "$TCPCLIENT" --deadline 60 "$@"
}

# alive: the unikernel still runs (it never exits under load).
alive() {
    if ! kill -0 "$UK_PID" 2>/dev/null; then
        wait "$UK_PID"
        echo "stack-echo ended with status $? under load:" >&2
        tail -20 "$LOG" >&2
        return 1
    fi
}

# echo_works: a new connection echoes a line (retried for up to 10 s while the last load's
# connections close).
echo_works() {
    local i out
    for ((i = 0; i < 20; i++)); do
        out=$(in_ns timeout 5 socat -t 2 - "TCP:$NET.2:7" <<<"still here" 2>/dev/null) || true
        [ "$out" = "still here" ] && return 0
        sleep 0.5
    done
    echo "no echo from a new connection after the load" >&2
    tail -20 "$LOG" >&2
    return 1
}

# flood_field OUT NAME: the count before NAME in tcpclient flood's line.
flood_field() {
    sed -En "s/.* ([0-9]+) $2.*/\\1/p" <<<"$1" | head -1
}

# The listener's limit (a third of the heap's worth by default) holds: what is over it is
# reset at once, nothing waits, nothing aborts; then a new connection works.
limit_case() {
    local out limit connected refused failed reset
    boot "$1"
    limit=$(sed -En 's/.*at most ([0-9]+) connections.*/\1/p' "$LOG" | head -1)
    [ -n "$limit" ] && [ "$limit" -lt "$FLOOD" ]
    out=$(client flood "$NET.2" 7 "$FLOOD" 2)
    echo "$out (limit $limit)"
    connected=$(flood_field "$out" connected)
    refused=$(flood_field "$out" refused)
    failed=$(flood_field "$out" failed)
    reset=$(flood_field "$out" reset)
    # Past the backlog a SYN gets a cookie, which commits nothing: the limit is met when its
    # ACK comes back, and the connection is reset then, just after the client saw it connect.
    [ "$connected" -eq "$limit" ]
    [ $((refused + reset)) -eq $((FLOOD - limit)) ]
    [ "$failed" -eq 0 ]
    alive
    echo_works
    alive
}

@test "pressure: unix: $FLOOD connections against the default limit, the rest reset, recovery" {
    limit_case unix
}
@test "pressure: spt: $FLOOD connections against the default limit, the rest reset, recovery" {
    limit_case spt
}
@test "pressure: hvt: $FLOOD connections against the default limit, the rest reset, recovery" {
    limit_case hvt
}

# No limit: the flood takes memory until allocations fail; those connections are refused or
# closed, a churn meanwhile partly fails, and nothing aborts. Once the load is gone a new
# connection works and a second churn succeeds whole.
oom_case() {
    local out
    boot "$1" --max-conns=1000000
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/flood.log" "$TCPCLIENT" --deadline 60 flood "$NET.2" 7 \
        "$FLOOD" 8
    local flood=$BG_PID
    uk_wait_line "$BATS_TEST_TMPDIR/flood.log" "^flood:" 20
    cat "$BATS_TEST_TMPDIR/flood.log"
    out=$(client churn "$NET.2" 7 1000 16 2>&1) || true
    echo "under pressure: $out"
    alive
    bg_kill 10 "$flood"
    echo_works
    out=$(client churn "$NET.2" 7 500 16)
    echo "after: $out"
    grep -q "500 of 500 connections echoed, 0 failed" <<<"$out"
    alive
    grep -E "out of memory|alloc" "$LOG" | head -3 || true
}

@test "pressure: unix: $FLOOD connections with no limit at a ${MEM} MiB heap, a churn, recovery" {
    oom_case unix
}
@test "pressure: spt: $FLOOD connections with no limit at --mem=$MEM, a churn, recovery" {
    oom_case spt
}
@test "pressure: hvt: $FLOOD connections with no limit at --mem=$MEM, a churn, recovery" {
    oom_case hvt
}

# Peers at $NET.50 fill stack-echo's buffers, shut their windows and vanish (the address is
# removed: probes go unanswered, no reset comes back). --user-timeout=3 releases each 3 s
# after its first unanswered probe, which comes one probe interval after the vanishing: the
# interval has doubled while the peers answered (to ~13 s here, 60 s at most). TCP's default
# (12 unanswered probes, minutes) is test_tcp's.
zero_window_case() {
    local n=50 i closed t0
    boot "$1" --user-timeout=3
    in_ns ip addr add "$NET.50/24" dev tap0
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/stall.log" "$TCPCLIENT" --deadline 60 stall "$NET.2" 7 \
        "$n" 60 "$NET.50"
    uk_wait_line "$BATS_TEST_TMPDIR/stall.log" "^stall: $n open" 40
    cat "$BATS_TEST_TMPDIR/stall.log"
    sleep 1
    [ "$(grep -c "closed after" "$LOG")" -eq 0 ] # probes are answered: they stay
    in_ns ip addr del "$NET.50/24" dev tap0
    t0=$SECONDS
    for ((i = 0; i < 400; i++)); do
        [ $((SECONDS - t0)) -lt 40 ] || break
        closed=$(grep -c "tcp $NET.50:[0-9]* closed after .*: ETIMEDOUT" "$LOG" || true)
        [ "$closed" -ge "$n" ] && break
        sleep 0.1
    done
    echo "$closed of $n released $((SECONDS - t0)) s after their peer vanished"
    [ "$closed" -eq "$n" ]
    alive
    echo_works
}

@test "pressure: unix: zero-window peers that vanish are released within the user timeout" {
    zero_window_case unix
}
@test "pressure: spt: zero-window peers that vanish are released within the user timeout" {
    zero_window_case spt
}
@test "pressure: hvt: zero-window peers that vanish are released within the user timeout" {
    zero_window_case hvt
}
