#!/usr/bin/env bats
# dns_stub.bats: examples/dns-stub, the caching forwarder, in front of dnsmasq: answers compared
# with dnsmasq's own (A, AAAA, a CNAME chain, NXDOMAIN, NODATA, 150 addresses truncated over UDP
# and fetched over TCP); the cache (answers and a negative one served with dnsmasq stopped, until
# their TTL); a dead first server; a hostile upstream's wrong answers ignored; http-fetch by name.
# Time budget: ~60-90 s at load 14 (the unix cache case waits out a TTL of 10 s).

load helpers

TTL=10

setup() {
    tap_setup dnsstub 10.232 dnsmasq dig || return 1
    D=$BATS_TEST_TMPDIR
}

teardown() {
    net_teardown
}

# upstream: dnsmasq at $NET.1, authoritative for test. (an SOA in negative answers, TTLs $TTL):
# www.test (A and AAAA), web.test ($NET.1), alias.test -> mid.test -> www.test, site.test ->
# link.test -> web.test (it answers one link of a chain at a time), many.test with 150 addresses (2.4 KB: truncated over UDP); every query it gets is
# logged in $D/queries.
upstream() {
    local i
    for ((i = 1; i <= 150; i++)); do echo "192.0.2.$i many.test"; done >"$D/hosts"
    bg_spawn "$NS" "$D/dnsmasq.out" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=53 \
        --listen-address="$NET.1" --bind-interfaces --no-resolv --no-hosts --user=root \
        --auth-server="ns.test,$NET.1" --auth-zone=test --auth-soa="1,hm.test,1200,120,3600" \
        --auth-ttl=$TTL --local-ttl=$TTL --host-record="www.test,192.0.2.1,2001:db8::1" \
        --host-record="web.test,$NET.1" --cname=alias.test,mid.test --cname=mid.test,www.test \
        --cname=site.test,link.test \
        --cname=link.test,web.test --addn-hosts="$D/hosts" --log-queries \
        --log-facility="$D/queries" --pid-file="$D/dnsmasq.pid"
    DNSMASQ_PID=$BG_PID
    for ((i = 0; i < 50; i++)); do
        in_ns dig +tries=1 +time=1 @"$NET.1" www.test A >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "dnsmasq did not answer:" >&2
    cat "$D/dnsmasq.out" >&2
    return 1
}

# stub TARGET SERVERS [ARGS]: dns-stub at $ADDR forwarding to SERVERS.
stub() {
    local target=$1 servers=$2
    shift 2
    require_target "$target" dns-stub
    case $target in
    unix) TARGET_ARGV=("$UK/dns-stub" --net:tap0=tap0 --) ;;
    spt) TARGET_ARGV=("$B/bin/mirage-spt" --net:service=tap0 "$UK/dns-stub.spt") ;;
    hvt) TARGET_ARGV=("$B/bin/mirage-hvt" --net:service=tap0 "$UK/dns-stub.hvt") ;;
    esac
    uk_spawn "$NS" "$LOG" "${TARGET_ARGV[@]}" "--ipv4=$ADDR/24" "--dns-servers=$servers" "$@"
    uk_wait_line "$LOG" "forwarding UDP and TCP port 53 to [0-9]+ servers" 30
}

# asked NAME: how many queries for NAME dnsmasq got from the stub.
asked() {
    grep -cE "(query|auth)\[[A-Z]+\] $1 from $ADDR" "$D/queries" || true
}

# ask SERVER NAME TYPE [DIG OPTS]: the answer section, TTLs left out, sorted; or the status.
ask() {
    local out
    out=$(in_ns dig +tries=1 +time=4 +noall +comments +answer "${@:4}" @"$1" "$2" "$3") ||
        return 1
    grep -o "status: [A-Z]*" <<<"$out"
    grep -v '^;' <<<"$out" | grep -v '^$' | awk '{ $2 = ""; print }' | sort
}

# same NAME TYPE [DIG OPTS]: the stub's answer is dnsmasq's.
same() {
    local ours theirs
    theirs=$(ask "$NET.1" "$@") && ours=$(ask "$ADDR" "$@") || return 1
    if [ "$ours" != "$theirs" ]; then
        echo "$1 $2: dns-stub and dnsmasq differ:" >&2
        diff <(echo "$theirs") <(echo "$ours") >&2
        return 1
    fi
    [ -n "$ours" ]
}

# forward TARGET: the stub's answers are dnsmasq's; cached for the TTL (dnsmasq asked once);
# truncated answers fetched over TCP, given whole over TCP and truncated over UDP.
forward() {
    upstream
    stub "$1" "$NET.1"
    same www.test A
    same www.test AAAA
    same alias.test A
    same nope.test A
    same www.test MX
    same many.test A +tcp
    [ "$(ask "$ADDR" many.test A +tcp | wc -l)" -eq 151 ]
    # Over UDP the client gets TC (and asks over TCP: dig does).
    run in_ns dig +tries=1 +time=4 +ignore @"$ADDR" many.test A
    grep -q "flags: qr tc rd ra" <<<"$output"
    # From the cache: dnsmasq was asked once for each, however often we ask.
    same www.test A
    same nope.test A
    grep -E "(query|auth)\[" "$D/queries"
    [ "$(asked www.test)" -eq 3 ] # A, AAAA, MX
    [ "$(asked nope.test)" -eq 1 ]
    [ "$(asked many.test)" -ge 1 ]
    [ "$(asked many.test)" -le 2 ] # the UDP try, then TCP
    kill -0 "$UK_PID"
}

@test "dns-stub: answers as dnsmasq does, from the cache, truncated ones over TCP (unix)" { forward unix; }
@test "dns-stub: answers as dnsmasq does, from the cache, truncated ones over TCP (spt)" { forward spt; }
@test "dns-stub: answers as dnsmasq does, from the cache, truncated ones over TCP (hvt)" { forward hvt; }

servfail() {
    in_ns dig +tries=1 +time=6 @"$ADDR" "$1" A | grep -q "status: SERVFAIL"
}

@test "dns-stub: with dnsmasq stopped, answers and a negative answer (RFC 2308) come from the cache until their TTL (unix)" {
    upstream
    stub unix "$NET.1"
    local www nope nodata
    www=$(ask "$ADDR" www.test A)
    nope=$(ask "$ADDR" nope.test A)
    nodata=$(ask "$ADDR" www.test MX)
    grep -q NXDOMAIN <<<"$nope"
    grep -q "NOERROR" <<<"$nodata"
    bg_kill 3 "$DNSMASQ_PID"
    ! in_ns dig +tries=1 +time=1 @"$NET.1" www.test A >/dev/null
    # Within the TTL ($TTL s) the same answers, the negative ones included.
    [ "$(ask "$ADDR" www.test A)" = "$www" ]
    [ "$(ask "$ADDR" nope.test A)" = "$nope" ]
    [ "$(ask "$ADDR" www.test MX)" = "$nodata" ]
    # The TTL counts down.
    run in_ns dig +tries=1 +time=4 +noall +answer @"$ADDR" www.test A
    [[ "$output" =~ www\.test\.[[:space:]]+([0-9]+)[[:space:]]+IN[[:space:]]+A ]]
    [ "${BASH_REMATCH[1]}" -le $TTL ]
    # After it, the stub has no answer and no server: SERVFAIL, and it keeps serving.
    wait_for $((TTL + 15)) servfail www.test
    servfail nope.test
    grep -q "no answer from the servers" "$LOG"
    kill -0 "$UK_PID"
}

@test "dns-stub: a dead first server: the second answers (unix)" {
    upstream
    # $NET.9 is nobody: its try times out (1 s) and $NET.1 is asked.
    stub unix "$NET.9,$NET.1"
    same www.test A
    same alias.test A
    [ "$(asked www.test)" -eq 1 ]
}

@test "dns-stub: a hostile upstream's wrong answers (port, id, question, compression loop, cut short) are ignored; a server without EDNS is asked without it (unix)" {
    in_ns ip addr add "$NET.3/24" dev tap0
    bg_spawn "$NS" "$D/fake.out" timeout 120 python3 tests/e2e/dns_stub_upstream.py "$NET.3" \
        "$D/fake.log"
    wait_for 10 eval 'in_ns dig +tries=1 +time=1 @"$NET.3" x.test A | grep -q REFUSED'
    stub unix "$NET.3"
    # good.test: five wrong answers (192.0.2.66) before the right one (192.0.2.77).
    [ "$(in_ns dig +tries=1 +time=6 +short @"$ADDR" good.test A)" = 192.0.2.77 ]
    for why in "not from the server asked" "another id" "another question" \
        "compression pointer"; do
        grep -q "an answer ignored: .*$why" "$LOG" || { echo "no '$why' in:" >&2; cat "$LOG" >&2; false; }
    done
    [ "$(grep -c "an answer ignored" "$LOG")" -ge 5 ]
    # worse.test: nothing but wrong answers: SERVFAIL after the tries, and it keeps serving.
    servfail worse.test
    [ "$(in_ns dig +tries=1 +time=4 +short @"$ADDR" good.test A)" = 192.0.2.77 ]
    # old.test: FORMERR without a question to our EDNS query; asked again without EDNS.
    [ "$(in_ns dig +tries=1 +time=4 +short @"$ADDR" old.test A)" = 192.0.2.78 ]
    grep -q "sent formerr" "$D/fake.log"
    grep -q "$NET.3 answered EDNS with FORMERR: asked without it" "$LOG"
    # Every query to the upstream from its own port with its own id.
    local n ports ids
    n=$(grep -c "^query " "$D/fake.log")
    ports=$(awk '/^query /{ print $3 }' "$D/fake.log" | sort -u | wc -l)
    ids=$(awk '/^query /{ print $2 }' "$D/fake.log" | sort -u | wc -l)
    echo "queries $n, ports $ports, ids $ids"
    [ "$n" -ge 3 ]
    [ "$ports" -ge $((n - 1)) ]
    [ "$ids" -ge $((n - 1)) ]
    kill -0 "$UK_PID"
}

@test "dns-stub: http-fetch --uri=http://site.test:PORT/ finds the host through --dns-servers (unix)" {
    upstream
    require_target unix http-fetch
    mkdir -p "$D/www"
    echo "fetched by name" >"$D/www/hello.txt"
    bg_spawn "$NS" "$D/http.out" timeout 120 python3 -m http.server --bind "$NET.1" \
        --directory "$D/www" 8089
    wait_for 20 eval 'in_ns curl -sf "http://$NET.1:8089/hello.txt" >/dev/null'
    # site.test is a CNAME to a CNAME, which dnsmasq answers alone: its target is asked next.
    uk_spawn "$NS" "$LOG" "$UK/http-fetch" --net:tap0=tap0 -- "--ipv4=$ADDR/24" \
        "--dns-servers=$NET.1" --uri=http://site.test:8089/hello.txt
    uk_wait_exit 30
    cat "$LOG"
    [ "$UK_STATUS" -eq 0 ]
    grep -q "fetched by name" "$LOG"
    grep -E "(query|auth)\[" "$D/queries"
    [ "$(asked site.test)" -eq 1 ]
    [ "$(asked link.test)" -eq 1 ]
    # A name with no address: a clear error naming it.
    uk_spawn "$NS" "$LOG.2" "$UK/http-fetch" --net:tap0=tap0 -- "--ipv4=$ADDR/24" \
        "--dns-servers=$NET.1" --uri=http://nope.test:8089/hello.txt
    uk_wait_exit 30
    cat "$LOG.2"
    [ "$UK_STATUS" -ne 0 ]
    grep -q "nope.test: no such name, or no address" "$LOG.2"
}

@test "dns-stub: --dns-servers that are not addresses are refused, naming the item (unix)" {
    require_target unix dns-stub
    uk_spawn "$NS" "$LOG" "$UK/dns-stub" --net:tap0=tap0 -- "--ipv4=$ADDR/24" \
        --dns-servers=10.0.0.1,dns.example
    uk_wait_exit 30
    cat "$LOG"
    [ "$UK_STATUS" -eq 64 ]
    grep -q "\-\-dns-servers: 'dns.example' is not an IPv4 or IPv6 address" "$LOG"
}
