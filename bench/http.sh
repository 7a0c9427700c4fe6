#!/usr/bin/env bash
# http.sh: static_website under wrk on unix, spt and hvt beside Debian's nginx; image size, --mem floor, idle-connection memory (markdown).
#
# Run as root from the repository root after `make`: bench/http.sh [SECONDS]
# Files: a 612-byte page (nginx's classic index.html size) and a 1 MiB file. The unikernels
# (a copy of examples/static_website whose htdocs are those files, built by mirage for each
# target with --store=crunch: the files in the image) sit on a tap in one namespace; nginx (one worker, the same files, the same ECDSA
# certificate) in a second namespace over veth; wrk (1 thread, 32 keep-alive connections)
# runs in the first. Not a test: it prints tables.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_setup http "${1:-10}" # WORK: nginx's worker (www-data) reads the site from it

bench_need_files -e "$B/bin/mirage" "$B/bin/mirage-spt" "$B/bin/mirage-hvt" \
    "$B/democert/tls/default/cert.pem"
bench_need_commands wrk nginx python3

field() { sed -En "s|$2|\\1|p" <<<"$1" | head -1; }

# ---- the site and the bench unikernels --------------------------------------------------
mkdir -p "$WORK/site" "$WORK/uk"
{
    printf '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome</title>\n</head>\n<body>\n'
    printf '<h1>Welcome</h1>\n<p>'
    head -c 2000 /dev/zero | tr '\0' 'x'
} | head -c 591 >"$WORK/site/index.html"
printf '</p>\n</body>\n</html>\n' >>"$WORK/site/index.html" # 612 bytes in all
head -c 1048576 /dev/urandom >"$WORK/site/1m.bin"
cp examples/static_website/*.[ch] "$WORK/uk/"
ln -s "$WORK/site" "$WORK/uk/htdocs"
ln -s "$ROOT/$B/democert/tls" "$WORK/uk/tls"
for t in unix spt hvt; do
    mkdir -p "$WORK/build-$t"
    for f in "$WORK/uk/"*; do ln -s "$f" "$WORK/build-$t/"; done
    (cd "$WORK/build-$t" && "$ROOT/$B/bin/mirage" configure -t "$t" --net=direct --store=crunch >/dev/null &&
        "$ROOT/$B/bin/mirage" build >/dev/null) || { echo "bench site build failed on $t" >&2; exit 1; }
done
SITE_UNIX=$WORK/build-unix/dist/static_website
SITE_SPT=$WORK/build-spt/dist/static_website.spt
SITE_HVT=$WORK/build-hvt/dist/static_website.hvt

# ---- the network: tap for the unikernels, veth to nginx's namespace -----------------------
bench_tap_peer 10.212.0 10.213.0 bh
NGINX_IP=$PEER_IP

cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 20000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen $NGINX_IP:80;
        listen $NGINX_IP:443 ssl;
        ssl_certificate $ROOT/$B/democert/tls/default/cert.pem;
        ssl_certificate_key $ROOT/$B/democert/tls/default/key.pem;
        ssl_protocols TLSv1.2;
        root $WORK/site;
    }
}
EOF

# wrk_row URL [WRK-ARGS...]: "req/s p99-ms MB/s" of wrk, 1 thread, 32 connections.
wrk_row() {
    local url=$1 out rps p99 tr
    shift
    out=$(in_ns wrk -t1 -c32 -d"${DUR}s" --latency "$@" "$url" 2>&1) || true
    rps=$(field "$out" '^Requests/sec: *([0-9.]+).*')
    p99=$(field "$out" '^ *99% *([0-9.]+[a-z]+).*')
    tr=$(field "$out" '^Transfer/sec: *([0-9.]+[KMG]?B).*')
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        tr="$tr ($(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | tr '\n' ' '))"
    fi
    printf '%s | %s | %s' "${rps:-0}" "${p99:--}" "${tr:--}"
}

# row NAME BASE-HTTP BASE-HTTPS: the four wrk figures for one server.
row() {
    local name=$1 http=$2 https=$3
    printf '| %s | %s | %s | %s | %s |\n' "$name" \
        "$(wrk_row "$http/index.html")" "$(wrk_row "$http/1m.bin")" \
        "$(wrk_row "$https/index.html" -H 'Connection: close')" "$(wrk_row "$https/1m.bin")"
}

# boot CMD...: a unikernel in the namespace, until it serves HTTPS.
boot() { bench_boot 100 'serving https://' "$@"; }

UKARGS=(--ipv4=$UK_IP/24 --tls=true -l http:warning --workers=64)
echo "## HTTP: static_website beside nginx (bench/http.sh, wrk -t1 -c32 -d${DUR}s)"
echo
echo "Machine load at start: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)."
echo "Columns: requests/s | p99 latency | transfer/s. HTTPS new connections send"
echo "'Connection: close', so each request is a full ECDHE-ECDSA handshake."
echo
bench_table server "612 B req/s" p99 transfer "1 MiB req/s" p99 transfer "HTTPS handshakes/s" p99 \
    transfer "HTTPS 1 MiB req/s" p99 transfer
ip netns exec "$NS-n" nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
sleep 1
row "nginx 1.22 (1 worker, veth)" "http://$NGINX_IP" "https://$NGINX_IP"
bench_stop
boot "$SITE_UNIX" --net:tap0=tap0 -- "${UKARGS[@]}"
row "static_website unix (direct stack, tap)" "http://$UK_IP" "https://$UK_IP"
bench_stop
boot "$ROOT/$B/bin/mirage-spt" --net:service=tap0 "$SITE_SPT" "${UKARGS[@]}"
row "static_website spt" "http://$UK_IP" "https://$UK_IP"
bench_stop
if [ -w /dev/kvm ]; then
    boot "$ROOT/$B/bin/mirage-hvt" --mem=64 --net:service=tap0 "$SITE_HVT" "${UKARGS[@]}"
    row "static_website hvt (--mem=64)" "http://$UK_IP" "https://$UK_IP"
    bench_stop
fi
echo

# ---- size -------------------------------------------------------------------------------
strip -o "$WORK/stripped.hvt" "$ROOT/$B/uk/static_website.hvt"
echo "Stripped static_website.hvt (demo site, TLS included): $(stat -c %s "$WORK/stripped.hvt") bytes" \
    "($(stat -c %s "$ROOT/$B/uk/static_website.hvt") unstripped); the bench copy with its 1 MiB file:" \
    "$(strip -o "$WORK/s2" "$SITE_HVT" && stat -c %s "$WORK/s2") bytes stripped."
echo

[ -w /dev/kvm ] || { echo "(no /dev/kvm: the hvt memory figures are skipped)"; exit 0; }

# ---- the smallest --mem serving the 1 MiB file to 32 clients -------------------------------
floor=
for mem in 4 5 6 8 10 12 16 24 32; do
    if ! boot "$ROOT/$B/bin/mirage-hvt" --mem=$mem --net:service=tap0 "$SITE_HVT" "${UKARGS[@]}" \
        2>/dev/null; then
        bench_stop
        continue
    fi
    out=$(in_ns wrk -t1 -c32 -d5s "http://$UK_IP/1m.bin" 2>&1) || true
    alive=$(kill -0 "${PIDS[0]}" 2>/dev/null && echo yes || echo no)
    bench_stop
    rps=$(field "$out" '^Requests/sec: *([0-9.]+).*')
    if [ "$alive" = yes ] && ! grep -q 'Non-2xx\|Socket errors' <<<"$out" &&
        awk -v r="${rps:-0}" 'BEGIN { exit !(r > 10) }'; then
        floor=$mem
        break
    fi
done
echo "Smallest hvt --mem serving the 1 MiB file to 32 wrk clients for 5 s without an error:" \
    "${floor:-none up to 32} MiB."
echo

# ---- memory of 10,000 idle keep-alive connections -----------------------------------------
N=${IDLE:-10000}
IDLE_PY='
import socket, ssl, sys, time
addr, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ctx = None
if len(sys.argv) > 4: # CA: over HTTPS
    ctx = ssl.create_default_context(cafile=sys.argv[4])
    ctx.check_hostname = False
def answered(s):
    data = b""
    while b"</html>" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return b"</html>" in data
socks = []
got = 0
for i in range(n):
    s = socket.create_connection((addr, 443 if ctx else 80), timeout=10)
    if ctx:
        s = ctx.wrap_socket(s)
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: b\r\n\r\n")
    if ctx: # one handshake at a time: each costs the client too
        got += answered(s)
    socks.append(s)
if not ctx:
    got = sum(answered(s) for s in socks)
print("kept", got, flush=True)
time.sleep(wait)
'
ulimit -n "$(ulimit -Hn)" # python holds N sockets at once

# hold TENTHS PY ARGS...: the client PY (ARGS) in the namespace; waits up to TENTHS
# tenths of a second until it says it holds its connections.
hold() {
    local tenths=$1 py=$2 i
    shift 2
    in_ns python3 -c "$py" "$@" >"$WORK/idle.out" &
    PIDS+=($!)
    for ((i = 0; i < tenths; i++)); do
        grep -q kept "$WORK/idle.out" && break
        sleep 0.1
    done
}

# idle_heap TENTHS PY ARGS...: static_website.hvt's heap before and after the client PY
# (ARGS) holds its connections (before, after) and its last stats line (line).
idle_heap() {
    boot "$ROOT/$B/bin/mirage-hvt" --mem=256 --net:service=tap0 "$SITE_HVT" --ipv4=$UK_IP/24 \
        --tls=true -l http:warning --stats=1
    sleep 1.5
    before=$(grep -o 'heap [0-9]* bytes' "$WORK/uk.log" | tail -1 | tr -dc 0-9)
    hold "$@"
    sleep 2.5
    after=$(grep -o 'heap [0-9]* bytes' "$WORK/uk.log" | tail -1 | tr -dc 0-9)
    line=$(grep 'stats:' "$WORK/uk.log" | tail -1 | sed 's/.*stats: //')
    bench_stop
}

idle_heap 600 "$IDLE_PY" "$UK_IP" "$N" 4
echo "$N idle keep-alive connections ($(cat "$WORK/idle.out")), static_website.hvt: heap" \
    "$before -> $after bytes, $(((after - before) / N)) bytes per connection (TCP record and" \
    "the server's, no fiber; the last stats line: $line)."
# The same over HTTPS (fewer: each handshake costs the client too): TLS gives its record
# buffers back while a connection waits parked.
NT=${IDLE_TLS:-1000}
idle_heap 1200 "$IDLE_PY" "$UK_IP" "$NT" 4 "$ROOT/$B/democert/ca.pem"
echo "$NT idle keep-alive HTTPS connections ($(cat "$WORK/idle.out")), static_website.hvt: heap" \
    "$before -> $after bytes, $(((after - before) / NT)) bytes per connection (the last stats" \
    "line: $line)."
ip netns exec "$NS-n" nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
sleep 1
wpid=$(pgrep -P "$(cat "$WORK/nginx.pid")" nginx | head -1)
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$wpid/status")
hold 600 "$IDLE_PY" "$NGINX_IP" "$N" 4
sleep 1
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$wpid/status")
bench_stop
echo "nginx's worker, the same $N connections ($(cat "$WORK/idle.out")): RSS $rss0 -> $rss1 KiB," \
    "$(((rss1 - rss0) * 1024 / N)) bytes per connection (user space only: the host kernel's" \
    "socket memory for them is not in it)."
