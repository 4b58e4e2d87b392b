#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP ends for the lab: a listener on the mail ports and a timed connect.

serve PORT...             accept and close on every address, v4 and v6
wait-listening PORT...    return once the ports accept on loopback (<= 5 s)
connect SRC DST PORT T    one connect from SRC, at most T seconds; prints
                          "connected MS", "refused MS" or "timeout MS"
loop SRC DST PORT N T I   N connects, one every I seconds; prints the count
                          of each result ("connected=N refused=N")
loop-until SRC DST PORT FILE T I
                          as loop, until FILE exists (at most 120 s)
"""
import errno
import os
import selectors
import socket
import sys
import time


def serve(ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()
                conn.close()
            except OSError:
                pass


def wait_listening(ports):
    deadline = time.monotonic() + 5
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("listener on port %d did not start" % port)
                time.sleep(0.02)


# A SYN padded with a 512-byte IPv6 destination-options header, so its
# TCP header lies past the daemon's copy range: two unknown skippable
# options (type 0x1e, high bits 00) of 253 data bytes each fill
# 2 + 255 + 255 = 512 bytes (hdr ext len 63).
PADDING = bytes([0, 63]) + (bytes([0x1E, 253]) + bytes(253)) * 2


def attempt(src, dst, port, timeout, padded=False):
    """One connect from src; returns (result, ms), result being
    connected, refused, timeout or error-NAME."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if padded:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, PADDING)
    s.bind((src, 0))
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.connect((dst, port))
        result = "connected"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "refused" if e.errno == errno.ECONNREFUSED else "error-%s" % errno.errorcode.get(e.errno, e.errno)
    ms = (time.monotonic() - t0) * 1000
    s.close()
    return result, ms


def counts(results):
    seen = {}
    for r in results:
        seen[r] = seen.get(r, 0) + 1
    return " ".join("%s=%d" % kv for kv in sorted(seen.items()))


def connect(src, dst, port, timeout, padded=False):
    print("%s %.1f" % attempt(src, dst, port, timeout, padded))


def loop(src, dst, port, count, timeout, interval):
    """count connects, one every interval s; prints each result's count."""
    results = []
    for _ in range(count):
        results.append(attempt(src, dst, port, timeout)[0])
        time.sleep(interval)
    print(counts(results))


def loop_until(src, dst, port, stop, timeout, interval):
    """connects every interval s until the file stop exists (120 s at
    most); prints each result's count."""
    results = []
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        results.append(attempt(src, dst, port, timeout)[0])
        time.sleep(interval)
    print(counts(results))


def burst(src, base, ndst, port, count, timeout):
    """count connects from src to port on ndst destinations base+0 ..
    base+ndst-1 (the last octet), round robin; prints result counts."""
    prefix, last = base.rsplit(".", 1)
    print(counts(attempt(src, "%s.%d" % (prefix, int(last) + i % ndst),
                         port, timeout)[0] for i in range(count)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve([int(p) for p in args])
    elif cmd == "wait-listening":
        wait_listening([int(p) for p in args])
    elif cmd == "connect-padded":
        connect(args[0], args[1], int(args[2]), float(args[3]), padded=True)
    elif cmd == "burst":
        burst(args[0], args[1], int(args[2]), int(args[3]), int(args[4]),
              float(args[5]))
    elif cmd == "loop":
        loop(args[0], args[1], int(args[2]), int(args[3]), float(args[4]),
             float(args[5]))
    elif cmd == "loop-until":
        loop_until(args[0], args[1], int(args[2]), args[3], float(args[4]),
                   float(args[5]))
    elif cmd == "connect":
        connect(args[0], args[1], int(args[2]), float(args[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
