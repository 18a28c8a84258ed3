#!/bin/sh
# SPDX-License-Identifier: MIT
#
# jemalloc-bullseye.sh: coreheap is exact on jemalloc 5.2.1 as Debian 11
# ships it (libjemalloc2 5.2.1-3: stripped, only its dynamic symbols).
#
# The jemalloc fixtures (fixtures/jemalloc_*.c, which record their own
# live set through fixtures/recorder.c) are built with the gcc of a Debian
# bullseye root (tests/debian-root.sh, with libjemalloc2 and
# libjemalloc-dev), linked against the root's libjemalloc, run inside it
# (chroot, with its own /proc in a private mount namespace) and dumped from
# here with gdb's gcore. Each core is read here with `--sysroot ROOT`:
# objects must list exactly the recorded live set (pointer and usable
# size, no more, no less, all jemalloc's), summary must name jemalloc
# 5.2.1 and say how its version and globals were found, find no damage and
# leave none of jemalloc's memory unexplained (its owned ranges). On
# graph_heap and jemalloc_pools, leaks names exactly the designed leaks:
# jemalloc's memory is no root, a freed region's pointers keep nothing.
# jemalloc_static links the root's libjemalloc.a, whose symbols
# (je_extents_rtree, je_arenas...) the walk then uses.
#
# With heap profiling on (jemalloc_prof), each allocation's stack names the
# function that made it. A double free left in a tcache
# (damage_jemalloc_double_free) must be reported as one, at the freed
# pointer.
#
# Environment: DEBIAN_ROOTS (default: the build tree's debian-roots).

. "$SRCDIR/tests/lib.sh"
. "$SRCDIR/tests/debian-fixtures.sh"

test_init jemalloc-bullseye SRCDIR TESTS_BUILDDIR
require_command gdb chroot unshare mount

# libstdc++-10-dev: libjemalloc.a holds jemalloc's C++ operators.
debian_fixtures_root bullseye libjemalloc2 libjemalloc-dev libstdc++-10-dev
jemalloc=$(chroot "$root" dpkg-query -W -f='${Version}' libjemalloc2)
echo "Debian bullseye root: $root, libjemalloc2 $jemalloc"
case $jemalloc in
5.2.1-*) ;;
*) fail "the bullseye root's libjemalloc2 is $jemalloc, not 5.2.1"; finish ;;
esac

# build NAME SOURCE [FLAGS...]: as fixtures/local.mk builds it, with the
# root's gcc and libjemalloc.
built=
build() {
	name=$1 source=$2
	shift 2
	if chroot "$root" gcc -std=gnu11 -g -O0 -fno-builtin \
		-DRECORDER_JEMALLOC -o "$inside/$name" "$inside/$source.c" \
		"$inside/recorder.c" "$@" > "$work/$name.cc.log" 2>&1; then
		built="$built $name"
	else
		fail "$name does not build with the bullseye root's gcc"
		cat "$work/$name.cc.log"
	fi
}
build jemalloc_mixed jemalloc_mixed -ljemalloc -lpthread
build jemalloc_notcache jemalloc_mixed "-DFIXTURE_MALLOC_CONF=\"tcache:false\"" \
	-ljemalloc -lpthread
build jemalloc_threads jemalloc_threads -ljemalloc -lpthread
build jemalloc_static jemalloc_mixed -Wl,--allow-multiple-definition \
	-l:libjemalloc.a -lstdc++ -lpthread -lm -ldl
build jemalloc_prof_internal jemalloc_mixed \
	"-DFIXTURE_MALLOC_CONF=\"prof:true,lg_prof_sample:0\"" -ljemalloc -lpthread
build jemalloc_prof_threads jemalloc_threads \
	"-DFIXTURE_MALLOC_CONF=\"prof:true,lg_prof_sample:0\"" -ljemalloc -lpthread

# core_in_root NAME: its gcore, taken once it is ready.
core_in_root() {
	start_in_root "$1" || return 1
	gcore_from_root "$1"
	case $? in
	0) ;;
	2)
		fail "$1: gdb could not read all its memory (see $work/$1.gcore.log)"
		return 1
		;;
	*) return 1 ;;
	esac
}

version_re='jemalloc 5\.2\.1-0-gea6b3e973b477b8061e0076bb257dbd7f3faa756 (version found by its contents)'

analyse() {
	name=$1
	"$COREHEAP" objects --sysroot "$root" --format jsonl "$work/$name.core" \
		> "$work/$name.jsonl" 2> "$work/$name.err"
	status=$?
	if [ $status -ne 0 ]; then
		fail "$name: coreheap objects exited $status"
		cat "$work/$name.err"
	fi
	check_live_set "$name" "$work/$name.jsonl" jemalloc \
		"libjemalloc2 $jemalloc" || cat "$work/$name.err"
	"$COREHEAP" summary --verbose --sysroot "$root" "$work/$name.core" \
		> "$work/$name.summary" 2> "$work/$name.summary.err"
	status=$?
	check_same "$name: summary exits 0" 0 "$status"
	check_grep "$name: summary names jemalloc" '^allocators: jemalloc$' \
		"$work/$name.summary"
	check_grep "$name: summary finds no damage" '^damage: *none found' \
		"$work/$name.summary"
	check_grep "$name: all jemalloc's memory explained" '^unexplained: none$' \
		"$work/$name.summary"
	# summary's tables per arena: summed over the arenas, the live
	# regions of each size class are the live set's blocks of that size.
	awk '/^    class [0-9]+ B: / {
		for (i = 4; i <= NF; i++)
			if ($i == "live" && $(i - 1) != "percent") {
				v = $(i + 1); sub(",", "", v); live[$2] += v
			}
	} END { for (s in live) if (live[s]) print s, live[s] }' \
		"$work/$name.summary" | sort -n > "$work/$name.classes.actual"
	awk '{ n[$2]++ } END { for (s in n) print s, n[s] }' \
		"$work/$name.expected" | sort -n > "$work/$name.classes.expected"
	check_same "$name: summary's live regions per size class are the live set's" \
		"$(cat "$work/$name.classes.expected")" \
		"$(cat "$work/$name.classes.actual")"
	check_grep "$name: summary says jemalloc 5.2.1, from the library's version string" \
		"$version_re" "$work/$name.summary.err"
	check_grep "$name: jemalloc's base blocks, from the arenas" \
		'base allocator: [1-9][0-9]* blocks*$' "$work/$name.summary.err"
	case $name in
	jemalloc_threads | jemalloc_prof_threads)
		# Four threads with a tcache in their tsd (not the one that
		# turned it off), and the explicit tcache, only on its
		# arena's tcache_ql ring (tcache_t.link in 5.2).
		check_grep "$name: the threads' tcaches, from their tsd" \
			"tcaches: 4 in threads' tsd" "$work/$name.summary.err"
		check_grep "$name: the explicit tcache, from its arena's list" \
			"tcaches: 1 more from the arenas' tcache lists" \
			"$work/$name.summary.err" ;;
	esac
	case $name in
	jemalloc_static)
		check_grep "$name: the radix tree and arenas by symbol" \
			'radix tree root: symbol; arenas: symbol' \
			"$work/$name.summary.err" ;;
	*)
		check_grep "$name: without symbols, the globals found by their contents" \
			'radix tree root: found by its contents; arenas: found by its contents' \
			"$work/$name.summary.err" ;;
	esac
}

# nolib NAME: NAME's core with libjemalloc's path in it changed (same
# length), as when a core is read where its library is not: no version
# string, no TLS block for the tsd. The layouts are tried: only 5.2.1's
# finds the radix tree and arenas; the tcaches come from the arenas'
# rings, the threads' arenas_tdata from the ring of tsds.
nolib() {
	python3 - "$work/$1.core" "$work/$1.nolib.core" <<'PY' || return 1
import sys
data = open(sys.argv[1], "rb").read()
old = b"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
new = b"/usr/lib/x86_64-linux-gnu/libjemalloc.so.X"
if old not in data:
    sys.exit("no libjemalloc path in " + sys.argv[1])
open(sys.argv[2], "wb").write(data.replace(old, new))
PY
	"$COREHEAP" objects --sysroot "$root" --format jsonl \
		"$work/$1.nolib.core" > "$work/$1.nolib.jsonl" \
		2> "$work/$1.nolib.err"
	check_grep "$1.nolib: the library is not found" \
		"binary of '.*libjemalloc.so.X' not found" "$work/$1.nolib.err"
	check_grep "$1.nolib: walked as 5.2.1, the layout that fits" \
		"version string was not found; walking it as 5\.2\.1, whose layout its radix tree and arenas fit" \
		"$work/$1.nolib.err"
	check_live_set "$1.nolib" "$work/$1.nolib.jsonl" jemalloc \
		"libjemalloc2 $jemalloc, its file not found" ||
		cat "$work/$1.nolib.err"
	rm -f "$work/$1.nolib.core"
}

for fixture in $built; do
	core_in_root "$fixture" || continue
	analyse "$fixture"
	[ "$fixture" = jemalloc_threads ] && nolib "$fixture"
	if [ $failures -eq 0 ]; then
		rm -f "$work/$fixture.core"
	else
		cp "$dir/$fixture" "$work/$fixture"
	fi
done

# What jemalloc owns is no root: on graph_heap (fixtures/graph_heap.c,
# no recorder), leaks names exactly the designed leaks (100 dropped blocks,
# unreferenced, and a 3-block cycle, each referred to once); on
# jemalloc_pools, a pointer held only in a region freed into its slab keeps
# nothing alive, and all of jemalloc's memory is explained.
# leaks_of NAME: "address kind referrers" of each leak, sorted, into
# $work/NAME.leaks.actual.
leaks_of() {
	"$COREHEAP" leaks --sysroot "$root" --format jsonl "$work/$1.core" \
		> "$work/$1.leaks" 2> "$work/$1.leaks.err"
	check_same "$1: leaks exits 0" 0 "$?"
	sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' \
		"$work/$1.leaks" | sort > "$work/$1.leaks.actual"
}
for name in graph_heap jemalloc_pools; do
	if ! chroot "$root" gcc -std=gnu11 -g -O0 -fno-builtin \
		-o "$inside/$name" "$inside/$name.c" -ljemalloc -lpthread \
		> "$work/$name.cc.log" 2>&1; then
		fail "$name does not build with the bullseye root's gcc"
		cat "$work/$name.cc.log"
		continue
	fi
	core_in_root "$name" || continue
	design=$dir/$name.live
	if [ $name = graph_heap ]; then
		(awk '$1 == "leak" { print $2 " unreferenced 0" }' "$design"
		 awk '$1 == "cycle" { print $2 " indirect 1" }' "$design") |
			sort > "$work/$name.leaks.expected"
		check_same "graph_heap: the design has 103 leaks" 103 \
			"$(wc -l < "$work/$name.leaks.expected" | tr -d ' ')"
		leaks_of $name
		check_same "graph_heap: leaks names exactly the designed leaks" \
			"$(cat "$work/$name.leaks.expected")" \
			"$(cat "$work/$name.leaks.actual")"
	else
		leaks_of $name
		check_same "jemalloc_pools: leaked is only the block the freed region points to" \
			"$(awk '$1 == "freed" { print $3 " unreferenced 0" }' "$design")" \
			"$(cat "$work/$name.leaks.actual")"
		"$COREHEAP" summary --sysroot "$root" "$work/$name.core" \
			> "$work/$name.summary" 2> "$work/$name.summary.err"
		check_grep "jemalloc_pools: all jemalloc's memory explained" \
			'^unexplained: none$' "$work/$name.summary"
	fi
done

# Heap profiling on, every allocation sampled (fixtures/jemalloc_prof.c, no
# recorder; it writes which function made each allocation): 5.2.1's
# profiler records each one's stack, whose innermost frame past jemalloc's
# own is that function.
name=jemalloc_prof
if chroot "$root" gcc -std=gnu11 -g -O0 -fno-builtin -o "$inside/$name" \
	"$inside/$name.c" -ljemalloc -lpthread > "$work/$name.cc.log" 2>&1; then
	if core_in_root "$name"; then
		core=$work/$name.core design=$dir/$name.live
		[ -s "$design" ] || fail "$name wrote no allocations"
		check_alloc_stacks "$name (jemalloc 5.2.1)" --sysroot "$root"
	fi
else
	fail "$name does not build with the bullseye root's gcc"
	cat "$work/$name.cc.log"
fi

# Double frees left in 5.2.1's tcaches (fixtures/damage_jemalloc_double_free.c,
# no recorder; it writes the pointers it freed twice): one pointer twice
# in a bin, and one in a bin while its slab's bitmap has it free. triage
# names both, exits 3 (damaged), and says it was jemalloc's heap.
fact() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
name=damage_jemalloc_double_free
if chroot "$root" gcc -std=gnu11 -g -O0 -fno-builtin -o "$inside/$name" \
	"$inside/$name.c" -ljemalloc -lpthread > "$work/$name.cc.log" 2>&1; then
	if core_in_root "$name"; then
		"$COREHEAP" triage --sysroot "$root" --format json \
			"$work/$name.core" > "$work/$name.json" 2> "$work/$name.err"
		check_same "$name: triage exits 3 (damaged)" 3 "$?"
		check_grep "$name: damaged" '"heap_damaged": true' "$work/$name.json"
		check_grep "$name: by jemalloc" '"allocator": "jemalloc"' \
			"$work/$name.json"
		check_same "$name: the two double frees, and no other damage" "2 2" \
			"$(grep -c '"kind": "double_free"' "$work/$name.json") $(grep -c '"message": ' "$work/$name.json")"
		block=$(fact double_freed "$dir/$name.live")
		check_grep "$name: cached twice: the damage is at the block" \
			"\"message\": \"$block is cached twice .*: a double free\"" \
			"$work/$name.json"
		block=$(fact flushed_then_freed "$dir/$name.live")
		check_grep "$name: in a tcache and free in its slab's bitmap: at the block" \
			"\"message\": \"$block is both in a tcache and free in its slab.s bitmap: a double free\"" \
			"$work/$name.json"
	fi
else
	fail "$name does not build with the bullseye root's gcc"
	cat "$work/$name.cc.log"
fi
finish
