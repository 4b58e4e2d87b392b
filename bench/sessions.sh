#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Session changes through the control socket against the verdict path
# (make bench-sessions; root, the lab of tests/lab.sh):
#   - how many `session start` a second the daemon takes (bench/sessload:
#     SUBS subscribers whose addresses move every round: starts, moves,
#     renewals), and their latency;
#   - the connect latency a subscriber sees (bench/tcplat, port 587: the
#     SYN judged by the daemon, its source looked up in the session
#     table) with no session traffic and during 10,000 changes a second,
#     measured in turns, REPS times each, side by side in one run.
# A verdict thread never waits for the table's writer (identity/): the
# two latencies should be alike.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/portcullis-bsess.XXXXXX)
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"
REPS=${BENCH_REPS:-3}
RATE=${SESS_RATE:-10000}
SECS=${SESS_SECS:-10}
SUBS=${SESS_SUBS:-20000}
OUT=${BENCH_OUT:-/dev/stdout}

cleanup() { daemon_stop KILL; lab_down; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "bench-sessions: needs root"; exit 1; }
lab_up || exit 1
lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
daemon_start "$WORK/policy.yaml" || exit 1
PC="$TOP/portcullis --control $WORK/control.sock"
$PC session start cust-lat $LAB_RES4 >/dev/null

lat() {	# one latency run: 2,000 connects at 200 a second
	in_sub "$TOP/build/bench/tcplat" -s $LAB_RES4 -d $LAB_DST4 -p 587 \
		-r 200 -n 2000 -w 20
}
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

{
	echo "# make bench-sessions: $(date -u +%FT%TZ), $(nproc) CPUs, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)"
	echo "# sessload -n $((RATE * SECS)) -r $RATE -s $SUBS -i 16; tcplat 2000 connects at 200/s to 587, $REPS turns each"
} >>"$OUT"
: >"$WORK/idle"; : >"$WORK/busy"; : >"$WORK/load"; : >"$WORK/read"; : >"$WORK/rload"
# load MODE OUT LATOUT: the socket load (-q: read-only) beside a latency run.
load() {
	"$TOP/build/bench/sessload" -c "$WORK/control.sock" -n $((RATE * SECS)) \
		-r "$RATE" -s "$SUBS" -i 16 $1 >>"$2" &
	lp=$!
	sleep 0.5
	lat >>"$3"
	wait $lp
}
for r in $(seq "$REPS"); do
	lat >>"$WORK/idle"
	load "" "$WORK/load" "$WORK/busy"
	load -q "$WORK/rload" "$WORK/read"
done
$PC session list cust-lat >/dev/null || echo "# cust-lat's session was moved by the load (expected: its address is in the range)" >>"$OUT"
{
	echo "## session start through the socket"
	sed 's/^/  /' "$WORK/load"
	echo "  median rate: $(field rate <"$WORK/load" | median)/s, median p50 $(field p50 <"$WORK/load" | median) us, p99 $(field p99 <"$WORK/load" | median) us"
	echo "## the same socket load read-only (session list: no change to the table)"
	sed 's/^/  /' "$WORK/rload"
	echo "## connect latency (us): idle, during the read-only load, during the session changes"
	echo "  idle:"; sed 's/^/    /' "$WORK/idle"
	echo "  read-only load:"; sed 's/^/    /' "$WORK/read"
	echo "  session changes:"; sed 's/^/    /' "$WORK/busy"
	for q in p50 p99; do
		i=$(field $q <"$WORK/idle" | median); rd=$(field $q <"$WORK/read" | median)
		b=$(field $q <"$WORK/busy" | median)
		echo "  median $q: idle $i, read-only $rd, changes $b (changes / read-only $(awk -v a="$b" -v b="$rd" 'BEGIN { printf "%.2f", a / b }'))"
	done
	echo "## the daemon"
	$PC stats | grep -i -E "session|verdict" | sed 's/^/  /'
	grep -E "sessions|VmHWM" /proc/"$DAEMON_PID"/status 2>/dev/null | sed 's/^/  /'
} >>"$OUT"
