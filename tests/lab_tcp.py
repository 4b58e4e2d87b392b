#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP ends for the lab: a listener on the mail ports and a timed connect.

serve PORT...             accept and close on every address, v4 and v6
wait-listening PORT...    return once the ports accept on loopback (<= 5 s)
connect SRC DST PORT T    one connect from SRC, at most T seconds; prints
                          "connected MS", "refused MS" or "timeout MS"
padded-syn6 SRC DST PORT N  one raw IPv6 SYN behind an N-byte destination
                          options header (N a multiple of 8, 8 to 2048)
"""
import errno
import selectors
import socket
import struct
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


def connect(src, dst, port, timeout):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
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
    print("%s %.1f" % (result, ms))


def checksum(data):
    data += b"\0" * (len(data) % 2)
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def padded_syn6(src, dst, port, n):
    s6 = socket.inet_pton(socket.AF_INET6, src)
    d6 = socket.inet_pton(socket.AF_INET6, dst)
    tcp = struct.pack("!HHIIBBHHH", 40000 + n // 8, port, 1, 0, 5 << 4, 0x02,
                      65535, 0, 0)
    pseudo = s6 + d6 + struct.pack("!I3xB", len(tcp), socket.IPPROTO_TCP)
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    # Destination options (60), next header TCP, padded with Pad1 bytes.
    body = bytes([socket.IPPROTO_TCP, n // 8 - 1]) + b"\0" * (n - 2) + tcp
    pkt = struct.pack("!IHBB16s16s", 0x60000000, len(body), 60, 64, s6,
                      d6) + body
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(pkt, (dst, 0))
    s.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve([int(p) for p in args])
    elif cmd == "wait-listening":
        wait_listening([int(p) for p in args])
    elif cmd == "connect":
        connect(args[0], args[1], int(args[2]), float(args[3]))
    elif cmd == "padded-syn6":
        padded_syn6(args[0], args[1], int(args[2]), int(args[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
