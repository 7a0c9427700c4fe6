#!/usr/bin/env bats
# uso.bats: UDP segmentation offload through the tap on unix (direct), spt and hvt: a host socket's
# UDP_SEGMENT burst of 60 KiB reaches tcptest's UDP sink byte-exact over IPv4 and IPv6 (one GSO
# frame each with the tap's offloads on, the kernel's own datagrams with them off), and tcptest's
# UDP source answers with a 60 KiB train (mirage_udp_write_segments) the host receives byte-exact.
# Time budget: < 60 s on an idle machine (five boots of tcptest, a few seconds each; the hvt case
# skips without /dev/kvm).

load helpers

PEER=$PWD/tests/e2e/uso_peer.py
TCPCLIENT=$B/bin/tcpclient
BURST=61440 # 60 KiB: 44 datagrams of 1400 bytes (the last 1240)
SEG=1400

setup_file() {
    local f
    for f in "$TCPCLIENT" "$UK/tcptest" "$UK/tcptest.spt" "$UK/tcptest.hvt"; do
        [ -x "$f" ] || { echo "missing $f: run make" >&2; return 1; }
    done
    command -v python3 >/dev/null || { echo "python3 is missing: make deps" >&2; return 1; }
}

# Each test: its own namespace (mirage-uso-PID-N), 10.241.N.0/24 and fd00:241:N::/64.
setup() {
    ipv6_net_setup uso 10.241
}

teardown() { net_teardown; }

# control CMD: tcptest's answer to CMD on its control port (TCP 8, over IPv4).
control() {
    tcptest_control "TCP:$NET.2:8" "$1"
}

# net_stat FIELD: FIELD of the unikernel's net measurement.
net_stat() {
    tcptest_stat "TCP:$NET.2:8" net "$1"
}

# uso TARGET on|off: the burst both ways over both families with the tap's offloads on or off.
uso() {
    local target=$1 mode=$2 half=$((BURST / 2)) addr want rx tx bad
    tcptest_tender_opts "$target"
    TENDER_OPTS+=("--net-offload=$mode")
    require_target "$target" tcptest
    uk_start "$NS" "$LOG" "$target" tcptest "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64"
    uk_wait_line "$LOG" "tcptest on $NET.2" 30
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20

    # Host -> unikernel: the stream of seed 1, its first half in one UDP_SEGMENT send over IPv4,
    # the second over IPv6; the sink checks every byte in order.
    "$TCPCLIENT" gen 1 "$BURST" >"$BATS_TEST_TMPDIR/burst"
    head -c "$half" "$BATS_TEST_TMPDIR/burst" >"$BATS_TEST_TMPDIR/a"
    tail -c "$half" "$BATS_TEST_TMPDIR/burst" >"$BATS_TEST_TMPDIR/b"
    in_ns timeout 30 python3 "$PEER" send "$NET.2" 9 "$SEG" 1 <"$BATS_TEST_TMPDIR/a"
    wait_for 10 bash -c "ip netns exec '$NS' timeout 10 socat -t 5 - 'TCP:$NET.2:8' <<<udp |
        grep -q 'bytes $half '"
    in_ns timeout 30 python3 "$PEER" send "$PFX::2" 9 "$SEG" 1 <"$BATS_TEST_TMPDIR/b"
    wait_for 10 bash -c "ip netns exec '$NS' timeout 10 socat -t 5 - 'TCP:$NET.2:8' <<<udp |
        grep -q 'bytes $BURST '"
    run control udp
    echo "sink, offloads $mode: $output"
    [[ "$output" == "udp datagrams 44 bytes $BURST bad none "* ]]
    rx=$(net_stat rx_gso)
    bad=$(net_stat rx_gso_bad)
    echo "GSO frames received: $rx (malformed: $bad)"
    [ "$bad" -eq 0 ]
    if [ "$mode" = on ]; then [ "$rx" -ge 2 ]; else [ "$rx" -eq 0 ]; fi

    # Unikernel -> host: a train of the stream of seed 2 from port 19, over both families.
    want=$("$TCPCLIENT" gen 2 "$BURST" | sha256sum)
    for addr in "$NET.2" "$PFX::2"; do
        run bash -c "ip netns exec '$NS' timeout 30 python3 '$PEER' recv '$addr' 19 $BURST $SEG \
            2>'$BATS_TEST_TMPDIR/recv.err' | sha256sum"
        echo "source over $addr, offloads $mode: $(cat "$BATS_TEST_TMPDIR/recv.err") $output"
        [ "$output" = "$want" ]
        grep -q "datagrams 44 bytes $BURST sizes ok" "$BATS_TEST_TMPDIR/recv.err"
    done
    tx=$(net_stat tx_gso)
    echo "GSO frames sent: $tx"
    if [ "$mode" = on ]; then [ "$tx" -ge 2 ]; else [ "$tx" -eq 0 ]; fi
    grep -c "udp source: $BURST bytes in $SEG-byte datagrams: sent" "$LOG" | grep -qx 2
}

@test "uso: unix (direct): a 60 KiB UDP_SEGMENT burst each way over IPv4 and IPv6, offloads on" {
    uso unix on
}

@test "uso: unix (direct): the same with offloads off (--net-offload=off): no GSO frames" {
    uso unix off
}

@test "uso: spt: a 60 KiB UDP_SEGMENT burst each way over IPv4 and IPv6, offloads on" {
    uso spt on
}

@test "uso: spt: the same with offloads off (--net-offload=off): no GSO frames" {
    uso spt off
}

@test "uso: hvt: a 60 KiB UDP_SEGMENT burst each way over IPv4 and IPv6, offloads on" {
    require_kvm
    uso hvt on
}
