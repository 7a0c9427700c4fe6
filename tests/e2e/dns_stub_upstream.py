#!/usr/bin/env python3
"""dns_stub_upstream.py ADDR LOG: a hostile DNS server on ADDR port 53 (UDP) for dns_stub.bats.

Every query it gets is logged to LOG as "query ID PORT NAME". Its answers, all to the port the
query came from:
  good.test   the right answer (192.0.2.77) after a row of wrong ones: from another port, another
              id, another question, a compression loop, a record cut short; each of those says
              192.0.2.66, which a stub must never take.
  worse.test  only the wrong ones: the stub has no answer.
  old.test    as a server that knows no EDNS: a query with an OPT record draws FORMERR with no
              question (RFC 6891 7); one without, the answer 192.0.2.78.
  anything    REFUSED.
Runs until killed (the test bounds it).
"""
import socket
import struct
import sys

addr, log = sys.argv[1], sys.argv[2]
main = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
main.bind((addr, 53))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind((addr, 5353))


def name_end(msg, off):
    while msg[off]:
        off += 1 + msg[off]
    return off + 1


def header(qid, flags, an):
    return struct.pack(">HHHHHH", qid, flags, 1, an, 0, 0)


def a_record(ip, owner=b"\xc0\x0c"):
    return owner + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(ip)


def wrong_answers(qid, question):
    bad = "192.0.2.66"
    other_q = b"\x04evil\x04test\x00\x00\x01\x00\x01"
    yield "port", other, header(qid, 0x8180, 1) + question + a_record(bad)
    yield "id", main, header(qid ^ 0x5555, 0x8180, 1) + question + a_record(bad)
    yield "question", main, header(qid, 0x8180, 1) + other_q + a_record(bad)
    # The answer's owner points at itself.
    loop_at = 12 + len(question)
    yield "loop", main, header(qid, 0x8180, 1) + question + a_record(
        bad, struct.pack(">H", 0xC000 | loop_at))
    yield "cut", main, (header(qid, 0x8180, 1) + question + a_record(bad))[:-2]


with open(log, "a", buffering=1) as out:
    while True:
        msg, peer = main.recvfrom(4096)
        if len(msg) < 12:
            continue
        qid = struct.unpack(">H", msg[:2])[0]
        end = name_end(msg, 12)
        question = msg[12:end + 4]
        labels, off = [], 12
        while msg[off]:
            labels.append(msg[off + 1:off + 1 + msg[off]].decode("ascii", "replace"))
            off += 1 + msg[off]
        qname = ".".join(labels).lower()
        out.write("query %d %d %s\n" % (qid, peer[1], qname))
        if qname in ("good.test", "worse.test"):
            for what, sock, m in wrong_answers(qid, question):
                sock.sendto(m, peer)
                out.write("sent wrong %s\n" % what)
            if qname == "good.test":
                main.sendto(header(qid, 0x8180, 1) + question + a_record("192.0.2.77"), peer)
        elif qname == "old.test":
            if struct.unpack(">H", msg[10:12])[0] > 0:
                main.sendto(struct.pack(">HHHHHH", qid, 0x8181, 0, 0, 0, 0), peer)
                out.write("sent formerr\n")
            else:
                main.sendto(header(qid, 0x8180, 1) + question + a_record("192.0.2.78"), peer)
        else:
            main.sendto(header(qid, 0x8185, 0) + question, peer)
