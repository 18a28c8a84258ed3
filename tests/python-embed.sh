#!/bin/sh
# SPDX-License-Identifier: MIT
#
# CPython embedded through Debian's libpython3 shared library (not the
# python3 executable, which links the interpreter in), with a
# subinterpreter: fixtures/python_embed.c, built here against libpython
# (pkg-config python3-embed), makes instances of a class of its own in each
# interpreter and writes their id() and type, drops 300 more, says "ready";
# gcore dumps it. Against that record, independent of coreheap:
#  - the instances of each class are exactly the recorded ids, no more, no
#    less (pymalloc's arenas found from libpython's data, not the
#    executable's);
#  - why names each interpreter's global keep apart (a subinterpreter's
#    roots carry its id);
#  - summary lists both interpreters and pymalloc's figures.
. "$SRCDIR/tests/lib.sh"
test_init python-embed SRCDIR
require_command gcore gdb pkg-config
flags=$(pkg-config --cflags --libs python3-embed 2> /dev/null) ||
	skip "no libpython3 to embed (pkg-config python3-embed; scripts/install-deps.sh installs libpython3-dev)"
version=$(pkg-config --modversion python3-embed)
[ "$version" = 3.11 ] || skip "libpython $version is not CPython 3.11 (Debian 12's)"

# shellcheck disable=SC2086 # the flags are words
if ! ${CC:-cc} -g -O0 -o "$work/python_embed" "$SRCDIR/fixtures/python_embed.c" \
	$flags > "$work/cc.log" 2>&1; then
	fail "fixtures/python_embed.c does not build against libpython $version"
	cat "$work/cc.log"
	finish
fi
CH_PY_IDS=$work/designed "$work/python_embed" > "$work/embed.out" 2> "$work/embed.err" &
pid=$!
ch_lib_pids="$ch_lib_pids $pid"
if ! wait_ready "$work/embed.out" 1; then
	fail "python_embed did not say ready"
	cat "$work/embed.err"
	finish
fi
take_gcore "$pid" "$work/embed" || finish

run_ok "objects" objects --format jsonl "$core"
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "cpython", "type": "\([^"]*\)".*/\1 \2/p' \
	"$work/out" > "$work/python"
for class in EmbedMarker SubMarker; do
	awk -v t="__main__.$class" '$2 == t { print $1 }' "$work/designed" |
		sort > "$work/$class.expected"
	awk -v t="__main__.$class" '$2 == t { print $1 }' "$work/python" |
		sort > "$work/$class.actual"
	if [ ! -s "$work/$class.expected" ]; then
		fail "$class: the fixture recorded no instance"
	elif diff "$work/$class.expected" "$work/$class.actual" > "$work/$class.diff"; then
		ok "$class: exactly the $(wc -l < "$work/$class.expected") recorded ids"
	else
		fail "$class: not the recorded ids (< missed, > extra):"
		head -n 20 "$work/$class.diff"
	fi
done

# why names the interpreter of a subinterpreter's roots: the same global
# in each interpreter, told apart.
main_id=$(head -n 1 "$work/EmbedMarker.expected")
sub_id=$(head -n 1 "$work/SubMarker.expected")
run_ok "why an instance of the main interpreter's" why "$main_id" "$core"
check_grep "why: the main interpreter's global keep" \
	'^  module __main__ \.keep -> list\[' "$work/out"
run_ok "why an instance of the subinterpreter's" why "$sub_id" "$core"
check_grep "why: the subinterpreter's global keep, named with its interpreter" \
	'^  interpreter 1 module __main__ \.keep -> list\[' "$work/out"

run_ok "summary" summary "$core"
check_grep "summary: pymalloc's arenas in libpython's process" \
	'cpython pymalloc arenas (CPython 3\.11' "$work/out"
check_same "summary: the main interpreter and the subinterpreter" 2 \
	"$(grep -c '^  cpython interpreter [01] at ' "$work/out")"
check_same "summary: an interpreter's row gives its figures, not a heap of zeroes" 2 \
	"$(grep -c '^  cpython interpreter [01] at 0x[0-9a-f]*:$' "$work/out")"
if grep -q "pymalloc's arenas were not found" "$work/err"; then
	fail "summary: pymalloc's arenas were not found"
	cat "$work/err"
fi
finish
