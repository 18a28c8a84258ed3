// SPDX-License-Identifier: MIT
// What glibc malloc owns, declared to the host (add_owned_range) so that
// the host scans the rest of every writable mapping as roots: the kernel
// merges an anonymous mapping of the program's (an interpreter's object
// pool, a compiler's GC arena) into the one of a neighbouring mmapped chunk
// or heap, and mapping bounds alone would hide the program's memory.
//
// Owned, and never a root: each thread arena heap from its heap_info to
// what glibc made writable of it (mprotect_size; not the whole 64 MiB
// reservation, whose PROT_NONE rest a program may map over), each run of
// the main arena from where its system memory starts to its end (top's end
// for the run with top), each mmapped chunk's mapping (the memalign offset
// before it included). Owned but unexplained, and counted as such: the
// foreign bytes a program sbrk'd between two runs of the main arena.

#include "glibc.h"

/** struct _heap_info: the fields at the same offsets in every version. */
struct owned_heap_info {
	uint64_t ar_ptr;
	uint64_t prev;
	uint64_t size;
	uint64_t mprotect_size;
};

void ptm_own(struct ptm_walk *walk, uint32_t region, uint64_t start,
	     uint64_t end, enum coreheap_owned_kind kind)
{
	const struct coreheap_host *host = walk->host;

	// A host older than the operation guesses from mapping bounds.
	if (end <= start || !COREHEAP_HOST_HAS(host, add_owned_range))
		return;
	if (host->add_owned_range(host, region, start, end, kind) ==
	    COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

// A thread arena's heap: from its heap_info to the end of what glibc made
// read-write (grow_heap raises mprotect_size; shrink_heap leaves it, and
// the bytes above size stay glibc's).
static void own_thread_heap(struct ptm_walk *walk, const struct ptm_heap *h,
			    uint32_t region)
{
	struct owned_heap_info info;
	uint64_t start = h->system_start, end = h->owned_end, writable;

	if (!walk->host->read(walk->host, start, &info, sizeof(info))) {
		writable = info.mprotect_size > info.size ? info.mprotect_size :
							    info.size;
		if (writable && start + writable > start &&
		    start + writable < end)
			end = start + writable;
	} else {
		// Without its heap_info, what the walk used: to the
		// heap's end (top's end is the heap's end).
		end = h->has_top ? h->end + walk->arenas[h->arena].top_size :
				   h->end;
	}
	ptm_own(walk, region, start, end, COREHEAP_OWNED_HEAP);
}

// The main arena's run: after a foreign sbrk, the run's system memory
// starts where the previous run closed, and the bytes up to its first chunk
// are the program's (or another allocator's), which glibc cannot explain.
static void own_main_run(struct ptm_walk *walk, const struct ptm_arena *arena,
			 const struct ptm_heap *h, uint32_t region)
{
	bool after_gap = false;

	for (size_t i = 0; i < arena->num_heaps; i++) {
		const struct ptm_heap *other =
			&walk->heaps[arena->first_heap + i];

		if (other != h && other->owned_end == h->system_start &&
		    h->start > h->system_start)
			after_gap = true;
	}
	if (after_gap) {
		ptm_own(walk, region, h->system_start, h->start,
			COREHEAP_OWNED_UNEXPLAINED);
		ptm_own(walk, region, h->start, h->owned_end,
			COREHEAP_OWNED_HEAP);
		return;
	}
	ptm_own(walk, region, h->system_start, h->owned_end,
		COREHEAP_OWNED_HEAP);
}

void ptm_declare_owned(struct ptm_walk *walk)
{
	for (size_t a = 0; a < walk->num_arenas && !walk->status; a++) {
		const struct ptm_arena *arena = &walk->arenas[a];

		for (size_t i = 0; i < arena->num_heaps && !walk->status; i++) {
			const struct ptm_heap *h =
				&walk->heaps[arena->first_heap + i];

			if (arena->is_main)
				own_main_run(walk, arena, h, arena->region);
			else
				own_thread_heap(walk, h, arena->region);
		}
	}
}
