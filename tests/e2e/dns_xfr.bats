#!/usr/bin/env bats
# dns_xfr.bats: dns-primary's zone transfers (AXFR, IXFR) to peers signing with its TSIG key,
# checked with dig and kdig against NSD serving the same zone, on unix, spt and hvt.
# Time budget: under 2.5 minutes for the whole file on 2 busy cores.

load helpers
load dns_helpers

KEY=hmac-sha256:xfr-key:lzsdVDHGKRjx2f9Iy8qrWIn5ZswakbIlwM0YfJYyb/E=
BADKEY=hmac-sha256:xfr-key:AAAAVDHGKRjx2f9Iy8qrWIn5ZswakbIlwM0YfJYyb/E=

setup() {
    primary_setup dnsxfr 10.227
}

teardown() {
    net_teardown
}

# nsd_primary: NSD serving the same zone at $NET.1, transferring it to the same key.
nsd_primary() {
    nsd_spawn "$BATS_TEST_TMPDIR/nsd" "$NET.1" "$PWD/examples/dns-primary/zones" "${KEY##*:}" <<CONF
zone:
  name: example.com
  zonefile: example.com.zone
  provide-xfr: 0.0.0.0/0 xfr-key
CONF
    nsd_wait "$NET.1" example.com "$BATS_TEST_TMPDIR/nsd"
}

# axfr SERVER [DIG OPTIONS]: the records of example.com's AXFR, one a line, sorted, with
# what dig said about the transfer on stderr.
axfr() {
    local server=$1
    shift
    in_ns dig +tries=1 +time=5 "$@" @"$server" example.com AXFR | grep -v '^;' | grep . |
        awk '$4 != "TSIG"' | tr A-Z a-z | sort
}

# transfers TARGET: AXFR signed with the key gives what NSD gives, record by record
# (the SOA twice); unsigned, or signed with a wrong secret, it is refused; the
# server answers queries after.
transfers() {
    primary_boot "$1"
    nsd_primary
    local ours theirs
    ours=$(axfr "$ADDR" -y "$KEY")
    theirs=$(axfr "$NET.1" -y "$KEY")
    [ -n "$theirs" ]
    diff <(echo "$theirs") <(echo "$ours")
    [ "$(grep -c '	soa	' <<<"$ours")" -eq 2 ]
    # dig checked every message's TSIG (it says so when one fails).
    run in_ns dig +tries=1 +time=5 -y "$KEY" @"$ADDR" example.com AXFR
    echo "$output"
    [[ "$output" != *"tsig"*"fail"* && "$output" != *"failed"* ]]
    grep -q "XFR size: $(wc -l <<<"$ours") records (messages 1," <<<"$output"
    # Unsigned: refused, saying why (RFC 8914).
    run in_ns dig +tries=1 +time=5 @"$ADDR" example.com AXFR
    echo "$output"
    [[ "$output" == *"Transfer failed"* ]]
    # Signed with another secret: NOTAUTH, BADSIG, the answer's TSIG without a MAC.
    run in_ns dig +tries=1 +time=5 -y "$BADKEY" @"$ADDR" example.com AXFR
    echo "$output"
    [[ "$output" != *"	SOA	"* ]]
    grep -q "TSIG	hmac-sha256. [0-9]* 300 0 [0-9]* BADSIG 0" <<<"$output"
    grep -q "transfer refused: MAC does not match" "$LOG"
    # Not a zone we serve: NOTAUTH.
    run in_ns dig +tries=1 +time=5 -y "$KEY" @"$ADDR" example.org AXFR
    echo "$output"
    [[ "$output" != *"	SOA	"* ]]
    grep -q "transfer refused: not a zone we serve" "$LOG"
    run in_ns dig +norec +tries=1 +time=3 +short @"$ADDR" web.example.com A
    [ "$output" = "$(printf '192.0.2.80\n192.0.2.81')" ]
}

@test "dns-primary: AXFR with the TSIG key as NSD gives it, refused without (unix)" { transfers unix; }
@test "dns-primary: AXFR with the TSIG key as NSD gives it, refused without (spt)" { transfers spt; }
@test "dns-primary: AXFR with the TSIG key as NSD gives it, refused without (hvt)" { transfers hvt; }

# signed_update ADDR ZONE SECRET_B64 OWNER IPV4 [SKEW]: sends one UPDATE adding OWNER A IPV4,
# signed here (TSIG, hmac-sha256, key xfr-key) SKEW seconds off our clock, twice over UDP;
# prints each answer's rcode and TSIG error.
# signed_update ADDR ZONE SECRET_B64 burst:N: N such updates at once (burstK.ZONE A 192.0.2.K,
# K from 1), then their answers for up to 10 s; prints "N answers, M NOERROR".
signed_update() {
    in_ns python3 - "$@" <<'PY'
import base64, hmac, hashlib, socket, struct, sys, time
addr, zone, secret, owner = sys.argv[1:5]
ip = sys.argv[5] if len(sys.argv) > 5 else None
skew = int(sys.argv[6]) if len(sys.argv) > 6 else 0
def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".")) + b"\0"
key, alg = name("xfr-key"), name("hmac-sha256")
def signed(owner, ip, qid):
    body = name(zone) + struct.pack(">HH", 6, 1)
    body += name(owner) + struct.pack(">HHIH", 1, 1, 300, 4) + socket.inet_aton(ip)
    msg = struct.pack(">HHHHHH", qid, 5 << 11, 1, 0, 1, 0) + body
    now = int(time.time()) + skew
    tvars = key + struct.pack(">HI", 255, 0) + alg + now.to_bytes(6, "big") + struct.pack(">HHH", 300, 0, 0)
    mac = hmac.new(base64.b64decode(secret), msg + tvars, hashlib.sha256).digest()
    rdata = alg + now.to_bytes(6, "big") + struct.pack(">HH", 300, 32) + mac + struct.pack(">HHH", qid, 0, 0)
    out = struct.pack(">HHHHHH", qid, 5 << 11, 1, 0, 1, 1) + body
    return out + key + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
if owner.startswith("burst:"):
    n = int(owner[6:])
    for k in range(1, n + 1):
        s.sendto(signed("burst%d.%s" % (k, zone), "192.0.2.%d" % k, 0x6000 + k), (addr, 53))
    got = ok = 0
    end = time.monotonic() + 10
    while got < n and time.monotonic() < end:
        try:
            m, _ = s.recvfrom(4096)
        except socket.timeout:
            break
        got += 1
        ok += struct.unpack(">H", m[2:4])[0] & 15 == 0
    print("%d answers, %d NOERROR" % (got, ok))
    sys.exit(0)
msg = signed(owner, ip, 0x5151)
for attempt in range(2):
    s.sendto(msg, (addr, 53))
    m, _ = s.recvfrom(4096)
    rcode = struct.unpack(">H", m[2:4])[0] & 15
    # The TSIG's RDATA: algorithm, time (6), fudge, MAC size and MAC, id, then the error.
    err = -1
    if struct.unpack(">H", m[10:12])[0]:
        at = m.rindex(alg) + len(alg) + 8
        at += 2 + struct.unpack(">H", m[at:at + 2])[0] + 2
        err = struct.unpack(">H", m[at:at + 2])[0]
    print(rcode, err)
PY
}

# nsd_secondary: NSD at $NET.1 as secondary of our primary: it transfers example.com with
# the key and takes our NOTIFY (unsigned) from $ADDR.
nsd_secondary() {
    local d=$BATS_TEST_TMPDIR/nsd2
    nsd_spawn "$d" "$NET.1" "$d" "${KEY##*:}" <<CONF
zone:
  name: example.com
  zonefile: example.com.zone
  request-xfr: $ADDR@53 xfr-key
  allow-notify: $ADDR NOKEY
  provide-xfr: 0.0.0.0/0 xfr-key
CONF
    NSD_LOG=$d/nsd.log
}

# serial_of SERVER: the SOA serial SERVER gives for example.com (empty if none).
serial_of() {
    in_ns dig +norec +tries=1 +time=1 +short @"$1" example.com SOA 2>/dev/null | awk '{ print $3 }'
}

# wait_serial SERVER SERIAL: up to 20 s for SERVER to serve SERIAL.
wait_serial() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(serial_of "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    echo "$1 serves serial '$(serial_of "$1")', not $2" >&2
    cat "$NSD_LOG" >&2 || true
    return 1
}

# updates TARGET: NSD as our secondary transfers the zone (AXFR), nsupdate with the key adds
# and deletes records, our NOTIFY brings NSD to the new serial by IXFR, and its AXFR then
# equals ours; kdig's IXFR from the old serial is the change; a replayed, a badly signed
# and a late update are refused; after a restart on the same disk the change is there; 8
# updates sent at once over UDP are all applied.
updates() {
    primary_boot "$1" "--notify=$NET.1"
    nsd_secondary
    wait_serial "$NET.1" 2026120201
    grep -q "AXFR of example.com.: 37 records" "$LOG"
    in_ns nsupdate -y "$KEY" <<EOF
server $ADDR
zone example.com
update add new.example.com 300 IN A 192.0.2.200
update add new.example.com 300 IN TXT "added by nsupdate"
update delete web.example.com AAAA
send
EOF
    wait_serial "$ADDR" 2026120202
    wait_serial "$NET.1" 2026120202
    grep -q "NOTIFY of example.com. to secondary 1: answered" "$LOG"
    grep -q "IXFR of example.com." "$LOG"
    [ "$(in_ns dig +short @"$ADDR" new.example.com A)" = 192.0.2.200 ]
    [ "$(in_ns dig +short @"$NET.1" new.example.com A)" = 192.0.2.200 ]
    [ -z "$(in_ns dig +short @"$ADDR" web.example.com AAAA)" ]
    local ours theirs
    ours=$(axfr "$ADDR" -y "$KEY")
    theirs=$(axfr "$NET.1" -y "$KEY")
    diff <(echo "$theirs") <(echo "$ours")
    grep -q "new.example.com.	300	in	a	192.0.2.200" <<<"$ours"
    # IXFR from the first serial: the SOA, the old SOA and the AAAA gone, the new SOA and
    # the two records added, the SOA.
    run in_ns kdig +retry=0 +timeout=5 -y "$KEY" @"$ADDR" example.com IXFR=2026120201
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '	SOA	' <<<"$output")" -eq 4 ]
    grep -q "web.example.com.*AAAA	2001:db8::80" <<<"$output"
    grep -q 'new.example.com.*TXT	"added by nsupdate"' <<<"$output"
    # Up to date: the SOA alone.
    run in_ns kdig +retry=0 +timeout=5 -y "$KEY" @"$ADDR" example.com IXFR=2026120202
    echo "$output"
    [ "$(grep -c '	SOA	' <<<"$output")" -eq 1 ]
    # nsupdate deleting: the record goes.
    in_ns nsupdate -y "$KEY" <<EOF
server $ADDR
zone example.com
update delete new.example.com TXT
send
EOF
    wait_serial "$ADDR" 2026120203
    [ -z "$(in_ns dig +short @"$ADDR" new.example.com TXT)" ]
    # A replay: the same signed update again is refused (NOTAUTH 9, BADTIME 18).
    run signed_update "$ADDR" example.com "${KEY##*:}" replay.example.com 192.0.2.123
    echo "$output"
    [ "$output" = "$(printf '0 0\n9 18')" ]
    # A wrong secret: NOTAUTH, BADSIG; signed 20 minutes ago: NOTAUTH, BADTIME.
    run signed_update "$ADDR" example.com "${BADKEY##*:}" bad.example.com 192.0.2.124
    echo "$output"
    [ "$output" = "$(printf '9 16\n9 16')" ]
    run signed_update "$ADDR" example.com "${KEY##*:}" late.example.com 192.0.2.125 -1200
    echo "$output"
    [ "$output" = "$(printf '9 18\n9 18')" ]
    run in_ns nsupdate -y "$BADKEY" <<EOF
server $ADDR
zone example.com
update add bad.example.com 300 IN A 192.0.2.1
send
EOF
    echo "$output"
    [ "$status" -ne 0 ]
    [ -z "$(in_ns dig +short @"$ADDR" bad.example.com A)" ]
    [ "$(serial_of "$ADDR")" = 2026120204 ]
    # Restarted on the same disk: the updated zone.
    uk_stop
    primary_boot "$1"
    grep -q "zone example.com.: .* records from the store's .*example.com.zone" "$LOG" || { cat "$LOG"; false; }
    [ "$(serial_of "$ADDR")" = 2026120204 ]
    [ "$(in_ns dig +short @"$ADDR" new.example.com A)" = 192.0.2.200 ]
    [ "$(in_ns dig +short @"$ADDR" replay.example.com A)" = 192.0.2.123 ]
    [ -z "$(in_ns dig +short @"$ADDR" web.example.com AAAA)" ]
    # 8 updates over UDP at once: all wait their turn (8 are held), each applied and answered.
    run signed_update "$ADDR" example.com "${KEY##*:}" burst:8
    echo "$output"
    [ "$output" = "8 answers, 8 NOERROR" ]
    [ "$(serial_of "$ADDR")" = 2026120212 ]
    [ "$(in_ns dig +short @"$ADDR" burst8.example.com A)" = 192.0.2.8 ]
}

@test "dns-primary: nsupdate, NOTIFY, NSD as secondary by AXFR then IXFR, replays refused, kept over a restart (unix)" { updates unix; }
@test "dns-primary: nsupdate, NOTIFY, NSD as secondary by AXFR then IXFR, replays refused, kept over a restart (spt)" { updates spt; }
@test "dns-primary: nsupdate, NOTIFY, NSD as secondary by AXFR then IXFR, replays refused, kept over a restart (hvt)" { updates hvt; }
