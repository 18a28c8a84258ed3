#!/bin/sh
# SPDX-License-Identifier: MIT
#
# top and report on a core of fixtures/graph_bulk: more allocations than
# top searches from the roots beside its dominator tree, so that the path
# of large heaps runs (the search after the tree; the graph's edges given
# back when the analysis is top's own, kept when report goes on to the
# leaks and the tree). The answers are the fixture's design: the list's
# head retains every node, and the 100 dropped blocks are leaked.
. "$SRCDIR/tests/lib.sh"
test_init graph-bulk FIXTURES SRCDIR

# Past top's threshold (4 Mi allocations), with some to spare.
make_core "$FIXTURES/graph_bulk" "$work/bulk" 4300000 || finish
design=$work/bulk.live
head=$(field list 2)

run_ok "top" top --format jsonl --top 1 "$core"
check_same "top: the list's head comes first, retains every node, held by bulk_head" \
	"$head $(field list 3) graph_bulk!bulk_head" \
	"$(sed 's/.*"address": "\([^"]*\)".*"retained": \([0-9]*\).*"name": "\([^"]*\)".*/\1 \2 \3/' "$work/out")"
run_ok "top json" top --format json --top 1 "$core"
check_same "top json: the leaked count" "\"count\": 100" \
	"$(grep -A 1 '"leaked"' "$work/out" | grep '"count"' | sed 's/^ *//; s/,$//')"

run_ok "leaks" leaks --format jsonl "$core"
sed 's/.*"address": "\([^"]*\)".*/\1/' "$work/out" | sort > "$work/leaked"
check_same "leaks: exactly the dropped blocks" \
	"$(awk '$1 == "leak" { print $2 }' "$design" | sort)" "$(cat "$work/leaked")"

# report: top, then leaks and the tree over the same graph.
run_ok "report" report --limit 3 --output "$work/page.html" "$core"
check_same "report: the page names the list's head" 1 \
	"$(grep -c "$head" "$work/page.html" | awk '{ print ($1 > 0) }')"
finish
