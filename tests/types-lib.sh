# SPDX-License-Identifier: MIT
# Sourced by tests/types-*.sh: make a core of a types fixture, run
# `coreheap types --format json` on it, and hold the result to the counts
# and bytes per type that the fixture printed before "ready":
#   expect<TAB>COUNT<TAB>BYTES<TAB>BUILD<TAB>TYPE
# BUILD is "any" (must hold in every build of the fixture), or the name of
# the one build where it holds ("g", "nodebug"): in the other builds no
# allocation may have that type at all.
. "$SRCDIR/tests/lib.sh"
test_init "$(basename "$0" .sh)" FIXTURES SRCDIR

# make_types_core FIXTURE_BINARY NAME: sets core and out.
make_types_core() {
	make_core "$1" "$CORE_DIR/$2" || finish
	out=$CORE_DIR/$2.out
}

# types_rows CORE ROWS: the types report as "COUNT<TAB>BYTES<TAB>TYPE"
# lines (TYPE "(null)" for unknown allocations). JSON is pretty-printed by
# coreheap, one key a line; type names hold no quotes.
types_rows() {
	"$COREHEAP" types --format json "$1" > "$2.json" 2> "$2.err"
	status=$?
	if [ $status -ne 0 ]; then
		fail "coreheap types exited $status on $1"
		cat "$2.err"
	fi
	awk '
		/^      "type": / {
			t = $0
			sub(/^ *"type": /, "", t)
			sub(/,$/, "", t)
			if (t == "null") {
				t = "(null)"
			} else {
				sub(/^"/, "", t)
				sub(/"$/, "", t)
			}
		}
		/^      "count": / { c = $2; sub(/,/, "", c) }
		/^      "bytes": / && t != "" {
			b = $2
			sub(/,/, "", b)
			print c "\t" b "\t" t
			t = ""
		}
	' "$2.json" > "$2"
	[ -s "$2" ] || fail "no types in the report of $1 (see $2.json)"
}

# check_expectations OUT ROWS BUILD
check_expectations() {
	tab=$(printf '\t')
	while IFS="$tab" read -r tag count bytes build type; do
		[ "$tag" = expect ] || continue
		got=$(awk -F '\t' -v t="$type" '$3 == t { print $1 "\t" $2 }' "$2")
		if [ "$build" = any ] || [ "$build" = "$3" ]; then
			if [ "$got" = "$count$tab$bytes" ]; then
				ok "$count '$type' ($bytes bytes)"
			else
				fail "'$type': want count and bytes '$count $bytes', got '$(echo $got)'"
			fi
		elif [ -n "$got" ]; then
			fail "'$type' must not be named in the $3 build, got '$(echo $got)'"
		else
			ok "no '$type' in the $3 build"
		fi
	done < "$1"
}

# check_objects OUT CORE BUILD: each "object<TAB>0xADDR<TAB>BUILD<TAB>TYPE"
# line of the fixture's for this build (or "any") must be the type
# `coreheap objects` gives the allocation at that address (an array's
# count where the fixture knows the program wrote it down).
check_objects() {
	"$COREHEAP" objects --format jsonl "$2" > "$2.objects" 2> "$2.objects.err" ||
		fail "coreheap objects exited $? on $2"
	tab=$(printf '\t')
	while IFS="$tab" read -r tag addr build type; do
		[ "$tag" = object ] || continue
		[ "$build" = any ] || [ "$build" = "$3" ] || continue
		want="{\"address\": \"$addr\", "
		got=$(grep -F "$want" "$2.objects" | sed 's/.*"type": //; s/}$//')
		if [ "$got" = "\"$type\"" ]; then
			ok "object $addr is '$type'"
		else
			fail "object $addr: want type '$type', got '$got'"
		fi
	done < "$1"
}

# fixture_address OUT NAME: an address the fixture printed.
fixture_address() {
	awk -F '\t' -v n="$2" '$1 == "address" && $2 == n { print $3 }' "$1"
}

# expect_describe NAME PATTERN...: each grep -E pattern must match a line of
# `coreheap describe` at the fixture's address NAME.
expect_describe() {
	name=$1
	shift
	addr=$(fixture_address "$out" "$name")
	[ -n "$addr" ] || { fail "the fixture printed no address '$name'"; return; }
	"$COREHEAP" describe "$addr" "$core" > "$core.describe" 2>&1
	status=$?
	[ $status -eq 0 ] || fail "describe $name ($addr) exited $status"
	for pattern in "$@"; do
		if grep -Eq -- "$pattern" "$core.describe"; then
			ok "describe $name: $pattern"
		else
			fail "describe $name ($addr) lacks /$pattern/:"
			cat "$core.describe"
		fi
	done
}

# no_dwarf_names LABEL ARGS...: one check that `coreheap types --format json
# ARGS...` reports types but names no "struct node" of fixtures/types_c (a
# name only its DWARF gives): the debug info was not found.
no_dwarf_names() {
	label=$1
	shift
	"$COREHEAP" types --format json "$@" > "$work/no-dwarf.json" 2> /dev/null
	if grep -q '"type": "struct node"' "$work/no-dwarf.json"; then
		fail "$label: struct node named"
	elif ! grep -q '"count":' "$work/no-dwarf.json"; then
		fail "$label: no types report"
	else
		ok "$label: no DWARF names"
	fi
}
