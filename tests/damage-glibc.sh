#!/bin/sh
# The glibc plugin's damage checks, on heaps the fixtures damage in known
# ways (fixtures/damage_*.c write the chunks involved and their live set):
# for each kind, triage exits 3 and names the damage at the chunk's address,
# summary and objects report it too and exit 1, and objects still lists the
# recorded live set exactly, but for the chunks the damage hides.
. "$SRCDIR/tests/lib.sh"
test_init damage-glibc FIXTURES SRCDIR

fact() { awk -v k="$1" '$1 == k { print $2 }' "$work/$2.live"; }
plus16() { printf '0x%x' $(($1 + 16)); }

# core NAME FIXTURE [ARGS...]: a core of the fixture, and its three reports
core() {
	name=$1 fixture=$2
	shift 2
	make_core "$FIXTURES/$fixture" "$work/$name" "$@" || return 1
	"$COREHEAP" triage --format json "$core" > "$work/$name.json" \
		2> "$work/$name.triage.err"
	check_same "$name: triage exits 3 (damaged)" 3 "$?"
	"$COREHEAP" triage "$core" > "$work/$name.triage" 2> /dev/null
	"$COREHEAP" summary "$core" > "$work/$name.summary" \
		2> "$work/$name.summary.err"
	check_same "$name: summary exits 1 (partial)" 1 "$?"
	"$COREHEAP" objects --format jsonl "$core" > "$work/$name.jsonl" \
		2> "$work/$name.objects.err"
	check_same "$name: objects exits 1 (partial)" 1 "$?"
	check_grep "$name: triage JSON says heap_damaged" \
		'"heap_damaged": true' "$work/$name.json"
	check_grep "$name: objects warns of the damage" \
		'the heap is damaged' "$work/$name.objects.err"
	return 0
}

# damage NAME ADDRESS PATTERN: triage and summary both hold the damage at
# ADDRESS with a message matching PATTERN (an extended regex)
damage() {
	if [ -z "$2" ]; then
		fail "$1: the fixture wrote no address for '$3'"
	elif ! grep -Eq "^  $2: $3" "$work/$1.triage"; then
		fail "$1: triage has no damage at $2 matching '$3':"
		grep '^  0x' "$work/$1.triage"
	elif ! grep -Eq "^  $2: $3" "$work/$1.summary"; then
		fail "$1: summary has no damage at $2 matching '$3'"
	else
		ok "$1: damage at $2: $3"
	fi
}

# Sorted "address usable-size" lines of objects' JSON lines.
listed() {
	sed -n 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\),.*/\1 \2/p' "$1" |
		sort
}

# exact NAME [MEMORY...]: objects lists the recorded live set and nothing
# else, the allocations at MEMORY aside (the damage hides their size)
exact() {
	name=$1
	shift
	cp "$work/$name.live.set" "$work/$name.expected.unsorted"
	listed "$work/$name.jsonl" > "$work/$name.actual.unfiltered"
	for mem in "$@"; do
		grep -v "^$mem " "$work/$name.expected.unsorted" > "$work/$name.tmp"
		mv "$work/$name.tmp" "$work/$name.expected.unsorted"
		grep -v "^$mem " "$work/$name.actual.unfiltered" > "$work/$name.tmp"
		mv "$work/$name.tmp" "$work/$name.actual.unfiltered"
	done
	sort "$work/$name.expected.unsorted" > "$work/$name.expected"
	mv "$work/$name.actual.unfiltered" "$work/$name.actual"
	if [ ! -s "$work/$name.expected" ]; then
		fail "$name: no live set recorded"
	elif diff "$work/$name.expected" "$work/$name.actual" > "$work/$name.diff"; then
		ok "$name: objects lists the live set exactly ($(wc -l < "$work/$name.actual") allocations${*:+, without $*})"
	else
		fail "$name: objects differs from the live set (< missed, > extra):"
		cat "$work/$name.diff"
	fi
}

# A cleared PREV_INUSE bit under a live chunk: damage at the header that
# lost the bit, naming the live chunk, which stays live; triage calls it the
# likely overflow. In the main arena, and in a thread's.
for variant in main thread; do
	name=prev_inuse_$variant
	core "$name" damage_prev_inuse "$variant" || continue
	for i in 1 2 3; do
		live=$(fact "live_$i" "$name")
		damage "$name" "$(fact "cleared_$i" "$name")" \
			"PREV_INUSE cleared: it says the chunk before, $live .* no bin holds it \(taken as live\)"
		check_grep "$name: triage names $live's block as the likely overflow" \
			"likely overflow from the allocation at $(plus16 "$live")" \
			"$work/$name.triage"
	done
	damage "$name" "$(fact cleared_2 "$name")" ".*prev_size 0x1000 leads to no free chunk"
	exact "$name"
done

# Large bins' rings of sizes: a self-loop where the bin holds other sizes,
# and a link back to a larger size.
if core largebin damage_largebin; then
	damage largebin "$(fact self_loop largebin)" \
		"large bin [0-9]+ chunk's fd_nextsize points to the chunk itself"
	damage largebin "$(fact self_loop largebin)" \
		"large bin [0-9]+ chunk's bk_nextsize points to the chunk itself"
	damage largebin "$(fact cycle largebin)" \
		"large bin [0-9]+ chunk's fd_nextsize 0x[0-9a-f]+ goes back over the sizes.*a loop"
	exact largebin
fi

# A free chunk whose successor is itself, on each kind of list.
if core self_fd damage_self_fd; then
	damage self_fd "$(fact tcache self_fd)" "tcache bin [0-9]+ loops back .*its link points to itself"
	damage self_fd "$(fact fastbin self_fd)" ".*fastbin bin [0-9]+.*its link points to itself"
	damage self_fd "$(fact smallbin self_fd)" "bin [0-9]+ chunk's fd points to the chunk itself"
	damage self_fd "$(fact unsorted self_fd)" "bin 1 chunk's fd points to the chunk itself"
	damage self_fd "$(fact largebin self_fd)" "bin [0-9]+ chunk's fd points to the chunk itself"
	exact self_fd
fi

# The links a red team forges, one per core.
if core bk damage_links bk; then
	damage bk "$(fact damaged bk)" "bin [0-9]+ chunk's bk $(fact victim bk) should be"
	exact bk
fi
if core fd_outside damage_links fd_outside; then
	damage fd_outside "$(fact damaged fd_outside)" "bin [0-9]+ link 0x[0-9a-f]+ is outside the arena's heaps"
	# The chunk past the broken fd is on the bin still: its walk from the
	# head's bk reaches it.
	behind=$(fact behind fd_outside)
	if [ -z "$behind" ]; then
		fail "fd_outside: the fixture wrote no chunk behind the link"
	elif grep -q "^  $behind: " "$work/fd_outside.triage"; then
		fail "fd_outside: the chunk behind the broken link is reported:"
		grep "^  $behind: " "$work/fd_outside.triage"
	else
		ok "fd_outside: the chunk behind the broken link is on its bin"
	fi
	exact fd_outside
fi
# A free chunk no walk of its bin reaches: still free, not taken for a live
# chunk whose PREV_INUSE was cleared.
if core stranded damage_links stranded; then
	damage stranded "$(fact damaged stranded)" \
		"free chunk \(the next chunk's PREV_INUSE is clear\) is on no bin that leads to it"
	exact stranded
fi
if core first_chunk damage_links first_chunk; then
	damage first_chunk "$(fact damaged first_chunk)" \
		"first chunk of the heap has PREV_INUSE clear"
	exact first_chunk
fi
if core tcache_outside damage_links tcache_outside; then
	damaged=$(fact damaged tcache_outside)
	damage tcache_outside "$damaged" "tcache bin 5 link at $damaged leads outside the heaps"
	damage tcache_outside "0x[0-9a-f]+" "tcache bin 5 counts 3 chunks but lists 1"
	for lost in $(fact lost tcache_outside); do
		damage tcache_outside "$lost" "chunk freed into a tcache .* is lost from its list"
	done
	exact tcache_outside
fi
# tcache poisoning: the live chunk a link was pointed at stays live.
if core poisoned damage_links poisoned; then
	damaged=$(fact damaged poisoned)
	damage poisoned "$damaged" \
		"tcache bin 5 link at $damaged leads past the bin's count of 3 to $(fact victim poisoned), which carries no tcache key"
	exact poisoned
fi
if core tcache_count damage_links tcache_count; then
	damage tcache_count "$(fact damaged tcache_count)" "tcache bin 5 counts 5 chunks but lists 2"
	exact tcache_count
fi
if core tcache_overcount damage_links tcache_overcount; then
	damaged=$(fact damaged tcache_overcount)
	damage tcache_overcount "$damaged" "tcache bin 5 counts 300 chunks, more than the 7 a bin may hold"
	damage tcache_overcount "$damaged" "tcache bin 5 counts 300 chunks but lists 2"
	exact tcache_overcount
fi
if core past_top damage_links past_top; then
	damaged=$(fact damaged past_top)
	damage past_top "$damaged" "chunk size field 0x100001 is impossible; walk resumed"
	exact past_top "$(plus16 "$damaged")"
	if grep -q "\"address\": \"$(plus16 "$damaged")\"" "$work/past_top.jsonl"; then
		fail "past_top: objects lists the block whose size is unknown"
	else
		ok "past_top: objects leaves out the block whose size is unknown"
	fi
fi
# A block whose every place leads the search for where to resume into one
# dead end: the search gives up on none of them and resumes at the guard
# after the block, so the live set after it stays exact (a search that
# walked each place's chain anew ran out of steps within the block).
if core resume_trap damage_links resume_trap; then
	damaged=$(fact damaged resume_trap)
	damage resume_trap "$damaged" \
		"chunk size field 0x41414149 is impossible; walk resumed at $(fact resume resume_trap) \(found by a scan\)"
	exact resume_trap "$(plus16 "$damaged")"
fi
for kind in top_force top_past_end; do
	if core "$kind" damage_links "$kind"; then
		damage "$kind" "$(fact damaged "$kind")" \
			"top chunk's size field 0x[0-9a-f]+ reaches past its memory"
		exact "$kind"
	fi
done
# The header of an mmapped block grown past its mapping: the block stays
# live, its size cut at the mapping's end (which may hold more than it).
if core mmapped_size damage_links mmapped_size; then
	damaged=$(fact damaged mmapped_size)
	damage mmapped_size "$damaged" \
		"mmapped chunk's size field 0x[0-9a-f]+ reaches past its mapping.*taken as live"
	exact mmapped_size "$(plus16 "$damaged")"
	check_grep "mmapped_size: objects lists the damaged block" \
		"\"address\": \"$(plus16 "$damaged")\"" "$work/mmapped_size.jsonl"
fi
if core forged damage_links forged; then
	damaged=$(fact damaged forged)
	damage forged "$damaged" \
		"tcache bin 5 holds $damaged, which is no chunk of the heap but lies inside the chunk at $(fact victim forged)"
	exact forged
fi

# The comparison can fail: a live set with one allocation dropped.
if [ -s "$work/largebin.live.set" ]; then
	sed 1d "$work/largebin.live.set" > "$work/selfcheck.live.set"
	cp "$work/largebin.jsonl" "$work/selfcheck.jsonl"
	before_checks=$checks before_failures=$failures
	exact selfcheck > /dev/null
	caught=$((failures - before_failures))
	checks=$before_checks failures=$before_failures
	if [ "$caught" -eq 1 ]; then
		ok "selfcheck: a dropped allocation is caught"
	else
		fail "selfcheck: a dropped allocation went unnoticed"
	fi
fi

finish
