// SPDX-License-Identifier: MIT
// The hugepage allocator (MALLOC_CONF=hpa:true): its pageslabs, 2 MiB
// each, out of which it hands extents. The radix tree maps only those
// extents; the rest of a pageslab, and every pageslab with no extent left
// (empty, kept for later or waiting to be purged), is jemalloc's too. Each
// pageslab's hpdata_t says which of its pages are active: the pages it
// says are free are explained, owned as the heap's (never a root); pages
// no extent holds though the hpdata_t calls them active, or a pageslab
// whose hpdata_t cannot be read, are owned unexplained (scanned as roots).

#include <string.h>

#include "jemalloc.h"

// Most hpdata_t followed on one psset list: 2^20 pageslabs are 2 TiB.
#define MAX_LIST_PAGESLABS (1u << 20)

struct hpdata_view {
	uint64_t address, nactive;
	uint64_t active[JEM_HUGEPAGE_PAGES / 64];
	uint64_t raw_links[JEM_HPDATA_SIZE / 8];
};

static bool read_hpdata(const struct jem_walk *walk, uint64_t hpdata,
			struct hpdata_view *v)
{
	const struct coreheap_host *host = walk->host;
	uint8_t raw[JEM_HPDATA_SIZE];

	if (!hpdata || hpdata % 8 || host->read(host, hpdata, raw, sizeof(raw)))
		return false;
	memcpy(&v->address, raw + JEM_HPDATA_ADDRESS, 8);
	memcpy(&v->nactive, raw + JEM_HPDATA_NACTIVE, 8);
	memcpy(v->active, raw + JEM_HPDATA_ACTIVE_PAGES, sizeof(v->active));
	memcpy(v->raw_links, raw, sizeof(v->raw_links));
	return true;
}

// True if the pageslab's pages [first, last) are all inactive.
static bool pages_inactive(const uint64_t *active, uint64_t first,
			   uint64_t last)
{
	for (uint64_t p = first; p < last && p < JEM_HUGEPAGE_PAGES; p++)
		if (active[p / 64] >> (p % 64) & 1)
			return false;
	return true;
}

// [start, end) of the current pageslab, which no extent holds.
static void own_gap(struct jem_walk *walk, uint64_t start, uint64_t end)
{
	bool free = walk->hpa_known &&
		    pages_inactive(walk->hpa_active,
				   (start - walk->hpa_page) / JEM_PAGE,
				   (end - walk->hpa_page) / JEM_PAGE);

	jem_own(walk, walk->hpa_region, start, end,
		free ? COREHEAP_OWNED_HEAP : COREHEAP_OWNED_UNEXPLAINED);
	if (free)
		walk->counts.hpa_free_pages += (end - start) / JEM_PAGE;
}

void jem_hpa_end(struct jem_walk *walk)
{
	if (walk->hpa_page && walk->hpa_covered < walk->hpa_page + JEM_HUGEPAGE)
		own_gap(walk, walk->hpa_covered, walk->hpa_page + JEM_HUGEPAGE);
	walk->hpa_page = 0;
}

void jem_hpa_extent(struct jem_walk *walk, const struct jem_extent *e,
		    uint32_t region)
{
	uint64_t page = e->base & ~(JEM_HUGEPAGE - 1), end = e->base + e->size;

	if (end > page + JEM_HUGEPAGE)
		return;
	if (page != walk->hpa_page) {
		struct hpdata_view v;
		struct jem_ptr *listed;

		jem_hpa_end(walk);
		walk->hpa_page = page;
		walk->hpa_covered = page;
		walk->hpa_region = region;
		// The extent's e_ps names its pageslab's hpdata_t.
		walk->hpa_known = read_hpdata(walk, e->ps, &v) &&
				  v.address == page;
		if (walk->hpa_known) {
			memcpy(walk->hpa_active, v.active, sizeof(v.active));
			walk->counts.hpa_pageslabs++;
		}
		listed = walk->empty_pageslabs.count ?
				 jem_ptrset_find(&walk->empty_pageslabs, page) :
				 NULL;
		if (listed) {
			listed->met = true;
			jem_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region,
				   page,
				   "the hugepage allocator lists the pageslab at 0x%llx as empty, but the radix tree maps an extent in it",
				   (unsigned long long)page);
		}
	}
	if (e->base > walk->hpa_covered)
		own_gap(walk, walk->hpa_covered, e->base);
	if (end > walk->hpa_covered)
		walk->hpa_covered = end;
}

/*
 * One of the psset's lists (a ring through the hpdata_t's link at
 * @p link): its empty pageslabs into walk->empty_pageslabs, tagged with
 * the arena.
 */
static int collect_list(struct jem_walk *walk, unsigned int arena,
			uint64_t first, unsigned int link)
{
	uint64_t node = first;

	for (uint32_t steps = 0; node && steps < MAX_LIST_PAGESLABS; steps++) {
		struct hpdata_view v;

		if (!read_hpdata(walk, node, &v)) {
			jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
				   jem_arena_region(walk, arena), node,
				   "arena %u: a pageslab's hpdata_t at 0x%llx is not in the core",
				   arena, (unsigned long long)node);
			return COREHEAP_OK;
		}
		if (v.nactive == 0 && v.address &&
		    v.address % JEM_HUGEPAGE == 0 &&
		    jem_ptrset_add(&walk->empty_pageslabs, v.address, arena))
			return COREHEAP_NOMEM;
		node = v.raw_links[link / 8];
		if (node == first)
			break;
	}
	return COREHEAP_OK;
}

/*
 * What is left of the central allocator's last mapping (eden): address
 * space jemalloc mapped for pageslabs to come, its own.
 */
static void own_eden(struct jem_walk *walk, uint64_t central)
{
	const struct coreheap_host *host = walk->host;
	uint64_t eden[2];

	if (!central || host->read(host, central + JEM_HPA_CENTRAL_EDEN, eden,
				   sizeof(eden)))
		return;
	if (!eden[0] || eden[0] % JEM_HUGEPAGE || !eden[1] ||
	    eden[1] % JEM_HUGEPAGE || eden[1] > JEM_HPA_EDEN_SIZE ||
	    eden[0] + eden[1] < eden[0])
		return;
	jem_own(walk, UINT32_MAX, eden[0], eden[0] + eden[1],
		COREHEAP_OWNED_HEAP);
	walk->counts.hpa_eden_bytes += eden[1];
}

int jem_hpa_collect(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint64_t last_central = 0;

	for (unsigned int a = 0; a < JEM_MAX_ARENAS; a++) {
		uint64_t shard = walk->arena_addr[a] +
				walk->layout->arena_hpa_shard;
		uint64_t psset = shard + JEM_HPA_SHARD_PSSET, central;
		uint64_t heads[(JEM_PSSET_TO_HUGIFY + 8 - JEM_PSSET_EMPTY) / 8];
		int err;

		if (!walk->arena_addr[a])
			continue;
		// An arena without the hugepage allocator has these zero.
		if (jem_read_u64(host, shard + JEM_HPA_SHARD_CENTRAL, &central) ||
		    !central ||
		    host->read(host, psset + JEM_PSSET_EMPTY, heads, sizeof(heads)))
			continue;
		if (central != last_central)
			own_eden(walk, central);
		last_central = central;
		err = collect_list(walk, a, heads[0], JEM_HPDATA_LINK_EMPTY);
		for (unsigned int i = 0; !err && i < JEM_PSSET_NPURGE_LISTS; i++)
			err = collect_list(walk, a,
					   heads[(JEM_PSSET_TO_PURGE - JEM_PSSET_EMPTY) / 8 + i],
					   JEM_HPDATA_LINK_PURGE);
		if (!err)
			err = collect_list(walk, a,
					   heads[(JEM_PSSET_TO_HUGIFY - JEM_PSSET_EMPTY) / 8],
					   JEM_HPDATA_LINK_HUGIFY);
		if (err)
			return err;
	}
	jem_ptrset_sort(&walk->empty_pageslabs, NULL, NULL);
	return COREHEAP_OK;
}

void jem_hpa_own_empty(struct jem_walk *walk)
{
	for (size_t i = 0; i < walk->empty_pageslabs.count; i++) {
		const struct jem_ptr *p = &walk->empty_pageslabs.items[i];

		if (p->met)
			continue;
		jem_own(walk, jem_arena_region(walk, p->tag), p->address,
			p->address + JEM_HUGEPAGE, COREHEAP_OWNED_HEAP);
		walk->counts.hpa_empty_pageslabs++;
	}
	if (walk->counts.hpa_pageslabs || walk->counts.hpa_empty_pageslabs ||
	    walk->counts.hpa_eden_bytes)
		walk->host->log(walk->host, COREHEAP_LOG_INFO,
				"hugepage allocator: %zu pageslabs with extents (%zu free pages in them), %zu empty, %llu bytes of eden",
				walk->counts.hpa_pageslabs,
				walk->counts.hpa_free_pages,
				walk->counts.hpa_empty_pageslabs,
				(unsigned long long)walk->counts.hpa_eden_bytes);
}
