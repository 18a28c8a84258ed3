// SPDX-License-Identifier: MIT
// Heap profiling: where a sampled allocation was allocated. With
// MALLOC_CONF=prof:true jemalloc samples allocations (every one with
// lg_prof_sample:0) and keeps, for each, a prof_tctx_t whose prof_gctx_t
// holds the backtrace its unwinder took at the allocation (src/prof.c
// prof_backtrace). The gctx is shared by every allocation of one stack.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

/*
 * What a stack starts with on its way from the program's call to the
 * profiler's unwinder (src/prof.c, src/jemalloc.c), where they are not
 * inlined: private functions (the namespace's prefix, or none for static
 * ones) and the public entry points (the API's prefix).
 */
static const char *const private_functions[] = {
	"prof_backtrace_impl", "prof_backtrace", "prof_tctx_create",
	"malloc_default", "imalloc_body", "irallocx_prof", "ixallocx_prof",
	"prof_alloc_prep", "do_rallocx",
};
static const char *const entry_points[] = {
	"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc",
	"memalign", "valloc", "pvalloc", "mallocx", "rallocx", "xallocx",
};

static void add_own_function(struct jem_walk *walk, const char *prefix,
			     const char *name)
{
	const struct coreheap_host *host = walk->host;
	struct coreheap_symbol sym;
	char full[96];

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	if (walk->num_own_code == JEM_OWN_FUNCTIONS ||
	    host->symbol(host, walk->st->module_prefix, full, &sym) ||
	    sym.is_tls || !sym.size || sym.module != walk->st->module)
		return;
	walk->own_code[walk->num_own_code++] = (struct jem_range){
		.start = sym.address,
		.end = sym.address + sym.size,
	};
}

/*
 * jemalloc linked into the program shares its module: its frames are
 * told by its functions' symbols. "je_" is the namespace of a build with
 * no API prefix or with je_; Rust's _rjem_je_ goes with _rjem_.
 */
static void find_own_code(struct jem_walk *walk)
{
	const char *namespace = walk->st->symbol_prefix;
	const char *api[2] = { "", "je_" };
	size_t num_api = 2;

	if (!strcmp(namespace, "_rjem_je_")) {
		api[0] = "_rjem_";
		num_api = 1;
	}
	for (size_t i = 0; i < sizeof(private_functions) /
				       sizeof(*private_functions); i++) {
		add_own_function(walk, namespace, private_functions[i]);
		add_own_function(walk, "", private_functions[i]);
	}
	for (size_t k = 0; k < num_api; k++) {
		for (size_t i = 0; i < sizeof(entry_points) /
					       sizeof(*entry_points); i++)
			add_own_function(walk, api[k], entry_points[i]);
	}
}

static bool in_own_code(const struct jem_walk *walk, uint64_t pc)
{
	// A return address: the call is the byte before it.
	if (walk->st->module_prefix)
		return pc >= walk->st->module_start && pc < walk->st->module_end;
	for (size_t i = 0; i < walk->num_own_code; i++) {
		if (pc - 1 >= walk->own_code[i].start &&
		    pc - 1 < walk->own_code[i].end)
			return true;
	}
	return false;
}

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
	if (walk->prof && !walk->st->module_prefix && walk->st->have_symbols)
		find_own_code(walk);
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
	if (host->read(host, gctx + walk->layout->gctx_bt_vec, bt, sizeof(bt)) ||
	    bt[0] != gctx + walk->layout->gctx_vec)
		return false;
	// bt.len is an unsigned int; the word's upper half is padding.
	bt[1] &= UINT32_MAX;
	if (!bt[1] || bt[1] > JEM_PROF_BT_MAX ||
	    host->read(host, gctx + walk->layout->gctx_vec, slot->pcs, 8 * bt[1])) {
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
	    jem_read_u64(host, e->prof_tctx + walk->layout->tctx_gctx, &gctx) ||
	    !gctx || gctx % 16 || !read_gctx_stack(walk, gctx, &stack))
		return;
	// The stack starts in jemalloc (prof_backtrace, malloc's path):
	// frames of no help to the reader. Where jemalloc is a library of
	// its own, they are its module's; else its functions' symbols say.
	while (skip < stack->num_pcs && in_own_code(walk, stack->pcs[skip]))
		skip++;
	if (skip == stack->num_pcs)
		skip = 0;
	walk->counts.alloc_stacks++;
	if (host->add_alloc_stack(host, ptr, stack->pcs + skip,
				  stack->num_pcs - skip) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}
