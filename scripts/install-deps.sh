#!/bin/sh
# Installs every Debian package coreheap needs to build, test and benchmark.
# Run as root (or with sudo available). Safe to run again.
set -eu
packages="
autoconf automake libtool pkg-config make gcc g++
libelf-dev libdw-dev elfutils libpcre2-dev
libzstd-dev liblzma-dev liblz4-dev zlib1g-dev libdebuginfod-dev
zstd xz-utils lz4 gzip debuginfod
libcriterion-dev
libjemalloc-dev libjemalloc2
gdb libc6-dbg
debootstrap
redis-server redis-tools
python3 libpython3-dev libpython3.11-dev
time bc tcl
curl bzip2
chromium
clang libclang-rt-dev
"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing > /dev/null
fi
