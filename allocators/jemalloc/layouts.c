// SPDX-License-Identifier: MIT
// One layout table per jemalloc version (see layout.h), x86-64, configured
// as Debian builds it: prof, stats, fill and cache-oblivious compiled in.

#include <stddef.h>

#include "layout.h"

/*
 * jemalloc 5.3.0 (Debian 12's libjemalloc2 5.3.0-1), from the sources at
 * tag 5.3.0 and a build of them with DWARF:
 * - rtree.h: the root @120 of emap_t { rtree_t { base_t *base;
 *   malloc_mutex_t init_lock; root[] } } (je_arena_emap_global); leaves
 *   hold the edata_t pointer in bits 47..7 (EDATA_ALIGNMENT 128) and the
 *   extent's state in bits 4..2 (rtree_leaf_elm_bits_encode).
 * - edata.h e_bits: arena_ind 12 @0, slab @12, committed @13, pai @14,
 *   zeroed @15, guarded @16, state 3 bits @17, szind 8 bits @20, nfree 10
 *   bits @28, bin_shard 6 bits @38, is_head @44; e_ps @24, e_prof_tctx @80
 *   (e_prof_info: alloc time @64, alloc size @72).
 * - tsd.h, tsd_t (2632 bytes): prof_tdata @104, tcache_slow @256, tcache
 *   @856.
 * - tcache_structs.h: tcache_t { tcache_slow_t *tcache_slow; cache_bin_t
 *   bins[TCACHE_NBINS_MAX = 73]; } (1760 bytes); tcache_slow_t (176
 *   bytes): link {qre_next, qre_prev} @0 (the arena's tcache_ql ring),
 *   arena @40, dyn_alloc @160, tcache @168.
 * - arena_structs.h: tcache_ql @0x2898, ind @0x13450, base @0x13458, bins
 *   @0x13468 (36 bin_t of 224 bytes); pa_shard @10648 and in it hpa_shard
 *   @62384: @0x11d48. base.h: base_t.ind @0, blocks @160.
 * - prof_structs.h: prof_tctx_t tdata @0, gctx @96, link @112;
 *   prof_gctx_t tctxs @16, bt @104, vec @120; prof_tdata_t thread_name
 *   @24, bt2tctx @64.
 */
static const struct jem_layout layout_5_3_0 = {
	.version = "5.3.0",
	.major = 5,
	.minor = 3,
	.patch = 0,
	.rtree_symbol = "arena_emap_global",
	.rtree_root = 120,
	.leaf_edata_mask = UINT64_C(0x0000ffffffffff80),
	.leaf_has_state = true,
	.state_shift = 17,
	.state_bits = 3,
	.szind_shift = 20,
	.nfree_shift = 28,
	.pai_shift = 14,
	.edata_ps = 24,
	.edata_prof_tctx = 80,
	.tsd_tcache = 856,
	.tsd_tcache_slow = 256,
	.tsd_prof_tdata = 104,
	.tsd_arenas_tdata = 0,
	.cache_bin = JEM_CACHE_BIN_STACK,
	.tcache_size = 1760,
	.tcache_bins = 8,
	.tcache_bins_count = 73,
	.tcache_bins_large = 0,
	.slow_size = 176,
	.slow_next = 0,
	.slow_arena = 40,
	.slow_dyn_alloc = 160,
	.slow_tcache = 168,
	.arena_tcache_ql = 0x2898,
	.arena_ind = 0x13450,
	.arena_base = 0x13458,
	.arena_control = 0x13468 + 36 * 224,
	.base_ind = 0,
	.base_blocks = 160,
	.arena_hpa_shard = 0x11d48,
	.tctx_tdata = 0,
	.tctx_gctx = 96,
	.tctx_link = 112,
	.gctx_tctxs = 16,
	.gctx_bt_vec = 104,
	.gctx_vec = 120,
	.tdata_thread_name = 24,
	.tdata_bt2tctx = 64,
};

/*
 * jemalloc 5.2.1 (Debian 11's libjemalloc2 5.2.1-3), from the sources at
 * tag 5.2.1 and a build of them with DWARF (sizeof(tsd_t) 6216, Debian's
 * PT_TLS size):
 * - rtree.h: rtree_t { malloc_mutex_t init_lock; root[] } (je_extents_rtree,
 *   src/extent.c), root @112; a leaf holds the extent_t pointer in bits
 *   47..1 (rtree_leaf_elm_bits_extent_get; extents are cache-line aligned,
 *   base_alloc_extent) and slab in bit 0, szind in bits 63..48, no state.
 * - extent_structs.h e_bits: arena_ind 12 @0, slab @12, committed @13,
 *   dumpable @14, zeroed @15, state 2 bits @16 (active, dirty, muzzy,
 *   retained), szind 8 bits @18, nfree 10 bits @26 (LG_SLAB_MAXREGS + 1),
 *   bin_shard 6 bits @36, is_head @42; ql_link @24, ph_link @40, the slab
 *   bitmap @64 or e_alloc_time @64 and e_prof_tctx @72. No pai: no HPA.
 * - tsd.h, tsd_t: prof_tdata @40, arenas_tdata @448 (a0malloc'd: an
 *   internal region of arena 0, arena_tdata_get_hard), the tcache_t itself
 *   @496 (no tcache_slow_t).
 * - tcache_structs.h, tcache_t (5704 bytes): bins_small[36] @16, link
 *   {qre_next, qre_prev} @880 (the arena's tcache_ql ring), the
 *   tsd_link {qre_next, qre_prev} @896 (in a tsd's own tcache_t, the ring
 *   of the nominal threads' tsd_t, src/tsd.c tsd_add_nominal), the
 *   cache_bin_array_descriptor {link, bins_small @936, bins_large @944},
 *   arena @952, bins_large[196] @1000. The stacks are one internal
 *   allocation of arena 0 (tcache_init: ipallocztm(..., is_internal)), or
 *   follow the tcache_t in one for an explicit tcache.
 * - arena_structs_b.h, arena_t (29496 bytes): tcache_ql @0x27c8, bins
 *   (36 pointers to bin shards) @0x7208, base @0x7328; no ind: it is
 *   base_t.ind (arena_ind_get). base_structs.h: base_t.ind @0, blocks @144.
 * - prof_structs.h: prof_tctx_t tdata @0, gctx @56, tctx_link @72;
 *   prof_gctx_t tctxs @16, bt @72, vec @88; prof_tdata_t thread_name @24,
 *   bt2tctx @64.
 */
static const struct jem_layout layout_5_2_1 = {
	.version = "5.2.1",
	.major = 5,
	.minor = 2,
	.patch = 1,
	.rtree_symbol = "extents_rtree",
	.rtree_root = 112,
	.leaf_edata_mask = UINT64_C(0x0000fffffffffffe),
	.leaf_has_state = false,
	.state_shift = 16,
	.state_bits = 2,
	.szind_shift = 18,
	.nfree_shift = 26,
	.pai_shift = 0,
	.edata_ps = 0,
	.edata_prof_tctx = 72,
	.tsd_tcache = 496,
	.tsd_tcache_slow = 0,
	.tsd_prof_tdata = 40,
	.tsd_arenas_tdata = 448,
	.cache_bin = JEM_CACHE_BIN_AVAIL,
	.tcache_size = 5704,
	.tcache_bins = 16,
	.tcache_bins_count = 36,
	.tcache_bins_large = 1000,
	.tcache_link = 880,
	.tcache_tsd_link = 896,
	.tcache_arena = 952,
	.tcache_desc_small = 936,
	.tcache_desc_large = 944,
	.arena_tcache_ql = 0x27c8,
	.arena_ind = 0,
	.arena_base = 0x7328,
	.arena_control = 29496,
	.base_ind = 0,
	.base_blocks = 144,
	.arena_hpa_shard = 0,
	.tctx_tdata = 0,
	.tctx_gctx = 56,
	.tctx_link = 72,
	.gctx_tctxs = 16,
	.gctx_bt_vec = 72,
	.gctx_vec = 88,
	.tdata_thread_name = 24,
	.tdata_bt2tctx = 64,
};

static const struct jem_layout *const layouts[] = {
	&layout_5_3_0,
	&layout_5_2_1,
};

const struct jem_layout *jem_layout_find(int major, int minor, int patch)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(*layouts); i++) {
		if (layouts[i]->major == major && layouts[i]->minor == minor &&
		    layouts[i]->patch == patch)
			return layouts[i];
	}
	return NULL;
}

const char *jem_layout_versions(void)
{
	return "5.2.1, 5.3.0";
}

const struct jem_layout *jem_layout_at(size_t i)
{
	return i < sizeof(layouts) / sizeof(*layouts) ? layouts[i] : NULL;
}

const struct jem_rtree_shape jem_rtree_48 = {
	.lg_vaddr = 48, .height = 2, .bits = 18, .leaf_slot_size = 8,
};

const struct jem_rtree_shape jem_rtree_57 = {
	.lg_vaddr = 57, .height = 3, .bits = 15, .leaf_slot_size = 16,
};

const struct jem_layout *jem_layout_default(void)
{
	return &layout_5_3_0;
}
