#!/bin/sh
# The fuzz targets' seeds and runs, for fuzz/local.mk (see README.md,
# "Hostile cores and fuzzing").
#
#   run.sh seeds SRCDIR BUILDDIR FIXTURE...
#       cores of the fixtures (tests/make-core.sh) into BUILDDIR/fuzz/cores,
#       and from them the seed corpora BUILDDIR/fuzz/seeds/<target>/
#   run.sh run SRCDIR BUILDDIR SECONDS [ONLY] TARGET...
#       each target (or ONLY, a target's name) for SECONDS on its corpus
#       BUILDDIR/fuzz/corpus/<target>/ (kept between runs) and its seeds;
#       a crash, leak, timeout or memory blow-up leaves its input in
#       BUILDDIR/fuzz/artifacts/ and fails the run after all targets ran.
#
# Environment: FUZZ_FLAGS, more libFuzzer flags (e.g. -jobs=4 -workers=4).
set -u
mode=$1 srcdir=$2 builddir=$3
shift 3
cd "$builddir" || exit 1

seeds() {
	rm -rf fuzz/seeds
	mkdir -p fuzz/cores fuzz/seeds/fuzz_core fuzz/seeds/fuzz_address_space \
		fuzz/seeds/fuzz_modules fuzz/seeds/fuzz_glibc fuzz/seeds/fuzz_pipeline \
		fuzz/seeds/fuzz_jemalloc fuzz/seeds/fuzz_cpython
	made=0
	for fixture in "$@"; do
		name=$(basename "$fixture")
		core=fuzz/cores/$name.core
		if [ ! -s "$core" ] || [ "$fixture" -nt "$core" ]; then
			"$srcdir/tests/make-core.sh" "$fixture" "fuzz/cores/$name" \
				> /dev/null 2> "fuzz/cores/$name.log"
			status=$?
			if [ "$status" -eq 77 ]; then
				echo "fuzz seeds: no core of $name: $(tail -n1 "fuzz/cores/$name.log")" >&2
				continue
			fi
			[ "$status" -eq 0 ] || { cat "fuzz/cores/$name.log" >&2; exit 1; }
		fi
		case $name in
		jemalloc_*)
			# A jemalloc heap: for the jemalloc plugin only.
			fuzz/fuzz_seeds jemalloc "$core" "fuzz/seeds/fuzz_jemalloc/$name" || exit 1
			made=$((made + 1))
			continue
			;;
		esac
		fuzz/fuzz_seeds glibc "$core" "fuzz/seeds/fuzz_glibc/$name" || exit 1
		# Whole cores of threaded fixtures are hundreds of MiB of
		# stacks: their snapshot only.
		[ "$(stat -c %s "$core")" -le $((64 << 20)) ] || { made=$((made + 1)); continue; }
		fuzz/fuzz_seeds headers "$core" "fuzz/seeds/fuzz_core/$name.headers" || exit 1
		fuzz/fuzz_seeds small "$core" "fuzz/seeds/fuzz_core/$name.small" || exit 1
		cp "fuzz/seeds/fuzz_core/$name.headers" fuzz/seeds/fuzz_modules/
		cp "fuzz/seeds/fuzz_core/$name.small" fuzz/seeds/fuzz_modules/
		cp "fuzz/seeds/fuzz_core/$name.small" fuzz/seeds/fuzz_address_space/
		cp "fuzz/seeds/fuzz_core/$name.small" fuzz/seeds/fuzz_pipeline/
		made=$((made + 1))
	done
	# A CPython heap (Debian 12's python3 and fuzz/python_seed.py): for
	# the CPython plugin, with glibc's blocks it lives in.
	core=fuzz/cores/python.core
	if [ ! -s "$core" ] || [ "$srcdir/fuzz/python_seed.py" -nt "$core" ]; then
		"$srcdir/tests/make-python-core.sh" fuzz/cores/python \
			"$srcdir/fuzz/python_seed.py" -I -S > fuzz/cores/python.log 2>&1
		status=$?
		if [ "$status" -eq 77 ]; then
			echo "fuzz seeds: no python core: $(tail -n1 fuzz/cores/python.log)" >&2
		elif [ "$status" -ne 0 ]; then
			cat fuzz/cores/python.log >&2
			exit 1
		fi
	fi
	if [ -s "$core" ]; then
		fuzz/fuzz_seeds cpython "$core" fuzz/seeds/fuzz_cpython/python || exit 1
		made=$((made + 1))
	fi
	# The cores that once broke coreheap (tests/hostile-regressions/).
	for core in "$srcdir"/tests/hostile-regressions/*.core; do
		[ -e "$core" ] || continue
		for target in fuzz_core fuzz_address_space fuzz_modules fuzz_pipeline; do
			cp "$core" "fuzz/seeds/$target/"
		done
	done
	# A seed that is not a core at all keeps the targets runnable.
	for dir in fuzz/seeds/*/; do
		printf '\177ELF\002\001\001' > "$dir/elf-ident"
	done
	echo "fuzz seeds: from $made core(s): $(ls fuzz/seeds/* | wc -l) files in fuzz/seeds/"
}

run() {
	seconds=$1
	shift
	only=
	case ${1-} in
	fuzz/*) ;;
	?*) only=$1; shift ;;
	esac
	mkdir -p fuzz/artifacts
	failed=
	for target in "$@"; do
		name=$(basename "$target")
		[ -z "$only" ] || [ "$only" = "$name" ] || continue
		mkdir -p "fuzz/corpus/$name"
		log=fuzz/$name.log
		echo "fuzz: $name for ${seconds}s (log: $builddir/$log)"
		# -timeout: a hang is an input that runs past 10 s; the RSS
		# limit catches sizes taken from the input unchecked.
		# Inputs as large as the largest seed (a core's writable
		# segments), 4 MiB at most: libFuzzer's default would cut
		# the seeds at 1 MiB.
		max_len=$(find "fuzz/seeds/$name" -type f -printf '%s\n' | sort -n | tail -n1)
		[ "${max_len:-0}" -le $((4 << 20)) ] || max_len=$((4 << 20))
		[ "${max_len:-0}" -ge 4096 ] || max_len=4096
		# shellcheck disable=SC2086
		"$target" -max_len="$max_len" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
			-malloc_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="fuzz/artifacts/$name-" ${FUZZ_FLAGS-} \
			"fuzz/corpus/$name" "fuzz/seeds/$name" > "$log" 2>&1
		status=$?
		grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" |
			sed 's/^/    /'
		if [ "$status" -ne 0 ]; then
			echo "fuzz: $name FAILED (exit $status):"
			grep -m1 -B2 -A30 -E '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer|^SUMMARY' "$log" | head -n 45
			ls -1 fuzz/artifacts/"$name"-* 2>/dev/null | sed 's/^/    artifact: /'
			failed="$failed $name"
		fi
	done
	if [ -n "$failed" ]; then
		echo "fuzz: failed:$failed (reproduce: fuzz/<target> fuzz/artifacts/<file>)"
		exit 1
	fi
}

case $mode in
seeds) seeds "$@" ;;
run) run "$@" ;;
*) echo "usage: run.sh seeds|run SRCDIR BUILDDIR ..." >&2; exit 64 ;;
esac
