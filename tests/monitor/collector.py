#!/usr/bin/env python3
# collector.py: a line-protocol collector for monitor.bats: parses every line strictly, writes each parsed sample.
"""Usage: collector.py ADDR PORT OUT SECONDS

Listens on ADDR:PORT for TCP connections (one at a time, as the monitor
makes them), reads InfluxDB line protocol and parses every line strictly:
measurement and tags with backslash escapes, integer fields (NAMEi), a
nanosecond timestamp. Each line parsed becomes one line of OUT:
  MEASUREMENT|TAG=VALUE,...|FIELD=VALUE,...|TIMESTAMP|CONNECTION
and a line that does not parse becomes "BAD <repr of the line>". Exits
after SECONDS whatever happens (the test's bound)."""
import re
import socket
import sys
import time

addr, port, out_path, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
end = time.monotonic() + seconds

NAME = r'(?:[^\\, =]|\\[\\, =])+'
LINE = re.compile(r'^(?P<m>(?:[^\\, ]|\\[\\, ])+)(?P<tags>(?:,' + NAME + '=' + NAME + r')*)'
                  r' (?P<fields>' + NAME + r'=-?[0-9]+i(?:,' + NAME + r'=-?[0-9]+i)*)'
                  r' (?P<ts>[0-9]{19})$')


def unescape(s):
    return re.sub(r'\\(.)', r'\1', s)


def parse(line):
    m = LINE.match(line)
    if not m:
        return None
    tags = re.findall(r',(' + NAME + ')=(' + NAME + ')', m.group('tags'))
    fields = re.findall(r'(?:^|,)(' + NAME + r')=(-?[0-9]+)i', m.group('fields'))
    return (unescape(m.group('m')),
            ','.join(unescape(k) + '=' + unescape(v) for k, v in tags),
            ','.join(unescape(k) + '=' + v for k, v in fields), m.group('ts'))


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(4)
conn_no = 0
with open(out_path, 'a', buffering=1) as out:
    while time.monotonic() < end:
        srv.settimeout(max(0.1, end - time.monotonic()))
        try:
            c, _ = srv.accept()
        except socket.timeout:
            break
        conn_no += 1
        buf = b''
        while time.monotonic() < end:
            c.settimeout(max(0.1, end - time.monotonic()))
            try:
                data = c.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            buf += data
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                p = parse(raw.decode('utf-8', 'replace'))
                if p is None:
                    out.write('BAD %r\n' % raw)
                else:
                    out.write('%s|%s|%s|%s|%d\n' % (p + (conn_no,)))
        c.close()
