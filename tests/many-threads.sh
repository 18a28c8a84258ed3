#!/bin/sh
# A process of many threads: libdwfl looks for the modules in the core
# without the threads' stacks and their guard pages (its search is
# quadratic in the program headers), and finds every one the process had
# mapped. The truth is the process's own: its /proc/PID/maps before the
# core was taken, and the threads the fixture made (fixtures/
# glibc_many_threads: 24 workers parked in worker_main, each on a stack
# of its own over a guard page; two threads that exited before, whose
# stacks glibc keeps mapped for reuse, and the main thread, whose stack
# has no guard page: none of those is left out).
. "$SRCDIR/tests/lib.sh"
test_init many-threads FIXTURES SRCDIR
require_command gcore
require_command python3

WORKERS=24

start_fixture "$FIXTURES/glibc_many_threads" "$work/threads"
# The ELF files the process maps, each at its lowest address: "START PATH".
python3 - "$fixture_pid" > "$work/maps.elf" <<'EOF' || fail "read /proc/PID/maps"
import os, sys
starts = {}
for line in open("/proc/%s/maps" % sys.argv[1]):
    fields = line.split(None, 5)
    if len(fields) < 6 or not fields[5].startswith("/"):
        continue
    path = fields[5].strip()
    start = int(fields[0].split("-")[0], 16)
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
    except OSError:
        continue
    starts[path] = min(start, starts.get(path, start))
for path, start in sorted(starts.items()):
    print("0x%x %s" % (start, os.path.realpath(path)))
EOF
take_gcore "$fixture_pid" "$work/threads" || finish
kill "$fixture_pid"

run_ok "summary --verbose" summary --verbose "$core"
cp "$work/out" "$work/verbose.txt"
check_grep "the workers' stacks and guard pages are left out" \
	"program headers: $((2 * WORKERS)) are threads' stacks and their guard pages)" \
	"$work/out"

# Every ELF file the process mapped is a module, at its address (the
# vDSO, mapped from no file, is the one module more); a path is compared
# as the file it names (the link map says /lib, the kernel /usr/lib).
run_ok "summary --format json" summary --format json "$core"
python3 - "$work/out" > "$work/modules.elf" <<'EOF'
import json, os, sys
for module in json.load(open(sys.argv[1]))["modules"]:
    if module["path"] is not None:
        print("%s %s" % (module["start"], os.path.realpath(module["path"])))
EOF
sort "$work/modules.elf" -o "$work/modules.elf"
sort "$work/maps.elf" -o "$work/maps.elf"
check_same "the modules are the ELF files the process mapped" \
	"$(cat "$work/maps.elf")" "$(cat "$work/modules.elf")"
check_grep "the vDSO is found too" '"name": "linux-vdso.so.1"' "$work/out"

# Each worker is unwound through its own function, by the symbols of
# the modules found.
run_ok "triage --all-threads" triage --all-threads --format json "$core"
workers=$(python3 - "$work/out" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
threads = [doc["thread"]] + doc.get("threads", [])
print(sum(any(frame.get("function") == "worker_main"
              for frame in thread.get("frames", []))
          for thread in threads if thread))
EOF
)
check_same "every worker is unwound through worker_main" "$WORKERS" "$workers"

# A core read into memory (compressed) is searched the same way.
if command -v zstd > /dev/null 2>&1; then
	zstd -q -1 -f "$core" -o "$work/threads.core.zst"
	"$COREHEAP" summary --verbose "$work/threads.core.zst" 2> /dev/null |
		sed 1d > "$work/zst.txt"
	check_same "a compressed core: the same summary, the same modules" \
		"$(sed 1d "$work/verbose.txt")" "$(cat "$work/zst.txt")"
	rm -f "$work/threads.core.zst"
fi

finish
