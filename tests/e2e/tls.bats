#!/usr/bin/env bats
# tls.bats: examples/tls-echo (lib/tls) against openssl s_client, Python's ssl and openssl s_server on unix (direct stack), spt and hvt: every suite, refused versions and suites, SNI, ALPN, resumption, close_notify, truncation, 1 MiB, and the unikernel as a client.

load helpers

ROOT=$PWD
SUITES_RSA="ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305"
SUITES_EC="ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305"

# A local CA and certificates, made with openssl for this run; the server gets
# rsa.test (RSA) and the EC one as default (ec.test, *.wild.test) as boot keys.
setup_file() {
    export CERTS=$BATS_FILE_TMPDIR/certs
    "$ROOT/tests/tls/mkcerts.sh" "$CERTS" || return 1
    b64c() { openssl x509 -in "$CERTS/$1" -outform DER | base64 -w0; }
    b64k() { openssl pkcs8 -topk8 -nocrypt -in "$CERTS/$1" -outform DER | base64 -w0; }
    CERTS_ARG="rsa.test:$(b64c rsa.pem):$(b64k rsa.key),default:$(b64c ec.pem):$(b64k ec.key)"
    CA_B64=$(b64c ca.pem)
    OTHER_CA_B64=$(b64c other-ca.pem)
    RSA_B64=$(b64c rsa.pem)
    export CERTS_ARG CA_B64 OTHER_CA_B64 RSA_B64
}

setup() {
    net_setup tls 10.211
    netns_tap "$NS" tap0 "$NET.1/24"
}

teardown() {
    net_teardown
}

# tls_start TARGET ADDR ARGS...: boots tls-echo on TARGET in the namespace at ADDR.
tls_start() {
    local target=$1 addr=$2
    shift 2
    require_target "$target" tls-echo
    if [ "$target" = unix ]; then TENDER_OPTS=(--net:tap0=tap0); else TENDER_OPTS=(--net:service=tap0); fi
    uk_start "$NS" "$LOG" "$target" tls-echo "--ipv4=$addr/24" "$@"
}

# tls_server TARGET ARGS...: the echo server at .2 with the certificates, up and listening.
tls_server() {
    local target=$1
    shift
    tls_start "$target" "$NET.2" "--certs=$CERTS_ARG" "$@"
    uk_wait_line "$LOG" "tls echo on $NET.2:4433" 30
}

# s_client ARGS...: openssl s_client to the server, trusting the test CA; a line
# "hello" goes out and stdin stays open 0.5 s for the echo to come back.
s_client() {
    (echo hello; sleep 0.5) | in_ns timeout 10 openssl s_client -connect "$NET.2:4433" \
        -CAfile "$CERTS/ca.pem" "$@" 2>&1
}

peer() {
    in_ns timeout 30 python3 "$ROOT/tests/tls/peer.py" "$1" "$NET.2" 4433 "$2" "$CERTS/ca.pem" "${@:3}"
}

# Every AEAD suite, for the RSA and the EC certificate, verified against the CA
# with the host name checked; the echo comes back.
check_suites() {
    local s
    tls_server "$1"
    for s in $SUITES_RSA $SUITES_EC; do
        local host=ec.test
        case $s in ECDHE-RSA-*) host=rsa.test ;; esac
        run s_client -tls1_2 -cipher "$s" -servername "$host" -verify_return_error \
            -verify_hostname "$host"
        echo "$s: status $status"
        echo "$output" | grep -E "Cipher is|Verify return|^hello" || true
        [ "$status" -eq 0 ]
        grep -q "New, TLSv1.2, Cipher is $s" <<<"$output"
        grep -q "Verify return code: 0 (ok)" <<<"$output"
        grep -qx hello <<<"$output"
        grep -q "$s sni=$host alpn=-" "$LOG"
    done
}

# TLS 1.0 and 1.1, RSA key exchange, CBC suites (not enabled) and no suite in
# common are refused with an alert; the server says which.
check_refusals() {
    local v
    tls_server "$1"
    for v in -tls1 -tls1_1; do
        run s_client "$v" -cipher 'DEFAULT:@SECLEVEL=0'
        echo "$v: status $status"
        [ "$status" -ne 0 ]
        ! grep -q "Cipher is ECDHE" <<<"$output"
    done
    grep -q "server handshake: sent fatal alert protocol_version (70)" "$LOG"
    for v in AES128-GCM-SHA256 AES256-SHA256 ECDHE-RSA-AES128-SHA256 ECDHE-ECDSA-AES128-SHA; do
        run s_client -tls1_2 -cipher "$v" -servername rsa.test
        echo "$v: status $status"
        [ "$status" -ne 0 ]
        grep -q "alert handshake failure" <<<"$output"
    done
    grep -q "server handshake: sent fatal alert handshake_failure (40)" "$LOG"
    # The server still serves.
    run s_client -tls1_2 -servername ec.test
    grep -qx hello <<<"$output"
}

# SNI: each name gets its certificate; an unknown name and none get the default.
check_sni() {
    local pair host cn
    tls_server "$1"
    for pair in rsa.test:rsa.test ec.test:ec.test x.wild.test:ec.test other.test:ec.test; do
        host=${pair%%:*} cn=${pair#*:}
        run s_client -tls1_2 -servername "$host"
        echo "$host: status $status, $(grep subject= <<<"$output")"
        [ "$status" -eq 0 ]
        grep -q "subject=CN = $cn" <<<"$output"
    done
    run s_client -tls1_2 -noservername
    grep -q "subject=CN = ec.test" <<<"$output"
    grep -q "sni=rsa.test" "$LOG"
    grep -q "sni=x.wild.test" "$LOG"
}

# ALPN: http/1.1 is chosen when offered, nothing when not.
check_alpn() {
    tls_server "$1"
    run s_client -tls1_2 -servername ec.test -alpn h2,http/1.1
    grep -q "ALPN protocol: http/1.1" <<<"$output"
    grep -q "alpn=http/1.1" "$LOG"
    run s_client -tls1_2 -servername ec.test
    grep -q "No ALPN negotiated" <<<"$output"
}

# Resumption: a session saved by one s_client is resumed by the next.
check_resumption() {
    local sess=$BATS_TEST_TMPDIR/sess.pem
    tls_server "$1"
    run s_client -tls1_2 -servername rsa.test -sess_out "$sess"
    grep -q "New, TLSv1.2" <<<"$output"
    [ -s "$sess" ]
    run s_client -tls1_2 -servername rsa.test -sess_in "$sess"
    echo "$output" | grep -E "New|Reused"
    grep -q "Reused, TLSv1.2, Cipher is ECDHE-RSA" <<<"$output"
    grep -q "sni=rsa.test alpn=- resumed" "$LOG"
}

# close_notify both ways (Python's unwrap waits for ours), a stream cut without
# it is reported as truncated, and 1 MiB comes back byte for byte.
check_close() {
    tls_server "$1"
    run peer close ec.test
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "close_notify both ways" <<<"$output"
    uk_wait_line "$LOG" "closed after 5 bytes: close_notify" 5
    run peer truncate ec.test
    [ "$status" -eq 0 ]
    uk_wait_line "$LOG" "without close_notify \(truncated\)" 5
    grep -q "closed after 5 bytes: EPROTO" "$LOG"
    run peer bulk rsa.test 1048576
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(sed -n 's/^sent //p' <<<"$output")" = "$(sed -n 's/^recv //p' <<<"$output")" ]
    uk_wait_line "$LOG" "closed after 1048576 bytes: close_notify" 5
}

# The unikernel as the client of openssl s_server: validated by the CA and the
# host name, resumed the second time, close_notify both ways; a wrong name, an
# unknown CA are refused; a pinned certificate needs no CA.
check_client() {
    local target=$1 slog=$BATS_TEST_TMPDIR/s_server.log
    bg_spawn "$NS" "$slog" timeout 60 openssl s_server -accept "$NET.1:4443" -tls1_2 \
        -cert "$CERTS/rsa.pem" -key "$CERTS/rsa.key" -rev -alpn http/1.1
    uk_wait_line "$slog" "^ACCEPT" 10
    client() {
        tls_start "$target" "$NET.3" "--connect=$NET.1" --port=4443 "$@"
        uk_wait_exit 30 || { ps -ef | grep -v grep | grep -E "mirage|openssl" >&2; cat "$LOG" >&2; return 1; }
    }
    client --sni=rsa.test "--ca=$CA_B64" --repeat=2 --message=hello
    cat "$LOG"
    [ "$UK_STATUS" -eq 0 ]
    [ "$(grep -c "received 'olleh'" "$LOG")" -eq 2 ]
    grep -q "tls client: TLS1.2 ECDHE-RSA-AES128-GCM-SHA256 alpn=http/1.1$" "$LOG"
    grep -q "alpn=http/1.1 resumed" "$LOG"
    [ "$(grep -c "closed with close_notify" "$LOG")" -eq 2 ]
    client --sni=wrong.test "--ca=$CA_B64"
    cat "$LOG"
    [ "$UK_STATUS" -eq 1 ]
    grep -q "certificate does not name the host" "$LOG"
    client --sni=rsa.test "--ca=$OTHER_CA_B64"
    [ "$UK_STATUS" -eq 1 ]
    grep -q "certificate not trusted" "$LOG"
    client --sni=rsa.test "--pin=$RSA_B64"
    cat "$LOG"
    [ "$UK_STATUS" -eq 0 ]
    grep -q "received 'olleh'" "$LOG"
}

@test "tls unix: every AEAD suite with RSA and EC certificates" { check_suites unix; }
@test "tls spt: every AEAD suite with RSA and EC certificates" { check_suites spt; }
@test "tls hvt: every AEAD suite with RSA and EC certificates" { check_suites hvt; }
@test "tls unix: TLS 1.0/1.1, RSA key exchange and CBC refused" { check_refusals unix; }
@test "tls spt: TLS 1.0/1.1, RSA key exchange and CBC refused" { check_refusals spt; }
@test "tls hvt: TLS 1.0/1.1, RSA key exchange and CBC refused" { check_refusals hvt; }
@test "tls unix: SNI picks the certificate" { check_sni unix; }
@test "tls spt: SNI picks the certificate" { check_sni spt; }
@test "tls hvt: SNI picks the certificate" { check_sni hvt; }
@test "tls unix: ALPN http/1.1" { check_alpn unix; }
@test "tls spt: ALPN http/1.1" { check_alpn spt; }
@test "tls hvt: ALPN http/1.1" { check_alpn hvt; }
@test "tls unix: resumption with -sess_out/-sess_in" { check_resumption unix; }
@test "tls spt: resumption with -sess_out/-sess_in" { check_resumption spt; }
@test "tls hvt: resumption with -sess_out/-sess_in" { check_resumption hvt; }
@test "tls unix: close_notify both ways, truncation, 1 MiB" { check_close unix; }
@test "tls spt: close_notify both ways, truncation, 1 MiB" { check_close spt; }
@test "tls hvt: close_notify both ways, truncation, 1 MiB" { check_close hvt; }
@test "tls unix: the unikernel as client of openssl s_server" { check_client unix; }
@test "tls spt: the unikernel as client of openssl s_server" { check_client spt; }
@test "tls hvt: the unikernel as client of openssl s_server" { check_client hvt; }
