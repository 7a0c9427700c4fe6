#!/usr/bin/env bash
# dns_stub.sh: dns-stub (the caching forwarder) under dnsperf on unix, spt and hvt, answering from its cache, beside dnsmasq (its upstream) answering the same queries itself (markdown).
#
# Run as root from the repository root after `make`: bench/dns_stub.sh [SECONDS]
# dns-stub sits on a tap in one namespace, dnsmasq (authoritative for test., TTLs of a day) in a
# second over veth; dnsperf (one thread, 4 clients, up to 100 queries outstanding) runs in the
# first with 8 names (A, AAAA, a CNAME, NXDOMAIN, NODATA), which a warm-up puts in the stub's
# cache: every query measured is a cache hit. Not a test: it prints a table.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_setup dnsstub "${1:-10}"

bench_need_files -e "$B/bin/mirage-spt" "$B/bin/mirage-hvt" "$B/uk/dns-stub" "$B/uk/dns-stub.spt" \
    "$B/uk/dns-stub.hvt"
bench_need_commands dnsperf dnsmasq dig

bench_tap_peer 10.216.0 10.215.0 bs
ip netns exec "$NS-n" ip route add 10.216.0.0/24 via 10.215.0.1
in_ns sysctl -qw net.ipv4.ip_forward=1
UP_IP=$PEER_IP

cat >"$WORK/queries" <<EOF
www.test A
www.test AAAA
web.test A
alias.test A
mail.test A
nope.test A
www.test MX
other.test AAAA
EOF

ip netns exec "$NS-n" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=53 \
    --listen-address="$UP_IP" --bind-interfaces --no-resolv --no-hosts --user=root \
    --auth-server="ns.test,$UP_IP" --auth-zone=test --auth-soa="1,hm.test,1200,120,3600" \
    --auth-ttl=86400 --local-ttl=86400 --host-record="www.test,192.0.2.1,2001:db8::1" \
    --host-record="web.test,192.0.2.2" --host-record="mail.test,192.0.2.3" \
    --host-record="other.test,2001:db8::2" --cname=alias.test,web.test \
    --pid-file="$WORK/dnsmasq.pid" >"$WORK/dnsmasq.out" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do
    in_ns dig +tries=1 +time=1 @"$UP_IP" www.test A >/dev/null 2>&1 && break
    sleep 0.2
done

# boot CMD...: dns-stub in the namespace, until it answers; then every query once (the cache).
boot() {
    local n t
    bench_boot 300 'forwarding UDP and TCP' "$@" || return 1
    while read -r n t; do
        in_ns dig +tries=3 +time=2 @"$UK_IP" "$n" "$t" >/dev/null
    done <"$WORK/queries"
}

# stop_uk: the last process started (the unikernel), not dnsmasq.
stop_uk() {
    kill "${PIDS[-1]}" 2>/dev/null || true
    wait "${PIDS[-1]}" 2>/dev/null || true
    unset 'PIDS[-1]'
}

UKARGS=(--ipv4=$UK_IP/24 --ipv4-gateway=10.216.0.1 --dns-servers=$UP_IP)
echo "## DNS: dns-stub answering from its cache beside dnsmasq (bench/dns_stub.sh, dnsperf -c 4 -q 100 -T 1 -l $DUR)"
echo
echo "Machine load at start: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)."
echo "Queries: the 8 of bench/dns_stub.sh (A, AAAA, a CNAME, NXDOMAIN, NODATA), UDP, all cached."
echo
echo "| server | queries/s | average latency (ms) | lost |"
echo "|---|---|---|---|"
dnsperf_row "dnsmasq $(dnsmasq --version | awk 'NR == 1 { print $3 }') (authoritative, veth)" "$UP_IP"
boot "$ROOT/$B/uk/dns-stub" --net:tap0=tap0 -- "${UKARGS[@]}"
dnsperf_row "dns-stub unix (direct stack, tap)" "$UK_IP"
stop_uk
boot "$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$ROOT/$B/uk/dns-stub.spt" "${UKARGS[@]}"
dnsperf_row "dns-stub spt" "$UK_IP"
stop_uk
if [ -w /dev/kvm ]; then
    boot "$ROOT/$B/bin/mirage-hvt" --net:service=tap0 "$ROOT/$B/uk/dns-stub.hvt" "${UKARGS[@]}"
    dnsperf_row "dns-stub hvt" "$UK_IP"
    stop_uk
else
    echo "| dns-stub hvt | (no /dev/kvm) | | |"
fi
echo
strip -o "$WORK/stripped.hvt" "$ROOT/$B/uk/dns-stub.hvt"
echo "Stripped dns-stub.hvt: $(stat -c %s "$WORK/stripped.hvt") bytes."
