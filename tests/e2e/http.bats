#!/usr/bin/env bats
# http.bats: examples/static_website (its site and certificates as GNU tar images on block devices, or crunched) and http-fetch against curl, wget, nc, openssl, nginx and Chromium over a tap (unix direct stack, spt, hvt); certificate reload without a restart.

load helpers

ROOT=$PWD
SITE=$ROOT/examples/static_website/htdocs
CA=$ROOT/build/democert/ca.pem

setup() {
    net_setup http 10.211
    netns_tap "$NS" tap0 "$NET.1/24"
    ADDR=$NET.2
}

teardown() {
    net_teardown
}

# boot TARGET ARGS...: the static website on TARGET at $ADDR, HTTP on 80 and HTTPS on 443, its
# site and certificates the GNU tar images $HTDOCS_TAR and $TLS_TAR (default: the build's, of
# examples/static_website/htdocs and build/democert/tls) as its block devices htdocs and tls.
boot() {
    local target=$1 disks
    shift
    require_target "$target" static_website
    disks=("--block:htdocs=${HTDOCS_TAR:-$ROOT/build/site/htdocs.tar}"
        "--block:tls=${TLS_TAR:-$ROOT/build/site/tls.tar}")
    case $target in
    unix) TARGET_ARGV=("$UK/static_website" --net:tap0=tap0 "${disks[@]}" --) ;;
    spt) TARGET_ARGV=("$B/bin/mirage-spt" --net:service=tap0 "${disks[@]}" "$UK/static_website.spt") ;;
    hvt) TARGET_ARGV=("$B/bin/mirage-hvt" --mem=32 --net:service=tap0 "${disks[@]}" "$UK/static_website.hvt") ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}" "--ipv4=$ADDR/24" --tls=true "$@"
    uk_wait_line "$LOG" "serving https://" 30
}

# status_of CURL-ARGS...: the status code curl gets.
status_of() {
    in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

# raw REQUEST: sends REQUEST (printf format) with nc, half-closes, prints the answer (10 s at most).
raw() {
    printf "$1" | in_ns timeout 10 nc -N -w 5 "$ADDR" 80
}

# The checks shared by every target: methods, keep-alive, conditionals, ranges, errors.
site_checks() {
    local url=http://$ADDR out etag lm
    # GET: the file byte for byte, with its type, length and validators.
    out=$(in_ns curl -s -D - -o "$BATS_TEST_TMPDIR/index" --max-time 10 "$url/")
    echo "$out"
    cmp "$BATS_TEST_TMPDIR/index" "$SITE/index.html"
    grep -qi '^content-type: text/html' <<<"$out"
    grep -qi "^content-length: $(stat -c %s "$SITE/index.html")" <<<"$out"
    grep -qi '^date: ' <<<"$out"
    etag=$(sed -n 's/^[Ee][Tt]ag: \(.*\)\r$/\1/p' <<<"$out")
    lm=$(sed -n 's/^[Ll]ast-[Mm]odified: \(.*\)\r$/\1/p' <<<"$out")
    [ -n "$etag" ] && [ -n "$lm" ]
    # Keep-alive: three requests, one connection.
    out=$(in_ns curl -sv --max-time 10 "$url/" "$url/style.css" "$url/hello.txt" 2>&1 >/dev/null)
    [ "$(grep -c 'Re-using existing connection' <<<"$out")" -eq 2 ]
    # HEAD: the headers, no body.
    out=$(in_ns curl -sI --max-time 10 "$url/style.css")
    grep -qi "^content-length: $(stat -c %s "$SITE/style.css")" <<<"$out"
    grep -qi '^content-type: text/css' <<<"$out"
    # Conditionals: 304 by ETag and by date; a stale tag gets the file.
    [ "$(status_of -H "If-None-Match: $etag" "$url/")" = 304 ]
    [ "$(status_of -H 'If-None-Match: "other", '"$etag" "$url/")" = 304 ]
    [ "$(status_of -H 'If-None-Match: "other"' "$url/")" = 200 ]
    [ "$(status_of -H "If-Modified-Since: $lm" "$url/")" = 304 ]
    [ "$(status_of -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "$url/")" = 200 ]
    # Ranges: one range is 206 with the bytes; an unsatisfiable one 416.
    out=$(in_ns curl -s -D "$BATS_TEST_TMPDIR/h" -r 10-19 --max-time 10 "$url/index.html")
    [ "$out" = "$(head -c 20 "$SITE/index.html" | tail -c 10)" ]
    grep -q '^HTTP/1.1 206' "$BATS_TEST_TMPDIR/h"
    grep -qi "^content-range: bytes 10-19/$(stat -c %s "$SITE/index.html")" "$BATS_TEST_TMPDIR/h"
    out=$(in_ns curl -s -r -5 --max-time 10 "$url/hello.txt")
    [ "$out" = "$(tail -c 5 "$SITE/hello.txt")" ]
    [ "$(status_of -r 99999- "$url/index.html")" = 416 ]
    # Directories: /docs redirects to /docs/, which serves its index.html.
    out=$(in_ns curl -s -D - -o /dev/null --max-time 10 "$url/docs")
    grep -q '^HTTP/1.1 301' <<<"$out"
    grep -qi '^location: /docs/' <<<"$out"
    in_ns curl -sL --max-time 10 "$url/docs" | cmp - "$SITE/docs/index.html"
    # Missing keys, bad paths and other methods.
    [ "$(status_of "$url/nope")" = 404 ]
    [ "$(status_of "$url/a/../index.html" --path-as-is)" = 400 ]
    out=$(in_ns curl -s -D - -o /dev/null -X DELETE --max-time 10 "$url/")
    grep -q '^HTTP/1.1 405' <<<"$out"
    grep -qi '^allow: GET, HEAD, OPTIONS' <<<"$out"
    [ "$(status_of -X OPTIONS "$url/")" = 204 ]
    # HTTP/1.0 gets its answer and the connection closes.
    out=$(raw 'GET /hello.txt HTTP/1.0\r\n\r\n')
    grep -q '^HTTP/1.1 200' <<<"$out"
    grep -q 'Hello from a unikernel.' <<<"$out"
    # The access log, one Common Log Format line per request.
    grep -Eq "\[http\] $NET\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] \"GET /hello.txt HTTP/1.0\" 200 [0-9]+" "$LOG"
}

# Pipelining: three requests in one write, three answers in order on one connection.
pipeline_checks() {
    local out
    out=$(raw 'GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\nHEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    echo "$out"
    [ "$(grep -c '^HTTP/1.1 ' <<<"$out")" -eq 3 ]
    [ "$(grep '^HTTP/1.1 ' <<<"$out" | tr -d '\r' | cut -d' ' -f2 | tr '\n' ' ')" = "200 200 404 " ]
    grep -q 'Hello from a unikernel.' <<<"$out"
}

# malformed REQUEST STATUS: the raw request gets STATUS and the connection closes.
malformed() {
    local out
    out=$(raw "$1")
    echo "request: ${1:0:100} -> $(head -1 <<<"$out")"
    grep -q "^HTTP/1.1 $2 " <<<"$out"
    grep -qi '^connection: close' <<<"$out"
}

# Malformed and smuggling requests get the RFC's answer while a kept-alive client is served.
smuggling_checks() {
    local fifo=$BATS_TEST_TMPDIR/keep out
    # A client holding a half-sent request the whole time.
    mkfifo "$fifo"
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/keep.out" bash -c "{ printf 'GET /hello.txt HTTP/1.1\r\nHost: a\r\n'; sleep 8; printf '\r\n'; } | nc -q 2 -w 10 $ADDR 80"
    malformed 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello' 400
    malformed 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 400
    malformed 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' 501
    malformed 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n' 400
    malformed 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n' 400
    malformed 'GET / HTTP/1.1\r\nHost : a\r\n\r\n' 400
    malformed 'GET / HTTP/1.1\nHost: a\n\n' 400
    malformed 'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n' 400
    malformed 'GET / HTTP/1.1\r\n\r\n' 400
    malformed 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' 400
    malformed 'GET / HTTP/2.0\r\nHost: a\r\n\r\n' 505
    malformed 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n' 501
    malformed 'GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n' 417
    malformed "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: a\r\n\r\n" 414
    malformed "GET / HTTP/1.1\r\nHost: a\r\n$(for i in $(seq 70); do printf 'X-%d: y\\r\\n' "$i"; done)\r\n" 431
    malformed 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n' 413
    # A chunked body with a bad chunk size is refused, and what follows it is never served.
    out=$(raw 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n')
    echo "$out"
    [ "$(grep -c '^HTTP/1.1 ' <<<"$out")" -eq 1 ]
    # Meanwhile others are served, and the held request completes when its end arrives.
    [ "$(status_of "http://$ADDR/hello.txt")" = 200 ]
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'Hello from a unikernel.' "$BATS_TEST_TMPDIR/keep.out" && break
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/keep.out"
    grep -q 'Hello from a unikernel.' "$BATS_TEST_TMPDIR/keep.out"
}

# wget --mirror of the whole site equals the source directory byte for byte.
mirror_checks() {
    local dir=$BATS_TEST_TMPDIR/mirror
    mkdir -p "$dir"
    (cd "$dir" && in_ns timeout 60 wget -q --mirror --no-host-directories -e robots=off \
        "http://$ADDR/" "http://$ADDR/404.html") || true
    # wget saves /docs/ as docs/index.html: the same tree.
    diff -r "$SITE" "$dir"
}

# HTTPS: the demo CA's certificate verifies, ALPN says http/1.1, the file arrives whole.
https_checks() {
    local out
    out=$(in_ns curl -sv --cacert "$CA" --resolve "mirage.test:443:$ADDR" --max-time 10 \
        -o "$BATS_TEST_TMPDIR/tls-index" https://mirage.test/ 2>&1)
    echo "$out" | grep -E 'ALPN|SSL connection|HTTP/' || true
    cmp "$BATS_TEST_TMPDIR/tls-index" "$SITE/index.html"
    grep -q 'ALPN: server accepted http/1.1' <<<"$out"
    grep -q 'SSL certificate verify ok' <<<"$out"
    # Keep-alive over TLS.
    out=$(in_ns curl -sv --cacert "$CA" --resolve "mirage.test:443:$ADDR" --max-time 10 \
        https://mirage.test/ https://mirage.test/hello.txt 2>&1 >/dev/null)
    grep -q 'Re-using existing connection' <<<"$out"
    # Without the CA it is refused by curl.
    [ "$(status_of --resolve "mirage.test:443:$ADDR" https://mirage.test/)" = 000 ]
}

# s_client ARGS...: openssl s_client to the site's HTTPS port trusting the demo CA, asking
# for /hello.txt; the session and the certificate are printed.
s_client() {
    printf 'GET /hello.txt HTTP/1.1\r\nHost: mirage.test\r\nConnection: close\r\n\r\n' |
        in_ns timeout 10 openssl s_client -connect "$ADDR:443" -CAfile "$CA" -verify_return_error \
            -ign_eof "$@" 2>&1
}

# SNI: two host names, two certificates (the demo's ECDSA default and RSA for
# rsa.mirage.test), each verified with its name; resumption: a session saved by one
# s_client is resumed by the next and the page still comes.
sni_resumption_checks() {
    local sess=$BATS_TEST_TMPDIR/sess.pem out
    out=$(s_client -servername rsa.mirage.test -verify_hostname rsa.mirage.test)
    echo "$out" | grep -E 'subject=|Cipher is|Verify return' || true
    grep -q 'subject=CN = rsa.mirage.test' <<<"$out"
    grep -q 'Cipher is ECDHE-RSA-' <<<"$out"
    grep -q 'Verify return code: 0 (ok)' <<<"$out"
    grep -q 'Hello from a unikernel.' <<<"$out"
    out=$(s_client -servername mirage.test -verify_hostname mirage.test)
    grep -q 'subject=CN = mirage.test' <<<"$out"
    grep -q 'Cipher is ECDHE-ECDSA-' <<<"$out"
    grep -q 'Verify return code: 0 (ok)' <<<"$out"
    # An unknown name and none get the default certificate.
    grep -q 'subject=CN = mirage.test' <<<"$(s_client -servername other.test)"
    grep -q 'subject=CN = mirage.test' <<<"$(s_client -noservername)"
    # curl checks each name against its certificate.
    for host in mirage.test rsa.mirage.test; do
        in_ns curl -s --cacert "$CA" --resolve "$host:443:$ADDR" --max-time 10 \
            "https://$host/hello.txt" | cmp - "$SITE/hello.txt"
    done
    # Resumption, for each certificate.
    for host in mirage.test rsa.mirage.test; do
        rm -f "$sess"
        out=$(s_client -servername "$host" -sess_out "$sess")
        grep -q 'New, TLSv1.2' <<<"$out"
        [ -s "$sess" ]
        out=$(s_client -servername "$host" -sess_in "$sess")
        echo "$host: $(grep -E '^(New|Reused)' <<<"$out")"
        grep -q 'Reused, TLSv1.2' <<<"$out"
        grep -q 'Hello from a unikernel.' <<<"$out"
    done
}

@test "unix: GET, HEAD, keep-alive, conditionals, ranges, redirects, errors, access log" {
    boot unix
    site_checks
}

@test "spt: GET, HEAD, keep-alive, conditionals, ranges, redirects, errors, access log" {
    boot spt
    site_checks
}

@test "hvt: GET, HEAD, keep-alive, conditionals, ranges, redirects, errors, access log" {
    boot hvt
    site_checks
}

@test "unix: pipelining; malformed and smuggling requests answered while others are served" {
    boot unix
    pipeline_checks
    smuggling_checks
}

@test "spt: pipelining; malformed and smuggling requests answered while others are served" {
    boot spt
    pipeline_checks
    smuggling_checks
}

@test "hvt: pipelining; malformed and smuggling requests answered while others are served" {
    boot hvt
    pipeline_checks
    smuggling_checks
}

@test "unix: wget --mirror equals the site; HTTPS with --cacert and ALPN" {
    boot unix
    mirror_checks
    https_checks
}

@test "spt: wget --mirror equals the site; HTTPS with --cacert and ALPN" {
    boot spt
    mirror_checks
    https_checks
}

@test "hvt: wget --mirror equals the site; HTTPS with --cacert and ALPN" {
    boot hvt
    mirror_checks
    https_checks
}

@test "unix: HTTPS: two host names, two certificates by SNI; session resumption" {
    boot unix
    sni_resumption_checks
}

@test "spt: HTTPS: two host names, two certificates by SNI; session resumption" {
    boot spt
    sni_resumption_checks
}

@test "hvt: HTTPS: two host names, two certificates by SNI; session resumption" {
    boot hvt
    sni_resumption_checks
}

# slow_clients N: N connections each send half a request and stall; meanwhile a fresh
# client is answered quickly. Bounded: the holders give up after 20 s.
slow_clients() {
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/slow.out" python3 -c '
import socket, sys, time
n, addr = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(n):
    s = socket.create_connection((addr, 80), timeout=5)
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
    socks.append(s)
print("holding", len(socks), flush=True)
time.sleep(20)
' "$1" "$ADDR"
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q holding "$BATS_TEST_TMPDIR/slow.out" && break
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/slow.out"
    grep -q "holding $1" "$BATS_TEST_TMPDIR/slow.out"
    local t0 t1
    t0=$(date +%s%N)
    [ "$(status_of "http://$ADDR/hello.txt")" = 200 ]
    t1=$(date +%s%N)
    echo "a fast client with $1 slow ones connected: $(((t1 - t0) / 1000000)) ms"
    [ $(((t1 - t0) / 1000000)) -lt 2000 ]
}

@test "spt: 1,000 concurrent slow clients do not stop a fast one" {
    boot spt
    slow_clients 1000
}

@test "hvt: 1,000 concurrent slow clients do not stop a fast one" {
    boot hvt
    slow_clients 1000
}

@test "unix: 1,000 concurrent slow clients do not stop a fast one" {
    boot unix
    slow_clients 1000
}

@test "hvt: headless Chromium shows the demo site over HTTPS" {
    command -v chromium >/dev/null || { echo "chromium missing: make deps" >&2; return 1; }
    boot hvt
    local shot=$BATS_TEST_TMPDIR/site.png spki
    # Chromium is told to trust exactly the demo certificate's key, and where mirage.test is.
    spki=$(openssl x509 -in "$ROOT/build/democert/tls/default/cert.pem" -pubkey -noout |
        openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
    in_ns timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d)" --host-resolver-rules="MAP mirage.test $ADDR" \
        --ignore-certificate-errors-spki-list="$spki" --window-size=800,600 \
        --screenshot="$shot" https://mirage.test/ 2>"$BATS_TEST_TMPDIR/chromium.log" || true
    cat "$LOG"
    [ -s "$shot" ]
    # The page and what it links came over TLS: the access log has them.
    grep -q '"GET / HTTP/1.1" 200' "$LOG"
    grep -q '"GET /style.css HTTP/1.1" 200' "$LOG"
    grep -q '"GET /logo.svg HTTP/1.1" 200' "$LOG"
    # Not a blank page: the PNG holds more than one colour (its size says so).
    [ "$(stat -c %s "$shot")" -gt 5000 ]
    cp "$shot" "$ROOT/build/static_website-screenshot.png"
}

@test "http-fetch: a file, a redirect and a 404 from a host server, on spt and hvt" {
    require_target spt http-fetch
    mkdir -p "$BATS_TEST_TMPDIR/www/dir"
    head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/www/blob"
    echo inner >"$BATS_TEST_TMPDIR/www/dir/index.html"
    bg_spawn "$NS" "$BATS_TEST_TMPDIR/pyhttp.log" python3 -m http.server 8000 --bind "$NET.1" \
        --directory "$BATS_TEST_TMPDIR/www"
    local i
    for ((i = 0; i < 50; i++)); do
        in_ns curl -s -o /dev/null "http://$NET.1:8000/" && break
        sleep 0.1
    done
    # The body goes to the console as it comes: byte for byte, with the logs silenced.
    in_ns timeout 20 "$B/bin/mirage-spt" --net:service=tap0 "$UK/http-fetch.spt" \
        "--ipv4=$ADDR/24" "--uri=http://$NET.1:8000/blob" -l quiet >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/www/blob"
    run in_ns timeout 20 "$B/bin/mirage-spt" --net:service=tap0 "$UK/http-fetch.spt" \
        "--ipv4=$ADDR/24" "--uri=http://$NET.1:8000/dir"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^inner$' <<<"$output"
    grep -q 'http://.*:8000/dir/: 200 OK, 1 redirects' <<<"$output"
    require_kvm
    run in_ns timeout 20 "$B/bin/mirage-hvt" --net:service=tap0 "$UK/http-fetch.hvt" \
        "--ipv4=$ADDR/24" "--uri=http://$NET.1:8000/missing" --headers=true
    echo "$output"
    [ "$status" -eq 2 ]
    grep -q '^HTTP/1.0 404' <<<"$output"
}

# nginx_https: Debian's nginx in the namespace at $NET.1, HTTPS on 8443 with the demo
# certificates (mirage.test by default, rsa.mirage.test by SNI; the demo CA signed both),
# serving $BATS_TEST_TMPDIR/www: blob (300 KB of random bytes) and dir/; /http redirects
# to plain HTTP on 8080, which redirects back to https://.../blob.
nginx_https() {
    local d=$BATS_TEST_TMPDIR t=$ROOT/build/democert/tls i
    command -v nginx >/dev/null || { echo "nginx missing: make deps" >&2; return 1; }
    mkdir -p "$d/www/dir" "$d/nginx"
    head -c 300000 /dev/urandom >"$d/www/blob"
    echo inner >"$d/www/dir/index.html"
    cat >"$d/nginx.conf" <<NGINX
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/nginx.err info;
events { worker_connections 64; }
http {
    access_log $d/nginx.access;
    client_body_temp_path $d/nginx/body;
    proxy_temp_path $d/nginx/proxy;
    fastcgi_temp_path $d/nginx/fastcgi;
    uwsgi_temp_path $d/nginx/uwsgi;
    scgi_temp_path $d/nginx/scgi;
    ssl_protocols TLSv1.2;
    server {
        listen $NET.1:8443 ssl default_server;
        server_name mirage.test;
        ssl_certificate $t/default/cert.pem;
        ssl_certificate_key $t/default/key.pem;
        root $d/www;
        location = /http { return 302 http://$NET.1:8080/back; }
    }
    server {
        listen $NET.1:8443 ssl;
        server_name rsa.mirage.test;
        ssl_certificate $t/rsa.mirage.test/cert.pem;
        ssl_certificate_key $t/rsa.mirage.test/key.pem;
        root $d/www;
    }
    server {
        listen $NET.1:8080;
        location = /back { return 301 https://$NET.1:8443/blob; }
    }
}
NGINX
    bg_spawn "$NS" "$d/nginx.out" nginx -c "$d/nginx.conf"
    for ((i = 0; i < 50; i++)); do
        in_ns curl -s -o /dev/null --cacert "$CA" --resolve "mirage.test:8443:$NET.1" \
            https://mirage.test:8443/blob && return 0
        sleep 0.1
    done
    cat "$d/nginx.out" "$d/nginx.err" >&2
    return 1
}

# fetch TARGET ARGS...: http-fetch on TARGET at $ADDR with ARGS (30 s at most): the console
# (body and log lines) in $output and $BATS_TEST_TMPDIR/got, the status in $status.
fetch() {
    local target=$1
    shift
    case $target in
    unix) set -- "$UK/http-fetch" --net:tap0=tap0 -- "$@" ;;
    spt) set -- "$B/bin/mirage-spt" --net:service=tap0 "$UK/http-fetch.spt" "$@" ;;
    hvt) set -- "$B/bin/mirage-hvt" --net:service=tap0 "$UK/http-fetch.hvt" "$@" ;;
    esac
    in_ns timeout 30 "$@" "--ipv4=$ADDR/24" >"$BATS_TEST_TMPDIR/got" 2>&1 && status=0 || status=$?
    output=$(tr -d '\000' <"$BATS_TEST_TMPDIR/got")
}

# https_fetch_checks TARGET: http-fetch over HTTPS against nginx, checking nginx's certificate
# against the demo CA from its ca store: a file byte for byte, each name getting its
# certificate by SNI, keep-alive, redirects from HTTPS to HTTP and back; a name the
# certificate does not carry, and an address alone, are refused.
https_fetch_checks() {
    local target=$1 got=$BATS_TEST_TMPDIR/got
    require_target "$target" http-fetch
    nginx_https
    # The body alone on the console with the logs silenced: byte for byte.
    fetch "$target" "--uri=https://$NET.1:8443/blob" --servername=mirage.test -l quiet
    [ "$status" -eq 0 ]
    cmp "$got" "$BATS_TEST_TMPDIR/www/blob"
    # Two requests by the RSA certificate's name over one kept-alive TLS connection.
    fetch "$target" "--uri=https://$NET.1:8443/dir/" --servername=rsa.mirage.test --repeat=2
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^inner$' <<<"$output")" -eq 2 ]
    [ "$(grep -c 'https://.*:8443/dir/: 200 OK, 0 redirects' <<<"$output")" -eq 2 ]
    [ "$(grep -c '"GET /dir/ HTTP/1.1" 200' "$BATS_TEST_TMPDIR/nginx.access")" -eq 2 ]
    # https -> http -> https.
    fetch "$target" "--uri=https://$NET.1:8443/http" --servername=mirage.test -l quiet
    [ "$status" -eq 0 ]
    cmp "$got" "$BATS_TEST_TMPDIR/www/blob"
    fetch "$target" "--uri=https://$NET.1:8443/http" --servername=mirage.test --method=HEAD
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q 'https://.*:8443/blob: 200 OK, 2 redirects' <<<"$output"
    # Refused: a name the certificate does not carry, and the address alone.
    fetch "$target" "--uri=https://$NET.1:8443/blob" --servername=wrong.test
    echo "$output"
    [ "$status" -eq 1 ]
    grep -q 'certificate does not name the host' <<<"$output"
    fetch "$target" "--uri=https://$NET.1:8443/blob"
    echo "$output"
    [ "$status" -eq 1 ]
    grep -q 'certificate does not name the host' <<<"$output"
}

@test "unix: http-fetch over HTTPS against nginx, checked against the demo CA" {
    https_fetch_checks unix
}

@test "spt: http-fetch over HTTPS against nginx, checked against the demo CA" {
    https_fetch_checks spt
}

@test "hvt: http-fetch over HTTPS against nginx, checked against the demo CA" {
    https_fetch_checks hvt
}

# serial_of ARGS...: the serial number of the certificate the site's HTTPS port serves
# (openssl s_client ARGS), as openssl x509 prints it.
serial_of() {
    in_ns timeout 10 openssl s_client -connect "$ADDR:443" -CAfile "$CA" -verify_return_error \
        "$@" </dev/null 2>/dev/null | openssl x509 -noout -serial
}

# reload_checks TARGET: the operator replaces the certificate in the tls image of a running
# site (a new key and certificate signed by the demo CA, the image rewritten in place) and
# asks for a reload (unix: SIGHUP; spt and hvt: --reload-check=1 sees the bytes change):
# openssl s_client then gets the new certificate, and a TLS connection opened before is
# still served afterwards. A damaged image leaves the old certificate in place.
reload_checks() {
    local target=$1 d=$BATS_TEST_TMPDIR old new i
    mkdir -p "$d/tls"
    cp -r "$ROOT/build/democert/tls/." "$d/tls/"
    tar -C "$d/tls" --format=gnu -cf "$d/tls.tar" .
    TLS_TAR=$d/tls.tar boot "$target" --reload-check=1
    old=$(serial_of -servername mirage.test)
    echo "before: $old"
    [ -n "$old" ]
    # A kept-alive HTTPS connection, open across the reload: one request now, one after.
    mkfifo "$d/go"
    bg_spawn "$NS" "$d/keep.out" python3 -c '
import socket, ssl, sys
addr, ca, go = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((addr, 443), timeout=20), server_hostname="mirage.test")
def get():
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: mirage.test\r\n\r\n")
    data = b""
    while b"Hello from a unikernel." not in data:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("closed")
        data += chunk
    return data.split(b"\r\n")[0].decode()
print("first", get(), s.getpeercert()["serialNumber"], flush=True)
open(go).read()
print("second", get(), flush=True)
' "$ADDR" "$CA" "$d/go"
    for ((i = 0; i < 100; i++)); do
        grep -q '^first' "$d/keep.out" && break
        sleep 0.1
    done
    cat "$d/keep.out"
    grep -q '^first HTTP/1.1 200' "$d/keep.out"
    # The new certificate: a new key, signed by the demo CA, for the same names.
    openssl ecparam -name prime256v1 -genkey -noout -out "$d/tls/default/key.pem" 2>/dev/null
    openssl req -new -key "$d/tls/default/key.pem" -subj /CN=mirage.test -out "$d/csr" 2>/dev/null
    printf 'subjectAltName=DNS:mirage.test\n' >"$d/ext"
    openssl x509 -req -in "$d/csr" -CA "$ROOT/build/democert/ca.pem" \
        -CAkey "$ROOT/build/democert/ca.key" -set_serial 0x5eed -days 2 -sha256 \
        -extfile "$d/ext" -out "$d/tls/default/cert.pem" 2>/dev/null
    tar -C "$d/tls" --format=gnu -cf "$d/new.tar" .
    [ "$(stat -c %s "$d/new.tar")" = "$(stat -c %s "$d/tls.tar")" ]
    cat "$d/new.tar" >"$d/tls.tar" # in place: the device stays the same file
    if [ "$target" = unix ]; then kill -HUP "$UK_PID"; fi
    uk_wait_line "$LOG" "certificates reloaded from block device 'tls'" 10
    if [ "$target" = unix ]; then
        grep -q "certificates reloaded from block device 'tls' (SIGHUP)" "$LOG"
    else
        grep -q "certificates reloaded from block device 'tls' (its bytes changed)" "$LOG"
    fi
    new=$(serial_of -servername mirage.test)
    echo "after: $new"
    [ "$new" = serial=5EED ]
    # The RSA certificate for the other name came back with the reload.
    in_ns curl -s --cacert "$CA" --resolve "rsa.mirage.test:443:$ADDR" --max-time 10 \
        https://rsa.mirage.test/hello.txt | cmp - "$SITE/hello.txt"
    # The connection from before the reload is still served.
    echo go >"$d/go"
    for ((i = 0; i < 100; i++)); do
        grep -q '^second' "$d/keep.out" && break
        sleep 0.1
    done
    cat "$d/keep.out"
    grep -q '^second HTTP/1.1 200' "$d/keep.out"
    # A damaged image is refused and the new certificate stays.
    printf 'X' | dd of="$d/tls.tar" bs=1 seek=100 conv=notrunc 2>/dev/null
    if [ "$target" = unix ]; then kill -HUP "$UK_PID"; fi
    uk_wait_line "$LOG" "certificates not reloaded" 10
    grep -q "block device 'tls': tar header at byte 0: bad checksum" "$LOG"
    [ "$(serial_of -servername mirage.test)" = serial=5EED ]
}

@test "unix: the certificate replaced in the tls image is served after SIGHUP; open connections stay" {
    reload_checks unix
}

@test "spt: the certificate replaced in the tls image is served within --reload-check; open connections stay" {
    reload_checks spt
}

@test "hvt: the certificate replaced in the tls image is served within --reload-check; open connections stay" {
    reload_checks hvt
}

# A tree made for this test (nested directories, spaces, a 100-character name, empty and
# 1 MiB files, binary bytes) as a GNU tar image on the htdocs device: every file comes back
# byte for byte with curl, with its type and length, on TARGET.
tar_tree_checks() {
    local target=$1 t=$BATS_TEST_TMPDIR/tree f n=0
    mkdir -p "$t/a/b/c" "$t/with space" "$t/$(printf 'd%.0s' {1..60})"
    head -c 1048576 /dev/urandom >"$t/big.bin"
    head -c 70000 /dev/urandom >"$t/a/b/c/deep.png"
    : >"$t/empty.txt"
    echo '<h1>tree</h1>' >"$t/index.html"
    echo 'body{}' >"$t/with space/s.css"
    echo long >"$t/$(printf 'd%.0s' {1..60})/$(printf 'f%.0s' {1..100}).txt"
    tar -C "$t" -cf "$BATS_TEST_TMPDIR/tree.tar" .
    HTDOCS_TAR=$BATS_TEST_TMPDIR/tree.tar boot "$target"
    while read -r f; do
        f=${f#./}
        local url="http://$ADDR/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$f")"
        in_ns curl -s --max-time 20 -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/got" "$url"
        cmp "$BATS_TEST_TMPDIR/got" "$t/$f" || { echo "$f differs" >&2; return 1; }
        grep -qi "^content-length: $(stat -c %s "$t/$f")" "$BATS_TEST_TMPDIR/h"
        n=$((n + 1))
    done < <(cd "$t" && find . -type f)
    echo "$n files compared"
    [ "$n" -eq 6 ]
    grep -qi '^content-type: image/png' <(in_ns curl -sI "http://$ADDR/a/b/c/deep.png")
    [ "$(status_of "http://$ADDR/a/b")" = 301 ]
    [ "$(status_of "http://$ADDR/a/b/")" = 404 ]
    in_ns curl -s --max-time 10 "http://$ADDR/" | cmp - "$t/index.html"
}

@test "unix: a tree made by GNU tar on the htdocs device, every file compared with curl" {
    tar_tree_checks unix
}

@test "spt: a tree made by GNU tar on the htdocs device, every file compared with curl" {
    tar_tree_checks spt
}

@test "hvt: a tree made by GNU tar on the htdocs device, every file compared with curl" {
    tar_tree_checks hvt
}

@test "unix: configured with --store=crunch, the site and certificates are in the image" {
    local d=$BATS_TEST_TMPDIR/crunch f
    mkdir -p "$d"
    for f in "$ROOT"/examples/static_website/*; do ln -s "$f" "$d/"; done
    ln -s "$ROOT/build/democert/tls" "$d/tls"
    (cd "$d" && "$ROOT/$B/bin/mirage" configure -t unix --net=direct --store=crunch >/dev/null &&
        "$ROOT/$B/bin/mirage" build >/dev/null)
    # No block device: the image holds everything.
    uk_spawn "$NS" "$LOG" "$d/dist/static_website" --net:tap0=tap0 -- "--ipv4=$ADDR/24" --tls=true
    uk_wait_line "$LOG" "serving https://" 30
    mirror_checks
    https_checks
}
