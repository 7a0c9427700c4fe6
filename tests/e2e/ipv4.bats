#!/usr/bin/env bats
# ipv4.bats: lib/net's ethernet/ARP/IPv4/ICMP/UDP (the udp-echo unikernel) against the Linux stack over a tap.

load helpers

setup() { net_setup ipv4 10.203; }
teardown() { net_teardown; }

# udp_roundtrip FILE PORT: sends FILE as one datagram to the unikernel and
# wants the same bytes back (socat: one datagram each way, 65 KB buffers).
udp_roundtrip() {
    local out=$BATS_TEST_TMPDIR/back
    in_ns timeout 10 socat -b 65536 -T 3 - "UDP:$NET.2:$2" <"$1" >"$out"
    cmp "$1" "$out"
}

# Sends hostile frames straight onto the tap with a packet socket.
send_garbage() {
    in_ns python3 - "$1" <<'PY'
import os, random, socket, struct, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
src = b"\x02\x00\x00\x00\x00\x99"
rnd = random.Random(1)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def ip(payload, frag=0, ihl=5, proto=1, total=None, good=True, ident=7):
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total or 4 * ihl + len(payload), ident, frag,
                    64, proto, 0, bytes([10, 203, 0, 1]), bytes([10, 203, 0, 2]))
    h += b"\x01" * (4 * ihl - 20)
    c = csum(h) if good else 0x1234
    return h[:10] + struct.pack("!H", c) + h[12:] + payload
frames = []
for n in range(300):                      # random bytes of every length
    frames.append(mac + src + os.urandom(rnd.randrange(0, 1500)))
for n in range(100):                      # IPv4 and ARP headers with random bodies
    frames.append(mac + src + b"\x08\x00" + os.urandom(rnd.randrange(0, 80)))
    frames.append(mac + src + b"\x08\x06" + os.urandom(rnd.randrange(0, 60)))
frames.append(mac + src + b"\x08\x00" + ip(b"\x08\0\0\0\0\0\0\0", good=False))  # bad checksum
frames.append(mac + src + b"\x08\x00" + ip(b"\x08" * 8, ihl=15))              # options
frames.append(mac + src + b"\x08\x00" + ip(b"x" * 8, total=60000))            # length lies
frames.append(mac + src + b"\x08\x00" + ip(b"y" * 16, frag=0x2000))           # fragments that
frames.append(mac + src + b"\x08\x00" + ip(b"z" * 16, frag=0x2001))           # overlap
for k in range(40):                                                           # 40 separate pieces
    frames.append(mac + src + b"\x08\x00" + ip(b"w" * 8, frag=0x2000 | (2 * k), ident=9))
for f in frames:
    s.send(f[:1514])
print("sent", len(frames))
PY
}

# The whole exercise on one target.
exercise() {
    local target=$1 mac
    require_target "$target" udp-echo
    netns_tap "$NS" tap0 "$NET.1/24"
    TENDER_OPTS=(--net:service=tap0)
    uk_start "$NS" "$LOG" "$target" udp-echo "--ipv4=$NET.2/24" --ttl=42 --port=7
    uk_wait_line "$LOG" "service mac .* ipv4 $NET.2/24" 20
    mac=$(sed -n 's/.* service mac \([0-9a-f:]*\) ipv4 .*/\1/p;s/^service mac \([0-9a-f:]*\) ipv4 .*/\1/p' "$LOG" | head -1)
    [ -n "$mac" ]

    # Echo, with the unikernel's own TTL on the replies.
    run in_ns ping -c 3 -i 0.2 -W 2 -w 20 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    [[ "$output" == *"ttl=42 "* ]]
    run in_ns ip neigh show "$NET.2" dev tap0
    [[ "$output" == *"lladdr $mac"* ]]

    # 65000-byte pings: 45 fragments each way, reassembled on both sides.
    run in_ns ping -c 3 -i 0.3 -s 65000 -W 3 -w 30 "$NET.2"
    echo "$output"
    [ "$(ping_received "$output")" = 3 ]
    [[ "$output" == *"65008 bytes from $NET.2"* ]]

    # The TTL is on the wire too (tcpdump sees the echo reply's IP header).
    in_ns timeout 10 tcpdump -n -v -c 1 -i tap0 "icmp[icmptype] == icmp-echoreply" \
        >"$BATS_TEST_TMPDIR/dump" 2>/dev/null 3>&- &
    local dump_pid=$!
    sleep 1
    in_ns ping -c 1 -W 2 "$NET.2" >/dev/null
    wait "$dump_pid" || true
    cat "$BATS_TEST_TMPDIR/dump"
    grep -q "ttl 42," "$BATS_TEST_TMPDIR/dump"

    # UDP echo verified by content: small, one frame full, fragmented.
    head -c 100 /dev/urandom >"$BATS_TEST_TMPDIR/d100"
    head -c 1472 /dev/urandom >"$BATS_TEST_TMPDIR/d1472"
    head -c 30000 /dev/urandom >"$BATS_TEST_TMPDIR/d30000"
    udp_roundtrip "$BATS_TEST_TMPDIR/d100" 7
    udp_roundtrip "$BATS_TEST_TMPDIR/d1472" 7
    udp_roundtrip "$BATS_TEST_TMPDIR/d30000" 7
    # The same through nc -u.
    run bash -c "echo mirage-udp-echo | ip netns exec $NS timeout 5 nc -u -w 2 $NET.2 7"
    [[ "$output" == *"mirage-udp-echo"* ]]

    # A closed port answers ICMP port unreachable: the host's socket sees ECONNREFUSED.
    run in_ns python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('$NET.2', 9))
s.send(b'anyone?')
try:
    s.recv(100)
    print('answered')
except ConnectionRefusedError:
    print('refused')
except socket.timeout:
    print('timeout')
"
    echo "$output"
    [ "$output" = refused ]

    # Hostile frames do not stop it.
    run send_garbage "$mac"
    echo "$output"
    [ "$status" -eq 0 ]
    kill -0 "$UK_PID"
    run in_ns ping -c 3 -i 0.2 -W 2 -w 20 "$NET.2"
    [ "$(ping_received "$output")" = 3 ]
    udp_roundtrip "$BATS_TEST_TMPDIR/d1472" 7
}

@test "unix: udp-echo answers ping (65000-byte too), echoes UDP, refuses closed ports, shows its TTL" {
    exercise unix
}

@test "spt: udp-echo answers ping (65000-byte too), echoes UDP, refuses closed ports, shows its TTL" {
    exercise spt
}

@test "hvt: udp-echo answers ping (65000-byte too), echoes UDP, refuses closed ports, shows its TTL" {
    exercise hvt
}
