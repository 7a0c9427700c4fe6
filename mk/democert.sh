#!/bin/bash
# democert.sh: a local CA and two server certificates signed by it, for the static website's HTTPS demo and tests.
# Usage: mk/democert.sh OUTDIR. Writes OUTDIR/ca.pem (trust it: curl --cacert), OUTDIR/ca.key,
# OUTDIR/ca/ca.pem (the CA alone as a store: what http-fetch trusts), and the static website's
# tls store, in the layout mirage_tls_certs_from_kv reads (HOST/cert.pem
# and key.pem): OUTDIR/tls/default/ (ECDSA P-256 for mirage.test, www.mirage.test, localhost
# and 10.0.0.2, make run's address: served to every other name) and
# OUTDIR/tls/rsa.mirage.test/ (RSA 2048, chosen by SNI: a second site name with its own
# certificate). Nothing is made again while all of them exist.
set -eu
out=$1
for f in ca.pem ca/ca.pem tls/default/cert.pem tls/default/key.pem tls/rsa.mirage.test/cert.pem \
    tls/rsa.mirage.test/key.pem; do
    [ -s "$out/$f" ] || break
    [ "$f" = tls/rsa.mirage.test/key.pem ] && exit 0
done
command -v openssl >/dev/null || { echo "democert: openssl is missing (make deps)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
o() { openssl "$@" 2>/dev/null; }
o ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
o req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=mirage demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/ca.pem"

# leaf DIR CN SANS: a key (EC unless DIR is an rsa. name) and a certificate signed by the CA.
leaf() {
    local dir=$tmp/tls/$1
    mkdir -p "$dir"
    case $1 in
    rsa.*) o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/key.pem" ;;
    *) o ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem" ;;
    esac
    o req -new -key "$dir/key.pem" -subj "/CN=$2" -out "$tmp/leaf.csr"
    printf '%s\n' "subjectAltName=$3" basicConstraints=CA:FALSE \
        keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth >"$tmp/ext"
    o x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$tmp/ext" -out "$dir/cert.pem"
}
leaf default mirage.test DNS:mirage.test,DNS:www.mirage.test,DNS:localhost,IP:10.0.0.2
leaf rsa.mirage.test rsa.mirage.test DNS:rsa.mirage.test
rm -rf "$out/tls" "$out/ca"
mkdir -p "$out/ca"
cp "$tmp/ca.pem" "$tmp/ca.key" "$out/"
cp "$tmp/ca.pem" "$out/ca/"
cp -r "$tmp/tls" "$out/"
