#!/bin/sh
# coreheap on jemalloc heaps damaged in known ways (the fixtures write the
# addresses involved): triage names the damage where it is, exits with the
# damaged-heap status (3), and the rest of the heap is still reported.
set -u
: "${COREHEAP:?}" "${FIXTURES:?}" "${CORE_DIR:?}" "${SRCDIR:?}"
work="$CORE_DIR/jemalloc-damage"
rm -rf "$work"
mkdir -p "$work"
failures=0 checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
fact() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# check NAME DESCRIPTION PATTERN: the JSON report holds the pattern
check() {
	checks=$((checks + 1))
	if grep -q -- "$3" "$work/$1.json"; then
		echo "ok: $1: $2"
	else
		fail "$1: $2: no '$3' in $work/$1.json"
	fi
}

triage() { # name
	"$SRCDIR/tests/make-core.sh" "$FIXTURES/$1" "$work/$1" > /dev/null 2>&1
	case $? in
	0) ;;
	77) echo "SKIP: $1: no core can be made here"; return 77 ;;
	*) fail "$1: no core"; return 1 ;;
	esac
	"$COREHEAP" triage --format json "$work/$1.core" > "$work/$1.json" 2> "$work/$1.err"
	status=$?
	checks=$((checks + 1))
	[ "$status" -eq 3 ] || fail "$1: exit status $status, expected 3 (damaged)"
	check "$1" "damaged" '"heap_damaged": true'
	check "$1" "by jemalloc" '"allocator": "jemalloc"'
}

skipped=0
triage damage_jemalloc_double_free
case $? in
0)
	block=$(fact double_freed "$work/damage_jemalloc_double_free.live")
	check damage_jemalloc_double_free "damage at the block" "\"address\": \"$block\""
	check damage_jemalloc_double_free "called a double free" 'cached twice.*a double free'
	block=$(fact flushed_then_freed "$work/damage_jemalloc_double_free.live")
	check damage_jemalloc_double_free "flushed, freed again: at the block" "\"address\": \"$block\""
	check damage_jemalloc_double_free "in a tcache and free in the bitmap" 'both in a tcache and free in its slab.s bitmap: a double free'
	;;
77) skipped=$((skipped + 1)) ;;
esac
triage damage_jemalloc_bitmap
case $? in
0)
	edata=$(fact edata "$work/damage_jemalloc_bitmap.live")
	slab=$(fact slab "$work/damage_jemalloc_bitmap.live")
	check damage_jemalloc_bitmap "damage at the slab's edata" "\"address\": \"$edata\""
	check damage_jemalloc_bitmap "bitmap against count" "slab $slab: its bitmap has 1 free regions, its count says 0"
	;;
77) skipped=$((skipped + 1)) ;;
esac

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ] || exit 1
[ "$skipped" -lt 2 ] || exit 77
exit 0
