/* SPDX-License-Identifier: MIT */
/**
 * @file
 * jemalloc 5.3 on x86-64 (LG_VADDR 48, 4 KiB pages, 16-byte quantum): the
 * layouts and constants the plugin relies on.
 *
 * Read from jemalloc 5.3.0's sources (github:jemalloc/jemalloc at tag
 * 5.3.0) and checked against the DWARF of a build of that tag configured as
 * Debian's libjemalloc2 5.3.0-1 is (prof, stats, fill, cache-oblivious on:
 * mallctl "config.*" of Debian's library): sizeof(tsd_t) there is 2632
 * bytes, exactly the PT_TLS size of Debian's libjemalloc.so.2, whose only
 * TLS variable is the tsd. The file names below are those of the source.
 */
#ifndef COREHEAP_JEMALLOC_LAYOUT_H
#define COREHEAP_JEMALLOC_LAYOUT_H

#include <stdbool.h>
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
 * rtree.h: RTREE_NHIB 16, RTREE_NSB 36, height 2: the root and every leaf
 * have 2^18 slots of one word. A key's root slot is bits 47..30, its leaf
 * slot bits 29..12. Leaves are "compact": szind in bits 63..48, the edata_t
 * pointer in bits 47..7 (EDATA_ALIGNMENT 128), state 4..2, is_head 1, slab 0.
 */
#define JEM_RTREE_BITS 18
#define JEM_RTREE_SLOTS ((uint64_t)1 << JEM_RTREE_BITS)
#define JEM_RTREE_ROOT_SHIFT 30
#define JEM_RTREE_LEAF_SHIFT 12
/* rtree_t { base_t *base; malloc_mutex_t init_lock; root[] }: root at 120. */
#define JEM_RTREE_ROOT_OFFSET 120

static inline uint64_t jem_leaf_edata(uint64_t bits)
{
	// Bits 47..7; user-space addresses on x86-64 have bit 47 clear.
	return bits & UINT64_C(0x0000ffffffffff80);
}

static inline unsigned int jem_leaf_szind(uint64_t bits)
{
	return (unsigned int)(bits >> 48);
}

static inline unsigned int jem_leaf_state(uint64_t bits)
{
	return (unsigned int)(bits >> 2) & 7;
}

static inline bool jem_leaf_slab(uint64_t bits)
{
	return bits & 1;
}

/*
 * edata.h, edata_t (128 bytes): e_bits @0, e_addr @8, e_size_esn @16 (size
 * in the bits above the page offset), e_slab_data.bitmap @64.
 * e_bits: arena_ind 12 bits @0, slab @12, committed @13, pai @14, zeroed
 * @15, guarded @16, state 3 bits @17, szind 8 bits @20 (LG_CEIL(SC_NSIZES)),
 * nfree 10 bits @28 (SC_LG_SLAB_MAXREGS + 1), bin_shard 6 bits @38,
 * is_head @44.
 */
#define JEM_EDATA_SIZE 128
#define JEM_EDATA_BITS 0
#define JEM_EDATA_ADDR 8
#define JEM_EDATA_SIZE_ESN 16
#define JEM_EDATA_BITMAP 64
/*
 * hpa.h: the hugepage allocator hands out extents from pageslabs of
 * HUGEPAGE bytes (2 MiB on x86-64), each aligned to its size; the pages of
 * a pageslab no extent holds are free in its hpdata_t, which the radix
 * tree does not map.
 */
#define JEM_HUGEPAGE ((uint64_t)2 << 20)
#define JEM_HUGEPAGE_PAGES (JEM_HUGEPAGE / JEM_PAGE)
/* edata_t.e_ps @24: the hpdata_t of the pageslab an HPA extent lies in. */
#define JEM_EDATA_PS 24
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
 * arena_t.pa_shard @10648, pa_shard_t.hpa_shard @62384: the arena's
 * hpa_shard_t @0x11d48; in it central (hpa_central_t *) @56 and the psset
 * @320. psset_t: empty (ql_head: one pointer) @4224, to_purge[128] @4232,
 * to_hugify @5272; its age heaps hold only pageslabs with extents.
 * hpa_central_t: eden @224, eden_len @232, the part of the last mapping
 * of HPA_EDEN_SIZE (128 hugepages) not yet carved into pageslabs.
 */
#define JEM_ARENA_HPA_SHARD 0x11d48
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
 * Heap profiling (configured with --enable-prof, as Debian's amd64 build
 * is, and on: MALLOC_CONF=prof:true). A sampled allocation is never a slab
 * region (a small one is promoted to a large extent of the small class,
 * src/arena.c arena_prof_promote), and a large extent's edata_t keeps its
 * e_prof_info where a slab keeps its bitmap (edata.h): alloc time @64,
 * alloc size @72, e_prof_tctx @80 (1: not sampled).
 * prof_structs.h: prof_tctx_t.gctx @96; prof_gctx_t.bt {vec @104, len
 * @112}, and the vector itself @120 (bt.vec points there), at most
 * PROF_BT_MAX (128) return addresses, innermost first.
 */
#define JEM_EDATA_PROF_TCTX 80
#define JEM_TCTX_GCTX 96
#define JEM_GCTX_BT_VEC 104
#define JEM_GCTX_BT_LEN 112
#define JEM_GCTX_VEC 120
#define JEM_PROF_BT_MAX 128

/* bitmap.h: 512 regions at most (8 groups of 64, no tree for 4 KiB pages). */
#define JEM_BITMAP_GROUPS 8
#define JEM_SLAB_MAXREGS 512

static inline unsigned int jem_edata_arena(uint64_t bits)
{
	return (unsigned int)(bits & 0xfff);
}

static inline bool jem_edata_slab(uint64_t bits)
{
	return (bits >> 12) & 1;
}

/* pai @14: the page allocator the extent came from (EXTENT_PAI_HPA is 1). */
static inline bool jem_edata_hpa(uint64_t bits)
{
	return (bits >> 14) & 1;
}

static inline unsigned int jem_edata_state(uint64_t bits)
{
	return (unsigned int)(bits >> 17) & 7;
}

static inline unsigned int jem_edata_szind(uint64_t bits)
{
	return (unsigned int)(bits >> 20) & 0xff;
}

static inline unsigned int jem_edata_nfree(uint64_t bits)
{
	return (unsigned int)(bits >> 28) & 0x3ff;
}

/* edata.h extent_state_e. */
enum jem_extent_state {
	JEM_STATE_ACTIVE = 0,
	JEM_STATE_DIRTY = 1,
	JEM_STATE_MUZZY = 2,
	JEM_STATE_RETAINED = 3,
	JEM_STATE_TRANSITION = 4,
	JEM_STATE_MERGING = 5,
};

/*
 * cache_bin.h, cache_bin_t (24 bytes): stack_head @0, tstats @8,
 * low_bits_low_water @16, low_bits_full @18, low_bits_empty @20. The
 * cached pointers are stack_head[0 .. n), n = (low_bits_empty - low 16
 * bits of stack_head) / 8, counted modulo 2^16 (the stack may cross a
 * 64 KiB boundary). CACHE_BIN_NCACHED_MAX bounds n.
 */
#define JEM_CACHE_BIN_SIZE 24
#define JEM_CACHE_BIN_STACK_HEAD 0
#define JEM_CACHE_BIN_LOW_BITS_EMPTY 20
#define JEM_CACHE_BIN_NCACHED_MAX 8191

/*
 * tcache_structs.h: tcache_t { tcache_slow_t *tcache_slow; cache_bin_t
 * bins[TCACHE_NBINS_MAX = 73]; } (1760 bytes); tcache_slow_t (176 bytes):
 * link {qre_next, qre_prev} @0 (the arena's tcache_ql ring), arena @40,
 * dyn_alloc @160 (the stacks' allocation), tcache @168.
 */
#define JEM_TCACHE_SIZE 1760
#define JEM_TCACHE_SLOW_PTR 0
#define JEM_TCACHE_BINS 8
#define JEM_TCACHE_NBINS_MAX 73
#define JEM_TCACHE_SLOW_SIZE 176
#define JEM_TCACHE_SLOW_NEXT 0
#define JEM_TCACHE_SLOW_ARENA 40
#define JEM_TCACHE_SLOW_DYN_ALLOC 160
#define JEM_TCACHE_SLOW_TCACHE 168

/* tsd.h, tsd_t (2632 bytes): the tcache @856, tcache_slow @256. */
#define JEM_TSD_SIZE 2632
#define JEM_TSD_TCACHE 856
#define JEM_TSD_TCACHE_SLOW 256
/*
 * tsd_t.prof_tdata @104: the thread's prof_tdata_t, or NULL, or one of
 * the small PROF_TDATA_STATE_* markers (1..3).
 */
#define JEM_TSD_PROF_TDATA 104
#define JEM_PROF_TDATA_STATE_MAX 3

/*
 * The heap profiler's own allocations (prof_data.c, ckh.c), all made with
 * iallocztm(..., is_internal) in arena 0, never handed to the program:
 * ckh_t (48 bytes): count @8, lg_minbuckets @16, lg_curbuckets @20, hash
 * @24, keycomp @32, tab @40, a table of 4 << lg_curbuckets cells {key,
 * data} of 16 bytes (LG_CKH_BUCKET_CELLS 2). prof_gctx_t: tctxs (an rb
 * tree: its root) @16, bt @104, the key of the global bt2gctx table.
 * prof_tctx_t: tdata @0, gctx @96, its rb link {left, right | red} @112.
 * prof_tdata_t: thread_name @24, bt2tctx (a ckh_t: bt -> tctx) @64.
 */
#define JEM_CKH_SIZE 48
#define JEM_CKH_COUNT 8
#define JEM_CKH_LG_MINBUCKETS 16
#define JEM_CKH_LG_CURBUCKETS 20
#define JEM_CKH_HASH 24
#define JEM_CKH_KEYCOMP 32
#define JEM_CKH_TAB 40
#define JEM_CKH_LG_BUCKET_CELLS 2
#define JEM_PROF_GCTX_TCTXS 16
#define JEM_PROF_TCTX_TDATA 0
#define JEM_PROF_TCTX_LINK 112
#define JEM_PROF_TDATA_THREAD_NAME 24
#define JEM_PROF_TDATA_BT2TCTX 64

/*
 * arena_structs.h, arena_t with stats and prof compiled in: tcache_ql
 * (ql_head: one pointer) @0x2898, ind @0x13450, base @0x13458, bins @0x13468
 * (nbins_total bin_t of 224 bytes each).
 */
#define JEM_ARENA_TCACHE_QL 0x2898
#define JEM_ARENA_IND 0x13450
#define JEM_ARENA_BASE 0x13458
#define JEM_ARENA_BINS 0x13468
#define JEM_BIN_SIZE 224

/*
 * base.h: base_t.blocks @160, a list of base_block_t { size_t size;
 * base_block_t *next; edata_t edata; } each at the start of the mapping it
 * describes: jemalloc's own memory (arenas, edata, rtree leaves).
 */
#define JEM_BASE_BLOCKS 160
#define JEM_BASE_BLOCK_SIZE 0
#define JEM_BASE_BLOCK_NEXT 8
/* Most base blocks followed per base. */
#define JEM_MAX_BASE_BLOCKS 65536

#endif /* COREHEAP_JEMALLOC_LAYOUT_H */
