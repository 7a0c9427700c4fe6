#!/usr/bin/env bash
# net.sh: the direct stack's TCP/ICMP figures on unix, spt and hvt beside the Linux kernel (markdown).
#
# Run as root from the repository root after `make`: bench/net.sh [BYTES]
# A second table puts IPv6 beside IPv4 (TCP both ways, ping -6 / -4) per target and the kernel
# over veth over IPv6; NET_IPV6_ONLY=1 prints that table alone. A third puts the sending side
# beside the kernel when both write 4 KiB a call; NET_SMALL_WRITES_ONLY=1 prints it alone.
# Throughput moves zeros (tcpclient seed 0, tcptest's discard and zeros ports) so that
# neither end spends its time making or checking data; tcp.bats checks the bytes. Both
# senders write 64 KiB a call in the first two tables and 4 KiB in the third.
# Per target, the tcptest unikernel (tests/tcp) on a tap in a fresh network namespace,
# the kernel at the tap's other end, once with the tap's offloads on (virtio-net header,
# checksum, TSO4/TSO6/GRO) and once with --net-offload=off (frame by frame, as before them);
# the reference is the kernel talking to itself between two namespaces over veth,
# measured in the same run. Not a test: it prints.
set -euo pipefail

B=build
UK=$B/uk
T=$B/bin/tcpclient
BYTES=${1:-268435456} # per throughput transfer (256 MiB)
PINGS=20000
RR=20000
CHURN=20000
IDLE=1000
NS=mirage-bench-net-$$
source "$(dirname "$0")/lib.sh"

bench_need_files -x "$T" "$UK/tcptest" "$UK/tcptest.spt" "$UK/tcptest.hvt" "$B/bin/mirage-spt" \
    "$B/bin/mirage-hvt"

# field TEXT REGEX: the first capture of REGEX (sed -E) in TEXT.
field() { sed -En "s|.*$2.*|\\1|p" <<<"$1" | head -1; }

# ping_figures NS DST [-6]: "rate/s avg-rtt-us" of a flood ping.
ping_figures() {
    local out n ms avg
    out=$(ip netns exec "$1" ping ${3:-} -f -q -c "$PINGS" -w 60 "$2" 2>&1)
    n=$(field "$out" ' ([0-9]+) received')
    ms=$(field "$out" 'time ([0-9]+)ms')
    avg=$(field "$out" '= [0-9.]+/([0-9.]+)/')
    awk -v n="$n" -v ms="$ms" -v avg="$avg" \
        'BEGIN { printf "%.0f %.1f", (ms > 0 ? n * 1000 / ms : 0), avg * 1000 }'
}

mbit() { field "$1" ': ([0-9.]+) Mbit/s'; }

# The kernel on both ends: two namespaces over veth.
kernel_row() {
    local a=$NS-a b=$NS-b out up down rr pf
    bench_ns "$a"
    bench_ns "$b"
    bench_veth "$a" "$b" "vb$$" "vb$$" 10.205.0.1/24 10.205.0.2/24
    ip netns exec "$b" "$T" serve-sink 5001 &
    PIDS+=($!)
    sleep 0.3
    out=$(ip netns exec "$a" "$T" send 10.205.0.2 5001 0 "$BYTES")
    up=$(mbit "$out")
    ip netns exec "$b" "$T" serve-source 5002 0 "$BYTES" &
    PIDS+=($!)
    sleep 0.3
    out=$(ip netns exec "$a" "$T" recv 10.205.0.2 5002)
    down=$(mbit "$out")
    ip netns exec "$b" socat TCP-LISTEN:7,reuseaddr PIPE &
    PIDS+=($!)
    sleep 0.3
    out=$(ip netns exec "$a" "$T" rr 10.205.0.2 7 "$RR")
    rr=$(field "$out" ': ([0-9]+) /s')
    pf=$(ping_figures "$a" 10.205.0.2)
    printf '| Linux kernel ↔ kernel (veth) | %s | %s | %s | %s | %s | — | — |\n' \
        "$up" "$down" "${pf% *}" "${pf#* }" "$rr"
    bench_cleanup
}

# The kernel on both ends over IPv6: two namespaces over veth.
kernel_row6() {
    local a=$NS-a b=$NS-b out up down pf i
    bench_ns "$a"
    bench_ns "$b"
    bench_veth "$a" "$b" "vb$$" "vb$$" fd00:205::1/64 fd00:205::2/64 nodad
    # Until the link-local addresses' DAD ends (~2 s) the kernel's first IPv6 transfer over the
    # fresh veth ran at ~1.6 Gbit/s and the next at ~11: wait for it (at most 5 s).
    for ((i = 0; i < 50; i++)); do
        [ -z "$(ip -n "$a" -6 addr show tentative; ip -n "$b" -6 addr show tentative)" ] && break
        sleep 0.1
    done
    ip netns exec "$b" "$T" serve-sink 5001 &
    PIDS+=($!)
    sleep 0.3
    out=$(ip netns exec "$a" "$T" send fd00:205::2 5001 0 "$BYTES")
    up=$(mbit "$out")
    ip netns exec "$b" "$T" serve-source 5002 0 "$BYTES" &
    PIDS+=($!)
    sleep 0.3
    out=$(ip netns exec "$a" "$T" recv fd00:205::2 5002)
    down=$(mbit "$out")
    pf=$(ping_figures "$a" fd00:205::2 -6)
    printf '| Linux kernel ↔ kernel (veth) | IPv6 | %s | %s | %s | %s |\n' \
        "$up" "$down" "${pf% *}" "${pf#* }"
    bench_cleanup
}

# tcptest_start TARGET on|off LOG LINE ARGS...: boots tcptest with ARGS on TARGET in the
# namespace, the tap's offloads on or off, its console in LOG, and waits up to 10 s for LINE.
tcptest_start() {
    local target=$1 offload=$2 log=$3 line=$4
    shift 4
    case $target in
    unix) ip netns exec "$NS" "$UK/tcptest" --net:tap0=tap0 "--net-offload=$offload" -- \
        "$@" >"$log" 2>&1 & ;;
    spt) ip netns exec "$NS" "$B/bin/mirage-spt" --mem=512 --net:service=tap0 \
        "--net-offload=$offload" "$UK/tcptest.spt" "$@" >"$log" 2>&1 & ;;
    hvt) ip netns exec "$NS" "$B/bin/mirage-hvt" --mem=512 --net:service=tap0 \
        "--net-offload=$offload" "$UK/tcptest.hvt" "$@" >"$log" 2>&1 & ;;
    esac
    PIDS+=($!)
    bench_wait_line 100 "$line" "${PIDS[-1]}" "$log" || true
}

# unikernel_row6 TARGET on|off: tcptest on TARGET with the tap's offloads on or
# off, the kernel at the tap's other end; the same transfers and pings over
# IPv6, then over IPv4.
unikernel_row6() {
    local target=$1 offload=$2 log out up down pf fam dst
    log=$(mktemp)
    bench_tap 10.205.1.1/24
    in_ns ip -6 addr add fd00:205:1::1/64 dev tap0 nodad
    tcptest_start "$target" "$offload" "$log" "IPv6 fd00:205:1::2/64 ready" \
        --ipv4=10.205.1.2/24 --ipv6=fd00:205:1::2/64 "--source-bytes=$BYTES"
    for fam in IPv6 IPv4; do
        if [ $fam = IPv6 ]; then dst=fd00:205:1::2; else dst=10.205.1.2; fi
        out=$(in_ns "$T" send "$dst" 11 0 "$BYTES")
        up=$(mbit "$out")
        out=$(in_ns "$T" recv "$dst" 20)
        down=$(mbit "$out")
        pf=$(ping_figures "$NS" "$dst" "$([ $fam = IPv6 ] && echo -6 || echo -4)")
        printf '| %s, offloads %s (tcptest ↔ kernel, tap) | %s | %s | %s | %s | %s |\n' \
            "$target" "$offload" "$fam" "$up" "$down" "${pf% *}" "${pf#* }"
    done
    bench_cleanup
    rm -f "$log"
}

heap_now() {
    in_ns timeout 10 socat -t 5 - "TCP:10.205.1.2:8" <<<"heap" | sed -n 's/^heap \([0-9]*\) .*/\1/p'
}

# unikernel_row TARGET on|off: tcptest on TARGET, the kernel at the tap's other end.
unikernel_row() {
    local target=$1 offload=$2 log out up down rr pf acc h0 h1 per
    log=$(mktemp)
    bench_tap 10.205.1.1/24
    in_ns sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
    tcptest_start "$target" "$offload" "$log" "tcptest on" \
        --ipv4=10.205.1.2/24 "--source-bytes=$BYTES"
    # Zeros to the discard port and from the zeros port: the stack is what is measured.
    out=$(in_ns "$T" send 10.205.1.2 11 0 "$BYTES")
    up=$(mbit "$out")
    out=$(in_ns "$T" recv 10.205.1.2 20)
    down=$(mbit "$out")
    out=$(in_ns "$T" rr 10.205.1.2 7 "$RR")
    rr=$(field "$out" ': ([0-9]+) /s')
    pf=$(ping_figures "$NS" 10.205.1.2)
    out=$(in_ns "$T" churn 10.205.1.2 7 "$CHURN" 32)
    acc=$(field "$out" ' s, ([0-9]+) conn/s')
    h0=$(heap_now)
    ip netns exec "$NS" "$T" idle 10.205.1.2 10 "$IDLE" 3 >/dev/null &
    PIDS+=($!)
    sleep 2
    h1=$(heap_now)
    per=$(((h1 - h0) / IDLE))
    printf '| %s, offloads %s (tcptest ↔ kernel, tap) | %s | %s | %s | %s | %s | %s | %s B |\n' \
        "$target" "$offload" "$up" "$down" "${pf% *}" "${pf#* }" "$rr" "$acc" "$per"
    bench_cleanup
    rm -f "$log"
}

# small_writes_row TARGET: 3 transfers from tcptest's zeros port writing 4 KiB a call, offloads
# on, and the TSO frames they took (the stack's tx_gso); TARGET kernel: the kernel's sender
# over veth, 4 KiB a call too.
small_writes_row() {
    local target=$1 log out mbits=() g0 g1 i
    if [ "$target" = kernel ]; then
        local a=$NS-a b=$NS-b
        bench_ns "$a"
        bench_ns "$b"
        bench_veth "$a" "$b" "vb$$" "vb$$" 10.205.0.1/24 10.205.0.2/24
        for i in 1 2 3; do
            ip netns exec "$b" "$T" serve-source 5002 0 "$BYTES" 4096 &
            PIDS+=($!)
            sleep 0.3
            out=$(ip netns exec "$a" "$T" recv 10.205.0.2 5002)
            mbits+=("$(mbit "$out")")
        done
        printf '| Linux kernel → kernel (veth), 4 KiB writes | %s | — |\n' "${mbits[*]}"
        bench_cleanup
        return
    fi
    log=$(mktemp)
    bench_tap 10.205.1.1/24
    tcptest_start "$target" on "$log" "tcptest on" --ipv4=10.205.1.2/24 "--source-bytes=$BYTES" \
        --zeros-write=4096
    g0=$(in_ns timeout 10 socat -t 5 - "TCP:10.205.1.2:8" <<<"net" |
        sed -n 's/.*[ ,]tx_gso=\([0-9]*\)i.*/\1/p')
    for i in 1 2 3; do
        out=$(in_ns "$T" recv 10.205.1.2 20)
        mbits+=("$(mbit "$out")")
    done
    g1=$(in_ns timeout 10 socat -t 5 - "TCP:10.205.1.2:8" <<<"net" |
        sed -n 's/.*[ ,]tx_gso=\([0-9]*\)i.*/\1/p')
    printf '| %s → kernel (tap, offloads on), 4 KiB writes | %s | %s |\n' "$target" "${mbits[*]}" \
        "$(((g1 - g0) / 3))"
    bench_cleanup
    rm -f "$log"
}

if [ "${NET_SMALL_WRITES_ONLY:-}" = 1 ]; then
    echo "The sending side, 4 KiB a write on both: $((BYTES / 1048576)) MiB of zeros, 3 transfers each."
    echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
    echo
    bench_table sender "TCP → receiver, 3 runs (Mbit/s)" "TSO frames per transfer"
    small_writes_row kernel
    bench_targets 3 small_writes_row
    exit 0
fi

if [ "${NET_IPV6_ONLY:-}" != 1 ]; then # NET_IPV6_ONLY=1: the second table alone
echo "TCP payload $((BYTES / 1048576)) MiB per transfer; $PINGS flood pings; $RR 1-byte round trips;"
echo "$CHURN short connections (32 in flight) for the accept rate; $IDLE idle connections for the heap."
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
echo
bench_table pair "TCP host→peer (Mbit/s)" "TCP peer→host (Mbit/s)" "ping -f (/s)" "ping RTT avg (µs)" \
    "1-byte RR (/s)" "accepts (/s)" "heap per idle conn"
kernel_row
offloads_on_off() { unikernel_row "$1" on; unikernel_row "$1" off; }
bench_targets 8 offloads_on_off
fi

echo
echo "IPv6 beside IPv4, the same run: tcptest with both families, the tap's offloads on (checksum,"
echo "TSO4/TSO6, GRO) and off, the same $((BYTES / 1048576)) MiB and $PINGS flood pings."
echo
bench_table pair family "TCP host→peer (Mbit/s)" "TCP peer→host (Mbit/s)" "ping -f (/s)" \
    "ping RTT avg (µs)"
kernel_row6
for target in unix spt hvt; do
    if [ "$target" = hvt ] && [ ! -w /dev/kvm ]; then
        echo "| hvt | IPv6 | (no /dev/kvm) | | | |"
        continue
    fi
    unikernel_row6 "$target" on
    unikernel_row6 "$target" off
done

echo
echo "The sending side, 4 KiB a write on both (tcptest --zeros-write=4096, tcpclient serve-source"
echo "with 4 KiB blocks), the same $((BYTES / 1048576)) MiB, 3 transfers each."
echo
bench_table sender "TCP → receiver, 3 runs (Mbit/s)" "TSO frames per transfer"
small_writes_row kernel
bench_targets 3 small_writes_row
