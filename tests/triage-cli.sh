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

triage() { # name
	make_core "$FIXTURES/$1" "$work/$1" || return 1
	"$COREHEAP" triage --format json "$core" > "$work/$1.json" 2> "$work/$1.err"
	check_same "$1: exit status 3 (damaged)" 3 "$?"
	check "$1" "schema" '"schema": "coreheap-triage/2"'
	check "$1" "damaged" '"heap_damaged": true'
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
fi

finish
