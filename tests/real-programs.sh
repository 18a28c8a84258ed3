#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Healthy real programs from Debian, unmodified, each parked with a heap of
# its own making (perl's hashes, tclsh's lists and dicts, mawk's arrays,
# bash's associative array, and gdb with its embedded CPython having read
# coreheap's symbols), then, in one gdb session, asked for glibc's own
# malloc_stats() (printed on the program's stderr) and dumped with gcore.
# For each core:
#   - every arena's system bytes and bytes in use, as glibc counted them,
#     are the arenas coreheap walked (its mallinfo2 rows), and so are the
#     totals with the mmapped chunks;
#   - summary finds no damage, and summary, types, leaks, top, triage,
#     objects and report each exit 0 (a complete answer, no warning) with
#     nothing from a sanitizer on stderr.
. "$SRCDIR/tests/lib.sh"
test_init real-programs
require_command gdb python3

# A FIFO nobody writes to: a program that opens it to read waits there for
# good, in the program itself (no child to clean up after).
mkfifo "$work/never" || { fail "mkfifo"; finish; }

# stats_and_core NAME: glibc's malloc_stats() into the program's stderr,
# then its core into $work/NAME.core, then the program killed. 1 if no
# core was made. Twice: the first report's printing may allocate stderr's
# buffer (bash makes stderr line-buffered), after the figures were taken;
# the second's are those of the heap dumped.
stats_and_core() {
	gdb -q -nx -batch -p "$fixture_pid" -ex 'call (void)malloc_stats()' \
		-ex 'call (void)malloc_stats()' -ex "gcore $work/$1.core" \
		> "$work/$1.gdb" 2>&1
	kill -KILL "$fixture_pid" 2> /dev/null
	wait "$fixture_pid" 2> /dev/null
	core_made "$work/$1.core" "$work/$1.gdb" "$1: gdb"
}

# compare_stats NAME: glibc's figures against coreheap's mallinfo2 rows.
compare_stats() {
	"$COREHEAP" summary --format json "$work/$1.core" > "$work/$1.json" 2> /dev/null
	verdict=$(python3 - "$work/$1.err" "$work/$1.json" <<'EOF'
import json, re, sys
# The second report of the two (each ends with "max mmap bytes").
reports = open(sys.argv[1]).read().split("max mmap bytes")
text = reports[1] if len(reports) == 3 else ""
stats = re.findall(r"Arena \d+:\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)", text)
total = re.search(r"Total \(incl\. mmap\):\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)", text)
if not stats or not total:
    print("no malloc_stats() output in " + sys.argv[1])
    sys.exit()
glibc = sorted((int(s), int(u)) for s, u in stats)
d = json.load(open(sys.argv[2]))
ours, sums = [], None
for region in d["regions"]:
    for stat in region.get("stats", []):
        values = stat["values"]
        if stat["row"] == "mallinfo2, this arena":
            ours.append((values["arena"], values["uordblks"]))
        elif stat["row"] == "mallinfo2":
            sums = values
# One arena has the sums' row alone.
if not ours and sums is not None:
    ours = [(sums["arena"], sums["uordblks"])]
ours.sort()
mmapped = int(total.group(1)) - sum(s for s, _ in glibc)
if ours != glibc:
    print("arenas (system bytes, in use): glibc %s, coreheap %s" % (glibc, ours))
elif sums is None or (sums["arena"], sums["uordblks"], sums.get("hblkhd", 0)) != (
        sum(s for s, _ in glibc), sum(u for _, u in glibc), mmapped):
    print("totals: glibc %s in use, %d mmapped; coreheap %s" % (total.groups(), mmapped, sums))
else:
    print("yes")
EOF
)
	check_same "$1: every arena and the mmapped chunks as glibc counted them" yes "$verdict"
}

# every_command NAME: each command exits 0 with no sanitizer report.
every_command() {
	core=$work/$1.core
	for cmd in summary types leaks top "triage --format json" \
		"objects --format jsonl" "report -o -"; do
		# shellcheck disable=SC2086
		"$COREHEAP" $cmd "$core" > "$work/out" 2> "$work/cmd.err"
		status=$?
		if [ $status -ne 0 ] || grep -q -E 'runtime error|Sanitizer' "$work/cmd.err"; then
			fail "$1: $cmd exited $status"
			head -n 20 "$work/cmd.err"
		else
			ok "$1: $cmd exits 0"
		fi
		[ "$cmd" != summary ] ||
			check_grep "$1: no damage" '^damage: *none found$' "$work/out"
	done
}

# program NAME COMMAND...: COMMAND run as a fixture is (start_fixture:
# stdout in $work/NAME.out, stderr in $work/NAME.err, "ready" waited for),
# then its figures, its core and the checks.
program() {
	name=$1
	shift
	command=$1
	shift
	start_fixture "$command" "$work/$name" "$@"
	if stats_and_core "$name"; then
		compare_stats "$name"
		every_command "$name"
	fi
	rm -f "$work/$name.core"
}

program perl perl -e '$| = 1; my %h; $h{$_} = "v$_" for 1 .. 100000;
	my @l = map { [$_, "s$_"] } 1 .. 20000; print "ready\n"; sleep 1000'
program mawk mawk -v never="$work/never" 'BEGIN {
	for (i = 0; i < 100000; i++) a[i] = "x" i;
	print "ready"; fflush(); getline line < never }'
program bash bash -c 'declare -A a; for ((i = 0; i < 20000; i++)); do
	a[k$i]=x$i; done; echo ready; read -r line < "$0"' "$work/never"
if command -v tclsh > /dev/null 2>&1; then
	printf '%s\n' 'for {set i 0} {$i < 50000} {incr i} {' \
		'lappend l "x$i"; dict set d $i "v$i" }' \
		'puts ready; flush stdout; after 1000000' > "$work/heap.tcl"
	program tclsh tclsh "$work/heap.tcl"
else
	echo "skip: no tclsh (scripts/install-deps.sh installs tcl)"
fi
program gdb gdb -q -nx -batch -ex "file $COREHEAP" \
	-ex 'info functions ^ch_heap_' -ex 'python print("ready")' \
	-ex 'python import time; time.sleep(1000)'

finish
