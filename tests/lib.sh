# SPDX-License-Identifier: MIT
# What the shell tests share; each sources it first:
#     . "$SRCDIR/tests/lib.sh"
#     test_init NAME FIXTURES ...    # the variables it needs besides COREHEAP
#     ...checks...
#     finish
#
# Variables (from AM_TESTS_ENVIRONMENT): COREHEAP, FIXTURES, SRCDIR,
# CORE_DIR. After test_init: $work, a fresh directory for this test's files
# ($CORE_DIR/NAME, kept after the run for a look at what failed).
#
# Exit statuses, as automake reads them: 0 passed, 1 failed, 77 skipped.
#
# POSIX sh: the tests run with /bin/sh.

set -u

checks=0
failures=0
# Processes started by start_fixture, killed on exit.
ch_lib_pids=
# Directories made by scratch_dir_into, removed on exit.
ch_lib_scratch=

ch_lib_cleanup() {
	for pid in $ch_lib_pids; do
		kill -KILL "$pid" 2> /dev/null
		wait "$pid" 2> /dev/null
	done
	for dir in $ch_lib_scratch; do
		rm -rf "$dir"
	done
}
trap ch_lib_cleanup EXIT
trap 'exit 1' HUP INT TERM

# test_init NAME [VARIABLE...]: fail unless COREHEAP, CORE_DIR and each
# VARIABLE are set; make $work, empty.
test_init() {
	name=$1
	shift
	for variable in COREHEAP CORE_DIR "$@"; do
		eval "value=\${$variable-}"
		if [ -z "$value" ]; then
			echo "FAIL: $variable is not set (run with make check)"
			exit 1
		fi
	done
	work=$CORE_DIR/$name
	rm -rf "$work"
	mkdir -p "$work" || { echo "FAIL: cannot create $work"; exit 1; }
}

# skip REASON: the test cannot run here (a tool is missing). A test that
# already failed a check fails, rather than hide it behind a skip.
skip() {
	echo "SKIP: $*"
	[ $failures -eq 0 ] && exit 77
	finish
}

# require_command COMMAND...: skip unless each is installed.
require_command() {
	for command in "$@"; do
		command -v "$command" > /dev/null 2>&1 ||
			skip "no $command"
	done
}

# scratch_dir_into VARIABLE: set VARIABLE to a new temporary directory,
# removed on exit. (Not dir=$(scratch_dir): a command substitution runs in
# a subshell, which could not note the directory for the cleanup.)
scratch_dir_into() {
	eval "$1=\$(mktemp -d)" || { echo "FAIL: mktemp -d"; exit 1; }
	eval "ch_lib_scratch=\"\$ch_lib_scratch \$$1\""
}

ok() {
	checks=$((checks + 1))
	echo "ok: $*"
}

fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
}

# check_same NAME EXPECTED ACTUAL: one check, both shown if they differ.
check_same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		echo "--- expected:"; printf '%s\n' "$2"
		echo "--- actual:"; printf '%s\n' "$3"
	fi
}

# check_grep NAME PATTERN FILE: one check, that FILE has a line matching
# the basic regular expression PATTERN.
check_grep() {
	if grep -q -- "$2" "$3"; then
		ok "$1"
	else
		fail "$1: no '$2' in $3"
	fi
}

# expect_exit STATUS PATTERN -- COMMAND...: run COMMAND (stdout in
# $work/out, stderr in $work/err); one check that it exits with STATUS and
# that stderr has PATTERN (a basic regular expression; empty: anything).
# A fatal error (status 2) must be one line.
expect_exit() {
	want_status=$1 pattern=$2
	shift 3
	"$@" > "$work/out" 2> "$work/err"
	status=$?
	lines=$(wc -l < "$work/err")
	if [ "$status" -ne "$want_status" ]; then
		fail "'$*' exited $status, expected $want_status"
		cat "$work/err"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$work/err"; then
		fail "'$*' stderr lacks '$pattern':"
		cat "$work/err"
	elif [ "$want_status" -eq 2 ] && [ "$lines" -ne 1 ]; then
		fail "'$*' printed $lines lines on stderr, expected one:"
		cat "$work/err"
	else
		ok "$* -> $status"
	fi
}

# run_ok NAME ARGS...: coreheap ARGS, stdout in $work/out, stderr in
# $work/err; a failed check only if it does not exit 0.
run_ok() {
	run_name=$1
	shift
	"$COREHEAP" "$@" > "$work/out" 2> "$work/err"
	status=$?
	if [ $status -ne 0 ]; then
		fail "$run_name: coreheap $* exited $status"
		cat "$work/err"
	fi
}

# make_core FIXTURE PREFIX [ARGS...]: a core of the fixture binary once it
# said "ready" (tests/make-core.sh), in PREFIX.core, with PREFIX.live and
# PREFIX.out as it left them; sets $core. Skips the test if cores cannot be
# made here; returns 1 (a failed check) if it went wrong otherwise.
make_core() {
	fixture=$1 prefix=$2
	shift 2
	"$SRCDIR/tests/make-core.sh" "$fixture" "$prefix" "$@" > /dev/null
	status=$?
	[ $status -eq 77 ] && skip "cannot make a core of $fixture here"
	if [ $status -ne 0 ]; then
		fail "cannot make a core of $fixture"
		return 1
	fi
	core=$prefix.core
}

# field KEY N: the Nth word of the line starting with KEY in $design, the
# file where a fixture wrote down its heap's design (make_core's PREFIX.live).
field() {
	awk -v key="$1" -v n="$2" '$1 == key { print $n; exit }' "$design"
}

# json_members KEYS: the lines of $work/out, a --format json answer, whose
# key matches the extended regex KEYS ('name|address'), one a line, without
# their indentation and trailing comma.
json_members() {
	grep -E "\"($1)\"" "$work/out" | sed 's/^ *//; s/,$//'
}

# progress_stages FILE: the stages of the progress line in FILE (stderr
# with CH_PROGRESS=1), one a line, each once where it came in one stretch.
progress_stages() {
	tr '\r' '\n' < "$1" | sed -n 's/^coreheap: \(.*[a-z]\) *[0-9]*%.*/\1/p' | uniq
}

# retained ADDRESS, size_of ADDRESS: the retained size and the size of the
# allocation at ADDRESS in $work/out, a top --format jsonl answer.
retained() {
	grep "\"address\": \"$1\"" "$work/out" | sed 's/.*"retained": \([0-9]*\).*/\1/'
}
size_of() {
	grep "\"address\": \"$1\"" "$work/out" | sed 's/.*"size": \([0-9]*\).*/\1/'
}

# wait_ready FILE COUNT: wait until FILE has COUNT lines "ready" (what a
# fixture says when its heap is as recorded); 1 after CH_READY_TIMEOUT
# seconds (default 60).
wait_ready() {
	tries=$((${CH_READY_TIMEOUT:-60} * 20))
	# A file not made yet has said nothing (and grep -c would print
	# nothing, which [ cannot compare).
	while [ ! -e "$1" ] || [ "$(grep -c '^ready$' "$1")" -lt "$2" ]; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.05
	done
}

# start_fixture FIXTURE PREFIX [ARGS...]: run the fixture in the
# background, stdout in PREFIX.out, its live set in PREFIX.live, and wait
# for its first "ready"; sets $fixture_pid. The fixture is killed on exit.
# Fails the test (exit 1) if it never says ready.
start_fixture() {
	fixture=$1 prefix=$2
	shift 2
	CH_LIVESET="$prefix.live" "$fixture" "$@" > "$prefix.out" 2> "$prefix.err" &
	fixture_pid=$!
	ch_lib_pids="$ch_lib_pids $fixture_pid"
	if ! wait_ready "$prefix.out" 1; then
		fail "$fixture did not say ready"
		cat "$prefix.err"
		exit 1
	fi
}

# core_made CORE LOG WHAT: 0 if CORE was written; else a failed check
# saying WHAT made none, with LOG (what gdb said) shown, and 1.
core_made() {
	[ -s "$1" ] && return 0
	fail "$3 made no $1"
	cat "$2"
	return 1
}

# take_gcore PID PREFIX: gcore the (ready) process into PREFIX.PID, and set
# $core to that file. Returns 1 (a failed check) if gcore made none.
take_gcore() {
	rm -f "$2.$1"
	gcore -o "$2" "$1" > "$2.gcore.log" 2>&1
	core=$2.$1
	core_made "$core" "$2.gcore.log" "gcore of $1"
}

# independent_reach PYTHON CORE MIN_LIVE WHAT [OPTION]: the live
# allocations of CORE (`coreheap objects`) in $work/blocks, "0xADDR SIZE" a
# line, and their count in $live, which must be MIN_LIVE or more (else the
# core is not of WHAT at work); those tests/python-reach.py (an independent
# count over the core, run by PYTHON with OPTION) cannot reach in
# $work/unreachable, sorted, and their count in $unreachable. Three checks:
# the count of live allocations, the script ran, its count adds up. With
# reach_allocator set, only that allocator's allocations count.
independent_reach() {
	run_ok "objects" objects --format jsonl "$2"
	grep "\"allocator\": \"${reach_allocator:-[^\"]*}\"" "$work/out" |
		sed 's/.*"address": "\([^"]*\)", "size": \([0-9]*\).*/\1 \2/' > "$work/blocks"
	live=$(wc -l < "$work/blocks" | tr -d ' ')
	if [ "$live" -ge "$3" ]; then
		ok "objects: $live live allocations"
	else
		fail "objects: only $live live allocations: not $4"
	fi
	"$1" "$SRCDIR/tests/python-reach.py" ${5:+"$5"} "$2" "$work/blocks" \
		> "$work/unreachable" 2> "$work/reach.err"
	check_same "python-reach.py ran" 0 "$?"
	sort "$work/unreachable" -o "$work/unreachable"
	unreachable=$(wc -l < "$work/unreachable" | tr -d ' ')
	check_same "python-reach.py: its count adds up" \
		"reachable $((live - unreachable)) of $live" "$(cat "$work/reach.err")"
}

# finish: say the count and exit 0 if no check failed, 1 otherwise.
finish() {
	echo "$checks checks, $failures failures"
	[ $failures -eq 0 ] && exit 0
	exit 1
}

# check_alloc_stacks NAME [OPTION...]: one check that, for each line "KIND
# ADDRESS FUNCTION" of $design (fixtures/jemalloc_prof's), `describe
# --format json [OPTION...] ADDRESS` of $core gives the allocation a stack
# whose innermost frame, once the allocator's own are left out, is
# FUNCTION's (module!FUNCTION+0x..).
check_alloc_stacks() {
	check_name=$1
	shift
	named=0
	while read -r kind address function; do
		"$COREHEAP" describe --format json "$@" "$address" "$core" \
			> "$work/out" 2> "$work/err"
		if grep -A1 '"allocation_stack": \[' "$work/out" | sed -n 2p |
			grep -q "\"[^\"]*!$function+0x[0-9a-f]*\""; then
			named=$((named + 1))
		else
			echo "the stack of $kind $address does not name $function:"
			head -30 "$work/out"
		fi
	done < "$design"
	check_same "$check_name: every allocation's stack names its function" \
		"$(wc -l < "$design")" "$named"
}
