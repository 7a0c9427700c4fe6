#!/usr/bin/env bash
# tls.sh: TLS handshakes per second and echo throughput of tls-echo on unix, spt and hvt beside OpenSSL (markdown).
#
# Run as root from the repository root after `make`: bench/tls.sh [BYTES] [SECONDS]
# Handshakes: `openssl s_time -new` (full handshakes, one at a time, new TCP connections) and
# `-reuse` (resumed) against the unikernel on a tap in a fresh network namespace, for a
# P-256 ECDSA and an RSA-2048 certificate (tests/tls/mkcerts.sh); the reference is
# `openssl s_server` (one process, one thread, same certificate) reached over veth between
# two namespaces in the same run. Throughput: tests/tls/peer.py (Python's ssl) sends BYTES
# and reads them back through the echo, AES-128-GCM and ChaCha20-Poly1305; the reference
# echo is `socat OPENSSL-LISTEN:... PIPE`. Not a test: it prints.
set -euo pipefail

B=build
UK=$B/uk
BYTES=${1:-67108864} # per echo transfer (64 MiB)
SECS=${2:-5}         # per s_time run
RUNS=${3:-3}         # each figure is the best of RUNS (the machine is shared)
NS=mirage-bench-tls-$$
source "$(dirname "$0")/lib.sh"
BENCH_SIG=KILL
CERTS=$(mktemp -d)
BENCH_RM+=("$CERTS")
EC_SUITE=ECDHE-ECDSA-AES128-GCM-SHA256
RSA_SUITE=ECDHE-RSA-AES128-GCM-SHA256
CHACHA=ECDHE-ECDSA-CHACHA20-POLY1305

bench_need_files -x "$UK/tls-echo" "$UK/tls-echo.spt" "$UK/tls-echo.hvt" "$B/bin/mirage-spt" \
    "$B/bin/mirage-hvt"

tests/tls/mkcerts.sh "$CERTS"
b64c() { openssl x509 -in "$CERTS/$1" -outform DER | base64 -w0; }
b64k() { openssl pkcs8 -topk8 -nocrypt -in "$CERTS/$1" -outform DER | base64 -w0; }
EC_ARG="default:$(b64c ec.pem):$(b64k ec.key)"
RSA_ARG="default:$(b64c rsa.pem):$(b64k rsa.key)"

# best CMD...: the largest number CMD prints in RUNS runs.
best() {
    local i
    for ((i = 0; i < RUNS; i++)); do "$@" || true; echo; done | sort -g | tail -1
}

# s_time_rate NS ADDR SUITE -new|-reuse: connections per second.
s_time_rate() {
    ip netns exec "$1" timeout $((SECS + 20)) openssl s_time -connect "$2:4433" "$4" \
        -time "$SECS" -cipher "$3" 2>/dev/null |
        sed -En 's/^([0-9]+) connections in ([0-9.]+) real seconds.*/\1 \2/p' |
        awk '{ printf "%.0f", $1 / $2 }'
}

# echo_rate NS ADDR SUITE: MB/s each way through the echo.
echo_rate() {
    ip netns exec "$1" env CIPHERS="$3" timeout 120 python3 tests/tls/peer.py bulk "$2" 4433 \
        localhost "$CERTS/ca.pem" "$BYTES" | sed -En 's/^bulk: .*: ([0-9.]+) MB\/s/\1/p'
}


# The reference: OpenSSL servers in one namespace, the clients in another, over veth.
reference_row() {
    local a=$NS-a b=$NS-b log ec rsa reuse aes chacha
    log=$(mktemp)
    bench_ns "$a"
    bench_ns "$b"
    bench_veth "$a" "$b" "vt$$" "vt$$" 10.212.0.1/24 10.212.0.2/24
    for kind in ec rsa; do
        ip netns exec "$b" openssl s_server -accept 4433 -tls1_2 -quiet -cert "$CERTS/$kind.pem" \
            -key "$CERTS/$kind.key" </dev/null >"$log" 2>&1 &
        PIDS+=($!)
        sleep 0.5
        if [ $kind = ec ]; then
            ec=$(best s_time_rate "$a" 10.212.0.2 $EC_SUITE -new)
            reuse=$(best s_time_rate "$a" 10.212.0.2 $EC_SUITE -reuse)
        else
            rsa=$(best s_time_rate "$a" 10.212.0.2 $RSA_SUITE -new)
        fi
        kill -KILL "${PIDS[-1]}"
        wait "${PIDS[-1]}" 2>/dev/null || true
        unset 'PIDS[-1]'
    done
    for suite in $EC_SUITE $CHACHA; do
        ip netns exec "$b" socat "OPENSSL-LISTEN:4433,reuseaddr,fork,cert=$CERTS/ec.pem,key=$CERTS/ec.key,verify=0" \
            PIPE &
        PIDS+=($!)
        sleep 0.5
        if [ $suite = $EC_SUITE ]; then
            aes=$(best echo_rate "$a" 10.212.0.2 $suite)
        else
            chacha=$(best echo_rate "$a" 10.212.0.2 $suite)
        fi
        kill -TERM -- "-${PIDS[-1]}" 2>/dev/null || kill -KILL "${PIDS[-1]}" 2>/dev/null || true
        wait "${PIDS[-1]}" 2>/dev/null || true
        unset 'PIDS[-1]'
    done
    printf '| OpenSSL 3.0 (s_server; socat echo), veth | %s | %s | %s | %s | %s | — |\n' \
        "$ec" "$rsa" "$reuse" "$aes" "$chacha"
    bench_cleanup
    rm -f "$log"
}

# boot TARGET CERTS LOG [ARGS...]: tls-echo on TARGET with CERTS at 10.212.1.2.
boot() {
    local args=(--ipv4=10.212.1.2/24 "--certs=$2" -l warning,application:app "${@:4}")
    case $1 in
    unix) ip netns exec "$NS" "$UK/tls-echo" --net:tap0=tap0 -- "${args[@]}" >"$3" 2>&1 & ;;
    spt) ip netns exec "$NS" "$B/bin/mirage-spt" --mem=128 --net:service=tap0 "$UK/tls-echo.spt" \
        "${args[@]}" >"$3" 2>&1 & ;;
    hvt) ip netns exec "$NS" "$B/bin/mirage-hvt" --mem=128 --net:service=tap0 "$UK/tls-echo.hvt" \
        "${args[@]}" >"$3" 2>&1 & ;;
    esac
    PIDS+=($!)
    bench_wait_line 100 "tls echo on" "${PIDS[-1]}" "$3"
}

# unikernel_row TARGET [ARGS...]: the figures of tls-echo on TARGET booted with ARGS.
unikernel_row() {
    local target=$1 log ec rsa reuse aes chacha per
    shift
    log=$(mktemp)
    bench_tap 10.212.1.1/24
    ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
    boot "$target" "$EC_ARG" "$log" "$@"
    per=$(sed -En 's/.*\(([0-9]+) bytes per connection\).*/\1/p' "$log")
    ec=$(best s_time_rate "$NS" 10.212.1.2 $EC_SUITE -new)
    reuse=$(best s_time_rate "$NS" 10.212.1.2 $EC_SUITE -reuse)
    aes=$(best echo_rate "$NS" 10.212.1.2 $EC_SUITE)
    chacha=$(best echo_rate "$NS" 10.212.1.2 $CHACHA)
    kill -KILL "${PIDS[-1]}"
    wait "${PIDS[-1]}" 2>/dev/null || true
    unset 'PIDS[-1]'
    boot "$target" "$RSA_ARG" "$log" "$@"
    rsa=$(best s_time_rate "$NS" 10.212.1.2 $RSA_SUITE -new)
    printf '| %s (tls-echo%s), tap | %s | %s | %s | %s | %s | %s B |\n' "$target" "${*:+ $*}" "$ec" "$rsa" \
        "$reuse" "$aes" "$chacha" "$per"
    bench_cleanup
    rm -f "$log"
}

echo "Handshakes: openssl s_time for $SECS s each (one connection at a time); echo: $((BYTES / 1048576)) MiB"
echo "each way through one connection (Python's ssl as the client). Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
bench_table server "new handshakes/s ECDSA P-256" "new handshakes/s RSA 2048" resumed/s \
    "echo AES-128-GCM (MB/s)" "echo ChaCha20 (MB/s)" "TLS memory per connection"
reference_row
bench_targets 7 unikernel_row
# Smaller records: a 4 KiB output buffer instead of 16 KiB (memory against throughput).
unikernel_row spt --out-buf=4181
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
