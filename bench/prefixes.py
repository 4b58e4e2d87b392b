#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""prefixes.py OUT N BUSINESS_LIST: N distinct subscriber prefixes, one a
line, into OUT, for the benches (make bench, make bench-fallback)."""
import ipaddress, random, sys
# Distinct subscriber prefixes as an ISP's CRM would export them: IPv4
# /27../32 across 100.65.0.0-100.127.255.255, IPv6 /56../64 across
# 2001:db8:1000::/36, four in five IPv4; none equal to a prefix of the
# example's business list. Fixed seed: the same list every time.
rnd = random.Random(6)
n = int(sys.argv[2])
taken = set()
for line in open(sys.argv[3]):
    line = line.split("#")[0].strip()
    if line:
        taken.add(ipaddress.ip_network(line))
out = open(sys.argv[1], "w")
out.write("# bench: %d generated subscriber prefixes\n" % n)


def emit(net):
    while net in taken:
        net = next(net.subnets(4))
    out.write("%s\n" % net)


def spread(lo, span, count, bits, lengths, version):
    step = span // count
    for i in range(count):
        ln = rnd.choice(lengths)
        size = 1 << (bits - ln)
        base = (lo + i * step + size - 1) // size * size
        if base + size > lo + (i + 1) * step:
            ln, size, base = bits, 1, lo + i * step
        emit(ipaddress.IPv4Network((base, ln)) if version == 4 else
             ipaddress.IPv6Network((base, ln)))


n4 = n * 4 // 5
lo4 = int(ipaddress.IPv4Address("100.65.0.0"))
spread(lo4, int(ipaddress.IPv4Address("100.128.0.0")) - lo4, n4, 32,
       (32, 32, 31, 30, 30, 29, 29, 28, 27), 4)
spread(int(ipaddress.IPv6Address("2001:db8:1000::")), 1 << 92, n - n4, 128,
       (56, 56, 60, 64), 6)
