/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Where ptmalloc keeps its fields, per glibc version (x86-64 / LP64 only).
 *
 * glibc changed its private structs a few times between 2.26 and 2.44; the
 * plugin never includes glibc's headers, so every offset it needs is here.
 * A layout starts from the version number (when known) and is then corrected
 * from what the core itself shows, because distributions backport changes
 * (RHEL 8's 2.28 has safe-linking from 2.32).
 */
#ifndef COREHEAP_GLIBC_LAYOUT_H
#define COREHEAP_GLIBC_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/** sizeof(size_t) on LP64: chunk header words. */
#define PTM_SIZE_SZ 8
/** Two words of chunk header precede the memory malloc returns. */
#define PTM_CHUNK_HDR 16
/** MALLOC_ALIGNMENT on x86-64. */
#define PTM_ALIGN 16
/** The smallest chunk. */
#define PTM_MINSIZE 32
/** Low bits of a chunk's size field. */
#define PTM_PREV_INUSE 0x1
#define PTM_IS_MMAPPED 0x2
#define PTM_NON_MAIN_ARENA 0x4
#define PTM_FLAG_BITS 0x7
/** NFASTBINS (up to 2.42; 2.43 has no fastbins), NBINS on 64-bit. */
/** The newest glibc whose structures the layouts here follow: 2.44. */
#define PTM_NEWEST_MINOR 44

#define PTM_NFASTBINS 10
#define PTM_NBINS 128
/** The first large bin (MIN_LARGE_SIZE 0x400): chunks on a ring of sizes. */
#define PTM_FIRST_LARGE_BIN 64
/**
 * TCACHE_MAX_BINS: 64 up to 2.41; from 2.42 TCACHE_SMALL_BINS (64, one size
 * each) + TCACHE_LARGE_BINS (12, a power-of-two size range each).
 */
#define PTM_TCACHE_SMALL_BINS 64
#define PTM_TCACHE_BINS 76
/** Default HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX. */
#define PTM_HEAP_MAX_SIZE (64ull << 20)
/** Pages of mmapped chunks and of heaps (huge pages are rounded to this). */
#define PTM_PAGE_SIZE 4096ull
/** NONCONTIGUOUS_BIT in malloc_state.flags. */
#define PTM_NONCONTIGUOUS 0x2

/** Byte offsets of the fields the plugin reads; 0 size means "absent". */
struct ptm_layout {
	// struct malloc_state
	uint32_t ms_flags;
	uint32_t ms_num_fastbins; // 0 from 2.43: no fastbinsY
	uint32_t ms_fastbins;
	uint32_t ms_top;
	uint32_t ms_last_remainder;
	uint32_t ms_bins;
	uint32_t ms_next;
	uint32_t ms_attached_threads;
	uint32_t ms_system_mem;
	uint32_t ms_size;

	// struct _heap_info (ar_ptr, prev, size, mprotect_size at 0/8/16/24)
	uint32_t hi_size;

	// struct malloc_par
	uint32_t mp_mmap_threshold;
	uint32_t mp_hp_pagesize; // 0: no such field
	uint32_t mp_n_mmaps;
	uint32_t mp_mmapped_mem;
	uint32_t mp_sbrk_base;
	uint32_t mp_tcache_bins;
	uint32_t mp_tcache_max_bytes;
	uint32_t mp_tcache_count;
	uint32_t mp_size;
	/** HEAP_MAX_SIZE is 4 * mp_.hp_pagesize when that is set (2.35..2.42). */
	bool hp_heap_max;

	// struct tcache_perthread_struct
	uint32_t tc_count_width; // 1 (char, < 2.30) or 2 (uint16_t)
	uint32_t tc_entries;
	uint32_t tc_chunk_size;  // its chunk: 0x250, 0x290, 0x300 (or 0x310)
	uint32_t tc_bins;        // 64, or 76 from 2.42
	/**
	 * 2.42+: num_slots[] counts the free slots left (tcache_count at
	 * first, one less per chunk put), not the chunks held.
	 */
	bool tc_counts_slots;

	/**
	 * mmapped chunks: 0 when the chunk's size reaches the mapping's end
	 * (up to 2.42), 16 when a last chunk header follows it (2.43).
	 */
	uint32_t mm_tail;
};

/**
 * malloc_state layout variants: 2.26 lacks have_fastchunks, 2.43 has neither
 * it nor fastbinsY.
 */
enum ptm_arena_layout {
	PTM_ARENA_2_26 = 0,
	PTM_ARENA_2_27 = 1,
	PTM_ARENA_2_43 = 2,
};
#define PTM_ARENA_LAYOUTS 3

/**
 * malloc_par layout variants: 2.35 adds thp_pagesize, hp_pagesize and
 * hp_flags; 2.43 adds thp_mode before them (2.44 drops the last field,
 * which only its size shows: ptm_layout_set_par_size).
 */
enum ptm_par_layout {
	PTM_PAR_2_26 = 0,
	PTM_PAR_2_35 = 1,
	PTM_PAR_2_43 = 2,
};
#define PTM_PAR_LAYOUTS 3

/**
 * Fill @p ret with the layout of glibc @p major.@p minor; a version of 0.0
 * (unknown) gives the 2.35..2.41 layout, corrected later from the core.
 */
void ptm_layout_for_version(int major, int minor, struct ptm_layout *ret);

/** Switch only the malloc_state part of @p layout. */
void ptm_layout_set_arena(struct ptm_layout *layout, enum ptm_arena_layout which);

/** Switch only the malloc_par part of @p layout. */
void ptm_layout_set_par(struct ptm_layout *layout, enum ptm_par_layout which);

/**
 * malloc_par's size for glibc @p major.@p minor (0.0: unknown, taken as
 * before 2.44), its fields being those @p layout has: 2.44 removed its
 * last one, tcache_unsorted_limit. The size tells how much of libc's data
 * is mp_ and no root.
 */
void ptm_layout_set_par_size(struct ptm_layout *layout, int major, int minor);

/** Switch the heap_info part: sizeof is 0x20 before 2.35, 0x30 from 2.35. */
void ptm_layout_set_heap_info(struct ptm_layout *layout, uint32_t size);

/**
 * Switch the tcache part from the size of the tcache_perthread_struct chunk
 * (0x250: char counts, 0x290: uint16_t counts, 0x300 or 0x310: 76
 * uint16_t free slot counts). False if none.
 */
bool ptm_layout_set_tcache(struct ptm_layout *layout, uint64_t chunk_size);

/** Offset of bins[] entry pair for bin @p i (1..127) inside malloc_state. */
static inline uint32_t ptm_bin_offset(const struct ptm_layout *layout,
				      unsigned int i)
{
	return layout->ms_bins + (i - 1) * 2 * PTM_SIZE_SZ;
}

/**
 * bin_at(arena, i): the fake chunk whose fd/bk overlay bin @p i, so that an
 * empty bin points at itself.
 */
static inline uint64_t ptm_bin_at(const struct ptm_layout *layout,
				  uint64_t arena, unsigned int i)
{
	return arena + ptm_bin_offset(layout, i) - PTM_CHUNK_HDR;
}

/** glibc's bin_index() for a chunk size, 64-bit. */
unsigned int ptm_bin_index(uint64_t size);

/**
 * The tcache bin that holds chunks of @p size (csize2tidx, and from 2.42
 * large_csize2tidx past the small bins), or UINT32_MAX if none of
 * @p layout's bins does.
 */
unsigned int ptm_tcache_bin(const struct ptm_layout *layout, uint64_t size);

#endif /* COREHEAP_GLIBC_LAYOUT_H */
