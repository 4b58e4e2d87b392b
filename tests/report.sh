#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# portcullis report as the abuse desk meets it: a block log of every kind
# of line (tests/report_log.py, with a rotation in gzip and a profile whose
# name is HTML) made into a report, loaded in real headless Chromium
# (tests/browser.py): no console message, no request to any URL, the one
# script allowed by its hash and working (a header click sorts), and the
# figures in the DOM equal to portcullis log --top N --json on the same
# lines, with and without filters. The screenshot is kept in
# build/report/ for a person to look at. Then what can go wrong: a full
# disk (the old report stays whole), a folder that is not there.
set -u
cd "$(dirname "$0")/.."
PC=./portcullis
OUT=build/report
pass=0
fail=0
mkdir -p "$OUT"
tmp=$(mktemp -d)
cleanup() {
	mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() {
	local name=$1
	shift
	if "$@" >"$tmp/check.out" 2>&1; then ok; else
		bad "$name"; sed 's/^/    /' "$tmp/check.out"
	fi
}

for t in python3 chromium chromedriver; do
	command -v "$t" >/dev/null || {
		echo "report: $t is missing (sh tests/deps.sh installs it)" >&2
		exit 1
	}
done

python3 tests/report_log.py "$tmp/log" --hours 3 || exit 1
python3 tests/report_log.py "$tmp/week" --hours 170 --seed 11 || exit 1

# The figures of the top table as the browser sees them, and what the
# page is: its scripts, the hostile profile's text, a sort by a click.
cat >"$tmp/dom.js" <<'JS'
var rows = function () {
	return Array.from(document.querySelectorAll('#top-table tbody tr'))
		.map(function (r) {
			var c = r.cells;
			return { name: c[1].textContent, addr: c[2].textContent,
				 blocked: c[3].textContent,
				 blocked_v: c[3].dataset.v,
				 distinct: c[4].textContent,
				 first: c[5].textContent, last: c[6].textContent,
				 quarantined: c[7].textContent,
				 quarantines: c[8].textContent,
				 spark: c[9].querySelectorAll('rect').length };
		});
};
var before = rows();
// The first click sorts descending (the page's order), the second
// ascending: a script the CSP refused would leave it as it is.
var th = document.querySelectorAll('#top-table th')[3];
th.click();
th.click();
var after = rows();
var cards = {};
document.querySelectorAll('.card').forEach(function (c) {
	cards[c.id] = c.dataset.v;
});
return {
	rows: before,
	sorted: after.map(function (r) { return Number(r.blocked_v); }),
	cards: cards,
	scripts: document.scripts.length,
	profiles: Array.from(document.querySelectorAll('#profile-table tbody td:first-child'))
		.map(function (c) { return c.textContent; }),
	bars: document.querySelectorAll('#chart-time rect').length,
	sections: document.querySelectorAll('article').length,
	fallbacks: document.querySelectorAll('#fallback-table tbody tr').length,
	title: document.title
};
JS

# compare BROWSER.json TOP.json: the browser's figures equal log --top's.
compare() {
	python3 - "$1" "$2" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
top = json.load(open(sys.argv[2]))
res = b['result']
errs = []
if b['console']:
    errs.append('console: %r' % b['console'])
if b['requests'] or b['data_urls']:
    errs.append('requests: %r, data: URLs: %d' % (b['requests'], b['data_urls']))
if res is None:
    errs.append('no result: %r' % b.get('eval_error'))
    res = {'rows': []}
rows = res['rows']
if len(rows) != len(top):
    errs.append('%d rows, log --top has %d' % (len(rows), len(top)))
for i, (r, t) in enumerate(zip(rows, top)):
    want = {
        'name': t.get('subscriber', t['src']),
        'addr': t['src'] if 'subscriber' in t else '',
        'blocked': '{:,}'.format(t['blocked']),
        'blocked_v': str(t['blocked']),
        'distinct': '{:,}'.format(t['distinct_destinations']),
        'first': t['first_seen'], 'last': t['last_seen'],
        'quarantined': ('until ' + t['quarantined_until']) if t['quarantined'] else 'no',
        'quarantines': str(t['quarantines']),
    }
    for k, v in want.items():
        if r[k] != v:
            errs.append('row %d %s: page %r, log --top %r' % (i + 1, k, r[k], v))
    if not r['spark']:
        errs.append('row %d: no sparkline' % (i + 1))
if res.get('scripts', 1) != 1:
    errs.append('%d scripts in the page' % res['scripts'])
s = res.get('sorted', [])
if s != sorted(s):
    errs.append('two clicks on "blocked" did not sort it ascending: %r' % s[:5])
if errs:
    print('\n'.join(errs))
    sys.exit(1)
PY
}

# report_case NAME TOP FILTER...: report and log --top on the same lines
# and filters, then the page in the browser.
report_case() {
	local name=$1 top=$2 log=$3
	shift 3
	check "$name: report writes the page" \
		$PC report "$log" --top "$top" "$@" -o "$tmp/$name.html"
	$PC log "$log" --top "$top" --json "$@" >"$tmp/$name.top.json" 2>/dev/null
	if ! python3 tests/browser.py --html "$tmp/$name.html" \
	     --screenshot "$OUT/$name.png" --eval "$tmp/dom.js" \
	     >"$tmp/$name.browser.json" 2>"$tmp/$name.browser.err"; then
		bad "$name: the browser did not run: $(cat "$tmp/$name.browser.err")"
		return
	fi
	check "$name: the page in Chromium equals log --top $top --json" \
		compare "$tmp/$name.browser.json" "$tmp/$name.top.json"
	cp "$tmp/$name.html" "$OUT/$name.html"
}

report_case all 20 "$tmp/log"
report_case subscriber 20 "$tmp/log" --subscriber cust-1003
report_case window 10 "$tmp/log" --since 2026-11-27T00:30:00Z \
	--until 2026-11-27T02:00:00Z
report_case v6 20 "$tmp/log" --src 2001:db8:1::/48
report_case week 30 "$tmp/week"

# The page itself: every kind of figure there, the hostile profile as
# text, the CSP naming the script's own hash and allowing nothing else.
check "all: the page holds every section's figures" python3 - \
	"$tmp/all.browser.json" "$tmp/all.html" <<'PY'
import base64, hashlib, json, re, sys
b = json.load(open(sys.argv[1]))['result']
page = open(sys.argv[2]).read()
errs = []
def want(cond, what):
    if not cond:
        errs.append(what)
want('<script>alert(1)</script>' in b['profiles'],
     'the HTML profile is not shown as text: %r' % b['profiles'])
want(b['sections'] == 6, '%d quarantine sections, 6 in the log' % b['sections'])
want(b['fallbacks'] == 3, '%d fallback rows, 3 in the log' % b['fallbacks'])
want(b['bars'] > 100, 'only %d rects in the time chart' % b['bars'])
want(b['cards'].get('total-lost') == '12', 'lines lost: %r' % b['cards'])
want(b['cards'].get('total-malformed') == '1', 'malformed: %r' % b['cards'])
want(b['cards'].get('total-quarantines') == '6', 'quarantines: %r' % b['cards'])
want('One bar a minute' in page, 'a 3-hour log is not drawn by the minute')
for how in ('released by hand (portcullis release)', 'expired at',
            'released by another gateway', 'in force</span> where the lines end',
            '(gw-south-2)', 'gateway gw-north-1',
            'within its detection window of 60 s'):
    want(how in page, 'no quarantine says %r' % how)
m = re.search(r"<script>(.*?)</script>", page, re.S)
h = base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode()
csp = re.search(r'Content-Security-Policy content="([^"]*)"', page).group(1)
want("default-src 'none'" in csp, 'the CSP lets things load: ' + csp)
want("'sha256-%s'" % h in csp,
     "the CSP does not name the script's hash %s (report_script_sha256 "
     "in cli/report_html.c): %s" % (h, csp))
want('http://' not in page and 'https://' not in page, 'the page names a URL')
if errs:
    print('\n'.join(errs)); sys.exit(1)
PY
check "week: a 7-day log is drawn by the hour" \
	grep -q 'One bar a hour' "$tmp/week.html"

# A full disk: the report fails, says so, and the old one stays whole.
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=64k tmpfs "$tmp/full" 2>/dev/null; then
	echo "the report of yesterday" >"$tmp/full/r.html"
	$PC report "$tmp/week" --top 10000 -o "$tmp/full/r.html" \
		>"$tmp/full.out" 2>&1
	code=$?
	check "full disk: exit 1" test "$code" -eq 1
	check "full disk: says why" grep -q "No space left on device" "$tmp/full.out"
	check "full disk: the old report is whole" \
		grep -qx "the report of yesterday" "$tmp/full/r.html"
	check "full disk: no temporary file left" \
		test "$(ls "$tmp/full")" = r.html
	umount "$tmp/full"
else
	bad "full disk: cannot mount a tmpfs (root is needed)"
fi
$PC report "$tmp/log" -o "$tmp/nofolder/r.html" >"$tmp/nf.out" 2>&1
code=$?
check "no such folder: exit 1 and the name" \
	bash -c "[ $code -eq 1 ] && grep -q 'nofolder/r.html: No such file or directory' '$tmp/nf.out'"
(umask 027 && $PC report "$tmp/log" -o "$tmp/mode.html" 2>/dev/null)
check "the page's mode follows the umask (027: 640)" \
	test "$(stat -c %a "$tmp/mode.html")" = 640
$PC report "$tmp/log" -o - 2>/dev/null | tail -c 200 >"$tmp/stdout.tail"
check "-o - writes the page to stdout" grep -q '</html>' "$tmp/stdout.tail"

# Review: a report of the past (--until) says when it was made, not the
# period's end; a fallback period's length is a length; -o - on a full
# disk fails as -o FILE does.
cat >"$tmp/rv.jsonl" <<'LOG'
{"ts":"2026-11-27T00:00:00.000Z","event":"block","src":"100.64.0.1","dst":"198.51.100.1","dport":25,"action":"reject","profile":"x","prefix":"100.64.0.0/10"}
{"ts":"2026-11-27T00:02:00.000Z","event":"fallback","since":"2026-11-26T23:00:00Z","until":"2026-11-27T00:00:00Z","rejected":1,"dropped":2,"accepted":3}
LOG
$PC report "$tmp/rv.jsonl" --until 2026-11-27T00:30:00Z -o "$tmp/rv.html" 2>/dev/null
check "review: made is now, not the --until" bash -c \
	"grep -q '<dt>made</dt><dd>$(date -u +%Y)-' '$tmp/rv.html' &&
	 ! grep -q '<dt>made</dt><dd>2026-11-27T00:30:00Z' '$tmp/rv.html'"
check "review: a fallback's length is a span, not its since" \
	grep -q '<td data-v="3600">60 min</td>' "$tmp/rv.html"
if [ -w /dev/full ]; then
	$PC report "$tmp/rv.jsonl" -o - >/dev/full 2>"$tmp/rvfull.out"
	code=$?
	check "review: -o - on a full disk: exit 1, says why" bash -c \
		"[ $code -eq 1 ] && grep -q 'No space left' '$tmp/rvfull.out'"
fi

# Review: a summary's count may be UINT64_MAX (the parser's bound): the
# totals do not wrap to a small number and the chart's bars stay in it.
cat >"$tmp/rvbig.jsonl" <<'LOG'
{"ts":"2026-11-27T00:00:00.000Z","event":"block","src":"100.64.0.1","dst":"198.51.100.1","dport":25,"action":"reject","profile":"x","prefix":"100.64.0.0/10"}
{"ts":"2026-11-27T00:01:00.000Z","event":"summary","src":"100.64.0.2","blocked":18446744073709551615,"distinct_destinations":1,"window_s":60}
LOG
$PC report "$tmp/rvbig.jsonl" -o "$tmp/rvbig.html" 2>/dev/null
check "review: UINT64_MAX blocked: the totals saturate, the bars fit" \
	python3 - "$tmp/rvbig.html" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
errs = []
m = re.search(r'id="total-blocked" data-v="(\d+)"', page)
if not m or m.group(1) != str(2**64 - 1):
    errs.append('total-blocked: %r' % (m and m.group(1)))
chart = re.search(r'<svg id=chart-time.*?</svg>', page, re.S).group(0)
for r in re.findall(r'<rect [^>]*>', chart):
    y = float(re.search(r' y="([-0-9.]+)"', r).group(1))
    h = float(re.search(r' height="([-0-9.]+)"', r).group(1))
    if y < 0 or y + h > 240:
        errs.append('a bar out of the chart: ' + r)
if len(re.findall(r'text-anchor="end">[0-9,]+</text>', chart)) < 2:
    errs.append('the y axis has one tick only')
if errs:
    print('\n'.join(errs)); sys.exit(1)
PY

# Review: -o a FIFO or a device writes into it, as a shell's > does, and
# never renames a file over it (-o /dev/null as root made /dev/null a
# file; a FIFO's reader got nothing).
mkfifo "$tmp/rv.fifo"
cat "$tmp/rv.fifo" >"$tmp/rv.fifo.out" &
reader=$!
timeout 20 $PC report "$tmp/rv.jsonl" -o "$tmp/rv.fifo" 2>/dev/null
code=$?
# The reader ends at the writer's close, once it has copied the rest: wait
# for it (10 s at most: a report that never opened the FIFO leaves it
# blocked), not kill it at once.
for _ in $(seq 100); do kill -0 "$reader" 2>/dev/null || break; sleep 0.1; done
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
check "review: -o FIFO: exit 0, the page through it, still a FIFO" bash -c \
	"[ $code -eq 0 ] && [ -p '$tmp/rv.fifo' ] &&
	 grep -q '</html>' '$tmp/rv.fifo.out'"
if mknod "$tmp/rv.null" c 1 3 2>/dev/null; then
	$PC report "$tmp/rv.jsonl" -o "$tmp/rv.null" 2>/dev/null
	code=$?
	check "review: -o a device (/dev/null's): exit 0, still the device" \
		bash -c "[ $code -eq 0 ] && [ -c '$tmp/rv.null' ] &&
			 [ \$(ls '$tmp' | grep -c '^rv.null') -eq 1 ]"
fi

# Review: times at the parser's ends (year 0000 +23:59, 9999 -23:59): the
# time axis' labels are whole minutes however wide the year is.
cat >"$tmp/rvfar.jsonl" <<'LOG'
{"ts":"0000-01-01T00:00:00.000+23:59","event":"block","src":"100.64.0.1","dst":"198.51.100.1","dport":25,"action":"reject","profile":"x","prefix":"100.64.0.0/10"}
{"ts":"9999-12-31T23:59:59.999-23:59","event":"block","src":"100.64.0.1","dst":"198.51.100.1","dport":25,"action":"reject","profile":"x","prefix":"100.64.0.0/10"}
LOG
$PC report "$tmp/rvfar.jsonl" -o "$tmp/rvfar.html" 2>/dev/null
check "review: far times: the axis labels are whole minutes" \
	python3 - "$tmp/rvfar.html" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
chart = re.search(r'<svg id=chart-time.*?</svg>', page, re.S).group(0)
labels = re.findall(r'text-anchor="(?:start|middle|end)">([^<]*Z)</text>', chart)
bad = [l for l in labels if not re.fullmatch(r'-?\d{3,5}-\d\d-\d\dT\d\d:\d\dZ', l)]
if len(labels) != 5 or bad:
    print('labels: %r' % labels); sys.exit(1)
PY

# Review: a quarantine extended (a second quarantine line while in force,
# as a peer's new until writes) and then released: the earlier one says
# it was extended, not that it is in force.
cat >"$tmp/rvext.jsonl" <<'LOG'
{"ts":"2026-11-27T00:00:00.000Z","event":"quarantine","src":"100.64.0.1","until":"2036-11-27T00:00:00Z","syns":5,"distinct_destinations":3}
{"ts":"2026-11-27T00:01:00.000Z","event":"quarantine","src":"100.64.0.1","until":"2036-11-28T00:00:00Z","syns":5,"distinct_destinations":3,"gateway":"gw-2"}
{"ts":"2026-11-27T00:02:00.000Z","event":"release","src":"100.64.0.1","reason":"manual"}
LOG
$PC report "$tmp/rvext.jsonl" -o "$tmp/rvext.html" 2>/dev/null
check "review: an extended quarantine is not 'in force' after the release" \
	bash -c "! grep -q 'in force' '$tmp/rvext.html' &&
		 grep -q 'extended at 2026-11-27T00:01:00.000Z' '$tmp/rvext.html'"

echo "report: $pass passed, $fail failed (screenshots in $OUT/)"
[ "$fail" -eq 0 ]
