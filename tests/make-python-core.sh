#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make-python-core.sh OUTPUT_PREFIX [SCRIPT [PYTHON_OPTION...]]
#
# A core of Debian 12's python3 (3.11) running SCRIPT (by default
# tests/hostile_python.py: objects of every kind the CPython plugin decodes
# and a second thread parked in a frame while it handles an exception),
# given OUTPUT_PREFIX.ranges as its argument, where hostile_python.py
# writes the memory it names (for hostile_mutate --words). The script says
# "ready" and waits for its stdin to close; gcore takes the core
# meanwhile. Leaves OUTPUT_PREFIX.core, OUTPUT_PREFIX.out, .err and
# .gcore.log. For the CPython hostile corpus (tests/hostile-cores.sh
# python) and fuzz_cpython's seed (fuzz/run.sh, fuzz/python_seed.py).
#
# Exit status: 0 done, 77 cannot be done here (no /usr/bin/python3 3.11, no
# gcore), 1 anything else failed.
set -u
[ $# -ge 1 ] || { echo "usage: $0 OUTPUT_PREFIX [SCRIPT [PYTHON_OPTION...]]" >&2; exit 1; }
base=$1
here=$(cd "$(dirname "$0")" && pwd)
script=${2:-$here/hostile_python.py}
shift $(($# < 2 ? $# : 2))
python=/usr/bin/python3
[ -x "$python" ] || { echo "SKIP: no $python (scripts/install-deps.sh installs it)"; exit 77; }
command -v gcore > /dev/null || { echo "SKIP: no gcore"; exit 77; }
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$version" = 3.11 ] || { echo "SKIP: $python is $version, not Debian 12's 3.11"; exit 77; }

fifo=$(mktemp -u "$base.stdin.XXXXXX")
mkfifo "$fifo" || exit 1
trap 'rm -f "$fifo"' EXIT
# One malloc arena: the thread's would be a 64 MiB reservation in the
# core, copied for every mutant.
MALLOC_ARENA_MAX=1 "$python" "$@" "$script" "$base.ranges" \
	< "$fifo" > "$base.out" 2> "$base.err" &
pid=$!
exec 3> "$fifo"
tries=1200
while ! grep -qx ready "$base.out"; do
	tries=$((tries - 1))
	if [ "$tries" -eq 0 ] || ! kill -0 "$pid" 2> /dev/null; then
		cat "$base.err"
		echo "FAIL: $python did not say ready"
		exit 1
	fi
	sleep 0.05
done
gcore -o "$base" "$pid" > "$base.gcore.log" 2>&1
mv "$base.$pid" "$base.core" 2> /dev/null
exec 3>&-
wait "$pid"
[ -s "$base.core" ] || { cat "$base.gcore.log"; echo "FAIL: gcore made no core"; exit 1; }
exit 0
