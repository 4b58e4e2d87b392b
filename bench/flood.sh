#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The flood case of make bench (sourced by bench.sh, which provides the
# lab, syngen, start_config, stop_config, qcounts and the policy):
# FLOOD_N quarantined subscribers flood port 25 from the generator's core,
# REPS times, the order rotating, with
#
#   kernel     a DROP rule for the SYNs (the ceiling)
#   pcd-q1     portcullisd: the kernel quarantine drops them
#   nokq-q1    portcullisd --no-kernel-quarantine: every SYN to the daemon
#
# reporting SYN/s blocked (by a rule or a verdict, so accounted for),
# the daemon's CPU per second, and what its block log accounts for: block
# lines plus summaries' "blocked" over the SYNs that reached the router
# (a counting rule in mangle PREROUTING, the kernel's twin of leakcount),
# for the whole run (detection and flood).

FLOOD_N=${BENCH_FLOOD_N:-200}
FLOOD_SRC=100.104.0.0		# FLOOD_N addresses from here, residential
BENCH_ARGS_nokq="--no-kernel-quarantine"
FLOOD_COUNT="-p tcp --tcp-flags SYN,ACK SYN --dport 25"

# SYNs to 25 that reached the router since the counters were zeroed.
arrived() {
	in_rt iptables -t mangle -nvxL PREROUTING | awk '/dpt:25/ {n += $1} END {print n + 0}'
}

# What the kernel quarantine's rules blocked (its nf_tables table's
# counted rules, and the chain's rule for other ports).
kq_drops() {
	{ in_rt nft list chain inet PORTCULLIS_kq forward 2>/dev/null |
		sed -n 's/.* counter packets \([0-9]*\) .*/\1/p'
	  in_rt iptables -nvxL PORTCULLIS 2>/dev/null |
		awk '/quarantine port/ {print $1}'; } | awk '{n += $1} END {print n + 0}'
}

# block lines + summaries' blocked of the flood's sources in the log.
accounted() {
	python3 - "$WORK/blocks.jsonl" "$FLOOD_SRC" "$FLOOD_N" <<'PY'
import ipaddress, json, sys
base = int(ipaddress.ip_address(sys.argv[2]))
srcs = {str(ipaddress.ip_address(base + i)) for i in range(int(sys.argv[3]))}
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("src") not in srcs:
        continue
    if e["event"] == "block":
        n += 1
    elif e["event"] == "summary":
        n += e["blocked"]
print(n)
PY
}

flood_one() {
	local c=$1 sent secs a0 a1 k0 k1 q0 q1 c0 c1 judged held cpu acc
	in_rt iptables -t mangle -Z PREROUTING
	: >"$WORK/blocks.jsonl"
	start_config "$c"
	if [ -n "$CONSUMER_PID" ]; then
		# The run that gets them quarantined: 150 SYNs each to many
		# destinations, then a second for the kernel's sets.
		syngen 0 -4 "$FLOOD_SRC/24" -S "$FLOOD_N" --v6 0 \
			-n $((FLOOD_N * 150)) -r 20000 >/dev/null
		sleep 1.5
		held=$("$TOP/portcullis" --control "$WORK/control.sock" quarantine --json |
			python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
		[ "$held" -eq "$FLOOD_N" ] ||
			echo "bench: flood: $c: $held of $FLOOD_N quarantined" >&2
	fi
	a0=$(arrived)
	k0=$(kq_drops)
	q0=$(qcounts)
	[ -n "$CONSUMER_PID" ] && c0=$(cpu_ticks "$CONSUMER_PID")
	read -r sent secs <<<"$(syngen 0 -4 "$FLOOD_SRC/24" -S "$FLOOD_N" --v6 0 -t "$LIVE_S")"
	[ -n "$CONSUMER_PID" ] && c1=$(cpu_ticks "$CONSUMER_PID")
	sleep 0.3	# what is queued is judged
	a1=$(arrived)
	k1=$(kq_drops)
	q1=$(qcounts)
	if [ -z "$CONSUMER_PID" ]; then
		judged=$(kernel_drops)
		cpu=0
	else
		read -r i0 _ _ u0 <<<"$q0"
		read -r i1 _ w1 u1 <<<"$q1"
		judged=$((k1 - k0 + i1 - i0 - (u1 - u0) - w1))
		cpu=$(awk -v c=$((c1 - c0)) -v s="$secs" -v hz="$(getconf CLK_TCK)" \
			'BEGIN{printf "%.2f", c * 100 / hz / s}')
	fi
	record flood.offered "$(awk -v n="$sent" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
	record flood.arrived "$(awk -v n=$((a1 - a0)) -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
	record flood.blocked "$(awk -v n="$judged" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
	record flood.cpu "$cpu"
	stop_config	# the daemon's last counts and summaries are written
	if [ "$c" != kernel ]; then
		CONFIG=$c	# stop_config forgot it
		acc=$(accounted)
		record flood.accounted "$(awk -v n="$acc" -v a="$(arrived)" 'BEGIN{printf "%.4f", a ? n/a : 0}')"
	fi
}

run_flood() {
	local order k c
	CONFIGS="kernel pcd-q1 nokq-q1"
	RAW=$WORK/raw-flood.tsv
	: >"$RAW"
	VERDICT=drop
	make_policy
	in_rt iptables -t mangle -I PREROUTING 1 $FLOOD_COUNT
	echo "bench: flood: $REPS repetition(s) of: $CONFIGS (load $(cut -d' ' -f1 /proc/loadavg))"
	set -- $CONFIGS
	for REP in $(seq "$REPS"); do
		order=("$@")
		k=$(( (REP - 1) % $# ))
		order=("${order[@]:$k}" "${order[@]:0:$k}")
		for c in "${order[@]}"; do
			echo "bench: flood: repetition $REP: $c"
			CONFIG=$c
			flood_one "$c"
		done
	done
	in_rt iptables -t mangle -D PREROUTING $FLOOD_COUNT
	{
		echo
		echo "== flood: $FLOOD_N quarantined subscribers flood port 25 from one core for ${LIVE_S} s (SYN/s; cpu: the daemon's, % of a core; accounted: block lines + summaries over SYNs that reached the router, whole run)"
		python3 "$TOP/bench/table.py" "$RAW" $CONFIGS
	} >>"$WORK/tables.txt"
	cp "$RAW" "$WORK/out-flood.tsv"
}
