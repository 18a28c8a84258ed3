#!/bin/sh
# SPDX-License-Identifier: MIT
# debuginfod (issue 13): with DEBUGINFOD_URLS set, a module's missing debug
# info, and a missing binary, are fetched by build-id (libdwfl's
# libdebuginfod client), cached in DEBUGINFOD_CACHE_PATH, and give the
# answer the files at hand give: the exact counts and bytes per DWARF type
# the fixture recorded. A real debuginfod server (Debian's package) is
# started here, serving a directory with the fixture stripped and its
# debug file (objcopy --only-keep-debug); it is reached on 127.0.0.1
# (debuginfod 0.188 has no option to listen on it alone) and stopped by
# its pid. `summary` says the files came from debuginfod. Progress is
# shown as that of the long stages: on a terminal, or with CH_PROGRESS=1.
. "$SRCDIR/tests/types-lib.sh"
require_command debuginfod strip objcopy readelf curl python3

mkdir -p "$work/bin" "$work/served"
program=$work/bin/types_c
cp "$FIXTURES/types_c" "$program"
make_core "$program" "$work/tc" || finish
expectations=$work/tc.out
build_id=$(readelf -n "$program" | sed -n 's/^ *Build ID: \([0-9a-f]*\)$/\1/p')
[ -n "$build_id" ] || { fail "no build-id in $program"; finish; }

# What the server holds; the program the core is analysed with is
# stripped: no symbols, no DWARF.
objcopy --only-keep-debug "$program" "$work/served/types_c.debug"
strip --strip-all -o "$work/served/types_c" "$program"
cp "$work/served/types_c" "$program"

real_coreheap=$COREHEAP
no_dwarf_names "stripped, DEBUGINFOD_URLS empty" "$core"

# The server, on a free port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
debuginfod -F -p "$port" -d "$work/debuginfod.sqlite" -t 0 -g 0 "$work/served" \
	> "$work/debuginfod.log" 2>&1 &
server=$!
ch_lib_pids="$ch_lib_pids $server"
url=http://127.0.0.1:$port
tries=600
until curl -sf -o /dev/null "$url/buildid/$build_id/debuginfo" &&
      curl -sf -o /dev/null "$url/buildid/$build_id/executable"; do
	tries=$((tries - 1))
	if [ $tries -le 0 ] || ! kill -0 "$server" 2> /dev/null; then
		fail "debuginfod did not serve $build_id on $url:"
		cat "$work/debuginfod.log"
		finish
	fi
	sleep 0.1
done
ok "debuginfod serves $build_id on $url"

# coreheap with the server, a fresh cache in the build tree.
cache=$work/debuginfod-cache
printf '#!/bin/sh\nDEBUGINFOD_URLS=%s DEBUGINFOD_CACHE_PATH=%s exec "%s" "$@"\n' \
	"$url" "$cache" "$real_coreheap" > "$work/coreheap-debuginfod"
chmod +x "$work/coreheap-debuginfod"
COREHEAP=$work/coreheap-debuginfod

# The debug info is fetched.
rm -rf "$cache"
types_rows "$core" "$work/debuginfo.rows"
check_expectations "$expectations" "$work/debuginfo.rows" g
[ -f "$cache/$build_id/debuginfo" ] && ok "cached in DEBUGINFOD_CACHE_PATH" ||
	fail "no $cache/$build_id/debuginfo"
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_grep "summary: debug info from debuginfod" \
	"^      binary: the core's path; debug info: debuginfod ($cache/$build_id/debuginfo)$" \
	"$work/summary"

# Progress goes to stderr on a terminal only (script(1) gives one).
if grep -q 'debuginfod:' "$work/summary"; then
	fail "progress shown off a terminal:"; cat "$work/summary"
else
	ok "no progress off a terminal"
fi
if command -v script > /dev/null 2>&1; then
	rm -rf "$cache"
	script -qec "'$COREHEAP' summary '$core' > /dev/null" /dev/null > "$work/tty" 2>&1
	check_grep "progress on a terminal" \
		"coreheap: debuginfod: $url/buildid/$build_id/debuginfo: " "$work/tty"
	# CH_PROGRESS=0: none, as for the other long stages.
	rm -rf "$cache"
	script -qec "CH_PROGRESS=0 '$COREHEAP' summary '$core' > /dev/null" /dev/null > "$work/tty" 2>&1
	if grep -q 'debuginfod:' "$work/tty"; then
		fail "progress on a terminal with CH_PROGRESS=0:"; cat "$work/tty"
	else
		ok "no progress with CH_PROGRESS=0"
	fi
fi
# CH_PROGRESS=1 asks for it off a terminal too.
rm -rf "$cache"
CH_PROGRESS=1 "$COREHEAP" summary "$core" 2> "$work/err" > /dev/null
check_grep "progress with CH_PROGRESS=1" \
	"coreheap: debuginfod: $url/buildid/$build_id/debuginfo: " "$work/err"

# The binary too, when it is gone.
rm "$program"
rm -rf "$cache"
types_rows "$core" "$work/both.rows"
check_expectations "$expectations" "$work/both.rows" g
"$COREHEAP" summary "$core" > "$work/summary" 2>&1
check_grep "summary: binary and debug info from debuginfod" \
	"^      binary: debuginfod; debug info: debuginfod ($cache/$build_id/debuginfo)$" \
	"$work/summary"

kill "$server"
wait "$server" 2> /dev/null
finish
