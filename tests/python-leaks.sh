#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A real program, unmodified: Debian's /usr/bin/python3 running an ordinary
# workload (tests/python_workload.py), dumped with gcore once it says
# "ready" while it blocks reading a fifo. Its objects live in pymalloc's
# arenas, anonymous mmaps the kernel merges with malloc's mmapped chunks:
# when a mapping holding a malloc block was no root, 2971 of its 3082
# allocations were reported leaked. `leaks` must report at most a handful,
# and none that an independent count (tests/python-reach.py: every
# writable word outside the live allocations and every register a root,
# more than coreheap scans) finds reachable. And summary's kinds add up
# to the mappings of the core, each heap's parts to the heap.
. "$SRCDIR/tests/lib.sh"
test_init python-leaks SRCDIR

# Debian's python3, as a user runs it; scripts/install-deps.sh installs it.
python=/usr/bin/python3
[ -x "$python" ] || skip "no $python (scripts/install-deps.sh installs it)"
require_command gcore gdb
# A handful: allocations only free chunks, headers or dead stack words
# point to, which coreheap rightly does not count.
handful=5

mkfifo "$work/stdin" || { fail "mkfifo"; finish; }
"$python" "$SRCDIR/tests/python_workload.py" < "$work/stdin" > "$work/py.out" 2> "$work/py.err" &
pid=$!
ch_lib_pids="$ch_lib_pids $pid"
# Open the fifo's writing end: the workload's stdin opens, and reads block
# until this test exits.
exec 3> "$work/stdin"
if ! wait_ready "$work/py.out" 1; then
	fail "python3 did not say ready"
	cat "$work/py.err"
	finish
fi
take_gcore "$pid" "$work/py" || finish

# glibc's blocks: python-reach.py's model is malloc's (what pymalloc holds
# is, to it, memory in no allocation: roots).
reach_allocator=glibc independent_reach "$python" "$core" 1000 "the workload"

run_ok "leaks" leaks --format jsonl "$core"
sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | sort > "$work/leaked"
leaked=$(wc -l < "$work/leaked" | tr -d ' ')
if [ "$leaked" -le "$handful" ]; then
	ok "leaks: $leaked of $live allocations reported leaked (at most $handful)"
else
	fail "leaks: $leaked of $live allocations reported leaked (at most $handful)"
fi
check_same "leaks: every allocation the independent count cannot reach" "" \
	"$(comm -23 "$work/unreachable" "$work/leaked")"
# Those coreheap reports and the generous count reaches: only from memory
# coreheap rightly leaves out. Listed with the words that reach them.
extra=$(comm -13 "$work/unreachable" "$work/leaked")
if [ -n "$extra" ]; then
	echo "reported leaked, reached by the generous count:"
	printf '%s\n' "$extra"
fi
check_same "leaks: at most a handful beyond the independent count" yes \
	"$([ "$(printf '%s' "$extra" | grep -c .)" -le "$handful" ] && echo yes)"

# summary maps every byte of the process once: its kinds add up to the
# mappings the core's program headers and NT_FILE note give
# (tests/core-mappings.py, which reads them itself).
total=$("$python" "$SRCDIR/tests/core-mappings.py" "$core" | cut -d' ' -f1)
run_ok "summary --format json" summary --format json "$core"
check_same "summary: the kinds add up to the $total bytes python3 maps" yes \
	"$("$python" -c '
import json, sys
memory = json.load(open(sys.argv[1]))["memory"]
total = int(sys.argv[2])
kinds = sum(k["bytes"] for k in memory["kinds"])
print("yes" if memory["bytes"] == total == kinds else "no: %d, kinds %d" % (memory["bytes"], kinds))
' "$work/out" "$total")"
# Each allocator's heap (glibc's and pymalloc's) is its live, free, top,
# overhead and unexplained bytes, no more and no less.
check_same "summary: each heap is the sum of its parts" "cpython ok, glibc ok" \
	"$("$python" -c '
import json, sys
kinds = json.load(open(sys.argv[1]))["memory"]["kinds"]
parts = ("live_bytes", "free_bytes", "top_bytes", "overhead_bytes", "unexplained_bytes")
print(", ".join("%s %s" % (k["allocator"],
                           "ok" if sum(k[p] for p in parts) == k["bytes"] and not k["excess_bytes"]
                           else str(k))
                for k in sorted(kinds, key=lambda k: k.get("allocator", ""))
                if k["kind"] == "heap"))
' "$work/out")"

exec 3>&-
finish
