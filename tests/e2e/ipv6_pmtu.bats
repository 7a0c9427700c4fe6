#!/usr/bin/env bats
# ipv6_pmtu.bats: path MTU discovery into TCP, over IPv6 (RFC 8201) and IPv4 (RFC 1191), on unix (direct), spt and hvt: a Linux router in a namespace whose far link is narrower (1280 bytes for IPv6, 1000 for IPv4) answers the unikernel's full-sized segments with packet too big / fragmentation needed; a 10 MiB TCP transfer from the unikernel to a Linux peer beyond it completes byte-exact (sha256) with the MSS lowered and no fragments.
# Time budget: < 1.5 min on an idle machine (six boots; each transfer takes a few seconds).

load helpers

TCPCLIENT=$B/bin/tcpclient
BYTES=10485760 # 10 MiB

setup_file() {
    local f
    for f in "$TCPCLIENT" "$UK/tcptest" "$UK/tcptest.spt" "$UK/tcptest.hvt"; do
        [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: run make" >&2; return 1; }
    done
}

# Two namespaces joined by a veth pair: NS is the router, with the
# unikernel's tap (fd00:213:N:1::/64, MTU 1500) and the veth end toward the
# far network (fd00:213:N:2::/64) whose MTU is 1280; FAR holds the peer
# (::2 there, its end of the veth at 1500: only the router's egress is
# narrow, so the peer's SYN offers an MSS of 1440 and the unikernel's
# full-sized segments reach the router, which must answer packet too big).
setup() {
    net_setup ip6pmtu 10.213
    FAR=$NS-far
    P1=fd00:213:$BATS_TEST_NUMBER:1
    P2=fd00:213:$BATS_TEST_NUMBER:2
    FAR4=10.214.$BATS_TEST_NUMBER
    netns_create "$FAR"
    in_ns sysctl -qw net.ipv6.conf.all.forwarding=1
    in_ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec "$FAR" sysctl -qw net.ipv6.conf.default.accept_dad=0
    netns_tap "$NS" tap0 "$NET.1/24"
    in_ns ip -6 addr add "$P1::1/64" dev tap0 nodad
    in_ns sysctl -qw net.ipv4.ip_forward=1
    in_ns ip link add vr mtu 1280 type veth peer name vf netns "$FAR"
    in_ns ip -6 addr add "$P2::1/64" dev vr nodad
    in_ns ip addr add "$FAR4.1/24" dev vr
    in_ns ip link set vr up
    ip netns exec "$FAR" ip link set dev vf mtu 1500
    ip netns exec "$FAR" ip link set dev vf up
    ip netns exec "$FAR" ip -6 addr add "$P2::2/64" dev vf nodad
    ip netns exec "$FAR" ip -6 route add default via "$P2::1" dev vf
    ip netns exec "$FAR" ip addr add "$FAR4.2/24" dev vf
    ip netns exec "$FAR" ip route add default via "$FAR4.1" dev vf
}

teardown() {
    net_teardown
    netns_delete "$FAR"
}

# snmp6 NS COUNTER: the value of COUNTER in NS's /proc/net/snmp6.
snmp6() {
    ip netns exec "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/snmp6
}

# pmtu TARGET: tcptest behind the router; the far peer reads 10 MiB from its
# source port and checks it; the router sent packet too big, the unikernel's
# path MTU and TCP's MSS went down, and nothing reached the peer as fragments.
pmtu() {
    local target=$1 want
    tcptest_tender_opts "$target"
    require_target "$target" tcptest
    uk_start "$NS" "$LOG" "$target" tcptest "--ipv4=$NET.2/24" "--ipv6=$P1::2/64" \
        "--ipv6-gateway=$P1::1" "--source-bytes=$BYTES"
    uk_wait_line "$LOG" "tcptest on $NET.2" 30
    uk_wait_line "$LOG" "IPv6 $P1::2/64 ready" 20

    want=$("$TCPCLIENT" gen 2 "$BYTES" | sha256sum)
    run bash -c "ip netns exec '$FAR' '$TCPCLIENT' --deadline 60 recv-out '$P1::2' 19 \
        2>'$BATS_TEST_TMPDIR/recv.err' | sha256sum"
    echo "unikernel -> far peer through the router: $(cat "$BATS_TEST_TMPDIR/recv.err") $output"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    echo "router: $(snmp6 "$NS" Icmp6OutPktTooBigs) packet too big sent"
    [ "$(snmp6 "$NS" Icmp6OutPktTooBigs)" -ge 1 ]
    grep -q "path MTU to $P2::2 is now 1280 (packet too big)" "$LOG"
    # TCP's segments fit 1280-byte packets: 1280 - 40 - 20 - 12 (timestamps).
    grep -Eq "\[$P2::2\]:[0-9]+: MSS 1428 -> 1208 \(path MTU\)" "$LOG"
    # The segments were cut smaller, not sent as IPv6 fragments.
    echo "far peer: $(snmp6 "$FAR" Ip6ReasmReqds) fragments to reassemble"
    [ "$(snmp6 "$FAR" Ip6ReasmReqds)" -eq 0 ]
}

# snmp4 NS COUNTER: the value of Ip COUNTER in NS's /proc/net/snmp.
snmp4() {
    ip netns exec "$1" awk -v k="$2" '$1 == "Ip:" && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
        $1 == "Ip:" { print $c[k] }' /proc/net/snmp
}

# pmtu4 TARGET: as pmtu over IPv4: the router's far link takes 1000-byte
# datagrams, our segments carry DF, the router answers fragmentation needed.
pmtu4() {
    local target=$1 want
    tcptest_tender_opts "$target"
    in_ns ip link set dev vr mtu 1000
    require_target "$target" tcptest
    uk_start "$NS" "$LOG" "$target" tcptest "--ipv4=$NET.2/24" "--ipv4-gateway=$NET.1" \
        "--source-bytes=$BYTES"
    uk_wait_line "$LOG" "tcptest on $NET.2" 30

    want=$("$TCPCLIENT" gen 2 "$BYTES" | sha256sum)
    run bash -c "ip netns exec '$FAR' '$TCPCLIENT' --deadline 60 recv-out '$NET.2' 19 \
        2>'$BATS_TEST_TMPDIR/recv.err' | sha256sum"
    echo "unikernel -> far peer through the router: $(cat "$BATS_TEST_TMPDIR/recv.err") $output"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    grep -q "path MTU to $FAR4.2 is now 1000 (fragmentation needed)" "$LOG"
    # 1000 - 20 - 20 - 12 (timestamps)
    grep -Eq "$FAR4.2:[0-9]+: MSS 1448 -> 948 \(path MTU\)" "$LOG"
    echo "far peer: $(snmp4 "$FAR" ReasmReqds) fragments to reassemble"
    [ "$(snmp4 "$FAR" ReasmReqds)" -eq 0 ]
}

@test "ipv6_pmtu: unix (direct): packet too big lowers a live connection's MSS, 10 MiB sha256" {
    pmtu unix
}

@test "ipv6_pmtu: spt: packet too big lowers a live connection's MSS, 10 MiB sha256" {
    pmtu spt
}

@test "ipv6_pmtu: hvt: packet too big lowers a live connection's MSS, 10 MiB sha256" {
    pmtu hvt
}

@test "ipv6_pmtu: unix (direct): IPv4 fragmentation needed lowers a live connection's MSS, 10 MiB sha256" {
    pmtu4 unix
}

@test "ipv6_pmtu: spt: IPv4 fragmentation needed lowers a live connection's MSS, 10 MiB sha256" {
    pmtu4 spt
}

@test "ipv6_pmtu: hvt: IPv4 fragmentation needed lowers a live connection's MSS, 10 MiB sha256" {
    pmtu4 hvt
}
