#!/bin/sh
# SPDX-License-Identifier: MIT
# Compressed cores and cores on standard input (issue 13): a core
# compressed with zstd, xz, lz4 or gzip is read directly, known by its
# magic (the files here are named without a hint, or with a wrong one),
# and gives exactly the live set the fixture recorded; so does a core on
# standard input ('-'), compressed or not, for every command that reads
# one core. A compressed core cut short gives what its intact part holds,
# with exit 1 and a warning; hostile streams (a content size of 1 TiB in
# the header, a zip bomb, an xz dictionary of 1.5 GiB, garbage) take
# memory only for what they really hold, and fail with one clear line.
. "$SRCDIR/tests/lib.sh"
test_init compressed-cores FIXTURES
require_command zstd xz lz4 gzip python3

# live_set FILE: the "ADDRESS SIZE" lines of an objects --format jsonl
# answer, sorted, as the fixtures record their live set.
live_set() {
	sed 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\).*/\1 \2/' "$1" | sort
}

# compress FORMAT IN OUT
compress() {
	case $1 in
	zstd) zstd -q -c "$2" > "$3" ;;
	xz) xz -c "$2" > "$3" ;;
	# 64 KiB blocks: a cut stream still holds whole blocks.
	lz4) lz4 -q -B4 -c "$2" > "$3" ;;
	gzip) gzip -c "$2" > "$3" ;;
	esac
}

make_core "$FIXTURES/glibc_mixed" "$work/mixed" || finish
sort "$work/mixed.live" > "$work/want"
[ -s "$work/want" ] || { fail "the fixture recorded no live set"; finish; }
core_size=$(wc -c < "$core")

for format in zstd xz lz4 gzip; do
	compress $format "$core" "$work/$format-core"
	"$COREHEAP" objects --format jsonl "$work/$format-core" > "$work/out" 2> "$work/err"
	check_same "$format: exit status" 0 "$?"
	check_same "$format: the fixture's live set" "$(cat "$work/want")" \
		"$(live_set "$work/out")"
done
# The name says nothing: a gzip file named .zst is read as gzip.
cp "$work/gzip-core" "$work/misnamed.zst"
"$COREHEAP" objects --format jsonl "$work/misnamed.zst" > "$work/out" 2> "$work/err"
check_same "gzip named .zst: the fixture's live set" "$(cat "$work/want")" \
	"$(live_set "$work/out")"

# --verbose states the memory it takes.
"$COREHEAP" summary --verbose "$work/zstd-core" > /dev/null 2> "$work/err"
check_grep "--verbose: memory stated" \
	"^coreheap: core '$work/zstd-core': zstd-compressed, $(wc -c < "$work/zstd-core") bytes read, $core_size bytes in anonymous memory" \
	"$work/err"

# Standard input: compressed and not, the live set.
"$COREHEAP" objects --format jsonl - < "$work/xz-core" > "$work/out" 2> "$work/err"
check_same "xz on standard input: the fixture's live set" "$(cat "$work/want")" \
	"$(live_set "$work/out")"
cat "$core" | "$COREHEAP" objects --format jsonl - > "$work/out" 2> "$work/err"
check_same "a pipe: the fixture's live set" "$(cat "$work/want")" \
	"$(live_set "$work/out")"
# Every command that reads one core: on '-' as on the file (the same
# report; summary names the core <stdin>).
addr=$(sed -n '1s/ .*//p' "$work/mixed.live")
for command in summary objects types leaks top triage "describe $addr" \
	       "why $addr" "refs $addr"; do
	# shellcheck disable=SC2086 # the address is a word of its own
	"$COREHEAP" $command "$core" 2> /dev/null | grep -v '^core: ' > "$work/from-file"
	# shellcheck disable=SC2086
	"$COREHEAP" $command - < "$work/zstd-core" 2> "$work/err" |
		grep -v '^core: ' > "$work/from-stdin"
	if [ -s "$work/from-file" ] && cmp -s "$work/from-file" "$work/from-stdin"; then
		ok "$command -: the same report as from the file"
	else
		fail "$command -: not the report the file gives"
		diff "$work/from-file" "$work/from-stdin" | head -20
		cat "$work/err"
	fi
done

# report: the page of the core on standard input is the page of the file,
# but for the core's name.
"$COREHEAP" report -o - "$core" 2> /dev/null |
	sed "s|\"path\": \"$core\"|\"path\": CORE|" > "$work/from-file"
"$COREHEAP" report -o "$work/stdin.html" - < "$work/lz4-core" 2> "$work/err"
check_same "report -: exit status" 0 "$?"
sed 's|"path": "\\u003cstdin>"|"path": CORE|' "$work/stdin.html" > "$work/from-stdin"
if grep -q '"path": CORE' "$work/from-file" && cmp -s "$work/from-file" "$work/from-stdin"; then
	ok "report -: the page the file gives"
else
	fail "report -: not the page the file gives"
	diff "$work/from-file" "$work/from-stdin" | head -20
	cat "$work/err"
fi

# Cut short: a kernel core (its notes come first) compressed, then cut
# to four fifths. What is decompressed is the core's first N bytes, N as
# the warning says; the answer is that of the core cut at N bytes: some
# allocations (the heap comes early in the core), each one the fixture
# recorded, and the status is 1.
make_core "$FIXTURES/glibc_abort" "$work/abort" --kernel || finish
sort "$work/abort.live" > "$work/abort.want"
for format in zstd xz lz4 gzip; do
	compress $format "$core" "$work/abort.$format"
	size=$(wc -c < "$work/abort.$format")
	head -c $((size * 4 / 5)) "$work/abort.$format" > "$work/cut.$format"
	"$COREHEAP" objects --format jsonl "$work/cut.$format" > "$work/out" 2> "$work/err"
	check_same "$format cut short: exit status 1" 1 "$?"
	n=$(sed -n "s/^coreheap: warning: core '.*': the $format stream ends early (truncated), after \([0-9]*\) bytes decompressed; results cover what came before$/\1/p" "$work/err")
	if [ -z "$n" ] || [ "$n" -le 0 ] || [ "$n" -ge "$(wc -c < "$core")" ]; then
		fail "$format cut short: no warning with a byte count:"; cat "$work/err"
		continue
	fi
	ok "$format cut short: warned, $n bytes decompressed"
	head -c "$n" "$core" > "$work/prefix"
	"$COREHEAP" objects --format jsonl "$work/prefix" > "$work/prefix.out" 2> /dev/null
	check_same "$format cut short: the answer of the core's first $n bytes" \
		"$(cat "$work/prefix.out")" "$(cat "$work/out")"
	live_set "$work/out" > "$work/got"
	if [ -s "$work/got" ] && [ -z "$(comm -13 "$work/abort.want" "$work/got")" ]; then
		ok "$format cut short: $(wc -l < "$work/got") allocations, each recorded"
	else
		fail "$format cut short: none, or some not recorded:"
		comm -13 "$work/abort.want" "$work/got" | head
	fi
done

# Hostile streams.
# A zstd frame whose header claims 1 TiB, holding one block of 1000 zero
# bytes: no memory by the header's word (the largest resident set stays
# far below), one line.
printf '\050\265\057\375\300\000\000\000\000\000\000\001\000\000\103\037\000\000' > "$work/lying.zst"
expect_exit 2 "^coreheap: core '$work/lying.zst': the zstd stream" -- \
	/usr/bin/time -f 'rss %M' -o "$work/rss" "$COREHEAP" summary "$work/lying.zst"
rss=$(sed -n 's/^rss //p' "$work/rss")
if [ -n "$rss" ] && [ "$rss" -lt 400000 ]; then
	ok "1 TiB claimed: $rss KiB resident"
else
	fail "1 TiB claimed: '$rss' KiB resident"
fi
# The same claim in front of the real core: read by what it holds.
zstd -q --no-check --no-content-size -c "$work/mixed.core" > "$work/plain.zst"
python3 - "$work/plain.zst" "$work/claims-1tib.zst" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
# A frame header without a content size (descriptor 0): give it one of
# 8 bytes (descriptor 0xc0), after the window descriptor.
assert data[:4] == b'\x28\xb5\x2f\xfd' and data[4] == 0
open(sys.argv[2], 'wb').write(data[:4] + b'\xc0' + data[5:6] +
                              (1 << 40).to_bytes(8, 'little') + data[6:])
EOF
/usr/bin/time -f 'rss %M' -o "$work/rss" \
	"$COREHEAP" objects --format jsonl "$work/claims-1tib.zst" > "$work/out" 2> "$work/err"
rss=$(sed -n 's/^rss //p' "$work/rss")
if [ -n "$rss" ] && [ "$rss" -lt 400000 ]; then
	ok "a core claiming 1 TiB: $rss KiB resident"
else
	fail "a core claiming 1 TiB: '$rss' KiB resident"
fi
live_set "$work/out" > "$work/got"
check_same "a core claiming 1 TiB: only recorded allocations" "" \
	"$(comm -13 "$work/want" "$work/got")"
# A zip bomb: 1 GiB of zeros in 36 KiB, read up to the limit only.
head -c 1073741824 /dev/zero | zstd -q -1 > "$work/bomb.zst"
expect_exit 2 \
	"^coreheap: core '$work/bomb.zst' holds more than 67108864 bytes decompressed" -- \
	env COREHEAP_DECOMPRESS_LIMIT=64M /usr/bin/time -f 'rss %M' -o "$work/rss" "$COREHEAP" summary "$work/bomb.zst"
rss=$(sed -n 's/^rss //p' "$work/rss")
if [ -n "$rss" ] && [ "$rss" -lt 400000 ]; then
	ok "zip bomb under a 64 MiB limit: $rss KiB resident"
else
	fail "zip bomb under a 64 MiB limit: '$rss' KiB resident"
fi
# An xz stream whose dictionary would take 1.5 GiB.
printf 'x' | xz --lzma2=dict=1536MiB > "$work/big-dictionary.xz"
expect_exit 2 "dictionary needs more than 256 MiB" -- \
	"$COREHEAP" summary "$work/big-dictionary.xz"
# A magic and then garbage, for each format.
for magic in '\050\265\057\375' '\375\067\172\130\132\000' '\004\042\115\030' '\037\213'; do
	printf "${magic}garbage, not a stream at all" > "$work/garbage"
	expect_exit 2 "^coreheap: core '$work/garbage': the .* stream cannot be read past 0 bytes decompressed" -- \
		"$COREHEAP" summary "$work/garbage"
done
# Standard input a terminal (script(1) gives one): refused, not waited on.
if command -v script > /dev/null 2>&1; then
	script -qec "timeout 20 '$COREHEAP' summary -" /dev/null > "$work/tty" 2>&1
	check_grep "standard input a terminal: refused" \
		"^coreheap: core '-' is standard input, a terminal: give a file, or pipe one in" \
		"$work/tty"
fi
# Empty standard input.
expect_exit 2 "^coreheap: '<stdin>' is not an ELF file (0 bytes, no ELF magic)$" -- \
	"$COREHEAP" summary - < /dev/null

# A core larger than the memory decompression starts in (64 MiB, grown by
# mremap as it fills) and than the size from which its pages are faulted
# in ahead of the decoder, on a thread of their own: the live set exact
# from each format; the same summary as the file gives; the stage shown
# as progress for a file (CH_PROGRESS=1), not for a pipe, whose size is
# not known.
make_core "$FIXTURES/glibc_large" "$work/large" || finish
sort "$work/large.live" > "$work/want"
size=$(wc -c < "$core")
if [ "$size" -gt 100663296 ]; then
	ok "glibc_large: a core of $size bytes, more than 96 MiB"
else
	fail "glibc_large: a core of only $size bytes"
fi
"$COREHEAP" summary "$core" 2> /dev/null | grep -v '^core: ' > "$work/from-file"
for format in zstd lz4; do
	compress $format "$core" "$work/large.$format"
	CH_PROGRESS=1 "$COREHEAP" objects --format jsonl "$work/large.$format" \
		> "$work/out" 2> "$work/err"
	check_same "large, $format: exit status" 0 "$?"
	check_same "large, $format: the fixture's live set" "$(cat "$work/want")" \
		"$(live_set "$work/out")"
	check_grep "large, $format: decompression shown as progress" \
		'coreheap: decompressing the core  *[0-9]*%' "$work/err"
	"$COREHEAP" summary - < "$work/large.$format" 2> "$work/err" |
		grep -v '^core: ' > "$work/from-stdin"
	check_same "large, $format on standard input: the summary of the file" \
		"$(cat "$work/from-file")" "$(cat "$work/from-stdin")"
done
cat "$work/large.zstd" |
	CH_PROGRESS=1 "$COREHEAP" summary - > /dev/null 2> "$work/err"
if grep -q 'decompressing' "$work/err"; then
	fail "a pipe: decompression shown as progress, of an unknown size"
else
	ok "a pipe: no progress for decompression"
fi
finish
