// SPDX-License-Identifier: MIT
// The radix tree walk: every extent jemalloc maps, and what is in it,
// reported as the walk meets it.
//
// Slabs register every page in the tree, other extents their first and
// last page (src/emap.c emap_register_interior/boundary). An extent is
// taken where the tree maps the page its e_addr is on, so each is taken
// once, and the walk meets extents in address order.

#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

// Nodes and leaves are read in pieces of this many words.
#define LEAF_CHUNK 4096
// A leaf maps 1 GiB (128 MiB for 57-bit addresses): 2^17 of them cover
// the whole 47-bit user address space, but a process with more than a few
// thousand is a root read as garbage.
#define MAX_LEAVES 16384

/*
 * A pointer the program holds, unless a tcache holds it (free) or jemalloc
 * allocated it for itself (its tcache stacks). @p szind is the class of
 * the extent, which a cached pointer's bin must match. True if it was
 * reported live.
 */
static bool report_allocated(struct jem_walk *walk, uint64_t ptr,
			     uint64_t usize, unsigned int szind,
			     struct jem_class_counts *counts, uint32_t region,
			     size_t *cursor)
{
	struct jem_ptrset *cached = &walk->cached;

	while (*cursor < cached->count && cached->items[*cursor].address < ptr)
		(*cursor)++;
	if (*cursor < cached->count && cached->items[*cursor].address == ptr) {
		struct jem_ptr *p = &cached->items[*cursor];

		p->met = true;
		counts->cached++;
		if ((p->tag & 0xff) != szind)
			jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, ptr,
				   "0x%llx is cached in tcache bin %u but its extent has size class %u",
				   (unsigned long long)ptr, p->tag & 0xff, szind);
		walk->counts.tcached++;
		jem_block(walk, ptr, usize, COREHEAP_BLOCK_FREE, region);
		return false;
	}
	if (walk->internal.count && jem_is_internal(walk, ptr, usize)) {
		walk->counts.metadata++;
		counts->internal++;
		jem_block(walk, ptr, usize, COREHEAP_BLOCK_METADATA, region);
		return false;
	}
	walk->counts.regions_live++;
	counts->live++;
	jem_block(walk, ptr, usize, COREHEAP_BLOCK_LIVE, region);
	return true;
}

// A cached pointer whose region the slab's bitmap says is free.
static void check_free_region(struct jem_walk *walk, uint64_t ptr,
			      uint32_t region, size_t *cursor)
{
	struct jem_ptrset *cached = &walk->cached;

	while (*cursor < cached->count && cached->items[*cursor].address < ptr)
		(*cursor)++;
	if (*cursor < cached->count && cached->items[*cursor].address == ptr) {
		cached->items[*cursor].met = true;
		jem_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region, ptr,
			   "0x%llx is both in a tcache and free in its slab's bitmap: a double free",
			   (unsigned long long)ptr);
	}
}

// False if the slab cannot be decoded (damage reported, nothing else).
static bool report_slab(struct jem_walk *walk, const struct jem_extent *e,
			uint32_t region, size_t *cursor)
{
	const struct jem_layout *l = walk->layout;
	unsigned int szind = jem_edata_szind(l, e->bits);
	struct jem_class_counts *counts;
	uint64_t reg, nregs, nfree = 0;

	if (szind >= JEM_NBINS || e->addr != e->base) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region, e->edata,
			   "slab 0x%llx: size class %u is no small class",
			   (unsigned long long)e->addr, szind);
		return false;
	}
	reg = walk->sizes[szind];
	nregs = reg ? e->size / reg : 0;
	if (!nregs || nregs > JEM_SLAB_MAXREGS || e->size % reg) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region, e->edata,
			   "slab 0x%llx: %llu bytes do not hold regions of %llu bytes",
			   (unsigned long long)e->addr,
			   (unsigned long long)e->size,
			   (unsigned long long)reg);
		return false;
	}
	counts = jem_class_counts(walk, jem_edata_arena(e->bits), szind);
	walk->counts.slabs++;
	jem_arena_counts(walk, jem_edata_arena(e->bits))->slabs++;
	counts->slabs++;
	// bitmap.h: bitmap_get() is the negation of the stored bit, and a
	// region is allocated when bitmap_get() is true: a stored 1 is free.
	for (uint64_t r = 0; r < nregs; r++) {
		uint64_t ptr = e->base + r * reg;

		if (e->bitmap[r / 64] >> (r % 64) & 1) {
			nfree++;
			counts->free++;
			walk->counts.regions_free++;
			check_free_region(walk, ptr, region, cursor);
			jem_block(walk, ptr, reg, COREHEAP_BLOCK_FREE, region);
			continue;
		}
		report_allocated(walk, ptr, reg, szind, counts, region,
				 cursor);
	}
	if (nfree != jem_edata_nfree(l, e->bits))
		jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, e->edata,
			   "slab 0x%llx: its bitmap has %llu free regions, its count says %u",
			   (unsigned long long)e->addr,
			   (unsigned long long)nfree, jem_edata_nfree(l, e->bits));
	return true;
}

// False if the class does not fit the extent (damage reported).
static bool report_large(struct jem_walk *walk, const struct jem_extent *e,
			 uint32_t region, size_t *cursor)
{
	const struct jem_layout *l = walk->layout;
	unsigned int szind = jem_edata_szind(l, e->bits);
	uint64_t usize = szind < JEM_NSIZES ? walk->sizes[szind] : 0;
	struct jem_class_counts *counts;

	// With cache-oblivious padding the pointer is e_addr, up to a page
	// into the extent, which is one page larger than the class.
	if (!usize || e->addr - e->base > e->size ||
	    usize > e->size - (e->addr - e->base)) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region, e->edata,
			   "extent 0x%llx: size class %u does not fit its %llu bytes",
			   (unsigned long long)e->addr, szind,
			   (unsigned long long)e->size);
		return false;
	}
	counts = jem_class_counts(walk, jem_edata_arena(e->bits), szind);
	walk->counts.large++;
	jem_arena_counts(walk, jem_edata_arena(e->bits))->large++;
	counts->slabs++;
	if (report_allocated(walk, e->addr, usize, szind, counts, region,
			     cursor))
		jem_report_alloc_stack(walk, e, e->addr);
	return true;
}

static void count_free_extent(struct jem_walk *walk,
			      const struct jem_extent *e)
{
	const struct jem_layout *l = walk->layout;
	struct jem_arena_counts *c =
		jem_arena_counts(walk, jem_edata_arena(e->bits));

	c->free_extents++;
	switch (jem_edata_state(l, e->bits)) {
	case JEM_STATE_DIRTY:
		c->dirty += e->size / JEM_PAGE;
		break;
	case JEM_STATE_MUZZY:
		c->muzzy += e->size / JEM_PAGE;
		break;
	case JEM_STATE_RETAINED:
		c->retained += e->size / JEM_PAGE;
		break;
	default:
		// Active, class SC_NSIZES: kept by a page allocator's cache.
		break;
	}
}

/*
 * Every extent the tree maps is memory jemalloc took from the system: its
 * pages are its own (never a root), whatever the extent holds: live and
 * free regions, a large allocation, jemalloc's tcache stacks, pages kept
 * dirty, muzzy or retained. One the walk could not decode, or that was
 * being split or merged, is its own memory unexplained.
 */
static void report_extent(struct jem_walk *walk, const struct jem_extent *e)
{
	const struct jem_layout *l = walk->layout;
	uint32_t region = jem_arena_region(walk, jem_edata_arena(e->bits));
	size_t *cursor = &walk->cursor;
	bool explained = true;

	walk->counts.extents++;
	if (jem_edata_hpa(l, e->bits))
		jem_hpa_extent(walk, e, region);
	switch (jem_edata_state(l, e->bits)) {
	case JEM_STATE_ACTIVE:
		if (jem_edata_szind(l, e->bits) >= JEM_NSIZES) {
			// Freed, and kept by the page allocator (src/pa.c
			// pa_dalloc: the class becomes SC_NSIZES).
			walk->counts.free_extents++;
			count_free_extent(walk, e);
			jem_block(walk, e->base, e->size, COREHEAP_BLOCK_FREE,
				  region);
			break;
		}
		if (walk->arenas && !walk->arena_addr[jem_edata_arena(e->bits)])
			jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region,
				   e->edata,
				   "extent 0x%llx belongs to arena %u, which does not exist",
				   (unsigned long long)e->addr,
				   jem_edata_arena(e->bits));
		if (jem_edata_slab(e->bits))
			explained = report_slab(walk, e, region, cursor);
		else
			explained = report_large(walk, e, region, cursor);
		break;
	case JEM_STATE_DIRTY:
	case JEM_STATE_MUZZY:
	case JEM_STATE_RETAINED:
		walk->counts.free_extents++;
		count_free_extent(walk, e);
		jem_block(walk, e->base, e->size, COREHEAP_BLOCK_FREE, region);
		break;
	default:
		// Being split or merged when the core was taken.
		walk->host->log(walk->host, COREHEAP_LOG_INFO,
				"extent 0x%llx is in transition (state %u); skipped",
				(unsigned long long)e->base,
				jem_edata_state(l, e->bits));
		explained = false;
		break;
	}
	jem_own(walk, region, e->base, e->base + e->size,
		explained ? COREHEAP_OWNED_HEAP : COREHEAP_OWNED_UNEXPLAINED);
}

// One leaf slot: the page at @p key maps to the extent in @p bits.
static int leaf_slot(struct jem_walk *walk, uint64_t key, uint64_t bits)
{
	const struct jem_layout *l = walk->layout;
	const struct coreheap_host *host = walk->host;
	uint8_t raw[JEM_EDATA_SIZE];
	struct jem_extent e = { .edata = jem_leaf_edata(l, bits) };

	// A cleared slot: emap_deregister_*() writes no edata and the
	// invalid size class SC_NSIZES, so the word is not zero.
	if (!e.edata)
		return COREHEAP_OK;
	if (host->read(host, e.edata, raw, sizeof(raw))) {
		jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX, e.edata,
			   "the extent of page 0x%llx is not in the core",
			   (unsigned long long)key);
		return COREHEAP_OK;
	}
	memcpy(&e.bits, raw + JEM_EDATA_BITS, 8);
	memcpy(&e.addr, raw + JEM_EDATA_ADDR, 8);
	memcpy(&e.size, raw + JEM_EDATA_SIZE_ESN, 8);
	if (l->edata_ps)
		memcpy(&e.ps, raw + l->edata_ps, 8);
	memcpy(e.bitmap, raw + JEM_EDATA_BITMAP, sizeof(e.bitmap));
	memcpy(&e.prof_tctx, raw + l->edata_prof_tctx, 8);
	e.size &= ~JEM_PAGE_MASK;
	e.base = e.addr & ~JEM_PAGE_MASK;
	if (key != e.base) {
		// An interior or last page: only check that it belongs.
		if (key < e.base || key - e.base >= e.size)
			jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
				   UINT32_MAX, key,
				   "the radix tree maps page 0x%llx to the extent at 0x%llx (%llu bytes), which does not hold it",
				   (unsigned long long)key,
				   (unsigned long long)e.base,
				   (unsigned long long)e.size);
		return COREHEAP_OK;
	}
	// The walk goes up through the keys: extents cannot overlap.
	if (walk->prev_size && e.base - walk->prev_base < walk->prev_size) {
		jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, UINT32_MAX,
			   e.edata,
			   "the extent at 0x%llx overlaps the one at 0x%llx (%llu bytes); skipped",
			   (unsigned long long)e.base,
			   (unsigned long long)walk->prev_base,
			   (unsigned long long)walk->prev_size);
		return COREHEAP_OK;
	}
	if (!e.size || e.base + e.size < e.base) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, UINT32_MAX, e.edata,
			   "the extent at 0x%llx has size 0x%llx; skipped",
			   (unsigned long long)e.base,
			   (unsigned long long)e.size);
		return COREHEAP_OK;
	}
	// An extent freed into the page allocator's caches (SEC, HPA) stays
	// active with the invalid class SC_NSIZES, and pa_dalloc()'s
	// emap_remap() leaves its tree entry as it was: compare only the
	// extents that hold allocations.
	// 5.2's leaves keep no state.
	if ((l->leaf_has_state &&
	     jem_edata_state(l, e.bits) != jem_leaf_state(bits)) ||
	    (jem_edata_state(l, e.bits) == JEM_STATE_ACTIVE &&
	     jem_edata_szind(l, e.bits) < JEM_NSIZES &&
	     (jem_edata_slab(e.bits) != jem_leaf_slab(bits) ||
	      jem_edata_szind(l, e.bits) != jem_leaf_szind(bits))))
		jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, UINT32_MAX,
			   e.edata,
			   "the extent at 0x%llx and its radix tree entry disagree (state %u/%u, slab %d/%d, size class %u/%u)",
			   (unsigned long long)e.base, jem_edata_state(l, e.bits),
			   l->leaf_has_state ? jem_leaf_state(bits) :
					       jem_edata_state(l, e.bits), jem_edata_slab(e.bits),
			   jem_leaf_slab(bits), jem_edata_szind(l, e.bits),
			   jem_leaf_szind(bits));
	walk->prev_base = e.base;
	walk->prev_size = e.size;
	report_extent(walk, &e);
	return walk->status;
}

// The slots of a leaf, the first of which is for the page key.
static int walk_leaf(struct jem_walk *walk, uint64_t key, uint64_t leaf)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_rtree_shape *shape = walk->rtree_shape;
	uint64_t slot_size = shape->leaf_slot_size;
	uint64_t per_chunk = LEAF_CHUNK * 8 / slot_size;
	uint64_t words[LEAF_CHUNK];

	for (uint64_t first = 0; first < jem_rtree_slots(shape);
	     first += per_chunk) {
		uint64_t at = leaf + slot_size * first;
		const uint64_t *view = host->map(host, at, sizeof(words));

		if (!view || (uintptr_t)view % 8) {
			if (host->read(host, at, words, sizeof(words))) {
				jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
					   UINT32_MAX, at,
					   "a radix tree leaf is not in the core");
				continue;
			}
			view = words;
		}
		for (uint64_t i = 0; i < per_chunk; i++) {
			uint64_t bits;
			int err;

			if (slot_size == 8)
				bits = view[i];
			else // no extent: its edata is NULL, what follows stale
				bits = view[2 * i] ?
					       jem_leaf_compacted(walk->layout,
								  view[2 * i],
								  view[2 * i + 1]) :
					       0;
			if (!bits)
				continue;
			err = leaf_slot(walk,
					key | (first + i) << JEM_RTREE_LEAF_SHIFT,
					bits);
			if (err)
				return err;
		}
	}
	return COREHEAP_OK;
}

/*
 * The slots of the node at level (the root is 0), the first of which is for
 * key: nodes or leaves below, as many as the tree's height. *nodes counts
 * those walked, within MAX_LEAVES.
 */
static int walk_node(struct jem_walk *walk, unsigned level, uint64_t key,
		     uint64_t node, size_t *nodes)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_rtree_shape *shape = walk->rtree_shape;
	unsigned shift = jem_rtree_shift(shape, level);
	uint64_t slots[LEAF_CHUNK];

	for (uint64_t first = 0; first < jem_rtree_slots(shape);
	     first += LEAF_CHUNK) {
		if (host->read(host, node + 8 * first, slots, sizeof(slots))) {
			jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
				   node + 8 * first,
				   level ? "a radix tree node is not in the core" :
					   "part of the radix tree's root is not in the core");
			continue;
		}
		for (uint64_t i = 0; i < LEAF_CHUNK; i++) {
			uint64_t child_key = key | (first + i) << shift;
			int err;

			if (!slots[i])
				continue;
			if (slots[i] % 8) {
				jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
					   UINT32_MAX, node + 8 * (first + i),
					   "a radix tree %s slot holds 0x%llx",
					   level ? "node" : "root",
					   (unsigned long long)slots[i]);
				continue;
			}
			if (++*nodes > MAX_LEAVES) {
				jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE,
					   UINT32_MAX, walk->rtree_root,
					   "the radix tree has more than %d nodes and leaves; the rest is not walked",
					   MAX_LEAVES);
				return COREHEAP_CORRUPT;
			}
			err = level + 2 == shape->height ?
				      walk_leaf(walk, child_key, slots[i]) :
				      walk_node(walk, level + 1, child_key,
						slots[i], nodes);
			if (err)
				return err;
		}
	}
	return COREHEAP_OK;
}

int jem_walk_extents(struct jem_walk *walk)
{
	size_t nodes = 0;
	int err = walk_node(walk, 0, 0, walk->rtree_root, &nodes);

	if (err)
		return err;
	jem_hpa_end(walk);
	jem_hpa_own_empty(walk);
	walk->host->log(walk->host, COREHEAP_LOG_INFO,
			"radix tree: %zu nodes and leaves, %zu extents", nodes,
			walk->counts.extents);
	return COREHEAP_OK;
}

void jem_check_cached(struct jem_walk *walk)
{
	for (size_t i = 0; i < walk->cached.count; i++) {
		const struct jem_ptr *p = &walk->cached.items[i];
		size_t t = p->tag >> 8;

		if (p->met)
			continue;
		jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, UINT32_MAX,
			   p->address,
			   "tcache bin %u of thread %d holds 0x%llx, which is no region of any slab or large extent",
			   p->tag & 0xff,
			   t < walk->num_tcaches ? walk->tcaches[t].tid : 0,
			   (unsigned long long)p->address);
	}
}
