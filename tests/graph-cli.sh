#!/bin/sh
# SPDX-License-Identifier: MIT
#
# why, leaks, refs and top on a core of fixtures/graph_heap, whose design
# (addresses, offsets, retained sizes, threads) the fixture wrote down
# before the core was taken: every answer is checked exactly. Types are left
# out of the comparisons: naming them is the types work's business.
. "$SRCDIR/tests/lib.sh"
test_init graph FIXTURES SRCDIR

make_core "$FIXTURES/graph_heap" "$work/heap" || finish
design=$work/heap.live

# The members of a why --format json answer that are not types, one a line.
why_members() {
	json_members 'target|kind|name|address|offset|member'
}

a=$(field chain 2) b=$(field chain 3) c=$(field chain 4)
e=$(field interior 2) e_offset=$(field interior 3)
f=$(field tls 2) main_tid=$(field tls 3)
kept=$(field stack 2) worker_tid=$(field stack 3)
shared=$(field shared 2) shared_size=$(field shared 3)

# why: the chain global -> A -> B -> C, each pointer's offset and the
# member of the struct there.
run_ok "why C" why --format json "$c" "$core"
check_same "why C: from chain_root through A (+8, b) and B (+16, c)" "\"target\": \"$c\"
\"kind\": \"global\"
\"name\": \"graph_heap!chain_root+0x8\"
\"address\": \"$a\"
\"offset\": 8
\"member\": \"b\"
\"address\": \"$b\"
\"offset\": 16
\"member\": \"c\"
\"address\": \"$c\"
\"offset\": 0
\"member\": null" "$(why_members)"

# An address inside C, in decimal: the last offset is the address's own.
run_ok "why C+8" why --format json "$((c + 8))" "$core"
check_same "why C+8 (decimal): the target's offset is 8" "\"address\": \"$c\"
\"offset\": 8
\"member\": null" "$(why_members | tail -n 3)"

# A local of a function whose thread is parked in it: thread, frame,
# function and variable named.
run_ok "why kept" why --format json "$kept" "$core"
check_same "why kept: the local of hold_in_local in the parked thread" "\"target\": \"$kept\"
\"kind\": \"stack\"
\"name\": \"tid $worker_tid frame 1 hold_in_local (local kept)\"
\"address\": \"$kept\"
\"offset\": 0
\"member\": null" "$(why_members)"

# A TLS variable of the main thread.
run_ok "why F" why --format json "$f" "$core"
check_same "why F: the main thread's tls_held" "\"target\": \"$f\"
\"kind\": \"tls\"
\"name\": \"tid $main_tid graph_heap!tls_held\"
\"address\": \"$f\"
\"offset\": 0
\"member\": null" "$(why_members)"

# Held only through a pointer 24 bytes into it: alive with interior
# pointers, leaked without.
run_ok "why E" why --format json "$e" "$core"
check_same "why E: interior_root points inside it" "\"target\": \"$e\"
\"kind\": \"global\"
\"name\": \"graph_heap!interior_root\"
\"address\": \"$e\"
\"offset\": 0
\"member\": null" "$(why_members)"
run_ok "why --no-interior E" why --format json --no-interior "$e" "$core"
check_same "why --no-interior E: no path" '"target": "'"$e"'"
  "paths": []' "$(grep -E '"(target|paths)"' "$work/out" | sed 's/,$//; s/^ *"target/"target/')"

# Two leaves point to the shared node: two paths, one through each.
left_leaf=$(field tree 6)
run_ok "why --paths 5 S" why --format json --paths 5 "$shared" "$core"
check_same "why --paths 5 S: two paths, 6 allocations each" "2 12" \
	"$(grep -c '"root"' "$work/out") $(grep -c '"address"' "$work/out")"
check_same "why --paths 5 S: the first through the left subtree's leaf" "$left_leaf" \
	"$(grep '"address"' "$work/out" | sed -n 5p | sed 's/.*"\(0x[0-9a-f]*\)".*/\1/')"

# leaks: exactly the 100 dropped blocks (unreferenced) and the cycle
# (indirect, one referrer each); nothing reachable by design.
run_ok "leaks jsonl" leaks --format jsonl "$core"
actual=$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' "$work/out" | sort)
expected=$( (awk '$1 == "leak" { print $2 " unreferenced 0" }' "$design"
	     awk '$1 == "cycle" { print $2 " indirect 1" }' "$design") | sort)
check_same "leaks: exactly the 100 dropped blocks and the 3-block cycle" "$expected" "$actual"
check_same "leaks: 103 lines" 103 "$(wc -l < "$work/out" | tr -d ' ')"
reachable_leaked=$(awk '$1 == "reachable" { print $2 }' "$design" | sort > "$work/reachable"
		   sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | sort |
		   comm -12 - "$work/reachable")
check_same "leaks: no block reachable by design" "" "$reachable_leaked"
check_same "leaks: every jsonl line has the objects fields" 103 \
	"$(grep -c '^{"address": "0x[0-9a-f]*", "size": [0-9]*, "allocator": "glibc", "type": [^,]*, "leak": ' "$work/out")"

# Without libc's debug info main_arena has no symbol to give its size, and
# is still left out of the roots (its top pointer lies inside the cycle's
# last block).
"$COREHEAP" leaks --format jsonl --debuginfo-path /nonexistent "$core" > "$work/out" 2> "$work/err"
check_same "leaks without libc's debug info: the same set" "$expected" \
	"$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)", "referrers": \([0-9]*\).*/\1 \2 \3/' "$work/out" | sort)"

run_ok "leaks text" leaks "$core"
check_same "leaks text: the totals" \
	"leaked: 103 allocations, 4.1 KiB (100 unreferenced: nothing points to them; 3 indirect: only leaked allocations do)" \
	"$(head -n 1 "$work/out")"
run_ok "leaks csv" leaks --format csv "$core"
check_same "leaks csv: a header and 103 rows" "address,size,allocator,type,leak,referrers 104" \
	"$(head -n 1 "$work/out") $(wc -l < "$work/out" | tr -d ' ')"
run_ok "leaks --no-interior" leaks --format jsonl --no-interior "$core"
sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | sort > "$work/leaked-no-interior"
check_same "leaks --no-interior: E is leaked too, unreferenced" 1 \
	"$(grep -c "\"address\": \"$e\".*\"leak\": \"unreferenced\"" "$work/out")"
check_same "leaks --no-interior: still every designed leak" "" \
	"$(awk '$1 == "leak" || $1 == "cycle" { print $2 }' "$design" | sort |
	   comm -23 - "$work/leaked-no-interior")"

# top: retained sizes the fixture computed with malloc_usable_size.
run_ok "top" top --format jsonl --top 0 "$core"
check_same "top: the tree's root retains the whole tree and the shared node" \
	"$(field tree 3)" "$(retained "$(field tree 2)")"
check_same "top: its left child retains its subtree, not the shared node" \
	"$(field tree 5)" "$(retained "$(field tree 4)")"
check_same "top: a leaf retains itself" "$(field tree 7)" "$(retained "$left_leaf")"
check_same "top: the shared node retains itself" "$shared_size" "$(retained "$shared")"
check_same "top: A retains the chain" "$(($(size_of "$a") + $(size_of "$b") + $(size_of "$c")))" \
	"$(retained "$a")"
check_same "top: the tree's root comes first, held by tree_root" \
	"$(field tree 2) graph_heap!tree_root" \
	"$(head -n 1 "$work/out" | sed 's/.*"address": "\([^"]*\)".*"name": "\([^"]*\)".*/\1 \2/')"
check_same "top: leaked blocks are not listed" "" \
	"$(sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | grep -xF "$(awk '$1 == "leak" || $1 == "cycle" { print $2 }' "$design")")"
run_ok "top json" top --format json "$core"
check_same "top json: reachable and leaked totals" "\"count\": 103" \
	"$(grep -A 1 '"leaked"' "$work/out" | grep '"count"' | sed 's/^ *//; s/,$//')"

# refs: who points into B, and what B points to.
run_ok "refs B" refs --format json "$b" "$core"
check_same "refs B: A at +8, nothing from roots, B+16 -> C" "\"address\": \"$b\"
\"address\": \"$a\"
\"offset\": 8
\"target_offset\": 0
\"roots\": []
\"offset\": 16
\"address\": \"$c\"
\"target_offset\": 0" \
	"$(grep -E '"(address|offset|target_offset|roots)"' "$work/out" | sed 's/^ *//; s/,$//')"
run_ok "refs A" refs --format json "$a" "$core"
check_same "refs A: the global chain_root+0x8" '"kind": "global"
"name": "graph_heap!chain_root+0x8"' \
	"$(sed -n '/"roots"/,/\]/p' "$work/out" | grep -E '"(kind|name)"' | sed 's/^ *//; s/,$//')"

# Progress: on a terminal (CH_PROGRESS=1 stands in for one here) each long
# stage shows its percentage on one rewritten line, cleared at its end;
# when stderr is not a terminal, nothing.
CH_PROGRESS=1 "$COREHEAP" top "$core" > /dev/null 2> "$work/err"
check_same "progress: the stages of top, each cleared at its end" \
	"walking the heap
typing allocations
scanning for references
dominator tree" \
	"$(progress_stages "$work/err")"
check_same "progress: the last line is cleared" "$(printf '\r\033[K')" \
	"$(tr '\n' ' ' < "$work/err" | sed 's/.*\(\r\)/\1/')"
"$COREHEAP" top "$core" > /dev/null 2> "$work/err"
check_same "progress: nothing when stderr is not a terminal" "" \
	"$(tr -d -c '\r' < "$work/err")"

# triage --all-threads: every thread's stack, the parked worker's with the
# function that holds the pointer, one thread the crashing one (gcore: the
# first).
run_ok "triage --all-threads" triage --all-threads --no-leaks --format json "$core"
check_same "triage --all-threads: both threads, by tid" \
	"$(printf '%s\n' "$main_tid" "$worker_tid" | sort -n)" \
	"$(sed -n 's/^ *"tid": \([0-9]*\),$/\1/p' "$work/out" | sort -n | uniq)"
check_same "triage --all-threads: one crashed thread" 1 \
	"$(grep -c '"crashed": true' "$work/out")"
check_grep "triage --all-threads: the worker parked in hold_in_local" \
	'"function": "hold_in_local"' "$work/out"

# Errors: one line, the documented status.
"$COREHEAP" why 0x10 "$core" > /dev/null 2> "$work/err"
check_same "why on an address in no allocation: status 2, one line" "2 1" \
	"$? $(wc -l < "$work/err" | tr -d ' ')"
"$COREHEAP" why 12z "$core" > /dev/null 2> "$work/err"
check_same "why on a malformed address: usage error" 64 "$?"
"$COREHEAP" why "$core" > /dev/null 2> "$work/err"
check_same "why without an address: usage error" 64 "$?"
"$COREHEAP" top --top x "$core" > /dev/null 2> "$work/err"
check_same "top --top x: usage error" 64 "$?"

finish
