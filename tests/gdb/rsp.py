#!/usr/bin/env python3
"""rsp.py: a small GDB remote-protocol client that sends mirage-hvt's --gdb stub bad packets and a Ctrl-C.

usage: rsp.py PORT bad|interrupt
Prints one line per exchange ("send ... -> got ...") and exits 0 when every
answer is the one expected, 1 naming the first that is not. Every wait is
bounded (5 s per answer).
"""
import socket
import sys
import time

TIMEOUT = 5.0


def frame(body: bytes) -> bytes:
    return b"$" + body + b"#%02x" % (sum(body) & 0xFF)


class Stub:
    def __init__(self, port):
        deadline = time.monotonic() + 10
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.ack = True

    def recv_more(self):
        data = self.s.recv(65536)
        if not data:
            raise EOFError("the stub closed the connection")
        self.buf += data

    def byte(self) -> bytes:
        """The next ack/NAK byte."""
        while not self.buf:
            self.recv_more()
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def packet(self) -> bytes:
        """The next packet's body, its checksum checked; acks it."""
        while True:
            start = self.buf.find(b"$")
            if start >= 0:
                end = self.buf.find(b"#", start)
                if end >= 0 and len(self.buf) >= end + 3:
                    body = self.buf[start + 1:end]
                    want = int(self.buf[end + 1:end + 3], 16)
                    self.buf = self.buf[end + 3:]
                    if sum(body) & 0xFF != want:
                        raise ValueError("bad checksum from the stub: %r" % body)
                    if self.ack:
                        self.s.sendall(b"+")
                    return body
            self.recv_more()

    def ask(self, body: bytes) -> bytes:
        self.s.sendall(frame(body))
        if self.ack:
            a = self.byte()
            if a != b"+":
                raise ValueError("expected '+' for %r, got %r" % (body[:40], a))
        return self.packet()


failed = []


def expect(what, got, ok):
    shown = got if len(got) < 80 else got[:60] + b"...(%d bytes)" % len(got)
    print("%s -> %s" % (what, shown.decode("latin-1")))
    if not ok:
        failed.append(what)


def bad(stub):
    # a wrong checksum is NAKed, and the packet sent again is answered
    stub.s.sendall(b"$g#00")
    a = stub.byte()
    expect("g with a wrong checksum", a, a == b"-")
    regs = stub.ask(b"g")
    expect("g again", regs, len(regs) == 2 * (17 * 8 + 7 * 4))
    rsp = int.from_bytes(bytes.fromhex(regs[7 * 16:8 * 16].decode()), "little")
    rip = int.from_bytes(bytes.fromhex(regs[16 * 16:17 * 16].decode()), "little")
    # a packet far longer than PacketSize: read to its end, answered with an error
    huge = b"m" + b"0" * 100000
    stub.s.sendall(frame(huge))
    a = stub.byte()
    r = stub.packet()
    expect("a 100 KB packet", a + r, a == b"+" and r == b"E01")
    # lengths past what a reply can hold; numbers past 64 bits
    for body in (b"m100000,100000", b"m1,ffffffffffffffff", b"m10000000000000000,1", b"M100000,2:cc"):
        r = stub.ask(body)
        expect(body.decode(), r, r.startswith(b"E"))
    # reads of page 0, the tender's first MiB, the guard page below the stack,
    # beyond guest memory, and one wrapping around the address space
    for addr, n in ((0, 8), (0x1000, 8), (rsp - 0x100000 - 0x1000, 16), (1 << 40, 8),
                    ((1 << 64) - 8, 16), (rsp - 0x100000 - 8, 16)):
        body = b"m%x,%x" % (addr, n)
        r = stub.ask(body)
        expect(body.decode(), r, r == b"E0e")
    r = stub.ask(b"M0,1:cc")
    expect("M0,1:cc", r, r == b"E0e")
    r = stub.ask(b"Z0,8,1")
    expect("Z0,8,1", r, r == b"E0e")
    # what is mapped reads fine: the stack and the entry point
    r = stub.ask(b"m%x,10" % (rsp - 16))
    expect("the stack", r, len(r) == 32)
    r = stub.ask(b"m%x,4" % rip)
    expect("the entry point", r, len(r) == 8)
    # unknown packets get the empty reply
    r = stub.ask(b"qNoSuchThing")
    expect("qNoSuchThing", r, r == b"")
    # no-ack mode, then the guest runs to its end
    r = stub.ask(b"QStartNoAckMode")
    expect("QStartNoAckMode", r, r == b"OK")
    stub.ack = False
    r = stub.ask(b"qSupported:swbreak+")
    expect("qSupported", r, b"PacketSize=1000" in r)
    stub.s.sendall(b"$?#00")
    r = stub.packet()
    expect("a wrong checksum in no-ack mode", r, r == b"E01")
    r = stub.ask(b"c")
    expect("c", r, r.startswith(b"W"))


def interrupt(stub):
    stub.s.sendall(frame(b"c"))
    if stub.byte() != b"+":
        failed.append("no ack for c")
    time.sleep(0.5)
    t0 = time.monotonic()
    stub.s.sendall(b"\x03")
    r = stub.packet()
    expect("Ctrl-C after 0.5 s (%.0f ms)" % ((time.monotonic() - t0) * 1000), r, r == b"S02")
    regs = stub.ask(b"g")
    expect("g", regs, len(regs) == 2 * (17 * 8 + 7 * 4))
    stub.s.sendall(frame(b"c"))
    stub.byte()
    time.sleep(0.2)
    stub.s.sendall(b"\x03")
    r = stub.packet()
    expect("Ctrl-C again", r, r == b"S02")
    stub.s.sendall(frame(b"k"))
    expect("k", b"", True)


def main():
    stub = Stub(int(sys.argv[1]))
    {"bad": bad, "interrupt": interrupt}[sys.argv[2]](stub)
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
