#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The three-namespace lab of DESIGN.md, sourced by the demo and the
# end-to-end tests:
#
#   subscriber ── router ── internet
#   100.64.0.0/24           198.51.100.0/24, 2001:db8:2::/64
#   2001:db8:1::/64         relays 192.0.2.25, 2001:db8:25::25
#
# Only addresses inside namespaces made here are ever sent to. lab_down
# removes everything; callers trap it on EXIT, INT and TERM.

LAB_ID=${LAB_ID:-$$}
NS_SUB=pc-sub-$LAB_ID
NS_RT=pc-rt-$LAB_ID
NS_NET=pc-net-$LAB_ID
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Subscriber-side source addresses the tests use.
LAB_RES4=100.64.0.2		# residential (100.64.0.0/10)
LAB_BIZ4=100.64.0.20		# business exception 100.64.0.16/28
LAB_EXP4=100.64.0.40		# expired exception 100.64.0.32/28
LAB_NON4=192.0.2.77		# in no subscriber prefix
LAB_SPAM4=100.64.0.50		# residential, for spam runs
LAB_SPAMBIZ4=100.64.0.21	# business (100.64.0.16/28), for spam runs
LAB_LIST4=100.64.20.5		# business, from the list file (100.64.20.0/24)
LAB_EXC4=100.64.0.60		# residential, for live exceptions
LAB_RES6=2001:db8:1::2		# residential (2001:db8:1::/48)
LAB_BIZ6=2001:db8:1:10::2	# business exception 2001:db8:1:10::/64
LAB_NON6=2001:db8:3::7		# in no subscriber prefix
# Internet-side destinations.
LAB_DST4=198.51.100.2
LAB_DST6=2001:db8:2::2
LAB_RELAY4=192.0.2.25
LAB_RELAY6=2001:db8:25::25

in_sub() { ip netns exec "$NS_SUB" "$@"; }
in_rt() { ip netns exec "$NS_RT" "$@"; }
in_net() { ip netns exec "$NS_NET" "$@"; }

lab_down() {
	[ -n "${LAB_SERVER_PID:-}" ] && kill "$LAB_SERVER_PID" 2>/dev/null
	for ns in "$NS_SUB" "$NS_RT" "$NS_NET"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

lab_up() {
	local ns a
	for ns in "$NS_SUB" "$NS_RT" "$NS_NET"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
	ip link add sub0 netns "$NS_SUB" type veth peer name rt-sub netns "$NS_RT" || return 1
	ip link add net0 netns "$NS_NET" type veth peer name rt-net netns "$NS_RT" || return 1
	ip -n "$NS_SUB" link set sub0 up
	ip -n "$NS_NET" link set net0 up
	ip -n "$NS_RT" link set rt-sub up
	ip -n "$NS_RT" link set rt-net up
	in_rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	ip -n "$NS_RT" addr add 100.64.0.1/24 dev rt-sub
	ip -n "$NS_RT" addr add 2001:db8:1::1/64 dev rt-sub nodad
	ip -n "$NS_RT" addr add 2001:db8:1:10::1/64 dev rt-sub nodad
	ip -n "$NS_RT" route add $LAB_NON4/32 dev rt-sub
	ip -n "$NS_RT" route add $LAB_LIST4/32 dev rt-sub
	ip -n "$NS_RT" route add $LAB_NON6/128 dev rt-sub
	ip -n "$NS_RT" addr add 198.51.100.1/24 dev rt-net
	ip -n "$NS_RT" addr add 2001:db8:2::1/64 dev rt-net nodad
	ip -n "$NS_RT" route add $LAB_RELAY4/32 dev rt-net
	ip -n "$NS_RT" route add $LAB_RELAY6/128 dev rt-net

	for a in $LAB_RES4/24 $LAB_BIZ4/24 $LAB_EXP4/24 $LAB_NON4/32 \
		 $LAB_SPAM4/24 $LAB_SPAMBIZ4/24 $LAB_LIST4/32 $LAB_EXC4/24; do
		ip -n "$NS_SUB" addr add "$a" dev sub0
	done
	for a in $LAB_RES6/64 $LAB_BIZ6/64 $LAB_NON6/128; do
		ip -n "$NS_SUB" addr add "$a" dev sub0 nodad
	done
	ip -n "$NS_SUB" route add default via 100.64.0.1 dev sub0 src $LAB_RES4
	ip -n "$NS_SUB" -6 route add default via 2001:db8:1::1 dev sub0 src $LAB_RES6

	ip -n "$NS_NET" addr add $LAB_DST4/24 dev net0
	# Many destinations for spam runs: 198.51.100.10 .. 198.51.100.39.
	for a in $(seq 10 39); do
		ip -n "$NS_NET" addr add 198.51.100.$a/24 dev net0
	done
	ip -n "$NS_NET" addr add $LAB_RELAY4/32 dev net0
	ip -n "$NS_NET" addr add $LAB_DST6/64 dev net0 nodad
	ip -n "$NS_NET" addr add $LAB_RELAY6/128 dev net0 nodad
	ip -n "$NS_NET" route add default via 198.51.100.1 dev net0
	ip -n "$NS_NET" -6 route add default via 2001:db8:2::1 dev net0


	# Listeners on the mail ports, every address of the internet side.
	in_net python3 "$LAB_DIR/lab_tcp.py" serve 25 465 587 &
	LAB_SERVER_PID=$!
	in_net python3 "$LAB_DIR/lab_tcp.py" wait-listening 25 465 587
}

# lab_connect SRC DST PORT [TIMEOUT_S]: prints "connected|refused|timeout MS".
lab_connect() {
	in_sub python3 "$LAB_DIR/lab_tcp.py" connect "$1" "$2" "$3" "${4:-0.9}"
}
