#!/usr/bin/env bats
# ipv6_apps.bats: every example that listens answers over IPv6 beside IPv4: the socket stack (unix) echoes socat over [::1]; static_website (curl -6, HTTP and HTTPS), dns-primary (dig -6, UDP and TCP), tls-echo (openssl s_client) and http-fetch (a bracketed IPv6 URL) on unix (direct), spt and hvt over a tap; make run's site over IPv6.
# Time budget: < 2 min (~70 s here on unix and spt under load, the hvt cases skipped without /dev/kvm; each
# case boots one unikernel and waits for its IPv6 address to pass duplicate address detection).

load helpers

ROOT=$PWD
MIRAGE=$ROOT/build/bin/mirage
SITE=$ROOT/examples/static_website/htdocs
CA=$ROOT/build/democert/ca.pem
DEMO=$ROOT/build/democert/tls/default

# stack-echo configured for unix as a user does (the socket stack, unix's default); tls-echo's
# certificate: the demo one static_website serves (mirage.test, signed by the demo CA).
setup_file() {
    local d=$BATS_FILE_TMPDIR/socket
    [ -x "$MIRAGE" ] && [ -f "$DEMO/cert.pem" ] || { echo "missing build outputs: run make" >&2; return 1; }
    mkdir -p "$d"
    cp "$ROOT"/examples/stack-echo/*.c "$d/"
    (cd "$d" && "$MIRAGE" configure -t unix >/dev/null && "$MIRAGE" build >/dev/null) || return 1
    CERTS_ARG="default:$(openssl x509 -in "$DEMO/cert.pem" -outform DER | base64 -w0)"
    CERTS_ARG+=":$(openssl pkcs8 -topk8 -nocrypt -in "$DEMO/key.pem" -outform DER | base64 -w0)"
    export CERTS_ARG
}

setup() {
    ipv6_net_setup ip6apps 10.233
}

teardown() {
    net_teardown
}

# boot TARGET NAME LINE [DEVICE-OPTS...] -- ARGS...: NAME on TARGET on tap0 at $NET.2 and
# $PFX::2 with DEVICE-OPTS (--block:...) for the tender; waits for LINE in its log and for its
# IPv6 address to be ready (DAD done).
boot() {
    local target=$1 name=$2 line=$3 devs=()
    shift 3
    while [ "$1" != -- ]; do
        devs+=("$1")
        shift
    done
    shift
    require_target "$target" "$name"
    case $target in
    unix) TENDER_OPTS=(--net:tap0=tap0 "${devs[@]}") ;;
    spt) TENDER_OPTS=(--net:service=tap0 "${devs[@]}") ;;
    hvt) TENDER_OPTS=(--mem=32 --net:service=tap0 "${devs[@]}") ;;
    esac
    uk_start "$NS" "$LOG" "$target" "$name" "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64" "$@"
    uk_wait_line "$LOG" "$line" 30
    uk_wait_line "$LOG" "IPv6 $PFX::2/64 ready" 20
}

# website TARGET: curl -6 gets the site over HTTP and, verifying the demo CA, over HTTPS.
website() {
    local out
    boot "$1" static_website "serving https://" "--block:htdocs=$ROOT/build/site/htdocs.tar" \
        "--block:tls=$ROOT/build/site/tls.tar" -- --tls=true
    grep -q "serving http://$NET.2:80/" "$LOG"
    in_ns curl -6 -sf --max-time 10 "http://[$PFX::2]/" | cmp - "$SITE/index.html"
    in_ns curl -6 -sf --max-time 10 "http://[$PFX::2]:80/hello.txt" | cmp - "$SITE/hello.txt"
    out=$(in_ns curl -6 -sv --cacert "$CA" --resolve "mirage.test:443:[$PFX::2]" --max-time 10 \
        -o "$BATS_TEST_TMPDIR/tls-index" https://mirage.test/ 2>&1)
    echo "$out" | grep -E 'Connected to|SSL certificate|HTTP/' || true
    grep -q "Connected to mirage.test ($PFX::2) port 443" <<<"$out"
    grep -q 'SSL certificate verify ok' <<<"$out"
    cmp "$BATS_TEST_TMPDIR/tls-index" "$SITE/index.html"
    # IPv4 still answers beside it.
    in_ns curl -4 -sf --max-time 10 "http://$NET.2/hello.txt" | cmp - "$SITE/hello.txt"
    # The access log names each peer in its own family.
    grep -q "$PFX::1 .*\"GET /hello.txt HTTP/1.1\" 200" "$LOG"
    grep -q "$NET.1 .*\"GET /hello.txt HTTP/1.1\" 200" "$LOG"
}

# dns TARGET: dig -6 asks the primary over UDP and over TCP; the answers are the zone's.
dns() {
    local img=$BATS_TEST_TMPDIR/dns-data.img tcp
    truncate -s 16M "$img"
    boot "$1" dns-primary "answering on UDP and TCP port 53" "--block:dns_data=$img" --
    for tcp in +notcp +tcp; do
        run in_ns dig -6 $tcp +norec +tries=1 +time=3 +short @"$PFX::2" web.example.com A
        echo "dig -6 $tcp A: $output"
        [ "$status" -eq 0 ] && [ "$(sort <<<"$output" | tr '\n' ' ')" = "192.0.2.80 192.0.2.81 " ]
        run in_ns dig -6 $tcp +norec +tries=1 +time=3 +short @"$PFX::2" web.example.com AAAA
        echo "dig -6 $tcp AAAA: $output"
        [ "$status" -eq 0 ] && [ "$output" = 2001:db8::80 ]
    done
    run in_ns dig -6 +norec +tries=1 +time=3 @"$PFX::2" nothere.example.com A
    [[ "$output" == *"status: NXDOMAIN"* ]]
    [[ "$output" == *"SERVER: $PFX::2#53($PFX::2) (UDP)"* ]]
    run in_ns dig -4 +norec +tries=1 +time=3 +short @"$NET.2" web.example.com AAAA
    [ "$output" = 2001:db8::80 ]
}

# tls TARGET: openssl s_client over IPv6 verifies the demo certificate and gets its line back.
tls() {
    boot "$1" tls-echo "tls echo on" -- "--certs=$CERTS_ARG"
    grep -q "tls echo on $NET.2:4433 " "$LOG"
    run bash -c "(echo hello over ipv6; sleep 0.5) | ip netns exec '$NS' timeout 10 \
        openssl s_client -connect '[$PFX::2]:4433' -CAfile '$CA' -servername mirage.test \
        -verify_return_error -tls1_2 2>&1"
    echo "$output" | grep -E 'CONNECTED|Verify return|hello' || true
    [ "$status" -eq 0 ]
    [[ "$output" == *"Verify return code: 0 (ok)"* ]]
    grep -qx "hello over ipv6" <<<"$output"
    grep -Eq "\[$PFX::1\]:[0-9]+" "$LOG"
}

@test "ipv6_apps: socket stack (unix): stack-echo answers socat over [::1] and 127.0.0.1, TCP and UDP" {
    local blob=$BATS_TEST_TMPDIR/blob
    uk_spawn "$NS" "$LOG" "$BATS_FILE_TMPDIR/socket/dist/stack-echo" -- --port=7 --connections=3
    uk_wait_line "$LOG" "echo on TCP and UDP 0.0.0.0:7 \[::\]:7" 10
    grep -q "socket stack on 0.0.0.0 and ::" "$LOG"
    run in_ns timeout 5 socat -T 3 - "UDP6:[::1]:7" <<<"udp over ipv6"
    [ "$output" = "udp over ipv6" ]
    run in_ns timeout 5 socat -T 3 - "UDP4:127.0.0.1:7" <<<"udp over ipv4"
    [ "$output" = "udp over ipv4" ]
    run in_ns timeout 10 socat -t 5 - "TCP6:[::1]:7" <<<"tcp over ipv6"
    [ "$output" = "tcp over ipv6" ]
    run in_ns timeout 10 socat -t 5 - "TCP4:127.0.0.1:7" <<<"tcp over ipv4"
    [ "$output" = "tcp over ipv4" ]
    head -c 1048576 /dev/urandom >"$blob"
    run bash -c "ip netns exec '$NS' timeout 30 socat -t 10 - 'TCP6:[::1]:7' <'$blob' | sha256sum"
    [ "$output" = "$(sha256sum <"$blob")" ]
    # The peers as the application saw them, each in its own family.
    grep -Eq "tcp \[::1\]:[0-9]+ connected" "$LOG"
    grep -Eq "tcp 127\.0\.0\.1:[0-9]+ connected" "$LOG"
    uk_wait_exit 10
    [ "$UK_STATUS" -eq 0 ]
}

@test "ipv6_apps: socket stack (unix): --ipv6-only opens no IPv4 socket, --ipv4-only no IPv6 one" {
    uk_spawn "$NS" "$LOG" "$BATS_FILE_TMPDIR/socket/dist/stack-echo" -- --port=7 --ipv6-only
    uk_wait_line "$LOG" "echo on TCP and UDP \[::\]:7," 10
    grep -q "socket stack on ::$" "$LOG"
    run in_ns timeout 10 socat -t 5 - "TCP6:[::1]:7" <<<"six"
    [ "$output" = six ]
    run in_ns timeout 5 socat -t 2 - "TCP4:127.0.0.1:7" <<<"four"
    [ "$status" -ne 0 ]
    uk_stop
    uk_spawn "$NS" "$LOG" "$BATS_FILE_TMPDIR/socket/dist/stack-echo" -- --port=7 --ipv4-only
    uk_wait_line "$LOG" "echo on TCP and UDP 0.0.0.0:7," 10
    run in_ns timeout 10 socat -t 5 - "TCP4:127.0.0.1:7" <<<"four"
    [ "$output" = four ]
    run in_ns timeout 5 socat -t 2 - "TCP6:[::1]:7" <<<"six"
    [ "$status" -ne 0 ]
    uk_stop
    # Both at once is no stack at all: a clear error, not a silent choice.
    run "$BATS_FILE_TMPDIR/socket/dist/stack-echo" -- --ipv4-only --ipv6-only
    [ "$status" -eq 1 ]
    [[ "$output" == *"--ipv4-only and --ipv6-only together leave no IP at all"* ]]
}

@test "ipv6_apps: static_website over IPv6, HTTP and HTTPS, curl -6 (unix, direct stack)" {
    website unix
}

@test "ipv6_apps: static_website over IPv6, HTTP and HTTPS, curl -6 (spt)" {
    website spt
}

@test "ipv6_apps: static_website over IPv6, HTTP and HTTPS, curl -6 (hvt)" {
    require_kvm
    website hvt
}

@test "ipv6_apps: dns-primary over IPv6, dig -6 over UDP and TCP (unix, direct stack)" {
    dns unix
}

@test "ipv6_apps: dns-primary over IPv6, dig -6 over UDP and TCP (spt)" {
    dns spt
}

@test "ipv6_apps: dns-primary over IPv6, dig -6 over UDP and TCP (hvt)" {
    require_kvm
    dns hvt
}

@test "ipv6_apps: tls-echo over IPv6, openssl s_client (unix, direct stack)" {
    tls unix
}

@test "ipv6_apps: tls-echo over IPv6, openssl s_client (spt)" {
    tls spt
}

@test "ipv6_apps: tls-echo over IPv6, openssl s_client (hvt)" {
    require_kvm
    tls hvt
}

# A web server on the namespace's side of the tap at [$PFX::1]:8080 serving $SITE, logging each
# request with the Host field it carried; up before it returns.
host_server6() {
    local py=$BATS_TEST_TMPDIR/server.py i
    cat >"$py" <<'PY'
import functools, http.server, socket, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print("host=%s from=%s %s" % (self.headers.get("Host"), self.client_address[0], fmt % args),
              flush=True)
class Server(http.server.HTTPServer):
    address_family = socket.AF_INET6
handler = functools.partial(Handler, directory=sys.argv[3])
Server((sys.argv[1], int(sys.argv[2])), handler).serve_forever()
PY
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/server.log" python3 "$py" "$PFX::1" 8080 "$SITE"
    for ((i = 0; i < 100; i++)); do
        in_ns curl -6 -sf -o /dev/null --max-time 2 "http://[$PFX::1]:8080/" && return 0
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/server.log" >&2
    return 1
}

# fetch6 TARGET: http-fetch gets a file by a bracketed IPv6 URL from host_server6.
fetch6() {
    local target=$1 got=$BATS_TEST_TMPDIR/got status=0
    require_target "$target" http-fetch
    host_server6
    case $target in
    unix) set -- "$UK/http-fetch" --net:tap0=tap0 -- ;;
    spt) set -- "$B/bin/mirage-spt" --net:service=tap0 "$UK/http-fetch.spt" ;;
    hvt) set -- "$B/bin/mirage-hvt" --net:service=tap0 "$UK/http-fetch.hvt" ;;
    esac
    in_ns timeout 30 "$@" "--ipv4=$NET.2/24" "--ipv6=$PFX::2/64" \
        "--uri=http://[$PFX::1]:8080/hello.txt" -l quiet >"$got" 2>&1 || status=$?
    cat "$got" "$BATS_TEST_TMPDIR/server.log"
    [ "$status" -eq 0 ]
    cmp "$got" "$SITE/hello.txt"
    # From its IPv6 address, with the Host field in brackets (RFC 9110 7.2).
    grep -q "host=\[$PFX::1\]:8080 from=$PFX::2 \"GET /hello.txt HTTP/1.1\" 200" \
        "$BATS_TEST_TMPDIR/server.log"
    # A URL that is not one: a clear error, exit status 1.
    status=0
    in_ns timeout 30 "$@" "--ipv4=$NET.2/24" "--uri=http://[$PFX::1/hello.txt" >"$got" 2>&1 ||
        status=$?
    cat "$got"
    [ "$status" -eq 1 ]
    grep -q "no ']' after the URL's IPv6 address" "$got"
}

@test "ipv6_apps: http-fetch gets http://[fd00:...::1]:8080/ from a host server (unix, direct stack)" {
    fetch6 unix
}

@test "ipv6_apps: http-fetch gets http://[fd00:...::1]:8080/ from a host server (spt)" {
    fetch6 spt
}

@test "ipv6_apps: http-fetch gets http://[fd00:...::1]:8080/ from a host server (hvt)" {
    require_kvm
    fetch6 hvt
}

@test "ipv6_apps: make run's website answers on [fd00::2] beside 10.0.0.2 (mk/run.sh in a namespace)" {
    # hvt where /dev/kvm is, spt here; its own tap (mirage0) inside this test's namespace.
    bg_spawn "$NS" "$LOG" "$ROOT/mk/run.sh"
    UK_PID=$BG_PID
    uk_wait_line "$LOG" "serving https://" 60
    grep -qF "curl -6 'http://[fd00::2]/'" "$LOG"
    grep -qF -- "--resolve 'mirage.test:443:[fd00::2]' https://mirage.test/" "$LOG"
    uk_wait_line "$LOG" "IPv6 fd00::2/64 ready" 20
    in_ns curl -6 -sf --max-time 10 "http://[fd00::2]/" | cmp - "$SITE/index.html"
    in_ns curl -6 -sf --max-time 10 --cacert "$CA" --resolve "mirage.test:443:[fd00::2]" \
        https://mirage.test/hello.txt | cmp - "$SITE/hello.txt"
    in_ns curl -4 -sf --max-time 10 "http://10.0.0.2/hello.txt" | cmp - "$SITE/hello.txt"
}
