#!/bin/sh
# SPDX-License-Identifier: MIT
#
# debian-root.sh SUITE DIR [EXTRA_PACKAGES...]
#
# Makes DIR a Debian SUITE root (debootstrap, minbase) with gcc, libc6-dev,
# libc6-dbg and the EXTRA_PACKAGES installed, for tests that build and run
# programs against another Debian release's libraries and read their cores
# here with --sysroot DIR. A root made before is reused: packages it lacks
# are added with apt-get inside it. Concurrent callers for the same DIR wait
# for each other (flock on DIR.lock).
#
# SUITE experimental: Debian's experimental is no whole release but what
# is newer than unstable; the root is an unstable one whose glibc (libc6,
# libc6-dev, libc6-dbg) is then taken from experimental.
#
# Mirrors: deb.debian.org, then archive.debian.org (where old releases end
# up); DEBIAN_ROOT_MIRROR overrides both.
#
# Exit status: 0 ready, 77 no Debian mirror answers (or not root, or no
# debootstrap), 1 anything else failed (its log is DIR.log).

set -u

usage() {
	echo "usage: $0 SUITE DIR [EXTRA_PACKAGES...]" >&2
	exit 1
}

die() {
	echo "debian-root.sh: $*" >&2
	exit 1
}

skip() {
	echo "debian-root.sh: SKIP: $*" >&2
	exit 77
}

[ $# -ge 2 ] || usage
suite=$1
dir=$2
shift 2
packages="gcc libc6-dev libc6-dbg $*"

case $dir in
/*) ;;
*) dir=$PWD/$dir ;;
esac
[ "$(id -u)" -eq 0 ] || skip "debootstrap and chroot need root"
command -v debootstrap > /dev/null 2>&1 ||
	skip "no debootstrap (scripts/install-deps.sh installs it)"
command -v flock > /dev/null 2>&1 || skip "no flock (util-linux)"

mkdir -p "$(dirname "$dir")" || die "cannot create $(dirname "$dir")"
log=$dir.log
marker=$dir/.coreheap-debian-root

# Whether MIRROR serves SUITE: its Release file answers.
mirror_answers() {
	if command -v wget > /dev/null 2>&1; then
		wget -q -T 20 -t 2 -O /dev/null "$1/dists/$suite/Release"
	else
		curl -fsS -m 40 -o /dev/null "$1/dists/$suite/Release"
	fi
}

pick_mirror() {
	for mirror in ${DEBIAN_ROOT_MIRROR:-http://deb.debian.org/debian \
		http://archive.debian.org/debian}; do
		if mirror_answers "$mirror"; then
			echo "$mirror"
			return 0
		fi
	done
	return 1
}

# Every package in $packages installed in the root?
has_packages() {
	for p in $packages; do
		chroot "$dir" dpkg-query -W -f='${Status}\n' "$p" 2> /dev/null |
			grep -q '^install ok installed' || return 1
	done
	return 0
}

# What debootstrap makes: experimental goes on top of unstable.
base_suite=$suite
[ "$suite" = experimental ] && base_suite=sid

make_root() {
	mirror=$(pick_mirror) ||
		skip "no Debian mirror answers for $suite (tried ${DEBIAN_ROOT_MIRROR:-deb.debian.org and archive.debian.org})"
	echo "debian-root.sh: making the $suite root in $dir from $mirror (a few minutes, once; log: $log)" >&2
	rm -rf "$dir"
	# The archive's old Release files are past their Valid-Until; its
	# keys are still in debian-archive-keyring.
	if ! debootstrap --variant=minbase \
		--include="$(echo $packages | tr ' ' ',')" \
		"$base_suite" "$dir" "$mirror" > "$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -rf "$dir"
		die "debootstrap $base_suite failed (log: $log)"
	fi
	if [ "$suite" = experimental ]; then
		echo "deb $mirror experimental main" \
			> "$dir/etc/apt/sources.list.d/experimental.list"
		experimental_glibc
	fi
	echo "$suite $mirror" > "$marker"
}

# glibc from experimental (libc-bin and the like follow as dependencies).
experimental_glibc() {
	echo "debian-root.sh: taking glibc from experimental" >&2
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2> /dev/null
	if ! {
		chroot "$dir" apt-get -o Acquire::Check-Valid-Until=false update &&
			DEBIAN_FRONTEND=noninteractive chroot "$dir" \
				apt-get -o Acquire::Check-Valid-Until=false \
				install -y --no-install-recommends \
				-t experimental libc6 libc6-dev libc6-dbg
	} >> "$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -rf "$dir"
		die "cannot take glibc from experimental (log: $log)"
	fi
}

add_packages() {
	mirror=$(cut -d' ' -f2 "$marker")
	echo "debian-root.sh: adding packages to the $suite root: $packages" >&2
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2> /dev/null
	if ! {
		chroot "$dir" apt-get -o Acquire::Check-Valid-Until=false update &&
			DEBIAN_FRONTEND=noninteractive chroot "$dir" \
				apt-get install -y --no-install-recommends $packages
	} >> "$log" 2>&1; then
		tail -n 20 "$log" >&2
		mirror_answers "$mirror" ||
			skip "the Debian mirror $mirror does not answer"
		die "apt-get install in the $suite root failed (log: $log)"
	fi
}

exec 9> "$dir.lock" || die "cannot open $dir.lock"
flock 9 || die "cannot lock $dir.lock"
if [ ! -f "$marker" ]; then
	make_root
elif ! has_packages; then
	add_packages
fi
has_packages || die "the $suite root in $dir lacks some of: $packages"
exit 0
