#!/usr/bin/env bats
# ipv6_nd.bats: IPv6 fragments both ways, path MTU from a packet too big, SLAAC and the default
# router from radvd, a neighbour re-resolved after its MAC changes, MLDv2 reports, on unix (direct), spt
# and hvt (examples/stack-echo over a tap in a namespace). Budget: about 2 min on 2 loaded cores.

load helpers

ROOT=$PWD
MIRAGE=$ROOT/build/bin/mirage

setup_file() {
    command -v radvd >/dev/null || { echo "radvd is missing: make deps" >&2; return 1; }
    example_variants stack-echo direct:unix:--net=direct spt:spt: hvt:hvt:
}

# Each test: its own namespace, 10.207.N.0/24 and fd00:207:N::/64, the kernel at ::1 without DAD.
setup() {
    ipv6_net_setup ip6nd 10.207
}

teardown() { net_teardown; }

# boot VARIANT ARGS...: stack-echo on tap0, listening; sets MAC from its log.
boot() {
    stack_echo_boot "$@"
}

# too_big_then_ping UK ME UKMAC: a packet too big (MTU 1400) from the kernel
# about a packet UK sent to ME, then a 3000-byte echo request; prints the
# largest IPv6 packet of UK's fragmented reply (0: none came within 5 s).
too_big_then_ping() {
    in_ns python3 - "$@" <<'PY'
import socket, struct, sys, time
uk, me, mac = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3].replace(":", ""))
icmp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
cap.bind(("tap0", 0))
quoted = struct.pack("!IHBB", 0x60000000, 1460, 58, 64) + socket.inet_pton(socket.AF_INET6, uk) \
    + socket.inet_pton(socket.AF_INET6, me) + bytes([129, 0, 0, 0, 0, 7, 0, 1]) + bytes(32)
icmp.sendto(struct.pack("!BBHI", 2, 0, 0, 1400) + quoted, (uk, 0))  # the kernel sums it
time.sleep(0.3)
icmp.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x77, 1) + bytes(3000), (uk, 0))
biggest, end = 0, time.time() + 5
cap.settimeout(0.5)
while time.time() < end:
    try:
        f = cap.recv(2000)
    except socket.timeout:
        continue
    if f[6:12] != mac or f[14 + 6] != 44:
        continue
    biggest = max(biggest, len(f) - 14)
    if f[14 + 43] & 1 == 0:  # the last fragment
        break
print(biggest)
PY
}

frag_run() {
    local dump=$BATS_TEST_TMPDIR/mld.txt
    # MLDv2: the reports of the joins, seen by tcpdump from the start.
    local tapmac
    tapmac=$(in_ns cat /sys/class/net/tap0/address)
    bg_spawn "$NS" "$dump" tcpdump -i tap0 -n -l -vv -c 2 "ip6 dst ff02::16 and not ether src $tapmac"
    uk_wait_line "$dump" "listening on tap0" 10
    boot "$1" "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64"
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20
    uk_wait_line "$dump" "multicast listener report v2, [0-9]+ group record\(s\)" 10
    cat "$dump"
    grep -q "ff02::1:ff00:2" "$dump"

    # 60,000-byte pings: the kernel fragments the request, we reassemble it
    # and fragment the reply, the kernel reassembles that.
    run in_ns ping -6 -c 2 -i 0.3 -s 60000 -W 3 -w 20 "$PFX::2"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]
    [[ "$output" == *"60008 bytes from $PFX::2"* ]]

    # A packet too big lowers the path MTU: the next big reply comes in
    # fragments of at most 1400 bytes (1500 before).
    run too_big_then_ping "$PFX::2" "$PFX::1" "$MAC"
    echo "$output"
    [ "$output" -le 1400 ] && [ "$output" -ge 1300 ]
    grep -q "path MTU to $PFX::1 is now 1400 (packet too big)" "$LOG"
    run in_ns ping -6 -c 1 -s 60000 -W 3 -w 10 "$PFX::2"
    [ "$(ping_received "$output")" = 1 ]
}

# radvd on tap0: prefix PFX::/64 for SLAAC, a default route, link MTU 1400,
# a 2 s reachable time; started in the foreground, ended with the test.
radvd_start() {
    local conf=$BATS_TEST_TMPDIR/radvd.conf
    cat >"$conf" <<EOF
interface tap0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    AdvDefaultLifetime 600;
    AdvLinkMTU 1400;
    AdvReachableTime 2000;
    prefix $PFX::/64 { AdvOnLink on; AdvAutonomous on; };
};
EOF
    in_ns sysctl -qw net.ipv6.conf.all.forwarding=1
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/radvd.log" radvd -n -m stderr -C "$conf" \
        -p "$BATS_TEST_TMPDIR/radvd.pid" -u root
}

slaac_run() {
    radvd_start
    boot "$1" "--ipv4=$NET.2/24"
    uk_wait_line "$LOG" "default router fe80:" 20
    uk_wait_line "$LOG" "IPv6 $PFX:[0-9a-f:]+/64 from a router advertisement \(SLAAC\)" 20
    local addr
    addr=$(sed -n "s/.*IPv6 \($PFX:[0-9a-f:]*\)\/64 from a router advertisement.*/\1/p" "$LOG" | head -1)
    uk_wait_line "$LOG" "IPv6 $addr/64 ready \(DAD found no duplicate\)" 20
    grep -q "link MTU 1400" "$LOG"
    run in_ns ping -6 -c 2 -i 0.3 -W 2 -w 10 "$addr"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]
    # From off the link: the answer goes through the default router (the namespace).
    in_ns ip -6 addr add "fd00:208:$BATS_TEST_NUMBER::1/128" dev lo
    run in_ns ping -6 -c 2 -i 0.3 -W 2 -w 10 -I "fd00:208:$BATS_TEST_NUMBER::1" "$addr"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]

    # Neighbour re-resolution: the kernel's MAC changes while our entry for it
    # is stale. Replies must reach the new MAC (the old one's frames are
    # dropped by the kernel): learnt from the kernel's own solicitation (its
    # source link-layer option), or, failing that, after our unicast probes go
    # unanswered (5 s of DELAY, 3 probes) a multicast solicitation finds it.
    sleep 3.5 # the advertised 2 s reachable time (at most 3 s) runs out
    in_ns ip link set dev tap0 address 02:00:00:20:70:01
    run in_ns ping -6 -c 16 -i 1 -W 1 -w 22 "$addr"
    echo "$output"
    [ "$(ping_received "$output")" -ge 8 ]
    run in_ns ping -6 -c 2 -i 0.3 -W 2 -w 10 "$addr"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]
}

no_ra_run() {
    radvd_start
    boot "$1" "--ipv4=$NET.2/24" --accept-router-advertisements=false
    uk_wait_line "$LOG" "ignoring router advertisements \(from fe80:[0-9a-f:]+\): --accept-router-advertisements=false" 20
    ! grep -q "from a router advertisement (SLAAC)" "$LOG"
    ! grep -q "default router" "$LOG"
}

@test "ipv6_nd: unix (direct): 60000-byte pings both ways, packet too big lowers the path MTU, MLDv2 reports" {
    frag_run direct
}

@test "ipv6_nd: spt: 60000-byte pings both ways, packet too big lowers the path MTU, MLDv2 reports" {
    frag_run spt
}

@test "ipv6_nd: hvt: 60000-byte pings both ways, packet too big lowers the path MTU, MLDv2 reports" {
    frag_run hvt
}

@test "ipv6_nd: unix (direct): SLAAC and the default router from radvd, the neighbour re-resolved after its MAC changes" {
    slaac_run direct
}

@test "ipv6_nd: spt: SLAAC and the default router from radvd, the neighbour re-resolved after its MAC changes" {
    slaac_run spt
}

@test "ipv6_nd: hvt: SLAAC and the default router from radvd, the neighbour re-resolved after its MAC changes" {
    slaac_run hvt
}

@test "ipv6_nd: unix (direct): --accept-router-advertisements=false ignores radvd" {
    no_ra_run direct
}
