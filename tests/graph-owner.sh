#!/bin/sh
# SPDX-License-Identifier: MIT
#
# why and top point at the owner a person knows (issue 10), on a core of
# fixtures/graph_owner, whose design the fixture wrote down before the
# core was taken: a named local before an unnamed stack word, C++ names
# demangled, and each step of a path naming the member that holds the
# pointer; and, on a stripped copy, every root named module+0xoffset, the
# offsets those of the fixture's symbols and the same in why, refs, top and
# triage.
. "$SRCDIR/tests/lib.sh"
test_init graph-owner FIXTURES SRCDIR

make_core "$FIXTURES/graph_owner" "$work/heap" || finish
design=$work/heap.live

t=$(field owner 2) tid=$(field owner 3) slot=$(field owner 4)
u=$(field keep 2)
r=$(field registry 2) s=$(field registry 3) m=$(field registry 4)

# The root names of a why --format json answer, one a line, frame numbers
# (which depend on libc's frames below) left out; frame_root_names: with
# them.
root_names() {
	frame_root_names | sed 's/frame [0-9]* /frame N /'
}
frame_root_names() {
	grep '"name"' "$work/out" | sed 's/^ *"name": "//; s/",*$//'
}

# T: the unnamed word is nearer the stack pointer and holds T as directly,
# but the named local comes first, in its demangled function.
run_ok "why T" why --format json --paths 5 "$t" "$core"
check_same "why T: first from grow's local owner" \
	"tid $tid frame N grow(int, int) (local owner)" "$(root_names | head -n 1)"
check_grep "why T: that word is named by its frame and offset" \
	"\"name\": \"tid $tid frame [0-9]* park_with_scratch(unsigned long) (sp+0x[0-9a-f]*)\"" "$work/out"
run_ok "why T text" why --paths 5 "$t" "$core"
check_grep "why T text: the first path from the named local" \
	"^path 1: 1 allocation from stack tid $tid frame [0-9]* grow(int, int) (local owner) (0x" "$work/out"
check_grep "why T text: a later one from the scratch word the fixture recorded" \
	"^path [2-9]: 1 allocation from stack tid $tid frame [0-9]* park_with_scratch(unsigned long) (sp+0x[0-9a-f]*) ($slot)" "$work/out"

# top holds T by the same named local.
run_ok "top" top --format jsonl --top 0 "$core"
check_same "top: T held by grow's local owner" \
	"stack tid $tid frame N grow(int, int) (local owner)" \
	"$(grep "\"address\": \"$t\"" "$work/out" |
	   sed 's/.*"held_by": {"kind": "\([^"]*\)", "name": "\([^"]*\)".*/\1 \2/; s/frame [0-9]* /frame N /')"

# U: a C++ static local, demangled.
run_ok "why U" why --format json "$u" "$core"
check_same "why U: grow's static local keep" "graph_owner!grow(int, int)::keep" \
	"$(root_names)"
run_ok "refs U" refs --format json "$u" "$core"
check_same "refs U: the same name" "graph_owner!grow(int, int)::keep" \
	"$(root_names)"

# M: through the members that hold the pointers.
run_ok "why M" why --format json "$m" "$core"
check_same "why M: registry -> sessions -> msgs_" "\"name\": \"graph_owner!registry\"
\"address\": \"$r\"
\"offset\": 8
\"member\": \"sessions\"
\"address\": \"$s\"
\"offset\": 16
\"member\": \"msgs_\"
\"address\": \"$m\"
\"offset\": 0
\"member\": null" \
	"$(json_members 'name|address|offset|member')"
run_ok "why M text" why "$m" "$core"
check_same "why M text: the members after the types" "Registry::sessions
Session::msgs_" "$(awk '/^  0x/ { print $4 }' "$work/out" | head -n 2)"

# Blocks whose DWARF type holds no pointers have no edges: the stale
# addresses in the text buffer and in struct Stats keep nothing alive...
text_block=$(field pointer_free 2) v=$(field pointer_free 3)
stats_block=$(field pointer_free 4) w=$(field pointer_free 5)
run_ok "leaks" leaks --format jsonl "$core"
check_same "leaks: exactly V and W, unreferenced" "$(printf '%s unreferenced\n%s unreferenced' "$v" "$w" | sort)" \
	"$(sed 's/.*"address": "\([^"]*\)".*"leak": "\([a-z]*\)".*/\1 \2/' "$work/out" | sort)"
run_ok "top text buffer" top --format jsonl --top 0 "$core"
check_same "top: the text buffer and Stats retain themselves only" \
	"$(($(size_of "$text_block"))) $(($(size_of "$stats_block")))" \
	"$(retained "$text_block") $(retained "$stats_block")"
# ...but with --conservative, as before.
run_ok "leaks --conservative" leaks --format jsonl --conservative "$core"
check_same "leaks --conservative: nothing" "" "$(cat "$work/out")"
run_ok "why --conservative V" why --format json --conservative "$v" "$core"
check_same "why --conservative V: through the text buffer at +16" "\"name\": \"graph_owner!text\"
\"address\": \"$text_block\"
\"offset\": 16
\"member\": \"[16]\"
\"address\": \"$v\"
\"offset\": 0
\"member\": null" \
	"$(json_members 'name|address|offset|member')"

# Frames by the names people read: libc's .symtab (its debug file) spells
# __libc_start_main "__libc_start_main@@GLIBC_2.34", the .dynsym without
# the version.
run_ok "triage" triage --no-leaks "$core"
check_same "triage: no frame named with a symbol version" "" \
	"$(grep '^  #[0-9].*@' "$work/out")"
check_grep "triage: frames named, main among them" \
	"^  #[0-9]*  0x[0-9a-f]* graph_owner!main+0x[0-9a-f]*\$" "$work/out"

# --- Stripped: code and data as module+0xoffset, alike in every command --
# A copy of the fixture without symbols: each root is named by its
# module's file and its offset from the module's start, which for a PIE is
# the symbol's value that nm reads from the unstripped fixture.
if command -v strip > /dev/null 2>&1 && command -v nm > /dev/null 2>&1; then
	stripped=$work/graph_owner_stripped
	strip -o "$stripped" "$FIXTURES/graph_owner" || fail "cannot strip a copy of graph_owner"
	make_core "$stripped" "$work/stripped" || finish
	design=$work/stripped.live
	t=$(field owner 2) tid=$(field owner 3) u=$(field keep 2)
	module=graph_owner_stripped

	# symbol_at OFFSET: the unstripped fixture's symbol whose
	# [value, value + size) holds OFFSET (hex).
	symbol_at() {
		nm -S --defined-only "$FIXTURES/graph_owner" |
		while read -r value size kind name; do
			[ -n "$name" ] || continue
			if [ $((0x$value)) -le $(($1)) ] &&
			   [ $(($1)) -lt $((0x$value + 0x$size)) ]; then
				echo "$name"
				break
			fi
		done
	}

	keep=$(nm "$FIXTURES/graph_owner" | awk '$3 == "_ZZL4growiiE4keep" { print $1 }')
	keep_name=$(printf '%s+0x%x' "$module" $((0x$keep)))
	run_ok "stripped: why U" why --format json "$u" "$core"
	check_same "stripped: why U: the static local by its offset" "$keep_name" "$(root_names)"
	run_ok "stripped: refs U" refs --format json "$u" "$core"
	check_same "stripped: refs U: the same name" "$keep_name" "$(root_names)"

	# T: held by a word of park_with_scratch's frame and one of grow's,
	# each named by its frame's code offset.
	run_ok "stripped: why T" why --format json --paths 5 "$t" "$core"
	frame_root_names > "$work/stripped.roots"
	sed -n "s/^tid $tid frame \([0-9]*\) $module+\(0x[0-9a-f]*\) (sp+0x[0-9a-f]*)\$/\1 \2/p" \
		"$work/stripped.roots" > "$work/stripped.frames"
	check_same "stripped: why T: two stack words, each named frame, module+0xoffset" 2 \
		"$(wc -l < "$work/stripped.frames" | tr -d ' ')"
	check_same "stripped: why T: the offsets are in park_with_scratch and grow" \
		"_ZL17park_with_scratchm _ZL4growii" \
		"$(while read -r k offset; do symbol_at "$offset"; done < "$work/stripped.frames" | sort | tr '\n' ' ' | sed 's/ $//')"
	first=$(head -n 1 "$work/stripped.roots")
	run_ok "stripped: top" top --format jsonl --top 0 "$core"
	check_same "stripped: top: T held by the name why gives first" "$first" \
		"$(grep "\"address\": \"$t\"" "$work/out" | sed 's/.*"held_by": {"kind": "[^"]*", "name": "\([^"]*\)".*/\1/')"
	run_ok "stripped: refs T" refs --format json "$t" "$core"
	check_same "stripped: refs T: the names why gives" "$(sort "$work/stripped.roots")" \
		"$(frame_root_names | sort)"
	# triage: the same frames, named the same.
	run_ok "stripped: triage" triage --no-leaks "$core"
	while read -r k offset; do
		check_grep "stripped: triage names frame $k $module+$offset" \
			"^  #$k  0x[0-9a-f]* $module+$offset\$" "$work/out"
	done < "$work/stripped.frames"
	# describe: a return address of those frames is code of the
	# program's file, whether or not the core saved that page (gcore
	# saves none: it is in the process all the same).
	read -r k offset < "$work/stripped.frames"
	pc=$(sed -n "s/^  #$k  \(0x[0-9a-f]*\) .*/\1/p" "$work/out")
	run_ok "stripped: describe $pc" describe "$pc" "$core"
	check_grep "stripped: describe $pc: in the program's file" \
		"^mapping: 0x[0-9a-f]*-0x[0-9a-f]* $stripped\( (mapped from the file, not in the core)\)\?\$" "$work/out"
	check_grep "stripped: describe $pc: named module+0xoffset" \
		"^symbol: $module+0x[0-9a-f]*\$" "$work/out"
else
	echo "note: no strip or nm: the stripped copy is not checked"
fi

finish
