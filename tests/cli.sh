#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line as an operator meets it: portcullis check and explain on
# the example policy and on every broken policy in tests/bad-policies/,
# portcullis log on a small block log, and every command's --help and
# usage errors (tests/cli_args.sh). No daemon needed.
set -u
cd "$(dirname "$0")/.."
PC=./portcullis
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect NAME EXIT-CODE PATTERN... -- COMMAND...: run COMMAND, compare the
# exit code, and grep its output (stdout and stderr) for each pattern.
expect() {
	name=$1 code=$2
	shift 2
	pats=""
	while [ "$1" != "--" ]; do pats="$pats
$1"; shift; done
	shift
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$code" ]; then
		bad "$name: exit $got, expected $code"; sed 's/^/    /' "$tmp/out"; return
	fi
	echo "$pats" | while IFS= read -r p; do
		[ -z "$p" ] && continue
		grep -qF -- "$p" "$tmp/out" || { echo "missing: $p" >"$tmp/miss"; }
	done
	if [ -s "$tmp/miss" ]; then
		bad "$name: $(cat "$tmp/miss")"; sed 's/^/    /' "$tmp/out"; rm -f "$tmp/miss"
	else
		ok
	fi
}

expect "check accepts the example" 0 \
	"examples/policy.yaml: OK, mode enforce" \
	"profiles:     3" \
	"subscribers:  8 IPv4 and 5 IPv6 entries (aggregates: 1 IPv4, 2 IPv6)" \
	"relays:       2" \
	-- $PC check examples/policy.yaml

soon=$(date -u -d '+3 days' +%Y-%m-%dT00:00:00Z)
cat >"$tmp/soon.yaml" <<YAML
version: 1
profiles: { residential: { ports: { 25: reject } }, business: { ports: { 25: accept } } }
subscribers:
  - { prefix: 100.64.0.0/10, profile: residential }
  - { prefix: 100.64.1.0/24, profile: business, note: pilot, expires: $soon }
  - { prefix: 100.64.2.0/24, profile: business, expires: 2099-01-01T00:00:00Z }
YAML
expect "check lists entries expiring within 7 days" 0 \
	"expiring:     1 within 7 days" \
	"100.64.1.0/24          business     $soon  \"pilot\"" \
	-- $PC check "$tmp/soon.yaml"

expect "explain: business exception with note and expiry" 0 \
	"100.64.0.20 → 203.0.113.9 port 25: accept" \
	"subscriber: 100.64.0.20 is in 100.64.0.16/28, profile business, note \"ACME Corp, ticket 4411\", expires 2027-03-01T00:00:00Z" \
	"without it: 100.64.0.0/10, profile residential" \
	"would decide: profile residential lists port 25: reject" \
	-- $PC explain examples/policy.yaml 100.64.0.20 203.0.113.9 25 --at 2026-12-01T00:00:00Z

expect "explain: the exception's expiry hands over to residential" 0 \
	"100.64.0.20 → 203.0.113.9 port 25: reject" \
	"skipped:    100.64.0.16/28 (profile business) expired at 2027-03-01T00:00:00Z" \
	"subscriber: 100.64.0.20 is in 100.64.0.0/10, profile residential" \
	-- $PC explain examples/policy.yaml 100.64.0.20 203.0.113.9 25 --at 2027-03-01T00:00:00Z

expect "explain: relay first" 0 \
	"100.64.0.5 → 192.0.2.25 port 25: accept" "(relay)" \
	-- $PC explain examples/policy.yaml 100.64.0.5 192.0.2.25 25

expect "explain: not a subscriber" 0 \
	"198.51.100.9 → 203.0.113.9 port 25: accept" "(not-subscriber)" \
	-- $PC explain examples/policy.yaml 198.51.100.9 203.0.113.9 25

expect "explain: IPv6 from the business list" 0 \
	"2001:db8:1020::9 → 2001:db8:2::1 port 25: accept" \
	"is in 2001:db8:1020::/48, profile business" \
	-- $PC explain examples/policy.yaml 2001:db8:1020::9 2001:db8:2::1 25

expect "explain: quarantined" 0 \
	"100.64.0.5 → 203.0.113.9 port 587: drop" "(quarantine)" \
	-- $PC explain examples/policy.yaml 100.64.0.5 203.0.113.9 587 --quarantined

expect "explain: bad port" 2 "PORT must be a number from 1 to 65535, found '70000'" \
	-- $PC explain examples/policy.yaml 100.64.0.5 203.0.113.9 70000
expect "explain: bad address" 2 "SRC and DST must be IPv4 or IPv6 addresses" \
	-- $PC explain examples/policy.yaml 100.64.0.500 203.0.113.9 25
expect "explain: bad time" 2 "--at: 'tomorrow' is not an RFC 3339 time" \
	-- $PC explain examples/policy.yaml 100.64.0.5 203.0.113.9 25 --at tomorrow
expect "check: missing file" 1 "examples/nonexistent.yaml" \
	"policy not loaded" -- $PC check examples/nonexistent.yaml
expect "unknown command" 2 "unknown command 'frobnicate'" -- $PC frobnicate

# Every mistake in tests/bad-policies/ fails with exactly the errors its
# .expect names; none of the 143 is lost on the way.
n=$(ls tests/bad-policies/*.yaml | wc -l)
[ "$n" -ge 143 ] || bad "tests/bad-policies: $n policies, expected at least 143"
for y in tests/bad-policies/*.yaml; do
	e=${y%.yaml}.expect
	[ -f "$e" ] || { bad "$y has no $e"; continue; }
	$PC check "$y" >"$tmp/out" 2>&1
	got=$?
	grep -v 'policy not loaded$' "$tmp/out" >"$tmp/errs"
	if [ "$got" -ne 1 ]; then
		bad "$y: exit $got, expected 1"
	elif ! cmp -s "$tmp/errs" "$e"; then
		bad "$y: errors differ from $e"; diff "$e" "$tmp/errs" | sed 's/^/    /'
	else
		ok
	fi
done

# portcullis log: a small block log, the live file and a rotation that
# gzip compressed, read back as the abuse desk would.
logdir="$tmp/log"
mkdir -p "$logdir"
B='"dport":25,"action":"reject","profile":"residential","prefix":"100.64.0.0/10"'
cat >"$logdir/blocks.jsonl.1" <<LOG
{"ts":"2025-11-27T10:00:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.9",$B}
{"ts":"2025-11-27T10:00:01.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.10",$B}
{"ts":"2025-11-27T10:00:02.000Z","event":"block","src":"100.64.9.9","dst":"203.0.113.9",$B}
{"ts":"2025-11-27T10:00:03.000Z","event":"block","src":"2001:db8:1:2::5","dst":"2001:db8:2::1","dport":25,"action":"drop","profile":"residential","prefix":"2001:db8:1::/48"}
{"ts":"2025-11-27T10:01:00.000Z","event":"detection","src":"100.64.3.7","syns":120,"distinct_destinations":30,"window_s":60}
{"ts":"2025-11-27T10:01:00.000Z","event":"quarantine","src":"100.64.3.7","until":"2099-01-01T00:00:00Z","syns":120,"distinct_destinations":30}
LOG
gzip "$logdir/blocks.jsonl.1"
two_hours_ago=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.000Z)
minutes_ago=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%S.000Z)
cat >"$logdir/blocks.jsonl" <<LOG
{"ts":"2025-11-28T09:00:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.9",$B,"lost":3}
this is not json
{"ts":"2025-11-28T09:00:30.000Z","event":"block","dst":"203.0.113.9",$B}
{"ts":"2025-11-28T09:01:00.000Z","event":"summary","src":"100.64.3.7","blocked":40,"distinct_destinations":12,"window_s":60}
{"ts":"2025-11-28T09:02:00.000Z","event":"quarantine","src":"100.64.9.9","until":"2099-01-01T00:00:00Z","syns":100,"distinct_destinations":20}
{"ts":"2025-11-28T09:03:00.000Z","event":"release","src":"100.64.9.9","reason":"manual"}
{"ts":"2025-11-28T09:04:00.000Z","event":"except","op":"add","prefix":"100.64.3.0/28","profile":"business","note":"ticket 4411"}
{"ts":"2025-11-28T09:05:00.000Z","event":"block","src":"2001:db8:1:2::6","dst":"2001:db8:2::1","dport":25,"action":"drop","profile":"residential","prefix":"2001:db8:1::/48"}
{"ts":"$two_hours_ago","event":"block","src":"100.64.5.5","dst":"203.0.113.11",$B}
{"ts":"$minutes_ago","event":"block","src":"100.64.5.6","dst":"203.0.113.11",$B}
{"ts":"2025-11-28T09:06:00.000Z","event":"blo
LOG

# --top: rows by blocked SYNs; the .gz rotation counts (first seen the 27th)
$PC log --top 4 "$logdir" >"$tmp/top" 2>"$tmp/top.err"
rc=$?
if [ $rc -ne 0 ]; then
	bad "log --top: exit $rc"; cat "$tmp/top.err"
elif awk 'NR == 2 && !($1 == "100.64.3.7" && $2 == 43 && $3 == 2 &&
	   $4 == "2025-11-27T10:00:00Z" && $6 == "until" &&
	   $7 == "2099-01-01T00:00:00Z") { exit 1 }
	 NR == 3 && !($1 == "2001:db8:1:2::/64" && $2 == 2 && $3 == 1 &&
	   $6 == "no") { exit 1 }
	 NR == 4 && !($1 == "100.64.5.5" && $2 == 1) { exit 1 }
	 NR == 5 && !($1 == "100.64.5.6" && $2 == 1) { exit 1 }' "$tmp/top" &&
     grep -q '^4 of 5 subscribers' "$tmp/top"; then
	ok
else
	bad "log --top 4: rows differ"; sed 's/^/    /' "$tmp/top"
fi
expect "log: malformed lines skipped and counted, not fatal" 0 \
	"3 malformed lines skipped in $logdir/blocks.jsonl (first: line 2)" \
	"$logdir/blocks.jsonl: the daemon lost 3 lines" \
	-- sh -c "$PC log --top 4 '$logdir' >/dev/null"

# --json: one object per subscriber, for scripts
if $PC log --top 5 --json "$logdir" 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert [r["src"] for r in rows] == ["100.64.3.7", "2001:db8:1:2::/64",
    "100.64.5.5", "100.64.5.6", "100.64.9.9"], rows
top = rows[0]
assert top["blocked"] == 43 and top["block_lines"] == 3, top
assert top["summarized"] == 40 and top["distinct_destinations"] == 2, top
assert top["first_seen"] == "2025-11-27T10:00:00.000Z", top
assert top["last_seen"] == "2025-11-28T09:01:00.000Z", top
assert top["quarantined"] is True, top
assert top["quarantined_until"] == "2099-01-01T00:00:00Z", top
assert top["detections"] == 1 and top["quarantines"] == 1, top
released = rows[4]
assert released["quarantined"] is False and released["quarantines"] == 1
assert released["blocked"] == 1, released
'; then ok; else bad "log --top --json"; fi

# --src: one subscriber's timeline in time order, the .gz first; the
# exception for its /28 belongs to it, other subscribers do not
$PC log --src 100.64.3.0/24 "$logdir" >"$tmp/tl" 2>/dev/null
if [ "$(wc -l <"$tmp/tl")" -eq 7 ] &&
   head -1 "$tmp/tl" | grep -qF '2025-11-27T10:00:00.000Z  block       100.64.3.7 → 203.0.113.9:25  reject  residential  100.64.0.0/10' &&
   grep -qF 'quarantine  100.64.3.7  quarantined until 2099-01-01T00:00:00Z (120 SYNs to 30 destinations)' "$tmp/tl" &&
   grep -qF 'summary     100.64.3.7  40 more blocked SYNs to 12 destinations in 60s' "$tmp/tl" &&
   grep -qF '[3 lines lost before this]' "$tmp/tl" &&
   tail -1 "$tmp/tl" | grep -qF 'except      add 100.64.3.0/28  profile business  "ticket 4411"' &&
   ! grep -q '100\.64\.9\.9\|100\.64\.5\.' "$tmp/tl" &&
   sort -c "$tmp/tl"; then
	ok
else
	bad "log --src 100.64.3.0/24: timeline differs"; sed 's/^/    /' "$tmp/tl"
fi
expect "log --src: IPv6 prefix, both hosts of the /64" 0 \
	"2001:db8:1:2::5 → [2001:db8:2::1]:25  drop" \
	"2001:db8:1:2::6 → [2001:db8:2::1]:25  drop" \
	-- $PC log --src 2001:db8:1::/48 "$logdir"

# --since/--until: RFC 3339 (until exclusive) and relative
$PC log --since 2025-11-28T00:00:00Z --until 2025-11-28T09:01:00Z --top 1 \
	--json "$logdir" 2>/dev/null >"$tmp/since"
if python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1 and rows[0]["src"] == "100.64.3.7", rows
assert rows[0]["blocked"] == 1 and rows[0]["quarantined"] is False, rows
assert rows[0]["first_seen"] == "2025-11-28T09:00:00.000Z", rows
' "$tmp/since"; then ok; else bad "log --since/--until"; cat "$tmp/since"; fi
$PC log --since 1h "$logdir" >"$tmp/rel" 2>/dev/null
if [ "$(wc -l <"$tmp/rel")" -eq 1 ] && grep -q "100.64.5.6 →" "$tmp/rel"; then
	ok
else
	bad "log --since 1h"; sed 's/^/    /' "$tmp/rel"
fi
# --json without --top: the matching lines themselves, in time order
if $PC log --json --src 100.64.9.9 "$logdir" 2>/dev/null | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert [l["event"] for l in lines] == ["block", "quarantine", "release"], lines
'; then ok; else bad "log --json timeline"; fi

# a file named alone is read alone, a .gz too
expect "log FILE reads that file only" 0 "3 of 3 subscribers" \
	-- $PC log --top 5 "$logdir/blocks.jsonl.1.gz"
expect "log: missing file" 1 "$tmp/nope.jsonl: No such file or directory" \
	-- $PC log "$tmp/nope.jsonl"
expect "log: --top needs a count" 2 "--top: N must be a number from 1" \
	-- $PC log --top 0 "$logdir"
expect "log: bad --since" 2 "--since: 'tomorrow' is neither an RFC 3339 time" \
	-- $PC log --since tomorrow "$logdir"
expect "log: --src with host bits" 2 "did you mean 100.64.3.0/24?" \
	-- $PC log --src 100.64.3.7/24 "$logdir"

# ---- portcullis log and sessions -----------------------------------------
# Subscriber ids on the lines, session lines, --subscriber, --top by
# subscriber and --at (who held an address): a gzip rotation and the live
# file, read as the abuse desk would.
sdir="$tmp/sessions"
mkdir -p "$sdir"
S='"event":"session"'
cat >"$sdir/blocks.jsonl.1" <<LOG
{"ts":"2026-12-01T05:00:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.9",$B}
{"ts":"2026-12-01T06:00:00.000Z",$S,"subscriber":"cust-88412","src":"100.64.3.7","state":"start","source":"kea","until":"2026-12-02T06:00:00Z"}
{"ts":"2026-12-01T07:00:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.9",$B,"subscriber":"cust-88412"}
{"ts":"2026-12-01T07:01:00.000Z","event":"summary","src":"100.64.3.7","blocked":40,"distinct_destinations":12,"window_s":60,"subscriber":"cust-88412"}
{"ts":"2026-12-01T08:00:00.000Z",$S,"subscriber":"cust-88412","src":"100.64.3.7","state":"stop","reason":"moved","source":"kea"}
{"ts":"2026-12-01T08:00:00.000Z",$S,"subscriber":"cust-9","src":"100.64.3.7","state":"start","source":"kea"}
{"ts":"2026-12-01T08:30:00.000Z",$S,"subscriber":"cust-9","src":"2001:db8:1:100::","prefix":"2001:db8:1:100::/56","state":"start","source":"radius"}
LOG
gzip "$sdir/blocks.jsonl.1"
cat >"$sdir/blocks.jsonl" <<LOG
{"ts":"2026-12-01T09:00:00.000Z","event":"block","src":"100.64.9.1","dst":"203.0.113.10",$B,"subscriber":"cust-88412"}
{"ts":"2026-12-01T09:10:00.000Z","event":"block","src":"2001:db8:1:100::5","dst":"2001:db8:2::1","dport":25,"action":"drop","profile":"residential","prefix":"2001:db8:1::/48","subscriber":"cust-9"}
{"ts":"2026-12-01T10:00:00.000Z",$S,"subscriber":"cust-9","src":"100.64.3.7","state":"start","source":"kea"}
{"ts":"2026-12-01T12:00:00.000Z",$S,"subscriber":"cust-9","src":"100.64.3.7","state":"stop","reason":"expired"}
{"ts":"2026-12-01T12:30:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.11",$B}
{"ts":"2026-12-01T12:31:00.000Z","event":"block","src":"100.64.3.7","dst":"203.0.113.11",$B,"subscriber":"cust\u0007bell"}
LOG

expect "log: session lines and subscribers in the timeline" 0 \
	'2026-12-01T06:00:00.000Z  session     100.64.3.7  start  cust-88412  from kea  expires 2026-12-02T06:00:00Z' \
	'2026-12-01T07:00:00.000Z  block       100.64.3.7 → 203.0.113.9:25  reject  residential  100.64.0.0/10  subscriber cust-88412' \
	'2026-12-01T08:00:00.000Z  session     100.64.3.7  stop (moved)  cust-88412  from kea' \
	'2026-12-01T08:30:00.000Z  session     2001:db8:1:100::/56  start  cust-9  from radius' \
	"1 malformed line skipped in $sdir/blocks.jsonl (first: line 6)" \
	-- $PC log "$sdir"
$PC log --subscriber cust-88412 "$sdir" >"$tmp/sub" 2>/dev/null
if [ "$(wc -l <"$tmp/sub")" -eq 5 ] && ! grep -q 'cust-9\b' "$tmp/sub" &&
   grep -q '100.64.9.1 → 203.0.113.10:25' "$tmp/sub"; then
	ok
else
	bad "log --subscriber cust-88412"; sed 's/^/    /' "$tmp/sub"
fi
expect "log --subscriber and --src together" 0 \
	'session     2001:db8:1:100::/56  start  cust-9' \
	'2001:db8:1:100::5 → [2001:db8:2::1]:25  drop' \
	-- $PC log --subscriber cust-9 --src 2001:db8:1:100::/56 "$sdir"
# --top: one row for a subscriber's two addresses; lines without an id
# stay the address's row
if $PC log --top 5 --json "$sdir" 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert [(r.get("subscriber"), r["src"]) for r in rows] == [
    ("cust-88412", "100.64.9.1"), (None, "100.64.3.7"),
    ("cust-9", "2001:db8:1:100::5")], rows
assert rows[0]["blocked"] == 42 and rows[0]["distinct_destinations"] == 2
assert rows[1]["blocked"] == 2 and "subscriber" not in rows[1], rows[1]
assert rows[1]["first_seen"] == "2026-12-01T05:00:00.000Z", rows[1]
'; then ok; else bad "log --top --json by subscriber"; fi
$PC log --top 5 "$sdir" >"$tmp/stop" 2>/dev/null
if awk 'NR == 2 && !($1 == "cust-88412" && $2 == 42) { exit 1 }
	NR == 3 && !($1 == "100.64.3.7" && $2 == 2) { exit 1 }' "$tmp/stop" &&
   grep -q '^3 of 3 subscribers' "$tmp/stop"; then
	ok
else
	bad "log --top by subscriber"; sed 's/^/    /' "$tmp/stop"
fi

# --at: who held an address then, across the rotation
expect "log --at: held, until the stop that moved it" 0 \
	'100.64.3.7 at 2026-12-01T07:30:00.000Z: held by cust-88412' \
	'  session   100.64.3.7, from kea' \
	'  since     2026-12-01T06:00:00.000Z' \
	'  until     2026-12-01T08:00:00.000Z (stop: moved)' \
	-- $PC log --src 100.64.3.7 --at 2026-12-01T07:30:00Z "$sdir"
expect "log --at: a start again after a restart goes on" 0 \
	'held by cust-9' '  since     2026-12-01T08:00:00.000Z' \
	'  until     2026-12-01T12:00:00.000Z (stop: expired)' \
	'  restarts  1' \
	-- $PC log --src 100.64.3.7 --at 2026-12-01T11:00:00Z "$sdir"
expect "log --at: none after it expired" 1 \
	'100.64.3.7 at 2026-12-01T13:00:00.000Z: no session held it' \
	'  before    cust-9, until 2026-12-01T12:00:00.000Z (expired)' \
	-- $PC log --src 100.64.3.7 --at 2026-12-01T13:00:00Z "$sdir"
expect "log --at: none before the first start" 1 \
	'no session held it' \
	'  after     cust-88412, from 2026-12-01T06:00:00.000Z' \
	-- $PC log --src 100.64.3.7 --at 2026-12-01T05:00:00Z "$sdir"
expect "log --at: an address no session line covers" 1 \
	'100.64.3.8 at 2026-12-01T07:00:00.000Z: no session line covers it' \
	-- $PC log --src 100.64.3.8 --at 2026-12-01T07:00:00Z "$sdir"
expect "log --at: an IPv6 address in a held prefix" 0 \
	'2001:db8:1:1ff::5 at 2026-12-01T09:00:00.000Z: held by cust-9' \
	'  session   2001:db8:1:100::/56, from radius' \
	'  until     still held where the log ends' \
	-- $PC log --src 2001:db8:1:1ff::5 --at 2026-12-01T09:00:00Z "$sdir"
if $PC log --src 100.64.3.7 --at 2026-12-01T07:30:00Z --json "$sdir" \
	2>/dev/null | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["held"] is True and o["subscriber"] == "cust-88412", o
assert o["since"] == "2026-12-01T06:00:00.000Z", o
assert o["until"] == "2026-12-01T08:00:00.000Z", o
assert o["ended_by"] == "stop" and o["reason"] == "moved", o
assert o["source"] == "kea" and o["still_held"] is False, o
assert o["expires"] == "2026-12-02T06:00:00Z", o
'; then ok; else bad "log --at --json"; fi
$PC log --src 100.64.3.7 --at 2026-12-01T13:00:00Z --json "$sdir" \
	>"$tmp/none.json" 2>/dev/null
rc=$?
if [ $rc -eq 1 ] && python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["held"] is False and o["lines"] == 5, o
assert o["before"]["subscriber"] == "cust-9", o
assert o["before"]["reason"] == "expired", o
' "$tmp/none.json"; then ok; else bad "log --at --json, none: exit $rc"; cat "$tmp/none.json"; fi

expect "log: --at needs --src" 2 "portcullis: log: --at needs --src ADDRESS" \
	"usage: portcullis log" -- $PC log --at 1h "$sdir"
expect "log: --at takes no --top" 2 "portcullis: log: --at takes no --top" \
	-- $PC log --src 100.64.3.7 --at 1h --top 3 "$sdir"
expect "log: --at takes no --since" 2 "portcullis: log: --at takes no --since" \
	-- $PC log --src 100.64.3.7 --at 1h --since 2h "$sdir"
expect "log: bad --at" 2 "--at: 'noon' is neither an RFC 3339 time" \
	-- $PC log --src 100.64.3.7 --at noon "$sdir"
expect "log: --at needs a value" 2 "portcullis: log: option '--at' needs a value" \
	-- $PC log --src 100.64.3.7 "$sdir" --at
expect "log: --subscriber needs a value" 2 \
	"portcullis: log: option '--subscriber' needs a value" \
	-- $PC log "$sdir" --subscriber
expect "log: empty --subscriber" 2 "--subscriber: '' is no subscriber id" \
	-- $PC log --subscriber '' "$sdir"
expect "log: --subscriber with a space first" 2 \
	"--subscriber: ' x' is no subscriber id: 1 to 128 printable ASCII" \
	-- $PC log --subscriber ' x' "$sdir"
expect "log --help names the new options" 0 \
	"usage: portcullis log [FILE…] [--since T] [--until T] [--src PREFIX] [--subscriber ID] [--top N] [--json]" \
	"       portcullis log [FILE…] --src ADDRESS --at T [--json]" \
	"  --subscriber ID  only the lines of this subscriber id" \
	"  --at T           with --src ADDRESS: who held that address" \
	-- $PC log --help
# ---- end of portcullis log and sessions ----------------------------------

# ---- portcullis diff -----------------------------------------------------
ddir=$tmp/diff
mkdir -p "$ddir"
cp examples/policy.yaml examples/business.list "$ddir/"
sed -e 's/587: accept }$/587: reject }/' \
    -e 's/expires: 2027-03-01T00:00:00Z/expires: 2027-04-01T00:00:00Z/' \
    -e 's/file: business.list/file: new.list/' \
    "$ddir/policy.yaml" >"$ddir/new.yaml"
grep -v 'Wide World' "$ddir/business.list" >"$ddir/new.list"
expect "diff: the same policy, nothing printed, exit 0" 0 \
	-- $PC diff "$ddir/policy.yaml" "$ddir/policy.yaml"
[ -s "$tmp/out" ] && bad "diff of the same policy printed: $(head -3 "$tmp/out")"
expect "diff: each change, file and line, exit 1" 1 \
	"profile residential port 587: accept → reject" \
	"entry 100.64.0.16/28: expires 2027-03-01T00:00:00Z → 2027-04-01T00:00:00Z (old $ddir/policy.yaml:27, new $ddir/new.yaml:27)" \
	"entry 2001:db8:1020::/48: removed, was profile business (old $ddir/business.list)" \
	"2001:db8:1020::/48 port 25: accept → reject (now decided by 2001:db8:1000::/36 (residential, new $ddir/new.yaml:24), was 2001:db8:1020::/48 (business, old $ddir/business.list))" \
	"100.112.0.0/12 port 587: accept → reject (profile residential changed)" \
	-- $PC diff "$ddir/policy.yaml" "$ddir/new.yaml"
expect "diff --json: one array, exit 1" 1 \
	'[{"kind":"profile_port","profile":"residential","port":587,"old":"accept","new":"reject"},' \
	'{"kind":"range","range":"2001:db8:1020::/48","port":25,"old":"accept","new":"reject","why":' \
	-- $PC diff "$ddir/policy.yaml" "$ddir/new.yaml" --json
$PC diff "$ddir/policy.yaml" "$ddir/new.yaml" --json | python3 -c 'import json,sys; json.load(sys.stdin)' ||
	bad "diff --json: not one JSON document"
printf 'version: 1\nprofiles: { a: { ports: { 25: bogus } } }\n' >"$ddir/bad.yaml"
expect "diff: a policy that does not load, its errors, exit 2" 2 \
	"bad.yaml:2:" \
	-- $PC diff "$ddir/policy.yaml" "$ddir/bad.yaml"
# ---- end of portcullis diff ----------------------------------------------

. tests/cli_args.sh

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
