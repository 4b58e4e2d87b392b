#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fragmented SYNs for the lab, crafted with scapy (Debian python3-scapy).

send CASE:SRC:DST:PORT...   (subscriber side) for each, send the case's
                            fragments from SRC, then wait 0.5 s for the
                            answer; prints "CASE SRC PORT synack=N rst=N
                            id=ID" (IPv6 addresses in [brackets])
capture IFACE OUT SECS      (internet side) every IPv4/IPv6 packet that
                            arrives on IFACE for SECS seconds, one hex
                            line each, into OUT
judge OUT SENT               for each line send printed (in the file SENT),
                            what arrived of that datagram (IP or fragment
                            id ID, from SRC): prints "CASE arrived=N
                            syn=N", syn counting the datagrams
                            that, reassembled from what arrived (each
                            fragment offset kept first, or each kept last:
                            both receivers exist), are a TCP SYN to PORT

The cases (an "attack" must not make a SYN to PORT arrive; a "legit" one
must):
  tiny8      IPv4 RFC 1858: 8 bytes of TCP in the first fragment, the
             flags in the second (offset 1)
  tiny16     IPv4: 16 bytes in the first fragment (flags there), the rest
             at offset 2
  overlap    IPv4 RFC 1858 overlap: a first fragment to PORT with ACK
             set (no SYN), then offset 1 rewrites the flags to SYN
  portswap   IPv4: a first fragment SYN to port 8080, then a second first
             fragment (offset 0 again) that says SYN to PORT
  reorder    IPv4: a whole-header SYN to PORT in two fragments, sent last
             fragment first
  v6hdr2     IPv6: a destination-options header fills the first fragment;
             the TCP header is in the second
  v6tiny     IPv6: 8 bytes of TCP in the first fragment
  v6overlap  IPv6: ACK first fragment, offset 1 rewrites it to SYN
  legit      IPv4: a SYN with 1200 bytes of data, fragmented at 576 the
             way a host does it (whole header in the first fragment)
  legit6     IPv6: the same, fragmented at 1280
"""
import binascii
import random
import sys
import time

from scapy.all import (IP, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       PadN, Raw, TCP, AsyncSniffer, conf, fragment,
                       fragment6, send)

conf.verb = 0


def syn(port, flags="S", seq=None, payload=b""):
    seq = random.randrange(1 << 32) if seq is None else seq
    return TCP(sport=random.randrange(20000, 60000), dport=port,
               flags=flags, seq=seq, window=64240) / Raw(payload)


def tcp_bytes(ip_cls, src, dst, t):
    """The TCP segment's bytes with its checksum computed for src/dst."""
    return bytes(ip_cls(src=src, dst=dst) / t)[20 if ip_cls is IP else 40:]


def v4frag(src, dst, ident, off8, data, more):
    return IP(src=src, dst=dst, id=ident, proto=6, frag=off8,
              flags="MF" if more else 0) / Raw(data)


def v6frag(src, dst, ident, off8, data, more, nh=6):
    return (IPv6(src=src, dst=dst) /
            IPv6ExtHdrFragment(nh=nh, offset=off8, m=1 if more else 0,
                               id=ident) / Raw(data))


def case_packets(case, src, dst, port, ident):
    if case == "tiny8":
        b = tcp_bytes(IP, src, dst, syn(port))
        return [v4frag(src, dst, ident, 0, b[:8], True),
                v4frag(src, dst, ident, 1, b[8:], False)]
    if case == "tiny16":
        b = tcp_bytes(IP, src, dst, syn(port))
        return [v4frag(src, dst, ident, 0, b[:16], True),
                v4frag(src, dst, ident, 2, b[16:], False)]
    if case == "overlap":
        seq = random.randrange(1 << 32)
        t = syn(port, flags="S", seq=seq, payload=b"HELO")
        good = tcp_bytes(IP, src, dst, t)          # what the attacker wants
        t.flags = "A"
        t.chksum = None
        bad = bytearray(tcp_bytes(IP, src, dst, t))
        return [v4frag(src, dst, ident, 0, bytes(bad[:24]), True),
                v4frag(src, dst, ident, 1, good[8:24], False)]
    if case == "portswap":
        seq = random.randrange(1 << 32)
        sport = random.randrange(20000, 60000)
        harmless = TCP(sport=sport, dport=8080, flags="S", seq=seq) / Raw(
            b"x" * 16)
        evil = TCP(sport=sport, dport=port, flags="S", seq=seq) / Raw(
            b"x" * 16)
        hb = tcp_bytes(IP, src, dst, harmless)
        eb = tcp_bytes(IP, src, dst, evil)
        return [v4frag(src, dst, ident, 0, hb[:24], True),
                v4frag(src, dst, ident, 0, eb[:24], True),
                v4frag(src, dst, ident, 3, eb[24:], False)]
    if case == "reorder":
        b = tcp_bytes(IP, src, dst, syn(port, payload=b"y" * 40))
        return [v4frag(src, dst, ident, 3, b[24:], False),
                v4frag(src, dst, ident, 0, b[:24], True)]
    if case == "v6hdr2":
        b = tcp_bytes(IPv6, src, dst, syn(port))
        # 8 (fragment) + 48 (options) in the first fragment: TCP after.
        opts = bytes(IPv6ExtHdrDestOpt(nh=6, options=[PadN(optdata=b"\0" * 44)]))
        assert len(opts) == 48, len(opts)
        return [v6frag(src, dst, ident, 0, opts, True, nh=60),
                v6frag(src, dst, ident, 6, b, False, nh=60)]
    if case == "v6tiny":
        b = tcp_bytes(IPv6, src, dst, syn(port))
        return [v6frag(src, dst, ident, 0, b[:8], True),
                v6frag(src, dst, ident, 1, b[8:], False)]
    if case == "v6overlap":
        seq = random.randrange(1 << 32)
        t = syn(port, flags="S", seq=seq, payload=b"HELO")
        good = tcp_bytes(IPv6, src, dst, t)
        t.flags = "A"
        t.chksum = None
        bad = tcp_bytes(IPv6, src, dst, t)
        return [v6frag(src, dst, ident, 0, bad[:24], True),
                v6frag(src, dst, ident, 1, good[8:24], False)]
    if case == "legit":
        return fragment(IP(src=src, dst=dst, id=ident) /
                        syn(port, payload=b"z" * 1200), fragsize=552)
    if case == "legit6":
        return fragment6(IPv6(src=src, dst=dst) /
                         IPv6ExtHdrFragment(id=ident) /
                         syn(port, payload=b"z" * 1600), 1280)
    sys.exit("lab_frag: unknown case %r" % case)


def cmd_send(specs):
    """specs: CASE:SRC:DST:PORT; IPv6 addresses are in brackets."""
    answers = {}
    runs = []
    for spec in specs:
        case, src, dst, port = split_spec(spec)
        ident = random.randrange(1, 1 << 16)
        runs.append((case, src, dst, port, ident))
        answers[(dst, port, src)] = {"synack": 0, "rst": 0}

    def seen(p):
        ip = p.getlayer(IPv6) or p.getlayer(IP)
        if ip is None or TCP not in p:
            return
        a = answers.get((ip.src, p[TCP].sport, ip.dst))
        if a is None:
            return
        if p[TCP].flags & 0x12 == 0x12:
            a["synack"] += 1
        elif p[TCP].flags & 0x04:
            a["rst"] += 1

    sniffer = AsyncSniffer(iface="sub0", store=False, prn=seen)
    sniffer.start()
    time.sleep(0.3)
    for case, src, dst, port, ident in runs:
        a = answers[(dst, port, src)]
        a["synack"] = a["rst"] = 0
        for p in case_packets(case, src, dst, port, ident):
            send(p, iface="sub0")
        time.sleep(0.5)
        print("%s %s %d synack=%d rst=%d id=%d" % (
            case, src, port, a["synack"], a["rst"], ident), flush=True)
    sniffer.stop()


def split_spec(spec):
    """CASE:SRC:DST:PORT, an IPv6 address in [brackets]."""
    parts = []
    rest = spec
    while rest:
        if rest.startswith("["):
            end = rest.index("]")
            parts.append(rest[1:end])
            rest = rest[end + 2:]
        else:
            head, _, rest = rest.partition(":")
            parts.append(head)
    return parts[0], parts[1], parts[2], int(parts[3])


def cmd_capture(iface, out, secs):
    f = open(out, "w", buffering=1)

    def keep(p):
        raw = bytes(p.payload)
        if raw and raw[0] >> 4 in (4, 6):
            f.write(binascii.hexlify(raw).decode() + "\n")

    sniffer = AsyncSniffer(iface=iface, store=False, prn=keep)
    sniffer.start()
    time.sleep(float(secs))
    sniffer.stop()
    f.close()


def reassemble(frags, keep_first):
    """frags: [(offset_bytes, data, more)] -> the datagram's bytes, or
    None when a hole remains."""
    buf = {}
    end = None
    for off, data, more in frags:
        if not more:
            end = off + len(data)
        for i, byte in enumerate(data):
            if keep_first and off + i in buf:
                continue
            buf[off + i] = byte
    if end is None or any(i not in buf for i in range(end)):
        return None
    return bytes(buf[i] for i in range(end))


def is_syn_to(tcp, port):
    return (len(tcp) >= 14 and (tcp[2] << 8 | tcp[3]) == port and
            tcp[13] & 0x12 == 0x02)


def arrivals(out):
    """{(src, id): [(offset, data, more, nh)]} and [(src, id, tcp)] of
    the whole datagrams in the capture."""
    groups = {}
    whole = []
    for line in open(out):
        raw = binascii.unhexlify(line.strip())
        if raw[0] >> 4 == 6:
            p = IPv6(raw)
            if IPv6ExtHdrFragment in p:
                fh = p[IPv6ExtHdrFragment]
                groups.setdefault((p.src, fh.id), []).append(
                    (fh.offset * 8, bytes(fh.payload), bool(fh.m), fh.nh))
            elif TCP in p:
                whole.append((p.src, None, bytes(p[TCP])))
        else:
            p = IP(raw)
            data = raw[p.ihl * 4:p.len]
            if p.frag or p.flags & 1:
                groups.setdefault((p.src, p.id), []).append(
                    (p.frag * 8, data, bool(p.flags & 1), p.proto))
            elif p.proto == 6:
                whole.append((p.src, p.id, data))
    return groups, whole


def syn_of(frags, port, v6):
    """Whether either reassembly of frags is a TCP SYN to port."""
    first = [f for f in frags if f[0] == 0]
    for keep_first in (True, False):
        d = reassemble([f[:3] for f in frags], keep_first)
        if d is None or not first:
            continue
        nh = (first[0] if keep_first else first[-1])[3]
        # Walk the destination options a case may put first.
        while v6 and nh == 60 and len(d) >= 2:
            hl = (d[1] + 1) * 8
            nh, d = d[0], d[hl:]
        if nh == 6 and is_syn_to(d, port):
            return True
    return False


def cmd_judge(out, sent):
    groups, whole = arrivals(out)
    for line in open(sent):
        case, src, port, _, _, ident = line.split()
        port, ident = int(port), int(ident[3:])
        v6 = ":" in src
        frags = groups.get((src, ident), [])
        # Unfragmented, the IPv6 datagram has no id to tell: a host
        # reassembled it (conntrack on): count SYNs from src to port.
        mine = [t for s_, i, t in whole if s_ == src and
                (i == ident or (v6 and i is None))]
        syns = sum(1 for t in mine if is_syn_to(t, port))
        syns += 1 if frags and syn_of(frags, port, v6) else 0
        print("%s arrived=%d syn=%d" % (case, len(frags) + len(mine), syns))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "send":
        cmd_send(args)
    elif cmd == "capture" and len(args) == 3:
        cmd_capture(*args)
    elif cmd == "judge" and len(args) == 2:
        cmd_judge(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
