#!/bin/sh
# SPDX-License-Identifier: MIT
# glibc 2.42's struct offsets, the one version between 2.26 and 2.44 that
# no Debian release ships, so that tests/glibc-debian.sh cannot hold them
# to a libc6-dbg: the plugin's (tests/glibc_layout 2 42) against those of
# glibc 2.42's own definitions (tag glibc-2.42, malloc/malloc.c and
# malloc/arena.c), worked out here for x86-64 by hand:
#   malloc_state: the 2.27..2.41 one (the fastbins go in 2.43): mutex and
#     flags 4 bytes each, have_fastchunks, fastbinsY[10] at 16, top 96,
#     last_remainder 104, bins[254] 112, binmap[4] 2144, next 2160,
#     next_free 2168, attached_threads 2176, system_mem 2184,
#     max_system_mem 2192: 2200 bytes;
#   malloc_par: 5 words, thp_pagesize 40, hp_pagesize 48, hp_flags 56,
#     n_mmaps 60 and three more ints, mmapped_mem 80 (aligned),
#     max_mmapped_mem 88, sbrk_base 96, tcache_small_bins 104 (renamed
#     from tcache_bins), tcache_max_bytes 112, tcache_count 120,
#     tcache_unsorted_limit 128: 136 bytes;
#   heap_info: 5 words and 8 bytes of padding: 48;
#   tcache_perthread_struct: uint16_t num_slots[76] (64 small bins and 12
#     large), then tcache_entry *entries[76] at 152: 760 bytes.
. "$SRCDIR/tests/lib.sh"
test_init glibc-2.42-layout TESTS_BUILDDIR

cat > "$work/want" <<'END'
malloc_state.flags 4
malloc_state.fastbinsY 16
malloc_state.top 96
malloc_state.last_remainder 104
malloc_state.bins 112
malloc_state.next 2160
malloc_state.attached_threads 2176
malloc_state.system_mem 2184
malloc_state.sizeof 2200
malloc_par.mmap_threshold 16
malloc_par.hp_pagesize 48
malloc_par.n_mmaps 60
malloc_par.mmapped_mem 80
malloc_par.sbrk_base 96
malloc_par.tcache_small_bins 104
malloc_par.tcache_max_bytes 112
malloc_par.tcache_count 120
malloc_par.sizeof 136
_heap_info.sizeof 48
tcache_perthread_struct.num_slots 0
tcache_perthread_struct.num_slots.bytes 152
tcache_perthread_struct.entries 152
tcache_perthread_struct.entries.bytes 608
tcache_perthread_struct.sizeof 760
END
"$TESTS_BUILDDIR/glibc_layout" 2 42 > "$work/got"
check_same "glibc 2.42: the plugin's offsets are glibc 2.42's" \
	"$(cat "$work/want")" "$(cat "$work/got")"
finish
