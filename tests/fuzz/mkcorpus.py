#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the fuzz targets that take binary input:
tests/fuzz/corpus/parse/ (IPv4 and IPv6 packets as NFQUEUE hands them
over) and tests/fuzz/corpus/ctlproto/ (control-socket requests). The
policy seeds are YAML files kept by hand. Run from the repository root;
the output is deterministic, so a re-run changes nothing."""
import os
import struct

SRC4, DST4 = bytes([100, 64, 3, 7]), bytes([198, 51, 100, 9])
SRC6 = bytes.fromhex("20010db8000100000000000000000010")
DST6 = bytes.fromhex("20010db8000200000000000000000025")


def tcp(flags=0x02, dport=25, opts=b"\x02\x04\x05\xb4", doff=None):
    opts += b"\x00" * (-len(opts) % 4)
    if doff is None:
        doff = 5 + len(opts) // 4
    return struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, doff << 4, flags,
                       65535, 0, 0) + opts


def v4(payload, proto=6, frag=0x4000, ihl=5, total=None, opts=b""):
    if total is None:
        total = ihl * 4 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 0x1234, frag,
                      64, proto, 0, SRC4, DST4)
    return hdr + opts + payload


def v6(nh, body, plen=None):
    if plen is None:
        plen = len(body)
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nh, 64, SRC6,
                       DST6) + body


def ext(nh, hl=0):
    """Hop-by-hop, routing or destination options: 8 * (1 + hl) bytes."""
    return bytes([nh, hl]) + b"\x00" * (6 + 8 * hl)


def frag6(nh, offset=0, more=False):
    return struct.pack("!BBHI", nh, 0, offset << 3 | more, 0x42)


def parse_seeds():
    syn4 = v4(tcp())
    syn6 = v6(6, tcp())
    chain = ext(43, 0) + bytes([60, 2, 0, 0]) + b"\x00" * 20 + ext(6) + tcp()
    return {
        "v4_syn": syn4,
        "v4_syn_587": v4(tcp(dport=587)),
        "v4_syn_ecn": v4(tcp(flags=0xc2)),
        "v4_syn_ack": v4(tcp(flags=0x12)),
        "v4_ack": v4(tcp(flags=0x10)),
        "v4_rst": v4(tcp(flags=0x04)),
        "v4_udp": v4(b"\x9c\x40\x00\x35\x00\x08\x00\x00", proto=17),
        "v4_icmp": v4(b"\x08\x00\xf7\xff\x00\x00\x00\x00", proto=1),
        "v4_ip_options": v4(tcp(), ihl=6, opts=b"\x01\x01\x01\x00"),
        "v4_ihl_4": v4(tcp(), ihl=4),
        "v4_ihl_15": v4(tcp(), ihl=15, opts=b"\x01" * 40),
        "v4_total_1500": v4(tcp(), total=1500),
        "v4_total_short": v4(tcp(), total=30),
        "v4_doff_4": v4(tcp(doff=4)),
        "v4_doff_15": v4(tcp(opts=b"\x01" * 40)),
        "v4_doff_15_cut": v4(tcp(opts=b"\x01" * 4, doff=15), total=80),
        "v4_first_fragment": v4(tcp(), frag=0x2000),
        "v4_first_fragment_short": v4(tcp()[:8], frag=0x2000),
        "v4_later_fragment": v4(tcp(), frag=185),
        "v4_truncated": syn4[:30],
        "v4_version_5": b"\x55" + syn4[1:],
        "v6_syn": syn6,
        "v6_syn_465": v6(6, tcp(dport=465)),
        "v6_syn_ack": v6(6, tcp(flags=0x12)),
        "v6_icmp": v6(58, b"\x80\x00\x00\x00\x00\x01\x00\x01"),
        "v6_no_next": v6(59, b""),
        "v6_chain": v6(0, chain),
        "v6_ah": v6(51, bytes([6, 4]) + b"\x00" * 22 + tcp()),
        "v6_late_hop_by_hop": v6(60, ext(0) + ext(6) + tcp()),
        "v6_long_chain": v6(60, ext(60, 10) + ext(60, 10) + ext(6, 10)
                            + tcp()),
        "v6_chain_past_copy": v6(0, ext(60) + ext(6, 30) + tcp())[:256],
        "v6_first_fragment": v6(44, frag6(6, 0, True) + tcp()),
        "v6_first_fragment_short": v6(44, frag6(6, 0, True) + tcp()[:8]),
        "v6_later_fragment": v6(0, ext(44) + frag6(6, 181) + tcp()),
        "v6_atomic_fragment": v6(44, frag6(6) + tcp()),
        "v6_jumbo": v6(0, ext(6) + tcp(), plen=0),
        "v6_plen_short": v6(0, chain, plen=30),
        "v6_truncated": syn6[:50],
    }


def ctl_seeds():
    def req(*args):
        return b"".join(a + b"\n" for a in args) + b"\n"
    return {
        "stats": req(b"stats"),
        "stats_json": req(b"stats", b"--json"),
        "reload": req(b"reload"),
        "release": req(b"release", b"100.64.3.7"),
        "except_add": req(b"except", b"add", b"100.64.0.0/24", b"--note",
                          b"ACME Corp, ticket 4411"),
        "sixteen_args": req(*[b"a%d" % i for i in range(16)]),
        "seventeen_args": req(*[b"a%d" % i for i in range(17)]),
        "partial": b"stats\n",
        "empty_first": b"\n",
        "trailing": req(b"stats") + b"junk",
        "nul": b"sta\0ts\n\n",
        "crlf": b"stats\r\n\r\n",
    }


def write(folder, seeds):
    os.makedirs(folder, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


write("tests/fuzz/corpus/parse", parse_seeds())
write("tests/fuzz/corpus/ctlproto", ctl_seeds())
