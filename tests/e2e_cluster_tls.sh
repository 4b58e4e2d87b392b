#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cluster over TLS (a tls:// URL): a nats-server with JetStream and a
# certificate of a CA of the test's own, in a namespace of its own
# (192.0.2.10 on its loopback), and a portcullisd beside it (--no-rules:
# this is about the connection, tests/e2e_cluster.sh about the rest).
# With the CA (`ca:`) the gateway connects and publishes; with the wrong
# one it does not, and says why; a `ca:` file that is missing is named.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
[ "$(id -u)" -eq 0 ] || { echo "e2e_cluster_tls: needs root"; exit 1; }
command -v nats-server >/dev/null || { echo "e2e_cluster_tls: no nats-server (tests/deps.sh)"; exit 1; }

NS=pct-$$
WORK=$(mktemp -d /tmp/pc-tls.XXXXXX)
NATS_PID="" DPID=""
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null && wait "$NATS_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

cd "$WORK" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	-days 2 -subj "/CN=portcullis test CA" 2>/dev/null &&
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem \
	-days 2 -subj "/CN=another CA" 2>/dev/null &&
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
	-subj "/CN=nats-1" 2>/dev/null &&
printf 'subjectAltName=IP:192.0.2.10\n' >ext &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-out srv.pem -days 2 -extfile ext 2>/dev/null ||
	{ echo "e2e_cluster_tls: openssl could not make the certificates"; exit 1; }
cat >nats.conf <<EOF
listen: 192.0.2.10:4222
jetstream { store_dir: $WORK/js }
tls { cert_file: $WORK/srv.pem, key_file: $WORK/srv.key, timeout: 2 }
EOF
ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add 192.0.2.10/32 dev lo || exit 1
ip netns exec "$NS" nats-server -c nats.conf >nats.log 2>&1 &
NATS_PID=$!
for _ in $(seq 100); do
	grep -q "Server is ready" nats.log && break
	sleep 0.05
done
grep -q "Server is ready" nats.log || { cat nats.log; exit 1; }

policy() {
	cat >policy.yaml <<EOF
version: 1
profiles:
  residential: { ports: { 25: reject } }
  business: { ports: { 25: accept } }
subscribers:
  - { prefix: 100.64.0.0/10, profile: residential }
cluster:
  nats: [tls://192.0.2.10:4222]
  gateway: gw-tls
  bucket: pctls
  ca: $1
EOF
}
pc() { "$TOP/portcullis" --control "$WORK/c.sock" "$@"; }
start() {
	mkdir -p state
	ip netns exec "$NS" "$TOP/portcullisd" -c policy.yaml --no-rules \
		--control "$WORK/c.sock" --state "$WORK/state" --user root \
		>"$1" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do
		grep -q ready "$1" && return 0
		sleep 0.05
	done
	cat "$1"
	return 1
}
stop() { kill "$DPID"; wait "$DPID"; DPID=""; }
# cluster_wait FIELD VALUE: stats --json's cluster.FIELD is VALUE (5 s).
cluster_is() {
	pc stats --json | python3 -c 'import json,sys
c = json.load(sys.stdin)["cluster"]
sys.exit(0 if str(c[sys.argv[1]]).lower() == sys.argv[2] else 1)' "$1" "$2"
}
cluster_wait() {
	for _ in $(seq 100); do
		cluster_is "$1" "$2" && return 0
		sleep 0.05
	done
	return 1
}

policy ca.pem
start d1.log || exit 1
if cluster_wait connected true; then
	ok "1 tls:// with the right CA: connected"
else
	bad "1 tls:// with the right CA: not connected"; pc stats
fi
pc except add 100.64.9.0/24 --profile business --note tls >/dev/null
if cluster_wait published 1 && pc except history 100.64.9.0/24 |
	grep -q "gw-tls .*exception .*add .*100.64.9.0/24"; then
	ok "2 an exception published over TLS, in the bucket's history"
else
	bad "2 the exception is not in the bucket's history"; pc except history
fi
stop

policy other.pem
start d2.log || exit 1
sleep 1.5
if cluster_is connected false &&
	pc stats | grep -q "last error: connecting: .*SSL handshake error: .*unable to get local issuer certificate"; then
	ok "3 a certificate of another CA: not connected, and the reason said"
else
	bad "3 another CA: expected not connected with the SSL reason"; pc stats
fi
pc except add 100.64.10.0/24 --profile business >/dev/null
if cluster_is queued 1; then
	ok "4 meanwhile a local change is queued, not lost"
else
	bad "4 the change is not queued"; pc stats
fi
stop

policy missing-ca.pem
start d3.log || exit 1
sleep 1.5
if pc stats | grep -q "last error: .*missing-ca.pem: .*Error loading trusted certificates"; then
	ok "5 a missing ca: file is named"
else
	bad "5 the missing CA file is not named"; pc stats
fi
stop

# Back with the right CA: the change queued while it could not connect
# (kept in the state folder across the restarts) is published.
policy ca.pem
start d4.log || exit 1
if cluster_wait queued 0 && cluster_wait connected true &&
	pc except history 100.64.10.0/24 | grep -q "exception .*add .*100.64.10.0/24"; then
	ok "6 the queued change, kept across restarts, is published once it connects"
else
	bad "6 the queued change was not published"; pc stats; pc except history
fi
stop

echo "e2e_cluster_tls: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
