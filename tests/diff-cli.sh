#!/bin/sh
# coreheap diff on one process dumped at two moments with a known growth
# per type (recorded by the fixture itself), and --strict on two different
# programs.
set -u
: "${COREHEAP:?}" "${FIXTURES:?}" "${CORE_DIR:?}"
command -v gcore > /dev/null 2>&1 || { echo "skip: no gcore"; exit 77; }
work="$CORE_DIR/diff"
rm -rf "$work"
mkdir -p "$work"
failures=0 checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

wait_ready() { # file count
	for _ in $(seq 1 200); do
		[ "$(grep -c '^ready$' "$1" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

CH_LIVESET="$work/facts" "$FIXTURES/diff_growth" > "$work/out" &
pid=$!
wait_ready "$work/out" 1 || { kill "$pid"; echo "FAIL: fixture not ready"; exit 1; }
gcore -o "$work/old" "$pid" > /dev/null 2>&1
kill -USR1 "$pid"
wait_ready "$work/out" 2 || { kill "$pid"; echo "FAIL: fixture not ready twice"; exit 1; }
gcore -o "$work/new" "$pid" > /dev/null 2>&1
kill "$pid"
wait "$pid" 2> /dev/null
old="$work/old.$pid" new="$work/new.$pid"

"$COREHEAP" diff --format csv "$old" "$new" > "$work/diff.csv" 2> "$work/diff.err"
status=$?
checks=$((checks + 1))
[ "$status" -eq 0 ] || fail "diff exited $status: $(cat "$work/diff.err")"

# Every type the fixture recorded: count and bytes at both moments.
while read -r kind name count bytes; do
	type="$kind $name"
	row=$(awk -F, -v t="$type" '$1 == t' "$work/diff.csv")
	old_count=$(awk -v t="$type" '$1" "$2 == t { print $3 }' "$work/facts.1")
	old_bytes=$(awk -v t="$type" '$1" "$2 == t { print $4 }' "$work/facts.1")
	want="$type,0,$old_count,$count,$old_bytes,$bytes"
	checks=$((checks + 1))
	if [ "$row" = "$want" ]; then
		echo "ok: $want"
	else
		fail "row for '$type' is '$row', expected '$want'"
	fi
done < "$work/facts.2"

# Retained growth: each session and cache entry hangs from a global and
# holds nothing else, so what each type retains is its own bytes.
"$COREHEAP" diff --retained --format csv "$old" "$new" > "$work/retained.csv" 2>/dev/null
while read -r kind name count bytes; do
	type="$kind $name"
	old_bytes=$(awk -v t="$type" '$1" "$2 == t { print $4 }' "$work/facts.1")
	row=$(awk -F, -v t="$type" '$1 == t { print $7 "," $8 }' "$work/retained.csv")
	checks=$((checks + 1))
	if [ "$row" = "$old_bytes,$bytes" ]; then
		echo "ok: retained $type $row"
	else
		fail "retained of '$type' is '$row', expected '$old_bytes,$bytes'"
	fi
done < "$work/facts.2"

# The grown type comes first: largest growth in bytes.
checks=$((checks + 1))
first=$(sed -n 2p "$work/diff.csv" | cut -d, -f1)
[ "$first" = "struct session" ] || fail "first row is '$first', not struct session"

# --show new lists exactly the 20 new sessions (and nothing of the cache).
"$COREHEAP" diff --show new --format json "$old" "$new" > "$work/show.json" 2>/dev/null
checks=$((checks + 1))
new_sessions=$(sed -n '/"new_allocations"/,$p' "$work/show.json" | grep -c '"type": "struct session"')
[ "$new_sessions" -eq 20 ] || fail "--show new lists $new_sessions new sessions, not 20"
"$COREHEAP" diff --show gone --format json "$old" "$new" > "$work/gone.json" 2>/dev/null
checks=$((checks + 1))
gone=$(sed -n '/"gone_allocations"/,$p' "$work/gone.json" | grep -c '"type": "struct cache_entry"')
[ "$gone" -eq 2 ] || fail "--show gone lists $gone cache entries, not 2"

# Two different programs: a warning, and an error with --strict.
cp /bin/sleep "$work/other-sleep"
"$work/other-sleep" 60 &
spid=$!
sleep 0.3
gcore -o "$work/other" "$spid" > /dev/null 2>&1
kill "$spid"
wait "$spid" 2> /dev/null
other="$work/other.$spid"
"$COREHEAP" diff "$old" "$other" > /dev/null 2> "$work/mismatch.err"
checks=$((checks + 1))
grep -q "may not come from the same program" "$work/mismatch.err" ||
	fail "no build-id warning: $(cat "$work/mismatch.err")"
"$COREHEAP" diff --strict "$old" "$other" > /dev/null 2> "$work/strict.err"
status=$?
checks=$((checks + 1))
[ "$status" -eq 2 ] && grep -q "different builds" "$work/strict.err" ||
	fail "--strict exited $status: $(cat "$work/strict.err")"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
