// SPDX-License-Identifier: MIT
// What mallinfo2() would have told the process, from the chunks the walk
// found, made the way glibc's int_mallinfo() (malloc/malloc.c) makes it for
// each arena, so that the sum over the regions is mallinfo2()'s answer:
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
// usmblks is always 0 and is left out.

#include "glibc.h"

static void put_stat(struct ptm_walk *walk, uint32_t region, const char *key,
		 uint64_t value)
{
	const struct coreheap_host *host = walk->host;

	if (host->add_stat(host, region, "mallinfo2", key, value) ==
	    COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

void ptm_report_mallinfo(struct ptm_walk *walk)
{
	if (!COREHEAP_HOST_HAS(walk->host, add_stat))
		return;
	for (size_t i = 0; i < walk->num_arenas && !walk->status; i++) {
		const struct ptm_arena *arena = &walk->arenas[i];
		uint64_t top = arena->top_valid ? arena->top_size : 0;
		uint64_t avail = top + arena->fastbin_bytes + arena->binned_bytes;

		if (arena->region == UINT32_MAX)
			continue;
		put_stat(walk, arena->region, "arena", arena->system_mem);
		put_stat(walk, arena->region, "ordblks", 1 + arena->binned_chunks);
		put_stat(walk, arena->region, "smblks", arena->fastbin_chunks);
		put_stat(walk, arena->region, "fsmblks", arena->fastbin_bytes);
		put_stat(walk, arena->region, "fordblks", avail);
		// A damaged system_mem below what is free: said by check().
		put_stat(walk, arena->region, "uordblks",
		     arena->system_mem > avail ? arena->system_mem - avail : 0);
		if (arena->is_main)
			put_stat(walk, arena->region, "keepcost", top);
	}
	if (walk->have_mmapped_region && !walk->status) {
		put_stat(walk, walk->mmapped_region, "hblks", walk->mmapped_chunks);
		put_stat(walk, walk->mmapped_region, "hblkhd", walk->mmapped_bytes);
	}
}
