#!/bin/sh
# SPDX-License-Identifier: MIT
#
# summary's totals, each against what is known apart from coreheap:
# - the glibc figures against what the process's own mallinfo2() said right
#   before it was dumped (fixtures/summary_totals.c writes them), and the
#   live bytes against the fixture's recorded live set;
# - the memory's kinds against the process's mappings, summed from the
#   core's program headers and NT_FILE note by tests/core-mappings.py;
# - a kernel core that left out shared memory (a /dev/shm object) and an
#   anonymous mapping never touched: complete, exit 0 from every command;
# - a kernel core cut short inside the heap: exit 1, the lost range named,
#   and, with the libraries kept (the heap's segment cut after its first
#   page), named as the glibc heap's;
# - a real C++ program from Debian, unmodified: g++'s cc1plus mid-compile,
#   dumped alive: its kinds add up to its mappings.
. "$SRCDIR/tests/lib.sh"
test_init summary-totals FIXTURES SRCDIR
require_command python3

fixture=$FIXTURES/summary_totals

# json_check NAME PYTHON-EXPRESSION: one check on $work/out, a summary
# --format json answer loaded as `d`; the expression prints what it found
# when false.
json_check() {
	verdict=$(python3 - "$work/out" "$2" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
kinds = d["memory"]["kinds"]
heaps = {k["allocator"]: k for k in kinds if k["kind"] == "heap"}
by_kind = {k["kind"]: k for k in kinds if k["kind"] != "heap"}
regions = d["regions"]
# What the glibc plugin says mallinfo2() returns: main_arena's row.
mallinfo = next((s["values"] for r in regions if r["name"] == "main_arena"
                 for s in r["stats"] if s["row"] == "mallinfo2"), {})
ok, shown = eval(sys.argv[2])
print("yes" if ok else "no: %s" % (shown,))
EOF
)
	check_same "$1" yes "$verdict"
}

# mapped_total CORE: the bytes of the process's mappings, from its headers.
mapped_total() {
	python3 "$SRCDIR/tests/core-mappings.py" "$1" | cut -d' ' -f1
}

remove_shm() {
	shm=$(awk '$1 == "shm" { print $2 }' "$1.live.design" 2> /dev/null)
	[ -n "$shm" ] && rm -f "$shm"
}

# --- gcore: the figures glibc would have given ---------------------------
if make_core "$fixture" "$work/alive"; then
	remove_shm "$work/alive"
	run_ok "summary --format json" summary --format json "$core"
	for key in arena ordblks smblks hblks hblkhd fsmblks uordblks fordblks keepcost; do
		want=$(awk -v k="$key" '$1 == k { print $2 }' "$work/alive.live.mallinfo")
		json_check "mallinfo2 $key is $want" \
			"(lambda v: (v == $want, v))(mallinfo['$key'])"
	done
	count=$(wc -l < "$work/alive.live" | tr -d ' ')
	bytes=$(awk '{ s += $2 } END { print s }' "$work/alive.live")
	json_check "glibc heap: live $count allocations, $bytes bytes, as recorded" \
		"((heaps['glibc']['live_count'], heaps['glibc']['live_bytes']) == ($count, $bytes), (heaps['glibc']['live_count'], heaps['glibc']['live_bytes']))"
	json_check "glibc heap: live + free + top + overhead + unexplained = its bytes" \
		"(lambda h: (h['live_bytes'] + h['free_bytes'] + h['top_bytes'] + h['overhead_bytes'] + h['unexplained_bytes'] == h['bytes'] and h['excess_bytes'] == 0, h))(heaps['glibc'])"
	json_check "mallinfo2 arena = the arenas' memory" \
		"(lambda a, m: (a == m, (a, m)))(sum(r['owned_bytes'] for r in regions if r['name'] != 'mmapped'), mallinfo['arena'])"
	json_check "mallinfo2 hblkhd and hblks = the mmapped chunks' memory and count" \
		"(lambda r, s: ((r['owned_bytes'], r['live_count']) == (s['hblkhd'], s['hblks']), (r, s)))(next(r for r in regions if r['name'] == 'mmapped'), mallinfo)"
	total=$(mapped_total "$core")
	json_check "the kinds add up to the $total bytes the core maps" \
		"(d['memory']['bytes'] == $total and sum(k['bytes'] for k in kinds) == $total, (d['memory']['bytes'], sum(k['bytes'] for k in kinds)))"
	json_check "every kind's bytes are in the core, the binaries, left out or lost" \
		"(all(k['in_core_bytes'] + k['from_binaries_bytes'] + k['left_out_bytes'] + k['lost_bytes'] == k['bytes'] for k in kinds), kinds)"
	run_ok "summary" summary "$core"
	check_grep "summary: the glibc heap's line" "^  glibc heap .* live $count " "$work/out"
	check_grep "summary: mallinfo2 under main_arena" "^    mallinfo2: arena [0-9]*, ordblks" "$work/out"
	check_grep "summary: each arena's part" "^    mallinfo2, this arena: arena [0-9]*, ordblks" "$work/out"
fi

# --- a real C++ program from Debian: the C++ compiler, mid-compile --------
# Debian's cc1plus (g++'s compiler proper), unmodified, compiling a file
# that includes a few standard headers and then a fifo: it blocks reading
# the fifo with its trees built (most in its GC pages, anonymous mmaps).
cc1plus=$(g++ -print-prog-name=cc1plus 2> /dev/null)
if [ -x "$cc1plus" ] && command -v gcore > /dev/null 2>&1; then
	mkfifo "$work/cc-fifo" || fail "mkfifo"
	printf '#include <map>\n#include <vector>\n#include <string>\n#include <regex>\n#include <iostream>\nstd::map<std::string, std::vector<int>> table;\n#include "%s"\n' \
		"$work/cc-fifo" > "$work/hold.cc"
	"$cc1plus" -quiet -imultiarch "$(g++ -print-multiarch)" "$work/hold.cc" \
		-o /dev/null > "$work/cc.out" 2> "$work/cc.err" &
	cc_pid=$!
	# A writer that never writes: once the compiler opened the fifo,
	# its read blocks until the test ends.
	sleep 600 > "$work/cc-fifo" &
	ch_lib_pids="$ch_lib_pids $cc_pid $!"
	tries=2400
	until ls -l "/proc/$cc_pid/fd" 2> /dev/null | grep -q "cc-fifo" ||
		[ $tries -eq 0 ]; do
		tries=$((tries - 1))
		sleep 0.05
	done
	if [ $tries -gt 0 ] && take_gcore "$cc_pid" "$work/cc1plus"; then
		run_ok "cc1plus: summary --format json" summary --format json "$core"
		total=$(mapped_total "$core")
		json_check "cc1plus: the kinds add up to the $total bytes the core maps" \
			"(d['memory']['bytes'] == $total and sum(k['bytes'] for k in kinds) == $total, (d['memory']['bytes'], sum(k['bytes'] for k in kinds)))"
		json_check "cc1plus: a glibc heap of live allocations, its parts adding up" \
			"(lambda h: (h['live_count'] > 1000 and h['live_bytes'] + h['free_bytes'] + h['top_bytes'] + h['overhead_bytes'] + h['unexplained_bytes'] == h['bytes'], h))(heaps['glibc'])"
		json_check "cc1plus: its GC pages are other anonymous memory, larger than the heap" \
			"(by_kind['anonymous']['bytes'] > heaps['glibc']['bytes'], (by_kind['anonymous'], heaps['glibc']['bytes']))"
		json_check "cc1plus: modules' code and data, a stack" \
			"(by_kind['module_code']['bytes'] > 0 and by_kind['module_data']['bytes'] > 0 and d['memory']['stacks'] == 1, by_kind)"
	elif [ $tries -eq 0 ]; then
		fail "cc1plus never opened the fifo"
		cat "$work/cc.err"
	fi
else
	echo "note: no cc1plus or gcore: the real C++ program's check is skipped"
fi

# Last: make_core skips the rest of the test where kernel cores cannot be
# made here.
# --- a kernel core: what it leaves out on purpose is no loss -------------
if make_core "$fixture" "$work/kernel" --kernel abort; then
	remove_shm "$work/kernel"
	kernel_core=$core
	for command in summary objects leaks top; do
		expect_exit 0 "" -- "$COREHEAP" "$command" "$kernel_core"
		check_same "$command: no warning" "" "$(cat "$work/err")"
	done
	shm_start=$(awk '$1 == "shm" { print $3 }' "$work/kernel.live.design")
	untouched_start=$(awk '$1 == "untouched" { print $2 }' "$work/kernel.live.design")
	expect_exit 0 "" -- "$COREHEAP" describe "$shm_start" "$kernel_core"
	run_ok "summary --format json" summary --format json "$kernel_core"
	total=$(mapped_total "$kernel_core")
	json_check "kernel core: the kinds add up to the $total bytes its PT_LOADs map" \
		"(sum(k['bytes'] for k in kinds) == $total, sum(k['bytes'] for k in kinds))"
	# The /dev/shm object (still linked: the default coredump_filter
	# skips it) and the SysV segment are shared memory; the untouched
	# mapping is anonymous and left out; none of it is lost.
	json_check "kernel core: shared memory holds both segments, the /dev/shm one left out" \
		"(by_kind['shared']['bytes'] == 2 * 262144 and by_kind['shared']['left_out_bytes'] >= 262144, by_kind['shared'])"
	json_check "kernel core: the untouched MiB is anonymous and left out" \
		"(by_kind['anonymous']['left_out_bytes'] >= 1048576, by_kind['anonymous'])"
	json_check "kernel core: nothing lost" "(d['memory']['lost_bytes'] == 0, d['memory'])"
	[ -n "$untouched_start" ] || fail "the fixture wrote no untouched mapping"

	# Cut short inside the brk heap: what follows is lost, the
	# libraries' headers too (no allocator is found then).
	# The lowest live allocation is in the brk heap, below the libraries.
	set -- $(python3 - "$kernel_core" "$work/kernel.live" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
target = min(int(line.split()[0], 16) for line in open(sys.argv[2]))
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
for i in range(phnum):
    at = phoff + i * phentsize
    ptype, flags, offset, vaddr, paddr, filesz, memsz, align = struct.unpack_from("<IIQQQQQQ", data, at)
    if ptype == 1 and vaddr <= target < vaddr + memsz and filesz == memsz:
        print(at, offset, vaddr, memsz)
        break
EOF
)
	if [ $# -eq 4 ]; then
		phdr=$1 offset=$2 vaddr=$3 memsz=$4
		head -c $((offset + 65536)) "$kernel_core" > "$work/cut.core"
		range=$(printf '0x%x-0x%x' $((vaddr + 65536)) $((vaddr + memsz)))
		expect_exit 1 "is truncated: $range ([0-9]* bytes of writable memory) is missing" -- \
			"$COREHEAP" summary "$work/cut.core"
		# The heap's segment cut after its first page, the rest of
		# the core kept: the lost range is the glibc heap's.
		python3 - "$kernel_core" "$work/cut-heap.core" "$phdr" "$offset" <<'EOF'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
phdr, offset = int(sys.argv[3]), int(sys.argv[4])
end = len(data)
data += data[offset:offset + 4096]
struct.pack_into("<Q", data, phdr + 8, end)
open(sys.argv[2], "wb").write(data)
EOF
		range=$(printf '0x%x-0x%x' $((vaddr + 4096)) $((vaddr + memsz)))
		expect_exit 1 "is truncated: $range ([0-9]* bytes, [0-9]* of them the glibc heap's main_arena) is missing: the allocations there are unknown" -- \
			"$COREHEAP" summary "$work/cut-heap.core"
		expect_exit 1 "is truncated: $range" -- "$COREHEAP" objects "$work/cut-heap.core"
		# What the cut took is missing, not damaged: no field is read
		# from it (an unread one differed from run to run).
		"$COREHEAP" summary "$work/cut-heap.core" > "$work/first" 2>&1
		"$COREHEAP" summary "$work/cut-heap.core" > "$work/second" 2>&1
		check_same "cut heap: the same summary twice" \
			"$(cat "$work/first")" "$(cat "$work/second")"
		"$COREHEAP" summary --format json "$work/cut-heap.core" > "$work/out" 2> /dev/null
		json_check "cut heap: its lost bytes counted as lost" \
			"(heaps['glibc']['lost_bytes'] == $memsz - 4096, heaps['glibc'])"
	else
		fail "no PT_LOAD of the kernel core holds the first live allocation"
	fi
fi

finish
