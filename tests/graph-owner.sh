#!/bin/sh
# SPDX-License-Identifier: MIT
#
# why and top point at the owner a person knows (issue 10), on a core of
# fixtures/graph_owner, whose design the fixture wrote down before the
# core was taken: a named local before an unnamed stack word, C++ names
# demangled, and each step of a path naming the member that holds the
# pointer.
. "$SRCDIR/tests/lib.sh"
test_init graph-owner FIXTURES SRCDIR

make_core "$FIXTURES/graph_owner" "$work/heap" || finish
design=$work/heap.live

t=$(field owner 2) tid=$(field owner 3) slot=$(field owner 4)
u=$(field keep 2)
r=$(field registry 2) s=$(field registry 3) m=$(field registry 4)

# The root names of a why --format json answer, one a line, frame numbers
# (which depend on libc's frames below) left out.
root_names() {
	grep '"name"' "$work/out" | sed 's/^ *"name": "//; s/",*$//; s/frame [0-9]* /frame N /'
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

finish
