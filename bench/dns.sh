#!/usr/bin/env bash
# dns.sh: dns-primary under dnsperf on unix, spt and hvt beside NSD with one server process; image size; the smallest --mem serving a zone of 100,000 records (markdown).
#
# Run as root from the repository root after `make`: bench/dns.sh [SECONDS]
# The unikernels sit on a tap in one namespace; NSD (server-count 1, the same zone file) in a
# second namespace over veth (response rate limiting off); dnsperf (one thread, 4 clients, up to 100 queries outstanding)
# runs in the first with a mix of queries over the test zone (answers, a CNAME chain, a
# wildcard, NXDOMAIN, NODATA, a referral). Not a test: it prints tables.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_setup dns "${1:-10}"
ZONE=$ROOT/examples/dns-primary/zones/example.com.zone

bench_need_files -e "$B/bin/mirage" "$B/bin/mirage-spt" "$B/bin/mirage-hvt" "$B/uk/dns-primary" \
    "$B/uk/dns-primary.spt" "$B/uk/dns-primary.hvt"
bench_need_commands dnsperf nsd dig

bench_tap_peer 10.218.0 10.217.0 bd
NSD_IP=$PEER_IP

cat >"$WORK/queries" <<EOF
web.example.com A
www.example.com A
alias.example.com AAAA
example.com MX
example.com SOA
nope.example.com A
web.example.com MX
x.wild.example.com A
a.sub.example.com A
_sip._tcp.example.com SRV
EOF

cat >"$WORK/nsd.conf" <<EOF
server:
  ip-address: $NSD_IP@53
  username: ""
  chroot: ""
  zonesdir: "$ROOT/examples/dns-primary/zones"
  pidfile: "$WORK/nsd.pid"
  database: ""
  zonelistfile: "$WORK/zone.list"
  xfrdfile: "$WORK/xfrd.state"
  xfrdir: "$WORK"
  server-count: 1
  rrl-ratelimit: 0
  logfile: "$WORK/nsd.log"
remote-control:
  control-enable: no
zone:
  name: example.com
  zonefile: example.com.zone
EOF

# boot CMD...: a unikernel in the namespace, until it answers.
boot() { bench_boot 300 'answering on UDP and TCP' "$@"; }

UKARGS=(--ipv4=$UK_IP/24)
echo "## DNS: dns-primary beside NSD (bench/dns.sh, dnsperf -c 4 -q 100 -T 1 -l $DUR)"
echo
echo "Machine load at start: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)."
echo "Queries: the 10 of bench/dns.sh over examples/dns-primary/zones/example.com.zone, UDP."
echo
bench_table server queries/s "average latency (ms)" lost
ip netns exec "$NS-n" nsd -d -c "$WORK/nsd.conf" >"$WORK/nsd.out" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do
    in_ns dig +tries=1 +time=1 @"$NSD_IP" example.com SOA >/dev/null 2>&1 && break
    sleep 0.2
done
dnsperf_row "NSD 4.6 (server-count 1, veth)" "$NSD_IP"
bench_stop
truncate -s 16M "$WORK/dns-data.img" # the store updated zones go to (empty here)
DATA=--block:dns_data=$WORK/dns-data.img
boot "$ROOT/$B/uk/dns-primary" --net:tap0=tap0 "$DATA" -- "${UKARGS[@]}"
dnsperf_row "dns-primary unix (direct stack, tap)" "$UK_IP"
bench_stop
boot "$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$DATA" "$ROOT/$B/uk/dns-primary.spt" "${UKARGS[@]}"
dnsperf_row "dns-primary spt" "$UK_IP"
bench_stop
if [ -w /dev/kvm ]; then
    boot "$ROOT/$B/bin/mirage-hvt" --net:service=tap0 "$DATA" "$ROOT/$B/uk/dns-primary.hvt" "${UKARGS[@]}"
    dnsperf_row "dns-primary hvt" "$UK_IP"
    bench_stop
fi
echo

strip -o "$WORK/stripped.hvt" "$ROOT/$B/uk/dns-primary.hvt"
echo "Stripped dns-primary.hvt (the test zone crunched in): $(stat -c %s "$WORK/stripped.hvt")" \
    "bytes ($(stat -c %s "$ROOT/$B/uk/dns-primary.hvt") unstripped)."
echo

[ -w /dev/kvm ] || { echo "(no /dev/kvm: the hvt memory figure is skipped)"; exit 0; }

# ---- the smallest --mem serving a zone of 100,000 records ------------------------------------
mkdir -p "$WORK/big/zones"
cp "$ROOT"/examples/dns-primary/*.c "$WORK/big/"
{
    printf '$TTL 1h\n@ SOA ns hostmaster 1 3h 15m 1w 5m\n NS ns\nns A 192.0.2.53\n'
    awk 'BEGIN { for (i = 0; i < 99997; i++) printf "h%d A 10.%d.%d.%d\n", i, int(i / 65536), int(i / 256) % 256, i % 256 }'
} >"$WORK/big/zones/big.test.zone"
(cd "$WORK/big" && "$ROOT/$B/bin/mirage" configure -t hvt --net=direct >/dev/null &&
    "$ROOT/$B/bin/mirage" build >/dev/null) || { echo "big zone build failed" >&2; exit 1; }
strip -o "$WORK/big.hvt" "$WORK/big/dist/dns-primary.hvt"
floor=
for mem in 8 12 16 20 24 32 48 64; do
    if ! boot "$ROOT/$B/bin/mirage-hvt" --mem=$mem --net:service=tap0 "$DATA" "$WORK/big/dist/dns-primary.hvt" \
        "${UKARGS[@]}" 2>/dev/null; then
        bench_stop
        continue
    fi
    got=$(in_ns dig +short +tries=2 +time=2 @"$UK_IP" h99996.big.test A 2>/dev/null || true)
    bench_stop
    if [ "$got" = "10.1.134.156" ]; then
        floor=$mem
        break
    fi
done
echo "A zone of 100,000 records (99,997 A records, the SOA, NS and its address;" \
    "$(stat -c %s "$WORK/big/zones/big.test.zone") bytes of zone file): stripped image" \
    "$(stat -c %s "$WORK/big.hvt") bytes; smallest hvt --mem that loads it and answers:" \
    "${floor:-none up to 64} MiB."
