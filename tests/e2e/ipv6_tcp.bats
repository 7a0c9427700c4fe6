#!/usr/bin/env bats
# ipv6_tcp.bats: the dual stack against the Linux kernel over a tap, on unix (direct), spt and hvt: 50 MiB of TCP each way over IPv6 checked by sha256, 64 MiB each way with the tap's offloads on (TSO6, GRO) and off, and an --ipv6-only stack-echo answering UDP and TCP echo over IPv6 with no IPv4 at all.
# Time budget: ~2 min on an idle machine (six boots; the transfers take a few seconds each),
# and < 60 s more for the four offload cases on unix and spt (~5-10 s each at idle).

load helpers

ROOT=$PWD
MIRAGE=$ROOT/build/bin/mirage
TCPCLIENT=$B/bin/tcpclient
BYTES=52428800 # 50 MiB each way
BIG=67108864   # 64 MiB each way with offloads on and off

# stack-echo configured and built by the tool once per target, as a user would.
setup_file() {
    local f
    for f in "$MIRAGE" "$TCPCLIENT" "$UK/tcptest" "$UK/tcptest.spt" "$UK/tcptest.hvt"; do
        [ -x "$f" ] || { echo "missing $f: run make" >&2; return 1; }
    done
    example_variants stack-echo direct:unix:--net=direct spt:spt: hvt:hvt:
}

# Each test: its own namespace, 10.207.N.0/24 and fd00:207:N::/64; the kernel
# is .1 and ::1 (without DAD, to talk at once), the unikernel .2 and ::2.
setup() {
    ipv6_net_setup ip6dual 10.207
}

teardown() { net_teardown; }

# tcp6 TARGET: tcptest at $NET.2 and $PFX::2; 50 MiB to its sink and 50 MiB
# from its source, both over IPv6, each checked (the sink's answer, sha256).
tcp6() {
    local target=$1 want
    tcptest_tender_opts "$target"
    require_target "$target" tcptest
    uk_start "$NS" "$LOG" "$target" tcptest "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64"
    uk_wait_line "$LOG" "tcptest on $NET.2" 30
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20

    run in_ns "$TCPCLIENT" --deadline 300 send "$PFX::2" 9 1 "$BYTES"
    echo "host -> unikernel over IPv6: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"answer: ok $BYTES"* ]]
    grep -q "sink: ok $BYTES" "$LOG"

    want=$("$TCPCLIENT" gen 2 "$BYTES" | sha256sum)
    run bash -c "ip netns exec '$NS' '$TCPCLIENT' --deadline 300 recv-out '$PFX::2' 19 \
        2>'$BATS_TEST_TMPDIR/recv.err' | sha256sum"
    echo "unikernel -> host over IPv6: $(cat "$BATS_TEST_TMPDIR/recv.err") $output"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    # Both went over IPv6: the kernel found the unikernel by neighbour discovery.
    run in_ns ip -6 neigh show "$PFX::2" dev tap0
    [[ "$output" == *lladdr* ]]
}

# net_stat FIELD: FIELD of the unikernel's net measurement (tcptest's control port, over IPv6).
net_stat() {
    tcptest_stat "TCP6:[$PFX::2]:8" net "$1"
}

# offload6 TARGET on|off: 64 MiB to the sink and 64 MiB from the source over IPv6, each
# checked (the sink's answer, sha256), with the tap's offloads on or off (--net-offload).
# The stack's own counts say whether large segments flowed: TCP/IPv6 frames it handed the
# tap whole for the kernel to cut (tx_gso, TSO6) and coalesced ones the kernel handed it
# (rx_gso, GRO); with offloads on there must be both, with them off none.
offload6() {
    local target=$1 mode=$2 want tx rx
    tcptest_tender_opts "$target"
    TENDER_OPTS+=("--net-offload=$mode")
    require_target "$target" tcptest
    uk_start "$NS" "$LOG" "$target" tcptest "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64" \
        "--source-bytes=$BIG"
    uk_wait_line "$LOG" "tcptest on $NET.2" 30
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20

    run in_ns "$TCPCLIENT" --deadline 300 send "$PFX::2" 9 1 "$BIG"
    echo "host -> unikernel over IPv6, offloads $mode: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"answer: ok $BIG"* ]]
    grep -q "sink: ok $BIG" "$LOG"

    want=$("$TCPCLIENT" gen 2 "$BIG" | sha256sum)
    run bash -c "ip netns exec '$NS' '$TCPCLIENT' --deadline 300 recv-out '$PFX::2' 19 \
        2>'$BATS_TEST_TMPDIR/recv.err' | sha256sum"
    echo "unikernel -> host over IPv6, offloads $mode: $(cat "$BATS_TEST_TMPDIR/recv.err") $output"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    grep -q "source: sent $BIG bytes" "$LOG"

    tx=$(net_stat tx_gso)
    rx=$(net_stat rx_gso)
    cat "$BATS_TEST_TMPDIR/control"
    echo "GSO frames: $tx sent (TSO), $rx received (GRO)"
    [ -n "$tx" ] && [ -n "$rx" ]
    if [ "$mode" = on ]; then
        [ "$tx" -gt 0 ]
        [ "$rx" -gt 0 ]
    else
        [ "$tx" -eq 0 ]
        [ "$rx" -eq 0 ]
    fi
}

# only6 VARIANT: stack-echo with --ipv6-only: no IPv4 layer, no DHCP, yet UDP
# and TCP echo answer over IPv6 on the one port.
only6() {
    local v=$1 dir=$BATS_FILE_TMPDIR/$1
    case $v in
    direct) TARGET_ARGV=("$dir/dist/stack-echo" --net:tap0=tap0 --) ;;
    spt) TARGET_ARGV=("$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$dir/dist/stack-echo.spt") ;;
    hvt)
        require_kvm
        TARGET_ARGV=("$ROOT/$B/bin/mirage-hvt" --net:service=tap0 "$dir/dist/stack-echo.hvt")
        ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}" --ipv6-only "--ipv6=$PFX::2/64"
    uk_wait_line "$LOG" "IPv6 only" 30
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20
    uk_wait_line "$LOG" "echo on TCP and UDP" 20
    ! grep -q "DHCP\|IPv4 " "$LOG"

    run in_ns timeout 10 socat -t 3 - "UDP6:[$PFX::2]:7" <<<"datagram over six"
    echo "udp: $output"
    [ "$output" = "datagram over six" ]
    head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
    run bash -c "ip netns exec '$NS' timeout 60 socat -t 10 - 'TCP6:[$PFX::2]:7' \
        <'$BATS_TEST_TMPDIR/blob' | sha256sum"
    echo "tcp: $output"
    [ "$output" = "$(sha256sum <"$BATS_TEST_TMPDIR/blob")" ]
    uk_wait_line "$LOG" "tcp \[$PFX::1\]:[0-9]+ closed after 200000 bytes" 10
    # Nothing answers over IPv4: there is none.
    run in_ns ping -c 1 -W 1 "$NET.2"
    [ "$status" -ne 0 ]
}

@test "ipv6_tcp: unix (direct): 50 MiB each way over IPv6, sha256" {
    tcp6 unix
}

@test "ipv6_tcp: spt: 50 MiB each way over IPv6, sha256" {
    tcp6 spt
}

@test "ipv6_tcp: hvt: 50 MiB each way over IPv6, sha256" {
    tcp6 hvt
}

# The offload cases: < 60 s together at idle (64 MiB each way, four boots).
@test "ipv6_tcp: unix (direct): 64 MiB each way over IPv6, offloads on (TSO6, GRO), sha256" {
    offload6 unix on
}

@test "ipv6_tcp: unix (direct): 64 MiB each way over IPv6, offloads off, sha256" {
    offload6 unix off
}

@test "ipv6_tcp: spt: 64 MiB each way over IPv6, offloads on (TSO6, GRO), sha256" {
    offload6 spt on
}

@test "ipv6_tcp: spt: 64 MiB each way over IPv6, offloads off, sha256" {
    offload6 spt off
}

@test "ipv6_tcp: hvt: 64 MiB each way over IPv6, offloads on (TSO6, GRO through the rings), sha256" {
    require_kvm
    offload6 hvt on
}

@test "ipv6_tcp: hvt: 64 MiB each way over IPv6, offloads off, sha256" {
    require_kvm
    offload6 hvt off
}

@test "ipv6_tcp: unix (direct): --ipv6-only boots without IPv4 or DHCP, UDP and TCP echo over IPv6" {
    only6 direct
}

@test "ipv6_tcp: spt: --ipv6-only boots without IPv4 or DHCP, UDP and TCP echo over IPv6" {
    only6 spt
}

@test "ipv6_tcp: hvt: --ipv6-only boots without IPv4 or DHCP, UDP and TCP echo over IPv6" {
    only6 hvt
}
