#!/bin/sh
# coreheap triage on heaps damaged in known ways (the fixtures write the
# addresses involved): it names the damage, the overflowing allocation and
# its type, exits with the damaged-heap status (3), and does not crash. A
# clean heap exits 0.
. "$SRCDIR/tests/lib.sh"
test_init triage FIXTURES SRCDIR

fact() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# check NAME DESCRIPTION PATTERN: the JSON report holds the pattern
check() {
	check_grep "$1: $2" "$3" "$work/$1.json"
}

# check_booleans NAME FILE: every member the man page calls a boolean is
# true or false wherever it occurs (never null, never missing in a thread).
check_booleans() {
	command -v python3 > /dev/null 2>&1 || return 0
	problems=$(python3 -c '
import json, sys
BOOLEANS = {"truncated", "command_line_cut", "crashed", "stack_incomplete",
            "heap_damaged", "likely_overflow"}
bad = []
def walk(path, value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in BOOLEANS and not isinstance(item, bool):
                bad.append("%s.%s = %s" % (path, key, json.dumps(item)))
            walk(path + "." + key, item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            walk("%s[%d]" % (path, i), item)
doc = json.load(open(sys.argv[1]))
threads = [doc["thread"]] + doc.get("threads", [])
for i, thread in enumerate(threads):
    for key in ("stack_incomplete", "stack_stop_reason"):
        if thread is not None and key not in thread:
            bad.append("thread %d has no %s" % (i, key))
walk("", doc)
print("\n".join(bad))' "$2")
	check_same "$1: booleans are true or false, never null" "" "$problems"
}

triage() { # name
	make_core "$FIXTURES/$1" "$work/$1" || return 1
	"$COREHEAP" triage --format json "$core" > "$work/$1.json" 2> "$work/$1.err"
	check_same "$1: exit status 3 (damaged)" 3 "$?"
	check "$1" "schema" '"schema": "coreheap-triage/2"'
	check "$1" "damaged" '"heap_damaged": true'
	check_booleans "$1" "$work/$1.json"
	"$COREHEAP" triage --all-threads --format json "$core" > "$work/$1.all.json" 2> /dev/null
	check_booleans "$1 --all-threads" "$work/$1.all.json"
}

if triage damage_overflow; then
	chunk=$(fact damaged_chunk "$work/damage_overflow.live")
	buffer=$(fact overflowing "$work/damage_overflow.live")
	check damage_overflow "damage at the smashed header" "\"address\": \"$chunk\""
	check damage_overflow "the overflowing allocation" "\"address\": \"$buffer\""
	check damage_overflow "its type" '"type": "struct buffer"'
	check damage_overflow "named as the likely overflow" '"likely_overflow": true'
	check damage_overflow "the stack" 'damage_overflow!main'
	# The smashed chunk, up to where the walk resumed, is the arena's
	# but no block explains it: summary says so.
	"$COREHEAP" summary "$core" > "$work/damage_overflow.summary" 2> /dev/null
	check_grep "damage_overflow: summary shows the skipped chunk as unexplained" \
		"^unexplained: 1 range, " "$work/damage_overflow.summary"
fi
if triage damage_tcache_double_free; then
	block=$(fact double_freed "$work/damage_tcache_double_free.live")
	chunk=$(printf '0x%x' $((block - 16)))
	check damage_tcache_double_free "damage at the chunk" "\"address\": \"$chunk\""
	check damage_tcache_double_free "called a double free" 'double free'
	check damage_tcache_double_free "its kind" '"kind": "double_free"'
fi
if triage damage_fastbin; then
	chunk=$(fact corrupted_fastbin_chunk "$work/damage_fastbin.live")
	check damage_fastbin "damage at the chunk holding the link" "\"address\": \"$chunk\""
	check damage_fastbin "the bogus link" '0x41414144'
	check damage_fastbin "its kind" '"kind": "bad_pointer"'
fi

# A clean heap: exit 0, nothing damaged.
if make_core "$FIXTURES/glibc_mixed" "$work/clean"; then
	"$COREHEAP" triage --format json "$core" > "$work/clean.json" 2> "$work/clean.err"
	status=$?
	if [ $status -eq 0 ]; then
		ok "clean: exit status 0"
	else
		fail "clean: exit status $status: $(cat "$work/clean.err")"
	fi
	check clean "not damaged" '"heap_damaged": false'
	check clean "the stack unwound to its end" '"stack_incomplete": false'
	check_booleans clean "$work/clean.json"
fi

finish
