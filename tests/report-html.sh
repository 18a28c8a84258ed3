#!/bin/sh
# coreheap report in a real browser: the page of a core of
# fixtures/graph_heap and of two cores of fixtures/diff_growth, opened by
# Debian's headless Chromium. Checks: the JSON embedded in the page is the
# CLI's --format json output (types, top, leaks, summary, diff); the tree
# and the counts match what the fixtures recorded of their own heaps; the
# page renders without a script error, shows the JSON's numbers, and its
# self-test (#selftest: clicks on a treemap node, a type row, an instance,
# an untyped instance's pointers, a header, the filter, a diff row, its
# largest new allocation and its allocations gone, dispatched as events)
# passes. Also: the treemap's breakdown by type (--tree-nodes 1), a page of
# 20,000 types drawn in under 2 s, the page of two programs warning of
# their build-ids. A screenshot of each page stays in $work (the build
# tree's tests/cores).
. "$SRCDIR/tests/lib.sh"
test_init report-html FIXTURES SRCDIR
require_command python3 gcore
browser=
for candidate in chromium chromium-browser; do
	command -v "$candidate" > /dev/null 2>&1 && { browser=$candidate; break; }
done
[ -n "$browser" ] || skip "no chromium (scripts/install-deps.sh installs it)"
scratch_dir_into profile

# chromium_run OUTPUT URL [FLAGS...]: the page after its scripts ran, with
# nothing from the network and a fresh profile.
chromium_run() {
	output=$1 url=$2
	shift 2
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --virtual-time-budget=10000 \
		"$@" "$url" > "$output" 2> "$output.err"
}

# take_results FILE: a checker's lines, "ok: ..." passed, any other a
# failure (a traceback too).
take_results() {
	while IFS= read -r line; do
		case $line in
		ok:*) ok "${line#ok: }" ;;
		*) fail "${line#FAIL: }" ;;
		esac
	done < "$1"
}

# check_page NAME PAGE DOM...: python3 checks the page's JSON against the
# CLI's documents in $work/cli.*.json and the DOMs against the JSON; one
# line per check, "ok: ..." or "FAIL: ...".
check_page() {
	python3 - "$@" << 'EOF' > "$work/check.out" 2>&1
import html.parser, json, os, sys

name, page, doms = sys.argv[1], sys.argv[2], sys.argv[3:]
work = os.path.dirname(page)
results = []

def check(what, ok, detail=""):
    results.append(("ok: " if ok else "FAIL: ") + name + ": " + what +
                   ("" if ok else "\n" + str(detail)[:2000]))

def embedded(text):
    start = text.index('<script type="application/json" id="data">')
    start = text.index(">", start) + 1
    end = text.index("</script>", start)
    return json.loads(text[start:end])

def cli(doc):
    with open(os.path.join(work, "cli." + doc + ".json")) as f:
        return json.load(f)

with open(page) as f:
    text = f.read()
check("no '</' inside the embedded data",
      "</" not in text[text.index('id="data">'):text.index("</script>", text.index('id="data">'))])
data = embedded(text)
for doc in ("summary", "types", "top", "diff"):
    if os.path.exists(os.path.join(work, "cli." + doc + ".json")):
        check("embedded " + doc + " is the CLI's --format json",
              data[doc] == cli(doc), (data[doc], cli(doc)))
leaks = cli("leaks")
check("embedded leaks: totals and types are the CLI's",
      data["leaks"]["leaked"] == leaks["leaked"] and data["leaks"]["types"] == leaks["types"])
check("embedded leaks: the first %d allocations are the CLI's" % data["limit"],
      data["leaks"]["allocations"] == leaks["allocations"][:data["limit"]])

# The tree adds up: each node retains itself, its listed children and
# what is not listed; the top level and the rest make all reachable bytes.
tree = data["tree"]
children = {}
for i, node in enumerate(tree["nodes"]):
    children.setdefault(node["parent"], []).append(node["retained"])
bad = [n for i, n in enumerate(tree["nodes"])
       if n["retained"] != n["size"] + n["rest"] + sum(children.get(i, []))]
check("every tree node's retained = size + rest + children", not bad, bad[:3])
check("the tree's top level and rest = reachable bytes",
      sum(children.get(-1, [])) + tree["rest"] == tree["bytes"] == data["top"]["reachable"]["bytes"])
top_retained = {a["address"]: a["retained"] for a in data["top"]["allocations"]}
tree_retained = {n["address"]: n["retained"] for n in tree["nodes"]}
check("top's allocations have the tree's retained sizes",
      all(tree_retained.get(a) == r for a, r in top_retained.items()))
# What the children not listed retain, by type: part of "rest", largest
# first, 8 types at most.
bad = [n for n in [tree] + tree["nodes"]
       if sum(t["retained"] for t in n["rest_types"]) > n["rest"] or len(n["rest_types"]) > 8
       or n["rest_types"] != sorted(n["rest_types"], key=lambda t: -t["retained"])]
check("each node's rest by type is part of its rest, largest first", not bad, bad[:3])
# Facts the fixture recorded: "tree ADDR RETAINED..." of graph_heap.
live = os.path.join(work, "graph.live")
if name == "graph_heap":
    with open(live) as f:
        for line in f:
            words = line.split()
            if words[0] == "tree":
                for addr, retained in zip(words[1::2], words[2::2]):
                    check("the tree retains %s at %s, as the fixture says" % (retained, addr),
                          tree_retained.get(addr) == int(retained), tree_retained.get(addr))
    with open(live) as f:
        lines = [l.split()[0] for l in f]
    check("leaked: the fixture's leaks and cycles",
          data["leaks"]["leaked"]["count"] == lines.count("leak") + lines.count("cycle"))
    check("reachable and leaked make all live allocations",
          data["top"]["reachable"]["count"] + data["leaks"]["leaked"]["count"] == data["summary"]["totals"]["live_count"])
# Each instance listed is described; the why of those that have one
# leads to it.
for group in data["instances"] + data.get("new_instances", []):
    for a in group["allocations"]:
        if "describe" not in a or a["describe"]["allocation"]["address"] != a["address"]:
            check("instance " + a["address"] + " has its own describe", False, a)
        if "why" in a:
            paths = a["why"]["paths"]
            if a["why"]["target"] != a["address"] or (paths and paths[0]["chain"][-1]["address"] != a["address"]):
                check("instance " + a["address"] + " has its own why", False, a)
check("every instance listed has its describe",
      all("describe" in a for g in data["instances"] for a in g["allocations"]))
check("every instance listed has its why",
      all("why" in a for g in data["instances"] + data.get("new_instances", [])
          for a in g["allocations"]))
# The embedded why is the first path coreheap why gives (the page finds
# them all in one search), for the first 40 instances listed.
if os.environ.get("CH_PAGE_CORE"):
    import subprocess
    listed = [a for g in data["instances"] + data.get("new_instances", [])
              for a in g["allocations"]][:40]
    bad = []
    for a in listed:
        out = subprocess.run([os.environ["COREHEAP"], "why", "--format", "json",
                              a["address"], os.environ["CH_PAGE_CORE"]],
                             capture_output=True, text=True)
        want = json.loads(out.stdout) if out.stdout else None
        if not want or want["target"] != a["why"]["target"] or \
                want["paths"][:1] != a["why"]["paths"]:
            bad.append((a["address"], a["why"], want))
    check("the first %d instances' why is coreheap why's first path" % len(listed),
          listed and not bad, bad[:2])

class Dom(html.parser.HTMLParser):
    """Rows of the tables by class, with their cells' data-value; texts by id."""
    def __init__(self):
        super().__init__()
        self.tables, self.stack, self.ids, self.current_id = {}, [], {}, None
        self.render_ms = None
        self.row = None
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.stack.append(attrs.get("class", ""))
        elif tag == "tr" and self.stack and "detail" not in attrs.get("class", "") and "data-key" in attrs:
            self.row = [attrs["data-key"]]
            self.tables.setdefault(self.stack[-1], []).append(self.row)
        elif tag == "td" and self.row is not None and "data-value" in attrs:
            self.row.append(attrs["data-value"])
        if "id" in attrs:
            self.current_id = attrs["id"]
            self.ids[self.current_id] = ""
        if attrs.get("id") == "status":
            self.render_ms = attrs.get("data-render-ms")
    def handle_endtag(self, tag):
        if tag == "table" and self.stack:
            self.stack.pop()
            self.row = None
        elif tag == "tr":
            self.row = None
    def handle_data(self, text):
        if self.current_id:
            self.ids[self.current_id] += text
    # Texts run to the next element with an id.

def key(t):
    return t["type"] if t["type"] is not None else "unknown (%d bytes)" % t["size"]

for dom_path in doms:
    with open(dom_path) as f:
        dom = Dom()
        dom.feed(f.read())
    what = os.path.basename(dom_path)
    status = dom.ids.get("status", "").strip()
    check(what + ": status ok (no script error)", status == "ok", status)
    check(what + ": drawn in under 2 s (its own data-render-ms)",
          dom.render_ms is not None and int(dom.render_ms) < 2000, dom.render_ms)
    want = [[key(t), str(t["count"]), str(t["bytes"])] for t in data["types"]["types"]]
    shown = [row[:3] for row in dom.tables.get("types-table", [])]
    if what.startswith("plain"):
        check(what + ": the types table shows the JSON's rows, in its order", shown == want, (shown[:5], want[:5]))
    else:
        check(what + ": the types table shows the JSON's rows", sorted(shown) == sorted(want), (shown[:5], want[:5]))
    leak_rows = [row[:3] for row in dom.tables.get("leaks-table", [])]
    check(what + ": the leaks table shows the JSON's rows",
          sorted(leak_rows) == sorted([[key(t), str(t["count"]), str(t["bytes"])] for t in data["leaks"]["types"]]))
    if "diff" in data:
        rows = {row[0]: row[1:] for row in dom.tables.get("diff-table", [])}
        want = {key(t): [str(t["count_old"]), str(t["count_new"]), str(t["count_new"] - t["count_old"]),
                         str(t["bytes_old"]), str(t["bytes_new"]), str(t["bytes_new"] - t["bytes_old"]),
                         str(t["retained_new"] - t["retained_old"])] for t in data["diff"]["types"]}
        check(what + ": the diff table shows the JSON's rows", rows == want, (rows, want))
        with open(os.path.join(work, "diff.facts")) as f:
            for line in f:
                type_, old_count, new_count = line.rsplit(None, 2)[0], line.split()[-2], line.split()[-1]
                check(what + ": %s went from %s to %s, as the fixture says" % (type_, old_count, new_count),
                      rows.get(type_, [None, None])[:2] == [old_count, new_count], rows.get(type_))
    if what.startswith("selftest"):
        result = dom.ids.get("selftest-result", "")
        lines = [l for l in result.strip().split("\n") if l]
        expected = ["treemap-click", "types-click", "instance-click", "types-sort", "types-filter", "dump-click"]
        if "diff" in data:
            expected += ["diff-click", "diff-instance-click", "gone-click"]
        check(what + ": the self-test ran " + ", ".join(expected),
              [l.split(":")[0] for l in lines] == expected, result)
        for l in lines:
            check(what + ": " + l[:100], ": ok" in l, result)

print("\n".join(results))
EOF
	status=$?
	take_results "$work/check.out"
	[ $status -eq 0 ] || fail "$1: the checker failed ($status)"
}

# open_page NAME PAGE: the DOM as loaded and after the self-test, and a
# screenshot.
open_page() {
	chromium_run "$work/plain.$1.html" "file://$2" --dump-dom
	chromium_run "$work/selftest.$1.html" "file://$2#selftest" --dump-dom
	chromium_run /dev/null "file://$2" --window-size=1280,2400 \
		--screenshot="$work/$1.png"
	if [ -s "$work/plain.$1.html" ] && [ -s "$work/selftest.$1.html" ]; then
		ok "$1: chromium rendered the page"
	else
		fail "$1: chromium rendered nothing"
		cat "$work/plain.$1.html.err"
	fi
	[ -s "$work/$1.png" ] && ok "$1: a screenshot in $work/$1.png"
}

# One core.
make_core "$FIXTURES/graph_heap" "$work/graph" || finish
graph=$core
"$COREHEAP" report -o "$work/graph.html" "$graph" > "$work/report.out" 2> "$work/report.err"
check_same "report exits 0" 0 "$?"
check_grep "report says where the page is" "wrote $work/graph.html" "$work/report.err"
for doc in summary types leaks; do
	"$COREHEAP" "$doc" --format json "$graph" > "$work/cli.$doc.json" 2> /dev/null
done
"$COREHEAP" top --top 20 --format json "$graph" > "$work/cli.top.json" 2> /dev/null
open_page graph "$work/graph.html"
CH_PAGE_CORE=$graph check_page graph_heap "$work/graph.html" "$work/plain.graph.html" "$work/selftest.graph.html"

# -o - writes the same page to stdout.
"$COREHEAP" report -o - "$graph" > "$work/stdout.html" 2> /dev/null
check_same "-o -: the page on stdout" "" "$(cmp "$work/graph.html" "$work/stdout.html" 2>&1)"
# --limit caps the rows of each view.
"$COREHEAP" report --limit 3 --output "$work/limit.html" "$graph" 2> /dev/null
check_same "--limit 3: 3 leaked allocations listed" 3 \
	"$(python3 -c 'import sys, json; t = open(sys.argv[1]).read(); s = t.index("id=\"data\">") + 10; print(len(json.loads(t[s:t.index("</script>", s)])["leaks"]["allocations"]))' "$work/limit.html")"
# ... and each type lists its 3 largest allocations (then the lowest
# address), those of the 3 types of most bytes: what objects says of each.
"$COREHEAP" objects --format jsonl "$graph" > "$work/objects.jsonl" 2> /dev/null
python3 - "$work/limit.html" "$work/objects.jsonl" > "$work/limit.results" 2>&1 <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
start = text.index('id="data">') + 10
data = json.loads(text[start:text.index("</script>", start)])
by_type = {}
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["type"] is not None:
        by_type.setdefault(o["type"], []).append((-o["size"], int(o["address"], 16)))
groups = data["instances"]
typed = [g for g in groups if g["type"] is not None]
print(("ok: " if len(groups) == 3 and typed else "FAIL: ") + "--limit 3: 3 types of instances, some typed: %s" % [g["type"] for g in groups])
for g in typed:
    want = ["0x%x" % a for _, a in sorted(by_type.get(g["type"], []))[:3]]
    got = [a["address"] for a in g["allocations"]]
    print(("ok: " if got == want and g["count"] == len(by_type[g["type"]]) else "FAIL: ") +
          "--limit 3: %s lists its 3 largest of %d: %s, want %s" % (g["type"], g["count"], got, want))
EOF
take_results "$work/limit.results"
expect_exit 64 "unexpected operand" -- "$COREHEAP" report "$graph" "$graph" "$graph"
# --tree-nodes 1: the tree lists the root of the fixture's tree alone; what
# it retains beyond itself is its three children (left, right and the node
# both subtrees share: struct tree_node, the fixture says), by type; the
# page draws the root's other children by type too.
"$COREHEAP" report --tree-nodes 1 -o "$work/tree1.html" "$graph" 2> /dev/null
chromium_run "$work/plain.tree1.html" "file://$work/tree1.html" --dump-dom
python3 - "$work/tree1.html" "$work/graph.live" "$work/plain.tree1.html" << 'EOF' > "$work/tree1.out" 2>&1
import json, re, sys
text = open(sys.argv[1]).read()
start = text.index('id="data">') + 10
tree = json.loads(text[start:text.index("</script>", start)])["tree"]
facts = [l.split() for l in open(sys.argv[2])]
root, retained = [f for f in facts if f[0] == "tree"][0][1:3]
nodes = tree["nodes"]
def say(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else " " + str(detail)))
say("--tree-nodes 1: one node, the fixture's tree root",
    [n["address"] for n in nodes] == [root], nodes)
node = nodes[0]
say("--tree-nodes 1: its rest is its 3 children, struct tree_node, retaining %s with it" % retained,
    node["rest_types"] == [{"type": "struct tree_node", "size": None, "count": 3, "retained": node["rest"]}]
    and node["size"] + node["rest"] == int(retained), node)
say("--tree-nodes 1: the top level's rest by type adds up to at most its rest",
    0 < sum(t["retained"] for t in tree["rest_types"]) <= tree["rest"]
    and tree["rest_types"] == sorted(tree["rest_types"], key=lambda t: -t["retained"]), tree["rest_types"])
dom = open(sys.argv[3]).read()
drawn = re.findall(r'<g class="group" data-type="([^"]*)" data-count="(\d+)" data-retained="(\d+)" data-parent="">', dom)
want = [(t["type"] if t["type"] is not None else "unknown (%d bytes)" % t["size"], str(t["count"]), str(t["retained"]))
        for t in tree["rest_types"]]
say("--tree-nodes 1: the treemap draws the top level's children by type", sorted(drawn) == sorted(want), (drawn, want))
inside = re.findall(r'<g class="group" data-type="struct tree_node" data-count="3" data-retained="(\d+)" data-parent="%s">' % root, dom)
say("--tree-nodes 1: and the root's 3 children inside it", inside == [str(node["rest"])], inside)
EOF
take_results "$work/tree1.out"

# A heap of twenty thousand types (the page's data made so from graph's):
# drawn in under 2 s, the first 1000 rows of a table and a line for the rest.
python3 - "$work/graph.html" "$work/many-types.html" << 'EOF'
import json, sys
text = open(sys.argv[1]).read()
start = text.index('id="data">') + 10
end = text.index("</script>", start)
data = json.loads(text[start:end])
data["types"]["types"] += [{"type": None, "size": 16 * i, "count": 1, "bytes": 16 * i, "share": 0.0,
                            "average": 16 * i, "sources": []} for i in range(100000, 120000)]
data["leaks"]["types"] += [{"type": None, "size": 16 * i, "count": 1, "bytes": 16 * i, "unreferenced": 1}
                           for i in range(100000, 120000)]
open(sys.argv[2], "w").write(text[:start] + json.dumps(data).replace("<", "\\u003c") + text[end:])
EOF
chromium_run "$work/plain.many-types.html" "file://$work/many-types.html" --dump-dom
python3 - "$work/plain.many-types.html" << 'EOF' > "$work/many-types.out" 2>&1
import re, sys
dom = open(sys.argv[1]).read()
ms = re.search(r'<div id="status" class="" data-render-ms="(\d+)"[^>]*>ok<', dom)
print(("ok: " if ms and int(ms.group(1)) < 2000 else "FAIL: ") + "20,000 types: drawn in under 2 s (%s ms)" % (ms.group(1) if ms else "no status ok"))
table = dom[dom.index('class="types-table"'):]
table = table[:table.index("</table>")]
rows = len(re.findall(r'<tr data-key=', table))
more = re.search(r'<tr class="more"><td colspan="5" class="muted">([\d,]+) more rows not drawn', table)
ok = rows == 1000 and more and more.group(1) == "19,009"
print(("ok: " if ok else "FAIL: ") + "20,000 types: 1000 rows drawn, 19,009 more said (%d, %s)" % (rows, more.group(1) if more else None))
EOF
take_results "$work/many-types.out"

# Heap damage: the page shows the smashed header the fixture recorded.
make_core "$FIXTURES/damage_overflow" "$work/damage" || finish
"$COREHEAP" report -o "$work/damage.html" "$core" 2> "$work/damage.err"
check_same "damaged heap: report exits 1 (partial)" 1 "$?"
chromium_run "$work/plain.damage.html" "file://$work/damage.html" --dump-dom
chunk=$(awk '$1 == "damaged_chunk" { print $2 }' "$work/damage.live")
check_grep "the page shows the damage at $chunk" \
	"<td class=\"mono\">$chunk</td><td>chunk size field" "$work/plain.damage.html"
check_grep "the damaged page renders (status ok)" '<div id="status" class=""[^>]*>ok<' \
	"$work/plain.damage.html"

# Two cores: the growth recorded by fixtures/diff_growth at two moments.
rm -f "$work"/cli.*.json
start_fixture "$FIXTURES/diff_growth" "$work/growth"
take_gcore "$fixture_pid" "$work/old" || finish
old=$core
kill -USR1 "$fixture_pid"
wait_ready "$work/growth.out" 2 || { fail "fixture not ready twice"; finish; }
take_gcore "$fixture_pid" "$work/new" || finish
new=$core
kill "$fixture_pid"
# "TYPE OLD_COUNT NEW_COUNT" for each type the fixture recorded.
while read -r kind name count bytes; do
	old_count=$(awk -v t="$kind $name" '$1" "$2 == t { print $3 }' "$work/growth.live.1")
	echo "$kind $name ${old_count:-0} $count"
done < "$work/growth.live.2" > "$work/diff.facts"
"$COREHEAP" report -o "$work/diff.html" "$old" "$new" 2> "$work/report.err"
check_same "report OLD NEW exits 0" 0 "$?"
# Each core's graph and tree are made once (the diff's retained sizes are
# the new core's tree's, not a second one's), the old core's beside the
# new one's: the progress line shows the new core's stages, each once.
CH_PROGRESS=1 "$COREHEAP" report -o "$work/progress.html" "$old" "$new" \
	2> "$work/progress.err"
check_same "report OLD NEW: the new core's stages, each once" \
	"walking the heap
typing allocations
scanning for references
dominator tree" \
	"$(progress_stages "$work/progress.err")"
check_same "report OLD NEW: the same page with progress shown" same \
	"$(cmp -s "$work/diff.html" "$work/progress.html" && echo same)"
for doc in summary types leaks; do
	"$COREHEAP" "$doc" --format json "$new" > "$work/cli.$doc.json" 2> /dev/null
done
"$COREHEAP" top --top 20 --format json "$new" > "$work/cli.top.json" 2> /dev/null
"$COREHEAP" diff --retained --format json "$old" "$new" > "$work/cli.diff.json" 2> /dev/null
open_page diff "$work/diff.html"
CH_PAGE_CORE=$new check_page diff_growth "$work/diff.html" "$work/plain.diff.html" "$work/selftest.diff.html"
# Two programs: the page says so, as diff does (the build-id mismatch comes
# after the summary was written, in the page's own "warnings"), naming each
# core's program.
"$COREHEAP" report -o "$work/mismatch.html" "$old" "$graph" 2> "$work/mismatch.err"
chromium_run "$work/plain.mismatch.html" "file://$work/mismatch.html" --dump-dom
check_grep "two programs: report warns on stderr" \
	"'diff_growth' has build-id [0-9a-f]* in the old core and 'graph_heap' has build-id [0-9a-f]* in the new one" \
	"$work/mismatch.err"
check_grep "two programs: the page shows the warning" \
	"<ul id=\"warnings\"><li>'diff_growth' has build-id [0-9a-f]* in the old core and 'graph_heap' has build-id [0-9a-f]* in the new one" \
	"$work/plain.mismatch.html"
# The allocations gone from OLD, per type, are those diff --show gone lists
# (the fixture freed 2 of its 5 cache entries).
"$COREHEAP" diff --show gone --format csv "$old" "$new" > "$work/gone.csv" 2> /dev/null
check_same "the page lists the allocations diff --show gone lists" same \
	"$(python3 -c '
import csv, json, sys
t = open(sys.argv[1]).read(); s = t.index("id=\"data\">") + 10
d = json.loads(t[s:t.index("</script>", s)])
page = sorted((g["type"] or "", a["address"]) for g in d["gone_instances"] for a in g["allocations"])
cli = sorted((r["type"], r["address"]) for r in csv.DictReader(open(sys.argv[2])))
entries = [a for t, a in page if t == "struct cache_entry"]
print("same" if page == cli and len(entries) == 2 else (page, cli))' "$work/diff.html" "$work/gone.csv" 2>&1)"
# The 20 sessions new in NEW are the new allocations of their type.
check_same "the page lists the 20 new sessions" 20 \
	"$(python3 -c 'import sys, json; t = open(sys.argv[1]).read(); s = t.index("id=\"data\">") + 10; d = json.loads(t[s:t.index("</script>", s)]); print([g["count"] for g in d["new_instances"] if g["type"] == "struct session"])' "$work/diff.html" | tr -d '[]')"

finish
