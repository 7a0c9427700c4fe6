#!/usr/bin/env bats
# dns.bats: examples/dns-primary answers dig and kdig on unix, spt and hvt as NSD answers for the same zone file, over UDP and TCP.

load helpers
load dns_helpers

ROOT=$PWD

setup() {
    primary_setup dns 10.219
}

teardown() {
    net_teardown
}

# nsd_start: NSD serving the same zone file at $NET.1 port 53, one server process.
nsd_start() {
    nsd_spawn "$BATS_TEST_TMPDIR/nsd" "$NET.1" "$PWD/examples/dns-primary/zones" <<CONF
zone:
  name: example.com
  zonefile: example.com.zone
CONF
    nsd_wait "$NET.1" example.com "$BATS_TEST_TMPDIR/nsd"
}

# compare TARGET: every query over UDP with EDNS, without (big.example.com
# truncates and dig asks again over TCP) and over TCP, against NSD.
compare() {
    primary_boot "$1"
    nsd_start
    local q opts diffs=0
    for opts in "" "+noedns" "+tcp"; do
        for q in "${QUERIES[@]}"; do
            set -- $q
            local ours theirs
            # Names compare without case: NSD writes a target's name in the question's case
            # when it compresses it against the question, we keep the zone's.
            ours=$(view "$ADDR" "$1" "$2" $opts | tr A-Z a-z)
            theirs=$(view "$NET.1" "$1" "$2" $opts | tr A-Z a-z)
            if [ "$ours" != "$theirs" ]; then
                echo "$1 $2 $opts differs:"
                diff <(echo "$theirs") <(echo "$ours") || true
                diffs=$((diffs + 1))
            fi
            grep -q "^status [a-z]" <<<"$ours"
        done
    done
    [ "$diffs" -eq 0 ]
    # The owner comes back in the question's case (resolvers' 0x20 check).
    view "$ADDR" WWW.Example.COM A | grep -q "^an WWW.Example.COM.	"
    # The truncation really happened and dig went to TCP.
    run in_ns dig +norec +noedns +ignore +tries=1 +time=3 @"$ADDR" big.example.com TXT
    echo "$output"
    grep -q "flags: qr aa tc;" <<<"$output"
}

@test "dns-primary answers as NSD does, record by record, over UDP and TCP (unix)" { compare unix; }
@test "dns-primary answers as NSD does, record by record, over UDP and TCP (spt)" { compare spt; }
@test "dns-primary answers as NSD does, record by record, over UDP and TCP (hvt)" { compare hvt; }

# several TARGET: three queries pipelined in one TCP connection and answered
# in it, kdig's kept-open connection, then hostile input: 64 KiB of garbage
# over TCP, a compression loop over UDP; the server still answers after.
several() {
    primary_boot "$1"
    run in_ns python3 - "$ADDR" <<'EOF'
import socket, struct, sys
def query(qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)
s = socket.create_connection((sys.argv[1], 53), timeout=5)
names = [("web.example.com", 1), ("www.example.com", 28), ("nope.example.com", 1)]
s.sendall(b"".join(struct.pack(">H", len(m)) + m for m in (query(100 + i, n, t) for i, (n, t) in enumerate(names))))
buf = b""
for i in range(3):
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed after %d answers" % i)
        buf += chunk
    n = struct.unpack(">H", buf[:2])[0]
    msg, buf = buf[2:2 + n], buf[2 + n:]
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    print(qid, flags & 15, an)
EOF
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '100 0 2\n101 0 2\n102 3 0')" ]
    run in_ns kdig +tcp +keepopen +norec @"$ADDR" web.example.com A www.example.com AAAA \
        example.com MX
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'status: NOERROR' <<<"$output")" -eq 3 ]
    # 64 KiB of garbage: the connection goes, the server stays.
    head -c 65536 /dev/urandom >"$BATS_TEST_TMPDIR/garbage"
    in_ns timeout 10 socat -t 2 -u "OPEN:$BATS_TEST_TMPDIR/garbage" "TCP:$ADDR:53" || true
    # A query whose name points to itself: FORMERR.
    run in_ns python3 - "$ADDR" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1", (sys.argv[1], 53))
m, _ = s.recvfrom(4096)
print(struct.unpack(">H", m[:2])[0], struct.unpack(">H", m[2:4])[0] & 15)
EOF
    echo "$output"
    [ "$output" = "7 1" ]
    run in_ns dig +norec +tries=1 +time=3 +short @"$ADDR" web.example.com A
    echo "$output"
    [ "$output" = "$(printf '192.0.2.80\n192.0.2.81')" ]
    # Refusals say why (RFC 8914).
    run in_ns dig +norec +tries=1 +time=3 @"$ADDR" example.org A
    echo "$output"
    grep -q "status: REFUSED" <<<"$output"
    grep -q "EDE: 20 (Not Authoritative)" <<<"$output"
    kill -0 "$UK_PID"
}

@test "dns-primary: queries pipelined and kept open over TCP, garbage and loops refused (unix)" { several unix; }
@test "dns-primary: queries pipelined and kept open over TCP, garbage and loops refused (spt)" { several spt; }
@test "dns-primary: queries pipelined and kept open over TCP, garbage and loops refused (hvt)" { several hvt; }

@test "dns-primary: a zone file with a mistake stops the boot naming file and line (unix)" {
    require_target unix dns-primary
    local d=$BATS_TEST_TMPDIR/bad
    mkdir -p "$d/zones"
    cp examples/dns-primary/*.c "$d/"
    printf '$TTL 1h\n@ SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.300\n' >"$d/zones/bad.test.zone"
    (cd "$d" && "$ROOT/$B/bin/mirage" configure -t unix --net=direct >/dev/null &&
        "$ROOT/$B/bin/mirage" build >/dev/null)
    uk_spawn "$NS" "$LOG" "$d/dist/dns-primary" --net:tap0=tap0 "--block:dns_data=$IMG" -- \
        "--ipv4=$ADDR/24"
    uk_wait_exit 20
    cat "$LOG"
    [ "$UK_STATUS" -eq 1 ]
    grep -q "/bad.test.zone:4: '192.0.2.300' is not an IPv4 address" "$LOG"
}

@test "dns-primary: a TCP connection idle for --tcp-idle-timeout is closed after its answers (unix)" {
    primary_boot unix --tcp-idle-timeout=1
    run in_ns python3 - "$ADDR" <<'PY'
import socket, struct, sys, time
q = struct.pack(">HHHHHH", 9, 0, 1, 0, 0, 0) + b"\3web\7example\3com\0\0\1\0\1"
s = socket.create_connection((sys.argv[1], 53), timeout=10)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2))[0]
print("answer", struct.unpack(">H", s.recv(n)[:2])[0])
start = time.monotonic()
eof = s.recv(1) == b""
waited = time.monotonic() - start
print("eof" if eof else "data", "in time" if 0.5 <= waited <= 6 else "after %.1f s" % waited)
PY
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'answer 9\neof in time')" ]
}
