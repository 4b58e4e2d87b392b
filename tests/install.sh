#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make install into a temporary root: exactly the expected files with the
# expected modes, a unit that systemd-analyze verifies, sysusers.d and
# tmpfiles.d entries that systemd's own tools apply, man pages groff
# formats without a warning, a logrotate snippet logrotate parses, and a
# make uninstall that leaves only the operator's policy.
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
MAKE=${MAKE:-make}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
pass=0
fail=0
skip=0
tmp=$(mktemp -d /tmp/portcullis-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

ok() { pass=$((pass + 1)); echo "  ok    $*"; }
no() { fail=$((fail + 1)); echo "  FAIL  $*"; }
skipped() { skip=$((skip + 1)); echo "  skip  $*"; }

# The directories the Makefile takes from systemd's pkg-config file.
sd_dir() {
	d=$($PKG_CONFIG --variable="$1" systemd 2>/dev/null)
	echo "${d:-$2}"
}
unitdir=$(sd_dir systemdsystemunitdir /lib/systemd/system)
sysusersdir=$(sd_dir sysusersdir /usr/lib/sysusers.d)
tmpfilesdir=$(sd_dir tmpfilesdir /usr/lib/tmpfiles.d)

if $MAKE --no-print-directory install DESTDIR="$root" PREFIX=/usr \
	>"$tmp/make.out" 2>&1; then
	ok "make install DESTDIR=… PREFIX=/usr"
else
	no "make install DESTDIR=… PREFIX=/usr"; sed 's/^/    /' "$tmp/make.out"
	echo "install: $pass passed, $fail failed"
	exit 1
fi

# Every file with its mode; nothing more, nothing less.
sort >"$tmp/expected" <<EOF
0644 /etc/logrotate.d/portcullis
0644 /etc/portcullis/business.list
0644 /etc/portcullis/policy.yaml
0644 $unitdir/portcullis.service
0755 /usr/bin/portcullis
0644 $sysusersdir/portcullis.conf
0644 $tmpfilesdir/portcullis.conf
0755 /usr/lib/portcullis/portcullis-kea-hook
0755 /usr/lib/portcullis/portcullis-radius-accounting
0755 /usr/sbin/portcullisd
0644 /usr/share/doc/portcullis/README.md
0644 /usr/share/doc/portcullis/examples/business.list
0644 /usr/share/doc/portcullis/examples/policy.yaml
0644 /usr/share/doc/portcullis/examples/prometheus/portcullis-rules.yml
0644 /usr/share/man/man5/portcullis-policy.5
0644 /usr/share/man/man8/portcullis.8
0644 /usr/share/man/man8/portcullisd.8
0644 /usr/share/portcullis/freeradius/mods-available/portcullis
0644 /usr/share/portcullis/freeradius/sites-available/portcullis
EOF
(cd "$root" && find . ! -type d -printf '%#m %p\n') | sed 's| \./| /|' |
	sort >"$tmp/found"
if cmp -s "$tmp/expected" "$tmp/found"; then
	ok "installs exactly the expected $(wc -l <"$tmp/expected") files, modes as expected"
else
	no "installed files differ (- expected, + installed):"
	diff "$tmp/expected" "$tmp/found" | grep '^[<>]' |
		sed -e 's/^</    -/' -e 's/^>/    +/'
fi

unit=$root$unitdir/portcullis.service
if grep -qx 'ExecStart=/usr/sbin/portcullisd -c /etc/portcullis/policy.yaml' \
	"$unit" 2>/dev/null && ! grep -q '@[A-Z]*@' "$unit"; then
	ok "unit: ExecStart has the installed paths"
else
	no "unit: ExecStart: $(grep '^ExecStart=' "$unit" 2>/dev/null)"
fi

# systemd-analyze verify checks that ExecStart= and ExecReload= exist and
# that the Documentation= man pages open: it looks in a copy of the root
# with kill(1) added, and man in the root's man pages. It exits 0 on keys
# it ignores (a typo, a bad value), so any word from it is a failure.
if command -v systemd-analyze >/dev/null 2>&1; then
	vroot=$tmp/verify
	mkdir -p "$vroot/bin"
	cp -a "$root/." "$vroot/"
	cp /bin/kill "$vroot/bin/kill"
	MANPATH=$vroot/usr/share/man systemd-analyze verify --root="$vroot" \
		"$unitdir/portcullis.service" >"$tmp/verify.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$tmp/verify.out" ]; then
		ok "systemd-analyze verify portcullis.service"
	else
		no "systemd-analyze verify portcullis.service (exit $rc):"
		sed 's/^/    /' "$tmp/verify.out"
	fi
	systemd-analyze security --offline=true --root="$vroot" \
		"$unitdir/portcullis.service" 2>/dev/null |
		sed -n 's/^→ Overall exposure level for /  info  exposure of /p'
else
	skipped "systemd-analyze verify: systemd-analyze is not installed (sh tests/deps.sh installs it)"
fi

# The sysusers.d and tmpfiles.d entries, applied by systemd's own tools to
# a scratch root: the user and group, then the directories and modes.
if command -v systemd-sysusers >/dev/null 2>&1 &&
   command -v systemd-tmpfiles >/dev/null 2>&1; then
	sroot=$tmp/sys
	mkdir -p "$sroot/etc" "$sroot/run" "$sroot/var/lib" "$sroot/var/log"
	if systemd-sysusers --root="$sroot" \
		"$root$sysusersdir/portcullis.conf" >"$tmp/sysusers.out" 2>&1 &&
	   grep -q '^portcullis:x:[0-9]*:[0-9]*:[^:]*:/var/lib/portcullis:/usr/sbin/nologin$' \
		"$sroot/etc/passwd" &&
	   grep -q '^portcullis:x:' "$sroot/etc/group"; then
		ok "sysusers.d: system user and group portcullis, home /var/lib/portcullis, nologin"
	else
		no "sysusers.d entry:"; sed 's/^/    /' "$tmp/sysusers.out"
		sed 's/^/    passwd: /' "$sroot/etc/passwd" 2>/dev/null
	fi
	if systemd-tmpfiles --root="$sroot" --create \
		"$root$tmpfilesdir/portcullis.conf" >"$tmp/tmpfiles.out" 2>&1; then
		uid=$(sed -n 's/^portcullis:x:\([0-9]*\):.*/\1/p' "$sroot/etc/passwd")
		got=$(cd "$sroot" && stat -c '%n %a %u' run/portcullis \
			var/lib/portcullis var/log/portcullis 2>&1 | tr '\n' ' ')
		want="run/portcullis 750 $uid var/lib/portcullis 750 $uid var/log/portcullis 750 $uid "
		if [ "$got" = "$want" ]; then
			ok "tmpfiles.d: /run, /var/lib and /var/log/portcullis 0750 portcullis"
		else
			no "tmpfiles.d: found $got; expected $want"
		fi
	else
		no "tmpfiles.d entry:"; sed 's/^/    /' "$tmp/tmpfiles.out"
	fi
else
	skipped "sysusers.d/tmpfiles.d: systemd-sysusers or systemd-tmpfiles not installed"
fi

# Man pages: groff with every warning on, and nothing to say.
if command -v groff >/dev/null 2>&1; then
	for m in "$root"/usr/share/man/man*/*; do
		name=${m#"$root"}
		if LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$m" >"$tmp/groff.out" 2>&1 &&
		   [ ! -s "$tmp/groff.out" ]; then
			ok "man: $name formats without warnings"
		else
			no "man: $name:"; sed 's/^/    /' "$tmp/groff.out"
		fi
	done
else
	skipped "man pages: groff is not installed (sh tests/deps.sh installs groff-base)"
fi

# logrotate: the snippet parses. Its su and create lines name a user this
# machine may not have: the check puts root there, the rest as written.
if command -v logrotate >/dev/null 2>&1; then
	sed -e 's/^\([[:space:]]*su\) portcullis portcullis$/\1 root root/' \
	    -e 's/^\([[:space:]]*create [0-7]*\) portcullis portcullis$/\1 root root/' \
		"$root/etc/logrotate.d/portcullis" >"$tmp/logrotate.conf"
	if logrotate -d -s "$tmp/logrotate.state" "$tmp/logrotate.conf" \
		>"$tmp/logrotate.out" 2>&1 &&
	   ! grep -qi 'error' "$tmp/logrotate.out"; then
		ok "logrotate: the snippet parses"
	else
		no "logrotate:"; sed 's/^/    /' "$tmp/logrotate.out"
	fi
else
	skipped "logrotate: not installed"
fi

# The installed example policy is the one the unit loads: it must load.
if "$root/usr/bin/portcullis" check "$root/etc/portcullis/policy.yaml" \
	>"$tmp/check.out" 2>&1; then
	ok "portcullis check on the installed policy"
else
	no "portcullis check on the installed policy:"; sed 's/^/    /' "$tmp/check.out"
fi

# A second install keeps an operator's policy.
echo "# edited" >>"$root/etc/portcullis/policy.yaml"
$MAKE --no-print-directory install DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
if tail -n 1 "$root/etc/portcullis/policy.yaml" | grep -qx '# edited'; then
	ok "make install again keeps an edited /etc/portcullis/policy.yaml"
else
	no "make install overwrote an edited /etc/portcullis/policy.yaml"
fi

# make uninstall: only the operator's configuration stays.
$MAKE --no-print-directory uninstall DESTDIR="$root" PREFIX=/usr \
	>"$tmp/uninstall.out" 2>&1
left=$(cd "$root" && find . ! -type d | sed 's|^\./|/|' | sort | tr '\n' ' ')
if [ "$left" = "/etc/portcullis/business.list /etc/portcullis/policy.yaml " ]; then
	ok "make uninstall removes all but /etc/portcullis"
else
	no "make uninstall left: $left"
fi

if [ "$skip" -gt 0 ]; then
	echo "install: $pass passed, $fail failed, $skip skipped"
else
	echo "install: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
