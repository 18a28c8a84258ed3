#!/bin/sh
# make bench: a core of a heap shaped like a real program's (bench_real.cc:
# typed C structs with random cross references and text blobs, a C++ object
# graph with vtables and std containers, frees in every bin, some leaks),
# BENCH_ALLOCATIONS live allocations (default 2 million), and what each
# command needs on it: wall time, CPU time and the peak of the memory it
# allocates beyond the mapped core, the best of BENCH_RUNS runs (default 3),
# next to the time to read the core once, and on the core compressed with
# zstd, next to the time to decompress it. Then the allocator walks of glibc
# and jemalloc side by side on a flat heap of the same count, a process of
# BENCH_THREADS threads (default 4,000), and Debian's
# python3 with BENCH_PY_OBJECTS Python objects (default 1 million). With
# BENCH_SERIES (counts), the growth of each command from count to count.
set -eu
builddir=${1:-.}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
out="$builddir/bench/out"
count=${BENCH_ALLOCATIONS:-2000000}
runs=${BENCH_RUNS:-3}
coreheap="$builddir/coreheap"
measure_tool="$builddir/bench/measure"
mkdir -p "$out"

# measure LABEL COMMAND...: the run with the best wall time of $runs.
measure() {
	label=$1
	shift
	best=
	for _ in $(seq "$runs"); do
		line=$("$measure_tool" "$@") || {
			echo "bench: '$*' failed" >&2
			exit 1
		}
		if [ -z "$best" ] || [ "$(echo "${line%% *} < ${best%% *}" | bc)" = 1 ]; then
			best=$line
		fi
	done
	set -- $best
	printf '| %-44s | %7s s | %7s s | %7s MiB |\n' "$label" "$1" "$2" "$(($3 / 1024))"
}

live_count() {
	"$coreheap" summary --format json "$1" |
		sed -n 's/.*"live_count": \([0-9]*\).*/\1/p' | tail -n 1
}

CH_READY_TIMEOUT=${CH_READY_TIMEOUT:-600} \
	"$srcdir/tests/make-core.sh" "$builddir/bench/bench_real" "$out/real" "$count" > /dev/null
core="$out/real.core"
printf 'core: %s MiB, %s live allocations (bench_real %s)\n\n' \
	"$(($(stat -c %s "$core") / 1048576))" "$(live_count "$core")" "$count"
printf '| %-44s | %9s | %9s | %11s |\n' command wall CPU "peak memory"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 46))" ----------- ----------- -------------
measure "read the core once (cat)" cat "$core"
for command in summary types leaks top; do
	measure "coreheap $command" "$coreheap" "$command" "$core"
done
measure "coreheap diff (the core and itself)" "$coreheap" diff "$core" "$core"
measure "coreheap objects --format jsonl" "$coreheap" objects --format jsonl "$core"
measure "coreheap report (the HTML page)" "$coreheap" report -o /dev/null "$core"
measure "coreheap report OLD NEW (the core twice)" "$coreheap" report \
	-o /dev/null "$core" "$core"
# The core as systemd-coredump keeps it, compressed with zstd: decompressed
# once into memory (the decompression alone beside it), then the same work.
if command -v zstd > /dev/null 2>&1; then
	zstd -q -f -T0 "$core" -o "$out/real.core.zst"
	measure "decompress the zstd core once (zstd -dc)" zstd -q -d -c "$out/real.core.zst"
	for command in summary leaks; do
		measure "coreheap $command, the core zstd-compressed" \
			"$coreheap" "$command" "$out/real.core.zst"
	done
	rm -f "$out/real.core.zst"
fi
measure "coreheap report" "$coreheap" report -o "$out/real.html" "$core"
# The page's own figure: from opening it to drawn, in headless Chromium.
for browser in chromium chromium-browser; do
	command -v "$browser" > /dev/null 2>&1 || continue
	profile=$(mktemp -d)
	ms=$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --virtual-time-budget=10000 \
		--dump-dom "file://$(cd "$out" && pwd)/real.html" 2> /dev/null |
		sed -n 's/.*data-render-ms="\([0-9]*\)".*/\1/p')
	rm -rf "$profile"
	printf 'report: the page (%s KiB) drawn %s ms after it was opened (%s)\n' \
		"$(($(stat -c %s "$out/real.html") / 1024))" "${ms:-?}" "$browser"
	break
done
# The graph's own stages: the scan (bytes read, references found, their
# rates) and the dominator tree.
"$coreheap" top --stats "$core" 2>&1 > /dev/null |
	grep -E '^coreheap: (scanned|dominator)' | sed 's/^coreheap: /graph: /'

# BENCH_SERIES="1000000 2000000 ...": the same heap made at each count, and
# each retention command once on it, with its time and memory per live
# allocation: what grows linearly keeps those columns flat.
if [ -n "${BENCH_SERIES:-}" ]; then
	echo
	printf '| %11s | %-7s | %9s | %9s | %11s | %11s | %11s |\n' \
		allocations command wall CPU "peak memory" "ns/alloc" "bytes/alloc"
	printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------- --------- ----------- \
		----------- ------------- ------------- -------------
	for count_in_series in $BENCH_SERIES; do
		CH_READY_TIMEOUT=${CH_READY_TIMEOUT:-600} \
			"$srcdir/tests/make-core.sh" "$builddir/bench/bench_real" \
			"$out/series" "$count_in_series" > /dev/null
		live=$(live_count "$out/series.core")
		for command in summary types leaks top; do
			line=$("$measure_tool" "$coreheap" "$command" "$out/series.core") || {
				echo "bench: '$command' failed on $count_in_series" >&2
				exit 1
			}
			set -- $line
			printf '| %11s | %-7s | %7s s | %7s s | %7s MiB | %11s | %11s |\n' \
				"$live" "$command" "$1" "$2" "$(($3 / 1024))" \
				"$(echo "$1 * 1000000000 / $live" | bc)" \
				"$(($3 * 1024 / live))"
		done
		rm -f "$out/series.core"
	done
fi

# The allocator walks: the same flat heap on glibc and on jemalloc.
echo
"$srcdir/tests/make-core.sh" "$builddir/bench/bench_heap" "$out/heap" "$count" > /dev/null
"$srcdir/tests/make-core.sh" "$builddir/bench/bench_heap_jemalloc" "$out/jemalloc" "$count" > /dev/null
printf '| %-44s | %9s | %9s | %11s |\n' "walk (summary)" wall CPU "peak memory"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 46))" ----------- ----------- -------------
measure "glibc summary, $(live_count "$out/heap.core") allocations" "$coreheap" summary "$out/heap.core"
measure "jemalloc summary, $(live_count "$out/jemalloc.core") allocations" "$coreheap" summary "$out/jemalloc.core"
measure "glibc: objects --format jsonl" "$coreheap" objects --format jsonl "$out/heap.core"
measure "jemalloc: objects --format jsonl" "$coreheap" objects --format jsonl "$out/jemalloc.core"

# Many threads (BENCH_THREADS, default 4,000), each holding a list of 25
# allocations through its frame: the threads' notes, stacks and frames.
threads=${BENCH_THREADS:-4000}
"$srcdir/tests/make-core.sh" "$builddir/bench/bench_threads" "$out/threads" "$threads" > /dev/null
echo
printf '| %-44s | %9s | %9s | %11s |\n' "$threads threads, $(live_count "$out/threads.core") allocations" wall CPU "peak memory"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 46))" ----------- ----------- -------------
for command in summary leaks; do
	measure "coreheap $command" "$coreheap" "$command" "$out/threads.core"
done
rm -f "$out/threads.core"

# The Python heap: Debian's python3 running bench_python.py, BENCH_PY_OBJECTS
# objects (default 1 million), and the commands that type it.
py_count=${BENCH_PY_OBJECTS:-1000000}
if [ -x /usr/bin/python3 ]; then
	py_fixture="$out/python-fixture"
	printf '#!/bin/sh\nexec /usr/bin/python3 "%s" "$@"\n' \
		"$srcdir/bench/bench_python.py" > "$py_fixture"
	chmod +x "$py_fixture"
	CH_READY_TIMEOUT=${CH_READY_TIMEOUT:-600} \
		"$srcdir/tests/make-core.sh" "$py_fixture" "$out/python" "$py_count" > /dev/null
	echo
	printf '| %-44s | %9s | %9s | %11s |\n' "python3, $py_count objects" wall CPU "peak memory"
	printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 46))" ----------- ----------- -------------
	measure "coreheap summary" "$coreheap" summary "$out/python.core"
	measure "coreheap types" "$coreheap" types "$out/python.core"
else
	echo "bench: no /usr/bin/python3: the Python heap is not measured"
fi
