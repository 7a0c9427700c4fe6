#!/usr/bin/env bash
# uso.sh: UDP trains through the tap with USO on and off, beside the kernel over veth (markdown).
#
# Run as root from the repository root after `make`: bench/uso.sh [TRAINS]
# Each direction moves TRAINS (default 2000) trains of 60 KiB in 1400-byte datagrams (44 a
# train, 123 MB in all). Every figure is the receiver's: payload bytes it got over the time
# from its first datagram to its last, beside the share lost. Host -> unikernel:
# tests/e2e/uso_peer.py sends each train with one UDP_SEGMENT sendmsg to tcptest's UDP
# discard port, which counts what arrives and when. Unikernel -> host: one
# request to tcptest's UDP source port (19) for TRAINS trains (mirage_udp_write_segments), the
# host counting with UDP_GRO from the first to the last byte. The reference is the same
# python peer on both ends of a veth pair between two namespaces, measured in the same run.
# Python on the host side bounds every row alike (~100 us a call). Not a test: it prints.
set -euo pipefail

TRAINS=${1:-2000}
BURST=61440
SEG=1400
PEER=tests/e2e/uso_peer.py
source "$(dirname "$0")/lib.sh"
bench_setup uso 0
UK=$B/uk
T=$B/bin/tcpclient

bench_need_files -x "$T" "$UK/tcptest" "$UK/tcptest.spt" "$UK/tcptest.hvt" "$B/bin/mirage-spt" \
    "$B/bin/mirage-hvt"
bench_need_commands python3 socat
head -c "$BURST" /dev/zero >"$WORK/burst"

# rate BYTES SECONDS: Mbit/s.
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b * 8 / s / 1e6 : 0) }'; }
# lost GOT SENT: the share of SENT that did not arrive, in %.
lost() { awk -v g="$1" -v s="$2" 'BEGIN { printf "%.1f %%", (s > 0 ? 100 * (s - g) / s : 0) }'; }

# kernel_way FROM TO DST: the python sender in FROM, the sink in TO at DST; "Mbit/s loss".
kernel_way() {
    local out sent secs got
    ip netns exec "$2" python3 "$PEER" sink "$3" 9 60 >"$WORK/sink.out" &
    PIDS+=($!)
    bench_wait_line 50 ready "${PIDS[-1]}" "$WORK/sink.out"
    out=$(ip netns exec "$1" python3 "$PEER" send "$3" 9 "$SEG" "$TRAINS" <"$WORK/burst")
    wait "${PIDS[-1]}" || true
    sent=$(sed -n 's/^sent \([0-9]*\) bytes in \([0-9.]*\) s/\1/p' <<<"$out")
    secs=$(sed -n 's/^sent \([0-9]*\) bytes in \([0-9.]*\) s/\2/p' <<<"$out")
    got=$(sed -n 's/^got \([0-9]*\) bytes.*/\1/p' "$WORK/sink.out")
    echo "$(rate "$got" "$secs") $(lost "$got" "$sent")"
}

kernel_row() {
    local a=$NS-a b=$NS-b up down
    bench_ns "$a"
    bench_ns "$b"
    bench_veth "$a" "$b" "uso$$a" "uso$$b" 10.242.0.1/24 10.242.0.2/24
    up=$(kernel_way "$a" "$b" 10.242.0.2)
    down=$(kernel_way "$b" "$a" 10.242.0.1)
    printf '| kernel ↔ kernel, veth (UDP_SEGMENT, UDP_GRO) | %s | %s | %s (%s) | - |\n' \
        "${up%% *}" "${up#* }" "${down%% *}" "${down#* }"
    bench_cleanup
}

# uk_row TARGET on|off: tcptest on TARGET with the tap's offloads on or off.
uk_row() {
    local target=$1 offload=$2 out sent secs got gso
    bench_tap 10.242.1.1/24
    case $target in
    unix) bench_boot 100 "tcptest on" "$UK/tcptest" --net:tap0=tap0 "--net-offload=$offload" \
        -- --ipv4=10.242.1.2/24 ;;
    spt) bench_boot 100 "tcptest on" "$B/bin/mirage-spt" --mem=512 --net:service=tap0 \
        "--net-offload=$offload" "$UK/tcptest.spt" --ipv4=10.242.1.2/24 ;;
    hvt) bench_boot 100 "tcptest on" "$B/bin/mirage-hvt" --mem=512 --net:service=tap0 \
        "--net-offload=$offload" "$UK/tcptest.hvt" --ipv4=10.242.1.2/24 ;;
    esac
    out=$(in_ns python3 "$PEER" send 10.242.1.2 11 "$SEG" "$TRAINS" <"$WORK/burst")
    sleep 1
    sent=$(sed -n 's/^sent \([0-9]*\) bytes in \([0-9.]*\) s/\1/p' <<<"$out")
    secs=$(sed -n 's/^sent \([0-9]*\) bytes in \([0-9.]*\) s/\2/p' <<<"$out")
    out=$(in_ns timeout 10 socat -t 5 - TCP:10.242.1.2:8 <<<udp)
    got=$(sed -n 's/.* discard [0-9]* \([0-9]*\) [0-9]*$/\1/p' <<<"$out")
    secs=$(sed -n 's/.* discard [0-9]* [0-9]* \([0-9]*\)$/\1/p' <<<"$out")
    up="$(rate "${got:-0}" "$(awk -v n="${secs:-0}" 'BEGIN { print n / 1e9 }')") $(lost "${got:-0}" "$sent")"
    out=$(in_ns python3 "$PEER" pull 10.242.1.2 19 "$BURST" "$SEG" "$TRAINS")
    got=$(sed -n 's/^got \([0-9]*\) bytes.* in \([0-9.]*\) s/\1/p' <<<"$out")
    secs=$(sed -n 's/^got \([0-9]*\) bytes.* in \([0-9.]*\) s/\2/p' <<<"$out")
    gso=$(in_ns timeout 10 socat -t 5 - TCP:10.242.1.2:8 <<<net |
        sed -n 's/.*tx_gso=\([0-9]*\)i,rx_gso=\([0-9]*\)i.*/\2 \/ \1/p')
    printf '| %s, offloads %s (tcptest ↔ kernel, tap) | %s | %s | %s (%s) | %s |\n' "$target" \
        "$offload" "${up%% *}" "${up#* }" "$(rate "${got:-0}" "$secs")" \
        "$(lost "${got:-0}" $((TRAINS * BURST)))" "$gso"
    bench_cleanup
}

echo "UDP: $TRAINS trains of $BURST bytes in $SEG-byte datagrams each way (Mbit/s of payload delivered)"
echo
bench_table path "host → peer" "lost" "peer → host (lost)" "GSO frames rx / tx"
kernel_row
for t in unix spt hvt; do
    if [ "$t" = hvt ] && [ ! -w /dev/kvm ]; then
        bench_no_kvm_row 5
        continue
    fi
    uk_row "$t" on
    uk_row "$t" off
done
