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
: >"$WORK/idle" ; : >"$WORK/busy"; : >"$WORK/load"
for r in $(seq "$REPS"); do
	lat >>"$WORK/idle"
	"$TOP/build/bench/sessload" -c "$WORK/control.sock" -n $((RATE * SECS)) \
		-r "$RATE" -s "$SUBS" -i 16 >>"$WORK/load" &
	lp=$!
	sleep 0.5
	lat >>"$WORK/busy"
	wait $lp
done
$PC session list cust-lat >/dev/null || echo "# cust-lat's session was moved by the load (expected: its address is in the range)" >>"$OUT"
{
	echo "## session start through the socket"
	sed 's/^/  /' "$WORK/load"
	echo "  median rate: $(field rate <"$WORK/load" | median)/s, median p50 $(field p50 <"$WORK/load" | median) us, p99 $(field p99 <"$WORK/load" | median) us"
	echo "## connect latency (us), idle vs during the session load"
	echo "  idle:"; sed 's/^/    /' "$WORK/idle"
	echo "  busy:"; sed 's/^/    /' "$WORK/busy"
	i50=$(field p50 <"$WORK/idle" | median); b50=$(field p50 <"$WORK/busy" | median)
	i99=$(field p99 <"$WORK/idle" | median); b99=$(field p99 <"$WORK/busy" | median)
	echo "  median p50: idle $i50, busy $b50 (ratio $(awk -v a="$b50" -v b="$i50" 'BEGIN { printf "%.2f", a / b }'))"
	echo "  median p99: idle $i99, busy $b99 (ratio $(awk -v a="$b99" -v b="$i99" 'BEGIN { printf "%.2f", a / b }'))"
	echo "## the daemon"
	$PC stats | grep -i -E "session|verdict" | sed 's/^/  /'
	grep -E "sessions|VmHWM" /proc/"$DAEMON_PID"/status 2>/dev/null | sed 's/^/  /'
} >>"$OUT"
