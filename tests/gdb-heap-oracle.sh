#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gdb-heap-oracle.sh BINARY CORE                 print the handed-out set
# gdb-heap-oracle.sh BINARY CORE LIVE_FILE       check a recorded live set
# gdb-heap-oracle.sh --explain BINARY CORE DIFF  say what chunks are
#
# Asks gdb (with libc6-dbg) which chunks glibc malloc has handed out, by
# its own data: every chunk a walk of each arena's heap sees in use, less
# the chunks in tcaches and fastbins and the tcache_perthread_structs.
# Without LIVE_FILE it prints them as the recorder does ("0xADDRESS
# USABLE_SIZE", sorted; mmapped blocks are not listed: glibc keeps no list
# of them).
#
# With LIVE_FILE (a recorder dump), checks it: the heap chunks must match
# exactly, and every other recorded block must have an IS_MMAPPED chunk
# header with that usable size, with as many of them and as many bytes as
# mp_.n_mmaps and mp_.mmapped_mem say. This is the independent check that
# no allocation escapes the recorder.
#
# With --explain, reads the 0x addresses in DIFF (a test's .diff report, or
# any text) and says for each what glibc's data says it is: a live chunk, a
# tcache or fastbin entry, a free chunk, the top chunk, malloc metadata, an
# mmapped chunk, or no chunk start at all.
#
# Exit 0 if all agree (or on printing), 1 if not, 77 if gdb or libc's
# debug info is missing.

set -u

die() {
	echo "gdb-heap-oracle.sh: $*" >&2
	exit 1
}

explain=false
if [ "${1-}" = --explain ]; then
	explain=true
	shift
fi
[ $# -ge 2 ] || die "usage: $0 [--explain] BINARY CORE [LIVE_FILE|DIFF]"
binary=$1
core=$2
live=${3-}

# The gdb side: prints one line per fact.
write_gdb_script() {
	cat <<'EOF'
# An independent look at glibc 2.3x's heap in a core, for checking the
# recorder (and for debugging a coreheap mismatch). Needs libc's debug info
# (libc6-dbg): it reads main_arena, mp_ and each thread's tcache. Prints
# one line per fact, for gdb-heap-oracle.sh to join:
#   arena ARENA FIRST_CHUNK END      each heap of each arena, walked from
#                                    FIRST_CHUNK to END (top or heap end)
#   chunk ARENA 0xMEM CHUNKSIZE INUSE every chunk of its heap up to top
#                                    (INUSE: the next chunk's PREV_INUSE bit)
#   fast ARENA 0xMEM                 each chunk in that arena's fastbins
#   tcache_struct 0xMEM              each thread's tcache_perthread_struct
#   tcache 0xMEM                     each chunk in a thread's tcache
#   mmapped COUNT BYTES              mp_.n_mmaps and mp_.mmapped_mem
#   error ...                        something it could not walk
# Tcache and fastbin chunks still look in use to a heap walk; the other
# in-use chunks are exactly what malloc handed out and has not got back.

set pagination off
set confirm off
set print thread-events off

# $arg0: arena, $arg1: first chunk, $arg2: a limit the walk must not pass.
# The walk ends at the arena's top, or at a fencepost (a 16-byte chunk that
# closes a heap or a piece of main_arena). Sets $walk_end to where it
# stopped. (Arguments of user commands are split at spaces: pass variables,
# not expressions.)
define oracle_walk_heap
	set $chunk = (char *) $arg1
	set $limit = (char *) $arg2
	set $arena_top = (char *) ((struct malloc_state *) $arg0)->top
	set $first_chunk = $chunk
	set $steps = 0
	while $chunk < $limit && $chunk != $arena_top && $steps < 10000000
		set $size = *(unsigned long *)($chunk + 8) & ~7UL
		if $size == 16
			loop_break
		end
		if $size < 32 || ($size & 15) != 0
			printf "error bad chunk size %lu at 0x%lx\n", $size, (unsigned long) $chunk
			loop_break
		end
		set $next = $chunk + $size
		printf "chunk 0x%lx 0x%lx %lu %lu\n", (unsigned long) $arg0, (unsigned long)($chunk + 16), $size, *(unsigned long *)($next + 8) & 1
		set $chunk = $next
		set $steps = $steps + 1
	end
	set $walk_end = $chunk
	printf "arena 0x%lx 0x%lx 0x%lx\n", (unsigned long) $arg0, (unsigned long) $first_chunk, (unsigned long) $chunk
end

# Fastbin fd pointers are mangled (safe-linking, glibc 2.32+):
# stored = real ^ (address of the field >> 12); fd is at chunk + 16.
define oracle_walk_fastbins
	set $bin = 0
	while $bin < 10
		set $fchunk = ((struct malloc_state *) $arg0)->fastbinsY[$bin]
		set $n = 0
		while $fchunk != 0 && $n < 100000
			printf "fast 0x%lx 0x%lx\n", (unsigned long) $arg0, (unsigned long) $fchunk + 16
			set $fchunk = (mchunkptr)((((unsigned long) &$fchunk->fd) >> 12) ^ (unsigned long) $fchunk->fd)
			set $n = $n + 1
		end
		set $bin = $bin + 1
	end
end

# A non-main arena's heaps are HEAP_MAX_SIZE (64 MiB) aligned and chained
# newest to oldest through heap_info.prev; the newest holds top. The arena
# itself sits in its first heap right after the heap_info, and that heap's
# first chunk follows the malloc_state, aligned so that the chunk's memory
# is 16-byte aligned. In later heaps the first chunk follows the heap_info.
define oracle_walk_arena_heaps
	set $heap = (heap_info *)((unsigned long) $arg0->top & ~(64UL * 1024 * 1024 - 1))
	set $heaps = 0
	while $heap != 0 && $heaps < 10000
		if (char *) $heap->ar_ptr == (char *)($heap + 1)
			set $first = (char *)((struct malloc_state *) $arg0 + 1)
			set $misalign = ((unsigned long) $first + 16) & 15
			if $misalign != 0
				set $first = $first + 16 - $misalign
			end
		else
			set $first = (char *)($heap + 1)
		end
		if (char *) $arg0->top >= (char *) $heap && (char *) $arg0->top < (char *) $heap + $heap->size
			oracle_walk_heap $arg0 $first $arg0->top
			if $walk_end != (char *) $arg0->top
				printf "error the walk of arena 0x%lx stopped at 0x%lx, not at top\n", (unsigned long) $arg0, (unsigned long) $walk_end
			end
		else
			set $heap_end = (char *) $heap + $heap->size
			oracle_walk_heap $arg0 $first $heap_end
			if (*(unsigned long *)($walk_end + 8) & ~7UL) != 16
				printf "error heap 0x%lx does not end in a fencepost\n", (unsigned long) $heap
			end
		end
		set $heap = $heap->prev
		set $heaps = $heaps + 1
	end
end

# main_arena grows by brk from mp_.sbrk_base; its first chunk is aligned so
# that the chunk's memory is 16-byte aligned (sbrk_base is not aligned if
# the program moved the break itself first). It can come in pieces that
# glibc keeps no list of: each but the last ends in a fencepost.
# - A foreign sbrk (the program moved the break between two of malloc's):
#   the next piece starts after the foreign bytes. Found by scanning (up to
#   1 MiB) for the first address from which the chunks lead exactly to top
#   or to another fencepost.
# - brk failed (a mapping in the way): glibc went on in an mmap and flagged
#   the arena NONCONTIGUOUS (2). The shell passes the start of the core
#   segment that holds top as $second_piece (0 if none).
# A wrong guess cannot pass: its chunks would not match the recorder's.
define oracle_find_next_piece
	set $piece = 0
	set $candidate = (char *) $arg0
	set $candidate_end = $candidate + 1048576
	while $piece == 0 && $candidate < $candidate_end
		set $c = $candidate
		set $n = 0
		while $n < 100000
			set $s = *(unsigned long *)($c + 8) & ~7UL
			if $c == (char *) main_arena.top || ($s == 16 && $n > 0)
				set $piece = $candidate
				loop_break
			end
			if $s < 32 || ($s & 15) != 0
				loop_break
			end
			set $c = $c + $s
			set $n = $n + 1
		end
		set $candidate = $candidate + 16
	end
end

define oracle_walk_main_heap
	set $piece_start = (char *) mp_.sbrk_base
	set $misalign = ((unsigned long) $piece_start + 16) & 15
	if $misalign != 0
		set $piece_start = $piece_start + 16 - $misalign
	end
	set $no_limit = (char *) -1
	set $used_second_piece = 0
	set $pieces = 0
	while $pieces < 100
		oracle_walk_heap &main_arena $piece_start $no_limit
		set $pieces = $pieces + 1
		if $walk_end == (char *) main_arena.top
			loop_break
		end
		if (*(unsigned long *)($walk_end + 8) & ~7UL) != 16
			loop_break
		end
		if (main_arena.flags & 2) && $second_piece != 0 && !$used_second_piece
			set $piece_start = (char *) $second_piece
			set $used_second_piece = 1
		else
			set $piece_end = $walk_end + 32
			oracle_find_next_piece $piece_end
			if $piece == 0
				printf "error no piece of main_arena found after the fencepost at 0x%lx\n", (unsigned long) $walk_end
				loop_break
			end
			set $piece_start = $piece
		end
	end
	if $walk_end != (char *) main_arena.top
		printf "error the walk of main_arena stopped at 0x%lx, not at top 0x%lx\n", (unsigned long) $walk_end, (unsigned long) main_arena.top
	end
end

define oracle_walk_arenas
	set $arena = &main_arena
	set $arenas = 0
	while $arenas < 1000
		if $arena == &main_arena
			oracle_walk_main_heap
		else
			oracle_walk_arena_heaps $arena
		end
		oracle_walk_fastbins $arena
		set $arena = $arena->next
		set $arenas = $arenas + 1
		if $arena == &main_arena
			loop_break
		end
	end
end

# Tcache next pointers are mangled like fastbin fds; next is at the entry.
define oracle_walk_tcache
	if tcache != 0
		printf "tcache_struct 0x%lx\n", (unsigned long) tcache
		set $bin = 0
		while $bin < 64
			set $entry = tcache->entries[$bin]
			set $n = 0
			while $entry != 0 && $n < 1000
				printf "tcache 0x%lx\n", (unsigned long) $entry
				set $entry = (tcache_entry *)((((unsigned long) $entry) >> 12) ^ (unsigned long) $entry->next)
				set $n = $n + 1
			end
			set $bin = $bin + 1
		end
	end
end

oracle_walk_arenas
thread apply all -q oracle_walk_tcache
printf "mmapped %d %lu\n", mp_.n_mmaps, mp_.mmapped_mem
EOF
}

command -v gdb >/dev/null 2>&1 || { echo "gdb-heap-oracle.sh: SKIP: no gdb" >&2; exit 77; }

work=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$work"' EXIT

# Start of the core segment holding main_arena.top when main_arena is
# non-contiguous and top is not in the brk heap; else 0.
find_second_piece() {
	local flags top base type vaddr memsz

	read -r flags top base < <(gdb -batch -nx \
		-ex 'printf "ORACLE %lu %lu %lu\n", main_arena.flags, main_arena.top, mp_.sbrk_base' \
		"$binary" "$core" 2>/dev/null | sed -n 's/^ORACLE //p')
	if [ -z "${flags-}" ] || (( !(flags & 2) )); then
		echo 0
		return
	fi
	while read -r type _ vaddr _ _ memsz _; do
		if [ "$type" = LOAD ] && (( top >= vaddr && top < vaddr + memsz )); then
			if (( base >= vaddr && base < vaddr + memsz )); then
				echo 0
			else
				echo "$vaddr"
			fi
			return
		fi
	done < <(readelf -lW "$core")
	echo 0
}

# gdb.out: the facts, as listed at the top of the gdb script.
walk_with_gdb() {
	write_gdb_script >"$work/oracle.gdb"
	gdb -batch -nx -ex "set \$second_piece = $(find_second_piece)" \
		-x "$work/oracle.gdb" "$binary" "$core" \
		>"$work/gdb.out" 2>"$work/gdb.err"
	if grep -q '^error' "$work/gdb.out" || ! grep -q '^mmapped ' "$work/gdb.out"; then
		if grep -q 'No symbol "mp_"\|No symbol "main_arena"' "$work/gdb.err"; then
			echo "gdb-heap-oracle.sh: SKIP: no debug info for libc (install libc6-dbg)" >&2
			exit 77
		fi
		cat "$work/gdb.err" >&2
		grep '^error' "$work/gdb.out" >&2
		die "the gdb heap walk failed"
	fi
}

# oracle: in-use chunks of all arenas as "0xMEM USABLE", minus what malloc
# keeps for itself (tcache and fastbin entries, tcache structs).
compute_oracle() {
	awk '$1 == "chunk" && $5 == 1 { printf "%s %d\n", $3, $4 - 8 }' \
		"$work/gdb.out" | sort >"$work/inuse"
	awk '$1 == "tcache" || $1 == "tcache_struct" { print $2 } $1 == "fast" { print $3 }' \
		"$work/gdb.out" | sort -u >"$work/not_handed_out"
	join -v 1 "$work/inuse" "$work/not_handed_out" | sort >"$work/oracle"
	mapfile -t arenas < <(awk '$1 == "arena" { print $3, $4 }' "$work/gdb.out")
}

in_some_arena() {
	local range first top
	for range in "${arenas[@]}"; do
		first=${range% *}
		top=${range#* }
		if (( $1 >= first && $1 < top )); then
			return 0
		fi
	done
	return 1
}

# For each address on stdin, "mm ADDRESS PREV_SIZE SIZE_FIELD" from the core.
read_chunk_headers() {
	local address
	while read -r address; do
		echo "printf \"mm $address %lu %lu\\n\", *(unsigned long *)($address - 16), *(unsigned long *)($address - 8)"
	done >"$work/headers.gdb"
	gdb -batch -nx -x "$work/headers.gdb" "$binary" "$core" 2>/dev/null | grep '^mm '
}

check_live_set() {
	local address size status=0 count=0 bytes=0 chunk_size
	local prev_size size_field expected_count expected_bytes

	: >"$work/recorded_heap"
	: >"$work/recorded_mmapped"
	while read -r address size; do
		if in_some_arena "$address"; then
			echo "$address $size" >>"$work/recorded_heap"
		else
			echo "$address $size" >>"$work/recorded_mmapped"
		fi
	done <"$live"
	sort -o "$work/recorded_heap" "$work/recorded_heap"

	echo "$(wc -l <"$live") recorded live blocks; ${#arenas[@]} arenas;" \
		"gdb sees $(wc -l <"$work/oracle") handed-out heap chunks" \
		"($(grep -c '^tcache ' "$work/gdb.out") chunks in tcaches," \
		"$(grep -c '^fast ' "$work/gdb.out") in fastbins)"
	if cmp -s "$work/oracle" "$work/recorded_heap"; then
		echo "heaps: recorder and gdb agree on $(wc -l <"$work/oracle") blocks"
	else
		status=1
		echo "heaps: recorder and gdb DISAGREE"
		echo "handed out per gdb, not recorded (escaped the recorder?):"
		comm -23 "$work/oracle" "$work/recorded_heap" | sed 's/^/  /'
		echo "recorded, not handed out per gdb:"
		comm -13 "$work/oracle" "$work/recorded_heap" | sed 's/^/  /'
	fi

	# Every other recorded block must be an mmapped chunk.
	awk '{ print $1 }' "$work/recorded_mmapped" | read_chunk_headers >"$work/mmapped.out"
	read -r _ expected_count expected_bytes < <(grep '^mmapped ' "$work/gdb.out")
	while read -r _ address prev_size size_field; do
		size=$(awk -v a="$address" '$1 == a { print $2 }' "$work/recorded_mmapped")
		chunk_size=$((size_field & ~7))
		if (( !(size_field & 2) )); then
			status=1
			echo "recorded $address $size: outside every arena, but no IS_MMAPPED bit (size field $size_field)"
		elif (( chunk_size - 16 != size )); then
			status=1
			echo "recorded $address $size: mmapped chunk of $chunk_size bytes has usable size $((chunk_size - 16))"
		fi
		count=$((count + 1))
		bytes=$((bytes + prev_size + chunk_size))
	done <"$work/mmapped.out"
	if (( count != $(wc -l <"$work/recorded_mmapped") )); then
		status=1
		echo "mmapped: gdb could not read every recorded mmapped block's header"
	fi
	if (( count == expected_count && bytes == expected_bytes )); then
		echo "mmapped: recorder and mp_ agree on $count blocks, $bytes bytes"
	else
		status=1
		echo "mmapped: recorder has $count blocks of $bytes bytes, mp_ says $expected_count blocks of $expected_bytes bytes"
	fi
	return $status
}

# What one address is, per glibc's own data in the core.
explain_address() {
	local address=$1 line chunk_size inuse arena
	local mem start end prev_size size_field

	if grep -qx "tcache_struct $address" "$work/gdb.out"; then
		echo "$address: a thread's tcache_perthread_struct (malloc's own metadata, not live)"
		return
	fi
	if grep -qx "tcache $address" "$work/gdb.out"; then
		echo "$address: freed, in a thread's tcache (not live)"
		return
	fi
	line=$(grep " $address\$" "$work/gdb.out" | grep '^fast ')
	if [ -n "$line" ]; then
		read -r _ arena _ <<<"$line"
		echo "$address: freed, in a fastbin of arena $arena (not live)"
		return
	fi
	line=$(grep "^chunk [^ ]* $address " "$work/gdb.out")
	if [ -n "$line" ]; then
		read -r _ arena _ chunk_size inuse <<<"$line"
		if [ "$inuse" = 1 ]; then
			echo "$address: live chunk of arena $arena, chunk size $chunk_size, usable $((chunk_size - 8))"
		else
			echo "$address: free chunk of arena $arena (bins or unsorted), chunk size $chunk_size (not live)"
		fi
		return
	fi
	while read -r _ arena start end; do
		if (( address - 16 == end )); then
			echo "$address: the top chunk of arena $arena (not live)"
			return
		fi
		if (( address >= start && address < end )); then
			# Inside the heap but not a chunk start: find its chunk.
			while read -r _ _ mem chunk_size inuse; do
				if (( address >= mem - 16 && address < mem - 16 + chunk_size )); then
					echo "$address: not a chunk start; inside the chunk at $mem (size $chunk_size, in use $inuse) of arena $arena"
					return
				fi
			done < <(grep "^chunk $arena " "$work/gdb.out")
			echo "$address: inside arena $arena's heap, in no chunk"
			return
		fi
	done < <(grep '^arena ' "$work/gdb.out")
	read -r _ _ prev_size size_field < <(echo "$address" | read_chunk_headers)
	if [ -z "${size_field-}" ]; then
		echo "$address: outside every arena and unreadable in the core"
	elif (( size_field & 2 )); then
		echo "$address: an mmapped chunk (IS_MMAPPED), chunk size $((size_field & ~7)), usable $(((size_field & ~7) - 16)), offset $prev_size into its mapping"
	else
		echo "$address: outside every arena and not an mmapped chunk (size field $size_field)"
	fi
}

walk_with_gdb
compute_oracle
if $explain; then
	[ -n "$live" ] || die "--explain needs a file with addresses"
	grep -o '0x[0-9a-fA-F]\+' "$live" | sort -u | while read -r address; do
		explain_address "$address"
	done
	exit 0
fi
if [ -z "$live" ]; then
	cat "$work/oracle"
	exit 0
fi
check_live_set
