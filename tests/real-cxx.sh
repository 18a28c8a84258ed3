#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A real C++ program, unmodified: Debian's g++ (its cc1plus) compiling a
# large generated C++ file, dumped with gcore mid-compile once it has
# worked a while. `leaks` must report every allocation that an
# independent count (tests/python-reach.py, which shares no code with
# coreheap: every writable word outside the live allocations, each stack
# from its stack pointer less the red zone, and every register a root)
# cannot reach, and beyond those only allocations the count reaches from
# free memory alone; summary, types, top and why must run cleanly on it.
. "$SRCDIR/tests/lib.sh"
test_init real-cxx SRCDIR

# Debian's g++, as a user runs it; scripts/install-deps.sh installs it.
gxx=/usr/bin/g++
[ -x "$gxx" ] || skip "no $gxx (scripts/install-deps.sh installs it)"
require_command gcore gdb python3
cc1plus=$("$gxx" -print-prog-name=cc1plus)
[ -x "$cc1plus" ] || skip "g++ has no cc1plus ($cc1plus)"

# A translation unit that keeps cc1plus busy for a minute or more: many
# classes with std containers, each instantiating its own templates.
awk 'BEGIN {
	print "#include <algorithm>\n#include <map>\n#include <sstream>"
	print "#include <string>\n#include <vector>"
	for (i = 0; i < 1500; i++) {
		printf "struct Rec%d { std::string name; std::vector<int> vals; std::map<std::string, int> idx; };\n", i
		printf "int work%d(int k) {\n", i
		printf "  std::vector<Rec%d> v(k);\n  std::ostringstream os;\n", i
		printf "  for (auto &r : v) { r.name = std::to_string(k) + \"x%d\"; r.vals.push_back(k * %d); r.idx[r.name] = k; os << r.name; }\n", i, i
		printf "  std::sort(v.begin(), v.end(), [](const Rec%d &a, const Rec%d &b) { return a.name < b.name; });\n", i, i
		print "  return (int)os.str().size() + (int)v.size();\n}"
	}
}' > "$work/big.cc"

"$gxx" -O2 -c "$work/big.cc" -o "$work/big.o" > "$work/gxx.out" 2>&1 &
driver=$!
ch_lib_pids="$ch_lib_pids $driver"
# cc1plus is the driver's child: wait until it has spent 2 s of CPU time
# (parsing done, the middle end at work), for at most a minute.
pid=
tries=1200
while [ $tries -gt 0 ]; do
	[ -n "$pid" ] || pid=$(pgrep -P "$driver" -x cc1plus)
	if [ -n "$pid" ]; then
		# utime and stime, fields 14 and 15 of /proc/PID/stat, in ticks
		# (the command name in field 2 holds no space: cc1plus).
		ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2> /dev/null)
		[ "${ticks:-0}" -ge $((2 * $(getconf CLK_TCK))) ] && break
	fi
	kill -0 "$driver" 2> /dev/null || break
	tries=$((tries - 1))
	sleep 0.05
done
if [ -z "$pid" ] || ! kill -0 "$pid" 2> /dev/null; then
	fail "cc1plus was not found busy compiling"
	cat "$work/gxx.out"
	finish
fi
ch_lib_pids="$pid $ch_lib_pids"
# gcore stops cc1plus wherever it is: inside malloc, the heap is half
# updated (the top chunk being split, say), which coreheap rightly reports
# as damage (tests/damage-glibc.sh is about that). Such a core is not what
# this test is about: it is taken again a moment later, up to five times.
for attempt in 1 2 3 4 5; do
	take_gcore "$pid" "$work/cc1plus" || finish
	"$COREHEAP" triage "$core" 2> /dev/null |
		sed -n '/^thread /,/#2 /p' |
		grep -Eq 'libc\.so\.6!(_int_[a-z]+|sysmalloc|malloc_consolidate|unlink_chunk|tcache_[a-z_]+|__libc_(malloc|calloc|realloc|free|memalign)|malloc|calloc|realloc|free)\+' ||
		break
	echo "core $attempt: cc1plus was in malloc; taken again"
	sleep 0.3
done
kill -KILL "$pid" "$driver" 2> /dev/null

run_ok "summary" summary "$core"
check_grep "summary: the glibc heap" "glibc main_arena" "$work/out"
check_same "summary: nothing to warn about" "" "$(cat "$work/err")"

independent_reach python3 "$core" 5000 "a compiler" --stack-from-sp

run_ok "leaks" leaks --format jsonl "$core"
sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | sort > "$work/leaked"
check_same "leaks: every allocation the independent count cannot reach" "" \
	"$(comm -23 "$work/unreachable" "$work/leaked")"
echo "($unreachable of $live allocations unreachable)"
# The count is generous: the words of free chunks are roots to it, and a
# freed chunk's stale or mangled link can point into a live allocation
# (one core in a few dozen). That is no reference, and coreheap does not
# scan free memory. So what coreheap reports beyond the count must be
# reached by it only from words in free memory (coreheap's describe says
# so) or in allocations coreheap reports leaked too.
comm -13 "$work/unreachable" "$work/leaked" > "$work/extra"
if [ -s "$work/extra" ]; then
	python3 "$SRCDIR/tests/python-reach.py" --stack-from-sp \
		--referrers "$work/extra" "$core" "$work/blocks" \
		> "$work/referrers"
	echo "reported leaked, reached by the generous count (block, word):"
	cat "$work/referrers"
	unexplained=
	while read -r block; do
		grep -q "^$block " "$work/referrers" ||
			unexplained="$unexplained $block (by a register)"
	done < "$work/extra"
	while read -r block word how holder; do
		if [ "$how" = in ]; then
			grep -qx "$holder" "$work/leaked" && continue
		elif "$COREHEAP" describe "$word" "$core" 2> /dev/null |
			grep -q "^$word is in no live allocation; it is in a free block"; then
			continue
		fi
		unexplained="$unexplained $block (from $word)"
	done < "$work/referrers"
	check_same "leaks: beyond the count, only what free memory holds" "" \
		"$unexplained"
fi

run_ok "types" types --format json "$core"
check_same "types: the total is every live allocation" \
	"\"count\": $live," \
	"$(grep -A1 '^  "total": {$' "$work/out" | sed -n '2s/^ *//p')"

run_ok "top" top --format jsonl "$core"
largest=$(sed -n '1s/.*"address": "\([^"]*\)".*/\1/p' "$work/out")
[ -n "$largest" ] || fail "top: no allocation"

# why: the allocation top found largest, held by a root.
run_ok "why" why "$largest" "$core"
check_grep "why: a path from a root to $largest" "^path 1: " "$work/out"

finish
