#!/bin/sh
# SPDX-License-Identifier: MIT
#
# glibc-debian.sh SUITE: coreheap is exact on another Debian release's glibc.
#
# The glibc fixtures (fixtures/glibc_*.c, which record their own live set)
# are built with the gcc of a Debian SUITE root (tests/debian-root.sh, cached
# in the build tree as debian-roots/SUITE), run inside it (chroot, with its
# own /proc in a private mount namespace), and dumped from here: gdb's gcore,
# or the kernel's core (glibc_abort; fixtures whose memory gdb cannot read
# whole). Each core is read here with
# `--sysroot ROOT`, once with the root's libc6-dbg and once with no debug
# info at all: both must list exactly the recorded live set, and say which
# way they went (debug info for libc, or the symbol-free search).
#
# tests/glibc-bullseye.sh, glibc-trixie.sh, glibc-sid.sh and
# glibc-experimental.sh run it for Debian 11 (glibc 2.31), 13 (2.41),
# unstable (2.43 today) and experimental (2.44 today).
#
# Environment: DEBIAN_ROOTS (default: the build tree's debian-roots),
# CH_DEBIAN_FIXTURES (the fixtures to run, default all of them).

. "$SRCDIR/tests/lib.sh"
. "$SRCDIR/tests/debian-fixtures.sh"

suite=${1:?usage: glibc-debian.sh SUITE}
test_init "glibc-debian-$suite" SRCDIR TESTS_BUILDDIR
require_command gdb chroot unshare mount

fixtures=${CH_DEBIAN_FIXTURES:-"glibc_mixed glibc_aligned glibc_threads
glibc_mmap glibc_many_threads glibc_multiheap glibc_tuned glibc_noncontiguous
glibc_foreign_sbrk glibc_runs glibc_large_tcache glibc_tcache_remainder
glibc_abort"}

# The fixtures' sources and binaries go inside the root, in $dir (removed
# on exit).
debian_fixtures_root "$suite"
glibc=$(chroot "$root" dpkg-query -W -f='${Version}' libc6)
echo "Debian $suite root: $root, glibc $glibc"

# The plugin's struct offsets for this glibc (tests/glibc_layout) against
# those in the root's libc debug info, as gdb reads them.
dwarf_layout() {
	gdb -nx -batch -iex "set debug-file-directory $root/usr/lib/debug" \
		-ex 'ptype /o struct malloc_state' \
		-ex 'ptype /o struct malloc_par' \
		-ex 'ptype /o struct _heap_info' \
		-ex 'ptype /o struct tcache_perthread_struct' \
		"$root/lib/x86_64-linux-gnu/libc.so.6" 2>&1 | awk '
	/type = struct [A-Za-z_]+ \{/ {
		s = $0; sub(/.*type = struct /, "", s); sub(/ .*/, "", s); next
	}
	/total size \(bytes\):/ {
		n = $0; gsub(/[^0-9]/, "", n); print s ".sizeof " n; next
	}
	/^\/\* +[0-9]+ +\| +[0-9]+ \*\/ / {
		decl = $0; sub(/;[[:space:]]*$/, "", decl)
		sub(/\[.*\]$/, "", decl)
		name = decl; sub(/.*[ *]/, "", name)
		print s "." name " " $2; print s "." name ".bytes " $4
	}'
}
version=$(echo "$glibc" | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/')
"$TESTS_BUILDDIR/glibc_layout" $version > "$work/layout.plugin" &&
	dwarf_layout > "$work/layout.dwarf"
if [ ! -s "$work/layout.dwarf" ] || [ ! -s "$work/layout.plugin" ]; then
	fail "no struct layouts for glibc $glibc (see $work/layout.*)"
else
	wrong=$(while read -r field offset; do
		grep -qx "$field $offset" "$work/layout.dwarf" ||
			echo "$field: $offset, debug info: $(grep "^$field " "$work/layout.dwarf" | cut -d' ' -f2)"
	done < "$work/layout.plugin")
	check_same "the plugin's layout of glibc $glibc is its debug info's ($(wc -l < "$work/layout.plugin") offsets and sizes)" "" "$wrong"
fi

# The same flags as fixtures/local.mk, with the root's gcc and libc.
built=
for fixture in $fixtures; do
	if chroot "$root" gcc -std=gnu11 -g -O0 -fno-builtin \
		-o "$inside/$fixture" "$inside/$fixture.c" \
		"$inside/recorder.c" -lpthread > "$work/$fixture.cc.log" 2>&1; then
		built="$built $fixture"
	else
		fail "$fixture does not build with the $suite root's gcc"
		cat "$work/$fixture.cc.log"
	fi
done

# core_in_root FIXTURE: run it in the root (in a directory of its own, core
# size unlimited) until it says ready, then gcore it from here into
# $work/FIXTURE.core; gdb reads its libraries in the root. Where gdb could
# not read some of its memory (glibc 2.43 guards thread stacks with
# MADV_GUARD_INSTALL, which gdb 13 cannot read past, so it drops the whole
# mapping), the fixture gets SIGABRT and the kernel's core is taken
# instead (core_pattern "core": the kernel writes it into the root).
# glibc_abort aborts by itself: always the kernel's core.
core_in_root() {
	start_in_root "$1" || return 1
	if [ "$1" = glibc_abort ]; then
		wait "$unshare_pid" 2> /dev/null
		kernel_core "$1"
		return
	fi
	gcore_from_root "$1"
	case $? in
	0) ;;
	2)
		echo "$1: gdb could not read all its memory (see $work/$1.gcore.log): the kernel's core instead"
		mv "$work/$1.core" "$work/$1.partial.core"
		kill -ABRT "$pid"
		wait "$unshare_pid" 2> /dev/null
		kernel_core "$1"
		;;
	*) return 1 ;;
	esac
}

# kernel_core FIXTURE: the one core the kernel wrote into its directory.
kernel_core() {
	case $(cat /proc/sys/kernel/core_pattern) in
	'|'* | */*)
		echo "SKIP: $1: core_pattern does not write cores to the cwd"
		return 1
		;;
	esac
	set -- "$1" "$(ls "$dir/$1.cwd")"
	case $2 in
	'' | *[[:space:]]*)
		fail "$1: expected one kernel core in $dir/$1.cwd, found '$2'"
		cat "$dir/$1.err"
		return 1
		;;
	esac
	mv "$dir/$1.cwd/$2" "$work/$1.core"
}

# analyse FIXTURE MODE [CORE]: objects on its core ($work/FIXTURE.core, or
# CORE) with the root as sysroot, MODE "nodebug" or "nothreads" (no debug
# info anywhere; "nothreads": a core without thread notes, read in part)
# or another word (the root's libc6-dbg); the set must be the recorded one,
# and coreheap must say which way libc was read.
analyse() {
	name=$1.$2 mode=$2 core=${3:-$work/$1.core}
	case $mode in
	nodebug | nothreads) with_debug=false ;;
	*) with_debug=true ;;
	esac
	# The root's debug files are found under the sysroot, as a user
	# gives it (ROOT/usr/lib/debug/.build-id/).
	if $with_debug; then
		set -- --sysroot "$root"
	else
		set -- --sysroot "$root" --debuginfo-path /nonexistent
	fi
	"$COREHEAP" objects "$@" --format jsonl "$core" \
		> "$work/$name.jsonl" 2> "$work/$name.err"
	status=$?
	# A core without thread notes is read in part: exit 1.
	expected=0
	[ "$mode" = nothreads ] && expected=1
	if [ $status -ne $expected ]; then
		fail "$name: coreheap objects exited $status, not $expected"
		cat "$work/$name.err"
	fi
	check_live_set "$name" "$work/$name.jsonl" glibc "glibc $glibc" ||
		cat "$work/$name.err"
	# Which way libc was read: its debug info, or none at all.
	if $with_debug; then
		if grep -q 'no debug info for libc' "$work/$name.err"; then
			fail "$name: libc's debug info in the root was not used"
			cat "$work/$name.err"
		fi
		# summary says where libc and its debug info came from.
		"$COREHEAP" summary "$@" "$core" 2> /dev/null |
			awk '/^  0x[0-9a-f]* [^ ]*libc[.-][^ ]*so/ { getline; print; exit }' \
			> "$work/$name.libc"
		check_grep "$name: summary: libc and its debug info from the sysroot" \
			"^      binary: sysroot; debug info: sysroot ($root/usr/lib/debug/" \
			"$work/$name.libc"
	else
		check_grep "$name: read without libc's debug info" \
			'no debug info for libc' "$work/$name.err"
	fi
}

# newer_glibc FIXTURE: its core read with a root that holds only the
# root's libc, its banner saying "release version 2.99" (the build-id
# unchanged): coreheap says it reads a glibc newer than it knows with the
# newest layouts.
newer_glibc() {
	fake=$work/newer-root
	libc=$(readlink -f "$root/lib/x86_64-linux-gnu/libc.so.6")
	rm -rf "$fake"
	mkdir -p "$fake/usr/lib/x86_64-linux-gnu"
	ln -s usr/lib "$fake/lib"
	python3 - "$libc" "$fake/usr/lib/x86_64-linux-gnu/${libc##*/}" <<'PY'
import re, sys
data = open(sys.argv[1], 'rb').read()
data, n = re.subn(rb'release version 2\.[0-9][0-9]', b'release version 2.99', data)
assert n == 1, n
open(sys.argv[2], 'wb').write(data)
PY
	[ "${libc##*/}" = libc.so.6 ] ||
		ln -s "${libc##*/}" "$fake/usr/lib/x86_64-linux-gnu/libc.so.6"
	"$COREHEAP" objects --sysroot "$fake" --debuginfo-path /nonexistent \
		"$work/$1.core" > /dev/null 2> "$work/$1.newer.err"
	newest=$(sed -n 's/^#define PTM_NEWEST_MINOR \([0-9]*\)$/\1/p' \
		"$SRCDIR/allocators/glibc/layout.h")
	check_grep "$1: a glibc newer than known is said" \
		"^coreheap: warning: glibc: glibc 2.99 is newer than the versions whose structures are known (2.26 through 2.$newest): read as 2.$newest$" \
		"$work/$1.newer.err"
	rm -rf "$fake"
}

for fixture in $built; do
	core_in_root "$fixture" || continue
	analyse "$fixture" debug
	analyse "$fixture" nodebug
	# (a kernel's core: it names libc by its path in the root)
	[ "$fixture" = glibc_abort ] && newer_glibc "$fixture"
	# Without the threads' notes (no thread pointer, so no TLS) and
	# without debug info, the caches of threads that share arenas are
	# found in the heaps, not only at their first chunks.
	if [ "$fixture" = glibc_many_threads ] &&
		python3 "$SRCDIR/tests/drop-thread-notes.py" "$work/$fixture.core" \
			"$work/$fixture.nothreads.core"; then
		analyse "$fixture" nothreads "$work/$fixture.nothreads.core"
		check_grep "$fixture.nothreads: the tcaches taken from the heaps" \
			'tcache TLS variable not found; took [0-9]* tcache(s) from the heaps' \
			"$work/$fixture.nothreads.err"
		rm -f "$work/$fixture.nothreads.core"
	fi
	# gdb's core without the threads' stacks: their tcaches are found in
	# the heaps (glibc 2.43), and coreheap says so.
	if [ -f "$work/$fixture.partial.core" ]; then
		analyse "$fixture" gcore-debug "$work/$fixture.partial.core"
		# Only 2.43's guarded stacks are known to leave TLS out.
		[ "${version#* }" -ge 43 ] && check_grep "$fixture.gcore-debug: tcaches of threads without TLS in the core taken from the heaps" \
			'tcache pointer of [0-9]* thread(s) is not in the core; took [0-9]* more' \
			"$work/$fixture.gcore-debug.err"
		[ $failures -eq 0 ] && rm -f "$work/$fixture.partial.core"
	fi
	# Kept for a look at what failed: gdb -iex 'set sysroot ROOT'
	# $work/FIXTURE $work/FIXTURE.core
	if [ $failures -eq 0 ]; then
		rm -f "$work/$fixture.core"
	else
		cp "$dir/$fixture" "$work/$fixture"
	fi
done
finish
