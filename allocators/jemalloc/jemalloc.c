// SPDX-License-Identifier: MIT
// The jemalloc plugin: jemalloc 5.3.0 and 5.2.1 on x86-64, as Debian's
// libjemalloc2 ships them (stripped: only its public API in .dynsym) or
// built with its symbols (je_ or _rjem_je_ namespace). What differs
// between the versions is in their layout tables (layouts.c).
//
// probe() finds the module and the version; walk() finds the thread
// caches, the arenas, the size classes and the radix tree, then reports
// every extent the tree maps: slab regions and large allocations, live or
// cached (free), free extents, and jemalloc's own memory as metadata.
// It declares what jemalloc owns (add_owned_range): every extent, every
// base block and the radix tree's root, so that none of it is a root while
// the program's memory the kernel merged with it is.

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

void jem_log(const struct jem_walk *walk, int level, const char *format, ...)
{
	char message[512];
	va_list ap;

	if (walk->quiet)
		return;
	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	walk->host->log(walk->host, level, "%s", message);
}

void jem_damage(struct jem_walk *walk, enum coreheap_damage_kind kind,
		uint32_t region, uint64_t address, const char *format, ...)
{
	struct coreheap_damage damage = {
		.kind = kind,
		.region = region,
		.address = address,
	};
	char message[256];
	va_list ap;

	if (walk->quiet || walk->damage_count++ >= JEM_MAX_DAMAGE)
		return;
	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	damage.message = message;
	if (walk->host->add_damage(walk->host, &damage))
		walk->status = COREHEAP_NOMEM;
}

void jem_block(struct jem_walk *walk, uint64_t address, uint64_t size,
	       enum coreheap_block_state state, uint32_t region)
{
	struct coreheap_block block = {
		.address = address,
		.size = size,
		.state = state,
		.region = region,
	};

	if (walk->host->add_block(walk->host, &block))
		walk->status = COREHEAP_NOMEM;
}

void jem_own(struct jem_walk *walk, uint32_t region, uint64_t start,
	     uint64_t end, enum coreheap_owned_kind kind)
{
	const struct coreheap_host *host = walk->host;

	if (end <= start || !COREHEAP_HOST_HAS(host, add_owned_range))
		return;
	if (host->add_owned_range(host, region, start, end, kind) ==
	    COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

struct jem_class_counts *jem_class_counts(struct jem_walk *walk,
					  unsigned int arena,
					  unsigned int szind)
{
	if (arena >= JEM_MAX_ARENAS || szind >= JEM_NSIZES)
		return &walk->class_sink;
	if (!walk->classes[arena]) {
		walk->classes[arena] = calloc(JEM_NSIZES,
					      sizeof(*walk->classes[arena]));
		if (!walk->classes[arena]) {
			walk->status = COREHEAP_NOMEM;
			return &walk->class_sink;
		}
	}
	return &walk->classes[arena][szind];
}

struct jem_arena_counts *jem_arena_counts(struct jem_walk *walk,
					  unsigned int arena)
{
	if (arena >= JEM_MAX_ARENAS)
		return &walk->arena_sink;
	if (!walk->arena_counts) {
		walk->arena_counts = calloc(JEM_MAX_ARENAS,
					    sizeof(*walk->arena_counts));
		if (!walk->arena_counts) {
			walk->status = COREHEAP_NOMEM;
			return &walk->arena_sink;
		}
	}
	return &walk->arena_counts[arena];
}

uint32_t jem_arena_region(struct jem_walk *walk, unsigned int ind)
{
	struct coreheap_region region = {
		// The arena_t and its bins (5.3: one shard per class by
		// default, in the arena).
		.control_size = walk->layout->arena_control,
	};
	char name[32];

	if (ind >= JEM_MAX_ARENAS)
		return UINT32_MAX;
	if (walk->arena_seen[ind])
		return walk->arena_region[ind];
	walk->arena_seen[ind] = true;
	snprintf(name, sizeof(name), "arena %u", ind);
	region.name = name;
	region.address = walk->arena_addr[ind];
	if (!region.address)
		region.control_size = 0;
	if (walk->host->add_region(walk->host, &region,
				   &walk->arena_region[ind])) {
		walk->status = COREHEAP_NOMEM;
		walk->arena_region[ind] = UINT32_MAX;
	}
	return walk->arena_region[ind];
}

static void walk_destroy(struct jem_walk *walk)
{
	if (!walk)
		return;
	free(walk->ranges);
	free(walk->tcaches);
	jem_ptrset_deinit(&walk->cached);
	jem_ptrset_deinit(&walk->internal);
	jem_ptrset_deinit(&walk->empty_pageslabs);
	free(walk->arena_counts);
	free(walk->stack_cache);
	for (size_t a = 0; a < JEM_MAX_ARENAS; a++)
		free(walk->classes[a]);
	free(walk);
}

/*
 * jemalloc's base allocator: the blocks it mapped for arenas, edata, rtree
 * leaves and the like. Memory of jemalloc's own, never the program's.
 */
static void report_bases(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint64_t seen[64];
	size_t num_seen = 0, blocks = 0;

	for (unsigned int a = 0; a < JEM_MAX_ARENAS && !walk->status; a++) {
		uint64_t base, block;
		size_t n;

		if (!walk->arena_addr[a] ||
		    jem_read_u64(host,
				 walk->arena_addr[a] + walk->layout->arena_base,
				 &base) ||
		    !base ||
		    jem_read_u64(host, base + walk->layout->base_blocks, &block))
			continue;
		for (n = 0; n < num_seen && seen[n] != base; n++)
			;
		if (n < num_seen)
			continue;
		if (num_seen < sizeof(seen) / sizeof(*seen))
			seen[num_seen++] = base;
		for (n = 0; block && n < JEM_MAX_BASE_BLOCKS; n++) {
			uint64_t size;

			if (block % JEM_PAGE ||
			    jem_read_u64(host, block + JEM_BASE_BLOCK_SIZE, &size) ||
			    !size || size % JEM_PAGE || block + size < block) {
				jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
					   jem_arena_region(walk, a), block,
					   "arena %u's base lists 0x%llx, which is no base block",
					   a, (unsigned long long)block);
				break;
			}
			// The block's whole mapping is jemalloc's: the arena,
			// edata, rtree leaves and the rest base_alloc() gave.
			jem_block(walk, block, size, COREHEAP_BLOCK_METADATA,
				  jem_arena_region(walk, a));
			jem_own(walk, jem_arena_region(walk, a), block,
				block + size, COREHEAP_OWNED_HEAP);
			blocks++;
			if (jem_read_u64(host, block + JEM_BASE_BLOCK_NEXT, &block))
				break;
		}
	}
	host->log(host, COREHEAP_LOG_INFO, "base allocator: %zu block%s",
		  blocks, blocks == 1 ? "" : "s");
}

static int build(struct jem_walk *walk)
{
	int err;

	err = jem_collect_ranges(walk);
	if (!err)
		err = jem_find_tcaches(walk);
	if (err)
		return err;
	jem_find_arenas(walk);
	err = jem_tcaches_from_arenas(walk);
	if (!err)
		err = jem_collect_cached(walk);
	if (err)
		return err;
	jem_find_size_classes(walk);
	// sz_boot() fills the size-class table when jemalloc starts: with
	// it still empty, no arena and no tcache, nothing was allocated.
	if (!walk->st->emap_global && walk->sizes_source == JEM_SOURCE_COMPUTED &&
	    !walk->arenas && !walk->num_tcaches) {
		walk->uninitialised = true;
		return COREHEAP_OK;
	}
	return jem_find_rtree_root(walk);
}

static void log_sources(const struct coreheap_host *host,
			const struct jem_state *st, const struct jem_walk *walk)
{
	size_t arenas = 0;

	host->log(host, COREHEAP_LOG_INFO,
		  "jemalloc %s (version %s); radix tree root: %s; arenas: %s; size classes: %s; tsd: %s",
		  st->version[0] ? st->version : "of unknown version",
		  jem_source_name(st->version_source),
		  jem_source_name(walk->root_source),
		  jem_source_name(walk->arenas_source),
		  jem_source_name(walk->sizes_source),
		  jem_source_name(st->tsd_source));
	if (st->have_symbols)
		return;
	for (size_t i = 0; i < JEM_MAX_ARENAS; i++)
		arenas += walk->arena_addr[i] != 0;
	host->log(host, COREHEAP_LOG_WARNING,
		  "no symbols for jemalloc %s: its radix tree, arenas and size classes were found by their contents, the thread caches by layout knowledge (%zu tcache%s, %zu arena%s)",
		  st->version[0] ? st->version : "(version unknown)",
		  walk->num_tcaches, walk->num_tcaches == 1 ? "" : "s", arenas,
		  arenas == 1 ? "" : "s");
}

/*
 * The distribution users of jemalloc ask for, per arena, into summary's
 * table of the arena's region (add_stat): its extents and the pages of
 * its free extents, then per size class the slabs (or large extents) and
 * their regions, live, free, in tcaches, jemalloc's own.
 */
static void report_arena_stats(struct jem_walk *walk, unsigned int a)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_arena_counts zero = { 0 };
	const struct jem_arena_counts *ac =
		walk->arena_counts ? &walk->arena_counts[a] : &zero;
	uint32_t region = jem_arena_region(walk, a);
	char row[48];
	int err = COREHEAP_OK;

	if (region == UINT32_MAX)
		return;
#define STAT(key, value)                                                   \
	do {                                                               \
		if (!err)                                                  \
			err = host->add_stat(host, region, row, key,       \
					     (uint64_t)(value));           \
	} while (0)
	snprintf(row, sizeof(row), "extents");
	STAT("slabs", ac->slabs);
	STAT("large", ac->large);
	STAT("free", ac->free_extents);
	snprintf(row, sizeof(row), "free pages");
	STAT("dirty", ac->dirty);
	STAT("muzzy", ac->muzzy);
	STAT("retained", ac->retained);
	for (unsigned int i = 0; walk->classes[a] && i < JEM_NSIZES; i++) {
		const struct jem_class_counts *c = &walk->classes[a][i];
		uint64_t regions = c->live + c->free + c->cached + c->internal;

		if (!c->slabs)
			continue;
		snprintf(row, sizeof(row), "class %llu B",
			 (unsigned long long)walk->sizes[i]);
		STAT(i < JEM_NBINS ? "slabs" : "large", c->slabs);
		if (i < JEM_NBINS)
			STAT("regions", regions);
		STAT("live", c->live);
		if (i < JEM_NBINS)
			STAT("free", c->free);
		STAT("tcache", c->cached);
		STAT("internal", c->internal);
		// Slab utilisation: the share of the regions the program
		// holds (the rest is fragmentation or cache).
		if (i < JEM_NBINS)
			STAT("percent live", regions ? 100 * c->live / regions : 0);
	}
#undef STAT
	if (err == COREHEAP_NOMEM)
		walk->status = err;
}

/*
 * The same per size class, all arenas together, for --verbose; and into
 * summary where the host takes an allocator's table.
 */
static void log_distribution(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	bool stats = COREHEAP_HOST_HAS(host, add_stat);

	for (unsigned int i = 0; i < JEM_NSIZES; i++) {
		struct jem_class_counts c = { 0 };
		uint64_t regions;

		for (unsigned int a = 0; a < JEM_MAX_ARENAS; a++) {
			if (!walk->classes[a])
				continue;
			c.slabs += walk->classes[a][i].slabs;
			c.live += walk->classes[a][i].live;
			c.free += walk->classes[a][i].free;
			c.cached += walk->classes[a][i].cached;
			c.internal += walk->classes[a][i].internal;
		}
		if (!c.slabs)
			continue;
		regions = c.live + c.free + c.cached + c.internal;
		host->log(host, COREHEAP_LOG_INFO,
			  "class %u (%llu B): %llu %s, %llu live, %llu free, %llu in tcaches, %llu jemalloc's own; %llu%% of the regions live",
			  i, (unsigned long long)walk->sizes[i],
			  (unsigned long long)c.slabs,
			  i < JEM_NBINS ? "slabs" : "large extents",
			  (unsigned long long)c.live,
			  (unsigned long long)c.free,
			  (unsigned long long)c.cached,
			  (unsigned long long)c.internal,
			  (unsigned long long)(regions ? 100 * c.live / regions :
							 0));
	}
	for (unsigned int a = 0; a < JEM_MAX_ARENAS && !walk->status; a++) {
		const struct jem_arena_counts *c =
			walk->arena_counts ? &walk->arena_counts[a] : NULL;

		if (c && (c->dirty || c->muzzy || c->retained))
			host->log(host, COREHEAP_LOG_INFO,
				  "arena %u: free extents of %llu dirty, %llu muzzy, %llu retained pages",
				  a, (unsigned long long)c->dirty,
				  (unsigned long long)c->muzzy,
				  (unsigned long long)c->retained);
		if (stats && walk->arena_seen[a] &&
		    walk->arena_region[a] != UINT32_MAX)
			report_arena_stats(walk, a);
	}
}

/*
 * Whether build() with layout @p l finds jemalloc's structures (its radix
 * tree, or a jemalloc never started), logging and reporting nothing.
 * *err_ret: COREHEAP_NOMEM, else COREHEAP_OK.
 */
static bool layout_fits(const struct coreheap_host *host, struct jem_state *st,
			const struct jem_layout *l, int *err_ret)
{
	struct jem_walk *walk = calloc(1, sizeof(*walk));
	bool fits;
	int err;

	*err_ret = COREHEAP_OK;
	if (!walk) {
		*err_ret = COREHEAP_NOMEM;
		return false;
	}
	walk->host = host;
	walk->st = st;
	walk->layout = l;
	walk->quiet = true;
	err = build(walk);
	fits = !err && (walk->uninitialised || walk->rtree_root);
	if (err == COREHEAP_NOMEM)
		*err_ret = err;
	walk_destroy(walk);
	return fits;
}

/*
 * No version string (the library's file is not at hand, and cores leave
 * its .rodata out): the layout of the version whose global names the
 * radix tree, where symbols say; else the one whose tcache checks the
 * most threads' tsd pass (a tsd read with another version's layout fails
 * them: 5.3's tcache_t and tcache_slow_t must point at each other, 5.2's
 * descriptor at its tcache's own bins); else the first whose radix tree
 * and arenas are found. COREHEAP_OK or COREHEAP_NOMEM.
 */
static int guess_layout(const struct coreheap_host *host, struct jem_state *st)
{
	struct jem_walk probe = { .host = host, .st = st, .quiet = true };
	const struct jem_layout *best = NULL, *l;
	size_t best_count = 0;
	const char *how = NULL;
	int err = COREHEAP_OK;

	for (size_t i = 0; (l = jem_layout_at(i)) && !best; i++) {
		if (st->emap_name && !strcmp(st->emap_name, l->rtree_symbol)) {
			best = l;
			how = "whose globals its symbols name";
		}
	}
	for (size_t i = 0; (l = jem_layout_at(i)) && !how; i++) {
		size_t count;

		probe.layout = l;
		count = jem_count_thread_tcaches(&probe);
		if (count > best_count) {
			best = l;
			best_count = count;
		}
	}
	if (best && !how)
		how = "whose layout its threads' tcaches fit";
	for (size_t i = 0; !best && (l = jem_layout_at(i)) && !err; i++) {
		if (layout_fits(host, st, l, &err)) {
			best = l;
			how = "whose layout its radix tree and arenas fit";
		}
	}
	if (err)
		return err;
	if (!best) {
		best = jem_layout_default();
		how = "which nothing in the core confirms";
	}
	st->layout = best;
	host->log(host, COREHEAP_LOG_WARNING,
		  "jemalloc's version string was not found; walking it as %s, %s",
		  best->version, how);
	return COREHEAP_OK;
}

static int jemalloc_probe(const struct coreheap_host *host, bool forced,
			  int *confidence_ret, void **state_ret)
{
	struct jem_state *st;
	int err;

	*confidence_ret = 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return COREHEAP_NOMEM;
	st->tsd_source = JEM_SOURCE_LAYOUT;
	err = jem_locate(host, st, forced, confidence_ret);
	if (err || !*confidence_ret) {
		free(st);
		*confidence_ret = 0;
		return err == COREHEAP_NOMEM ? err : COREHEAP_OK;
	}
	*state_ret = st;
	return COREHEAP_OK;
}

static int jemalloc_walk(const struct coreheap_host *host, void *state)
{
	struct jem_state *st = state;
	struct jem_walk *walk;
	int err;

	if (!st)
		return COREHEAP_FAILED;
	// Each version moves the tsd, the tcache, the arena and the extent
	// (5.3.1 makes bins all_bins; 5.2.0 lacks 5.2.1's tsd fields): only
	// the versions with a layout table are walked.
	if (!st->layout) {
		host->log(host, COREHEAP_LOG_WARNING,
			  "jemalloc %d.%d.%d (version string %s) is not supported: its heap is not walked; the layouts known are those of jemalloc %s",
			  st->version_major, st->version_minor,
			  st->version_patch, st->version,
			  jem_layout_versions());
		return COREHEAP_FAILED;
	}

	if (!st->version[0]) {
		err = guess_layout(host, st);
		if (err)
			return err;
	}
	if (st->emap_name && strcmp(st->emap_name, st->layout->rtree_symbol)) {
		host->log(host, COREHEAP_LOG_WARNING,
			  "jemalloc %s has %s%s, which jemalloc %s has not: its heap is not walked",
			  st->version[0] ? st->version : "of unknown version",
			  st->symbol_prefix, st->emap_name,
			  st->layout->version);
		return COREHEAP_FAILED;
	}
	walk = calloc(1, sizeof(*walk));
	if (!walk)
		return COREHEAP_NOMEM;
	walk->host = host;
	walk->st = st;
	walk->layout = st->layout;
	err = build(walk);
	if (err) {
		walk_destroy(walk);
		return err == COREHEAP_NOMEM ? err : COREHEAP_FAILED;
	}
	if (walk->uninitialised) {
		host->log(host, COREHEAP_LOG_INFO,
			  "jemalloc was never initialised: nothing to walk");
		walk_destroy(walk);
		return COREHEAP_OK;
	}
	log_sources(host, st, walk);
	jem_prof_init(walk);
	memcpy(st->sizes, walk->sizes, sizeof(st->sizes));
	// The radix tree's root, in the module's data: jemalloc's own
	// (2 MiB of pointers, or 256 KiB for 57-bit addresses), no root of
	// the program's.
	jem_own(walk, UINT32_MAX, walk->rtree_root,
		walk->rtree_root + 8 * jem_rtree_slots(walk->rtree_shape),
		COREHEAP_OWNED_HEAP);
	err = walk->layout->arena_hpa_shard ? jem_hpa_collect(walk) :
					       COREHEAP_OK;
	if (!err)
		err = jem_collect_prof(walk);
	if (!err)
		err = jem_walk_extents(walk);
	if (!err) {
		jem_check_cached(walk);
		report_bases(walk);
		err = walk->status;
	}
	host->log(host, COREHEAP_LOG_INFO,
		  "%zu extents: %zu slabs (%zu live, %zu free regions), %zu large, %zu free extents; %zu cached in tcaches, %zu of jemalloc's own",
		  walk->counts.extents, walk->counts.slabs,
		  walk->counts.regions_live, walk->counts.regions_free,
		  walk->counts.large, walk->counts.free_extents,
		  walk->counts.tcached, walk->counts.metadata);
	if (walk->counts.alloc_stacks)
		host->log(host, COREHEAP_LOG_INFO,
			  "heap profiling: %zu live allocation%s with the stack that allocated %s",
			  walk->counts.alloc_stacks,
			  walk->counts.alloc_stacks == 1 ? "" : "s",
			  walk->counts.alloc_stacks == 1 ? "it" : "them");
	log_distribution(walk);
	if (!err)
		err = walk->status;
	if (walk->damage_count > JEM_MAX_DAMAGE)
		host->log(host, COREHEAP_LOG_WARNING,
			  "%zu damage reports, only the first %d shown",
			  walk->damage_count, JEM_MAX_DAMAGE);
	walk_destroy(walk);
	return err;
}

/*
 * jemalloc gives every request its size class (sz_s2u()): the smallest
 * class that holds it, whether the region is a slab's or a large extent.
 * The classes come from the walk (the process's own table when found),
 * sorted as jemalloc makes them: a damaged table only gives wrong sizes.
 */
static int jemalloc_usable_size(const struct coreheap_host *host, void *state,
				const struct coreheap_block *like,
				uint64_t request, uint64_t *ret)
{
	const struct jem_state *st = state;
	size_t low = 0, high = JEM_NSIZES;

	(void)host;
	(void)like;
	if (!st || !st->sizes[0])
		return COREHEAP_NOT_FOUND;
	// malloc(0) is served as malloc(1).
	if (!request)
		request = 1;
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (st->sizes[mid] < request)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == JEM_NSIZES)
		return COREHEAP_NOT_FOUND;
	*ret = st->sizes[low];
	return COREHEAP_OK;
}

static void jemalloc_destroy(void *state)
{
	free(state);
}

const struct coreheap_allocator coreheap_jemalloc_allocator = {
	COREHEAP_ALLOCATOR_INIT,
	.name = "jemalloc",
	.description = "jemalloc 5.2.1 and 5.3.0, x86-64 (Debian's libjemalloc2, or built with symbols)",
	.is_runtime = false,
	.probe = jemalloc_probe,
	.walk = jemalloc_walk,
	.destroy = jemalloc_destroy,
	.usable_size = jemalloc_usable_size,
};
