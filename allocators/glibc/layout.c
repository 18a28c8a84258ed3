// SPDX-License-Identifier: MIT
// Struct offsets of ptmalloc per glibc version, x86-64. Sources: malloc/malloc.c
// and malloc/arena.c of glibc 2.26..2.43; checked with gdb `ptype /o` on
// Debian's 2.31, 2.36, 2.41, 2.43 and 2.44 (libc6-dbg).

#include <stddef.h>

#include "layout.h"

void ptm_layout_set_arena(struct ptm_layout *layout, enum ptm_arena_layout which)
{
	// mutex and flags are two ints; 2.27 added `int have_fastchunks` after
	// flags, which pads fastbinsY from 8 to 16 and shifts the rest by 8;
	// 2.43 removed both, so top follows flags.
	layout->ms_flags = 4;
	if (which == PTM_ARENA_2_43) {
		layout->ms_num_fastbins = 0;
		layout->ms_fastbins = 0;
		layout->ms_top = 8;
	} else {
		layout->ms_num_fastbins = PTM_NFASTBINS;
		layout->ms_fastbins = which == PTM_ARENA_2_26 ? 8 : 16;
		layout->ms_top = layout->ms_fastbins + PTM_NFASTBINS * 8;
	}
	layout->ms_last_remainder = layout->ms_top + 8;
	layout->ms_bins = layout->ms_last_remainder + 8;
	// bins[NBINS * 2 - 2], then binmap[4] of unsigned int
	layout->ms_next = layout->ms_bins + (PTM_NBINS * 2 - 2) * 8 + 4 * 4;
	layout->ms_attached_threads = layout->ms_next + 16;
	layout->ms_system_mem = layout->ms_attached_threads + 8;
	layout->ms_size = layout->ms_system_mem + 16;
}

void ptm_layout_set_heap_info(struct ptm_layout *layout, uint32_t size)
{
	layout->hi_size = size;
}

void ptm_layout_set_par(struct ptm_layout *layout, enum ptm_par_layout which)
{
	// trim_threshold, top_pad, mmap_threshold, arena_test, arena_max; 2.35
	// adds thp_pagesize, hp_pagesize and int hp_flags (HAVE_TUNABLES, which
	// every distribution build has); 2.43 puts an enum thp_mode first.
	uint32_t ints;

	layout->mp_mmap_threshold = 16;
	if (which == PTM_PAR_2_43) {
		layout->mp_hp_pagesize = 56;
		ints = 68;
	} else if (which == PTM_PAR_2_35) {
		layout->mp_hp_pagesize = 48;
		ints = 60;
	} else {
		layout->mp_hp_pagesize = 0;
		ints = 40;
	}
	// 2.43 keeps heaps at HEAP_MAX_SIZE whatever the huge page size.
	layout->hp_heap_max = which == PTM_PAR_2_35;
	// n_mmaps, n_mmaps_max, max_n_mmaps, no_dyn_threshold
	layout->mp_n_mmaps = ints;
	layout->mp_mmapped_mem = (ints + 16 + 7) & ~7u;
	layout->mp_sbrk_base = layout->mp_mmapped_mem + 16;
	layout->mp_tcache_bins = layout->mp_sbrk_base + 8;
	layout->mp_tcache_max_bytes = layout->mp_tcache_bins + 8;
	layout->mp_tcache_count = layout->mp_tcache_max_bytes + 8;
	// tcache_count, then tcache_unsorted_limit.
	layout->mp_size = layout->mp_tcache_count + 16;
}

static bool at_least(int major, int minor, int want_minor)
{
	return major > 2 || (major == 2 && minor >= want_minor);
}

void ptm_layout_set_par_size(struct ptm_layout *layout, int major, int minor)
{
	bool v2_44 = major != 0 && at_least(major, minor, 44);

	layout->mp_size = layout->mp_tcache_count + (v2_44 ? 8 : 16);
}

bool ptm_layout_set_tcache(struct ptm_layout *layout, uint64_t chunk_size)
{
	// counts[64] then entries[64] (2.42: num_slots[76], entries[76]); the
	// struct is a normal chunk, so its chunk size is the struct rounded up
	// plus the 8-byte size field.
	// The chunk may also be one ALIGN larger than asked (MINSIZE is two):
	// malloc leaves a remainder too small to split in the chunk, as a
	// thread that shares an arena meets when its cache is cut from a
	// free chunk.
	static const uint64_t asked_sizes[] = { 0x250, 0x290, 0x300, 0x310 };
	uint64_t asked = 0;

	for (size_t i = 0; i < sizeof(asked_sizes) / sizeof(*asked_sizes); i++) {
		if (chunk_size == asked_sizes[i] ||
		    chunk_size == asked_sizes[i] + PTM_ALIGN)
			asked = asked_sizes[i];
	}
	layout->tc_bins = PTM_TCACHE_SMALL_BINS;
	layout->tc_counts_slots = false;
	if (asked == 0x250) {
		layout->tc_count_width = 1;
		layout->tc_entries = 64;
	} else if (asked == 0x290) {
		layout->tc_count_width = 2;
		layout->tc_entries = 128;
	} else if (asked == 0x300 || asked == 0x310) {
		// 2.43's tcache_init(av) passes _int_malloc a size that
		// request2size already padded, which pads it again: 0x310.
		layout->tc_count_width = 2;
		layout->tc_entries = 2 * PTM_TCACHE_BINS;
		layout->tc_bins = PTM_TCACHE_BINS;
		layout->tc_counts_slots = true;
	} else {
		return false;
	}
	layout->tc_chunk_size = chunk_size;
	return true;
}

void ptm_layout_for_version(int major, int minor, struct ptm_layout *ret)
{
	bool unknown = major == 0;

	bool v2_43 = !unknown && at_least(major, minor, 43);

	*ret = (struct ptm_layout){0};
	ptm_layout_set_arena(ret, v2_43 ? PTM_ARENA_2_43 :
				  unknown || at_least(major, minor, 27) ?
				  PTM_ARENA_2_27 : PTM_ARENA_2_26);
	ptm_layout_set_heap_info(ret, unknown || at_least(major, minor, 35) ?
				      0x30 : 0x20);
	ptm_layout_set_par(ret, v2_43 ? PTM_PAR_2_43 :
				unknown || at_least(major, minor, 35) ?
				PTM_PAR_2_35 : PTM_PAR_2_26);
	ptm_layout_set_par_size(ret, major, minor);
	ptm_layout_set_tcache(ret, !unknown && at_least(major, minor, 42) ? 0x300 :
				   unknown || at_least(major, minor, 30) ?
				   0x290 : 0x250);
	ret->mm_tail = v2_43 ? 2 * PTM_SIZE_SZ : 0;
}

unsigned int ptm_tcache_bin(const struct ptm_layout *layout, uint64_t size)
{
	uint64_t bin;

	if (size < PTM_MINSIZE || size % PTM_ALIGN)
		return UINT32_MAX;
	bin = (size - PTM_MINSIZE) / PTM_ALIGN;
	if (bin < PTM_TCACHE_SMALL_BINS)
		return bin;
	if (layout->tc_bins <= PTM_TCACHE_SMALL_BINS)
		return UINT32_MAX;
	// large_csize2tidx: 64 + clz(MAX_TCACHE_SMALL_SIZE) - clz(size), the
	// small limit (1032 or 1040) having bit 10 as its highest: bin 64
	// holds sizes up to 2 KiB, each next bin twice as far.
	bin = PTM_TCACHE_SMALL_BINS;
	for (uint64_t limit = 2048; size >= limit && bin < layout->tc_bins;
	     limit *= 2)
		bin++;
	return bin < layout->tc_bins ? bin : UINT32_MAX;
}

unsigned int ptm_bin_index(uint64_t size)
{
	// smallbins hold one size each below MIN_LARGE_SIZE (64 * 16); largebin
	// spacing grows 64, 512, 4096, 32768, 262144 bytes (largebin_index_64).
	if (size < 1024)
		return size >> 4;
	if ((size >> 6) <= 48)
		return 48 + (size >> 6);
	if ((size >> 9) <= 20)
		return 91 + (size >> 9);
	if ((size >> 12) <= 10)
		return 110 + (size >> 12);
	if ((size >> 15) <= 4)
		return 119 + (size >> 15);
	if ((size >> 18) <= 2)
		return 124 + (size >> 18);
	return 126;
}
