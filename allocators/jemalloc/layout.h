/* SPDX-License-Identifier: MIT */
/**
 * @file
 * jemalloc on x86-64 (LG_VADDR 48, 4 KiB pages, 16-byte quantum): the
 * layouts and constants the plugin relies on.
 *
 * What all supported versions share is a constant here; what differs is a
 * field of struct jem_layout, one table per version (layouts.c), chosen
 * by the version string found in the core. Each table was read from that
 * tag's sources (github:jemalloc/jemalloc) and checked against the DWARF of
 * a build of the tag configured as Debian builds it (prof, stats, fill,
 * cache-oblivious on: mallctl "config.*" of Debian's library): there
 * sizeof(tsd_t) is exactly the PT_TLS size of Debian's libjemalloc.so.2,
 * whose only TLS variable is the tsd (2632 bytes for 5.3.0, Debian 12;
 * 6216 for 5.2.1, Debian 11). The file names below are those of the source.
 */
#ifndef COREHEAP_JEMALLOC_LAYOUT_H
#define COREHEAP_JEMALLOC_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JEM_LG_PAGE 12
#define JEM_PAGE ((uint64_t)1 << JEM_LG_PAGE)
#define JEM_PAGE_MASK (JEM_PAGE - 1)

/* sc.h: SC_NSIZES and SC_NBINS for LG_QUANTUM 4, LG_PAGE 12, 64-bit. */
#define JEM_NSIZES 232
#define JEM_NBINS 36
/*
 * jemalloc_internal_types.h: 12 bits of arena index (MALLOCX_ARENA_BITS),
 * all ones meaning none; je_arenas has MALLOCX_ARENA_LIMIT = 4095 entries,
 * and the word after it is another variable.
 */
#define JEM_MAX_ARENAS 4096
#define JEM_ARENAS_LEN 4095

/*
 * rtree.h: the radix tree's shape follows the virtual address bits that
 * jemalloc's configure found on the CPU it was built on (LG_VADDR); a key
 * is an address without its page offset (RTREE_NLIB, 12 bits):
 *  - 48 bits: RTREE_NHIB 16, RTREE_NSB 36, height 2: the root and every
 *    leaf have 2^18 slots of one word. A key's root slot is bits 47..30,
 *    its leaf slot bits 29..12. Leaves are "compact" in both versions:
 *    szind in bits 63..48 and slab in bit 0; the rest differs (struct
 *    jem_layout).
 *  - 57 bits (a CPU with 5-level paging): RTREE_NHIB 7, RTREE_NSB 45,
 *    height 3: the root, the nodes under it and the leaves have 2^15
 *    slots each (key bits 56..42, 41..27, 26..12). NHIB is below
 *    LG_CEIL(SC_NSIZES) = 8, so the leaves are not compact: a slot is the
 *    edata pointer and a 32-bit word, 16 bytes. 5.3's word (le_metadata)
 *    holds slab in bit 0, is_head in bit 1, the state in bits 4..2 and
 *    szind from bit 5; 5.2's is szind (le_szind), then the slab byte.
 * The root is an array of rtree_t, RTREE_NSB / height bits' worth of
 * slots: its symbol's size tells the shape. The scan for a root without
 * symbols knows the 48-bit shape only (JEM_RTREE_BITS ...).
 */
#define JEM_RTREE_BITS 18
#define JEM_RTREE_SLOTS ((uint64_t)1 << JEM_RTREE_BITS)
#define JEM_RTREE_ROOT_SHIFT 30
#define JEM_RTREE_LEAF_SHIFT 12

struct jem_rtree_shape {
	unsigned lg_vaddr;
	/** Levels, the root's included: 2 or 3. */
	unsigned height;
	/** Key bits of each level: a node has 1 << bits slots. */
	unsigned bits;
	/** Bytes of a leaf slot: 8 compact, 16 not. */
	unsigned leaf_slot_size;
};

extern const struct jem_rtree_shape jem_rtree_48, jem_rtree_57;

static inline uint64_t jem_rtree_slots(const struct jem_rtree_shape *shape)
{
	return (uint64_t)1 << shape->bits;
}

/** Where a level's slot is in a key (the root's level is 0). */
static inline unsigned jem_rtree_shift(const struct jem_rtree_shape *shape,
				       unsigned level)
{
	return JEM_RTREE_LEAF_SHIFT + shape->bits * (shape->height - 1 - level);
}

/*
 * edata.h (5.3) and extent_structs.h (5.2): edata_t and extent_t are 128
 * bytes alike: e_bits @0, e_addr @8, e_size_esn @16 (size in the bits
 * above the page offset), the slab's bitmap @64. In e_bits, both have
 * arena_ind 12 bits @0 and slab @12; the rest differs (struct jem_layout).
 */
#define JEM_EDATA_SIZE 128
#define JEM_EDATA_BITS 0
#define JEM_EDATA_ADDR 8
#define JEM_EDATA_SIZE_ESN 16
#define JEM_EDATA_BITMAP 64
/*
 * 5.3 only (5.2 has no hugepage allocator; the layouts below are 5.3.0's).
 * hpa.h: the hugepage allocator hands out extents from pageslabs of
 * HUGEPAGE bytes (2 MiB on x86-64), each aligned to its size; the pages of
 * a pageslab no extent holds are free in its hpdata_t, which the radix
 * tree does not map.
 */
#define JEM_HUGEPAGE ((uint64_t)2 << 20)
#define JEM_HUGEPAGE_PAGES (JEM_HUGEPAGE / JEM_PAGE)
/*
 * hpdata.h, hpdata_t (248 bytes): h_address @0; ql_link_empty (which the
 * psset's empty list uses) {qre_next, qre_prev} @40, ql_link_purge @64,
 * ql_link_hugify @80; h_nactive @104, active_pages (one bit a page, 8
 * words) @112.
 */
#define JEM_HPDATA_SIZE 248
#define JEM_HPDATA_ADDRESS 0
#define JEM_HPDATA_LINK_EMPTY 40
#define JEM_HPDATA_LINK_PURGE 64
#define JEM_HPDATA_LINK_HUGIFY 80
#define JEM_HPDATA_NACTIVE 104
#define JEM_HPDATA_ACTIVE_PAGES 112
/*
 * The arena's hpa_shard_t (jem_layout.arena_hpa_shard): in it central
 * (hpa_central_t *) @56 and the psset @320. psset_t: empty (ql_head: one pointer) @4224, to_purge[128] @4232,
 * to_hugify @5272; its age heaps hold only pageslabs with extents.
 * hpa_central_t: eden @224, eden_len @232, the part of the last mapping
 * of HPA_EDEN_SIZE (128 hugepages) not yet carved into pageslabs.
 */
#define JEM_HPA_SHARD_CENTRAL 56
#define JEM_HPA_SHARD_PSSET 320
#define JEM_PSSET_EMPTY 4224
#define JEM_PSSET_TO_PURGE 4232
#define JEM_PSSET_NPURGE_LISTS 128
#define JEM_PSSET_TO_HUGIFY 5272
#define JEM_HPA_CENTRAL_EDEN 224
#define JEM_HPA_CENTRAL_EDEN_LEN 232
#define JEM_HPA_EDEN_SIZE (128 * JEM_HUGEPAGE)

/*
 * Heap profiling, alike in both versions: at most PROF_BT_MAX (128) return
 * addresses a backtrace; tsd_t.prof_tdata is a prof_tdata_t, or NULL, or
 * one of the small PROF_TDATA_STATE_* markers (1..3 in 5.3, 1..2 in 5.2).
 * The profiler's own allocations (prof_data.c, prof.c, ckh.c), all made
 * with iallocztm(..., is_internal) in arena 0, are never handed to the
 * program: ckh_t (48 bytes): count @8, lg_minbuckets @16, lg_curbuckets
 * @20, hash @24, keycomp @32, tab @40, a table of 4 << lg_curbuckets cells
 * {key, data} of 16 bytes (LG_CKH_BUCKET_CELLS 2).
 */
#define JEM_PROF_BT_MAX 128
#define JEM_PROF_TDATA_STATE_MAX 3
#define JEM_CKH_SIZE 48
#define JEM_CKH_COUNT 8
#define JEM_CKH_LG_MINBUCKETS 16
#define JEM_CKH_LG_CURBUCKETS 20
#define JEM_CKH_HASH 24
#define JEM_CKH_KEYCOMP 32
#define JEM_CKH_TAB 40
#define JEM_CKH_LG_BUCKET_CELLS 2

/* bitmap.h: 512 regions at most (8 groups of 64, no tree for 4 KiB pages). */
#define JEM_BITMAP_GROUPS 8
#define JEM_SLAB_MAXREGS 512

/* edata.h extent_state_e (5.2: extent_state_t, the first four only). */
enum jem_extent_state {
	JEM_STATE_ACTIVE = 0,
	JEM_STATE_DIRTY = 1,
	JEM_STATE_MUZZY = 2,
	JEM_STATE_RETAINED = 3,
	JEM_STATE_TRANSITION = 4,
	JEM_STATE_MERGING = 5,
};

/*
 * base.h (base_structs.h in 5.2): base_t.blocks, a list of base_block_t {
 * size_t size; base_block_t *next; edata_t edata; } each at the start of
 * the mapping it describes: jemalloc's own memory (arenas, edata, rtree
 * leaves).
 */
#define JEM_BASE_BLOCK_SIZE 0
#define JEM_BASE_BLOCK_NEXT 8
/* Most base blocks followed per base. */
#define JEM_MAX_BASE_BLOCKS 65536
/* cache_bin_t is 24 bytes in both versions (enum jem_cache_bin_kind). */
#define JEM_CACHE_BIN_SIZE 24
/* Most pointers one tcache bin is taken to hold (cache_bin.h). */
#define JEM_CACHE_BIN_NCACHED_MAX 8191

/** How a version's tcache bins keep their pointers. */
enum jem_cache_bin_kind {
	/**
	 * 5.3 cache_bin_t (24 bytes): stack_head @0, tstats @8,
	 * low_bits_low_water @16, low_bits_full @18, low_bits_empty @20. The
	 * cached pointers are stack_head[0 .. n), n = (low_bits_empty - low
	 * 16 bits of stack_head) / 8, counted modulo 2^16.
	 */
	JEM_CACHE_BIN_STACK,
	/**
	 * 5.2 cache_bin_t (24 bytes): int32 low_water @0, int32 ncached @4,
	 * tstats @8, avail @16; the cached pointers are avail[-ncached .. -1].
	 */
	JEM_CACHE_BIN_AVAIL,
};

/**
 * What differs between the supported versions: offsets in bytes, bit
 * positions in e_bits. A field that a version lacks is 0 (offsets) or
 * false, as said for each.
 */
struct jem_layout {
	/** "5.3.0": the version the table is for. */
	const char *version;
	int major, minor, patch;
	/**
	 * The global that holds the radix tree (without its namespace
	 * prefix), and the root's offset in it.
	 */
	const char *rtree_symbol;
	uint64_t rtree_root;
	/** A leaf's edata_t/extent_t pointer: its bits. */
	uint64_t leaf_edata_mask;
	/** Whether a leaf keeps the extent's state in its bits 4..2. */
	bool leaf_has_state;

	/** e_bits: state (its width), szind (8 bits), nfree (10 bits). */
	unsigned int state_shift, state_bits, szind_shift, nfree_shift;
	/** e_bits: pai, whose 1 is the hugepage allocator; 0: no HPA. */
	unsigned int pai_shift;
	/** edata_t.e_ps (0: none) and the large extent's e_prof_tctx. */
	uint64_t edata_ps, edata_prof_tctx;

	/**
	 * In the tsd (jemalloc's one TLS variable, at the start of the
	 * module's TLS block): its tcache_t, tcache_slow_t (0: none).
	 */
	uint64_t tsd_tcache, tsd_tcache_slow;
	/** tsd_t.prof_tdata; tsd_t.arenas_tdata (0: none), a0malloc'd. */
	uint64_t tsd_prof_tdata, tsd_arenas_tdata;

	enum jem_cache_bin_kind cache_bin;
	/**
	 * tcache_t: its size, the bins of the first bins_count size classes
	 * @bins, and those of the classes from bins_count on (5.2's
	 * bins_large, up to JEM_NSIZES) @bins_large (0: none).
	 */
	uint64_t tcache_size, tcache_bins, tcache_bins_large;
	unsigned int tcache_bins_count;
	/**
	 * 5.2 (no tcache_slow_t): tcache_t.link {qre_next, qre_prev}, the
	 * arena's tcache_ql ring; tcache_t.arena; the descriptor's
	 * bins_small and bins_large, which point back into the tcache.
	 */
	uint64_t tcache_link, tcache_arena, tcache_desc_small,
		tcache_desc_large;
	/**
	 * 5.2: tcache_t.tsd_link {qre_next, qre_prev}, in a tsd's own
	 * tcache: the ring of all nominal threads' tsd_t (tsd_add_nominal),
	 * whose links point at the tsd_t themselves. 0: none.
	 */
	uint64_t tcache_tsd_link;
	/**
	 * 5.3 tcache_slow_t: its size, link (the ring) @next, arena,
	 * dyn_alloc (the stacks' allocation), tcache (back to tcache_t).
	 */
	uint64_t slow_size, slow_next, slow_arena, slow_dyn_alloc,
		slow_tcache;

	/**
	 * arena_t: tcache_ql (a ql_head: one pointer to the ring's member,
	 * tcache_slow_t or tcache_t), ind (0: none, then base_t.ind is the
	 * arena's index), base, and the bytes the region's control part
	 * covers.
	 */
	uint64_t arena_tcache_ql, arena_ind, arena_base, arena_control;
	/** base_t.ind, base_t.blocks. */
	uint64_t base_ind, base_blocks;
	/** arena_t.pa_shard.hpa_shard (0: no hugepage allocator). */
	uint64_t arena_hpa_shard;

	/*
	 * Heap profiling (prof_structs.h, ckh.h): a sampled allocation is
	 * never a slab region; a large extent's edata keeps e_prof_tctx
	 * where a slab keeps its bitmap.
	 */
	/** prof_tctx_t: tdata, gctx, its rb link {left, right | red}. */
	uint64_t tctx_tdata, tctx_gctx, tctx_link;
	/**
	 * prof_gctx_t: tctxs (an rb tree: its root), bt {vec, len} @bt_vec,
	 * and the vector itself @vec (bt.vec points there), at most
	 * JEM_PROF_BT_MAX return addresses, innermost first.
	 */
	uint64_t gctx_tctxs, gctx_bt_vec, gctx_vec;
	/** prof_tdata_t: thread_name, bt2tctx (a ckh_t: bt -> tctx). */
	uint64_t tdata_thread_name, tdata_bt2tctx;
};

/** The layout of version major.minor.patch, or NULL: not supported. */
const struct jem_layout *jem_layout_find(int major, int minor, int patch);

/** The versions there are layouts for, "5.2.1, 5.3.0", for messages. */
const char *jem_layout_versions(void);

/** The @p i th layout known, NULL past the last. */
const struct jem_layout *jem_layout_at(size_t i);

/**
 * The layout assumed when the version string was not found and nothing in
 * the core tells the versions apart.
 */
const struct jem_layout *jem_layout_default(void);

static inline uint64_t jem_leaf_edata(const struct jem_layout *l,
				      uint64_t bits)
{
	// User-space addresses on x86-64 have bit 47 clear: 5.2's sign
	// extension (rtree_leaf_elm_bits_extent_get) changes nothing.
	return bits & l->leaf_edata_mask;
}

static inline unsigned int jem_leaf_szind(uint64_t bits)
{
	return (unsigned int)(bits >> 48);
}

/*
 * A leaf slot that is not compact, its edata pointer and the word after
 * it, as the compact word the rest reads: szind in bits 63..48, and below
 * the pointer 5.3's slab, is_head and state, or 5.2's slab.
 */
static inline uint64_t jem_leaf_compacted(const struct jem_layout *l,
					  uint64_t edata, uint64_t word)
{
	uint64_t pointer = edata & UINT64_C(0x0000ffffffffffff);

	if (l->leaf_has_state)
		return pointer | (word & 0x1f) |
		       (uint64_t)((uint32_t)word >> 5) << 48;
	return pointer | ((word >> 32) & 0xff ? 1 : 0) |
	       (uint64_t)(uint32_t)word << 48;
}

/* 5.3 only (leaf_has_state). */
static inline unsigned int jem_leaf_state(uint64_t bits)
{
	return (unsigned int)(bits >> 2) & 7;
}

static inline bool jem_leaf_slab(uint64_t bits)
{
	return bits & 1;
}

static inline unsigned int jem_edata_arena(uint64_t bits)
{
	return (unsigned int)(bits & 0xfff);
}

static inline bool jem_edata_slab(uint64_t bits)
{
	return (bits >> 12) & 1;
}

/* pai: the page allocator the extent came from (EXTENT_PAI_HPA is 1). */
static inline bool jem_edata_hpa(const struct jem_layout *l, uint64_t bits)
{
	return l->pai_shift && ((bits >> l->pai_shift) & 1);
}

static inline unsigned int jem_edata_state(const struct jem_layout *l,
					   uint64_t bits)
{
	return (unsigned int)(bits >> l->state_shift) &
	       ((1u << l->state_bits) - 1);
}

static inline unsigned int jem_edata_szind(const struct jem_layout *l,
					   uint64_t bits)
{
	return (unsigned int)(bits >> l->szind_shift) & 0xff;
}

static inline unsigned int jem_edata_nfree(const struct jem_layout *l,
					   uint64_t bits)
{
	return (unsigned int)(bits >> l->nfree_shift) & 0x3ff;
}

#endif /* COREHEAP_JEMALLOC_LAYOUT_H */
