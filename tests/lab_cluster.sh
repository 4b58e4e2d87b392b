#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The many-gateways lab (DESIGN.md "Many gateways", "Test lab"), sourced
# by tests/e2e_cluster.sh and bench/cluster.sh:
#
#   pcc-suba ── pcc-rta (gw-a) ──┬── pcc-inet  198.51.100.5, .10-.39: 25 465 587
#   100.64.0.0/24                │
#   pcc-subb ── pcc-rtb (gw-b) ──┘
#   100.64.1.0/24    │ 192.0.2.1, .2
#                    └── pcc-nats  nats-server ×3, JetStream, clustered
#                                  192.0.2.10 .11 .12 (4222, 6222, 8222)
#
# Only addresses inside namespaces made here are ever sent to. cl_down
# removes everything (processes first); callers trap it on EXIT.
# Needs: $WORK (a scratch folder), $TOP (the source tree).

CL_ID=${CL_ID:-$$}
NS_NATS=pcc-nats-$CL_ID
NS_RTA=pcc-rta-$CL_ID
NS_RTB=pcc-rtb-$CL_ID
NS_SUBA=pcc-suba-$CL_ID
NS_SUBB=pcc-subb-$CL_ID
NS_INET=pcc-inet-$CL_ID
CL_NSES="$NS_SUBA $NS_SUBB $NS_RTA $NS_RTB $NS_INET $NS_NATS"
CL_NATS_IP=(192.0.2.10 192.0.2.11 192.0.2.12)
CL_NATS_PID=("" "" "")
CL_NATS_URLS="nats://192.0.2.10:4222, nats://192.0.2.11:4222, nats://192.0.2.12:4222"
CL_DST=198.51.100.5		# the internet's mail host (.1, .2: the routers; .10-.39: spam runs)
CL_LISTEN_PID=""
declare -A CL_GW_PID=()		# a, b: the daemons' pids
CL_LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# cl_ns a|b|c rt|sub: the namespace of gateway a or b's router or
# subscribers (c: a third gateway, in B's router while B is stopped).
cl_ns() {
	case $1$2 in
	art) echo "$NS_RTA" ;; brt | crt) echo "$NS_RTB" ;;
	asub) echo "$NS_SUBA" ;; bsub) echo "$NS_SUBB" ;;
	esac
}

# cl_now_ms: the wall clock in milliseconds (the block log's clock too).
cl_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

cl_down() {
	local g i ns
	trap '' PIPE
	for g in "${!CL_GW_PID[@]}"; do
		[ -n "${CL_GW_PID[$g]}" ] || continue
		disown "${CL_GW_PID[$g]}" 2>/dev/null
		kill -9 "${CL_GW_PID[$g]}" 2>/dev/null
	done
	for i in 0 1 2; do
		[ -n "${CL_NATS_PID[$i]}" ] && kill -9 "${CL_NATS_PID[$i]}" 2>/dev/null
	done
	[ -n "$CL_LISTEN_PID" ] && kill "$CL_LISTEN_PID" 2>/dev/null
	for ns in $CL_NSES; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	wait 2>/dev/null
	return 0
}

# cl_up: the six namespaces, their links and addresses, the listeners.
cl_up() {
	local ns g n a
	for ns in $CL_NSES; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
	done
	for ns in "$NS_NATS" "$NS_INET"; do
		ip -n "$ns" link add br0 type bridge || return 1
		ip -n "$ns" link set br0 up
	done
	n=1
	for g in a b; do
		local rt sub
		rt=$(cl_ns $g rt) sub=$(cl_ns $g sub)
		ip link add nats0 netns "$rt" type veth peer name r$g netns "$NS_NATS" || return 1
		ip link add inet0 netns "$rt" type veth peer name r$g netns "$NS_INET" || return 1
		ip link add sub0 netns "$rt" type veth peer name eth0 netns "$sub" || return 1
		ip -n "$NS_NATS" link set r$g master br0 up
		ip -n "$NS_INET" link set r$g master br0 up
		for a in nats0 inet0 sub0; do ip -n "$rt" link set $a up; done
		ip -n "$sub" link set eth0 up
		ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
		ip -n "$rt" addr add 192.0.2.$n/24 dev nats0
		ip -n "$rt" addr add 198.51.100.$n/24 dev inet0
		ip -n "$rt" addr add 100.64.$((n - 1)).1/24 dev sub0
		n=$((n + 1))
	done
	for a in "${CL_NATS_IP[@]}"; do
		ip -n "$NS_NATS" addr add "$a/24" dev br0
	done
	ip -n "$NS_INET" addr add $CL_DST/24 dev br0
	ip -n "$NS_INET" route add 100.64.0.0/24 via 198.51.100.1
	ip -n "$NS_INET" route add 100.64.1.0/24 via 198.51.100.2
	for a in $(seq 10 39); do
		ip -n "$NS_INET" addr add 198.51.100.$a/24 dev br0
	done
	ip netns exec "$NS_INET" python3 "$CL_LAB_DIR/lab_tcp.py" serve 25 465 587 &
	CL_LISTEN_PID=$!
	ip netns exec "$NS_INET" python3 "$CL_LAB_DIR/lab_tcp.py" wait-listening 25 465 587
}

# cl_sub_addr a|b ADDRESS...: give gateway a or b's subscribers addresses
# (in its /24), routed through its router.
cl_sub_addr() {
	local g=$1 ns a n
	ns=$(cl_ns "$g" sub)
	shift
	for a in "$@"; do
		ip -n "$ns" addr add "$a/24" dev eth0 || return 1
	done
	n=0
	[ "$g" = b ] && n=1
	ip -n "$ns" route replace default via 100.64.$n.1 dev eth0
}

# cl_nats_start I: node I (0-2) of the NATS cluster, its store in
# $WORK/nats/nI (kept across restarts), its log $WORK/nats/nI.log.
cl_nats_start() {
	local i=$1 ip=${CL_NATS_IP[$1]}
	mkdir -p "$WORK/nats/n$i"
	ip netns exec "$NS_NATS" nats-server -a "$ip" -p 4222 -m 8222 \
		-n "pcc-n$i" -js -sd "$WORK/nats/n$i" --cluster_name pcc \
		--cluster "nats://$ip:6222" \
		--routes "nats://${CL_NATS_IP[0]}:6222,nats://${CL_NATS_IP[1]}:6222,nats://${CL_NATS_IP[2]}:6222" \
		>>"$WORK/nats/n$i.log" 2>&1 &
	CL_NATS_PID[$i]=$!
	# Killed on purpose: no job notice from bash (tail --pid waits).
	disown "${CL_NATS_PID[$i]}"
}

# cl_nats_stop I [SIGNAL]: node I stopped (TERM: cleanly; KILL: a crash).
cl_nats_stop() {
	local i=$1
	[ -n "${CL_NATS_PID[$i]}" ] || return 0
	kill "-${2:-TERM}" "${CL_NATS_PID[$i]}" 2>/dev/null
	timeout 10 tail --pid="${CL_NATS_PID[$i]}" -f /dev/null
	CL_NATS_PID[$i]=""
}

# cl_nats_leader: the JetStream meta leader's name, as the running nodes
# see it; fails while any of them has none or they disagree.
cl_nats_leader() {
	local i l seen=""
	for i in 0 1 2; do
		[ -n "${CL_NATS_PID[$i]}" ] || continue
		# /jsz's one "leader" is meta_cluster's.
		l=$(ip netns exec "$NS_NATS" curl -s --max-time 1 \
			"http://${CL_NATS_IP[$i]}:8222/jsz" |
			sed -n 's/.*"leader": *"\([^"]*\)".*/\1/p' | head -n 1)
		[ -n "$l" ] || return 1
		[ -z "$seen" ] || [ "$seen" = "$l" ] || return 1
		seen=$l
	done
	[ -n "$seen" ] && echo "$seen"
}

# cl_nats_ready: every running node healthy with JetStream, one meta
# leader agreed on.
cl_nats_ready() {
	local i
	for i in 0 1 2; do
		[ -n "${CL_NATS_PID[$i]}" ] || continue
		ip netns exec "$NS_NATS" curl -sf --max-time 1 \
			"http://${CL_NATS_IP[$i]}:8222/healthz?js-enabled-only=true" >/dev/null || return 1
	done
	cl_nats_leader >/dev/null
}

# cl_nats_healthy: every running node's full /healthz ok: JetStream on,
# and its streams (the bucket's) current, as NATS itself judges ready.
cl_nats_healthy() {
	local i
	for i in 0 1 2; do
		[ -n "${CL_NATS_PID[$i]}" ] || continue
		ip netns exec "$NS_NATS" curl -sf --max-time 1 \
			"http://${CL_NATS_IP[$i]}:8222/healthz" >/dev/null || return 1
	done
}

# cl_nats_stream_leader STREAM: the index (0-2) of the node leading
# STREAM, as any running node reports it; fails when none does.
cl_nats_stream_leader() {
	local i l
	for i in 0 1 2; do
		[ -n "${CL_NATS_PID[$i]}" ] || continue
		l=$(ip netns exec "$NS_NATS" curl -s --max-time 1 \
			"http://${CL_NATS_IP[$i]}:8222/jsz?accounts=true&streams=true" |
			python3 -c 'import json,sys
try:
    for a in json.load(sys.stdin).get("account_details", []):
        for s in a.get("stream_detail", []):
            if s["name"] == sys.argv[1] and s.get("cluster", {}).get("leader"):
                print(s["cluster"]["leader"]); sys.exit(0)
except Exception: pass' "$1" 2>/dev/null)
		case $l in pcc-n[012]) echo "${l#pcc-n}"; return 0 ;; esac
	done
	return 1
}
cl_nats_stream_has_leader() {
	local l
	l=$(cl_nats_stream_leader "$1") && [ -n "${CL_NATS_PID[$l]}" ]
}

# cl_wait SECONDS COMMAND...: until COMMAND succeeds, every 50 ms, at
# most SECONDS; the time it took in CL_WAITED_MS.
# shellcheck disable=SC2034 # CL_WAITED_MS is the callers'
cl_wait() {
	local t0 n i
	t0=$(cl_now_ms)
	n=$(awk -v s="$1" 'BEGIN { print int(s * 20) + 1 }')
	shift
	for ((i = 0; i < n; i++)); do
		if "$@"; then
			CL_WAITED_MS=$(($(cl_now_ms) - t0))
			return 0
		fi
		sleep 0.05
	done
	CL_WAITED_MS=$(($(cl_now_ms) - t0))
	return 1
}

# cl_nats_up: the three nodes, waited for (at most 20 s).
cl_nats_up() {
	local i
	for i in 0 1 2; do cl_nats_start $i; done
	cl_wait 20 cl_nats_ready
}

# cl_policy a|b OUT [EXTRA_YAML]: the gateway's policy, its block log in
# $WORK/gwX/blocks.jsonl, its cluster gw-X in bucket pcctest.
cl_policy() {
	local g=$1 out=$2
	cat >"$out" <<EOF
version: 1
mode: enforce

profiles:
  residential:
    ports: { 25: reject, 465: accept, 587: accept }
    default: accept
  business:
    ports: { 25: accept, 465: accept, 587: accept }
  quarantine:
    ports: { 25: drop, 465: drop, 587: drop }

subscribers:
  - { prefix: 100.64.0.0/16, profile: residential }

detection:
  ports: [25]
  window: 60s
  syns: ${CL_DET_SYNS:-10}
  distinct_destinations: ${CL_DET_DISTINCT:-5}
  action: quarantine
  quarantine_for: 1h
  profile: quarantine

log:
  blocks: $WORK/gw$g/blocks.jsonl
  syslog: false
  per_subscriber: 10/s

cluster:
  nats: [$CL_NATS_URLS]
  gateway: ${CL_GATEWAY:-gw-$g}
  bucket: pcctest
EOF
}

# cl_gw_start a|b [STATE_DIR [ARGS...]]: portcullisd in router a or b,
# its files in $WORK/gwX/, waited for until ready (CL_GW_WAIT_S, 10 s).
cl_gw_start() {
	local g=$1 state=${2:-$WORK/gw$1/state} i
	shift
	[ $# -gt 0 ] && shift
	mkdir -p "$WORK/gw$g"
	[ -f "$WORK/gw$g/policy.yaml" ] || cl_policy "$g" "$WORK/gw$g/policy.yaml"
	: >"$WORK/gw$g/daemon.log"
	ip netns exec "$(cl_ns "$g" rt)" "$TOP/portcullisd" -c "$WORK/gw$g/policy.yaml" \
		--control "$WORK/gw$g/control.sock" --state "$state" --user root \
		"$@" >>"$WORK/gw$g/daemon.log" 2>&1 &
	CL_GW_PID[$g]=$!
	for ((i = 0; i < ${CL_GW_WAIT_S:-10} * 20; i++)); do
		grep -q 'ready' "$WORK/gw$g/daemon.log" && return 0
		kill -0 "${CL_GW_PID[$g]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "portcullisd ($g) did not become ready:" >&2
	sed 's/^/    /' "$WORK/gw$g/daemon.log" >&2
	return 1
}

# cl_gw_stop a|b [SIGNAL]: stop it, wait (at most 10 s); its exit status.
cl_gw_stop() {
	local g=$1 rc
	[ -n "${CL_GW_PID[$g]:-}" ] || return 0
	kill "-${2:-TERM}" "${CL_GW_PID[$g]}" 2>/dev/null
	timeout 10 tail --pid="${CL_GW_PID[$g]}" -f /dev/null
	wait "${CL_GW_PID[$g]}" 2>/dev/null
	rc=$?
	CL_GW_PID[$g]=""
	return $rc
}

# cl_pc a|b ARGS...: portcullis against gateway a or b's daemon.
cl_pc() {
	local g=$1
	shift
	timeout 10 "$TOP/portcullis" --control "$WORK/gw$g/control.sock" "$@"
}

# cl_cstat a|b FIELD: stats --json's cluster.FIELD (true/false for bools,
# strings unquoted). Read in the shell: a Python start costs more than
# a poll's 50 ms here.
cl_cstat() {
	local j re
	j=$(cl_pc "$1" stats --json 2>/dev/null) || return 1
	re='"cluster": *\{([^}]*)\}'
	[[ $j =~ $re ]] || return 1
	j=${BASH_REMATCH[1]}
	re="\"$2\": *(\"[^\"]*\"|[^ ,]*)"
	[[ $j =~ $re ]] || return 1
	j=${BASH_REMATCH[1]}
	j=${j#\"}
	echo "${j%\"}"
}

# cl_connected a|b [true|false]: whether the gateway says so.
cl_connected() { [ "$(cl_cstat "$1" connected)" = "${2:-true}" ]; }

# cl_metrics a|b: the gateway's metrics (the default 127.0.0.1:9638).
cl_metrics() {
	ip netns exec "$(cl_ns "$1" rt)" curl -s --max-time 5 http://127.0.0.1:9638/metrics
}

# cl_connect a|b SRC DST PORT [TIMEOUT]: "connected|refused|timeout MS".
cl_connect() {
	ip netns exec "$(cl_ns "$1" sub)" python3 "$CL_LAB_DIR/lab_tcp.py" \
		connect "$2" "$3" "$4" "${5:-0.5}"
}
# cl_conn_is a|b SRC DST PORT RESULT [TIMEOUT]: whether the connect ends
# so: connected, refused or timeout. curl, not lab_tcp.py: the polls
# need a connect that starts in milliseconds.
cl_conn_is() {
	local rc got
	ip netns exec "$(cl_ns "$1" sub)" curl -s -o /dev/null --interface "$2" \
		--connect-timeout "${6:-0.3}" -m 1 "http://$3:$4/"
	rc=$?
	case $rc in
	7) got=refused ;;
	28) got=timeout ;;
	0 | 52 | 56) got=connected ;;	# the listener closes at once
	*) got=error-$rc ;;
	esac
	[ "$got" = "$5" ]
}

# cl_burst a|b SRC [COUNT]: a spam run to 25 on 10 hosts, enough to be
# quarantined with the lab's thresholds; prints the results' counts.
cl_burst() {
	ip netns exec "$(cl_ns "$1" sub)" python3 "$CL_LAB_DIR/lab_tcp.py" \
		burst "$2" 198.51.100.10 10 25 "${3:-12}" 0.2
}

# cl_kq_list a|b SET: the kernel quarantine's set, one element a line.
cl_kq_list() {
	ip netns exec "$(cl_ns "$1" rt)" nft list set inet PORTCULLIS_kq "$2" 2>/dev/null |
		tr -d '\n' | sed -n 's/.*elements = {\(.*\)}.*/\1/p' | tr ',' '\n' |
		sed 's/^[[:space:]]*//'
}
# cl_kq_in a|b ELEM: whether the IPv4 set holds ELEM ("100.64.1.7 . 25").
cl_kq_in() { cl_kq_list "$1" kq4 | grep -q "^$2 counter "; }
cl_kq_out() { ! cl_kq_in "$@"; }

# cl_quarantined a|b ID: whether `portcullis quarantine` lists ID.
cl_quarantined() { cl_pc "$1" quarantine 2>/dev/null | grep -qw -- "$2"; }
cl_not_quarantined() { ! cl_quarantined "$@"; }
