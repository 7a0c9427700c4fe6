#!/usr/bin/env bats
# dns_xfr.bats: dns-primary's zone transfers (AXFR, IXFR) to peers signing with its TSIG key,
# checked with dig and kdig against NSD serving the same zone, on unix, spt and hvt.
# Time budget: under 2.5 minutes for the whole file on 2 busy cores.

load helpers

KEY=hmac-sha256:xfr-key:lzsdVDHGKRjx2f9Iy8qrWIn5ZswakbIlwM0YfJYyb/E=
BADKEY=hmac-sha256:xfr-key:AAAAVDHGKRjx2f9Iy8qrWIn5ZswakbIlwM0YfJYyb/E=

setup() {
    net_setup dnsxfr 10.227
    netns_tap "$NS" tap0 "$NET.1/24"
    ADDR=$NET.2
    IMG=$BATS_TEST_TMPDIR/dns-data.img
    truncate -s 16M "$IMG"
    command -v nsd >/dev/null && command -v dig >/dev/null && command -v kdig >/dev/null ||
        { echo "nsd, dig or kdig missing: make deps" >&2; return 1; }
}

teardown() {
    net_teardown
}

# boot TARGET [ARGS]: dns-primary at $ADDR in the namespace, answering on port 53.
boot() {
    local target=$1
    shift
    require_target "$target" dns-primary
    case $target in
    unix) TARGET_ARGV=("$UK/dns-primary" --net:tap0=tap0 "--block:dns_data=$IMG" --) ;;
    spt) TARGET_ARGV=("$B/bin/mirage-spt" --net:service=tap0 "--block:dns_data=$IMG" "$UK/dns-primary.spt") ;;
    hvt) TARGET_ARGV=("$B/bin/mirage-hvt" --net:service=tap0 "--block:dns_data=$IMG" "$UK/dns-primary.hvt") ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}" "--ipv4=$ADDR/24" "$@"
    uk_wait_line "$LOG" "answering on UDP and TCP port 53" 30
}

# nsd_primary: NSD serving the same zone at $NET.1, transferring it to the same key.
nsd_primary() {
    local d=$BATS_TEST_TMPDIR/nsd
    mkdir -p "$d"
    cat >"$d/nsd.conf" <<CONF
server:
  ip-address: $NET.1@53
  username: ""
  chroot: ""
  zonesdir: "$PWD/examples/dns-primary/zones"
  pidfile: "$d/nsd.pid"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  server-count: 1
  rrl-ratelimit: 0
  logfile: "$d/nsd.log"
remote-control:
  control-enable: no
key:
  name: xfr-key
  algorithm: hmac-sha256
  secret: "${KEY##*:}"
zone:
  name: example.com
  zonefile: example.com.zone
  provide-xfr: 0.0.0.0/0 xfr-key
CONF
    bg_spawn "$NS" "$d/out" nsd -d -c "$d/nsd.conf"
    local i
    for ((i = 0; i < 50; i++)); do
        in_ns dig +norec +tries=1 +time=1 @"$NET.1" example.com SOA >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "nsd did not answer:" >&2
    cat "$d/out" "$d/nsd.log" >&2
    return 1
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
    boot "$1"
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
