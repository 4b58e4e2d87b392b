#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what portcullis needs to build, test and run the lab, if missing.
# Debian packages; apt-get update runs at most once, and only when needed.
set -eu

need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
for p in build-essential pkg-config libnetfilter-queue-dev libmnl-dev \
	 libyaml-dev libsystemd-dev libcap-dev libmicrohttpd-dev libjson-c-dev \
	 zlib1g-dev check iptables nftables iproute2 procps python3 curl gzip \
	 systemd groff-base logrotate strace valgrind clang libclang-rt-dev \
	 ipset python3-scapy kea-dhcp4-server freeradius freeradius-utils \
	 udhcpc libnats-dev nats-server openssl chromium chromium-driver \
	 fonts-dejavu-core prometheus; do
	have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "portcullis: missing packages:$need (run as root to install them)" >&2
	exit 1
fi
echo "portcullis: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need
# The session feeds' tests run kea-dhcp4 and freeradius of their own in
# the lab, and only promtool of prometheus is used: the system services
# the packages just brought stay off.
if [ -d /run/systemd/system ]; then
	for s in kea-dhcp4-server freeradius prometheus; do
		case " $need " in
		*" $s "*) systemctl disable --now "$s" >/dev/null 2>&1 || true ;;
		esac
	done
fi
