#!/usr/bin/env python3
"""uso_peer.py: the host's side of tests/e2e/uso.bats and bench/uso.sh: UDP trains with UDP_SEGMENT.

  send HOST PORT SEGMENT COUNT     COUNT times the bytes on stdin (at most 65507) in one sendmsg
                                   each with UDP_SEGMENT = SEGMENT (0: one datagram per SEGMENT
                                   bytes, one sendto each); prints "sent N bytes in S s"
  recv HOST PORT BYTES SEGMENT     asks the unikernel's port PORT for a train ("BYTES SEGMENT"),
                                   writes what arrives to stdout (until BYTES or 5 s of
                                   silence) and "datagrams N bytes B sizes ok|bad" to stderr
  pull HOST PORT BYTES SEGMENT N   asks for N such trains at once ("BYTES SEGMENT N") and
                                   counts what arrives (UDP_GRO on: the kernel may hand over
                                   several datagrams a read) until 1 s of silence; prints
                                   "got B bytes of N*BYTES in S s"
  sink HOST PORT SECONDS           the kernel's side of the reference: counts what arrives at
                                   HOST:PORT (UDP_GRO on) until 1 s of silence after the first
                                   datagram, at most SECONDS; prints "got B bytes in S s"
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


UDP_GRO = 104  # linux/udp.h


def count_until_quiet(s, limit):
    """Bytes read from s until 1 s without any, and the seconds from the first to the last."""
    total, first, last = 0, None, None
    while time.monotonic() < DEADLINE and (first is None or time.monotonic() - first < limit):
        try:
            n = len(s.recv(65535))
        except socket.timeout:
            if first is not None:
                break
            continue
        last = time.monotonic()
        first = first or last
        total += n
    return total, (last - first) if first else 0.0


def gro_socket(host):
    s = sock_for(host)
    try:  # past net.core.rmem_max: root may (SO_RCVBUFFORCE)
        s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.setsockopt(socket.SOL_UDP, UDP_GRO, 1)
    s.settimeout(1)
    return s


def pull(host, port, nbytes, seg, count):
    s = gro_socket(host)
    s.sendto(f"{nbytes} {seg} {count}".encode(), (host, port))
    total, secs = count_until_quiet(s, 50)
    print(f"got {total} bytes of {count * nbytes} in {secs:.6f} s", flush=True)


def sink(host, port, seconds):
    s = gro_socket(host)
    s.bind((host, port))
    print("ready", flush=True)
    total, secs = count_until_quiet(s, seconds)
    print(f"got {total} bytes in {secs:.6f} s", flush=True)


def main(argv):
    cmd, host, port = argv[1], argv[2], int(argv[3])
    if cmd == "send":
        send(host, port, int(argv[4]), int(argv[5]))
    elif cmd == "recv":
        recv(host, port, int(argv[4]), int(argv[5]))
    elif cmd == "pull":
        pull(host, port, int(argv[4]), int(argv[5]), int(argv[6]))
    elif cmd == "sink":
        sink(host, port, float(argv[4]))
    else:
        sys.exit(f"usage: {argv[0]} send|recv|pull HOST PORT ...")


if __name__ == "__main__":
    main(sys.argv)
