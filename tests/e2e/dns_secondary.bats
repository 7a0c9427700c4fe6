#!/usr/bin/env bats
# dns_secondary.bats: examples/dns-secondary keeps copies of NSD's zones (TSIG-signed AXFR, NOTIFY,
# the SOA's refresh, retry and expire) and answers for them as NSD does, on unix, spt and hvt.
# Time budget: ~90-120 s at load 14 (the unix case waits for a refresh of 2 s and an expiry of
# 8 s; each comparison is 62 digs).

load helpers
load dns_helpers

KEY_SECRET=c2Vjb25kYXJ5LXRlc3Qta2V5LWZvci1taXJhZ2UtZG5zIQ==

setup() {
    tap_setup dnssec 10.231 nsd dig || return 1
    Z=$BATS_TEST_TMPDIR/zones
    mkdir -p "$Z"
    cp examples/dns-primary/zones/example.com.zone "$Z/"
    refresh_zone 1 192.0.2.1
}

teardown() {
    net_teardown
}

# refresh_zone SERIAL ADDRESS: the small zone refresh.test (refresh 2 s, retry 1 s, expire 8 s,
# no NOTIFY) with www at ADDRESS.
refresh_zone() {
    printf '$TTL 60\n@ SOA ns hostmaster %s 2 1 8 30\n  NS ns\nns A 192.0.2.53\nwww A %s\n' \
        "$1" "$2" >"$Z/refresh.test.zone"
}

# nsd_primary: NSD at $PRIMARY ($NET.1 unless set), primary of example.com (NOTIFY to us) and
# refresh.test (none), transferring both to $ADDR with the key.
nsd_primary() {
    local d=$BATS_TEST_TMPDIR/nsd primary=${PRIMARY:-$NET.1}
    nsd_spawn "$d" "$primary" "$Z" "$KEY_SECRET" <<CONF
zone:
  name: example.com
  zonefile: example.com.zone
  provide-xfr: $ADDR xfr-key
  notify: $ADDR xfr-key
zone:
  name: refresh.test
  zonefile: refresh.test.zone
  provide-xfr: $ADDR xfr-key
CONF
    nsd_wait "$primary" example.com "$d"
}

# nsd_reload: NSD reads its changed zone files again (SIGHUP) and notifies.
nsd_reload() {
    kill -HUP "$(cat "$BATS_TEST_TMPDIR/nsd/nsd.pid")"
}

# secondary TARGET [ARGS]: dns-secondary at $ADDR, its zones from NSD; waits for both transfers.
secondary() {
    local target=$1
    shift
    require_target "$target" dns-secondary
    case $target in
    unix) TARGET_ARGV=("$UK/dns-secondary" --net:tap0=tap0 --) ;;
    spt) TARGET_ARGV=("$B/bin/mirage-spt" --net:service=tap0 "$UK/dns-secondary.spt") ;;
    hvt) TARGET_ARGV=("$B/bin/mirage-hvt" --net:service=tap0 "$UK/dns-secondary.hvt") ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}" "--ipv4=$NET.2/24" "--primary=${PRIMARY_ARG:-$NET.1}" \
        --zones=example.com,refresh.test "--tsig-key=hmac-sha256:xfr-key:$KEY_SECRET" "$@"
    uk_wait_line "$LOG" "zone example.com.: serial 2026120201, 36 records, by AXFR" 30
    uk_wait_line "$LOG" "zone refresh.test.: serial 1, 4 records, by AXFR" 30
}

# short SERVER NAME TYPE: dig +short's answer.
short() {
    in_ns dig +norec +tries=1 +time=2 +short @"$1" "$2" "$3"
}

# status_of SERVER NAME TYPE: the answer's status.
status_of() {
    in_ns dig +norec +tries=1 +time=2 @"$1" "$2" "$3" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}

# answers NAME TYPE WANT: our answer is WANT.
answers() {
    [ "$(short "$ADDR" "$1" "$2")" = "$3" ]
}

# fails_now NAME TYPE: we answer SERVFAIL.
fails_now() {
    [ "$(status_of "$ADDR" "$1" "$2")" = SERVFAIL ]
}

@test "dns-secondary: AXFR with TSIG from NSD, answers as NSD does, follows NOTIFY and refresh, serves until EXPIRE (unix)" {
    nsd_primary
    secondary unix
    compare_with "$ADDR" "$NET.1"
    [ "$(in_ns dig +tcp +short @"$ADDR" web.example.com A)" = "$(printf '192.0.2.80\n192.0.2.81')" ]
    answers www.refresh.test A 192.0.2.1
    # NOTIFY: NSD reads the changed zone and notifies us; we transfer at once.
    sed -i 's/2026120201 ; serial/2026120202 ; serial/; $a added IN A 192.0.2.99' \
        "$Z/example.com.zone"
    nsd_reload
    uk_wait_line "$LOG" "NOTIFY for example.com. from $NET.1 \\(TSIG verified\\)" 20
    uk_wait_line "$LOG" "zone example.com.: serial 2026120202, 37 records" 20
    answers added.example.com A 192.0.2.99
    # Refresh: refresh.test has no NOTIFY; its REFRESH of 2 s finds the new serial.
    refresh_zone 2 192.0.2.2
    nsd_reload
    wait_for 20 answers www.refresh.test A 192.0.2.2
    grep -q "zone refresh.test.: serial 2, 4 records, by AXFR" "$LOG"
    # A NOTIFY without the key is NOTAUTH, from another address REFUSED.
    in_ns ip addr add "$NET.3/24" dev tap0
    run in_ns dig +tries=1 +time=2 +opcode=notify @"$ADDR" example.com SOA
    echo "$output"
    grep -q "status: NOTAUTH" <<<"$output"
    run in_ns dig -b "$NET.3" +tries=1 +time=2 +opcode=notify \
        -y "hmac-sha256:xfr-key:$KEY_SECRET" @"$ADDR" example.com SOA
    echo "$output"
    grep -q "status: REFUSED" <<<"$output"
    grep -q "NOTIFY for example.com. from $NET.1: TSIG: not signed: NOTAUTH" "$LOG"
    grep -q "NOTIFY for example.com. from $NET.3: not its primary ($NET.1:53): REFUSED" "$LOG"
    # The primary goes: both zones are still served; refresh.test until its EXPIRE (8 s).
    bg_kill 3 "$NSD_PID"
    answers www.refresh.test A 192.0.2.2
    answers added.example.com A 192.0.2.99
    uk_wait_line "$LOG" "zone refresh.test.: primary $NET.1:53: .*; serving our copy" 10
    wait_for 15 fails_now www.refresh.test A
    grep -q "zone refresh.test.: expired: no answer from $NET.1:53 for 8 s (EXPIRE)" "$LOG"
    answers added.example.com A 192.0.2.99
    kill -0 "$UK_PID"
}

# transfer TARGET: the transfers and the comparison alone.
transfer() {
    nsd_primary
    secondary "$1"
    compare_with "$ADDR" "$NET.1" +noedns
}

@test "dns-secondary: AXFR with TSIG from NSD, answers as NSD does record by record (spt)" { transfer spt; }
@test "dns-secondary: AXFR with TSIG from NSD, answers as NSD does record by record (hvt)" { transfer hvt; }

# NSD listens on IPv6 only and is named --primary=[ADDR]:53: the transfers, the answers over
# IPv6 and the NOTIFY all cross IPv6.
@test "dns-secondary: the primary over IPv6: AXFR and NOTIFY from NSD at [fd00::1] (unix)" {
    in_ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    PFX=fd00:231:$BATS_TEST_NUMBER
    in_ns ip -6 addr add "$PFX::1/64" dev tap0 nodad
    PRIMARY=$PFX::1 PRIMARY_ARG="[$PFX::1]:53" ADDR=$PFX::2
    nsd_primary
    secondary unix "--ipv6=$PFX::2/64"
    compare_with "$ADDR" "$PFX::1" +noedns
    sed -i 's/2026120201 ; serial/2026120202 ; serial/; $a added IN A 192.0.2.99' \
        "$Z/example.com.zone"
    nsd_reload
    uk_wait_line "$LOG" "NOTIFY for example.com. from $PFX::1 \\(TSIG verified\\)" 20
    uk_wait_line "$LOG" "zone example.com.: serial 2026120202, 37 records" 20
    answers added.example.com A 192.0.2.99
}

@test "dns-secondary: a wrong key transfers nothing and says why; the zone is SERVFAIL (unix)" {
    nsd_primary
    require_target unix dns-secondary
    uk_spawn "$NS" "$LOG" "$UK/dns-secondary" --net:tap0=tap0 -- "--ipv4=$ADDR/24" \
        "--primary=$NET.1" --zones=example.com "--tsig-key=xfr-key:b3RoZXIta2V5"
    uk_wait_line "$LOG" "zone example.com.: primary $NET.1:53: the primary answered NOTAUTH: our TSIG key is refused; nothing to serve yet" 30
    fails_now web.example.com A
    kill -0 "$UK_PID"
}
