#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""syslog_recv.py SOCKET OUT SECONDS: a stand-in for syslogd, bound at
SOCKET (the test's own /dev/log), every datagram a line of OUT."""
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
out = open(sys.argv[2], "w", buffering=1)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        out.write(s.recv(4096).decode(errors="replace").rstrip("\n") + "\n")
    except socket.timeout:
        pass
