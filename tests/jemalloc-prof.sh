#!/bin/sh
# SPDX-License-Identifier: MIT
# jemalloc's heap profiling (fixtures/jemalloc_prof: prof:true,
# lg_prof_sample:0 on Debian's libjemalloc2, stripped): every allocation's
# stack as jemalloc recorded it, checked against the function the fixture
# says made it, in describe, why and leaks --by-stack; and none where
# profiling was off.
. "$SRCDIR/tests/lib.sh"
test_init jemalloc-prof FIXTURES

make_core "$FIXTURES/jemalloc_prof" "$work/prof" || finish
design=$work/prof.live

# describe: the frames of every designed allocation's stack.
check_alloc_stacks "describe --format json"
held=$(awk '$1 == "held" { print $2; exit }' "$design")
held_function=$(awk '$1 == "held" { print $3; exit }' "$design")
run_ok describe describe "$held" "$core"
check_grep "describe shows where it was allocated" \
	'^allocated at (the stack jemalloc recorded):$' "$work/out"
check_grep "describe names $held_function in a frame" \
	"^  #[0-9]  *0x[0-9a-f]* [^ ]*!$held_function+0x" "$work/out"

# why: the target's stack with its path.
run_ok why why "$held" "$core"
check_grep "why shows where it was allocated" \
	'^allocated at (the stack jemalloc recorded):$' "$work/out"
check_grep "why names $held_function in a frame" \
	"^  #[0-9]  *0x[0-9a-f]* [^ ]*!$held_function+0x" "$work/out"
run_ok "why json" why --format json "$held" "$core"
check_grep "why --format json has the stack" \
	"\"[^\"]*!$held_function+0x[0-9a-f]*\"" "$work/out"

# leaks --by-stack: exactly the designed leaks, each in the group of a
# stack that names the function that allocated it.
run_ok "leaks --by-stack" leaks --by-stack --format json "$core"
check_same "leaks finds the designed leaks" \
	"$(grep -c '^leaked ' "$design")" \
	"$(sed -n 's/^{"leaked": {"count": \([0-9]*\),.*/\1/p' "$work/out")"
grouped=0
while read -r kind address function; do
	[ "$kind" = leaked ] || continue
	if grep '^  {"count"' "$work/out" | grep "\"$address\"" |
		grep -q "\"[^\"]*!$function+0x[0-9a-f]*\""; then
		grouped=$((grouped + 1))
	else
		echo "leaked $address is in no group whose stack names $function"
	fi
done < "$design"
check_same "each leak is grouped under its own stack" \
	"$(grep -c '^leaked ' "$design")" "$grouped"
check_same "one group per leaking function" \
	"$(awk '$1 == "leaked" { print $3 }' "$design" | sort -u | wc -l)" \
	"$(grep -c '^  {"count"' "$work/out")"
run_ok "leaks --by-stack text" leaks --by-stack "$core"
check_grep "leaks --by-stack text lists the frames" \
	"^          #0  0x[0-9a-f]* [^ ]*!leak_requests+0x" "$work/out"

# No profiling, no stack: jemalloc_mixed's blocks have none.
make_core "$FIXTURES/jemalloc_mixed" "$work/mixed" || finish
address=$(awk 'NR == 1 { print $1 }' "$work/mixed.live")
run_ok "describe unsampled" describe --format json "$address" "$core"
check_grep "an allocation made without profiling has no stack" \
	'"allocation_stack": null' "$work/out"
finish
