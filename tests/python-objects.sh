#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Python objects from a real interpreter, unmodified: Debian's
# /usr/bin/python3 (3.11, stripped) runs tests/python_objects.py, which
# builds designed objects and writes the id() and type of each, drops 500
# more instances of a class of its own, says "ready" and blocks; gcore
# dumps it. Against that record, independent of coreheap:
#  - the instances of each designed class are exactly the recorded ids, no
#    more, no less (none of the 500 dropped: their blocks are free, with
#    the old type pointer still in place);
#  - every recorded plain dict, list, tuple, str and bytes is reported at
#    its id with its type;
#  - the objects of several hundred KiB live in glibc's blocks: each has a
#    glibc block as parent, and that block takes the object's type;
#  - summary says which CPython it found and how, and pymalloc's figures;
#  - why of sessions['abc'].buffer[3] names the module global and each
#    step, in Python's terms, through the recorded ids; why of the parked
#    thread's local req names the thread (its recorded tid), the frame and
#    the local;
#  - why of a str the script interned has a path from the interned
#    strings' dict;
#  - leaks reports the dropped reference cycle (the collector off) as
#    uncollected garbage, exactly its recorded objects of its class, and
#    none of the live designed objects as leaked or garbage.
. "$SRCDIR/tests/lib.sh"
test_init python-objects SRCDIR

python=/usr/bin/python3
[ -x "$python" ] || skip "no $python (scripts/install-deps.sh installs it)"
case $("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') in
3.11) ;;
*) skip "$python is not CPython 3.11 (Debian 12's)" ;;
esac
require_command gcore gdb

mkfifo "$work/stdin" || { fail "mkfifo"; finish; }
"$python" "$SRCDIR/tests/python_objects.py" "$work/designed" "$work/owned" \
	"$work/roots" < "$work/stdin" > "$work/py.out" 2> "$work/py.err" &
pid=$!
ch_lib_pids="$ch_lib_pids $pid"
# The fifo's writing end: the script's stdin opens, and its read blocks
# until this test exits.
exec 3> "$work/stdin"
if ! wait_ready "$work/py.out" 1; then
	fail "python3 did not say ready"
	cat "$work/py.err"
	finish
fi
take_gcore "$pid" "$work/py" || finish
designed=$work/designed

run_ok "objects" objects --format jsonl "$core"
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
for class in Marker MarkedDict MarkedList MarkedTuple MarkedStr; do
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
sort "$work/owned" > "$work/want.owned"
check_same "every item array and key table of the designed lists and dicts, typed by its owner" \
	"" "$(comm -23 "$work/want.owned" "$work/got.owned")"
big_items=$(tail -n 1 "$work/owned" | cut -f 1)
check_same "the big list's item array: a glibc block of type list items" \
	"glibc list items" \
	"$(awk -v a="$big_items" '$1 == a { print $2, $3, $4 }' "$work/blocks")"

run_ok "summary" summary "$core"
check_grep "summary: the version and how it was known" \
	'pymalloc arenas (CPython 3\.11\.[0-9]*, from Py_Version)' "$work/out"
check_grep "summary: arenas" '^ *arenas: in use [1-9]' "$work/out"
check_grep "summary: pools per size class" '^ *class 64 B: pools [1-9][0-9]*, used [1-9]' "$work/out"
check_grep "summary: GC generations" '^ *GC-tracked objects: generation 0' "$work/out"

run_ok "types" types --format csv "$core"
check_grep "types: 12000 __main__.Marker" '^__main__\.Marker,,12000,' "$work/out"

# why, in Python's terms: the chain the script recorded, id by id.
set -- $(awk '$1 == "chain" { print $2, $3, $4, $5 }' "$work/roots")
check_same "the chain recorded" 4 $#
sessions=$1 session=$2 buffer=$3 payload=$4
run_ok "why sessions['abc'].buffer[3]" why "$payload" "$core"
check_same "why: the target is the object at its id" \
	"$payload is a cpython object of type __main__.Payload" \
	"$(head -n 1 "$work/out" | sed 's/ (.*//')"
check_same "why: the first path, from the module global, step by step" \
	"  module __main__ .sessions -> dict['abc'] -> __main__.Session .buffer -> list[3]" \
	"$(sed -n '4p' "$work/out")"
run_ok "why --format json sessions['abc'].buffer[3]" why --format json "$payload" "$core"
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
set -- $(awk '$1 == "thread" { print $2, $3 }' "$work/roots")
tid=$1 req=$2
run_ok "why req" why --format json "$req" "$core"
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
interned=$(awk '$1 == "interned" { print $2 }' "$work/roots")
run_ok "why the interned str" why --paths 5 --format json "$interned" "$core"
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
run_ok "leaks" leaks --format jsonl "$core"
sed -n 's/.*"address": "\([^"]*\)", "size": [0-9]*, "allocator": "[a-z]*", "type": \("\([^"]*\)"\|null\), "leak": "\([a-z]*\)".*/\1 \3 \4/p' \
	"$work/out" > "$work/leaked"
awk '$1 == "cycle" && $3 == "__main__.CycleNode" { print $2 }' "$work/roots" |
	sort > "$work/want.cycle"
awk '$2 == "__main__.CycleNode" && $NF == "uncollected" { print $1 }' \
	"$work/leaked" | sort > "$work/got.cycle"
check_same "leaks: the two CycleNode of the dropped cycle are uncollected, no more, no less" \
	"2 $(cksum < "$work/want.cycle")" \
	"$(wc -l < "$work/got.cycle" | tr -d ' ') $(cksum < "$work/got.cycle")"
cycle_list=$(awk '$1 == "cycle" && $3 == "list" { print $2 }' "$work/roots")
check_same "leaks: the cycle's list is uncollected" "$cycle_list list uncollected" \
	"$(awk -v a="$cycle_list" '$1 == a' "$work/leaked")"
check_same "leaks: nothing of the cycle is a native leak" "" \
	"$(awk '$NF != "uncollected"' "$work/leaked")"
{
	awk '{ print $1 }' "$work/designed"
	awk '$1 == "live" { print $2 }' "$work/roots"
	echo "$sessions"
	echo "$req"
} | sort -u > "$work/live.ids"
check_same "leaks: none of the $(wc -l < "$work/live.ids" | tr -d ' ') live designed objects" "" \
	"$(awk '{ print $1 }' "$work/leaked" | sort | comm -12 - "$work/live.ids")"

exec 3>&-
finish
