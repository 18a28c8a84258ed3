#!/bin/sh
# SPDX-License-Identifier: MIT
# --coredump PID|COMM|PATH (issue 13): the newest matching core of
# systemd-coredump's store, read by what its file name says
# (core.COMM.UID.BOOTID.PID.TIMESTAMP.zst) and, for an executable's path,
# by the executable the core's own notes map (in a kernel's core, read
# from its head only). The store here is a fake one
# (COREHEAP_COREDUMP_DIR) of real compressed cores of running fixtures,
# named as systemd-coredump names them; each answer is checked against
# the live set the process recorded.
. "$SRCDIR/tests/lib.sh"
test_init coredump-store FIXTURES
require_command zstd xz lz4 gcore

live_set() {
	sed 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\).*/\1 \2/' "$1" | sort
}

store=$work/store
mkdir -p "$store" "$work/elsewhere"
boot=0123456789abcdef0123456789abcdef
uid=$(id -u)

# dump NAME BINARY COMM TIMESTAMP SUFFIX COMPRESSOR: run BINARY until
# ready, gcore it, and put the core in the store as systemd-coredump
# would name it; sets $pid and $stored, keeps the live set in
# $work/NAME.want.
dump() {
	start_fixture "$2" "$work/$1"
	take_gcore "$fixture_pid" "$work/$1" || finish
	pid=$fixture_pid
	stored="$store/core.$3.$uid.$boot.$pid.$4$5"
	$6 -c "$core" > "$stored"
	sort "$work/$1.live" > "$work/$1.want"
	kill -KILL "$pid" 2> /dev/null
}

# Two runs of the fixture, then a program of the same name elsewhere
# (newest), and one whose name systemd escapes ("my.app" -> my\x2eapp).
dump older "$FIXTURES/glibc_mixed" glibc_mixed 1700000000000000 .zst "zstd -q"
pid_older=$pid older=$stored
dump newer "$FIXTURES/glibc_mixed" glibc_mixed 1700000001000000 .xz xz
newer=$stored
cp "$FIXTURES/glibc_mixed" "$work/elsewhere/glibc_mixed"
dump decoy "$work/elsewhere/glibc_mixed" glibc_mixed 1700000002000000 .lz4 "lz4 -q"
decoy=$stored
cp "$FIXTURES/glibc_mixed" "$work/my.app"
dump dotted "$work/my.app" 'my\x2eapp' 1700000003000000 .zst "zstd -q"
dotted=$stored
# Not cores of the store: ignored.
: > "$store/core.broken"
: > "$store/notes.txt"

# pick LABEL MATCH WANT_PATH WANT_NAME: --coredump MATCH reads WANT_PATH
# and gives the live set of WANT_NAME.
pick() {
	COREHEAP_COREDUMP_DIR=$store "$COREHEAP" summary --coredump "$2" > "$work/out" 2> "$work/err"
	# (What wrote the core may follow in parentheses.)
	check_same "$1: summary reads the core" "core:       $3" \
		"$(sed -n '1s/ ([^()]*)$//p' "$work/out")"
	COREHEAP_COREDUMP_DIR=$store "$COREHEAP" objects --format jsonl --coredump "$2" > "$work/out" 2> "$work/err"
	check_same "$1: exit status" 0 "$?"
	check_same "$1: the live set of that process" "$(cat "$work/$4.want")" \
		"$(live_set "$work/out")"
}

pick "--coredump PID" "$pid_older" "$older" older
pick "--coredump COMM: the newest" glibc_mixed "$decoy" decoy
# By path: the decoy is newer and has the name, but its notes map another
# executable.
pick "--coredump PATH: by the core's notes" "$FIXTURES/glibc_mixed" "$newer" newer
pick "--coredump an escaped COMM" my.app "$dotted" dotted
pick "--coredump PATH of an escaped COMM" "$work/my.app" "$dotted" dotted

# A pid seen again (another boot): the newest of its cores, whichever
# the directory lists first.
cp "$newer" "$store/core.glibc_mixed.$uid.fedcba9876543210fedcba9876543210.$pid_older.1600000000000000.xz"
pick "--coredump PID: the newest of that pid's cores" "$pid_older" "$older" older

# By path among kernel cores (systemd-coredump's kind: the notes first),
# the newest of which is of another executable of the same name and holds
# 1 GiB more: only its head is decompressed to tell (the largest resident
# set stays far below 1 GiB), and the older core is the answer.
make_core "$FIXTURES/glibc_abort" "$work/abort" --kernel || finish
sort "$work/abort.live" > "$work/abort.want"
abort_core=$store/core.glibc_abort.$uid.$boot.4000001.1700000010000000.zst
zstd -q -c "$core" > "$abort_core"
cp "$FIXTURES/glibc_abort" "$work/elsewhere/glibc_abort"
make_core "$work/elsewhere/glibc_abort" "$work/big" --kernel || finish
{ cat "$core"; head -c 1073741824 /dev/zero; } | zstd -q -1 \
	> "$store/core.glibc_abort.$uid.$boot.4000002.1700000011000000.zst"
COREHEAP_COREDUMP_DIR=$store /usr/bin/time -f 'rss %M' -o "$work/rss" \
	"$COREHEAP" objects --format jsonl --coredump "$FIXTURES/glibc_abort" \
	> "$work/out" 2> "$work/err"
check_same "--coredump PATH among kernel cores: exit status" 0 "$?"
check_same "--coredump PATH among kernel cores: the older core's live set" \
	"$(cat "$work/abort.want")" "$(live_set "$work/out")"
rss=$(sed -n 's/^rss //p' "$work/rss")
if [ -n "$rss" ] && [ "$rss" -lt 400000 ]; then
	ok "--coredump PATH: the 1 GiB core not decompressed whole ($rss KiB resident)"
else
	fail "--coredump PATH: '$rss' KiB resident"
fi

# A newest core of that name that cannot be read (not a compressed
# stream): passed over when matching by path.
printf 'not a core' > "$store/core.glibc_mixed.$uid.$boot.4000003.1800000000000000.zst"
pick "--coredump PATH past an unreadable core" "$FIXTURES/glibc_mixed" "$newer" newer

# Options anywhere, and --verbose names the core picked.
COREHEAP_COREDUMP_DIR=$store "$COREHEAP" types --top 1 --coredump "$pid_older" --verbose > /dev/null 2> "$work/err"
check_grep "--verbose names the core" "^coreheap: --coredump $pid_older: $older$" "$work/err"

# No match, no store.
expect_exit 2 "^coreheap: no core of pid '999999999' in systemd-coredump's store '$store'$" -- \
	env COREHEAP_COREDUMP_DIR="$store" "$COREHEAP" summary --coredump 999999999
expect_exit 2 "^coreheap: no core of command 'no-such-program' in systemd-coredump's store" -- \
	env COREHEAP_COREDUMP_DIR="$store" "$COREHEAP" summary --coredump no-such-program
expect_exit 2 "^coreheap: no core of executable '/usr/bin/no-such-program'" -- \
	env COREHEAP_COREDUMP_DIR="$store" "$COREHEAP" summary --coredump /usr/bin/no-such-program
expect_exit 2 "^coreheap: cannot read systemd-coredump's store '$work/none': No such file or directory$" -- \
	env COREHEAP_COREDUMP_DIR="$work/none" "$COREHEAP" summary --coredump 1
finish
