#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a block log for tests/report.sh: every kind of line the daemon
writes, from subscribers with ids, bare IPv4 addresses and IPv6 /64s, over
a span given in hours, the same for a seed:

    report_log.py DIR [--hours H] [--seed N]

DIR gets blocks.jsonl (the newer half) and blocks.jsonl.1.gz (the older),
as logrotate leaves them. Among the lines: summaries with the kernel's
share, detections, quarantines ended every way (by hand, expired, by
another gateway, still in force), fallback periods, "lost" fields, one
malformed line, session lines, and a profile whose name is HTML.
"""
import argparse
import datetime
import gzip
import json
import os
import random

HOSTILE = '<script>alert(1)</script>'


def ts(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def ts_s(s):
    t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--hours', type=float, default=3)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--start', type=int, default=1795737600)  # 2026-11-27
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    t0 = a.start * 1000
    span = int(a.hours * 3600 * 1000)

    subs = []
    for i in range(12):
        subs.append({'src': '100.64.0.%d' % (i + 10),
                     'subscriber': 'cust-%d' % (1000 + i)})
    for i in range(10):
        subs.append({'src': '100.64.1.%d' % (i + 10)})
    for i in range(6):
        subs.append({'src': '2001:db8:1:%x::%x' % (i + 1, rnd.randrange(1, 999))})
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(subs))]
    profiles = ['residential', 'residential', 'business', HOSTILE]
    ports = [25, 25, 25, 465, 587, 2525]

    lines = []
    for _ in range(4000):
        s = rnd.choices(subs, weights)[0]
        v6 = ':' in s['src']
        dst = ('2001:db8:2::%x' % rnd.randrange(1, 400) if v6 else
               '198.51.100.%d' % rnd.randrange(1, 250))
        o = {'ts': None, 'event': 'block', 'src': s['src'], 'dst': dst,
             'dport': rnd.choice(ports),
             'action': rnd.choice(['reject', 'reject', 'drop']),
             'profile': rnd.choice(profiles), 'prefix': '100.64.0.0/10'}
        if rnd.random() < 0.05:
            o['mode'] = 'monitor'
        if 'subscriber' in s:
            o['subscriber'] = s['subscriber']
        lines.append((t0 + rnd.randrange(span), o))
    for _ in range(150):
        s = rnd.choices(subs, weights)[0]
        n = rnd.randrange(10, 5000)
        o = {'ts': None, 'event': 'summary', 'src': s['src'], 'blocked': n,
             'distinct_destinations': rnd.randrange(1, 300), 'window_s': 60}
        if rnd.random() < 0.5:
            o['kernel'] = rnd.randrange(0, n)
        if 'subscriber' in s:
            o['subscriber'] = s['subscriber']
        lines.append((t0 + rnd.randrange(span), o))
    # Quarantines, each after its detection, ended every way.
    ends = ['manual', 'expired', 'cluster', None, 'expired', 'manual']
    for i, end in enumerate(ends):
        s = subs[i]
        at = t0 + span * (i + 1) // (len(ends) + 2)
        until = at // 1000 + (3600 if end is None else 600)
        if end is None:
            until = a.start + 10 * 365 * 86400
        extra = {'subscriber': s['subscriber']} if 'subscriber' in s else {}
        lines.append((at - 1, dict({'ts': None, 'event': 'detection',
                                    'src': s['src'], 'syns': 812,
                                    'distinct_destinations': 377,
                                    'window_s': 60}, **extra)))
        q = dict({'ts': None, 'event': 'quarantine', 'src': s['src'],
                  'until': ts_s(until), 'syns': 812 + i,
                  'distinct_destinations': 377 + i}, **extra)
        if i == 2:
            q['gateway'] = 'gw-north-1'
        lines.append((at, q))
        if end:
            r = dict({'ts': None, 'event': 'release', 'src': s['src'],
                      'reason': end}, **extra)
            if end == 'cluster':
                r['gateway'] = 'gw-south-2'
            lines.append((at + 300000, r))
    for i in range(3):
        at = t0 + span * (2 * i + 1) // 7
        lines.append((at, {'ts': None, 'event': 'fallback',
                           'since': ts_s(at // 1000 - 40),
                           'until': ts_s(at // 1000),
                           'rejected': 118 + i, 'dropped': i,
                           'accepted': 12}))
    for s in subs[:12]:
        lines.append((t0, {'ts': None, 'event': 'session',
                           'subscriber': s['subscriber'], 'src': s['src'],
                           'state': 'start', 'source': 'kea'}))
    lines.sort(key=lambda x: x[0])
    out = []
    for k, (ms, o) in enumerate(lines):
        o['ts'] = ts(ms)
        if k % 997 == 500:
            o['lost'] = 3
        out.append(json.dumps(o, separators=(',', ':')))
    out.insert(len(out) * 3 // 4, '{"ts":"not a time","event":"block"}')
    half = len(out) // 2
    os.makedirs(a.dir, exist_ok=True)
    with gzip.open(os.path.join(a.dir, 'blocks.jsonl.1.gz'), 'wt') as f:
        f.write('\n'.join(out[:half]) + '\n')
    with open(os.path.join(a.dir, 'blocks.jsonl'), 'w') as f:
        f.write('\n'.join(out[half:]) + '\n')


if __name__ == '__main__':
    main()
