#!/bin/sh
# coreheap diff on one process dumped at two moments with a known growth
# per type (recorded by the fixture itself), and --strict on two different
# programs.
. "$SRCDIR/tests/lib.sh"
test_init diff FIXTURES SRCDIR
require_command gcore

# The fixture says "ready" once per moment; SIGUSR1 moves it to the next.
start_fixture "$FIXTURES/diff_growth" "$work/growth"
take_gcore "$fixture_pid" "$work/old" || finish
old=$core
kill -USR1 "$fixture_pid"
wait_ready "$work/growth.out" 2 || { fail "fixture not ready twice"; finish; }
take_gcore "$fixture_pid" "$work/new" || finish
new=$core
kill "$fixture_pid"
# What the fixture recorded at each moment.
facts=$work/growth.live

"$COREHEAP" diff --format csv "$old" "$new" > "$work/diff.csv" 2> "$work/diff.err"
status=$?
if [ $status -eq 0 ]; then
	ok "diff exits 0"
else
	fail "diff exited $status"; cat "$work/diff.err"
fi

# The two cores are read at once: the progress line shows the stages of
# the new one alone, each once (the old one's would start them over, or
# come between them), and is cleared at the end.
CH_PROGRESS=1 "$COREHEAP" diff "$old" "$new" > /dev/null 2> "$work/progress.err"
check_same "progress: the new core's stages, each once" \
	"walking the heap
typing allocations" \
	"$(progress_stages "$work/progress.err")"
check_same "progress: the last line is cleared" "$(printf '\r\033[K')" \
	"$(tr '\n' ' ' < "$work/progress.err" | sed 's/.*\(\r\)/\1/')"

# Every type the fixture recorded: count and bytes at both moments.
while read -r kind name count bytes; do
	type="$kind $name"
	row=$(awk -F, -v t="$type" '$1 == t' "$work/diff.csv")
	old_count=$(awk -v t="$type" '$1" "$2 == t { print $3 }' "$facts.1")
	old_bytes=$(awk -v t="$type" '$1" "$2 == t { print $4 }' "$facts.1")
	want="$type,0,$old_count,$count,$((count - old_count)),$old_bytes,$bytes,$((bytes - old_bytes))"
	check_same "row for '$type'" "$want" "$row"
done < "$facts.2"

# Compressed cores and standard input: OLD compressed with xz, NEW with
# zstd on standard input give the same rows.
if command -v xz > /dev/null 2>&1 && command -v zstd > /dev/null 2>&1; then
	xz -c "$old" > "$work/old.xz"
	zstd -q -c "$new" > "$work/new.zst"
	"$COREHEAP" diff --format csv "$work/old.xz" - < "$work/new.zst" \
		> "$work/compressed.csv" 2> "$work/compressed.err"
	check_same "diff OLD.xz - (zstd): exit status" 0 "$?"
	check_same "diff OLD.xz - (zstd): the rows of the files" \
		"$(cat "$work/diff.csv")" "$(cat "$work/compressed.csv")"
	# With --verbose one core after the other: what is said of each
	# stays together, the old one's first.
	"$COREHEAP" diff --verbose --format csv "$work/old.xz" - < "$work/new.zst" \
		> /dev/null 2> "$work/verbose.err"
	check_same "diff --verbose: the old core read first, then the new" \
		"core '$work/old.xz'
core '<stdin>'" \
		"$(sed -n "s/^coreheap: \(core '[^']*'\):.*/\1/p" "$work/verbose.err")"
fi

# With the retained sizes of two small heaps, each core's graph and tree
# are made at once too: the progress line still shows the new core's
# stages alone, each once.
CH_PROGRESS=1 "$COREHEAP" diff --retained "$old" "$new" > /dev/null 2> "$work/progress.err"
check_same "progress with --retained: the new core's stages, each once" \
	"walking the heap
typing allocations
scanning for references
dominator tree" \
	"$(progress_stages "$work/progress.err")"

# Retained growth: each session and cache entry hangs from a global and
# holds nothing else, so what each type retains is its own bytes.
"$COREHEAP" diff --retained --format csv "$old" "$new" > "$work/retained.csv" 2>/dev/null
while read -r kind name count bytes; do
	type="$kind $name"
	old_bytes=$(awk -v t="$type" '$1" "$2 == t { print $4 }' "$facts.1")
	row=$(awk -F, -v t="$type" '$1 == t { print $9 "," $10 "," $11 }' "$work/retained.csv")
	check_same "retained of '$type'" "$old_bytes,$bytes,$((bytes - old_bytes))" "$row"
done < "$facts.2"

# The realloc'd array is growth of one type, not a type gone and a new one.
check_same "the realloc'd samples are one row" 1 \
	"$(grep -c '^struct sample' "$work/diff.csv")"

# The grown type comes first: largest growth in bytes.
check_same "the first row is struct session" "struct session" \
	"$(sed -n 2p "$work/diff.csv" | cut -d, -f1)"

# --show new lists exactly the 20 new sessions (and nothing of the cache).
"$COREHEAP" diff --show new --format json "$old" "$new" > "$work/show.json" 2>/dev/null
check_same "--show new lists the 20 new sessions" 20 \
	"$(sed -n '/"new_allocations"/,$p' "$work/show.json" | grep -c '"type": "struct session"')"
# The change columns in JSON: the same as the fixture's own counts.
while read -r kind name count bytes; do
	type="$kind $name"
	old_count=$(awk -v t="$type" '$1" "$2 == t { print $3 }' "$facts.1")
	old_bytes=$(awk -v t="$type" '$1" "$2 == t { print $4 }' "$facts.1")
	got=$(awk -v t="\"type\": \"$type\"," '
		index($0, t) { on = 1; next }
		on && /"count_change"/ { c = $2 }
		on && /"bytes_change"/ { b = $2; sub(/,/, "", c); sub(/,/, "", b); print c "," b; exit }
	' "$work/show.json")
	check_same "json change of '$type'" "$((count - old_count)),$((bytes - old_bytes))" "$got"
done < "$facts.2"
# --type keeps the matching types only, in the table and in the list;
# --limit lists at most N and says how many there are in all.
"$COREHEAP" diff --show new --type '^struct cache_entry$' --format json "$old" "$new" > "$work/type.json" 2>/dev/null
check_same "--type: one type row" 1 "$(grep -c '^      "type": ' "$work/type.json")"
check_same "--type: no session listed" 0 "$(grep -c '"type": "struct session"' "$work/type.json")"
"$COREHEAP" diff --show new --type '^struct session$' --limit 5 --format json "$old" "$new" > "$work/limit.json" 2>/dev/null
check_same "--limit 5 lists 5 sessions" 5 \
	"$(sed -n '/"new_allocations"/,$p' "$work/limit.json" | grep -c '"type": "struct session"')"
check_grep "--limit: the total is 20" '"new_allocations_total": 20' "$work/limit.json"
"$COREHEAP" diff --show new --type '^struct session$' --limit 5 "$old" "$new" > "$work/limit.txt" 2>/dev/null
check_same "--limit in text: 5 listed" 5 "$(sed -n '/^new in NEW:/,$p' "$work/limit.txt" | grep -c ' struct session$')"
check_grep "--limit in text: 15 more" '^\.\.\. 15 more$' "$work/limit.txt"
"$COREHEAP" diff --show gone --format json "$old" "$new" > "$work/gone.json" 2>/dev/null
check_same "--show gone lists the 2 cache entries" 2 \
	"$(sed -n '/"gone_allocations"/,$p' "$work/gone.json" | grep -c '"type": "struct cache_entry"')"
# --show gone takes --type and --limit too; in CSV the listed allocations
# are the table, as objects writes them.
"$COREHEAP" diff --show gone --type '^struct cache_entry$' --format csv "$old" "$new" > "$work/gone.csv" 2>/dev/null
check_same "--show gone --type in CSV: the header" "address,size,allocator,type" "$(sed -n 1p "$work/gone.csv")"
check_same "--show gone --type in CSV: the 2 cache entries" 2 \
	"$(grep -c '^0x[0-9a-f]*,[0-9]*,glibc,struct cache_entry$' "$work/gone.csv")"
check_same "--show gone --type in CSV: nothing else" 3 "$(wc -l < "$work/gone.csv")"
"$COREHEAP" diff --show gone --type '^struct cache_entry$' --limit 1 "$old" "$new" > "$work/gone-limit.txt" 2>/dev/null
check_same "--show gone --type --limit 1: one listed" 1 \
	"$(sed -n '/^gone from OLD:/,$p' "$work/gone-limit.txt" | grep -c ' struct cache_entry$')"
check_grep "--show gone --type --limit 1: 1 more" '^\.\.\. 1 more$' "$work/gone-limit.txt"

# Two cores of a process that never allocated (signal_death parks before
# any malloc): no allocator, no rows, a warning and exit 1; the sanitizer
# build once reported qsort given no array here.
start_fixture "$FIXTURES/signal_death" "$work/bare" park
take_gcore "$fixture_pid" "$work/bare" || finish
kill "$fixture_pid"
"$COREHEAP" diff --retained "$core" "$core" > "$work/bare.txt" 2> "$work/bare.err"
check_same "no heap in either core: exit 1" 1 "$?"
check_grep "no heap in either core: the warning" "no known allocator found in the core" "$work/bare.err"
check_same "no heap in either core: no sanitizer report" 0 \
	"$(grep -c -E 'runtime error|ERROR: AddressSanitizer' "$work/bare.err")"
check_grep "no heap in either core: nothing kept, new or gone" \
	'^allocations: 0 kept, 0 new, 0 gone$' "$work/bare.txt"

# Two different programs: a warning, and an error with --strict.
make_core "$FIXTURES/glibc_mixed" "$work/other" || finish
other=$core
"$COREHEAP" diff "$old" "$other" > /dev/null 2> "$work/mismatch.err"
check_grep "a build-id warning" "may not come from the same program" "$work/mismatch.err"
"$COREHEAP" diff --strict "$old" "$other" > /dev/null 2> "$work/strict.err"
check_same "--strict: an error" 2 "$?"
check_grep "--strict: different builds" "different builds" "$work/strict.err"
# Each core's program is named with its own build-id (readelf's, not ours).
if command -v readelf > /dev/null 2>&1; then
	id_old=$(readelf -n "$FIXTURES/diff_growth" | awk '/Build ID/ { print $3 }')
	id_other=$(readelf -n "$FIXTURES/glibc_mixed" | awk '/Build ID/ { print $3 }')
	check_grep "--strict names the old core's program" \
		"'diff_growth' has build-id $id_old in '$old'" "$work/strict.err"
	check_grep "--strict names the new core's program" \
		"'glibc_mixed' has build-id $id_other in '$other'" "$work/strict.err"
	check_grep "the warning names each core's program" \
		"'diff_growth' has build-id $id_old in the old core and 'glibc_mixed' has build-id $id_other in the new one" \
		"$work/mismatch.err"
else
	echo "skip: no readelf, the build-ids in the message are not checked"
fi

finish
