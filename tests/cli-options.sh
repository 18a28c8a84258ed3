#!/bin/sh
# SPDX-License-Identifier: MIT
# The command line in GNU order (issue 13): options before, between and
# after the operands, "--" ends them, "-" is an operand; a mistake is one
# line naming the option or operand that is wrong (exit 64); and every
# option a command's --help shows is one its parser takes, so that the
# help, generated from the option tables, and the parsing cannot drift.
. "$SRCDIR/tests/lib.sh"
test_init cli-options FIXTURES

# Precise errors, no core needed.
expect_exit 64 "^coreheap: types: unknown option '--tpo' (see 'coreheap types --help')$" -- \
	"$COREHEAP" types core --tpo 3
expect_exit 64 "^coreheap: types: option '--top' needs a value" -- \
	"$COREHEAP" types core --top
expect_exit 64 "^coreheap: summary: option '--verbose' takes no value" -- \
	"$COREHEAP" summary --verbose=yes core
expect_exit 64 "^coreheap: diff: option '--s' is ambiguous: --sysroot, --strict, --show" -- \
	"$COREHEAP" diff --s a b
expect_exit 64 "^coreheap: types: unknown option '-q'" -- \
	"$COREHEAP" types -q core
expect_exit 64 "^coreheap: types: missing CORE (usage: coreheap types \[OPTIONS\] CORE)$" -- \
	"$COREHEAP" types --top 3
expect_exit 64 "^coreheap: types: unexpected operand '3' after CORE" -- \
	"$COREHEAP" types core 3
expect_exit 64 "^coreheap: why: missing CORE (usage: coreheap why \[OPTIONS\] ADDR CORE)$" -- \
	"$COREHEAP" why 0x1000 --paths 2
expect_exit 64 "^coreheap: diff: missing NEW" -- "$COREHEAP" diff old
expect_exit 64 "^coreheap: diff: unknown option '--coredump'" -- \
	"$COREHEAP" diff --coredump 1 old new
expect_exit 64 "^coreheap: diff: standard input ('-') can be read once, not 2 times$" -- \
	"$COREHEAP" diff - -
expect_exit 64 "^coreheap: summary: 'core' and --coredump both name the core" -- \
	"$COREHEAP" summary core --coredump 1
# A value is checked wherever the option stands.
expect_exit 64 "^coreheap: types: --top takes a whole number, not 'x' (see 'coreheap types --help')$" -- \
	"$COREHEAP" types core --top x
# After "--", "--top" is an operand: the second one types does not take.
expect_exit 64 "^coreheap: types: unexpected operand '--top' after CORE" -- \
	"$COREHEAP" types -- core --top

# Every option each command's --help lists is one its parser takes (given
# with --help, which parses every option, then prints the usage). A value
# is made up from the value's name.
value_for() {
	case $1 in
	N) echo 1 ;;
	*'|'*) echo "${1%%|*}" ;;
	FORMAT) echo text ;;
	REGEX) echo . ;;
	*) echo /nonexistent ;;
	esac
}
for command in $("$COREHEAP" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
	"$COREHEAP" "$command" --help > "$work/help" 2>&1
	options=0
	sed -n 's/^  \(--[a-z-]*\)\( [^ ]*\)\{0,1\}.*/\1\2/p' "$work/help" > "$work/options"
	while read -r option value_name; do
		options=$((options + 1))
		if [ -n "$value_name" ]; then
			set -- "$option" "$(value_for "$value_name")"
		else
			set -- "$option"
		fi
		if ! "$COREHEAP" "$command" "$@" --help > /dev/null 2> "$work/err"; then
			fail "$command: $* is in the help but refused:"
			cat "$work/err"
		fi
	done < "$work/options"
	# The shared options alone are 10 (9 without --coredump).
	if [ "$options" -ge 9 ]; then
		ok "$command: the $options options of its help parse"
	else
		fail "$command: only $options options read from its help:"
		cat "$work/help"
	fi
done
# And what the parser takes the help shows: an option the tables lack is
# refused, one they have appears.
if "$COREHEAP" types --help | grep -q '^  --top N  *only the first N rows$' &&
   ! "$COREHEAP" types --paths 1 --help > /dev/null 2>&1; then
	ok "types: --top shown and taken, why's --paths refused"
else
	fail "types: --top not shown, or why's --paths taken"
fi

# On a real core: the same answer wherever the options stand.
make_core "$FIXTURES/glibc_mixed" "$work/mixed" || finish
addr=$(sed -n '1s/ .*//p' "$work/mixed.live")
run_ok "options first" types --top 3 --sort count "$core"
cp "$work/out" "$work/first"
run_ok "options last" types "$core" --top 3 --sort count
check_same "types CORE --top 3 --sort count" "$(cat "$work/first")" "$(cat "$work/out")"
# Three rows and the totals: --top was taken after the core.
rows=$(grep -c '^ *[0-9]' "$work/out")
check_same "types CORE --top 3: three rows" 3 "$rows"
run_ok "why first" why --paths 2 "$addr" "$core"
cp "$work/out" "$work/first"
run_ok "why between" why "$addr" --paths 2 "$core"
check_same "why ADDR --paths 2 CORE" "$(cat "$work/first")" "$(cat "$work/out")"
run_ok "why last" why "$addr" "$core" --paths=2 --format json
grep -q '"paths"' "$work/out" && ok "why ADDR CORE --paths=2 --format json: json" ||
	fail "why ADDR CORE --format json: no JSON paths"

# summary of a heap with no mmapped chunk: that region says it holds none
# (its zeroes), where a region of figures only lists its figures.
run_ok "summary" summary "$core"
check_grep "summary: the empty mmapped region has its row of zeroes" \
	'^  glibc mmapped at 0x[0-9a-f]*: live 0 (0 B), free 0 (0 B)$' "$work/out"

# "--" ends the options: a core named like an option.
cp "$core" "$work/--odd-name"
(cd "$work" && "$COREHEAP" objects --format jsonl -- --odd-name) > "$work/out" 2> "$work/err"
sed 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\).*/\1 \2/' "$work/out" | sort > "$work/got"
sort "$work/mixed.live" > "$work/want"
check_same "objects -- --odd-name: the fixture's live set" "$(cat "$work/want")" "$(cat "$work/got")"
finish
