#!/bin/sh
# SPDX-License-Identifier: MIT
# --sysroot DIR finds separate debug files under DIR, as gdb does (issue
# 13): DIR/usr/lib/debug/.build-id/xx/yyyy.debug and
# DIR/usr/lib/debug/PATH.debug. The core's program is gone from where it
# ran; DIR holds it stripped and its debug file apart. The types must be
# exactly the counts and bytes the fixture recorded (DWARF names), as
# with the program at hand; without the right debug file none is named.
# The same with --exe and --debug-dir, and with relative directories.
. "$SRCDIR/tests/types-lib.sh"
require_command strip objcopy readelf

mkdir -p "$work/bin"
program=$work/bin/types_c
cp "$FIXTURES/types_c" "$program"
make_core "$program" "$work/tc" || finish
expectations=$work/tc.out

# With the program at hand.
types_rows "$core" "$work/at-hand.rows"
check_expectations "$expectations" "$work/at-hand.rows" g

# summary names where every module came from, the vDSO too.
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_same "summary: the vDSO from the core's memory" \
	"      binary: the core's memory; debug info: none" \
	"$(awk '/^  0x[0-9a-f]* linux-vdso/ { getline; print; exit }' "$work/summary")"

build_id=$(readelf -n "$program" | sed -n 's/^ *Build ID: \([0-9a-f]*\)$/\1/p')
[ -n "$build_id" ] || { fail "no build-id in $program"; finish; }
root=$work/root
by_id=$root/usr/lib/debug/.build-id/$(echo "$build_id" | cut -c1-2)
mkdir -p "$root$work/bin" "$by_id" "$root/usr/lib/debug$work/bin"
by_id=$by_id/$(echo "$build_id" | cut -c3-).debug
strip --strip-all -o "$root$program" "$program"
objcopy --only-keep-debug "$program" "$work/types_c.debug"
# The core's path names nothing now.
mv "$program" "$program.gone"

real_coreheap=$COREHEAP
no_dwarf_names "--sysroot, no debug file" --sysroot "$root" "$core"

# types_rows runs $COREHEAP: one that adds --sysroot (options go anywhere).
printf '#!/bin/sh\nexec "%s" "$@" --sysroot "%s"\n' "$real_coreheap" "$root" \
	> "$work/coreheap-sysroot"
chmod +x "$work/coreheap-sysroot"
COREHEAP=$work/coreheap-sysroot

# By build-id.
cp "$work/types_c.debug" "$by_id"
types_rows "$core" "$work/build-id.rows"
check_expectations "$expectations" "$work/build-id.rows" g
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_grep "summary: binary and debug file from the sysroot" \
	"^      binary: sysroot; debug info: sysroot ($by_id)$" "$work/summary"

# A relative --sysroot, as typed in the directory that holds it: the
# debug file under it is found as well (libdwfl takes a relative debug
# directory as relative to each binary's own directory).
physical_work=$(cd "$work" && pwd -P)
(cd "$work" && "$real_coreheap" summary --sysroot root "$core") > "$work/summary" 2>&1
check_grep "relative --sysroot: binary and debug file from the sysroot" \
	"^      binary: sysroot; debug info: sysroot ($physical_work/root/${by_id#"$root/"})$" \
	"$work/summary"

# --exe and --debug-dir, both relative: the stripped program and a
# directory with its debug file by build-id; summary says so.
mkdir -p "$work/debug/.build-id"
cp -R "$root/usr/lib/debug/.build-id/." "$work/debug/.build-id/"
strip --strip-all -o "$work/stripped" "$program.gone"
printf '#!/bin/sh\ncd "%s" && exec "%s" "$@" --exe stripped --debug-dir debug\n' \
	"$work" "$real_coreheap" > "$work/coreheap-debug-dir"
chmod +x "$work/coreheap-debug-dir"
COREHEAP=$work/coreheap-debug-dir
types_rows "$core" "$work/debug-dir.rows"
check_expectations "$expectations" "$work/debug-dir.rows" g
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_grep "summary: binary from --exe, debug file from --debug-dir" \
	"^      binary: --exe; debug info: debug directory ($physical_work/debug/${by_id#"$root/usr/lib/debug/"})$" \
	"$work/summary"
COREHEAP=$work/coreheap-sysroot

# By path: DIR/usr/lib/debug/PATH.debug.
rm "$by_id"
cp "$work/types_c.debug" "$root/usr/lib/debug$program.debug"
types_rows "$core" "$work/path.rows"
check_expectations "$expectations" "$work/path.rows" g
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_grep "summary: PATH.debug from the sysroot" \
	"^      binary: sysroot; debug info: sysroot ($root/usr/lib/debug$program.debug)$" \
	"$work/summary"

# Another program's debug file at that path is not taken.
objcopy --only-keep-debug "$FIXTURES/glibc_mixed" "$root/usr/lib/debug$program.debug"
COREHEAP=$real_coreheap
no_dwarf_names "--sysroot, another program's debug file at PATH.debug" \
	--sysroot "$root" "$core"
finish
