#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Roots are every writable word no allocator owns: on a core of
# fixtures/graph_pools, blocks held only from pools the program mapped next
# to malloc's memory (merged by the kernel into one mapping with an mmapped
# chunk, and with a thread arena's heap) are not leaked, and `why` reaches
# each through its pool; a block held only below a parked thread's stack
# pointer less the red zone is leaked, and one in the red zone is not.
. "$SRCDIR/tests/lib.sh"
test_init graph-pools FIXTURES SRCDIR

make_core "$FIXTURES/graph_pools" "$work/pools" || finish
design=$work/pools.live

# The hex address in $work/out's why --format json answer: the root's name
# and the allocations of its first path, one a line.
why_members() {
	json_members 'kind|name|address|offset'
}

dead=$(field dead 2) dead_tid=$(field dead 3)
red=$(field red 2) red_tid=$(field red 3)

# leaks: the dead stack slot's block, and nothing else.
run_ok "leaks jsonl" leaks --format jsonl "$core"
check_same "leaks: only the block below sp-128 of the parked thread" \
	"$dead unreferenced 0" \
	"$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' "$work/out")"

# why, for each block held from a pool: one step, from the pool's word.
# The pool below the mmapped chunk starts its merged mapping; the pool
# after the first heap lies inside the heap's mapping, which starts at the
# heap.
check_pool() {
	kind=$1 mapping=$2 pool_start=$3 pool_end=$4
	awk -v key="held_$kind" '$1 == key { print $2 }' "$design" > "$work/held"
	check_same "$kind pool: 8 blocks held" 8 "$(wc -l < "$work/held" | tr -d ' ')"
	while read -r block; do
		run_ok "why $block" why --format json "$block" "$core"
		name=$(grep -m 1 '"name"' "$work/out" | sed 's/.*"name": "\([^"]*\)".*/\1/')
		offset=$(printf '%s' "$name" | sed -n "s/^\[anon $mapping\]+0x\([0-9a-f]*\)$/\1/p")
		if [ -z "$offset" ]; then
			fail "why $block: not from the $kind pool's mapping: '$name'"
			continue
		fi
		word=$((mapping + 0x$offset))
		if [ $word -ge $((pool_start)) ] && [ $word -lt $((pool_end)) ]; then
			ok "why $block: from the $kind pool, $name"
		else
			fail "why $block: $name is outside the $kind pool"
		fi
		check_same "why $block: one step" "\"kind\": \"global\"
\"address\": \"$block\"" \
			"$(why_members | grep -v '"name"' | grep -v '"offset"' | head -n 2)"
	done < "$work/held"
}
check_pool mmap "$(field pool_mmap 2)" "$(field pool_mmap 2)" "$(field pool_mmap 3)"
check_pool heap "$(field pool_heap 4)" "$(field pool_heap 2)" "$(field pool_heap 3)"

# The red zone is live: 64 bytes below the parked thread's stack pointer.
run_ok "why red" why --format json "$red" "$core"
check_same "why red: the parked thread's stack, 64 bytes below sp" \
	"\"kind\": \"stack\" tid $red_tid frame 0 (sp-0x40)" \
	"$(grep -m 1 '"kind"' "$work/out" | sed 's/^ *//; s/,$//') $(grep -m 1 '"name"' "$work/out" | sed 's/.*"name": "\(tid [0-9]* frame 0\) .*\((sp-0x40)\)".*/\1 \2/')"
# Below it lies a dead call's slot: no path.
run_ok "why dead" why --format json "$dead" "$core"
check_same "why dead: no path" 0 "$(grep -c '"root"' "$work/out")"

# Nothing here is owned by glibc and unexplained.
run_ok "summary" summary "$core"
check_grep "summary: nothing unexplained" '^unexplained: none$' "$work/out"

# Memory glibc's main arena spans but no chunk explains: the 4104 bytes
# glibc_foreign_sbrk sbrk'd itself between two of malloc's sbrks, from the
# page where the old run closed up to the new run's first chunk (16-byte
# aligned: 4112 bytes). Counted, shown, and left a root.
make_core "$FIXTURES/glibc_foreign_sbrk" "$work/foreign" || finish
run_ok "summary foreign sbrk" summary "$core"
check_grep "summary: the foreign sbrk is unexplained" \
	'^unexplained: 1 range, 4.0 KiB the allocators own but no block explains' "$work/out"
check_grep "summary: counted in main_arena" '^  glibc main_arena .*, unexplained 4.0 KiB$' "$work/out"
run_ok "summary json foreign sbrk" summary --format json "$core"
check_same "summary json: one range of 4112 bytes" "\"unexplained_count\": 1
\"unexplained_bytes\": 4112" \
	"$(sed -n '/"totals"/,/}/p' "$work/out" | grep unexplained | sed 's/^ *//; s/,$//')"
run_ok "leaks foreign sbrk" leaks "$core"
check_same "leaks foreign sbrk: none (the recorder's table holds them all)" \
	"no leaks: every one of the 39 live allocations is reached from a root" \
	"$(head -n 1 "$work/out")"

finish
