#!/usr/bin/env bats
# monitor.bats: --monitor pushes stack-echo's metrics in InfluxDB line protocol to a collector in the namespace (tests/monitor/collector.py parses every line) on unix, spt and hvt; a lost collector costs only samples.

load helpers

COLLECTOR=$PWD/tests/monitor/collector.py

setup() {
    net_setup monitor 10.208
    netns_tap "$NS" tap0 "$NET.1/24"
    OUT=$BATS_TEST_TMPDIR/samples
}

teardown() {
    net_teardown
}

# collector_start OUT: the collector on NET.1:8094 for at most 90 s; sets COL_PID.
collector_start() {
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/collector.log" python3 "$COLLECTOR" "$NET.1" 8094 "$1" 90
    COL_PID=$BG_PID
    wait_for 5 tcp_listening 8094 || { cat "$BATS_TEST_TMPDIR/collector.log" >&2; return 1; }
}

# field FILE MEASUREMENT NAME: NAME's value in the last MEASUREMENT sample.
field() {
    grep "^$2|" "$1" | tail -1 | cut -d'|' -f3 | tr ',' '\n' | sed -n "s/^$3=//p"
}

echo_boot() {
    local target=$1
    shift
    require_target "$target" stack-echo
    case $target in
    unix) TENDER_OPTS=(--net:tap0=tap0) IFACE=tap0 ;;
    *) TENDER_OPTS=(--net:service=tap0) IFACE=service ;;
    esac
    uk_start "$NS" "$LOG" "$target" stack-echo "--ipv4=$NET.2/24" "$@"
    uk_wait_line "$LOG" "echo on TCP and UDP" 30
}

monitor_run() {
    local target=$1 now ts
    collector_start "$OUT"
    echo_boot "$target" "--monitor=$NET.1:8094" --monitor-interval=200ms
    peer_wait "$OUT" "^runtime\|host=stack-echo\|fibers=[0-9]+,heap_used=[1-9][0-9]*," 10
    run in_ns timeout 10 socat -t 5 - "TCP:$NET.2:7" <<<"hello"
    [ "$output" = hello ]
    run in_ns timeout 5 socat -T 3 - "UDP:$NET.2:7" <<<"datagram"
    [ "$output" = datagram ]
    # The stack's counters per interface move with the traffic.
    peer_wait "$OUT" "^tcp\|host=stack-echo,interface=$IFACE\|.*passive_opens=1," 10
    peer_wait "$OUT" "^udp\|host=stack-echo,interface=$IFACE\|rx_datagrams=1,.*tx_datagrams=1," 10
    [ "$(field "$OUT" net rx_frames)" -ge 4 ]
    [ "$(field "$OUT" net tx_bytes)" -gt 0 ]
    [ "$(field "$OUT" ipv4 rx_datagrams)" -ge 4 ]
    [ "$(field "$OUT" tcp retransmits)" -ge 0 ]
    [ "$(field "$OUT" runtime timers)" -ge 0 ]
    [ "$(field "$OUT" monitor samples)" -ge 1 ]
    # Every line parsed; timestamps are the wall clock's nanoseconds.
    ! grep -q "^BAD" "$OUT"
    now=$(date +%s)
    ts=$(grep "^runtime|" "$OUT" | tail -1 | cut -d'|' -f4)
    [ $((ts / 1000000000 - now)) -le 5 ] && [ $((now - ts / 1000000000)) -le 30 ]
    # Samples keep coming every 200 ms: five arrive within a few seconds
    # (waited for: on an idle machine the steps above take well under one).
    local i
    for ((i = 0; i < 50; i++)); do
        [ "$(grep -c "^runtime|" "$OUT")" -ge 5 ] && break
        sleep 0.1
    done
    [ "$(grep -c "^runtime|" "$OUT")" -ge 5 ]
    # Lost collector: the unikernel serves on, the samples stop, a warning says so.
    bg_kill 3 "$COL_PID"
    uk_wait_line "$LOG" "\[monitor\] collector $NET.1:8094: .*; samples are lost until it takes them" 10
    run in_ns timeout 5 socat -T 3 - "UDP:$NET.2:7" <<<"still here"
    [ "$output" = "still here" ]
    # Back: the next interval reconnects and says how many samples were lost.
    collector_start "$OUT.2"
    peer_wait "$OUT.2" "^monitor\|host=stack-echo\|samples=[0-9]+,lost=[1-9][0-9]*,connects=2," 15
    uk_wait_line "$LOG" "\[monitor\] collector $NET.1:8094 reached again" 5
    ! grep -q "^BAD" "$OUT.2"
}

@test "monitor: line protocol to a collector on unix" { monitor_run unix; }
@test "monitor: line protocol to a collector on spt" { monitor_run spt; }
@test "monitor: line protocol to a collector on hvt" { monitor_run hvt; }

# A collector that accepts and never reads: the unikernel never waits for it;
# a sample it does not take within the interval is lost and the connection closed.
@test "monitor: a collector that stops reading costs samples, not service (unix)" {
    in_ns ip link set tap0 up
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/stall.log" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$NET.1"'", 8094)); s.listen(8)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        c, _ = s.accept(); conns.append(c)
    except socket.timeout:
        pass
'
    sleep 0.5
    echo_boot unix "--monitor=$NET.1:8094" --monitor-interval=100ms
    uk_wait_line "$LOG" "\[monitor\] collector $NET.1:8094: did not take a sample within the interval" 30
    for i in 1 2 3; do
        run in_ns timeout 5 socat -T 3 - "UDP:$NET.2:7" <<<"ping $i"
        [ "$output" = "ping $i" ]
    done
}

@test "monitor: bad keys are refused by name" {
    require_target unix stack-echo
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --monitor=collector
    echo "$output"
    [ "$status" -eq 64 ]
    [[ "$output" == *"--monitor: 'collector' is not an IPv4 address"*"(IPV4[:PORT] expected)"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --monitor=10.0.0.1:0
    [ "$status" -eq 64 ]
    [[ "$output" == *"has no port after its ':'"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --monitor=10.0.0.1 --monitor-interval=5ms
    echo "$output"
    [ "$status" -eq 64 ]
    [[ "$output" == *"monitor-interval"* ]]
    run in_ns "$UK/stack-echo" --net:tap0=tap0 -- --help
    [[ "$output" == *"MONITORING OPTIONS"*"--monitor="*"--monitor-interval="* ]]
}
