#!/bin/sh
# make bench: a core with ~2 million live allocations, and what coreheap
# needs to read it, next to the time to read the core file once.
set -eu
builddir=${1:-.}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
out="$builddir/bench/out"
count=${BENCH_ALLOCATIONS:-2000000}
mkdir -p "$out"
"$srcdir/tests/make-core.sh" "$builddir/bench/bench_heap" "$out/heap" "$count" > /dev/null
core="$out/heap.core"
coreheap="$builddir/coreheap"

# wall seconds, CPU seconds (user + system: what a busy machine does not
# inflate) and peak resident KiB of a command, best of 3 runs
measure() {
	best_wall= best_rss= best_cpu=
	for _ in 1 2 3; do
		/usr/bin/time -f '%e %M %U %S' -o "$out/time" sh -c "$1" > /dev/null 2>&1
		read -r wall rss user sys < "$out/time"
		if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc)" = 1 ]; then
			best_wall=$wall best_rss=$rss
			best_cpu=$(printf "%.2f" "$(echo "$user + $sys" | bc)")
		fi
	done
	printf '%-52s %8s s %6s s CPU %8s MiB\n' "$2" "$best_wall" "$best_cpu" "$((best_rss / 1024))"
}

size=$(stat -c %s "$core")
live=$("$coreheap" summary --format json "$core" | sed -n 's/.*"live_count": \([0-9]*\).*/\1/p' | tail -n 1)
printf 'core: %s MiB, %s live allocations\n' "$((size / 1048576))" "$live"
measure "cat '$core'" "read the core once (cat > /dev/null)"
measure "'$coreheap' summary '$core'" "coreheap summary"
measure "'$coreheap' objects --format jsonl '$core'" "coreheap objects --format jsonl > /dev/null"
measure "'$coreheap' types '$core'" "coreheap types"
measure "'$coreheap' leaks '$core'" "coreheap leaks"
measure "'$coreheap' top '$core'" "coreheap top"
# The graph's own stages: the scan (bytes read, references found, their
# rates) and the dominator tree.
"$coreheap" top --stats "$core" 2>&1 > /dev/null |
	grep -E '^coreheap: (scanned|dominator)' | sed 's/^coreheap: /graph: /'

# The same heap on jemalloc: the plugin's walk next to glibc's.
"$srcdir/tests/make-core.sh" "$builddir/bench/bench_heap_jemalloc" "$out/jemalloc" "$count" > /dev/null
jcore="$out/jemalloc.core"
jlive=$("$coreheap" summary --format json "$jcore" 2> /dev/null | sed -n 's/.*"live_count": \([0-9]*\).*/\1/p' | tail -n 1)
printf 'jemalloc core: %s MiB, %s live allocations\n' "$(($(stat -c %s "$jcore") / 1048576))" "$jlive"
measure "'$coreheap' summary '$jcore'" "coreheap summary (jemalloc)"
measure "'$coreheap' objects --format jsonl '$jcore'" "coreheap objects --format jsonl > /dev/null (jemalloc)"
