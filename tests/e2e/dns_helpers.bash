# dns_helpers.bash: what the DNS tests share: one view of an answer to compare, the queries of the
# test zone (examples/dns-primary/zones/example.com.zone), dns-primary's setup and boot, starting
# NSD and waiting for it.

# view SERVER NAME TYPE [DIG OPTIONS]: what the answer says, one sorted line per
# record and the status and flags; the authority and additional sections only
# when the answer section is empty (NSD adds its NS set to positive answers, we
# answer minimally).
view() {
    local server=$1 name=$2 type=$3
    shift 3
    in_ns dig +norec +nocookie +tries=1 +time=3 "$@" @"$server" "$name" "$type" \
        +noall +comments +answer +authority +additional |
        awk '/->>HEADER<<-/ { match($0, /status: [A-Z]+/); st = substr($0, RSTART + 8, RLENGTH - 8) }
             /^;; flags:/ { f = $0; sub(/^;; flags: /, "", f); sub(/;.*/, "", f) }
             /^;; ANSWER SECTION/ { sec = "an" } /^;; AUTHORITY SECTION/ { sec = "au" }
             /^;; ADDITIONAL SECTION/ { sec = "ad" } /^;; OPT/ { sec = "opt" }
             /^[^;]/ && NF && sec != "opt" { n[sec]++; line[sec, n[sec]] = $0 }
             END { print "status " st " flags " f
                   for (i = 1; i <= n["an"]; i++) print "an " line["an", i]
                   if (!n["an"]) { for (i = 1; i <= n["au"]; i++) print "au " line["au", i]
                                   for (i = 1; i <= n["ad"]; i++) print "ad " line["ad", i] } }' |
        sort
}

QUERIES=(
    "web.example.com A" "www.example.com A" "alias.example.com AAAA" "outside.example.com A"
    "www.example.com CNAME" "WWW.Example.COM A" "example.com SOA" "example.com NS" "example.com MX"
    "example.com TXT" "example.com CAA" "example.com AAAA" "example.com HTTPS" "web.example.com SSHFP"
    "_443._tcp.web.example.com TLSA" "_sip._tcp.example.com SRV" "unknown.example.com TYPE65280"
    "nope.example.com A" "deeper.nope.example.com MX" "web.example.com MX" "sub2.example.com A"
    "x.wild.example.com A" "a.b.wild.example.com TXT" "x.wild.example.com MX" "wild.example.com A"
    "*.wild.example.com A" "a.sub.example.com A" "sub.example.com NS" "ns.sub.example.com A"
    "example.org A" "big.example.com TXT"
)

# compare_with OURS THEIRS [DIG OPTIONS]: every query of QUERIES to both servers; prints the
# differences and fails if there is any. Names compare without case: NSD writes a target's name
# in the question's case when it compresses it against the question, we keep the zone's.
compare_with() {
    local ours_at=$1 theirs_at=$2 q ours theirs diffs=0
    shift 2
    local opts=("$@")
    for q in "${QUERIES[@]}"; do
        ours=$(view "$ours_at" $q "${opts[@]}" | tr A-Z a-z)
        theirs=$(view "$theirs_at" $q "${opts[@]}" | tr A-Z a-z)
        if [ "$ours" != "$theirs" ]; then
            echo "$q ${opts[*]} differs:"
            diff <(echo "$theirs") <(echo "$ours") || true
            diffs=$((diffs + 1))
        fi
        grep -q "^status [a-z]" <<<"$ours" || { echo "$q: no answer"; diffs=$((diffs + 1)); }
    done
    [ "$diffs" -eq 0 ]
}

# primary_setup NAME PREFIX: a test's namespace (tap_setup NAME PREFIX) with tap0 at $NET.1,
# dns-primary to be at ADDR ($NET.2) with a blank 16 MiB store in IMG.
primary_setup() {
    tap_setup "$1" "$2" nsd dig kdig || return 1
    IMG=$BATS_TEST_TMPDIR/dns-data.img
    truncate -s 16M "$IMG"
}

# primary_boot TARGET [ARGS]: dns-primary at $ADDR in the namespace, answering on port 53.
primary_boot() {
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

# nsd_spawn DIR ADDR ZONESDIR [SECRET]: NSD in $NS, one server process, at ADDR port 53 with
# its files in DIR, the zone files in ZONESDIR, the TSIG key xfr-key (hmac-sha256, SECRET in
# base64) when SECRET is given, and the zone: sections read from stdin. NSD_PID: its pid.
nsd_spawn() {
    local d=$1 addr=$2 zones=$3 secret=${4:-}
    mkdir -p "$d"
    {
        cat <<CONF
server:
  ip-address: $addr@53
  username: ""
  chroot: ""
  zonesdir: "$zones"
  pidfile: "$d/nsd.pid"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  server-count: 1
  rrl-ratelimit: 0
  logfile: "$d/nsd.log"
  verbosity: 2
remote-control:
  control-enable: no
CONF
        [ -z "$secret" ] ||
            printf 'key:\n  name: xfr-key\n  algorithm: hmac-sha256\n  secret: "%s"\n' "$secret"
        cat
    } >"$d/nsd.conf"
    bg_spawn "$NS" "$d/out" nsd -d -c "$d/nsd.conf"
    NSD_PID=$BG_PID
}

# nsd_wait SERVER ZONE DIR: waits up to 10 s for NSD (its output and log in DIR) to answer for ZONE.
nsd_wait() {
    local i
    for ((i = 0; i < 50; i++)); do
        in_ns dig +norec +tries=1 +time=1 @"$1" "$2" SOA >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "nsd did not answer:" >&2
    cat "$3/out" "$3/nsd.log" >&2
    return 1
}
