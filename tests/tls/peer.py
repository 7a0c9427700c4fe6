#!/usr/bin/env python3
"""peer.py: a TLS 1.2 client on Python's ssl (OpenSSL) for the TLS end-to-end tests.

Usage: peer.py MODE HOST PORT SNI CAFILE [BYTES]
  close     sends a line, reads its echo, then close_notify both ways (ssl unwrap)
  bulk      sends BYTES random bytes while reading them back; prints both SHA-256s and MB/s
  truncate  sends a line, reads its echo, then closes the TCP connection without close_notify
Every socket operation has a 10 s timeout. CIPHERS in the environment limits the suites.
"""
import hashlib
import os
import socket
import ssl
import sys
import time

mode, host, port, sni, cafile = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
if os.environ.get("CIPHERS"):
    ctx.set_ciphers(os.environ["CIPHERS"])
raw = socket.create_connection((host, int(port)), timeout=10)
s = ctx.wrap_socket(raw, server_hostname=sni)
print("handshake:", s.version(), s.cipher()[0])

if mode in ("close", "truncate"):
    s.sendall(b"ping\n")
    print("echo:", s.recv(100).decode().strip())
    if mode == "close":
        s.unwrap()
        print("close_notify both ways")
    raw.close()
elif mode == "bulk":
    # One thread (an SSL object is not for two): at most WINDOW bytes in flight, less than
    # both ends buffer together, or each would wait for the other to read.
    WINDOW = 128 * 1024
    data = os.urandom(int(sys.argv[6]))
    start = time.monotonic()
    got = hashlib.sha256()
    sent = n = 0
    while n < len(data):
        if sent < len(data) and sent - n < WINDOW:
            k = min(32768, len(data) - sent)
            s.sendall(data[sent:sent + k])
            sent += k
            continue
        chunk = s.recv(65536)
        if not chunk:
            break
        got.update(chunk)
        n += len(chunk)
    secs = time.monotonic() - start
    print("bulk: %d bytes each way in %.3f s: %.1f MB/s" % (n, secs, n / secs / 1e6))
    print("sent", hashlib.sha256(data).hexdigest())
    print("recv", got.hexdigest())
    s.unwrap()
    raw.close()
