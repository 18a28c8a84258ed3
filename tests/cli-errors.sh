#!/bin/sh
# Bad input on the command line: one clear line on stderr and the
# documented exit status (0 ok, 1 partial, 2 fatal, 64 usage), no crash.
. "$SRCDIR/tests/lib.sh"
test_init cli-errors FIXTURES

expect_exit 64 "usage" -- "$COREHEAP"
expect_exit 64 "unknown command 'frobnicate'" -- "$COREHEAP" frobnicate x
expect_exit 64 "unknown option" -- "$COREHEAP" summary --no-such-option core
expect_exit 64 "unknown format 'xml'" -- "$COREHEAP" objects --format xml core
expect_exit 64 "summary: missing CORE" -- "$COREHEAP" summary
expect_exit 2 "cannot open core '$work/missing': No such file or directory" -- \
	"$COREHEAP" summary "$work/missing"
printf 'just some text, not ELF\n' > "$work/text"
expect_exit 2 "is not an ELF file" -- "$COREHEAP" objects "$work/text"
expect_exit 2 "is not a core file" -- "$COREHEAP" summary "$COREHEAP"
: > "$work/empty"
expect_exit 2 "is not an ELF file" -- "$COREHEAP" summary "$work/empty"
# An aarch64 ELF core header (e_machine 183) with no program headers.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\004\000\267\000\001\000\000\000' > "$work/arm64"
head -c 64 /dev/zero >> "$work/arm64"
expect_exit 2 "another architecture" -- "$COREHEAP" summary "$work/arm64"
expect_exit 2 "is not a regular file" -- "$COREHEAP" summary /dev/null
# Hostile or odd files given as the core (issue 9): refused at once, each
# with one line that says what is wrong. timeout turns a hang into a
# failure (status 124) instead of a stuck test.
mkfifo "$work/fifo"
expect_exit 2 "core '$work/fifo' is not a regular file (a FIFO)" -- \
	timeout 20 "$COREHEAP" summary "$work/fifo"
expect_exit 2 "core '$work' is not a regular file (a directory)" -- \
	"$COREHEAP" summary "$work"
head -c 16 "$work/arm64" > "$work/ident-only"
expect_exit 2 "is truncated: 16 bytes, too short to be an ELF file" -- \
	"$COREHEAP" summary "$work/ident-only"
# A big-endian ppc64 core header (EI_DATA 2, e_type and e_machine swapped).
printf '\177ELF\002\002\001\000\000\000\000\000\000\000\000\000\000\004\000\025\000\000\000\001' > "$work/ppc64"
head -c 64 /dev/zero >> "$work/ppc64"
expect_exit 2 "core '$work/ppc64' is big-endian (ELF machine 21, ppc64); only little-endian x86-64 cores are supported" -- \
	"$COREHEAP" summary "$work/ppc64"
# An i386 core header (ELFCLASS32, EM_386).
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000\004\000\003\000\001\000\000\000' > "$work/i386"
head -c 64 /dev/zero >> "$work/i386"
expect_exit 2 "is 32-bit (i386); only 64-bit x86-64 cores are supported" -- \
	"$COREHEAP" summary "$work/i386"

# Every command answers --help with its usage, on stdout, exit 0.
for command in $("$COREHEAP" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
	if "$COREHEAP" "$command" --help > "$work/out" 2>&1 &&
	   grep -q "^usage: coreheap $command" "$work/out"; then
		ok "$command --help"
	else
		fail "$command --help"; cat "$work/out"
	fi
done

# Real cores: a truncated one, and one whose executable is gone. The
# program is a copy of a fixture, dumped once it said it is ready.
if command -v gcore > /dev/null 2>&1; then
	cp "$FIXTURES/glibc_mixed" "$work/vanishing-program"
	if make_core "$work/vanishing-program" "$work/program"; then
		expect_exit 0 "" -- "$COREHEAP" summary "$core"
		size=$(stat -c %s "$core")
		head -c $((size / 2)) "$core" > "$work/truncated"
		expect_exit 1 "is truncated" -- "$COREHEAP" summary "$work/truncated"
		head -c 100 "$core" > "$work/headers-cut"
		expect_exit 2 "is truncated or damaged: its .* program headers at offset 64 run past its end (100 bytes)" -- \
			"$COREHEAP" summary "$work/headers-cut"
		rm -f "$work/vanishing-program"
		expect_exit 1 "binary of '$work/vanishing-program' not found" -- \
			"$COREHEAP" objects "$core"
		# What that costs: the range and the bytes of its mappings
		# the core left out (gcore saves no page of its code), as the
		# core's NT_FILE note and program headers tell.
		set --
		command -v python3 > /dev/null 2>&1 &&
			set -- $(python3 "$SRCDIR/tests/core-mappings.py" "$core" "$work/vanishing-program")
		if ! command -v python3 > /dev/null 2>&1; then
			echo "note: no python3: the cost of the missing binary is not checked"
		elif [ $# -eq 2 ]; then
			expect_exit 1 "binary of '$work/vanishing-program' not found (or its build-id differs): its symbols, and its code and data the core left out in $1 ($2 bytes), are unavailable" -- \
				"$COREHEAP" summary "$core"
		else
			fail "the core's headers say nothing of the program left out: $*"
		fi
		# The binary found again: under a sysroot, or named with --exe;
		# a different binary with the same name is refused (build-id).
		mkdir -p "$work/sysroot$work"
		cp "$FIXTURES/glibc_mixed" "$work/sysroot$work/vanishing-program"
		expect_exit 0 "" -- "$COREHEAP" objects --sysroot "$work/sysroot" "$core"
		cp "$FIXTURES/glibc_mixed" "$work/elsewhere-program"
		expect_exit 0 "" -- "$COREHEAP" objects --exe "$work/elsewhere-program" "$core"
		# An --exe that cannot be used is said, and the results are
		# partial; none is opened in a way that could block.
		expect_exit 1 "cannot open --exe '$work/no-such-exe': No such file or directory; it is ignored" -- \
			"$COREHEAP" summary --exe "$work/no-such-exe" "$core"
		expect_exit 1 "--exe '$work' is not a regular file (a directory); it is ignored" -- \
			"$COREHEAP" summary --exe "$work" "$core"
		expect_exit 1 "--exe '/dev/null' is not a regular file (a character device); it is ignored" -- \
			"$COREHEAP" summary --exe /dev/null "$core"
		expect_exit 1 "--exe '$work/fifo' is not a regular file (a FIFO); it is ignored" -- \
			timeout 20 "$COREHEAP" summary --exe "$work/fifo" "$core"
		head -c 4096 "$FIXTURES/glibc_mixed" > "$work/truncated-program"
		expect_exit 1 "--exe '$work/truncated-program' is truncated or damaged: 4096 bytes" -- \
			"$COREHEAP" summary --exe "$work/truncated-program" "$core"
		# Another program: told by build-id, or, in a core that holds
		# none (gcore saves no read-only page), by how it is mapped.
		cp /bin/true "$work/other-program"
		expect_exit 1 "--exe '$work/other-program' is another program: its .*; it is ignored" -- \
			"$COREHEAP" summary --exe "$work/other-program" "$core"
		expect_exit 1 "--sysroot '/dev/null' is not a directory; it is ignored" -- \
			"$COREHEAP" summary --sysroot /dev/null "$core"
		expect_exit 2 "plugin '$work/fifo' is not a regular file (a FIFO)" -- \
			timeout 20 "$COREHEAP" summary --plugin "$work/fifo" "$core"
		cp /bin/true "$work/vanishing-program"
		expect_exit 1 "binary of '$work/vanishing-program' not found (or its build-id differs)" -- \
			"$COREHEAP" objects "$core"
		# The core's own path to its executable now a FIFO: libdwfl,
		# which opens it itself, would block there.
		rm -f "$work/vanishing-program"
		mkfifo "$work/vanishing-program"
		expect_exit 1 "maps '$work/vanishing-program', which is no regular file here" -- \
			timeout 20 "$COREHEAP" summary "$core"
	fi
else
	echo "skip: no gcore, real-core checks not run"
fi

finish
