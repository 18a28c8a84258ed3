#!/bin/bash
# The hostile-core corpus: every command of coreheap on every mutant that
# tests/hostile_mutate makes from a fixture's core (program headers, notes,
# segment bounds, heap and arena metadata, truncation at every structure
# boundary). Each run must:
#   - exit 0, 1, 2 or (triage only) 3, never die of a signal;
#   - print no sanitizer report (ASan, UBSan, LeakSanitizer);
#   - use at most $HOSTILE_TIMEOUT seconds of CPU time (default 10, 5
#     without ASan), and end within six times that on the clock (a run
#     blocked on something that never comes uses no CPU): CPU time, which
#     a busy machine hardly changes, rather than wall time, which it does;
#   - stay within a memory bound set by the mutant's size (512 MiB and 8
#     times the mutant): ulimit -v in a plain build; under ASan, whose
#     shadow memory needs terabytes of address space, ASan's limits on the
#     peak RSS and on any one allocation instead;
#   - say why on stderr when it exits 1 or 2;
#   - not exit 0 in silence on a mutant that is visibly damaged (a
#     truncated file, a segment that wraps, an impossible note: the
#     README promises a warning and exit 1 there).
# diff compares the mutant with its original.
#
# Every failure is listed with the mutant's number and description, the
# command, what went wrong and the sanitizer's first lines; the mutant is
# kept in $CORE_DIR/hostile/failed/ (the first 40) and can be made again
# with: hostile_mutate BASE.core BASE.csv INDEX OUT.
#
# Before the mutants, every command runs on each core kept in
# tests/hostile-regressions/ (inputs that once broke one).
#
# hostile-cores.sh python (tests/hostile-python.sh): the base is instead a
# core of Debian 12's python3 running tests/hostile_python.py, which names
# the memory of its objects, pymalloc's pools, its thread states, frames
# and interpreter (hostile_mutate --words): the mutants are hostile words
# there, for the CPython plugin's walk, references, roots and stacks.
#
# Environment: HOSTILE_SEED (mutant values, default 1), HOSTILE_TIMEOUT,
# HOSTILE_JOBS (parallel workers, default nproc), HOSTILE_ONLY (a regex
# of mutant classes to run, e.g. 'heap|arena').
set -u
: "${COREHEAP:?}" "${FIXTURES:?}" "${CORE_DIR:?}" "${SRCDIR:?}" "${TESTS_BUILDDIR:?}"
mode=${1:-glibc}
case $mode in
glibc) work="$CORE_DIR/hostile" ;;
python) work="$CORE_DIR/hostile-python" ;;
*) echo "usage: hostile-cores.sh [python]" >&2; exit 1 ;;
esac
mutate="$TESTS_BUILDDIR/hostile_mutate"
rm -rf "$work"
mkdir -p "$work/failed"

if grep -q __asan_init "$COREHEAP" 2>/dev/null; then
	asan=true
else
	asan=false
fi
if $asan; then
	timeout_s=${HOSTILE_TIMEOUT:-10}
else
	timeout_s=${HOSTILE_TIMEOUT:-5}
fi
# Sanitizer reports get exit statuses of their own, apart from 1 (partial).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=98:print_stacktrace=1"

# run_checked OUT ERR EXPECT SIZE CMD ARGS...: runs one command on a mutant
# of SIZE bytes, bounded in time and memory; prints nothing and returns 0 if
# it behaved, else prints the reason and returns 1. EXPECT is "partial" if
# the mutant is visibly damaged, else "any". CMD is the subcommand, for the
# exit statuses only triage may use.
run_checked() {
	local out=$1 err=$2 expect=$3 size=$4 cmd=$5
	shift 5
	local status limit_mb
	# Memory: 512 MiB and 8 times the mutant; the sane core needs a
	# tenth of that.
	limit_mb=$(( 512 + 8 * size / (1024 * 1024) ))
	if $asan; then
		# ASan's own limits, no extra process: a peak RSS past the
		# bound, or one allocation larger than it (a size taken from
		# the core unchecked), is a report.
		( ulimit -t "$timeout_s"
		  ASAN_OPTIONS="$ASAN_OPTIONS:hard_rss_limit_mb=$limit_mb:max_allocation_size_mb=$limit_mb" \
			exec timeout -s KILL "$((timeout_s * 6))" "$@" ) > "$out" 2> "$err"
		status=$?
	else
		# ulimit -v on top of a gigabyte: libdw, thread stacks and
		# malloc's arenas reserve address space they never touch.
		( ulimit -v $(( (limit_mb + 1024) * 1024 )) 2>/dev/null
		  ulimit -t "$timeout_s"
		  exec timeout -s KILL "$((timeout_s * 6))" "$@" ) > "$out" 2> "$err"
		status=$?
	fi
	if [ "$status" -eq 137 ] || [ "$status" -eq 124 ]; then
		echo "hang: killed after $((timeout_s * 6))s on the clock"
		return 1
	fi
	# SIGXCPU (and SIGKILL past the hard limit, above): the CPU bound.
	if [ "$status" -eq 152 ]; then
		echo "hang: more than ${timeout_s}s of CPU time"
		return 1
	fi
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$err"; then
		echo "sanitizer (exit $status): $(grep -m1 -E 'ERROR: |runtime error:' "$err")"
		return 1
	fi
	if [ "$status" -ge 128 ]; then
		echo "crash: signal $((status - 128))"
		return 1
	fi
	case $status in
	0|1|2) ;;
	3) [ "$cmd" = triage ] || { echo "exit 3 from $cmd (only triage may)"; return 1; } ;;
	98|99) echo "sanitizer exit status $status"; return 1 ;;
	*) echo "exit status $status"; return 1 ;;
	esac
	if grep -q 'out of memory' "$err"; then
		echo "memory: out of memory within ${limit_mb} MiB"
		return 1
	fi
	if [ "$status" -ne 0 ] && ! grep -q . "$err"; then
		echo "exit $status with nothing on stderr"
		return 1
	fi
	if [ "$expect" = partial ] && [ "$status" -eq 0 ]; then
		echo "exit 0 on a damaged core$(grep -q . "$err" && echo ' (a warning, but the report claims to be complete)' || echo ', not a word on stderr')"
		return 1
	fi
	return 0
}

failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Self-check: the checks above catch a crash, a sanitizer report, a hang,
# a silent failure, a silent success on a damaged core, and a bad status;
# and let a good run pass.
selfcheck() { # name expect-to-pass expect script
	local name=$1 want=$2 expect=$3 script=$4 fake="$work/selfcheck-$1.sh" reason
	printf '#!/bin/sh\n%s\n' "$script" > "$fake"
	chmod +x "$fake"
	checks=$((checks + 1))
	if reason=$(timeout_s=2 run_checked "$work/selfcheck.out" "$work/selfcheck.err" \
			"$expect" 0 summary "$fake"); then
		[ "$want" = pass ] || fail "self-check: a fake coreheap that $name was not caught"
	else
		[ "$want" = fail ] || fail "self-check: a fake coreheap that $name was refused: $reason"
	fi
}
selfcheck "crashes" fail any 'kill -SEGV $$'
selfcheck "reports a sanitizer error" fail any \
	'echo "==1==ERROR: AddressSanitizer: heap-buffer-overflow" >&2; exit 1'
selfcheck "hangs" fail any 'exec tail -f /dev/null'
selfcheck "spins" fail any 'while :; do :; done'
selfcheck "fails silently" fail any 'exit 1'
selfcheck "says nothing on a damaged core" fail partial 'exit 0'
selfcheck "exits 5" fail any 'echo x >&2; exit 5'
selfcheck "runs out of memory" fail any 'echo "coreheap: out of memory" >&2; exit 2'
selfcheck "warns and exits 1" pass partial 'echo "coreheap: warning: truncated" >&2; exit 1'
selfcheck "exits 0 on a sane core" pass any 'exit 0'
if [ "$failures" -ne 0 ]; then
	echo "the checks cannot be trusted; stopping"
	exit 1
fi

# Regression cores: inputs that once broke a command (the fuzzers' or the
# corpus's finds, kept in tests/hostile-regressions/, each named after
# what it broke). Every command on each.
for core in "$SRCDIR"/tests/hostile-regressions/*.core; do
	[ "$mode" = glibc ] && [ -e "$core" ] || continue
	name=$(basename "$core" .core)
	size=$(stat -c %s "$core")
	for spec in "summary" "objects --format jsonl" "types" "leaks" "top" \
		"triage --format json" "why 0x1000" "refs 0x1000" "describe 0x1000" \
		"report -o -"; do
		cmd=${spec%% *}
		rest=${spec#"$cmd"}
		checks=$((checks + 1))
		# shellcheck disable=SC2086
		if ! reason=$(run_checked "$work/regression.out" "$work/regression.err" any \
				"$size" "$cmd" "$COREHEAP" $cmd --debuginfo-path /nonexistent $rest "$core"); then
			fail "regression $name: $spec: $reason"
			grep -m3 -E '^ *#[0-9]+ |runtime error' "$work/regression.err"
		fi
	done
done

base="$work/base"
if [ "$mode" = python ]; then
	"$SRCDIR/tests/make-python-core.sh" "$base"
	status=$?
	[ "$status" -eq 0 ] || exit "$status"
	mutate_words=(--words "$base.ranges")
else
	# A one-thread heap of every kind of chunk (fixtures/README).
	"$SRCDIR/tests/make-core.sh" "$FIXTURES/glibc_mixed" "$base" > /dev/null 2> "$base.make.err"
	status=$?
	if [ "$status" -eq 77 ]; then
		cat "$base.make.err"
		exit 77
	fi
	[ "$status" -eq 0 ] || { cat "$base.make.err"; echo "FAIL: cannot make the base core"; exit 1; }
	mutate_words=()
fi
if ! "$COREHEAP" objects --format csv "$base.core" > "$base.csv" 2> "$base.csv.err"; then
	cat "$base.csv.err"
	echo "FAIL: coreheap objects fails on the sane base core"
	exit 1
fi
if [ "$mode" = python ]; then
	# The mutants are about what the script said its objects are: each
	# is an object of the sane core, or the corpus hits nothing.
	checks=$((checks + 1))
	missing=$(awk '$3 == "pyobject" || $3 == "pypool" { print $4 }' "$base.ranges" |
		grep -vxFf <(awk -F, '/^0x/ { print $1 }' "$base.csv"))
	if [ -n "$missing" ]; then
		fail "objects the script named that coreheap does not list: $(echo $missing)"
	fi
fi
count=$("$mutate" "${mutate_words[@]}" --count "$base.core" "$base.csv") || { echo "FAIL: hostile_mutate --count"; exit 1; }
# An allocation from the middle of the heap, for why/refs/describe.
some_block=$(awk -F, '/^0x/ { a[n++] = $1 } END { print a[int(n / 2)] }' "$base.csv")

# One mutant: every command on it. Prints "FAIL<TAB>index<TAB>command<TAB>
# reason" lines for the collector, and the mutant's description first.
run_mutant() { # index dir
	local i=$1 dir=$2 m="$2/m$1.core" line class expect addr desc size reason
	local dbg=(--debuginfo-path /nonexistent) kept=false
	line=$("$mutate" "${mutate_words[@]}" "$base.core" "$base.csv" "$i" "$m") || {
		printf 'FAIL\t%s\tmutate\thostile_mutate failed\n' "$i"; return; }
	read -r class expect addr desc <<< "$line"
	if [ -n "${HOSTILE_ONLY:-}" ] && ! [[ $class =~ $HOSTILE_ONLY ]]; then
		rm -f "$m"
		return
	fi
	printf 'MUTANT\t%s\t%s\t%s\t%s\n' "$i" "$class" "$expect" "$desc"
	[ "$addr" != 0x0 ] || addr=$some_block
	size=$(stat -c %s "$m")
	# name|options|operands before the core: options come first, as
	# every command takes them.
	local -a cmds=(
		"summary||"
		"objects|--format jsonl|"
		"types||"
		"leaks||"
		"top||"
		"triage|--format json|"
		"why||$addr"
		"refs||$addr"
		"describe||$addr"
		"diff||$base.core"
		"report|-o -|"
	)
	# A runtime's objects: top walks them, types them, follows their
	# references and names their roots, triage reads the threads'
	# stacks; every third mutant, one more command in turn. (Under ASan
	# a run here costs half a second of CPU: every command on every
	# mutant would be twenty minutes.)
	if [ "$mode" = python ]; then
		local -a more=("summary||" "objects|--format jsonl|" "leaks||"
			"why||$addr" "describe||$addr")
		cmds=("top||" "triage|--all-threads --format json|")
		[ $((i % 3)) -eq 0 ] && cmds+=("${more[$((i / 3 % ${#more[@]}))]}")
	fi
	local n=0 spec name opts operands
	for spec in "${cmds[@]}"; do
		IFS='|' read -r name opts operands <<< "$spec"
		# One command of every fourth mutant, in turn, with libc's
		# debug info (main_arena by symbol, DWARF types: 0.5 s a run
		# under ASan); the others without, which is four times faster
		# and finds the heap by its shape.
		if [ $(( i % 4 )) -eq 0 ] && [ $(( (i / 4 + n) % ${#cmds[@]} )) -eq 0 ]; then
			dbg=()
		else
			dbg=(--debuginfo-path /nonexistent)
		fi
		n=$((n + 1))
		# shellcheck disable=SC2086
		set -- "$COREHEAP" "$name" $opts "${dbg[@]}" $operands "$m"
		if ! reason=$(run_checked "$dir/out" "$dir/err" "$expect" "$size" "$name" "$@"); then
			printf 'FAIL\t%s\t%s\t%s\n' "$i" "${*:2}" "$reason"
			# Where: the report's first frames and our first.
			{ grep -m3 -E '^ *#[0-9]+ ' "$dir/err"
			  grep -m1 -E '^ *#[0-9]+ .*(src|allocators)/' "$dir/err"; } |
				sed 's/^ */\t\t/'
			if ! $kept && [ "$(ls "$work/failed" | wc -l)" -lt 40 ]; then
				cp "$m" "$work/failed/m$i.core"
				kept=true
			fi
			# A hang costs the whole timeout: one per mutant is
			# enough to know, the test stays within its time.
			case $reason in
			hang:*)
				printf '\t\t(the other commands on this mutant skipped)\n'
				break ;;
			esac
		elif [ "$name" = triage ]; then
			printf 'TRIAGE\t%s\t%s\n' "$i" "$(grep -q '"heap_damaged": true' "$dir/out" && echo damaged || echo clean)"
		fi
	done
	rm -f "$m"
}

jobs=${HOSTILE_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
echo "$count mutants of $base.core, $jobs workers, ${timeout_s}s per run, $($asan && echo 'ASan: peak RSS bounded' || echo 'ulimit -v')"
start=$SECONDS
for w in $(seq 0 $((jobs - 1))); do
	(
		dir="$work/w$w"
		mkdir -p "$dir"
		for i in $(seq "$w" "$jobs" $((count - 1))); do
			run_mutant "$i" "$dir"
		done > "$work/results.$w"
	) &
done
wait
cat "$work"/results.* > "$work/results"
# Wall time, and the CPU time of all runs (the second line of `times`):
# the machine may be shared.
# (times, not in a pipe or $(...): a subshell has no children of its own)
times > "$work/times"
echo "ran in $((SECONDS - start))s; CPU time of the runs (user, system): $(tail -n1 "$work/times")"

# The report: each failing mutant with its description, then totals.
awk -F'\t' '
$1 == "MUTANT" { desc[$2] = $3 " (" $4 "): " $5; n++; cls[$3]++ }
$1 == "FAIL" { if (!($2 in failed)) order[nf++] = $2; failed[$2] = failed[$2] "\n    " $3 ": " $4; runs++ }
$1 == "" || /^\t\t/ { failed[last] = failed[last] "\n" $0 }
$1 == "FAIL" { last = $2 }
$1 == "TRIAGE" && $3 == "damaged" { damaged[$2] = 1 }
END {
	for (k = 0; k < nf; k++) {
		i = order[k]
		printf "FAIL: mutant %s: %s%s\n", i, desc[i], failed[i]
	}
	printf "%d mutants, %d failing (%d failing runs)\n", n, nf, runs
	for (c in cls) {
		f = 0
		for (i in failed) if (index(desc[i], c " (") == 1) f++
		printf "  %-9s %3d mutants, %3d failing\n", c, cls[c], f
	}
	h = 0; d = 0
	for (i in desc) if (desc[i] ~ /^(heap|arena|tcache) /) { h++; if (i in damaged) d++ }
	if (h > 0)
		printf "heap, arena and tcache mutants that triage calls damaged: %d of %d\n", d, h
	for (i in desc)
		if (desc[i] ~ /^(heap|arena|tcache) / && !(i in damaged))
			printf "  not called damaged: mutant %s: %s\n", i, desc[i]
	exit (nf > 0 ? 1 : 0)
}' "$work/results"
status=$?
[ "$status" -eq 0 ] && [ "$failures" -eq 0 ] && echo "every mutant run and regression core handled"
[ "$status" -eq 0 ] && [ "$failures" -eq 0 ]
