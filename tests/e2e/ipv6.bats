#!/usr/bin/env bats
# ipv6.bats: the direct stack's IPv6 (examples/stack-echo): DAD, neighbour discovery, ICMPv6 echo and errors against the Linux stack over a tap, on unix, spt and hvt.

load helpers

ROOT=$PWD

# One copy of stack-echo per target, configured and built by the tool once.
setup_file() {
    example_variants stack-echo direct:unix:--net=direct spt:spt: hvt:hvt:
}

# Each test gets its own namespace, 10.206.N.0/24 and fd00:206:N::/64; the
# kernel's addresses skip DAD so that it can talk at once.
setup() {
    ipv6_net_setup ipv6 10.206
}

teardown() { net_teardown; }

# boot VARIANT ARGS...: stack_echo_boot, which must find the link-local address.
boot() {
    stack_echo_boot "$@" && [ -n "$LL" ]
}

# Sends one datagram of next header 253 (experimental: nobody handles it) to
# ADDR and prints the ICMPv6 answer: "type code pointer", or "none".
unknown_next_header() {
    in_ns python3 - "$1" <<'PY'
import select, socket, struct, sys
dst = sys.argv[1]
icmp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 253)
raw.sendto(b"experiment", (dst, 0))
while select.select([icmp], [], [], 3)[0]:
    msg, addr = icmp.recvfrom(2000)
    if msg[0] in (128, 129, 135, 136):
        continue
    print(msg[0], msg[1], struct.unpack("!I", msg[4:8])[0])
    sys.exit(0)
print("none")
PY
}

ping_run() {
    boot "$1" "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64"
    grep -q "IPv6 $PFX::2/64, gateway none" "$LOG"
    # DAD: each address is used only once a solicitation went unanswered.
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready \(DAD found no duplicate\)" 20
    uk_wait_line "$LOG" "IPv6 $LL/64 ready" 20

    run in_ns ping -6 -c 3 -i 0.2 -W 2 -w 20 "$PFX::2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    # The kernel found our MAC by neighbour discovery.
    run in_ns ip -6 neigh show "$PFX::2" dev tap0
    echo "$output"
    [[ "$output" == *"lladdr $MAC"* ]]
    run in_ns ping -6 -c 3 -i 0.2 -W 2 -w 20 "$LL%tap0"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    # A full frame's worth: 1452 bytes of data, 1500 of IPv6.
    run in_ns ping -6 -c 2 -i 0.2 -s 1452 -W 2 -w 20 "$PFX::2"
    echo "$output"
    [ "$(ping_received "$output")" = 2 ]
    [[ "$output" == *"1460 bytes from $PFX::2"* ]]
    # To all nodes: we answer from our link-local address.
    run in_ns ping -6 -c 2 -i 0.3 -W 2 -w 10 "ff02::1%tap0"
    echo "$output"
    [[ "$output" == *"from $LL%tap0"* ]]

    # An unknown next header: parameter problem, code 1, pointing at byte 6.
    run unknown_next_header "$PFX::2"
    echo "$output"
    [ "$output" = "4 1 6" ]

    # Still alive and serving over IPv4.
    run in_ns ping -c 2 -i 0.2 -W 2 -w 10 "$NET.2"
    [ "$(ping_received "$output")" = 2 ]
}

# DAD against an address the kernel already holds: a clear line, and the
# address never used; the link-local one works.
dad_run() {
    in_ns ip -6 addr add "$PFX::3/64" dev tap0 nodad
    boot "$1" "--ipv4=$NET.2/24" "--ipv6=$PFX::3/64"
    uk_wait_line "$LOG" "IPv6 $PFX::3/64 is a duplicate: an advertisement from [0-9a-f:]+ claims it \(DAD\): the address is not used" 20
    uk_wait_line "$LOG" "IPv6 $LL/64 ready" 20
    ! grep -q "IPv6 $PFX::3/64 ready" "$LOG"
    run in_ns ping -6 -c 2 -i 0.2 -W 2 -w 10 "$LL%tap0"
    [ "$(ping_received "$output")" = 2 ]
    # The kernel's own address still answers from the kernel's MAC alone.
    run in_ns ip -6 neigh show "$PFX::3" dev tap0
    [[ "$output" != *"lladdr $MAC"* ]]
}

@test "ipv6: unix (direct): DAD, ping -6 to global, link-local and all-nodes, ND, parameter problem" {
    ping_run direct
}

@test "ipv6: spt: DAD, ping -6 to global, link-local and all-nodes, ND, parameter problem" {
    ping_run spt
}

@test "ipv6: hvt: DAD, ping -6 to global, link-local and all-nodes, ND, parameter problem" {
    ping_run hvt
}

@test "ipv6: unix (direct): DAD refuses an address the kernel holds" {
    dad_run direct
}

@test "ipv6: spt: DAD refuses an address the kernel holds" {
    dad_run spt
}

@test "ipv6: hvt: DAD refuses an address the kernel holds" {
    dad_run hvt
}
