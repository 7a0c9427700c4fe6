#!/usr/bin/env bats
# tcp_icmp.bats: ICMP errors reach TCP (RFC 1122 4.2.3.9, RFC 5461). The unikernel (http-fetch)
# connects through a Linux router in a namespace whose route to the destination is "prohibit":
# the kernel answers each SYN with ICMP "communication administratively prohibited" (IPv4) or
# ICMPv6 "administratively prohibited" (IPv6), and the connection attempt ends at the first one
# with EHOSTUNREACH, where it used to retransmit its SYN for a minute and time out. unix (direct
# stack), spt and hvt. The kinds of error, the soft ones and forged sequence numbers are in
# tests/unit/test_tcp_icmp.c.
# Time budget: < 30 s on an idle machine (six boots, each ends within a few seconds).

load helpers

setup() {
    ipv6_net_setup tcpicmp 10.217
    in_ns sysctl -qw net.ipv4.ip_forward=1
    in_ns sysctl -qw net.ipv6.conf.all.forwarding=1
    in_ns ip route add prohibit 198.51.100.0/24
    in_ns ip -6 route add prohibit 2001:db8:99::/64
}

teardown() {
    net_teardown
}

# refused TARGET FAMILY: http-fetch on TARGET asks a host behind the prohibit route over
# FAMILY (4 or 6); it must fail with EHOSTUNREACH after the router's first ICMP error.
refused() {
    local target=$1 uri args
    require_target "$target" http-fetch
    TENDER_OPTS=("--net:$([ "$target" = unix ] && echo tap0 || echo service)=tap0")
    if [ "$2" = 4 ]; then
        uri=http://198.51.100.7:8080/
        args=("--ipv4=$NET.2/24" "--ipv4-gateway=$NET.1")
    else
        uri=http://[2001:db8:99::7]:8080/
        args=(--ipv6-only "--ipv6=$PFX::2/64" "--ipv6-gateway=$PFX::1")
    fi
    target_argv "$target" http-fetch "${args[@]}" "--uri=$uri"
    uk_spawn "$NS" "$LOG.$2" "${TARGET_ARGV[@]}"
    # The SYN's first retransmission would come after 1 s, its timeout after a minute.
    uk_wait_exit 20
    cat "$LOG.$2"
    [ "$UK_STATUS" -ne 0 ]
    grep -qF "connection attempt ended by an ICMP error (unreachable)" "$LOG.$2"
    grep -qF "$uri: cannot connect (EHOSTUNREACH)" "$LOG.$2"
    ! grep -q ETIMEDOUT "$LOG.$2"
}

@test "tcp_icmp: administratively prohibited ends a connect at once, IPv4 and IPv6 (unix)" {
    refused unix 4
    refused unix 6
}

@test "tcp_icmp: administratively prohibited ends a connect at once, IPv4 and IPv6 (spt)" {
    refused spt 4
    refused spt 6
}

@test "tcp_icmp: administratively prohibited ends a connect at once, IPv4 and IPv6 (hvt)" {
    require_kvm
    refused hvt 4
    refused hvt 6
}
