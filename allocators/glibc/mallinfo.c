// SPDX-License-Identifier: MIT
// What mallinfo2() would have told the process, from the chunks the walk
// found, made the way glibc's int_mallinfo() (malloc/malloc.c) makes it for
// each arena on the ring and mallinfo2() sums them:
//
//   arena    += system_mem                  (the arena's own counter)
//   ordblks  += 1 + chunks in regular bins  (the 1 is top, always counted)
//   smblks   += chunks on fastbins
//   fsmblks  += their chunk sizes
//   fordblks += chunksize(top) + fastbin and bin chunk sizes
//   uordblks += system_mem - that           (tcache entries count as used)
//   keepcost  = chunksize(top) of main_arena
//   hblks     = mmapped chunks (mp_.n_mmaps), hblkhd = their mappings'
//               bytes (mp_.mmapped_mem)
//
// usmblks is always 0 and is left out. Each arena's region gets its part,
// row "mallinfo2, this arena"; main_arena's also the sums, row "mallinfo2":
// what the call returns.

#include <string.h>

#include "glibc.h"

#define ROW_ARENA "mallinfo2, this arena"
#define ROW_ALL "mallinfo2"

/** The fields of struct mallinfo2 coreheap reports, in its order. */
struct ptm_mallinfo {
	uint64_t arena, ordblks, smblks, hblks, hblkhd, fsmblks, uordblks;
	uint64_t fordblks, keepcost;
};

static void put_stat(struct ptm_walk *walk, uint32_t region, const char *row,
		     const char *key, uint64_t value)
{
	const struct coreheap_host *host = walk->host;

	if (!walk->status &&
	    host->add_stat(host, region, row, key, value) == COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

// int_mallinfo() of one arena into *part, added to *all.
static void arena_part(const struct ptm_arena *arena,
		       struct ptm_mallinfo *part, struct ptm_mallinfo *all)
{
	uint64_t top = arena->top_valid ? arena->top_size : 0;
	uint64_t avail = top + arena->fastbin_bytes + arena->binned_bytes;

	memset(part, 0, sizeof(*part));
	part->arena = arena->system_mem;
	part->ordblks = 1 + arena->binned_chunks;
	part->smblks = arena->fastbin_chunks;
	part->fsmblks = arena->fastbin_bytes;
	part->fordblks = avail;
	// A damaged system_mem below what is free: said by check().
	part->uordblks = arena->system_mem > avail ? arena->system_mem - avail : 0;
	all->arena += part->arena;
	all->ordblks += part->ordblks;
	all->smblks += part->smblks;
	all->fsmblks += part->fsmblks;
	all->fordblks += part->fordblks;
	all->uordblks += part->uordblks;
	if (arena->is_main)
		all->keepcost = top;
}

static void put_mallinfo(struct ptm_walk *walk, uint32_t region,
			 const char *row, const struct ptm_mallinfo *m,
			 bool whole)
{
	put_stat(walk, region, row, "arena", m->arena);
	put_stat(walk, region, row, "ordblks", m->ordblks);
	put_stat(walk, region, row, "smblks", m->smblks);
	if (whole) {
		put_stat(walk, region, row, "hblks", m->hblks);
		put_stat(walk, region, row, "hblkhd", m->hblkhd);
	}
	put_stat(walk, region, row, "fsmblks", m->fsmblks);
	put_stat(walk, region, row, "uordblks", m->uordblks);
	put_stat(walk, region, row, "fordblks", m->fordblks);
	if (whole)
		put_stat(walk, region, row, "keepcost", m->keepcost);
}

void ptm_report_mallinfo(struct ptm_walk *walk)
{
	struct ptm_mallinfo all = {
		.hblks = walk->mmapped_chunks,
		.hblkhd = walk->mmapped_bytes,
	};
	uint32_t main_region = UINT32_MAX;

	if (!COREHEAP_HOST_HAS(walk->host, add_stat))
		return;
	for (size_t i = 0; i < walk->num_arenas; i++) {
		const struct ptm_arena *arena = &walk->arenas[i];
		struct ptm_mallinfo part;

		arena_part(arena, &part, &all);
		if (arena->is_main)
			main_region = arena->region;
		if (arena->region != UINT32_MAX && walk->num_arenas > 1)
			put_mallinfo(walk, arena->region, ROW_ARENA, &part, false);
	}
	if (main_region != UINT32_MAX)
		put_mallinfo(walk, main_region, ROW_ALL, &all, true);
}
