#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon as portcullis.service runs it, in the lab: a user that is not
# root, CAP_NET_ADMIN as its only capability (ambient, so iptables-restore
# and ip6tables-restore inherit it), no new privileges, systemd's PATH. It must bind its
# queues, install its chain and sets, judge, reload, reopen its log and
# swap its fallback in. Everything it and its children do is traced, and the trace is
# held against the unit's hardening: system calls within @system-service,
# socket families within RestrictAddressFamilies=, no writable-executable
# memory, no namespaces, no writes outside its own directory.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# Built with SANITIZE=1, the daemon runs here under strace, and
# LeakSanitizer cannot work under ptrace: leaks are the e2e suite's job.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
WORK=$(mktemp -d /tmp/portcullis-sandbox.XXXXXX)
. "$TOP/tests/lab.sh"

# The unit's user is portcullis; any unprivileged user proves the point.
RUN_USER=nobody
RUN_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
pass=0
fail=0
pid=""

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	lab_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "  ok    $*"; }
no() { fail=$((fail + 1)); echo "  FAIL  $*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else no "$name"; fi
}
conn() {
	local out
	out=$(lab_connect "$2" "$3" "$4" 1.0)
	if [ "${out% *}" = "$5" ]; then ok "$1: ${out% *}"; else no "$1: $out, expected $5"; fi
}
finish() {
	echo "sandbox: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

[ "$(id -u)" -eq 0 ] || { echo "sandbox: needs root for network namespaces"; fail=1; finish; }
for t in setpriv strace systemd-analyze python3; do
	command -v $t >/dev/null 2>&1 || { echo "sandbox: $t is missing (sh tests/deps.sh installs it)"; fail=1; finish; }
done

echo "sandbox: the lab"
lab_up || { echo "sandbox: could not build the lab"; fail=1; finish; }

# $WORK/state plays /var/log/portcullis, /var/lib/portcullis and
# /run/portcullis: the one place the daemon may write.
chmod 0755 "$WORK"
state=$WORK/state
mkdir "$state"
chown "$RUN_USER:$RUN_GROUP" "$state"
chmod 0750 "$state"
sed -e "s|^  blocks: .*|  blocks: $state/blocks.jsonl|" \
    -e "s|^  syslog: true|  syslog: false|" "$TOP/examples/policy.yaml" >"$WORK/policy.yaml"
cp "$TOP/examples/business.list" "$WORK/"
chmod 0644 "$WORK/policy.yaml" "$WORK/business.list"

echo "sandbox: portcullisd as $RUN_USER with CAP_NET_ADMIN only, traced"
: >"$WORK/daemon.log"
in_rt setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups \
	--inh-caps=-all,+net_admin,+net_raw --ambient-caps=-all,+net_admin,+net_raw \
	--bounding-set=-all,+net_admin,+net_raw --no-new-privs \
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	ASAN_OPTIONS="$ASAN_OPTIONS" \
	strace -f -ff -qq -s 200 -o "$state/trace" \
	"$TOP/portcullisd" -c "$WORK/policy.yaml" --control "$state/control.sock" \
	--state "$state" >>"$WORK/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q 'ready' "$WORK/daemon.log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if ! grep -q 'ready' "$WORK/daemon.log"; then
	no "portcullisd became ready:"; sed 's/^/    /' "$WORK/daemon.log"
	finish
fi
ok "ready as $RUN_USER with CAP_NET_ADMIN only: $(grep -o 'rules installed.*' "$WORK/daemon.log")"

# Under the subshell, ip, setpriv and strace: found by its command line.
dpid=$(pgrep -u "$RUN_USER" -f "^$TOP/portcullisd -c $WORK/policy.yaml")
if [ -z "$dpid" ]; then
	no "could not find the daemon's process"
	finish
else
	st=$(grep -E '^(Uid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):' "/proc/$dpid/status" | tr -s '\t' ' ')
	uid=$(id -u "$RUN_USER")
	# CAP_NET_RAW (0x2000) is for the tools it runs, never effective in it.
	check "the daemon runs as uid $uid, CAP_NET_ADMIN effective, CAP_NET_RAW only for its tools, no new privileges" \
		test "$st" = "Uid: $uid $uid $uid $uid
CapPrm: 0000000000003000
CapEff: 0000000000001000
CapBnd: 0000000000003000
CapAmb: 0000000000003000
NoNewPrivs: 1"
fi
check "the chain is in iptables" bash -c "ip netns exec $NS_RT iptables -S FORWARD | grep -q -- '-j PORTCULLIS'"
check "the chain is in ip6tables" bash -c "ip netns exec $NS_RT ip6tables -S FORWARD | grep -q -- '-j PORTCULLIS'"

conn "residential 25 is reset" $LAB_RES4 $LAB_DST4 25 refused
conn "residential 587 connects" $LAB_RES4 $LAB_DST4 587 connected
conn "IPv6 residential 25 is reset" $LAB_RES6 $LAB_DST6 25 refused
conn "business exception connects on 25" $LAB_BIZ4 $LAB_DST4 25 connected
sleep 0.2
check "the block log is written" grep -q '"event":"block"' "$state/blocks.jsonl"

out=$("$TOP/portcullis" --control "$state/control.sock" reload 2>&1)
check "reload over the control socket" grep -q '^reloaded ' <<<"$out"
check "the control socket is 0660" test "$(stat -c %a "$state/control.sock")" = 660

mv "$state/blocks.jsonl" "$state/blocks.jsonl.1"
kill -USR1 "$dpid"
sleep 0.2
conn "after SIGUSR1: residential 25 is reset" $LAB_RES4 $LAB_DST4 25 refused
sleep 0.2
check "SIGUSR1 reopens the block log" grep -q '"event":"block"' "$state/blocks.jsonl"

kill -TERM "$dpid"
wait "$pid"
rc=$?
pid=""
check "SIGTERM: exit 0" test "$rc" -eq 0
check "SIGTERM: the fallback rules are in, IPv4 and IPv6" bash -c \
	"ip netns exec $NS_RT iptables -S PORTCULLIS | grep -q 'portcullis fallback since' &&
	 ip netns exec $NS_RT ip6tables -S PORTCULLIS | grep -q 'portcullis fallback since'"
conn "stopped: residential 25 is still reset" $LAB_RES4 $LAB_DST4 25 refused
conn "stopped: business still connects" $LAB_BIZ4 $LAB_DST4 25 connected
if grep -iqE 'error|failed|cannot|denied|not permitted' "$WORK/daemon.log"; then
	no "the daemon logged a problem:"; sed 's/^/    /' "$WORK/daemon.log"
else
	ok "the daemon logged no problem"
fi

# The trace of the daemon and every child against the unit's hardening.
systemd-analyze syscall-filter >"$WORK/filters" 2>/dev/null
python3 - "$WORK/filters" "$state" "$state"/trace.* <<'PY' >"$WORK/verdicts"
import re, sys

# One trace file a process (strace -ff): no call is split across lines.
filters, state, traces = sys.argv[1], sys.argv[2], sys.argv[3:]
groups, cur = {}, None
for line in open(filters):
    s = line.strip()
    if not s or s.startswith('#'):
        continue
    if not line.startswith(' '):
        cur = s
        groups[cur] = []
    elif cur:
        groups[cur].append(s.split()[0])

def expand(name, seen=()):
    out = set()
    for m in groups.get(name, []):
        out |= expand(m, seen + (name,)) if m.startswith('@') and m not in seen else {m}
    return out

allowed = expand('@system-service')
families = {'AF_NETLINK', 'AF_UNIX', 'AF_INET', 'AF_INET6'}
dev_ok = {'/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'}
call = re.compile(r'^(?:<\.\.\. )?([a-z0-9_]+)(\(| resumed>)(.*)$')
bad = {k: set() for k in ('syscall', 'family', 'wx', 'ns', 'personality', 'write', 'dev', 'home', 'rt',
                          'ipc', 'proc', 'modules')}
pids = {t.rsplit('.', 1)[-1] for t in traces}
n = 0
seen_fam, execs = set(), set()
lines = (l for t in traces for l in open(t))
for line in lines:
    m = call.match(line)
    if not m:
        continue
    name, args = m.group(1), m.group(3)
    if name not in allowed:
        bad['syscall'].add(name)
    if m.group(2) != '(':
        continue    # a call resumed: its arguments were seen when it began
    n += 1
    if name == 'socket':
        fam = args.split(',')[0].strip()
        seen_fam.add(fam)
        if fam not in families:
            bad['family'].add(fam)
    if name == 'mmap' and 'PROT_WRITE' in args and 'PROT_EXEC' in args:
        bad['wx'].add(line.strip())
    if name in ('mprotect', 'pkey_mprotect') and 'PROT_EXEC' in args:
        bad['wx'].add(line.strip())
    if name in ('unshare', 'setns') or (name.startswith('clone') and 'CLONE_NEW' in args):
        bad['ns'].add(line.strip())
    if name == 'personality' and not args.startswith('0xffffffff'):
        bad['personality'].add(line.strip())
    if name in ('sched_setscheduler', 'sched_setattr') and ('SCHED_FIFO' in args or 'SCHED_RR' in args):
        bad['rt'].add(line.strip())
    p = re.search(r'"([^"]*)"', args)
    path = p.group(1) if p else ''
    if name == 'execve' and args.rstrip().endswith('= 0'):
        execs.add(path.rsplit('/', 1)[-1])
    writes = (name in ('open', 'openat', 'openat2', 'creat') and
              re.search(r'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC', args)) or \
             name in ('mkdir', 'mkdirat', 'unlink', 'unlinkat', 'rename', 'renameat',
                      'renameat2', 'rmdir', 'chmod', 'fchmodat', 'symlink', 'link') or \
             (name == 'bind' and 'AF_UNIX' in args)
    if name == 'bind':
        p = re.search(r'sun_path="([^"]*)"', args)
        path = p.group(1) if p else ''
    if re.search(r'= -1 EEXIST', args):
        writes = False  # mkdir -p of a folder that is there: harmless when read-only
    if writes and path and not path.startswith(state + '/') and path not in dev_ok:
        bad['write'].add('%s %s' % (name, path))
    if path.startswith('/dev/') and path not in dev_ok and name.startswith('open'):
        bad['dev'].add(path)
    if re.match(r'/(home|root|run/user)(/|$)', path):
        bad['home'].add(path)
    if re.match(r'(shm|sem|msg)(get|at|ctl|op|snd|rcv|timedop)$', name) or name.startswith('mq_'):
        bad['ipc'].add(name)
    pm = re.match(r'/proc/(\d+)(/|$)', path)
    if pm and pm.group(1) not in pids:
        bad['proc'].add(path)
    if re.match(r'(/usr)?/lib/modules(/|$)', path):
        bad['modules'].add(path)
print('calls %d' % n)
print('info %d processes (%s), sockets %s' % (len(traces), ', '.join(sorted(execs)),
                                            ', '.join(sorted(seen_fam))))
for k, v in bad.items():
    print('%s %s' % (k, ' '.join(sorted(v))))
PY
verdict() { sed -n "s/^$1 //p" "$WORK/verdicts"; }
calls=$(verdict calls)
echo "  info  traced $(verdict info)"
check "traced $calls system calls of the daemon and its children" test "${calls:-0}" -gt 100
v=$(verdict syscall); check "SystemCallFilter=@system-service: every call within it${v:+; outside: $v}" test -z "$v"
v=$(verdict family); check "RestrictAddressFamilies=: only netlink, unix, inet, inet6 sockets${v:+; found: $v}" test -z "$v"
v=$(verdict wx); check "MemoryDenyWriteExecute=: no writable-executable or newly executable memory${v:+; found: $v}" test -z "$v"
v=$(verdict ns); check "RestrictNamespaces=: no namespace made or joined${v:+; found: $v}" test -z "$v"
v=$(verdict personality); check "LockPersonality=: no personality change${v:+; found: $v}" test -z "$v"
v=$(verdict rt); check "RestrictRealtime=: no realtime scheduling${v:+; found: $v}" test -z "$v"
v=$(verdict write); check "ProtectSystem=strict: writes only in its own directories${v:+; found: $v}" test -z "$v"
v=$(verdict dev); check "PrivateDevices=: no device but the pseudo ones${v:+; found: $v}" test -z "$v"
v=$(verdict home); check "ProtectHome=: no home directory touched${v:+; found: $v}" test -z "$v"
v=$(verdict ipc); check "PrivateIPC=, RemoveIPC=: no System V or POSIX IPC${v:+; found: $v}" test -z "$v"
v=$(verdict proc); check "ProtectProc=invisible: no other process's /proc read${v:+; found: $v}" test -z "$v"
v=$(verdict modules); check "ProtectKernelModules=: no module tree read${v:+; found: $v}" test -z "$v"

finish
