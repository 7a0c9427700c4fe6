#!/bin/bash
# democert.sh: a local CA and a server certificate signed by it, for the static website's HTTPS demo and tests.
# Usage: mk/democert.sh OUTDIR. Writes OUTDIR/ca.pem (trust it: curl --cacert), OUTDIR/ca.key,
# and OUTDIR/tls/default/cert.pem + key.pem (what the unikernel serves: its tls store, in
# the layout mirage_tls_certs_from_kv reads: HOST/cert.pem and key.pem). ECDSA
# P-256; the server certificate names mirage.test, www.mirage.test, localhost and 10.0.0.2
# (make run's address). Nothing is made again while OUTDIR/tls/default/cert.pem exists.
set -eu
out=$1
[ -s "$out/tls/default/cert.pem" ] && [ -s "$out/tls/default/key.pem" ] && [ -s "$out/ca.pem" ] &&
    exit 0
command -v openssl >/dev/null || { echo "democert: openssl is missing (make deps)" >&2; exit 1; }
mkdir -p "$out/tls/default"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key" 2>/dev/null
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=mirage demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key" 2>/dev/null
openssl req -new -key "$tmp/server.key" -subj "/CN=mirage.test" -out "$tmp/server.csr" 2>/dev/null
cat >"$tmp/ext" <<EXT
subjectAltName=DNS:mirage.test,DNS:www.mirage.test,DNS:localhost,IP:10.0.0.2
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$tmp/ext" -out "$tmp/server.pem" 2>/dev/null
cp "$tmp/ca.pem" "$tmp/ca.key" "$out/"
cp "$tmp/server.key" "$out/tls/default/key.pem"
cp "$tmp/server.pem" "$out/tls/default/cert.pem"
