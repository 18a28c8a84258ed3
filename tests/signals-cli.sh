#!/bin/sh
# The process a core came from, as summary and triage tell it, against what
# fixtures/signal_death and this test know independently: kernel cores of a
# real fault (SEGV_MAPERR, SEGV_ACCERR: the address the fixture wrote to),
# of a kill -SEGV this shell sends (SI_USER: this shell's pid and uid, no
# address), of raise() (SI_TKILL: the fixture's own pid), and a gcore core
# (taken by gdb: no signal). The command line, longer than NT_PRPSINFO's 80
# bytes, comes out whole; when the fixture hides its arguments, the cut
# pr_psargs comes out, said to be cut.
. "$SRCDIR/tests/lib.sh"
test_init signals FIXTURES SRCDIR
require_command python3

fixture=$FIXTURES/signal_death
long_args="first-argument-of-a-command-line-longer-than-psargs second-argument-past-eighty-bytes --third=x last"
uid=$(id -u)

# json_flat FILE: one line per scalar of the JSON in FILE, "path value",
# the value as JSON writes it ("signal.sender.pid 42").
json_flat() {
	python3 -c '
import json, sys
def walk(path, value):
    if isinstance(value, dict):
        for key, item in value.items():
            walk(path + "." + key if path else key, item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            walk("%s[%d]" % (path, i), item)
    else:
        print(path, json.dumps(value))
walk("", json.load(open(sys.argv[1])))' "$1"
}

# value PATH FILE: the value at PATH in FILE, a json_flat output.
value() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print; exit }' "$2"
}

fact() { awk -v k="$1" '$1 == k { print $2 }' "$design"; }

# report NAME: summary and triage of $core, JSON flattened in
# $work/NAME.summary and $work/NAME.triage, text in $work/NAME.txt and
# $work/NAME.triage.txt.
report() {
	"$COREHEAP" summary --format json "$core" > "$work/$1.summary.json" 2> "$work/$1.err"
	status=$?
	[ $status -le 1 ] || fail "$1: summary exited $status: $(cat "$work/$1.err")"
	json_flat "$work/$1.summary.json" > "$work/$1.summary"
	"$COREHEAP" triage --format json --no-leaks "$core" > "$work/$1.triage.json" 2>> "$work/$1.err"
	status=$?
	[ $status -le 1 ] || fail "$1: triage exited $status: $(cat "$work/$1.err")"
	json_flat "$work/$1.triage.json" > "$work/$1.triage"
	"$COREHEAP" summary "$core" > "$work/$1.txt" 2>> "$work/$1.err"
	"$COREHEAP" triage --no-leaks "$core" > "$work/$1.triage.txt" 2>> "$work/$1.err"
}

# expect NAME PATH VALUE: summary's and triage's JSON both hold VALUE at
# PATH (summary's process is "process", triage's too; triage names the
# writer at the top, summary in "core").
expect() {
	check_same "$1: summary $2" "$3" "$(value "$2" "$work/$1.summary")"
	triage_path=$2
	[ "$2" = core.written_by ] && triage_path=written_by
	check_same "$1: triage $triage_path" "$3" "$(value "$triage_path" "$work/$1.triage")"
}

# The whole command line, as the fixture was started (make-core.sh runs
# it by this absolute path).
expect_command_line() {
	expect "$1" process.command_line "\"$fixture $2 $long_args\""
	expect "$1" process.command_line_source '"memory"'
	expect "$1" process.command_line_cut false
	check_grep "$1: summary text has the whole command line" \
		"^process: .*: $fixture $2 $long_args\$" "$work/$1.txt"
}

# expect_sender NAME CODE PID UID: a signal a process sent, no address.
expect_sender() {
	expect "$1" signal.code_name "\"$2\""
	expect "$1" signal.fault_address null
	expect "$1" signal.sender.pid "$3"
	expect "$1" signal.sender.uid "$4"
	check_grep "$1: summary text names the sender" \
		"^signal: *SIGSEGV (11), $2: .*, by pid $3 (uid $4)\$" "$work/$1.txt"
	check_grep "$1: triage text too" \
		"^signal: *SIGSEGV (11), $2: .*, by pid $3 (uid $4)\$" "$work/$1.triage.txt"
}

# A real fault: the address the fixture wrote to, no sender.
for mode in maperr accerr; do
	code=SEGV_MAPERR
	[ $mode = accerr ] && code=SEGV_ACCERR
	make_core "$fixture" "$work/$mode" --kernel $mode $long_args || continue
	design=$work/$mode.live
	address=$(fact fault_address)
	report $mode
	expect $mode core.written_by '"kernel"'
	expect $mode signal.number 11
	expect $mode signal.name '"SEGV"'
	expect $mode signal.code_name "\"$code\""
	expect $mode signal.fault_address "\"$address\""
	expect $mode signal.sender null
	check_grep "$mode: summary text names the code and the address" \
		"^signal: *SIGSEGV (11), $code: .*, at $address\$" "$work/$mode.txt"
	check_grep "$mode: triage text too" \
		"^signal: *SIGSEGV (11), $code: .*, at $address\$" "$work/$mode.triage.txt"
	expect_command_line $mode $mode
done

# triage's crash signature and frames as data. maperr and accerr fault at
# one store in main, in two runs (other addresses): one signature; frame 0
# is main, in signal_death.c, at the line of that store.
signature() { value thread.signature "$work/$1.triage"; }
fault_line=$(grep -n 'fault_target = 1;' "$SRCDIR/fixtures/signal_death.c" | cut -d: -f1)
if [ -s "$work/maperr.triage" ] && [ -s "$work/accerr.triage" ]; then
	check_same "triage: one crash site in two runs, one signature" \
		"$(signature maperr)" "$(signature accerr)"
	# ...though the runs had other layouts (ASLR): the crashing pc
	# differs, its offset in the module does not.
	if [ "$(cat /proc/sys/kernel/randomize_va_space 2> /dev/null)" != 0 ]; then
		check_same "triage: the two runs' crashing pcs differ (other layouts)" yes \
			"$([ "$(value 'thread.frames[0].pc' "$work/maperr.triage")" != \
			     "$(value 'thread.frames[0].pc' "$work/accerr.triage")" ] && echo yes)"
	else
		echo "skip: ASLR is off here, both runs had one layout"
	fi
	check_same "triage: at one offset in the module" \
		"$(value 'thread.frames[0].offset' "$work/maperr.triage")" \
		"$(value 'thread.frames[0].offset' "$work/accerr.triage")"
	check_grep "triage: the signature is 16 hex digits" \
		'^thread.signature "[0-9a-f]\{16\}"$' "$work/maperr.triage"
	check_same "maperr: frame 0 is main in signal_death, at the store's line" \
		"\"signal_death\" \"main\" $fault_line" \
		"$(value 'thread.frames[0].module' "$work/maperr.triage") $(value 'thread.frames[0].function' "$work/maperr.triage") $(value 'thread.frames[0].line' "$work/maperr.triage")"
	check_grep "maperr: frame 0's file is the fixture's source" \
		'^thread.frames\[0\].file ".*signal_death\.c"$' "$work/maperr.triage"
	check_grep "maperr: frame 0's build-id" \
		'^thread.frames\[0\].build_id "[0-9a-f]\{40\}"$' "$work/maperr.triage"
	check_grep "maperr: triage text shows the signature" \
		"^signature: $(signature maperr | tr -d '"')\$" "$work/maperr.triage.txt"
fi

# raise(): tgkill from the process itself.
if make_core "$fixture" "$work/raise" --kernel raise $long_args; then
	design=$work/raise.live
	report raise
	expect_sender raise SI_TKILL "$(fact pid)" "$(fact uid)"
	expect_command_line raise raise
	if [ -s "$work/maperr.triage" ]; then
		check_same "triage: another crash site, another signature" yes \
			"$([ "$(signature raise)" != "$(signature maperr)" ] && echo yes)"
	fi
fi

# kill -SEGV from this shell (kill is a builtin: the sender is $$). The
# kernel core is made in the background while this shell sends the signal.
"$SRCDIR/tests/make-core.sh" "$fixture" "$work/kill" --kernel park $long_args \
	> /dev/null 2> "$work/kill.make-core.err" &
maker=$!
ch_lib_pids="$ch_lib_pids $maker"
if wait_ready "$work/kill.out" 1; then
	design=$work/kill.live
	kill -s SEGV "$(fact pid)"
fi
wait $maker
status=$?
[ $status -eq 77 ] && skip "cannot make a kernel core here: $(cat "$work/kill.make-core.err")"
if [ $status -ne 0 ]; then
	fail "kill: no kernel core: $(cat "$work/kill.make-core.err")"
else
	core=$work/kill.core
	report kill
	expect_sender kill SI_USER "$$" "$uid"
	expect_command_line kill park
fi

# gcore: gdb's core of a running process has no signal, and its
# pr_psargs only the program's path: the arguments come from memory.
if make_core "$fixture" "$work/gcore" park $long_args; then
	report gcore
	expect gcore core.written_by '"gdb"'
	expect gcore signal null
	check_grep "gcore: summary text says gcore took it" \
		"^signal: *none: the core was taken by gdb (gcore)" "$work/gcore.txt"
	check_grep "gcore: triage text too" \
		"^signal: *none: the core was taken by gdb (gcore)" "$work/gcore.triage.txt"
	expect_command_line gcore park
fi

# Arguments memory no longer tells: pr_psargs, the kernel's first 79
# bytes with the NULs as spaces, said to be cut.
if make_core "$fixture" "$work/hidden" --kernel hidden $long_args; then
	report hidden
	psargs=$(printf '%s' "$fixture hidden $long_args" | cut -c 1-79 | sed 's/ *$//')
	expect hidden process.command_line "\"$psargs\""
	expect hidden process.command_line_source '"psinfo"'
	expect hidden process.command_line_cut true
	check_grep "hidden: summary text says it may be cut" \
		"^process: .*: $psargs (may be cut: " "$work/hidden.txt"
fi

finish
