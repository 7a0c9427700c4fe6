#!/bin/sh
# mkcerts.sh: a local CA and server certificates for the TLS tests and benchmarks (openssl).
# Usage: mkcerts.sh DIR. Writes into DIR:
#   ca.pem, ca.key            the test CA (EC P-256)
#   other-ca.pem              a CA nobody trusts
#   rsa.pem, rsa.key          RSA 2048 leaf for rsa.test (and localhost, 10.0.0.2), signed by the CA
#   ec.pem, ec.key            EC P-256 leaf for ec.test and *.wild.test, signed by the CA
#   stranger.pem, stranger.key  EC leaf for ec.test signed by other-ca
#   ec.der, ec.key.der        ec.pem and ec.key in DER (the key as PKCS#8)
#   chain.pem                 ec.pem followed by ca.pem (a chain as servers send it)
# Each .pem holds the leaf only (the CA is the trust anchor), keys are PEM. Expiry is
# tested by moving the clock, not with a certificate of the past (OpenSSL 3.0's x509 cannot
# set dates).
set -eu
d=$1
mkdir -p "$d"
cd "$d"
o() { openssl "$@" 2>/dev/null; }

ca() { # name subject
    o ecparam -name prime256v1 -genkey -noout -out "$1.key"
    o req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$1.pem"
}

leaf() { # name keytype ca sans [extra x509 args]
    name=$1 type=$2 signer=$3 sans=$4
    shift 4
    if [ "$type" = rsa ]; then
        o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key"
    else
        o ecparam -name prime256v1 -genkey -noout -out "$name.key"
    fi
    o req -new -key "$name.key" -subj "/CN=${sans%%,*}" -out "$name.csr"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        "$(echo "$sans" | sed 's/\([^,]*\)/DNS:\1/g; s/DNS:\([0-9.]*\)\(,\|$\)/IP:\1\2/g')" > "$name.ext"
    o x509 -req -in "$name.csr" -CA "$signer.pem" -CAkey "$signer.key" -CAcreateserial \
        -sha256 -extfile "$name.ext" -out "$name.pem" "$@"
    rm -f "$name.csr" "$name.ext"
}

ca ca "mirage test CA"
ca other-ca "someone else's CA"
leaf rsa rsa ca "rsa.test,localhost,10.0.0.2" -days 825
leaf ec ec ca "ec.test,*.wild.test,localhost,10.0.0.2" -days 825
leaf stranger ec other-ca "ec.test" -days 825
o x509 -in ec.pem -outform DER -out ec.der
o pkcs8 -topk8 -nocrypt -in ec.key -outform DER -out ec.key.der
cat ec.pem ca.pem > chain.pem
rm -f ./*.srl
