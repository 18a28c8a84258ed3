#!/bin/sh
# The commands on a jemalloc core (jemalloc_threads, Debian's stripped
# libjemalloc2): summary names jemalloc, its version and how its globals
# were found, and lists its arenas, each with its table (extents, free
# pages, size classes); --verbose says where each global is and
# gives the per size class distribution; every other command runs clean.
# On graph_heap_jemalloc, leaks finds exactly the designed leaks; on
# jemalloc_pools, jemalloc's memory is no root and the program's next to
# it is.
set -u
: "${COREHEAP:?}" "${FIXTURES:?}" "${CORE_DIR:?}" "${SRCDIR:?}"
work="$CORE_DIR/jemalloc-cli"
rm -rf "$work"
mkdir -p "$work"
failures=0 checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# has FILE DESCRIPTION PATTERN
has() {
	checks=$((checks + 1))
	if grep -q -- "$3" "$1"; then
		echo "ok: $2"
	else
		fail "$2: no '$3' in $1"
	fi
}

# run NAME EXPECTED_STATUS ARGS...: stdout to NAME.out, stderr to NAME.err
# check_same DESCRIPTION EXPECTED ACTUAL
check_same() {
	checks=$((checks + 1))
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

run() {
	name=$1 expected=$2
	shift 2
	"$COREHEAP" "$@" > "$work/$name.out" 2> "$work/$name.err"
	status=$?
	checks=$((checks + 1))
	if [ "$status" -eq "$expected" ]; then
		echo "ok: $name exits $expected"
	else
		fail "$name: exit status $status, expected $expected: $(cat "$work/$name.err")"
	fi
}

"$SRCDIR/tests/make-core.sh" "$FIXTURES/jemalloc_threads" "$work/threads" > /dev/null 2>&1
case $? in
0) ;;
77) echo "SKIP: no core can be made here"; exit 77 ;;
*) echo "FAIL: no core of jemalloc_threads"; exit 1 ;;
esac
core=$work/threads.core

run summary 0 summary "$core"
has "$work/summary.out" "summary names jemalloc" '^allocators: jemalloc$'
has "$work/summary.out" "arena 0" '^  jemalloc arena 0 at 0x'
has "$work/summary.out" "a worker's arena" '^  jemalloc arena 3 at 0x'
has "$work/summary.out" "no damage" '^damage: *none found'
has "$work/summary.err" "the version, from the library" 'jemalloc 5\.3\.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c'
has "$work/summary.err" "how the globals were found" 'found by their contents'

# summary's table per arena (add_stat): its extents and free pages, then
# per size class the regions, live, free, in tcaches. Each worker keeps 15
# of its 40 blocks of 96 bytes, and the main thread 4 (16 of 48..96 bytes,
# 4 of each, none of 96 freed): one row each. Summed over the arenas, the
# live regions of each class are exactly the live set's blocks of that
# usable size.
has "$work/summary.out" "an arena's extents" '^    extents: slabs [0-9]*, large [0-9]*, free [0-9]*$'
has "$work/summary.out" "an arena's free pages" '^    free pages: dirty [0-9]*, muzzy [0-9]*, retained [0-9]*$'
check_same "summary: three workers' arenas with 15 live blocks of 96 bytes" 3 \
	"$(grep -c '^    class 96 B: slabs [0-9]*, regions [0-9]*, live 15, free [0-9]*, tcache [0-9]*, internal 0, percent live [0-9]*$' "$work/summary.out")"
check_same "summary: the main thread's arena, 4 live blocks of 96 bytes" 1 \
	"$(grep -c '^    class 96 B: .*, live 4, ' "$work/summary.out")"
has "$work/summary.out" "a large class" '^    class 20480 B: large [0-9]*, live [0-9]*, tcache [0-9]*, internal [0-9]*$'
awk '/^    class [0-9]+ B: / {
	for (i = 4; i <= NF; i++)
		if ($i == "live" && $(i - 1) != "percent") {
			v = $(i + 1); sub(",", "", v); live[$2] += v
		}
} END { for (s in live) if (live[s]) print s, live[s] }' "$work/summary.out" |
	sort -n > "$work/classes.actual"
awk '{ n[$2]++ } END { for (s in n) print s, n[s] }' "$work/threads.live" |
	sort -n > "$work/classes.expected"
checks=$((checks + 1))
if [ -s "$work/classes.expected" ] &&
   cmp -s "$work/classes.expected" "$work/classes.actual"; then
	echo "ok: summary: live regions per class, all arenas, are the live set's"
else
	fail "summary: live regions per class: see $work/classes.expected and .actual"
fi
# The slab rows add up: regions = live + free + tcache + internal.
check_same "summary: every slab row adds up" 0 \
	"$(awk '/^    class [0-9]+ B: slabs/ {
		gsub(",", ""); if ($7 != $9 + $11 + $13 + $15) bad++
	} END { print bad + 0 }' "$work/summary.out")"
run summary-json 0 summary --format json "$core"
check_same "summary json: the same rows of 96 bytes" 4 \
	"$(grep -c '"row": "class 96 B"' "$work/summary-json.out")"
has "$work/summary-json.out" "summary json: a row's numbers" '"percent live": '

run verbose 0 summary --verbose "$core"
has "$work/verbose.err" "the radix tree's root" 'radix tree: root at 0x[0-9a-f]*, found by the leaf'
has "$work/verbose.err" "the arenas array" 'arenas: array at 0x[0-9a-f]*, 5 arenas'
has "$work/verbose.err" "the size-class table" 'size classes: sz_index2size_tab at 0x'
has "$work/verbose.err" "the threads' tcaches, not the one turned off" "tcaches: 4 in threads' tsd"
has "$work/verbose.err" "an explicit tcache, on its arena's list only" "tcaches: 1 more from the arenas' tcache lists"
has "$work/verbose.err" "a size class's distribution" 'class 6 (96 B): [0-9]* slabs, '
has "$work/verbose.err" "the tcache stacks are jemalloc's own" "class 39 (28672 B): .* [1-9][0-9]* jemalloc's own"

run objects 0 objects --format jsonl "$core"
has "$work/objects.out" "objects by jemalloc" '"allocator": "jemalloc"'
for cmd in types leaks top; do
	run "$cmd" 0 "$cmd" "$core"
done
run triage 0 triage --format json "$core"
has "$work/triage.out" "triage: not damaged" '"heap_damaged": false'

# graph_heap on jemalloc: leaks names exactly the designed leaks (100
# dropped blocks, unreferenced, and a 3-block cycle, each referred to once)
# and nothing the design keeps reachable.
"$SRCDIR/tests/make-core.sh" "$FIXTURES/graph_heap_jemalloc" "$work/graph" > /dev/null 2>&1 ||
	fail "no core of graph_heap_jemalloc"
if [ -s "$work/graph.core" ]; then
	run leaks-graph 0 leaks --format jsonl "$work/graph.core"
	sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' \
		"$work/leaks-graph.out" | sort > "$work/leaks-graph.actual"
	(awk '$1 == "leak" { print $2 " unreferenced 0" }' "$work/graph.live"
	 awk '$1 == "cycle" { print $2 " indirect 1" }' "$work/graph.live") |
		sort > "$work/leaks-graph.expected"
	checks=$((checks + 1))
	if [ "$(wc -l < "$work/leaks-graph.expected")" -eq 103 ] &&
	   cmp -s "$work/leaks-graph.expected" "$work/leaks-graph.actual"; then
		echo "ok: leaks on graph_heap_jemalloc: exactly the designed leaks"
	else
		fail "leaks on graph_heap_jemalloc: see $work/leaks-graph.expected and .actual"
	fi
fi

# What jemalloc owns is no root, and what lies next to it is
# (jemalloc_pools): a pointer held only in a region freed into its slab
# keeps nothing alive, and 8 blocks held only from a pool the program
# mapped against jemalloc's own mapping (merged by the kernel into one)
# are not leaked: `why` reaches each through the pool.
"$SRCDIR/tests/make-core.sh" "$FIXTURES/jemalloc_pools" "$work/pools" > /dev/null 2>&1 ||
	fail "no core of jemalloc_pools: $(cat "$work/pools.err" 2> /dev/null)"
if [ -s "$work/pools.core" ]; then
	design=$work/pools.live
	freed=$(awk '$1 == "freed" { print $2 }' "$design")
	stale=$(awk '$1 == "freed" { print $3 }' "$design")
	pool_start=$(awk '$1 == "pool" { print $2 }' "$design")
	pool_end=$(awk '$1 == "pool" { print $3 }' "$design")
	mapping=$(awk '$1 == "pool" { print $4 }' "$design")
	run pools-describe 0 describe "$freed" "$work/pools.core"
	has "$work/pools-describe.out" "jemalloc_pools: the region is free" \
		"in a free block at $freed "
	run pools-leaks 0 leaks --format jsonl "$work/pools.core"
	check_same "jemalloc_pools: leaked is only the block the freed region points to" \
		"$stale unreferenced 0" \
		"$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' "$work/pools-leaks.out")"
	held=$(awk '$1 == "held" { print $2 }' "$design")
	check_same "jemalloc_pools: 8 blocks held from the pool" 8 \
		"$(printf '%s\n' $held | wc -l | tr -d ' ')"
	for block in $held; do
		run "pools-why-$block" 0 why --format json "$block" "$work/pools.core"
		name=$(grep -m 1 '"name"' "$work/pools-why-$block.out" |
		       sed 's/.*"name": "\([^"]*\)".*/\1/')
		offset=$(printf '%s' "$name" |
			 sed -n "s/^\[anon $mapping\]+0x\([0-9a-f]*\)$/\1/p")
		checks=$((checks + 1))
		if [ -n "$offset" ] &&
		   [ $((mapping + 0x$offset)) -ge $((pool_start)) ] &&
		   [ $((mapping + 0x$offset)) -lt $((pool_end)) ]; then
			echo "ok: why $block: from the pool, $name"
		else
			fail "why $block: not from the pool [$pool_start, $pool_end): '$name'"
		fi
	done
	run pools-summary 0 summary "$work/pools.core"
	has "$work/pools-summary.out" "jemalloc_pools: nothing unexplained" '^unexplained: none$'
fi

# With the hugepage allocator (jemalloc_hpa), the pages of a hugepage slab
# that no extent holds are jemalloc's, free in the slab's hpdata_t:
# explained, nothing left unexplained.
"$SRCDIR/tests/make-core.sh" "$FIXTURES/jemalloc_hpa" "$work/hpa" > /dev/null 2>&1 ||
	fail "no core of jemalloc_hpa"
if [ -s "$work/hpa.core" ]; then
	run hpa-summary 0 summary --verbose "$work/hpa.core"
	has "$work/hpa-summary.out" "jemalloc_hpa: a slab's free pages, explained" \
		'^unexplained: none$'
	has "$work/hpa-summary.err" "jemalloc_hpa: the pageslabs found" \
		'hugepage allocator: [1-9][0-9]* pageslabs with extents ([1-9][0-9]* free pages in them)'
fi

# Pageslabs of the hugepage allocator left empty (jemalloc_hpa_empty): no
# extent maps them, the psset lists them; their freed memory holds the
# only pointers to a block, which is leaked since that memory is no root.
"$SRCDIR/tests/make-core.sh" "$FIXTURES/jemalloc_hpa_empty" "$work/hpa-empty" > /dev/null 2>&1 ||
	fail "no core of jemalloc_hpa_empty: $(cat "$work/hpa-empty.err" 2> /dev/null)"
if [ -s "$work/hpa-empty.core" ]; then
	design=$work/hpa-empty.live
	stale=$(awk '$1 == "stale" { print $2 }' "$design")
	run hpa-empty-summary 0 summary --verbose "$work/hpa-empty.core"
	has "$work/hpa-empty-summary.err" "jemalloc_hpa_empty: empty pageslabs found" \
		'hugepage allocator: .*, [1-9][0-9]* empty, '
	has "$work/hpa-empty-summary.out" "jemalloc_hpa_empty: nothing unexplained" \
		'^unexplained: none$'
	run hpa-empty-leaks 0 leaks --format jsonl "$work/hpa-empty.core"
	check_same "jemalloc_hpa_empty: leaked is only the block the freed pages point to" \
		"$stale unreferenced" \
		"$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)".*/\1 \2/' "$work/hpa-empty-leaks.out")"
fi

# Another jemalloc version (5.2.0's string in a copy of Debian's 5.3.0
# library, which the fixture loads): named, and refused, since there is no
# layout table for it (5.2.1's and 5.3.0's are known); the result is
# partial.
if [ -s "$FIXTURES/jemalloc_mixed" ] && lib=$(ldd "$FIXTURES/jemalloc_mixed" |
	awk '$1 ~ /^libjemalloc\.so/ { print $3 }') && [ -f "$lib" ]; then
	mkdir -p "$work/v520"
	python3 - "$lib" "$work/v520/$(basename "$lib")" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
data, n = re.subn(rb"5\.3\.0-0-g[0-9a-f]{40}",
                  b"5.2.0-0-gb0b3e49a54ec29e32636f4577d9d5a896d67fd20", data)
if n != 1:
    sys.exit("no single 5.3.0 version string in " + sys.argv[1])
open(sys.argv[2], "wb").write(data)
PY
	LD_LIBRARY_PATH=$work/v520 "$SRCDIR/tests/make-core.sh" \
		"$FIXTURES/jemalloc_mixed" "$work/v520/mixed" > /dev/null 2>&1 ||
		fail "no core of jemalloc_mixed on the 5.2.0 library"
	if [ -s "$work/v520/mixed.core" ]; then
		run v520-summary 1 summary "$work/v520/mixed.core"
		has "$work/v520-summary.err" "jemalloc 5.2.0: named and refused" \
			'jemalloc 5\.2\.0 (version string 5\.2\.0-0-gb0b3e49a54ec29e32636f4577d9d5a896d67fd20) is not supported: its heap is not walked; the layouts known are those of jemalloc 5\.2\.1, 5\.3\.0'
	fi
else
	fail "jemalloc_mixed loads no libjemalloc"
fi

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
