// SPDX-License-Identifier: MIT
// Walking a heap chunk by chunk. A chunk is free when its successor's
// PREV_INUSE bit is clear (regular bins) or when it is on a tcache or fastbin
// list (those keep the bit set); the tcache structs are allocator metadata;
// everything else handed out is live.

#include <stdio.h>
#include <stdlib.h>

#include "glibc.h"

// Resuming after damage is bounded so that a wrecked heap stays linear:
// resumes per heap, bytes scanned for a place to resume, and chunk steps
// per search (the whole walk's are bounded too: walk->resume_steps_left).
#define MAX_RESUMES_PER_HEAP 64
#define RESUME_SCAN_BYTES (1u << 20)
#define RESUME_SCAN_STEPS (1u << 24)
#define RESUME_SCAN_GRANULES (RESUME_SCAN_BYTES / PTM_ALIGN)

/** One step of a walk: a chunk and the size field of its successor. */
struct step {
	uint64_t chunk;
	uint64_t size;       // chunksize, flags stripped
	uint64_t flags;
	uint64_t next_field; // successor's raw size field
};

static uint64_t chunk_size(uint64_t field)
{
	return field & ~(uint64_t)PTM_FLAG_BITS;
}

/**
 * The places a search for where to resume has seen fail, over the bytes it
 * scans: the sizes from any place lead to one fixed chain, so a chain that
 * meets a place an earlier (failed) chain passed fails too, and each place
 * of the scan is stepped on once however many starts lead through it.
 */
struct chain_memo {
	uint64_t base, limit;
	uint64_t failed[RESUME_SCAN_GRANULES / 64];
};

// Marks @p pos passed; true if an earlier chain had passed it.
static bool memo_passed(struct chain_memo *memo, uint64_t pos)
{
	uint64_t granule, bit;

	if (pos < memo->base || pos >= memo->limit)
		return false;
	granule = (pos - memo->base) / PTM_ALIGN;
	bit = UINT64_C(1) << (granule % 64);
	if (memo->failed[granule / 64] & bit)
		return true;
	memo->failed[granule / 64] |= bit;
	return false;
}

// True if the sizes from start lead to the heap's end: exactly onto top, or
// into the fencepost that closes a superseded heap. Each step costs one of
// *budget and one of the walk's; running out is failing. Every chain tried
// between two successes fails, so the places it passes are marked failed
// in @p memo as it goes.
static bool chain_reaches_end(struct ptm_walk *walk,
			      const struct ptm_heap *heap, uint64_t start,
			      struct chain_memo *memo, uint64_t *budget)
{
	struct ptm_reader *reader = &walk->reader;
	uint64_t pos = start, field, size;

	while (pos < heap->end) {
		if (!*budget || !walk->resume_steps_left ||
		    memo_passed(memo, pos) ||
		    ptm_reader_u64(reader, pos + 8, &field))
			return false;
		(*budget)--;
		walk->resume_steps_left--;
		size = chunk_size(field);
		// A fencepost's last header sits just before the end.
		if (!heap->has_top && pos + PTM_CHUNK_HDR == heap->end)
			return size == 0 || size == PTM_CHUNK_HDR;
		if (size % PTM_ALIGN || size < PTM_CHUNK_HDR ||
		    (size < PTM_MINSIZE &&
		     (heap->has_top || heap->end - pos > 3 * PTM_CHUNK_HDR)))
			return false;
		pos += size;
	}
	return pos == heap->end && heap->has_top;
}

/** Where a walk stands in the sorted free-list, bin and tcache addresses. */
struct cursors {
	struct ptm_key_cursor listed, binned, tcache;
};

static void cursors_init(const struct ptm_walk *walk, uint64_t from,
			 struct cursors *ret)
{
	ret->listed = (struct ptm_key_cursor){
		.keys = walk->listed_keys,
		.count = walk->listed_keys ? walk->listed.count : 0,
	};
	ret->binned = (struct ptm_key_cursor){
		.keys = walk->binned_keys,
		.count = walk->binned_keys ? walk->binned.count : 0,
	};
	ret->tcache = (struct ptm_key_cursor){
		.keys = walk->tcache_keys,
		.count = walk->tcache_keys ? walk->tcache_chunks.count : 0,
	};
	ptm_key_cursor_seek(&ret->listed, from);
	ptm_key_cursor_seek(&ret->binned, from);
	ptm_key_cursor_seek(&ret->tcache, from);
}

/** The lowest key any cursor has yet to pass: chunks below it are on none. */
static uint64_t cursors_pending(const struct cursors *cursors)
{
	const struct ptm_key_cursor *all[] = {
		&cursors->listed, &cursors->binned, &cursors->tcache,
	};
	uint64_t lowest = UINT64_MAX;

	for (size_t i = 0; i < 3; i++) {
		if (all[i]->next < all[i]->count &&
		    all[i]->keys[all[i]->next] < lowest)
			lowest = all[i]->keys[all[i]->next];
	}
	return lowest;
}

/** Move @p cursor past @p address; true if @p address is a key. */
static bool cursor_take(struct ptm_key_cursor *cursor, uint64_t address)
{
	bool has = ptm_key_cursor_has(cursor, address);

	if (has)
		cursor->next++;
	return has;
}

/** True if the cursor has keys below @p address not yet looked at. */
static inline bool cursor_behind(const struct ptm_key_cursor *cursor,
				 uint64_t address)
{
	return cursor->next < cursor->count &&
	       cursor->keys[cursor->next] < address;
}

// Free lists and bins take a chunk for what its size field says, so a
// forged header inside a live chunk passes their checks; only the walk,
// which meets the real chunk boundaries, sees that no chunk starts there.
// Reports the keys below `upto` that the walk stepped over: they lie inside
// `container`, the chunk met last.
static void report_passed(struct ptm_walk *walk, const struct ptm_arena *arena,
			  struct cursors *cursors, uint64_t upto,
			  uint64_t container)
{
	struct ptm_key_cursor *lists[] = {&cursors->listed, &cursors->binned};

	for (size_t i = 0; i < 2; i++) {
		struct ptm_key_cursor *c = lists[i];

		for (; cursor_behind(c, upto); c->next++) {
			uint64_t chunk = c->keys[c->next];
			uint32_t tag = 0;
			char list[32];

			if (i == 1) {
				ptm_addrset_find(&walk->binned, chunk, &tag);
				snprintf(list, sizeof(list), "bin %u", tag & 0xff);
			} else {
				ptm_addrset_find(&walk->listed, chunk, &tag);
				snprintf(list, sizeof(list), "%s bin %u",
					 tag >> 28 == PTM_LIST_TCACHE ? "tcache" :
								       "fastbin",
					 tag & 0xff);
			}
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
				   arena->region, chunk,
				   "%s holds 0x%llx, which is no chunk of the heap but lies inside the chunk at 0x%llx (a forged link?)",
				   list, (unsigned long long)chunk,
				   (unsigned long long)container);
		}
	}
}

// The successor's PREV_INUSE says the chunk is free, yet no bin holds it. A
// free chunk stranded by a damaged bin still names its neighbours, or is
// named by them; a live chunk whose bit an overflow cleared (a poison null
// byte, House of Einherjar) has user data there. Free if the links say so,
// else live: nothing malloc can hand out is in use by the program, and
// nothing it cannot hand out is free.
static bool stranded_free(struct ptm_walk *walk, uint64_t chunk)
{
	uint64_t fd, bk, back;

	if (ptm_addrset_find(&walk->mentioned, chunk, NULL))
		return true;
	if (ptm_reader_u64(&walk->reader, chunk + 16, &fd) ||
	    ptm_reader_u64(&walk->reader, chunk + 24, &bk))
		return false;
	return (fd != chunk && !(fd % PTM_ALIGN) &&
		!ptm_read_u64(walk->host, fd + 24, &back) && back == chunk) ||
	       (bk != chunk && !(bk % PTM_ALIGN) &&
		!ptm_read_u64(walk->host, bk + 16, &back) && back == chunk);
}

// Returns the state the chunk is given.
static enum coreheap_block_state unbinned_free(struct ptm_walk *walk,
					       uint32_t region,
					       const struct step *s)
{
	uint64_t next = s->chunk + s->size, footer;
	char why[96] = "";

	if (stranded_free(walk, s->chunk)) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, s->chunk,
			   "free chunk (the next chunk's PREV_INUSE is clear) is on no bin that leads to it: its bin's links are damaged");
		return COREHEAP_BLOCK_FREE;
	}
	if (!ptm_reader_u64(&walk->reader, next, &footer))
		snprintf(why, sizeof(why), "; its prev_size 0x%llx %s",
			 (unsigned long long)footer,
			 footer == s->size ? "was forged to match" :
					     "leads to no free chunk");
	ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region, next,
		   "PREV_INUSE cleared: it says the chunk before, 0x%llx (memory 0x%llx), is free, but no bin holds it (taken as live)%s",
		   (unsigned long long)s->chunk,
		   (unsigned long long)(s->chunk + PTM_CHUNK_HDR), why);
	return COREHEAP_BLOCK_LIVE;
}

static size_t arena_index(const struct ptm_walk *walk,
			  const struct ptm_arena *arena)
{
	return (size_t)(arena - walk->arenas);
}

// A free chunk as int_mallinfo() counts it: on a fastbin (a listed chunk
// that is no tcache entry) or in a regular bin; tcache entries are in use
// there.
static void count_free(struct ptm_walk *walk, struct ptm_arena *arena,
		       const struct step *s, bool listed)
{
	uint32_t tag = 0;

	if (listed) {
		if (!ptm_addrset_find(&walk->listed, s->chunk, &tag) ||
		    tag >> 28 != PTM_LIST_FASTBIN)
			return;
		arena->fastbin_chunks++;
		arena->fastbin_bytes += s->size;
		return;
	}
	arena->binned_chunks++;
	arena->binned_bytes += s->size;
}

/** What the free lists, the bins and the tcache structs say of a chunk. */
struct known {
	bool listed, binned, tcache;
};

static void classify(struct ptm_walk *walk, const struct ptm_arena *arena,
		     const struct known *known, const struct step *s)
{
	uint32_t region = arena->region;
	uint64_t mem = s->chunk + PTM_CHUNK_HDR;
	uint64_t usable = s->size - PTM_SIZE_SZ;
	bool prev_inuse = s->next_field & PTM_PREV_INUSE;
	bool listed = known->listed, binned = known->binned;
	enum coreheap_block_state state = COREHEAP_BLOCK_LIVE;

	if (s->flags & PTM_IS_MMAPPED)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, s->chunk,
			   "chunk inside a heap has IS_MMAPPED set");
	if (listed) {
		if (binned)
			ptm_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region,
				   s->chunk,
				   "chunk on a tcache or fastbin is also binned (next chunk's PREV_INUSE clear)");
		else if (!prev_inuse)
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region,
				   s->chunk + s->size,
				   "PREV_INUSE cleared: it says the chunk before, 0x%llx, is in a bin, but it is on a tcache or fastbin",
				   (unsigned long long)s->chunk);
		state = COREHEAP_BLOCK_FREE;
		count_free(walk, &walk->arenas[arena_index(walk, arena)], s,
			   true);
	} else if (binned) {
		// A bin whose links agree both ways on the chunk: malloc can
		// hand it out. check_bins reports a PREV_INUSE that disagrees.
		state = COREHEAP_BLOCK_FREE;
		count_free(walk, &walk->arenas[arena_index(walk, arena)], s,
			   false);
	} else if (known->tcache) {
		if (!prev_inuse)
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region,
				   s->chunk + s->size,
				   "PREV_INUSE cleared: it says the tcache struct before, 0x%llx, is free",
				   (unsigned long long)s->chunk);
		state = COREHEAP_BLOCK_METADATA;
	} else if (!prev_inuse) {
		state = unbinned_free(walk, region, s);
	} else if (walk->any_tcache_lost &&
		   ptm_take_lost_tcache(walk, s->chunk, s->size)) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, s->chunk,
			   "chunk freed into a tcache (its key says so) is lost from its list behind a damaged link: taken as free");
		state = COREHEAP_BLOCK_FREE;
	}
	if (state == COREHEAP_BLOCK_LIVE &&
	    !!(s->flags & PTM_NON_MAIN_ARENA) == arena->is_main)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, s->chunk,
			   "chunk's NON_MAIN_ARENA bit contradicts its arena");
	ptm_block(walk, mem, usable, state, region);
}

// Superseded heaps end in a fencepost whose last header is just before the
// heap's end: a small in-use chunk followed by a size-0 header (thread heaps,
// sysmalloc), or two 16-byte chunks (main arena runs, before memory sbrk does
// not own or at an mmapped run's end). Elsewhere such sizes are damage.
static bool is_fencepost(const struct ptm_heap *heap, const struct step *s)
{
	uint64_t next = s->chunk + s->size;

	return next + PTM_CHUNK_HDR == heap->end &&
	       (chunk_size(s->next_field) == 0 ||
		(s->size == PTM_CHUNK_HDR &&
		 chunk_size(s->next_field) == PTM_CHUNK_HDR));
}

// sysmalloc shrinks the old top of the main arena before its fenceposts to
// a multiple of 16 below it; left with 16 bytes, it is not freed but stays a
// 16-byte chunk in use.
static bool is_shrunk_old_top(const struct ptm_heap *heap,
			      const struct step *s)
{
	return s->size == PTM_CHUNK_HDR &&
	       s->chunk + 3 * PTM_CHUNK_HDR == heap->end &&
	       chunk_size(s->next_field) == PTM_CHUNK_HDR;
}

static void report_fencepost(struct ptm_walk *walk, uint32_t region,
			     const struct step *s)
{
	ptm_block(walk, s->chunk + PTM_CHUNK_HDR, s->size - PTM_SIZE_SZ,
		  COREHEAP_BLOCK_METADATA, region);
	if (chunk_size(s->next_field) == PTM_CHUNK_HDR)
		ptm_block(walk, s->chunk + s->size + PTM_CHUNK_HDR, PTM_SIZE_SZ,
			  COREHEAP_BLOCK_METADATA, region);
}

/** How a run of chunks ended. */
enum run_end {
	RUN_DONE,        // at the heap's end (top or fencepost)
	RUN_BAD_SIZE,    // an impossible size field at *stop
	RUN_UNREADABLE,  // memory missing from the core at *stop
};

static enum run_end walk_run(struct ptm_walk *walk,
			     const struct ptm_arena *arena,
			     const struct ptm_heap *heap, uint64_t start,
			     uint64_t *stop, uint64_t *field_ret)
{
	struct ptm_reader *reader = &walk->reader;
	struct step s = {.chunk = start};
	struct cursors cursors;
	uint64_t field, last = start, pending;
	bool closed = heap->has_top;

	cursors_init(walk, start, &cursors);
	pending = cursors_pending(&cursors);
	*stop = start;
	if (ptm_reader_u64(reader, s.chunk + 8, &field))
		return RUN_UNREADABLE;
	// malloc sets PREV_INUSE on the first chunk of every heap: there is
	// nothing before it that could be free.
	if (start == heap->start && !(field & PTM_PREV_INUSE))
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, arena->region, start,
			   "first chunk of the heap has PREV_INUSE clear: its prev_size would lead out of the heap");
	while (s.chunk < heap->end && !walk->status) {
		uint64_t next;

		*stop = s.chunk;
		*field_ret = field;
		s.size = chunk_size(field);
		s.flags = field & PTM_FLAG_BITS;
		next = s.chunk + s.size;
		if (s.size < PTM_CHUNK_HDR || s.size % PTM_ALIGN ||
		    next > heap->end || next < s.chunk)
			return RUN_BAD_SIZE;
		ptm_reader_prefetch_ahead(reader, next + PTM_PREFETCH_AHEAD);
		if (ptm_reader_u64(reader, next + 8, &s.next_field)) {
			// A superseded heap may end flush with its mapping.
			if (next == heap->end && !heap->has_top) {
				closed = true;
				break;
			}
			*stop = next;
			return RUN_UNREADABLE;
		}
		if (s.chunk >= pending &&
		    (cursor_behind(&cursors.listed, s.chunk) ||
		     cursor_behind(&cursors.binned, s.chunk)))
			report_passed(walk, arena, &cursors, s.chunk, last);
		last = s.chunk;
		if (!heap->has_top && is_fencepost(heap, &s)) {
			report_fencepost(walk, arena->region, &s);
			closed = true;
			break;
		}
		if (!heap->has_top && is_shrunk_old_top(heap, &s)) {
			ptm_block(walk, s.chunk + PTM_CHUNK_HDR, PTM_SIZE_SZ,
				  COREHEAP_BLOCK_METADATA, arena->region);
			s.chunk = next;
			field = s.next_field;
			continue;
		}
		if (s.size < PTM_MINSIZE)
			return RUN_BAD_SIZE;
		// Most chunks are on no list: one compare tells them.
		if (s.chunk < pending) {
			classify(walk, arena, &(struct known){0}, &s);
		} else {
			struct known known = {
				.listed = cursor_take(&cursors.listed, s.chunk),
				.binned = cursor_take(&cursors.binned, s.chunk),
				.tcache = cursor_take(&cursors.tcache, s.chunk),
			};

			classify(walk, arena, &known, &s);
			pending = cursors_pending(&cursors);
		}
		s.chunk = next;
		field = s.next_field;
	}
	if (walk->status)
		return RUN_DONE;
	report_passed(walk, arena, &cursors, heap->end, last);
	if (!closed)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, arena->region,
			   heap->owned_start, "heap ends without a fencepost");
	return RUN_DONE;
}

// After damage at `stop`, where can the walk go on? First the nearest place
// after it from which the sizes lead exactly to the heap's end (a garbage
// size almost never does: it would have to land on a real chunk); then the
// lowest known free chunk that does, its header vouched for by a free list.
static uint64_t resume_point(struct ptm_walk *walk, size_t arena,
			     const struct ptm_heap *heap, uint64_t stop,
			     const char **how)
{
	uint64_t limit = stop + RESUME_SCAN_BYTES, budget = RESUME_SCAN_STEPS;
	uint64_t *known, found = 0;
	struct chain_memo memo;
	size_t n;

	if (limit > heap->end || limit < stop)
		limit = heap->end;
	memo = (struct chain_memo){.base = stop, .limit = limit};
	*how = "by a scan";
	for (uint64_t pos = stop + PTM_ALIGN; pos < limit && budget;
	     pos += PTM_ALIGN) {
		if (chain_reaches_end(walk, heap, pos, &memo, &budget))
			return pos;
	}
	if (!walk->resume_steps_left)
		return 0;
	*how = "at a known free chunk";
	if (ptm_free_chunks_between(walk, arena, stop, heap->end, &known, &n)) {
		walk->status = COREHEAP_NOMEM;
		return 0;
	}
	// The scan's budget may be spent; these are few, and vouched for.
	// A chain the spent budget cut short did not fail: the places it
	// passed are not known to lead nowhere.
	if (!budget)
		memo = (struct chain_memo){.base = stop, .limit = limit};
	budget = UINT64_MAX;
	for (size_t i = 0; i < n && !found && walk->resume_steps_left; i++) {
		if (chain_reaches_end(walk, heap, known[i], &memo, &budget))
			found = known[i];
	}
	free(known);
	return found;
}

static void walk_heap(struct ptm_walk *walk, size_t index,
		      const struct ptm_heap *heap)
{
	const struct ptm_arena *arena = &walk->arenas[index];
	uint64_t pos = heap->start;

	for (unsigned int resumes = 0;; resumes++) {
		uint64_t stop, field = 0, resume;
		const char *how = NULL;
		enum run_end end;
		char after[160];

		ptm_reader_prefetch(&walk->reader, pos,
				    heap->end + PTM_CHUNK_HDR - pos);
		end = walk_run(walk, arena, heap, pos, &stop, &field);
		if (end == RUN_DONE || walk->status)
			return;
		resume = resumes < MAX_RESUMES_PER_HEAP ?
				 resume_point(walk, index, heap, stop, &how) :
				 0;
		if (resume)
			snprintf(after, sizeof(after),
				 "walk resumed at 0x%llx (found %s), the 0x%llx bytes before it unknown",
				 (unsigned long long)resume, how,
				 (unsigned long long)(resume - stop));
		else
			snprintf(after, sizeof(after),
				 "rest of the heap, up to 0x%llx, skipped",
				 (unsigned long long)heap->end);
		if (end == RUN_BAD_SIZE)
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE,
				   arena->region, stop,
				   "chunk size field 0x%llx is impossible; %s",
				   (unsigned long long)field, after);
		else
			ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
				   arena->region, stop,
				   "heap memory not in the core; %s", after);
		// The arena's, but no chunk explains it: said by summary,
		// and a root (live chunks in it may hold pointers).
		ptm_own(walk, arena->region, stop, resume ? resume : heap->end,
			COREHEAP_OWNED_UNEXPLAINED);
		if (!resume)
			return;
		pos = resume;
	}
}

void ptm_walk_arena_chunks(struct ptm_walk *walk, size_t index)
{
	const struct ptm_arena *arena = &walk->arenas[index];

	if (arena->top_claimed)
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, arena->region,
			   arena->top,
			   "top chunk's size field 0x%llx reaches past its memory, which ends 0x%llx bytes after it (House of Force?)",
			   (unsigned long long)arena->top_claimed,
			   (unsigned long long)arena->top_size);

	for (size_t i = 0; i < arena->num_heaps && !walk->status; i++)
		walk_heap(walk, index, &walk->heaps[arena->first_heap + i]);
	if (arena->top_valid && arena->num_heaps)
		ptm_block(walk, arena->top + PTM_CHUNK_HDR,
			  arena->top_size - PTM_SIZE_SZ, COREHEAP_BLOCK_FREE,
			  arena->region);
}
