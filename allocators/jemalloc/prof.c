// SPDX-License-Identifier: MIT
// Heap profiling: where a sampled allocation was allocated. With
// MALLOC_CONF=prof:true jemalloc samples allocations (every one with
// lg_prof_sample:0) and keeps, for each, a prof_tctx_t whose prof_gctx_t
// holds the backtrace its unwinder took at the allocation (src/prof.c
// prof_backtrace). The gctx is shared by every allocation of one stack.

#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

void jem_prof_init(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint8_t opt_prof;

	walk->prof = COREHEAP_HOST_HAS(host, add_alloc_stack);
	// Without profiling, the edata's e_prof_tctx is never written and
	// holds what the union held before (a slab's bitmap): the symbol
	// spares reading it. Without the symbol the gctx's own checks do.
	if (walk->prof && walk->st->opt_prof_symbol &&
	    !host->read(host, walk->st->opt_prof_symbol, &opt_prof, 1))
		walk->prof = opt_prof != 0;
	host->log(host, COREHEAP_LOG_DEBUG, "heap profiling: %s",
		  !walk->prof ? "off (or no host to take stacks)" :
		  walk->st->opt_prof_symbol ? "on (je_opt_prof)" :
					      "unknown: each extent's checked");
}

/*
 * The backtrace of gctx into @p ret, read once per gctx and kept in the
 * cache. False unless the gctx is one: its bt.vec points at its own vector
 * and bt.len is 1..PROF_BT_MAX; anything else is not a gctx (profiling
 * off, or garbage), which is no damage of jemalloc's.
 */
static bool read_gctx_stack(struct jem_walk *walk, uint64_t gctx,
			    const struct jem_stack_cache **ret)
{
	const struct coreheap_host *host = walk->host;
	struct jem_stack_cache *slot;
	uint64_t bt[2];

	if (!walk->stack_cache) {
		walk->stack_cache = calloc(JEM_STACK_CACHE,
					   sizeof(*walk->stack_cache));
		if (!walk->stack_cache) {
			walk->status = COREHEAP_NOMEM;
			return false;
		}
	}
	slot = &walk->stack_cache[(gctx >> 4) % JEM_STACK_CACHE];
	if (slot->gctx == gctx) {
		*ret = slot;
		return true;
	}
	if (host->read(host, gctx + JEM_GCTX_BT_VEC, bt, sizeof(bt)) ||
	    bt[0] != gctx + JEM_GCTX_VEC)
		return false;
	// bt.len is an unsigned int; the word's upper half is padding.
	bt[1] &= UINT32_MAX;
	if (!bt[1] || bt[1] > JEM_PROF_BT_MAX ||
	    host->read(host, gctx + JEM_GCTX_VEC, slot->pcs, 8 * bt[1])) {
		slot->gctx = 0;
		return false;
	}
	slot->gctx = gctx;
	slot->num_pcs = (uint32_t)bt[1];
	*ret = slot;
	return true;
}

void jem_report_alloc_stack(struct jem_walk *walk, const struct jem_extent *e,
			    uint64_t ptr)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_stack_cache *stack;
	uint64_t gctx;
	size_t skip = 0;

	// 0 and 1 (not sampled) are no tctx; a tctx is a cache-line-aligned
	// allocation of jemalloc's.
	if (!walk->prof || e->prof_tctx <= 1 || e->prof_tctx % 16 ||
	    jem_read_u64(host, e->prof_tctx + JEM_TCTX_GCTX, &gctx) ||
	    !gctx || gctx % 16 || !read_gctx_stack(walk, gctx, &stack))
		return;
	// The stack starts in jemalloc (prof_backtrace, malloc's path):
	// where jemalloc is a library of its own, those frames are its
	// module's, and no help to the reader.
	if (walk->st->module_prefix) {
		while (skip < stack->num_pcs &&
		       stack->pcs[skip] >= walk->st->module_start &&
		       stack->pcs[skip] < walk->st->module_end)
			skip++;
		if (skip == stack->num_pcs)
			skip = 0;
	}
	walk->counts.alloc_stacks++;
	if (host->add_alloc_stack(host, ptr, stack->pcs + skip,
				  stack->num_pcs - skip) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}
