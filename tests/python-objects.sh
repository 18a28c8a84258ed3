#!/bin/sh
# SPDX-License-Identifier: MIT
#
# python-objects.sh [SUITE]: Python objects from a real interpreter,
# unmodified. Without SUITE, Debian's /usr/bin/python3 here (3.11,
# stripped); with one (tests/python-trixie.sh: trixie), the python3 of a
# Debian SUITE root (tests/debian-root.sh, cached; Debian 13's 3.13, whose
# layout coreheap takes from its _Py_DebugOffsets), run in the root
# (chroot, a /proc of its own), dumped from here with gcore and read with
# `--sysroot ROOT`.
#
# The interpreter runs tests/python_objects.py, which builds designed
# objects and writes the id() and type of each, drops 500 more instances
# of a class of its own, parks a thread in handle_request() while it
# handles a ValueError and writes that thread's and the main thread's
# Python stacks as Python sees them (co_qualname, co_filename, f_lineno
# per frame), says "ready" and blocks; gcore dumps it. Against that
# record, independent of coreheap:
#  - the instances of each designed class are exactly the recorded ids, no
#    more, no less (none of the 500 dropped: their blocks are free, with
#    the old type pointer still in place), those a subinterpreter keeps too
#    (in 3.13 in a pymalloc of its own);
#  - every recorded plain dict, list, tuple, str and bytes is reported at
#    its id with its type;
#  - the objects of several hundred KiB live in glibc's blocks: each has a
#    glibc block as parent, and that block takes the object's type;
#  - summary says which CPython it found and how, and pymalloc's figures,
#    and its oldest GC generation lists as many objects as
#    gc.get_objects(generation=2) did (the collector off from there on);
#  - triage --all-threads shows, under each of the two threads' native
#    stacks, exactly the recorded Python frames (function, file, line) and
#    the exception the parked thread handles, in text and in JSON.
#  - why of sessions['abc'].buffer[3] names the module global and
#    each step, in Python's terms, through the recorded ids; why of the
#    parked thread's local req names the thread (its recorded tid), the
#    frame and the local;
#  - why of a str the script interned has a path from the interned
#    strings' dict;
#  - leaks reports the dropped reference cycle (the collector off)
#    as uncollected garbage, exactly its recorded objects of its class,
#    and none of the live designed objects as leaked or garbage.
. "$SRCDIR/tests/lib.sh"

suite=${1:-}
test_init "python-objects${suite:+-$suite}" SRCDIR TESTS_BUILDDIR
require_command gcore gdb gcc objcopy

if [ -z "$suite" ]; then
	python=/usr/bin/python3
	[ -x "$python" ] || skip "no $python (scripts/install-deps.sh installs it)"
	case $("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') in
	3.11) ;;
	*) skip "$python is not CPython 3.11 (Debian 12's)" ;;
	esac
	want_version='3\.11\.[0-9]*, from Py_Version'
	# Where the script writes (and reads) its files, and where they are.
	dir=$work inside=$work
	sysroot=
else
	require_command chroot unshare mount
	roots=${DEBIAN_ROOTS:-$TESTS_BUILDDIR/../debian-roots}
	root=$roots/$suite
	sh "$SRCDIR/tests/debian-root.sh" "$suite" "$root" python3 \
		libpython3.13-dev
	case $? in
	0) ;;
	77) skip "no Debian $suite root (see the message above)" ;;
	*) fail "cannot make the Debian $suite root"; finish ;;
	esac
	root=$(cd "$root" && pwd -P)
	python=/usr/bin/python3
	version=$(chroot "$root" "$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	case $version in
	3.13) want_version='3\.13\.[0-9]*, from _Py_DebugOffsets' ;;
	*) skip "the $suite root's python3 is $version, not 3.13" ;;
	esac
	echo "Debian $suite root: $root, python3 $version"
	inside=/coreheap-python-$$
	dir=$root$inside
	rm -rf "$dir"
	mkdir "$dir" || { fail "cannot create $dir"; finish; }
	ch_lib_scratch="$ch_lib_scratch $dir"
	cp "$SRCDIR/tests/python_objects.py" "$dir/" ||
		{ fail "cannot copy the script into $dir"; finish; }
	sysroot="--sysroot $root"
	# libdw 0.188's dwarf_getscopes() (elfutils libdw/dwarf_getscopes.c)
	# allocates the scopes in pc_record() and, when an inlined function's
	# abstract origin is not in its CU (origin_match() finds none),
	# returns without handing them over or freeing them; Debian 13's libc
	# debug info meets it when types and triage walk libc frames' locals.
	# LeakSanitizer's fast unwinder sees only libdw's frame under malloc:
	# under the sanitizers, libdw's own leaks are not counted here.
	LSAN_OPTIONS="suppressions=$work/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
	echo "leak:libdw.so" > "$work/lsan.supp"
fi
script=$SRCDIR/tests/python_objects.py
[ -n "$suite" ] && script=$inside/python_objects.py

# The plugin's struct offsets for this version (tests/python_layout)
# against the interpreter's own headers (libpython3.X-dev), as its compiler
# lays them out (tests/python_layout_check.c).
layout_check=yes
if [ -z "$suite" ]; then
	if [ -f /usr/include/python3.11/internal/pycore_frame.h ]; then
		"$TESTS_BUILDDIR/python_layout" 3.11 > "$work/layout.plugin" &&
			gcc -I/usr/include/python3.11 -o "$work/layout_check" \
				"$SRCDIR/tests/python_layout_check.c" &&
			"$work/layout_check" > "$work/layout.headers"
	else
		echo "SKIP: the layout check: no /usr/include/python3.11/internal (libpython3.11-dev; scripts/install-deps.sh installs it)"
		layout_check=
	fi
else
	objcopy -O binary --only-section=.PyRuntime "$root/usr/bin/python3.13" \
		"$work/runtime.bin" &&
		"$TESTS_BUILDDIR/python_layout" 3.13 "$work/runtime.bin" \
			> "$work/layout.plugin" &&
		cp "$SRCDIR/tests/python_layout_check.c" "$dir/" &&
		chroot "$root" gcc -I/usr/include/python3.13 \
			-o "$inside/layout_check" "$inside/python_layout_check.c" &&
		chroot "$root" "$inside/layout_check" > "$work/layout.headers"
fi
if [ -z "$layout_check" ]; then
	:
elif [ ! -s "$work/layout.plugin" ] || [ ! -s "$work/layout.headers" ]; then
	fail "no struct layouts to compare (see $work/layout.*)"
else
	check_same "the plugin's layout is the interpreter's headers' ($(wc -l < "$work/layout.headers" | tr -d ' ') offsets, sizes and flags)" \
		"" "$(grep -vxFf "$work/layout.plugin" "$work/layout.headers")"
fi

mkfifo "$dir/stdin" || { fail "mkfifo"; finish; }
if [ -z "$suite" ]; then
	"$python" "$script" "$dir/designed" "$dir/owned" "$dir/stacks" "$dir/gc" \
		"$dir/designs" \
		< "$dir/stdin" > "$work/py.out" 2> "$work/py.err" &
	pid=$!
	ch_lib_pids="$ch_lib_pids $pid"
else
	# In the root, with a /proc of its own that goes away with it;
	# unshare's one child becomes python3.
	unshare --mount --fork sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$root" "$python" "$script" "$inside/designed" "$inside/owned" \
		"$inside/stacks" "$inside/gc" "$inside/designs" \
		< "$dir/stdin" > "$work/py.out" \
		2> "$work/py.err" &
	unshare_pid=$!
	ch_lib_pids="$ch_lib_pids $unshare_pid"
fi
# The fifo's writing end: the script's stdin opens, and its read blocks
# until this test exits.
exec 3> "$dir/stdin"
if ! wait_ready "$work/py.out" 1; then
	fail "python3 did not say ready"
	cat "$work/py.err"
	finish
fi
if [ -z "$suite" ]; then
	take_gcore "$pid" "$work/py" || finish
else
	pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2> /dev/null)
	pid=${pid% }
	[ -n "$pid" ] || { fail "no process under unshare $unshare_pid"; finish; }
	ch_lib_pids="$ch_lib_pids $pid"
	core=$work/py.$pid
	timeout "${CH_GCORE_TIMEOUT:-300}" gdb < /dev/null --nx --batch \
		--readnever -iex 'set debuginfod enabled off' \
		-ex "set sysroot $root" -ex 'set pagination off' \
		-ex "attach $pid" -ex "gcore $core" -ex detach -ex quit \
		> "$work/py.gcore.log" 2>&1
	core_made "$core" "$work/py.gcore.log" "gcore of $pid" || finish
fi
designed=$dir/designed

run_ok "objects" objects $sysroot --format jsonl "$core"
# address type parent, one a line, for the cpython objects ("-": no
# parent); address allocator type, for every block.
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "cpython", "type": "\([^"]*\)"\(, "parent": "\([^"]*\)"\)\{0,1\}}$/\1 \2 \4/p' \
	"$work/out" | awk '{ print $1, $2, ($3 == "" ? "-" : $3) }' > "$work/python"
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "\([a-z]*\)", "type": \("\([^"]*\)"\|null\).*/\1 \2 \4/p' \
	"$work/out" > "$work/blocks"
objects=$(wc -l < "$work/python" | tr -d ' ')
if [ "$objects" -ge 12000 ]; then
	ok "objects: $objects Python objects"
else
	fail "objects: only $objects Python objects"
fi

# The designed classes: exactly the recorded ids.
for class in Marker MarkedDict MarkedList MarkedTuple MarkedStr SubMarker; do
	awk -v t="__main__.$class" '$2 == t { print $1 }' "$designed" |
		sort > "$work/want.$class"
	awk -v t="__main__.$class" '$2 == t { print $1 }' "$work/python" |
		sort > "$work/got.$class"
	check_same "__main__.$class: the recorded ids, no more, no less" \
		"$(wc -l < "$work/want.$class" | tr -d ' ') $(cat "$work/want.$class" | cksum)" \
		"$(wc -l < "$work/got.$class" | tr -d ' ') $(cat "$work/got.$class" | cksum)"
done
check_same "__main__.Marker: 12000 recorded" 12000 \
	"$(wc -l < "$work/want.Marker" | tr -d ' ')"
check_same "__main__.SubMarker: 2000 recorded by the subinterpreter" 2000 \
	"$(wc -l < "$work/want.SubMarker" | tr -d ' ')"
check_same "none of the 500 dropped instances" "" \
	"$(grep -c '__main__\.Dropped' "$work/python" | grep -v '^0$')"

# Every recorded object of a plain type, at its id with its type.
sort "$work/python" > "$work/python.sorted"
awk '$2 !~ /^__main__\./ { print $1, $2 }' "$designed" | sort > "$work/want.plain"
plain=$(wc -l < "$work/want.plain" | tr -d ' ')
missing=$(awk '{ print $1, $2 }' "$work/python.sorted" | sort |
	comm -23 "$work/want.plain" -)
check_same "every one of the $plain recorded dicts, lists, tuples, strs and bytes, with its type" \
	"" "$missing"

# The big objects: in glibc's blocks, which take their type.
awk '$3 == "big" { print $1, $2 }' "$designed" > "$work/big"
check_same "six big objects recorded" 6 "$(wc -l < "$work/big" | tr -d ' ')"
while read -r id type; do
	parent=$(awk -v a="$id" '$1 == a { print $3 }' "$work/python")
	holder=$(awk -v a="$parent" '$1 == a && $2 == "glibc" { print $2, $3 }' "$work/blocks")
	check_same "the $type of several hundred KiB at $id: its parent is a glibc block of its type" \
		"glibc $type" "$holder"
done < "$work/big"

# The buffers the designed lists and dicts own, typed by their owner: in
# pymalloc's pools or, for the big list's items, a glibc block.
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "\([a-z]*\)", "type": "\(list items\|dict keys\)".*/\1	\3/p' \
	"$work/out" | sort > "$work/got.owned"
sort "$dir/owned" > "$work/want.owned"
check_same "every item array and key table of the designed lists and dicts, typed by its owner" \
	"" "$(comm -23 "$work/want.owned" "$work/got.owned")"
big_items=$(tail -n 1 "$dir/owned" | cut -f 1)
check_same "the big list's item array: a glibc block of type list items" \
	"glibc list items" \
	"$(awk -v a="$big_items" '$1 == a { print $2, $3, $4 }' "$work/blocks")"

run_ok "summary" summary $sysroot "$core"
check_grep "summary: the version and how it was known" \
	"pymalloc arenas (CPython $want_version)" "$work/out"
check_grep "summary: arenas" '^ *arenas: in use [1-9]' "$work/out"
check_grep "summary: pools per size class" '^ *class 64 B: pools [1-9][0-9]*, used [1-9]' "$work/out"
check_grep "summary: GC generations" '^ *GC-tracked objects: generation 0' "$work/out"
check_same "summary: the oldest GC generation lists what gc.get_objects(2) listed" \
	"$(cat "$dir/gc")" \
	"$(awk '/ interpreter [0-9]+ at / { main = / interpreter 0 at / }
		main && /GC-tracked objects:/ { sub(/.*generation 2 /, "generation 2 ")
			sub(/,.*/, ""); print }' "$work/out")"
check_grep "summary: the subinterpreter's GC generations" \
	'cpython interpreter [1-9][0-9]* at ' "$work/out"

run_ok "types" types $sysroot --format csv "$core"
check_grep "types: 12000 __main__.Marker" '^__main__\.Marker,,12000,' "$work/out"

# triage: under each thread's native stack, its Python frames exactly as
# the script recorded them (function, file, line; innermost first), and
# the exception the parked thread handles.
stacks=$dir/stacks
check_same "the parked thread's and the main thread's stacks recorded" 2 \
	"$(cut -f 1 "$stacks" | sort -u | wc -l | tr -d ' ')"
check_grep "the parked thread's stack has handle_request()" \
	"	frame	[0-9]*	handle_request	$script	[0-9]*\$" "$stacks"
run_ok "triage" triage $sysroot --all-threads --no-leaks "$core"
awk -F '\t' '$2 == "frame" { printf "%s     #%-2d %s at %s:%s\n", $1, $3, $4, $5, $6 }
	$2 == "exception" { printf "%s     handling %s: %s\n", $1, $3, $4 }' \
	"$stacks" | sort > "$work/want.pystacks"
awk '/^thread [0-9]+:$/ { tid = $2; sub(":", "", tid); inside = 0; next }
	/^  cpython stack/ { inside = 1; next }
	inside && /^    / { line = $0; sub(/ \(0x[0-9a-f]*\)$/, "", line)
		print tid " " line; next }
	{ inside = 0 }' "$work/out" | sort > "$work/got.pystacks"
check_same "triage: each thread's Python frames and handled exception, as the script recorded them ($(wc -l < "$work/want.pystacks" | tr -d ' ') lines)" \
	"" "$(diff "$work/want.pystacks" "$work/got.pystacks")"
run_ok "triage json" triage $sysroot --all-threads --no-leaks \
	--format json "$core"
python3 - "$stacks" "$work/out" > "$work/json.pystacks" 2>&1 <<'PY'
import json, sys
want = {}
for line in open(sys.argv[1]):
    tid, kind, *rest = line.rstrip("\n").split("\t")
    entry = want.setdefault(int(tid), {"frames": [], "exception": None})
    if kind == "frame":
        entry["frames"].append({"function": rest[1], "file": rest[2],
                                "line": int(rest[3])})
    else:
        entry["exception"] = {"type": rest[0], "message": rest[1]}
doc = json.load(open(sys.argv[2]))
got = {}
for thread in doc["threads"]:
    for stack in thread["runtime_stacks"]:
        exc = stack["exception"]
        # A thread state with nothing to show (the subinterpreter's on
        # the main thread, between two calls): not the recorded stack.
        if not stack["frames"] and not exc:
            continue
        got[thread["tid"]] = {
            "frames": [{k: f[k] for k in ("function", "file", "line")}
                       for f in stack["frames"]],
            "exception": exc and {"type": exc["type"],
                                  "message": exc["message"]}}
got = {tid: got[tid] for tid in want if tid in got}
print("same" if got == want else "differ: want %r got %r" % (want, got))
PY
check_same "triage --format json: the same frames and exception per thread" \
	same "$(cat "$work/json.pystacks")"

# The exact references and Python roots (refs.c): why in Python's terms,
# and the uncollected garbage in leaks.
# why, in Python's terms: the chain the script recorded, id by id.
set -- $(awk '$1 == "chain" { print $2, $3, $4, $5 }' "$dir/designs")
check_same "the chain recorded" 4 $#
sessions=$1 session=$2 buffer=$3 payload=$4
run_ok "why sessions['abc'].buffer[3]" why $sysroot "$payload" "$core"
check_same "why: the target is the object at its id" \
	"$payload is a cpython object of type __main__.Payload" \
	"$(head -n 1 "$work/out" | sed 's/ (.*//')"
check_same "why: the first path, from the module global, step by step" \
	"  module __main__ .sessions -> dict['abc'] -> __main__.Session .buffer -> list[3]" \
	"$(sed -n '4p' "$work/out")"
run_ok "why --format json sessions['abc'].buffer[3]" why $sysroot --format json "$payload" "$core"
# The first path's root, then each step's id, type and member.
"$python" -c '
import json, sys
path = json.load(open(sys.argv[1]))["paths"][0]
print(path["root"]["kind"], path["root"]["name"])
for step in path["chain"]:
    print(step["address"], step["type"], step["member"])
' "$work/out" > "$work/why.chain" 2>&1
check_same "why --format json: the module global, then the recorded ids with their types and steps" \
	"runtime module __main__ .sessions
$sessions dict ['abc']
$session __main__.Session .buffer
$buffer list [3]
$payload __main__.Payload None" "$(cat "$work/why.chain")"

# A frame's local: the parked thread, by its recorded tid.
set -- $(awk '$1 == "thread" { print $2, $3 }' "$dir/designs")
tid=$1 req=$2
run_ok "why req" why $sysroot --format json "$req" "$core"
"$python" -c '
import json, sys
path = json.load(open(sys.argv[1]))["paths"][0]
print(path["root"]["name"])
print(" ".join(step["address"] for step in path["chain"]))
' "$work/out" > "$work/why.req" 2>&1
check_same "why req: the parked thread's frame, its local, then req itself" \
	"frame handle_request() local req
$req" "$(sed 's/^thread [0-9]* (tid '"$tid"') //' "$work/why.req")"
check_grep "why req: the thread by its number and recorded tid" \
	"^thread [1-9][0-9]* (tid $tid) frame handle_request() local req\$" "$work/why.req"

# The interned strings: a root of their own, whose dict holds the str the
# script interned, at its id.
interned=$(awk '$1 == "interned" { print $2 }' "$dir/designs")
run_ok "why the interned str" why $sysroot --paths 5 --format json "$interned" "$core"
"$python" -c '
import json, sys
for path in json.load(open(sys.argv[1]))["paths"]:
    if path["root"]["name"] == "interned strings":
        print(len(path["chain"]), path["chain"][0]["type"],
              path["chain"][0]["member"], path["chain"][-1]["address"])
' "$work/out" > "$work/why.interned" 2>&1
check_same "why: the interned strings' dict holds the interned str" \
	"2 dict (key ['designed interned 3']) $interned" "$(cat "$work/why.interned")"

# leaks: the dropped cycle is uncollected garbage, no live design leaked.
run_ok "leaks" leaks $sysroot --format jsonl "$core"
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "[a-z]*", "type": \("\([^"]*\)"\|null\), "leak": "\([a-z]*\)".*/\1 \3 \4/p' \
	"$work/out" > "$work/leaked"
awk '$1 == "cycle" && $3 == "__main__.CycleNode" { print $2 }' "$dir/designs" |
	sort > "$work/want.cycle"
awk '$2 == "__main__.CycleNode" && $NF == "uncollected" { print $1 }' \
	"$work/leaked" | sort > "$work/got.cycle"
check_same "leaks: the two CycleNode of the dropped cycle are uncollected, no more, no less" \
	"2 $(cksum < "$work/want.cycle")" \
	"$(wc -l < "$work/got.cycle" | tr -d ' ') $(cksum < "$work/got.cycle")"
cycle_list=$(awk '$1 == "cycle" && $3 == "list" { print $2 }' "$dir/designs")
check_same "leaks: the cycle's list is uncollected" "$cycle_list list uncollected" \
	"$(awk -v a="$cycle_list" '$1 == a' "$work/leaked")"
check_same "leaks: nothing of the cycle is a native leak" "" \
	"$(awk '$NF != "uncollected"' "$work/leaked")"
{
	awk '{ print $1 }' "$dir/designed"
	awk '$1 == "live" { print $2 }' "$dir/designs"
	echo "$sessions"
	echo "$req"
} | sort -u > "$work/live.ids"
check_same "leaks: none of the $(wc -l < "$work/live.ids" | tr -d ' ') live designed objects" "" \
	"$(awk '{ print $1 }' "$work/leaked" | sort | comm -12 - "$work/live.ids")"

exec 3>&-
finish
