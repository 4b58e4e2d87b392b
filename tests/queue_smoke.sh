#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Real packets through netlink/queue.c (not wired into make check yet).
# Three network namespaces made here and removed on exit:
#
#   subscriber 100.64.0.2/24 ── router 100.64.0.1 | 198.51.100.1 ── internet 198.51.100.2/24
#
# The internet side listens on 25 and 587. Packets go only to these
# addresses, only inside these namespaces.
#
# A: the router's FORWARD queues SYNs to port 25 (plain iptables, the
#    reject rule for the mark first); queue_smoke rejects everything with
#    repeat+mark. A connect to 198.51.100.2:25 must be refused in 100 ms.
# B: the same with the generated ruleset (rules_install, twice): 25
#    fail-closed to the served queue, 587 fail-open to a queue nobody
#    serves. 25 refused, 587 connects (bypass); with queue_smoke stopped,
#    25 times out (no daemon, no port 25) and 587 still connects.
# C (MEASURE=1): a SYN flood through the queue, verdicts batched per
#    burst against one sendmsg each; CPU time per packet.
#
# Usage: sudo tests/queue_smoke.sh   (from the top folder, after make)
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "queue_smoke: needs root" >&2; exit 1; }

B=build
SUB=pcsmoke-sub-$$
RTR=pcsmoke-rtr-$$
NET=pcsmoke-net-$$
LOG=$(mktemp -d /tmp/queue_smoke.XXXXXX)
PROG=$B/tests/queue_smoke
QPID=
LPID=
fail=0

cleanup() {
	set +e		# a failed kill or wait must not skip the rest
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	for ns in "$SUB" "$RTR" "$NET"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$LOG"
}
trap cleanup EXIT INT TERM

make -s "$B/libportcullis.a"
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -O2 -g \
	-o "$PROG" tests/queue_smoke.c "$B/libportcullis.a" \
	$(pkg-config --libs libnetfilter_queue libmnl)

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ip netns add "$SUB"
ip netns add "$RTR"
ip netns add "$NET"
ip -n "$SUB" link add s0 type veth peer name r0 netns "$RTR"
ip -n "$NET" link add n0 type veth peer name r1 netns "$RTR"
for ns in "$SUB" "$RTR" "$NET"; do ip -n "$ns" link set lo up; done
ip -n "$SUB" addr add 100.64.0.2/24 dev s0
ip -n "$SUB" link set s0 up
ip -n "$SUB" route add default via 100.64.0.1
ip -n "$RTR" addr add 100.64.0.1/24 dev r0
ip -n "$RTR" addr add 198.51.100.1/24 dev r1
ip -n "$RTR" link set r0 up
ip -n "$RTR" link set r1 up
ip -n "$NET" addr add 198.51.100.2/24 dev n0
ip -n "$NET" link set n0 up
ip -n "$NET" route add default via 198.51.100.1
nsx "$RTR" sysctl -qw net.ipv4.ip_forward=1

# Background jobs run under ip netns exec directly (not the nsx function,
# whose subshell would take the signal instead of the program).
ip netns exec "$NET" python3 -c '
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.51.100.2", port)); s.listen(128)
    while True:
        c, _ = s.accept(); c.close()
for p in (25, 587):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
' &
LPID=$!

# "refused 0.4" / "connected 0.3" / "timeout 1000.2": outcome and ms.
try_connect() {
	nsx "$SUB" python3 -c '
import socket, sys, time
s = socket.socket(); s.settimeout(float(sys.argv[2]))
t = time.monotonic()
try:
    s.connect(("198.51.100.2", int(sys.argv[1]))); r = "connected"
except ConnectionRefusedError:
    r = "refused"
except (socket.timeout, TimeoutError):
    r = "timeout"
print(r, "%.1f" % ((time.monotonic() - t) * 1000))
' "$1" "${2:-1}"
}

expect() {	# expect PORT OUTCOME [MAX_MS] [TIMEOUT_S]
	local got ms
	read -r got ms < <(try_connect "$1" "${4:-1}")
	if [ "$got" = "$2" ] && { [ -z "${3:-}" ] || [ "${ms%.*}" -lt "$3" ]; }; then
		echo "ok:   port $1 $got in $ms ms"
	else
		echo "FAIL: port $1 $got in $ms ms, expected $2${3:+ within $3 ms}"
		fail=1
	fi
}

start_queue() {	# start_queue ARGS...: run queue_smoke in the router
	: > "$LOG/queue.out"
	ip netns exec "$RTR" "$PROG" "$@" > "$LOG/queue.out" 2>&1 &
	QPID=$!
	for _ in $(seq 50); do
		grep -q '^ready' "$LOG/queue.out" && return 0
		sleep 0.05
	done
	echo "queue_smoke did not start:"; cat "$LOG/queue.out"; exit 1
}

stop_queue() {
	kill -TERM "$QPID"; wait "$QPID" || true; QPID=
}

# Let the listener come up, and prove the path works before any rule.
sleep 0.3
expect 25 connected

echo "== A: iptables NFQUEUE for SYNs to 25, every packet rejected"
nsx "$RTR" iptables -A FORWARD -p tcp -m mark --mark 0x100/0x100 \
	-j REJECT --reject-with tcp-reset
nsx "$RTR" iptables -A FORWARD -s 100.64.0.0/24 -p tcp --syn --dport 25 \
	-j NFQUEUE --queue-num 0
start_queue -q 0 -m 0x100
expect 25 refused 100
expect 25 refused 100
expect 587 connected
stop_queue
sed 's/^/      /' "$LOG/queue.out"
nsx "$RTR" iptables -F FORWARD

echo "== B: generated ruleset, 25 fail-closed (served), 587 fail-open (unserved)"
start_queue -q 0 -m 0x100 -r PORTCULLIS -k -n 100.64.0.0/24 -p 25 -p 587:open
stop_queue
# Installed twice (the second time over the first, as after a crash).
start_queue -q 0 -m 0x100 -r PORTCULLIS -k -n 100.64.0.0/24 -p 25 -p 587:open
nsx "$RTR" iptables -S | sed 's/^/      /'
expect 25 refused 100
expect 587 connected 100
stop_queue
echo "   queue_smoke stopped, rules kept: no daemon, no port 25; 587 bypasses"
expect 25 timeout "" 1
expect 587 connected 100
nsx "$RTR" "$PROG" -r PORTCULLIS -x
if nsx "$RTR" iptables -S | grep -q PORTCULLIS; then
	echo "FAIL: rules left after removal"; fail=1
else
	echo "ok:   rules removed"
fi

if [ "${MEASURE:-0}" = 1 ]; then
	echo "== C: SYN flood, 20000 SYNs, batched vs immediate verdicts"
	nsx "$RTR" iptables -A FORWARD -p tcp -m mark --mark 0x100/0x100 \
		-j REJECT --reject-with tcp-reset
	nsx "$RTR" iptables -A FORWARD -s 100.64.0.0/24 -p tcp --syn \
		--dport 25 -j NFQUEUE --queue-num 0
	for mode in batched immediate; do
		if [ "$mode" = immediate ]; then
			start_queue -q 0 -m 0x100 -s -i
		else
			start_queue -q 0 -m 0x100 -s
		fi
		nsx "$SUB" python3 -c '
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton("100.64.0.2"), socket.inet_aton("198.51.100.2")
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
pkts = []
for i in range(20000):
    sport = 20000 + i % 40000
    tcp = struct.pack("!HHIIBBHHH", sport, 25, i, 0, 5 << 4, 2, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, 20) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src, dst)
    pkts.append(ip + tcp)
for p in pkts:
    r.sendto(p, ("198.51.100.2", 0))
'
		sleep 0.5
		# queue total, dropped (queue full), user dropped (overruns)
		awk '{ print "      kernel: waiting " $3 ", dropped " $6 \
			", user dropped " $7 }' \
			< <(nsx "$RTR" cat /proc/net/netfilter/nfnetlink_queue)
		stop_queue
		echo "   $mode:"
		sed 's/^/      /' "$LOG/queue.out"
	done
	nsx "$RTR" iptables -F FORWARD
fi

if [ "$fail" = 0 ]; then
	echo "queue_smoke: all passed"
else
	echo "queue_smoke: FAILED"
fi
exit "$fail"
