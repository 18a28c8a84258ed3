# SPDX-License-Identifier: MIT
# What the tests that run fixtures in a Debian root share (glibc-debian.sh,
# jemalloc-bullseye.sh); sourced after tests/lib.sh and test_init:
#     debian_fixtures_root SUITE [EXTRA_PACKAGES...]
#     ...build with chroot "$root" gcc ... -o "$inside/NAME" "$inside/SRC.c"
#     start_in_root NAME && gcore_from_root NAME
#     check_live_set NAME JSONL ALLOCATOR WHAT
#
# Variables after debian_fixtures_root: $root (the root, a physical path),
# $dir (a scratch directory in it, removed on exit, holding the fixtures'
# sources) and $inside (the same directory as the root sees it).

# debian_fixtures_root SUITE [EXTRA_PACKAGES...]: make or reuse the SUITE
# root under $DEBIAN_ROOTS (default: the build tree's debian-roots) with
# the packages (tests/debian-root.sh); skip when no Debian mirror answers.
debian_fixtures_root() {
	suite=$1
	shift
	roots=${DEBIAN_ROOTS:-$TESTS_BUILDDIR/../debian-roots}
	root=$roots/$suite
	sh "$SRCDIR/tests/debian-root.sh" "$suite" "$root" "$@"
	case $? in
	0) ;;
	77) skip "no Debian $suite root (see the message above)" ;;
	*) fail "cannot make the Debian $suite root"; finish ;;
	esac
	root=$(cd "$root" && pwd -P)
	inside=/coreheap-test-$$
	dir=$root$inside
	rm -rf "$dir"
	mkdir "$dir" || { fail "cannot create $dir"; finish; }
	ch_lib_scratch="$ch_lib_scratch $dir"
	cp "$SRCDIR"/fixtures/*.c "$SRCDIR"/fixtures/*.h "$dir/" ||
		{ fail "cannot copy the fixtures into $dir"; finish; }
}

# in_root COMMAND...: COMMAND run in the root, with a /proc of its own that
# goes away with it (a private mount namespace). exec: run in the
# background, its pid ($!) is unshare's.
in_root() {
	exec unshare --mount --fork sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$root" "$@"
}

# start_in_root NAME: run $inside/NAME in the root (in a directory of its
# own, $dir/NAME.cwd, core size unlimited, its live set recorded into
# $dir/NAME.live) until it says ready. Sets $unshare_pid, and $pid (the
# fixture's) unless it ended by itself after "ready" (pid empty then).
start_in_root() {
	mkdir "$dir/$1.cwd" || return 1
	: > "$dir/$1.out"
	(in_root sh -c 'cd "$1" && ulimit -c unlimited &&
		CH_LIVESET="$2" exec "$3"' sh \
		"$inside/$1.cwd" "$inside/$1.live" "$inside/$1") \
		> "$dir/$1.out" 2> "$dir/$1.err" &
	unshare_pid=$!
	ch_lib_pids="$ch_lib_pids $unshare_pid"
	if ! wait_ready "$dir/$1.out" 1; then
		fail "$1 did not say ready in the $suite root"
		cat "$dir/$1.err"
		return 1
	fi
	# unshare's one child: the shell that became chroot, sh, the fixture.
	pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2> /dev/null)
	pid=${pid% }
	[ -n "$pid" ] && ch_lib_pids="$ch_lib_pids $pid"
	return 0
}

# gcore_from_root NAME: gdb's core of the fixture start_in_root started
# into $work/NAME.core (gdb reads its libraries in the root). 0 done, 1
# failed (reported), 2 gdb could not read all its memory (the fixture still
# runs; its core is left in $work/NAME.core).
gcore_from_root() {
	if [ -z "$pid" ]; then
		fail "$1: no process under unshare $unshare_pid"
		return 1
	fi
	timeout "${CH_GCORE_TIMEOUT:-300}" gdb < /dev/null --nx --batch \
		--readnever -iex 'set debuginfod enabled off' \
		-ex "set sysroot $root" -ex 'set pagination off' \
		-ex "attach $pid" -ex "gcore $work/$1.core" -ex detach -ex quit \
		> "$work/$1.gcore.log" 2>&1
	# [vsyscall] is never readable, and never needed.
	if grep 'Memory read failed' "$work/$1.gcore.log" |
		grep -qv 'at 0xffffffffff600000'; then
		return 2
	fi
	kill -KILL "$pid" 2> /dev/null
	wait "$unshare_pid" 2> /dev/null
	core_made "$work/$1.core" "$work/$1.gcore.log" "$1: gcore"
}

# listed FILE: sorted "address usable-size" lines of objects' JSON lines
# (the same words as the fixtures' live sets).
listed() {
	sed -n 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\),.*/\1 \2/p' "$1" |
		sort
}

# check_live_set NAME JSONL ALLOCATOR WHAT: objects' JSON lines JSONL list
# exactly the live set the fixture recorded ($dir/FIXTURE.live, FIXTURE
# being NAME up to its first dot), all ALLOCATOR's; WHAT names the
# library's version in the messages.
check_live_set() {
	listed "$2" > "$work/$1.actual"
	sort "$dir/${1%%.*}.live" > "$work/$1.expected"
	others=$(grep -vc "\"allocator\": \"$3\"" "$2")
	if [ ! -s "$work/$1.expected" ]; then
		fail "$1: the fixture recorded no live set"
	elif [ "$others" -ne 0 ]; then
		fail "$1: $others allocations not $3's"
	elif diff "$work/$1.expected" "$work/$1.actual" > "$work/$1.diff"; then
		ok "$1: objects lists the live set exactly ($(wc -l < "$work/$1.actual") allocations, $4)"
	else
		fail "$1: objects differs from the live set (< missed, > extra; $4):"
		head -n 40 "$work/$1.diff"
		return 1
	fi
}
