#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make-core.sh FIXTURE_BINARY OUTPUT_PREFIX [--kernel] [FIXTURE_ARGS...]
#
# Runs a fixture with CH_LIVESET=OUTPUT_PREFIX.live, waits until it says
# "ready" (its live set is written and its heap frozen), then takes a core:
#   default:   gcore attaches to the live process, writes OUTPUT_PREFIX.core,
#              and the fixture is killed;
#   --kernel:  the fixture dies after "ready" by a signal that dumps core
#              (abort(), a fault, or a signal the caller sends it); it runs
#              with `ulimit -c unlimited` in a fresh directory and the
#              kernel's core file is moved to OUTPUT_PREFIX.core.
# Also leaves OUTPUT_PREFIX.out and OUTPUT_PREFIX.err (the fixture's stdout
# and stderr) and, for gcore, OUTPUT_PREFIX.gcore.log.
#
# Exit status: 0 done, 77 cannot be done on this machine (no gcore; kernel
# cores not written to the cwd), 1 anything else failed.
#
# Environment: CH_READY_TIMEOUT (seconds to wait for "ready", default 60),
# CH_GCORE_TIMEOUT (seconds gcore may take, default 300).

set -u

usage() {
	echo "usage: $0 FIXTURE_BINARY OUTPUT_PREFIX [--kernel] [FIXTURE_ARGS...]" >&2
	exit 1
}

die() {
	echo "make-core.sh: $*" >&2
	exit 1
}

skip() {
	echo "make-core.sh: SKIP: $*" >&2
	exit 77
}

[ $# -ge 2 ] || usage
fixture=$1
prefix=$2
shift 2
kernel=false
if [ "${1-}" = --kernel ]; then
	kernel=true
	shift
fi

ready_timeout=${CH_READY_TIMEOUT:-60}
gcore_timeout=${CH_GCORE_TIMEOUT:-300}

[ -x "$fixture" ] || die "fixture '$fixture' is not an executable file"
case $fixture in
/*) ;;
*) fixture=$PWD/$fixture ;;
esac
case $prefix in
/*) ;;
*) prefix=$PWD/$prefix ;;
esac
mkdir -p "$(dirname "$prefix")" || die "cannot create $(dirname "$prefix")"

live=$prefix.live
core=$prefix.core
out=$prefix.out
err=$prefix.err
rm -f "$live" "$core" "$out" "$err" "$prefix.gcore.log"

fixture_pid=
kernel_dir=
cleanup() {
	if [ -n "$fixture_pid" ]; then
		kill -KILL "$fixture_pid" 2>/dev/null
		wait "$fixture_pid" 2>/dev/null
	fi
	if [ -n "$kernel_dir" ]; then
		rm -rf "$kernel_dir"
	fi
}
trap cleanup EXIT

show_fixture_output() {
	echo "--- fixture stdout ($out):" >&2
	cat "$out" >&2 2>/dev/null
	echo "--- fixture stderr ($err):" >&2
	cat "$err" >&2 2>/dev/null
}

said_ready() {
	grep -qx ready "$out" 2>/dev/null
}

# The fixture's live set is only meaningful once it said "ready".
check_live_set() {
	[ -s "$live" ] || die "fixture said ready but $live is missing or empty"
}

# Polls for "ready"; fails early if the fixture died first.
wait_for_ready() {
	local deadline=$((SECONDS + ready_timeout))

	while ! said_ready; do
		if ! kill -0 "$fixture_pid" 2>/dev/null; then
			wait "$fixture_pid"
			local status=$?
			fixture_pid=
			show_fixture_output
			said_ready &&
				die "fixture $fixture exited (status $status) right after saying ready: an aborting fixture needs --kernel"
			die "fixture $fixture exited with status $status before saying ready"
		fi
		if [ $SECONDS -ge $deadline ]; then
			show_fixture_output
			die "fixture $fixture did not say ready within ${ready_timeout}s"
		fi
		sleep 0.05
	done
}

make_gcore() {
	command -v gcore >/dev/null 2>&1 || skip "gcore (from gdb) is not installed"
	command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"

	CH_LIVESET=$live "$fixture" "$@" >"$out" 2>"$err" &
	fixture_pid=$!
	wait_for_ready
	check_live_set

	if ! timeout "$gcore_timeout" gcore -o "$prefix" "$fixture_pid" \
		>"$prefix.gcore.log" 2>&1; then
		cat "$prefix.gcore.log" >&2
		kill -0 "$fixture_pid" 2>/dev/null ||
			die "the fixture exited after saying ready (an aborting fixture needs --kernel)"
		die "gcore -o $prefix $fixture_pid failed (log: $prefix.gcore.log)"
	fi
	[ -s "$prefix.$fixture_pid" ] || die "gcore wrote no $prefix.$fixture_pid"
	mv "$prefix.$fixture_pid" "$core" || die "cannot rename the core to $core"

	# Check it is still alive: a fixture that died meanwhile was not frozen.
	kill -0 "$fixture_pid" 2>/dev/null ||
		die "fixture exited while the core was taken"
	kill -KILL "$fixture_pid"
	wait "$fixture_pid" 2>/dev/null
	fixture_pid=
}

make_kernel_core() {
	local pattern status cores

	pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null) ||
		skip "cannot read /proc/sys/kernel/core_pattern"
	case $pattern in
	'|'*) skip "core_pattern pipes cores to '$pattern', not to the cwd" ;;
	*/*) skip "core_pattern '$pattern' does not write cores to the cwd" ;;
	esac

	kernel_dir=$(mktemp -d "$prefix.kernel.XXXXXX") ||
		die "cannot create a directory for the kernel core"

	# A subshell, so the ulimit and cd stay inside it. timeout does not
	# dump core itself when it passes the fixture's SIGABRT on.
	(
		ulimit -c unlimited 2>/dev/null || exit 77
		cd "$kernel_dir" || exit 1
		CH_LIVESET=$live exec timeout -s KILL "$ready_timeout" \
			"$fixture" "$@" >"$out" 2>"$err"
	) &
	# wait with stderr redirected: no "Aborted (core dumped)" from bash.
	wait $! 2>/dev/null
	status=$?
	[ $status -ne 77 ] || skip "ulimit -c unlimited is not allowed here"
	# 128 + a signal whose default action dumps core (signal(7)): QUIT,
	# ILL, TRAP, ABRT, BUS, FPE, SEGV, XCPU, XFSZ, SYS.
	case $status in
	131|132|133|134|135|136|139|152|153|159) ;;
	*)
		show_fixture_output
		die "fixture $fixture exited with status $status, expected death by a signal that dumps core (134 for SIGABRT)"
		;;
	esac
	said_ready || { show_fixture_output; die "fixture aborted without saying ready"; }
	check_live_set

	cores=$(cd "$kernel_dir" && ls -A)
	case $cores in
	'') skip "the kernel wrote no core file (core_pattern '$pattern', check ulimit -c and /proc/sys/fs/suid_dumpable)" ;;
	*[[:space:]]*) die "expected one core file in $kernel_dir, found: $cores" ;;
	esac
	mv "$kernel_dir/$cores" "$core" || die "cannot move $kernel_dir/$cores to $core"
}

if $kernel; then
	make_kernel_core "$@"
else
	make_gcore "$@"
fi
echo "$core"
exit 0
