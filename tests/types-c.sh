#!/bin/sh
# SPDX-License-Identifier: MIT
# C structs reachable only through typed globals, or only through typed
# locals of a parked thread's frame (fixtures/types_c.c): the exact count
# and bytes of every fixture type, what must stay untyped, and what
# `coreheap describe` says about a few addresses.
. "$SRCDIR/tests/types-lib.sh"

make_types_core "$FIXTURES/types_c" types-c
types_rows "$core" "$CORE_DIR/types-c.rows"
check_expectations "$out" "$CORE_DIR/types-c.rows" g

# Only a union member points to it (another member overlaps the pointer):
# conservatively untyped. Only a void * points to the next one.
expect_describe union_item '^type: unknown \(unknown\)$'
# --as views it as the struct item the fixture wrote there.
addr=$(fixture_address "$out" union_item)
"$COREHEAP" describe --as 'struct item' "$addr" "$core" > "$core.as" 2>&1 ||
	fail "describe --as 'struct item' exited $?"
check_grep "--as: the header" '^as struct item at ' "$core.as"
check_grep "--as: the weight the fixture wrote" \
	'^  \[+24\] double weight = 2.5$' "$core.as"
check_grep "--as: the id the fixture wrote" '^  \[+32\] long id = 77$' "$core.as"
expect_exit 2 "no struct, class or union named 'struct no_such_type'" -- \
	"$COREHEAP" describe --as 'struct no_such_type' "$addr" "$core"
# Its words that point somewhere are annotated: the node, main, main's
# frame (the main thread's stack), as the fixture wrote them.
node=$(awk -F '\t' '$1 == "opaque_words" { print $2 }' "$out")
tid=$(awk -F '\t' '$1 == "opaque_words" { print $3 }' "$out")
local=$(awk -F '\t' '$1 == "opaque_words" { print $4 }' "$out")
[ -n "$node" ] || fail "the fixture printed no opaque_words"
expect_describe opaque '^type: unknown \(unknown\)$' \
	'^  0x[0-9a-f]+: 00 00 00 00' \
	'^pointers:$' \
	"^  \\[\\+16\\] $node -> allocation $node \\(struct node\\)\$" \
	'^  \[\+24\] 0x[0-9a-f]+ -> types_c!main$' \
	"^  \\[\\+32\\] $local -> stack: tid $tid frame [0-9]+ main \\(local shared\\)\$"
# That stack address itself: its thread, frame and local.
"$COREHEAP" describe "$local" "$core" > "$core.stack" 2>&1 ||
	fail "describe $local (a stack address) exited $?"
check_grep "a stack address names its thread, frame and local" \
	"^stack: tid $tid frame [0-9]* main (local shared)$" "$core.stack"
# ...and decodes the local's value: the block the fixture stored in it
# (the one it calls conflict), followed.
conflict=$(fixture_address "$out" conflict)
check_grep "the local's header" "^local at $local:\$" "$core.stack"
check_grep "the local's value: the fixture's block" \
	"^\[+0\] void \* = $conflict -> allocation $conflict (struct tree)\$" "$core.stack"
check_grep "the local's pointee described" \
	"^$conflict is the start of the allocation at $conflict " "$core.stack"
"$COREHEAP" describe --format json "$(fixture_address "$out" opaque)" "$core" > "$core.opaque.json" 2>&1 ||
	fail "describe --format json (opaque) exited $?"
check_grep "json: the node's word" "^      \"value\": \"$node\",$" "$core.opaque.json"
check_grep "json: the stack word's frame and local" \
	"^        \"name\": \"tid $tid frame [0-9]* main (local shared)\"$" "$core.opaque.json"
# A code address: main's, as the fixture stored it in the block, 16 bytes
# on. Named module!symbol+offset, in the mapping of the fixture's file
# (gcore writes no segment for a program's code: the NT_FILE note's).
main=$(awk '/"value": / { value = $2 }
	/"symbol": "types_c!main"$/ { gsub(/[",]/, "", value); print value; exit }' "$core.opaque.json")
if [ -n "$main" ]; then
	"$COREHEAP" describe "$(printf '0x%x' $((main + 16)))" "$core" > "$core.code" 2>&1 ||
		fail "describe of main+0x10 exited $?"
	check_grep "a code address: module!symbol+offset" '^symbol: types_c!main+0x10$' "$core.code"
	check_grep "a code address: the mapping of its file" \
		"^mapping: 0x[0-9a-f]*-0x[0-9a-f]* .*/types_c\( (mapped from the file, not in the core)\)\?\$" "$core.code"
else
	fail "no word of the opaque block points to types_c!main"
fi
expect_describe text '^type: char\[\] \(text\) \(guess\)$'
# A struct point * and a larger struct tree * point to one block.
expect_describe conflict \
	'^type: struct tree \(dwarf; other evidence disagreed\)$'
expect_describe list_head '^0x[0-9a-f]+ is the start of the allocation at 0x[0-9a-f]+ \(24 usable bytes, glibc\)$' \
	'^type: struct node \(dwarf\)$' \
	'^  \[\+0\] int value = 9$' \
	'^  \[\+8\] struct node \*next = 0x[0-9a-f]+ -> allocation 0x[0-9a-f]+ \(struct node\)$'
expect_describe tree_root '^type: struct tree \(dwarf\)$' \
	'^  \[\+16\] long key = 8$' \
	'^  \[\+24\] char \*label = 0x[0-9a-f]+ "node-8" -> allocation 0x[0-9a-f]+ \(char\[\]\)$'
expect_describe points_1 '^0x[0-9a-f]+ is 24 bytes into the allocation' \
	'^type: struct point\[\] \(dwarf\)$' \
	'^element 1 \(of a count not known\), at 0x[0-9a-f]+:$' \
	'^\[\+24\] struct point = \{$'
expect_describe registry '^0x[0-9a-f]+ is in no live allocation$' \
	'^symbol: types_c!registry$' \
	'^    \[\+8\] struct item \*\[0\] = 0x[0-9a-f]+ -> allocation 0x[0-9a-f]+ \(struct item\)$'
# A global char * is decoded and followed: its text stops at its block's
# end (the fixture filled every usable byte, no NUL), not in the next
# chunk's header.
length=$(awk -F '\t' '$1 == "text_length" && $2 == "unterminated" { print $3 }' "$out")
[ -n "$length" ] || fail "the fixture printed no text_length"
expect_describe unterminated_global '^symbol: types_c!unterminated$' \
	"^\\[\\+0\\] char \\* = 0x[0-9a-f]+ \"u{$length}\" -> allocation 0x[0-9a-f]+ \\(char\\[\\]\\)\$" \
	'^points to:$' \
	"^0x[0-9a-f]+ is the start of the allocation at 0x[0-9a-f]+ \\($length usable bytes, glibc\\)\$"

"$COREHEAP" describe --format json "$(fixture_address "$out" unterminated_global)" "$core" \
	> "$core.global.json" 2>&1 || fail "describe --format json (global) exited $?"
check_grep "json: the global's pointee" '^  "pointee": {$' "$core.global.json"
check_grep "json: the pointee's size" "^      \"size\": $length,$" "$core.global.json"

# Unknown blocks are grouped by usable size: the union's item and the
# void *'s block are 40 bytes each.
if grep -q '^2	80	(null)$' "$CORE_DIR/types-c.rows"; then
	ok "2 unknown blocks of 40 bytes"
else
	fail "want one row of 2 unknown 40-byte blocks:"; cat "$CORE_DIR/types-c.rows"
fi
# objects --type: exactly the 10 nodes, each with its type.
"$COREHEAP" objects --type '^struct node$' --format jsonl "$core" > "$core.nodes"
if [ "$(grep -c '"type": "struct node"}$' "$core.nodes")" -eq 10 ] &&
   [ "$(wc -l < "$core.nodes")" -eq 10 ]; then
	ok "objects --type '^struct node\$': 10 allocations"
else
	fail "objects --type '^struct node\$':"; cat "$core.nodes"
fi
# types --match, --sort count, --top; CSV.
"$COREHEAP" types --format csv --match '^struct' --sort count --top 2 "$core" > "$core.csv"
if [ "$(sed -n 1p "$core.csv")" = type,size,count,bytes,share,average,sources ] &&
   sed -n 2p "$core.csv" | grep -q '^struct tree,,16,640,0\.25[0-9]*,40,dwarf$' &&
   sed -n 3p "$core.csv" | grep -q '^struct node,,10,240,0\.09[0-9]*,24,dwarf$' &&
   [ "$(wc -l < "$core.csv")" -eq 3 ]; then
	ok "types --match --sort count --top 2"
else
	fail "types --match '^struct' --sort count --top 2:"; cat "$core.csv"
fi
# Only locals of the parked thread's frame reach these lists: one in
# hold_locals()'s scope, one in a nested block.
"$COREHEAP" types --format csv --match '^struct (held|block)_node$' "$core" > "$core.locals.csv"
if grep -q '^struct held_node,,5,280,[0-9.]*,56,dwarf$' "$core.locals.csv" &&
   grep -q '^struct block_node,,3,216,[0-9.]*,72,dwarf$' "$core.locals.csv" &&
   [ "$(wc -l < "$core.locals.csv")" -eq 3 ]; then
	ok "types: 5 struct held_node and 3 struct block_node from locals"
else
	fail "types --match '^struct (held|block)_node\$':"; cat "$core.locals.csv"
fi
expect_describe held '^type: struct held_node \(dwarf\)$' \
	'^  \[\+8\] struct held_node \*next = 0x[0-9a-f]+ -> allocation 0x[0-9a-f]+ \(struct held_node\)$'
expect_describe in_block '^type: struct block_node \(dwarf\)$'
finish
