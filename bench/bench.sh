#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: portcullisd against its two references, side by side in one
# run, interleaved, REPS times (the order rotates each repetition):
#
#   kernel    a DROP rule for the SYNs instead of NFQUEUE: the path's ceiling
#   minimal   bench/minimal_consumer: one recv and one verdict per packet
#   batched   bench/minimal_consumer -b: no policy, but recvmmsg and batch
#             verdicts, what any batching consumer pays the kernel
#   pcd-q1    portcullisd --queues 1 (example policy + 1M prefixes, block log)
#   pcd-q2    portcullisd --queues 2
#   shadow-q1 pcd-q1 with a shadow policy running (portcullis shadow
#             start): the same policy but 587 rejected for one /24 the
#             traffic never comes from, so every SYN is decided twice and
#             the two agree (what a shadow costs every SYN)
#   shadowall-q1  a shadow that drops what the policy rejects: every SYN
#             disagrees, is counted, and is a line or held for a summary
#
# and prints the table (median, min-max; ratios taken within each
# repetition), once with the example policy's reject verdict and once
# with drop; written to bench/results/DATE-HOST.txt (raw figures in
# DATE-HOST-VERDICT.tsv).
#
# Environment: BENCH_QUICK=1 (one short repetition), BENCH_REPS=N,
# BENCH_CONFIGS (default: see default_configs), BENCH_OUT=FILE,
# BENCH_TESTS="latency live capacity at80 cost flood" (at80 needs
# capacity; flood is its own pass, bench/flood.sh), BENCH_FLOOD_N,
# BENCH_PCD_ARGS (extra portcullisd flags, for trying a change),
# BENCH_VERDICTS (see VERDICTS), BENCH_PREFIXES (default 1000000),
# BENCH_CAP_ROUNDS (drains per capacity test); for make bench-profile,
# BENCH_PERF_ARGS (more perf record flags, e.g. -g) and BENCH_PERF_KEEP=
# PATH (keep each consumer's perf.data as PATH.CONFIG); a
# configuration NAME-qN runs $BENCH_BIN_NAME with $BENCH_ARGS_NAME, to put
# two builds or two flag sets side by side.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/build/bench
WORK=$(mktemp -d /tmp/portcullis-bench.XXXXXX)
LAB_ID=b$$
. "$TOP/tests/lab.sh"
. "$TOP/tests/daemon.sh"
. "$TOP/bench/flood.sh"

if [ -n "${BENCH_QUICK:-}" ]; then
	REPS=${BENCH_REPS:-1}
	LIVE_S=1.5 COST_S=1.5 CAP_ROUNDS=${BENCH_CAP_ROUNDS:-2} LAT_N=600
else
	REPS=${BENCH_REPS:-3}
	LIVE_S=3 COST_S=3 CAP_ROUNDS=${BENCH_CAP_ROUNDS:-4} LAT_N=2000
fi
# The verdicts for residential port 25, one pass each: reject (the
# example policy: a TCP reset the kernel builds for each SYN, the same
# work after any consumer's verdict) and drop (the policy, the minimal
# consumer and the kernel reference all drop: what the consumers
# themselves cost shows most). BENCH_VERDICTS=reject or drop for one.
VERDICTS=${BENCH_VERDICTS:-"reject drop"}
for v in $VERDICTS; do
	case $v in reject|drop) ;; *) echo "bench: BENCH_VERDICTS: reject or drop, not $v" >&2; exit 2 ;; esac
done
VERDICT=${VERDICTS%% *}
default_configs() {
	if [ "$1" = reject ]; then
		echo "kernel kernel-reject minimal batched pcd-q1 shadow-q1 pcd-q2"
	else
		echo "kernel minimal batched pcd-q1 shadow-q1 pcd-q2"
	fi
}
CONFIGS=${BENCH_CONFIGS:-$(default_configs "$VERDICT")}
COST_RATE=${BENCH_COST_RATE:-100000}	# SYN/s offered in the cost test
CAP_N=8000				# SYNs queued per queue (max_len 8192)
LAT_RATE=1000
NPREFIX=${BENCH_PREFIXES:-1000000}

# Traffic: sources spread over the generated subscriber prefixes (clear of
# the example's business ranges: every SYN is residential, rejected, and
# any that arrives downstream is a leak), many destinations, one fifth
# IPv6. The router reaches them through one neighbour on each side, so no
# neighbour resolution per address.
SRC4=100.104.0.0/13
SRC6=2001:db8:1800::/37
DST4=203.0.113.0/24
DST6=2001:db8:2::1:0/112
GEN_ARGS="-4 $SRC4 -6 $SRC6 -D $DST4 -E $DST6 -p 25 --v6 20"
RAW=$WORK/raw.tsv

CONSUMER_PID=""
LEAK_PID=""
TESTS=${BENCH_TESTS:-"latency live capacity at80 cost flood"}

want() { [[ " $TESTS " == *" $1 "* ]]; }

die() { echo "bench: $*" >&2; exit 1; }

cleanup() {
	stop_config
	[ -n "$LEAK_PID" ] && { kill "$LEAK_PID"; wait "$LEAK_PID"; } 2>/dev/null
	lab_down
	rm -rf "$WORK"
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, NFQUEUE)"
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the policy: the example plus NPREFIX generated residential prefixes

gen_prefixes() {
	python3 "$TOP/bench/prefixes.py" "$1" "$NPREFIX" "$TOP/examples/business.list"
}

make_policy() {
	local list=$BIN/bench-$NPREFIX.list
	if [ ! -s "$list" ]; then
		echo "bench: generating $NPREFIX subscriber prefixes"
		gen_prefixes "$list.tmp" && mv "$list.tmp" "$list" || die "prefix list"
	fi
	lab_policy "$TOP/examples/policy.yaml" "$WORK/policy.yaml"
	cp "$list" "$WORK/bench.list"
	sed -i "s|^  - { file: business.list, profile: business }|&\n  - { file: bench.list, profile: residential }|" "$WORK/policy.yaml"
	grep -q bench.list "$WORK/policy.yaml" || die "policy: no place for the list"
	if [ "$VERDICT" = drop ]; then
		sed -i 's/^    ports: { 25: reject, 465: accept, 587: accept }/    ports: { 25: drop, 465: accept, 587: accept }/' "$WORK/policy.yaml"
		grep -q '25: drop, 465: accept' "$WORK/policy.yaml" ||
			die "policy: no '25: reject' line in the residential profile to turn into drop"
	fi
	"$TOP/portcullis" check "$WORK/policy.yaml" >"$WORK/check.txt" || {
		cat "$WORK/check.txt" >&2; die "the bench policy does not load"; }
	# The shadow configurations' candidates (start_config).
	sed -e 's|^subscribers:|  strict:\n    ports: { 25: reject, 465: accept, 587: reject }\nsubscribers:\n  - { prefix: 100.64.0.0/24, profile: strict }|' \
		"$WORK/policy.yaml" >"$WORK/shadow.yaml"
	# Residential 25 turned over: reject ↔ drop.
	sed -e 's/^    ports: { 25: reject, 465: accept, 587: accept }/    ports: { 25: X, 465: accept, 587: accept }/' \
	    -e 's/^    ports: { 25: drop, 465: accept, 587: accept }/    ports: { 25: reject, 465: accept, 587: accept }/' \
	    -e 's/^    ports: { 25: X, 465: accept, 587: accept }/    ports: { 25: drop, 465: accept, 587: accept }/' \
		"$WORK/policy.yaml" >"$WORK/shadowall.yaml"
	! cmp -s "$WORK/policy.yaml" "$WORK/shadowall.yaml" || die "policy: no residential 25 line to turn over"
}

# --- the lab, with routes so that the generated addresses live behind one
# neighbour each

mac_of() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

bench_lab_up() {
	lab_up >/dev/null || die "could not build the lab"
	ip -n "$NS_RT" route add 100.64.0.0/10 via $LAB_RES4
	ip -n "$NS_RT" -6 route add 2001:db8:1000::/36 via $LAB_RES6
	ip -n "$NS_RT" route add $DST4 via $LAB_DST4
	ip -n "$NS_RT" -6 route add $DST6 via $LAB_DST6
	# The router's two neighbours, fixed: no resolution (and no SYN
	# held back or lost for one) during a measurement.
	ROUTER_MAC=$(mac_of "$NS_RT" rt-sub)
	ip -n "$NS_RT" neigh replace $LAB_RES4 lladdr "$(mac_of "$NS_SUB" sub0)" dev rt-sub nud permanent
	ip -n "$NS_RT" -6 neigh replace $LAB_RES6 lladdr "$(mac_of "$NS_SUB" sub0)" dev rt-sub nud permanent
	ip -n "$NS_RT" neigh replace $LAB_DST4 lladdr "$(mac_of "$NS_NET" net0)" dev rt-net nud permanent
	ip -n "$NS_RT" -6 neigh replace $LAB_DST6 lladdr "$(mac_of "$NS_NET" net0)" dev rt-net nud permanent
	[ -n "$ROUTER_MAC" ] || die "no router MAC"
	ip netns exec "$NS_NET" "$BIN/leakcount" -i net0 -p 25 -o "$WORK/leaks" &
	LEAK_PID=$!
}

leaks() {
	kill -USR1 "$LEAK_PID"
	sleep 0.25
	awk '{print $2}' "$WORK/leaks"
}

# syngen CPU ARGS...: the generator pinned to one core; prints "SENT SECONDS".
syngen() {
	local cpu=$1
	shift
	in_sub taskset -c "$cpu" "$BIN/syngen" -i sub0 -m "$ROUTER_MAC" $GEN_ARGS "$@" |
		awk '{print $2, $4}'
}

# Kernel queue counters summed over every queue: "IDS DROPPED WAITING
# USER_DROPPED". A SYN dropped because the queue was full gets no id, one
# the socket had no room for does.
qcounts() {
	in_rt "$BIN/qwatch" show |
		awk '{id += $10; drop += $6 + $8; wait += $4; ud += $8}
		     END {print id + 0, drop + 0, wait + 0, ud + 0}'
}

# Packets the kernel references' DROP (or REJECT) rules took.
kernel_drops() {
	{ in_rt iptables -nvxL FORWARD; in_rt ip6tables -nvxL FORWARD; } |
		awk '$3 == "DROP" || $3 == "REJECT" && $0 ~ /dpt:25/ {n += $1} END {print n + 0}'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- the four configurations

MIN_RULES='-I FORWARD 1 -p tcp -m mark --mark 0x40000000/0x40000000 -j REJECT --reject-with tcp-reset
-I FORWARD 2 -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 25,465,587 -j NFQUEUE --queue-num 0'

start_config() {
	CONFIG=$1
	case $1 in
	kernel)
		for t in iptables ip6tables; do
			in_rt $t -I FORWARD 1 -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j DROP
		done
		CONSUMER_PID="" ;;
	kernel-reject)
		# Not a reference of the issue: what a SYN costs when the
		# kernel answers it itself, for the design of queueing fewer.
		for t in iptables ip6tables; do
			in_rt $t -I FORWARD 1 -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j REJECT --reject-with tcp-reset
		done
		CONSUMER_PID="" ;;
	minimal|batched)
		for t in iptables ip6tables; do
			while read -r rule; do in_rt $t $rule; done <<<"$MIN_RULES"
		done
		: >"$WORK/minimal.log"
		ip netns exec "$NS_RT" "$BIN/minimal_consumer" -q 0 \
			$([ "$VERDICT" = drop ] && echo -d) $([ "$1" = batched ] && echo -b) \
			>"$WORK/minimal.log" 2>&1 &
		CONSUMER_PID=$!
		for _ in $(seq 100); do
			grep -q ready "$WORK/minimal.log" && break
			sleep 0.05
		done
		grep -q ready "$WORK/minimal.log" || die "minimal_consumer: $(cat "$WORK/minimal.log")" ;;
	shadow-q[0-9]*|shadowall-q[0-9]*)
		pcd_start "pcd-q${1##*-q}" || die "portcullisd ($1) did not start: $(cat "$WORK/daemon.log")"
		"$TOP/portcullis" --control "$WORK/control.sock" shadow start "$WORK/${1%-q*}.yaml" >"$WORK/shadow.txt" 2>&1 ||
			die "shadow start ($1): $(cat "$WORK/shadow.txt")"
		CONSUMER_PID=$DAEMON_PID ;;
	*-q[0-9]*)
		pcd_start "$1" || die "portcullisd ($1) did not start: $(cat "$WORK/daemon.log")"
		CONSUMER_PID=$DAEMON_PID ;;
	*)
		die "unknown configuration $1" ;;
	esac
}

# pcd_start NAME-qN: portcullisd with N queues; NAME pcd is this tree's,
# another NAME runs the binary in $BENCH_BIN_NAME with the flags in
# $BENCH_ARGS_NAME (comparing builds side by side in one run).
pcd_start() {
	local name=${1%-q*} queues=${1##*-q} bin=$TOP/portcullisd args=${BENCH_PCD_ARGS:-} i
	if [ "$name" != pcd ]; then
		bin=$(eval echo "\${BENCH_BIN_$name:-}")
		args=$(eval echo "\${BENCH_ARGS_$name:-}")
		[ -n "$bin" ] || bin=$TOP/portcullisd
	fi
	: >"$WORK/daemon.log"
	ip netns exec "$NS_RT" "$bin" -c "$WORK/policy.yaml" --control "$WORK/control.sock" \
		--state "$WORK/state" --user root --metrics off --queues "$queues" \
		$args >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for i in $(seq 200); do
		grep -q 'ready' "$WORK/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

stop_config() {
	case ${CONFIG:-} in
	kernel|kernel-reject|minimal|batched)
		[ -n "$CONSUMER_PID" ] && { kill "$CONSUMER_PID"; wait "$CONSUMER_PID"; } 2>/dev/null
		in_rt iptables -F FORWARD
		in_rt ip6tables -F FORWARD ;;
	*-q[0-9]*)
		daemon_stop ;;
	esac
	CONSUMER_PID=""
	CONFIG=""
}

record() { printf '%s\t%s\t%s\t%s\n' "$REP" "$CONFIG" "$1" "$2" >>"$RAW"; }

# --- the tests

# live: the generator as fast as it goes (pinned to core 0; the consumer
# has the other). With RATE, at that fixed rate instead ($1: metric prefix).
test_live() {
	local prefix=$1 rate=${2:-} sent secs l0 l1 q0 q1 k0 k1 judged drops
	l0=$(leaks)
	q0=$(qcounts)
	k0=$(kernel_drops)
	read -r sent secs <<<"$(syngen 0 -t "$LIVE_S" ${rate:+-r $rate})"
	sleep 0.3	# what is queued is judged
	q1=$(qcounts)
	k1=$(kernel_drops)
	l1=$(leaks)
	if [ -z "$CONSUMER_PID" ]; then
		judged=$((k1 - k0))
		drops=0
	else
		read -r i0 d0 _ u0 <<<"$q0"
		read -r i1 d1 w1 u1 <<<"$q1"
		judged=$((i1 - i0 - (u1 - u0) - w1))
		drops=$((d1 - d0))
	fi
	record "$prefix.offered" "$(awk -v n="$sent" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
	record "$prefix.judged" "$(awk -v n="$judged" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
	record "$prefix.qdrops" "$drops"
	record "$prefix.leaks" "$((l1 - l0))"
	: >"$WORK/blocks.jsonl"
}

# capacity: SYNs queued while the consumer is stopped, then drained alone.
test_capacity() {
	local r n=0 t=0 cpu cores=0 out d0 d1
	[ -z "$CONSUMER_PID" ] && return
	[ "${CONFIG##*-q}" = 2 ] && cores="0 1"
	read -r _ d0 _ <<<"$(qcounts)"
	for r in $(seq "$CAP_ROUNDS"); do
		kill -STOP "$CONSUMER_PID"
		for cpu in $cores; do
			syngen "$cpu" -n "$CAP_N" >/dev/null
		done
		sleep 0.1
		out=$(in_rt "$BIN/qwatch" drain "$CONSUMER_PID")
		n=$((n + $(awk '{print $2}' <<<"$out")))
		t=$(awk -v t="$t" '{printf "%.6f", t + $4}' <<<"$out")
		sleep 0.2
	done
	read -r _ d1 _ <<<"$(qcounts)"
	[ "$d1" -eq "$d0" ] || echo "bench: $CONFIG capacity: $((d1 - d0)) SYNs dropped while queued" >&2
	record cap.rate "$(awk -v n="$n" -v t="$t" 'BEGIN{printf "%.0f", n/t}')"
	record cap.us "$(awk -v n="$n" -v t="$t" 'BEGIN{printf "%.3f", t*1e6/n}')"
	: >"$WORK/blocks.jsonl"
}

# cost: the consumer's CPU (user + system, every thread) per SYN judged
# at a fixed offered rate. (The whole machine's busy time per SYN, from
# /proc/stat, was tried for the kernel references too: the softirq work
# done inside the generator's system calls made it swing tenfold between
# repetitions, so it is not shown.)
test_cost() {
	local c0 c1 q0 q1 judged
	[ -z "$CONSUMER_PID" ] && return
	q0=$(qcounts)
	c0=$(cpu_ticks "$CONSUMER_PID")
	syngen 0 -t "$COST_S" -r "$COST_RATE" -b 8 >/dev/null
	sleep 0.2
	c1=$(cpu_ticks "$CONSUMER_PID")
	q1=$(qcounts)
	read -r i0 _ _ u0 <<<"$q0"
	read -r i1 _ w1 u1 <<<"$q1"
	judged=$((i1 - i0 - (u1 - u0) - w1))
	record cost.us "$(awk -v c=$((c1 - c0)) -v n="$judged" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{printf "%.3f", c * 1e6 / hz / n}')"
	: >"$WORK/blocks.jsonl"
}

# latency: real connects to 587 at LAT_RATE/s from core 0; the kernel
# configurations queue nothing to 587, so theirs is the path with no queue.
# Where the consumer runs decides more than what it does: a thread on the
# other core is woken by an interrupt between cores, and so is the client
# after it (tens of microseconds in this VM), so a consumer left to the
# scheduler measures its placement. Each is measured on the client's core
# (lat) and on the other (latx), every thread of it moved there for the
# test; portcullisd with 2+ queues places its own threads on the core of
# the SYN, so it is measured as it runs.
test_latency() {
	local out own=""
	if [ -z "$CONSUMER_PID" ]; then
		own=1
	elif [ "${CONFIG##*-q}" -ge 2 ] 2>/dev/null &&
	     [[ " ${BENCH_PCD_ARGS:-} $(eval echo "\${BENCH_ARGS_${CONFIG%-q*}:-}") " != *" --no-pin "* ]]; then
		own=1
	fi
	if [ -n "$own" ]; then
		latency_at lat
		return
	fi
	taskset -a -p -c 0 "$CONSUMER_PID" >/dev/null
	latency_at lat
	taskset -a -p -c 1 "$CONSUMER_PID" >/dev/null
	latency_at latx
	taskset -a -p -c 0-$(($(nproc) - 1)) "$CONSUMER_PID" >/dev/null
}

latency_at() {
	local out
	out=$(in_sub taskset -c 0 "$BIN/tcplat" -s $LAB_RES4 -d $LAB_DST4 -p 587 -r $LAT_RATE -n "$LAT_N")
	record "$1.p50" "$(awk '{print $8}' <<<"$out")"
	record "$1.p99" "$(awk '{print $12}' <<<"$out")"
	record "$1.fail" "$(awk '{print $6}' <<<"$out")"
}

# --- the run

host_line() {
	printf '%s, %s cores, Linux %s' \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
		"$(nproc)" "$(uname -r)"
}

for b in syngen leakcount minimal_consumer tcplat qwatch; do
	[ -x "$BIN/$b" ] || die "$BIN/$b missing (make bench builds it)"
done
bench_lab_up

# make bench-profile: where one SYN's microseconds go, for each consumer
# of $BENCH_CONFIGS (default: the minimal one and portcullisd -q1), with
# the first verdict of $BENCH_VERDICTS (reject unless told), from
# perf sampling every core while full queues are drained (bench/profile.py).
if [ "${1:-}" = profile ]; then
	command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf)"
	[ -n "${BENCH_CONFIGS:-}" ] || CONFIGS="minimal pcd-q1"
	make_policy
	: >"$RAW"
	for c in $CONFIGS; do
		start_config "$c"
		[ -n "$CONSUMER_PID" ] || { stop_config; continue; }
		n=0
		perf record -q -e cpu-clock -F 10000 -a ${BENCH_PERF_ARGS:-} -o "$WORK/perf.data" \
			-- sleep $((CAP_ROUNDS + 3)) >/dev/null 2>&1 &
		perf_pid=$!
		sleep 1
		for r in $(seq "$CAP_ROUNDS"); do
			kill -STOP "$CONSUMER_PID"
			syngen 0 -n "$CAP_N" >/dev/null
			sleep 0.1
			out=$(in_rt "$BIN/qwatch" drain "$CONSUMER_PID")
			n=$((n + $(awk '{print $2}' <<<"$out")))
			sleep 0.3
		done
		wait "$perf_pid"
		echo "== $c: $CAP_ROUNDS drains of $CAP_N SYNs (load $(cut -d' ' -f1 /proc/loadavg))"
		python3 "$TOP/bench/profile.py" "$WORK/perf.data" "$CONSUMER_PID" "$n" 10000
		[ -n "${BENCH_PERF_KEEP:-}" ] && cp "$WORK/perf.data" "$BENCH_PERF_KEEP.$c"
		stop_config
	done
	exit 0
fi

# One pass per verdict: the interleaved repetitions, then its table.
run_pass() {
	local c k order
	VERDICT=$1
	CONFIGS=${BENCH_CONFIGS:-$(default_configs "$VERDICT")}
	RAW=$WORK/raw-$VERDICT.tsv
	: >"$RAW"
	make_policy
	echo "bench: $VERDICT: $REPS repetition(s) of: $CONFIGS (load $(cut -d' ' -f1 /proc/loadavg))"
	set -- $CONFIGS
	for REP in $(seq "$REPS"); do
		# Rotate the order each repetition, so drift spreads over all.
		order=("$@")
		k=$(( (REP - 1) % $# ))
		order=("${order[@]:$k}" "${order[@]:0:$k}")
		for c in "${order[@]}"; do
			echo "bench: $VERDICT: repetition $REP: $c"
			start_config "$c"
			want latency && test_latency
			want live && test_live live
			want capacity && test_capacity
			if want at80 && [ -n "$CONSUMER_PID" ]; then
				cap=$(awk -v r="$REP" -v c="$c" '$1==r && $2==c && $3=="cap.rate" {print $4}' "$RAW")
				[ -n "$cap" ] &&
					test_live at80 "$(awk -v c="$cap" 'BEGIN{printf "%.0f", c*0.8}')"
			fi
			want cost && test_cost
			stop_config
		done
	done
	{
		echo
		if [ "$VERDICT" = reject ]; then
			echo "== verdict reject: residential port 25 as the example policy has it (a TCP reset per SYN, built by the kernel)"
		else
			echo "== verdict drop: residential port 25 dropped (the policy, the minimal consumer and the kernel reference alike)"
		fi
		python3 "$TOP/bench/table.py" "$RAW" $CONFIGS
	} >>"$WORK/tables.txt"
	cp "$RAW" "$WORK/out-$VERDICT.tsv"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/tables.txt"
for v in $VERDICTS; do
	want latency || want live || want capacity || want cost || break
	run_pass "$v"
done
want flood && run_flood
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

OUT=${BENCH_OUT:-$TOP/bench/results/$(date -u +%Y-%m-%d)-$(hostname -s).txt}
mkdir -p "$(dirname "$OUT")"
{
	echo "portcullis bench, $START, $(hostname -s)"
	echo "machine: $(host_line)"
	echo "commit: $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet 2>/dev/null || echo '+dirty'); load before $LOAD0, after $LOAD1"
	echo "policy: examples/policy.yaml + $NPREFIX generated prefixes (residential), block log on; $REPS repetition(s)"
	cat "$WORK/tables.txt"
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
for v in $VERDICTS flood; do
	[ -f "$WORK/out-$v.tsv" ] && cp "$WORK/out-$v.tsv" "${OUT%.txt}-$v.tsv"
done
echo "bench: written to ${OUT#$TOP/}"
