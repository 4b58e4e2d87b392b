#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line as an operator meets it: portcullis check and explain on
# the example policy and on every broken policy in examples/bad/ and
# tests/bad-policies/.
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

# Every broken example, and every mistake in tests/bad-policies/, fails
# with exactly the errors its .expect names.
n=$(ls tests/bad-policies/*.yaml | wc -l)
[ "$n" -ge 50 ] || bad "tests/bad-policies: $n policies, expected at least 50"
for y in examples/bad/*.yaml tests/bad-policies/*.yaml; do
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

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
