#!/bin/bash
# platform.sh: boot time, image size, ping and block throughput per target, beside their references.
# Prints a markdown table; run after `make`. Needs root (network namespaces) and /dev/kvm for hvt.
set -u
cd "$(dirname "$0")/.."
source bench/lib.sh # its EXIT trap is replaced by this script's below
B=build
UK=$B/uk
TMP=$(mktemp -d)
NS=mbench$$
cleanup() {
    [ -n "${UKPID:-}" ] && kill "$UKPID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    ip netns del "${NS}r" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

have_kvm() { [ -w /dev/kvm ]; }
targets="unix spt"
have_kvm && targets="$targets hvt" || echo "note: no /dev/kvm, hvt not measured" >&2

tender() { # tender TARGET IMAGE-BASENAME: the command prefix that boots it
    case $1 in
    unix) echo "$UK/$2" ;;
    spt) echo "$B/bin/mirage-spt $UK/$2.spt" ;;
    hvt) echo "$B/bin/mirage-hvt $UK/$2.hvt" ;;
    esac
}

echo "## Boot to exit of hello (hyperfine -N, ms)"
echo
gcc -static -O2 -o "$TMP/true" -x c - <<<'int main(void){return 0;}'
cmds=("$TMP/true" "$UK/hello")
names=("static true (reference)" "unix")
for t in spt hvt; do
    [ "$t" = hvt ] && ! have_kvm && continue
    cmds+=("$(tender $t hello)")
    names+=("$t")
done
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$TMP/boot.json" "${cmds[@]}" >/dev/null 2>&1
bench_hyperfine_table "$TMP/boot.json" target true 3 "${names[@]}"

echo
echo "## Stripped image size (bytes)"
echo
echo "| image | bytes |"
echo "|---|---|"
for f in "$UK/hello.spt" "$UK/hello.hvt" "$UK/hello"; do
    strip -o "$TMP/s" "$f" && echo "| $(basename "$f") | $(stat -c %s "$TMP/s") |"
done

echo
echo "## Ping: busy and sparse round trips, flood rate"
echo
echo "Busy: ping -c 500 -i 0.001; sparse: ping -c 40 -i 0.05; flood: ping -f -c 10000."
echo
ping_stats() { # ping_stats NS ADDR -> "busy_rtt_us sparse_rtt_us flood_pps loss%"
    local out busy sparse rate loss
    out=$(ip netns exec "$1" ping -q -c 500 -i 0.001 -W 1 "$2" 2>&1)
    busy=$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
    out=$(ip netns exec "$1" ping -q -c 40 -i 0.05 -W 1 "$2" 2>&1)
    sparse=$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
    out=$(timeout 60 ip netns exec "$1" ping -q -f -c 10000 -W 1 "$2" 2>&1)
    rate=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) { if ($i == "received,") r = $(i-1);
               if ($i == "time") t = $(i+1) } gsub("ms", "", t); if (t > 0) printf "%d", r * 1000 / t }' <<<"$out")
    loss=$(grep -o '[0-9.]*% packet loss' <<<"$out" | cut -d% -f1)
    echo "$(awk -v r="${busy:-0}" 'BEGIN { printf "%.1f", r * 1000 }')" \
        "$(awk -v r="${sparse:-0}" 'BEGIN { printf "%.1f", r * 1000 }')" "${rate:-0}" "${loss:-100}"
}
echo "| responder | busy RTT (µs) | sparse RTT (µs) | flood (replies/s) | flood loss % |"
echo "|---|---|---|---|---|"
# Reference: the Linux kernel answering on a veth in another namespace.
ip netns add "$NS" && ip netns add "${NS}r"
ip -n "$NS" link add veth0 type veth peer name veth1 netns "${NS}r"
ip -n "$NS" addr add 10.77.1.1/24 dev veth0 && ip -n "$NS" link set veth0 up
ip -n "${NS}r" addr add 10.77.1.2/24 dev veth1 && ip -n "${NS}r" link set veth1 up
read -r busy sparse rate loss < <(ping_stats "$NS" 10.77.1.2)
echo "| Linux kernel over veth (reference) | $busy | $sparse | $rate | $loss |"
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add 10.77.0.1/24 dev tap0 && ip -n "$NS" link set tap0 up
for t in $targets; do
    [ -x "$UK/ping" ] || { echo "| $t | (no ping example) | | | |"; continue; }
    case $t in
    unix) cmd="$UK/ping --net:service=tap0 --" ;;
    spt) cmd="$B/bin/mirage-spt --net:service=tap0 $UK/ping.spt" ;;
    hvt) cmd="$B/bin/mirage-hvt --net:service=tap0 $UK/ping.hvt" ;;
    esac
    ip netns exec "$NS" $cmd --ipv4=10.77.0.2/24 >"$TMP/uk.log" 2>&1 &
    UKPID=$!
    sleep 0.5
    read -r busy sparse rate loss < <(ping_stats "$NS" 10.77.0.2)
    echo "| mirage $t over tap | $busy | $sparse | $rate | $loss |"
    kill "$UKPID" 2>/dev/null; wait "$UKPID" 2>/dev/null; UKPID=
done

echo
echo "## Sequential block read, 256 MiB file in the page cache (MB/s)"
echo
truncate -s 0 "$TMP/disk.img"
head -c $((256 << 20)) /dev/urandom >"$TMP/disk.img"
cat "$TMP/disk.img" >/dev/null
echo "| reader | 64 KiB requests | 1 MiB requests |"
echo "|---|---|---|"
dd_rate() { dd if="$TMP/disk.img" of=/dev/null bs="$1" 2>&1 | awk '/copied/ { printf "%d", $(NF-1) * ($NF == "GB/s" ? 1000 : 1) }'; }
echo "| dd (reference) | $(dd_rate 64K) | $(dd_rate 1M) |"
for t in $targets; do
    row="| mirage $t |"
    for c in 65536 1048576; do
        case $t in
        unix) out=$("$UK/blockread" --block:storage="$TMP/disk.img" -- --chunk=$c 2>&1) ;;
        spt) out=$("$B/bin/mirage-spt" --block:storage="$TMP/disk.img" "$UK/blockread.spt" --chunk=$c 2>&1) ;;
        hvt) out=$("$B/bin/mirage-hvt" --block:storage="$TMP/disk.img" "$UK/blockread.hvt" --chunk=$c 2>&1) ;;
        esac
        row="$row $(grep -o '[0-9]* MB/s' <<<"$out" | cut -d' ' -f1) |"
    done
    echo "$row"
done
