#!/usr/bin/env python3
"""uso_peer.py: the host's side of tests/e2e/uso.bats and bench/uso.sh: UDP trains with UDP_SEGMENT.

  send HOST PORT SEGMENT COUNT     COUNT times the bytes on stdin (at most 65507) in one sendmsg
                                   each with UDP_SEGMENT = SEGMENT (0: one datagram per SEGMENT
                                   bytes, one sendto each); prints "sent N bytes in S s"
  recv HOST PORT BYTES SEGMENT     asks the unikernel's port PORT for a train ("BYTES SEGMENT"),
                                   writes what arrives to stdout (until BYTES or 5 s of
                                   silence) and "datagrams N bytes B sizes ok|bad" to stderr
  pull HOST PORT BYTES SEGMENT N   N such trains one after the other, 1 s of silence at most
                                   each; prints "got B bytes of N*BYTES in S s"
Every call is bounded: a socket timeout, and a deadline of 60 s overall.
"""
import socket
import sys
import time

UDP_SEGMENT = 103  # linux/udp.h
DEADLINE = time.monotonic() + 60


def sock_for(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(fam, socket.SOCK_DGRAM)


def send(host, port, seg, count):
    data = sys.stdin.buffer.read(65507)
    s = sock_for(host)
    start = time.monotonic()
    sent = 0
    for _ in range(count):
        if time.monotonic() > DEADLINE:
            break
        if seg:
            sent += s.sendmsg([data], [(socket.SOL_UDP, UDP_SEGMENT, seg.to_bytes(2, "little"))],
                               0, (host, port))
        else:
            sent += s.sendto(data, (host, port))
    print(f"sent {sent} bytes in {time.monotonic() - start:.6f} s", flush=True)


def ask(s, host, port, nbytes, seg):
    s.sendto(f"{nbytes} {seg}".encode(), (host, port))


def recv(host, port, nbytes, seg):
    s = sock_for(host)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(5)
    ask(s, host, port, nbytes, seg)
    got, sizes = b"", []
    while len(got) < nbytes and time.monotonic() < DEADLINE:
        try:
            d = s.recv(65535)
        except socket.timeout:
            break
        got += d
        sizes.append(len(d))
    sys.stdout.buffer.write(got)
    n = len(sizes)
    ok = n > 0 and all(x == seg for x in sizes[:-1]) and 0 < sizes[-1] <= seg
    print(f"datagrams {n} bytes {len(got)} sizes {'ok' if ok else 'bad'}", file=sys.stderr)


def pull(host, port, nbytes, seg, count):
    s = sock_for(host)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(1)
    total = 0
    start = time.monotonic()
    for _ in range(count):
        if time.monotonic() > DEADLINE:
            break
        ask(s, host, port, nbytes, seg)
        got = 0
        while got < nbytes:
            try:
                got += len(s.recv(65535))
            except socket.timeout:
                break
        total += got
    print(f"got {total} bytes of {count * nbytes} in {time.monotonic() - start:.6f} s", flush=True)


def main(argv):
    cmd, host, port = argv[1], argv[2], int(argv[3])
    if cmd == "send":
        send(host, port, int(argv[4]), int(argv[5]))
    elif cmd == "recv":
        recv(host, port, int(argv[4]), int(argv[5]))
    elif cmd == "pull":
        pull(host, port, int(argv[4]), int(argv[5]), int(argv[6]))
    else:
        sys.exit(f"usage: {argv[0]} send|recv|pull HOST PORT ...")


if __name__ == "__main__":
    main(sys.argv)
