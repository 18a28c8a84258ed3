#!/bin/sh
# Bad input on the command line: one clear line on stderr and the
# documented exit status (0 ok, 1 partial, 2 fatal, 64 usage), no crash.
. "$SRCDIR/tests/lib.sh"
test_init cli-errors FIXTURES

expect_exit 64 "usage" -- "$COREHEAP"
expect_exit 64 "unknown command 'frobnicate'" -- "$COREHEAP" frobnicate x
expect_exit 64 "unknown option" -- "$COREHEAP" summary --no-such-option core
expect_exit 64 "unknown format 'xml'" -- "$COREHEAP" objects --format xml core
expect_exit 64 "takes one core" -- "$COREHEAP" summary
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
		expect_exit 2 "truncated inside its program headers" -- "$COREHEAP" summary "$work/headers-cut"
		rm -f "$work/vanishing-program"
		expect_exit 1 "binary of '$work/vanishing-program' not found" -- \
			"$COREHEAP" objects "$core"
		# The binary found again: under a sysroot, or named with --exe;
		# a different binary with the same name is refused (build-id).
		mkdir -p "$work/sysroot$work"
		cp "$FIXTURES/glibc_mixed" "$work/sysroot$work/vanishing-program"
		expect_exit 0 "" -- "$COREHEAP" objects --sysroot "$work/sysroot" "$core"
		cp "$FIXTURES/glibc_mixed" "$work/elsewhere-program"
		expect_exit 0 "" -- "$COREHEAP" objects --exe "$work/elsewhere-program" "$core"
		cp /bin/true "$work/vanishing-program"
		expect_exit 1 "binary of '$work/vanishing-program' not found (or its build-id differs)" -- \
			"$COREHEAP" objects "$core"
	fi
else
	echo "skip: no gcore, real-core checks not run"
fi

finish
