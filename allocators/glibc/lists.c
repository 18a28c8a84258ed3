// SPDX-License-Identifier: MIT
// The free lists: every thread's tcache and every arena's fastbins (needed to
// tell their chunks from live ones), and the regular bins (only checked: a
// binned chunk is already told free by its successor's PREV_INUSE bit).

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "glibc.h"

// A list longer than this is damaged whatever the heap: tcache counts are
// uint16_t, and no fastbin holds more chunks than a heap can.
#define MAX_LIST_STEPS (1u << 24)

// The size of a small tcache bin's chunks; a large bin (2.42+) holds a range
// of sizes, told by ptm_tcache_bin().
static uint64_t tcache_chunk_size(unsigned int bin)
{
	return PTM_MINSIZE + (uint64_t)bin * PTM_ALIGN;
}

static uint64_t fastbin_chunk_size(unsigned int bin)
{
	return ((uint64_t)bin + 2) * PTM_ALIGN;
}

/** Votes for and against mangled list links. */
struct votes {
	unsigned int raw, mangled;
};

static bool is_chunk_of_size(const struct ptm_walk *walk, uint64_t chunk,
			     uint64_t size)
{
	uint64_t have;

	return chunk && !(chunk % PTM_ALIGN) &&
	       !ptm_read_u64(walk->host, chunk + 8, &have) &&
	       (have & ~(uint64_t)PTM_FLAG_BITS) == size;
}

// The link stored at pos leads to a chunk of `size` (at `target - bias`)
// either as is or demangled; a list's last link is 0 raw, pos >> 12 mangled.
static void vote(const struct ptm_walk *walk, struct votes *v, uint64_t pos,
		 uint64_t bias, uint64_t size)
{
	uint64_t stored, demangled;
	bool raw_ok, mangled_ok;

	if (ptm_read_u64(walk->host, pos, &stored))
		return;
	demangled = (pos >> 12) ^ stored;
	if (!stored) {
		v->raw++;
		return;
	}
	if (!demangled) {
		v->mangled++;
		return;
	}
	raw_ok = is_chunk_of_size(walk, stored - bias, size);
	mangled_ok = is_chunk_of_size(walk, demangled - bias, size);
	if (raw_ok != mangled_ok) {
		if (raw_ok)
			v->raw++;
		else
			v->mangled++;
	}
}

void ptm_decide_safe_linking(struct ptm_walk *walk)
{
	const struct ptm_state *st = walk->st;
	bool by_version = !st->version_major || st->version_major > 2 ||
			  st->version_minor >= 32;
	struct votes v = {0};

	for (size_t t = 0; t < walk->num_tcaches; t++) {
		struct ptm_tcache tc;

		if (ptm_tcache_read(walk, walk->tcaches[t], walk->layout, &tc))
			continue;
		// tcache links point at user memory (the entry), 16 past the
		// chunk, and live at the entry itself.
		for (unsigned int i = 0; i < PTM_TCACHE_SMALL_BINS; i++) {
			if (tc.entries[i] && !(tc.entries[i] % PTM_ALIGN))
				vote(walk, &v, tc.entries[i], PTM_CHUNK_HDR,
				     tcache_chunk_size(i));
		}
	}
	for (size_t a = 0; a < walk->num_arenas; a++) {
		for (unsigned int i = 0; i < walk->layout->ms_num_fastbins; i++) {
			uint64_t chunk = walk->arenas[a].fastbins[i];

			// fastbin links point at chunks and live in fd.
			if (chunk && !(chunk % PTM_ALIGN))
				vote(walk, &v, chunk + PTM_CHUNK_HDR, 0,
				     fastbin_chunk_size(i));
		}
	}
	if (v.raw == v.mangled)
		walk->safe_linking = by_version;
	else
		walk->safe_linking = v.mangled > v.raw;
	if (walk->safe_linking != by_version && st->version_major)
		walk->host->log(walk->host, COREHEAP_LOG_INFO,
				"%d.%d with%s safe-linking (seen in the lists: %u mangled, %u raw links)",
				st->version_major, st->version_minor,
				walk->safe_linking ? "" : "out", v.mangled,
				v.raw);
}

// Which region a listed chunk belongs to, for damage reports.
static uint32_t region_of(const struct ptm_walk *walk, uint64_t chunk)
{
	const struct ptm_heap *heap = ptm_heap_of(walk, chunk);

	return heap ? ptm_arena_region(walk, heap->arena) : UINT32_MAX;
}

/** A singly linked free list being walked. */
struct free_list {
	uint32_t tag;          // ptm_list_tag()
	uint64_t size;         // the chunk size all its chunks have ...
	bool large;            // ... unless a large tcache bin's (2.42+)
	size_t arena;          // SIZE_MAX: chunks may be in any arena (tcache)
	uint64_t holder;       // what holds the current link: head or chunk
	uint32_t steps;        // chunks marked so far
	uint32_t count;        // tcache count, or UINT32_MAX (fastbins)
};

/**
 * Check @p chunk, the next one on @p list, and mark it free; false when the
 * walk must stop (damage reported).
 */
static bool take_listed(struct ptm_walk *walk, struct free_list *list,
			uint64_t chunk)
{
	const char *name = list->tag >> 28 == PTM_LIST_TCACHE ? "tcache" :
								 "fastbin";
	unsigned int bin = list->tag & 0xff;
	uint32_t region = region_of(walk, chunk), old;
	uint64_t have, size = list->size;
	bool mmapped = false;
	int added;

	// A large tcache bin's chunks have sizes in the bin's range; from
	// 2.43 they may be mmapped chunks, outside every heap.
	if (list->large && !(chunk % PTM_ALIGN) &&
	    !ptm_read_u64(walk->host, chunk + 8, &have) &&
	    ptm_tcache_bin(walk->layout, have & ~(uint64_t)PTM_FLAG_BITS) == bin) {
		size = have & ~(uint64_t)PTM_FLAG_BITS;
		mmapped = ptm_tcache_mmapped(walk->layout, have);
	}
	if (chunk % PTM_ALIGN ||
	    (!mmapped && !ptm_chunk_in_heaps(walk, chunk, size, list->arena))) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
			   region_of(walk, list->holder), list->holder,
			   "%s bin %u link at 0x%llx leads outside the heaps, to 0x%llx",
			   name, bin, (unsigned long long)list->holder,
			   (unsigned long long)chunk);
		return false;
	}
	if (ptm_read_u64(walk->host, chunk + 8, &have)) {
		ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE, region, chunk,
			   "%s bin %u chunk not in the core", name, bin);
		return false;
	}
	if ((have & ~(uint64_t)PTM_FLAG_BITS) != size) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, region, chunk,
			   list->large ?
				   "%s bin %u chunk has size 0x%llx, outside the bin's range (from 0x%llx)" :
				   "%s bin %u chunk has size 0x%llx, not 0x%llx",
			   name, bin,
			   (unsigned long long)(have & ~(uint64_t)PTM_FLAG_BITS),
			   (unsigned long long)size);
		return false;
	}
	added = ptm_addrset_add(&walk->listed, chunk, list->tag, &old);
	if (added < 0) {
		walk->status = COREHEAP_NOMEM;
		return false;
	}
	if (added) {
		list->steps++;
		list->holder = chunk;
		return true;
	}
	// Met again on its own list: a double free when the tcache count
	// says the list is that long (each free counted), else a bad link.
	// A chunk whose link leads to itself is said so: the list is endless
	// and malloc would hand the chunk out again and again.
	if (old == list->tag && list->steps >= list->count)
		ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, region, chunk,
			   "%s bin %u loops back to chunk 0x%llx%s", name, bin,
			   (unsigned long long)chunk,
			   chunk == list->holder ? ": its link points to itself" : "");
	else if (old == list->tag)
		ptm_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region, chunk,
			   "chunk 0x%llx (memory 0x%llx) is twice on %s bin %u: double free%s",
			   (unsigned long long)chunk,
			   (unsigned long long)(chunk + PTM_CHUNK_HDR), name, bin,
			   chunk == list->holder ? " (its link points to itself)" : "");
	else
		ptm_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region, chunk,
			   "chunk 0x%llx (memory 0x%llx) is on %s bin %u and on %s bin %u",
			   (unsigned long long)chunk,
			   (unsigned long long)(chunk + PTM_CHUNK_HDR),
			   old >> 28 == PTM_LIST_TCACHE ? "tcache" : "fastbin",
			   old & 0xff, name, bin);
	return false;
}

static int hold_past_count(struct ptm_walk *walk, const struct free_list *list,
			   uint64_t chunk)
{
	struct ptm_past_count *past;

	past = realloc(walk->past_count,
		       (walk->num_past_count + 1) * sizeof(*past));
	if (!past) {
		walk->status = COREHEAP_NOMEM;
		return COREHEAP_NOMEM;
	}
	walk->past_count = past;
	past[walk->num_past_count++] = (struct ptm_past_count){
		.chunk = chunk,
		.holder = list->holder,
		.tag = list->tag,
		.count = (uint16_t)list->count,
	};
	return COREHEAP_OK;
}

/** Follow a tcache list from @p entry on, marking its chunks. */
static void follow_tcache(struct ptm_walk *walk, struct free_list *list,
			  uint64_t entry)
{
	uint64_t stored;

	while (entry) {
		if (!take_listed(walk, list, entry - PTM_CHUNK_HDR) ||
		    list->steps > MAX_LIST_STEPS ||
		    ptm_read_u64(walk->host, entry, &stored))
			return;
		entry = ptm_reveal(walk->safe_linking, entry, stored);
	}
}

static void walk_tcache_bin(struct ptm_walk *walk, size_t owner,
			    unsigned int bin, uint64_t entry, uint16_t count)
{
	struct free_list list = {
		.tag = ptm_list_tag(PTM_LIST_TCACHE, owner, bin),
		.size = tcache_chunk_size(bin),
		.large = bin >= PTM_TCACHE_SMALL_BINS,
		.arena = SIZE_MAX,
		// The head's own slot in the tcache struct holds the first link.
		.holder = walk->tcaches[owner] + walk->layout->tc_entries + 8 * bin,
		.count = count,
	};
	uint64_t stored;

	// Links point at user memory, 16 past the chunk, and live there. A
	// list that meets a chunk again has been reported; one that ends at
	// a bad link goes on to its count, since it lost the chunks after.
	while (entry) {
		// glibc 2.30+ (uint16_t counts) hands out no entry past the
		// count: one there is judged by its key once that is known.
		if (list.steps >= count && walk->layout->tc_count_width == 2 &&
		    !ptm_addrset_find(&walk->listed, entry - PTM_CHUNK_HDR,
				      NULL)) {
			if (hold_past_count(walk, &list, entry - PTM_CHUNK_HDR))
				return;
			break;
		}
		if (!take_listed(walk, &list, entry - PTM_CHUNK_HDR)) {
			if (walk->status ||
			    ptm_addrset_find(&walk->listed,
					     entry - PTM_CHUNK_HDR, NULL))
				return;
			break;
		}
		if (list.steps > MAX_LIST_STEPS ||
		    ptm_read_u64(walk->host, entry, &stored))
			return;
		entry = ptm_reveal(walk->safe_linking, entry, stored);
	}
	// Reported at the tcache struct's chunk, whose count is wrong, or
	// whose list lost chunks behind a bad link: the chunk walk looks for
	// those by their key.
	if (list.steps < count) {
		walk->tcache_lost[bin] += count - list.steps;
		walk->any_tcache_lost = true;
	}
	if (list.steps != count)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
			   region_of(walk, walk->tcaches[owner]),
			   walk->tcaches[owner] - PTM_CHUNK_HDR,
			   "tcache bin %u counts %u chunks but lists %u", bin,
			   count, list.steps);
}

static void walk_fastbin(struct ptm_walk *walk, size_t arena,
			 unsigned int bin)
{
	const struct ptm_arena *a = &walk->arenas[arena];
	struct free_list list = {
		.tag = ptm_list_tag(PTM_LIST_FASTBIN, arena, bin),
		.size = fastbin_chunk_size(bin),
		.arena = arena,
		.holder = a->address + walk->layout->ms_fastbins + 8 * bin,
		.count = UINT32_MAX,
	};
	uint64_t chunk = a->fastbins[bin], stored;

	// Links point at chunks and live in fd.
	while (chunk) {
		if (!take_listed(walk, &list, chunk) ||
		    list.steps > MAX_LIST_STEPS ||
		    ptm_read_u64(walk->host, chunk + PTM_CHUNK_HDR, &stored))
			return;
		chunk = ptm_reveal(walk->safe_linking, chunk + PTM_CHUNK_HDR,
				   stored);
	}
}

// tcache_put runs only while a bin's count is below mp_.tcache_count (7
// unless tuned, at most 65535), so a count above it was written over.
static void check_tcache_counts(struct ptm_walk *walk, size_t t,
				const struct ptm_tcache *tc)
{
	uint64_t limit;

	for (unsigned int i = 0; i < walk->layout->tc_bins; i++) {
		if (tc->slots_over[i])
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
				   region_of(walk, walk->tcaches[t]),
				   walk->tcaches[t] - PTM_CHUNK_HDR,
				   "tcache bin %u has more free slots than the %llu a bin starts with (mp_.tcache_count)",
				   i, (unsigned long long)walk->tcache_fill);
	}
	if (!walk->st->mp ||
	    ptm_read_u64(walk->host, walk->st->mp + walk->layout->mp_tcache_count,
			 &limit))
		return;
	for (unsigned int i = 0; i < walk->layout->tc_bins; i++) {
		if (tc->counts[i] > limit)
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
				   region_of(walk, walk->tcaches[t]),
				   walk->tcaches[t] - PTM_CHUNK_HDR,
				   "tcache bin %u counts %u chunks, more than the %llu a bin may hold (mp_.tcache_count)",
				   i, tc->counts[i], (unsigned long long)limit);
	}
}

int ptm_collect_free_lists(struct ptm_walk *walk)
{
	for (size_t t = 0; t < walk->num_tcaches; t++) {
		struct ptm_tcache tc;

		if (ptm_tcache_read(walk, walk->tcaches[t], walk->layout, &tc)) {
			ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
				   region_of(walk, walk->tcaches[t]),
				   walk->tcaches[t] - PTM_CHUNK_HDR,
				   "tcache not in the core");
			continue;
		}
		check_tcache_counts(walk, t, &tc);
		for (unsigned int i = 0; i < walk->layout->tc_bins; i++) {
			if (tc.entries[i] || tc.counts[i])
				walk_tcache_bin(walk, t, i, tc.entries[i],
						tc.counts[i]);
		}
	}
	for (size_t a = 0; a < walk->num_arenas; a++) {
		for (unsigned int i = 0; i < walk->layout->ms_num_fastbins; i++)
			walk_fastbin(walk, a, i);
	}
	return walk->status;
}

// tcache_put writes a key into the entry's second word, which tcache_get
// clears when it hands the chunk out: 2.34 and later one random value for
// all threads (tcache_key), 2.29..2.33 the owning tcache's address; before
// 2.29 there is none.
static void settle_key(struct ptm_walk *walk)
{
	const struct ptm_state *st = walk->st;
	const struct ptm_addrset *set = &walk->listed;
	uint64_t best = 0;
	size_t best_count = 0;

	if (st->version_major == 2 && st->version_minor < 29)
		return;
	if (st->version_major == 2 && st->version_minor < 34) {
		walk->key_is_tcache = walk->key_known = true;
		return;
	}
	// The key the listed tcache entries agree on most (Boyer-Moore
	// majority vote: one pass, no table).
	for (size_t i = 0; set->mask && i <= set->mask; i++) {
		uint64_t key;

		if (!set->keys[i] || set->tags[i] >> 28 != PTM_LIST_TCACHE ||
		    ptm_read_u64(walk->host, set->keys[i] + 24, &key))
			continue;
		if (!best_count) {
			best = key;
			best_count = 1;
		} else {
			best_count += key == best ? 1 : -1;
		}
	}
	// A key of 0 is what tcache_get leaves in every chunk it handed out.
	walk->key = best;
	walk->key_known = best_count && best;
}

static bool has_tcache_key(struct ptm_walk *walk, uint64_t chunk)
{
	uint64_t key;

	if (!walk->key_known ||
	    ptm_read_u64(walk->host, chunk + PTM_CHUNK_HDR + 8, &key) || !key)
		return false;
	if (!walk->key_is_tcache)
		return key == walk->key;
	for (size_t i = 0; i < walk->num_tcaches; i++) {
		if (key == walk->tcaches[i])
			return true;
	}
	return false;
}

// A list longer than its count: a free chunk whose link was written over
// (tcache poisoning) leads on into memory that was never freed, often a
// chunk the program holds. An entry that carries the key was freed into a
// tcache (the count is what is wrong): it and the rest of the list are free.
// One that does not is left live, and the list ends there.
static void judge_past_count(struct ptm_walk *walk,
			     const struct ptm_past_count *past)
{
	unsigned int bin = past->tag & 0xff;
	struct free_list list = {
		.tag = past->tag,
		.size = tcache_chunk_size(bin),
		.large = bin >= PTM_TCACHE_SMALL_BINS,
		.arena = SIZE_MAX,
		.holder = past->holder,
		.count = UINT32_MAX,
	};
	uint64_t have;

	if (list.large && !ptm_read_u64(walk->host, past->chunk + 8, &have) &&
	    ptm_tcache_bin(walk->layout, have & ~(uint64_t)PTM_FLAG_BITS) == bin)
		list.size = have & ~(uint64_t)PTM_FLAG_BITS;
	// A link out of the heaps or to a chunk of another size is no
	// candidate: take_listed says what is wrong with it.
	if (!is_chunk_of_size(walk, past->chunk, list.size) ||
	    !ptm_chunk_in_heaps(walk, past->chunk, list.size, SIZE_MAX)) {
		follow_tcache(walk, &list, past->chunk + PTM_CHUNK_HDR);
		return;
	}
	if (!walk->key_known || has_tcache_key(walk, past->chunk)) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
			   region_of(walk, past->chunk), past->chunk,
			   "tcache bin %u goes on past its count of %u at this chunk, which %s: taken as free, as the rest of the list",
			   bin, past->count,
			   walk->key_known ? "carries the tcache key" :
					     "cannot be told by a key");
		follow_tcache(walk, &list, past->chunk + PTM_CHUNK_HDR);
		return;
	}
	ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
		   region_of(walk, past->holder), past->holder,
		   "tcache bin %u link at 0x%llx leads past the bin's count of %u to 0x%llx, which carries no tcache key: a link written over (tcache poisoning?); 0x%llx taken as live",
		   bin, (unsigned long long)past->holder, past->count,
		   (unsigned long long)past->chunk,
		   (unsigned long long)past->chunk);
}

int ptm_settle_tcache_keys(struct ptm_walk *walk)
{
	if (!walk->any_tcache_lost && !walk->num_past_count)
		return COREHEAP_OK;
	settle_key(walk);
	if (!walk->key_known)
		walk->any_tcache_lost = false;
	for (size_t i = 0; i < walk->num_past_count && !walk->status; i++)
		judge_past_count(walk, &walk->past_count[i]);
	return walk->status;
}

bool ptm_take_lost_tcache(struct ptm_walk *walk, uint64_t chunk,
			  uint64_t size)
{
	unsigned int bin = ptm_tcache_bin(walk->layout, size);

	if (bin >= PTM_TCACHE_BINS ||
	    !walk->tcache_lost[bin] || !has_tcache_key(walk, chunk))
		return false;
	walk->tcache_lost[bin]--;
	return true;
}

/*
 * A walk over a bin's recorded chunks fetches them this many at a time,
 * this many steps ahead: the fetches of a group are issued back to back, so
 * that their misses (each a page walk too, in a core of gigabytes) overlap;
 * one a step, between a step's reads and checks, each waits on the last.
 */
#define BIN_AHEAD 16

/*
 * A walk of bin's list is at its step-th chunk: at each BIN_AHEAD-th step,
 * fetch the next group of chunks, @p len bytes of each and, when the walk
 * reads each chunk's successor in memory too (@p successor), that one's
 * header. Only hints: the walk follows the links it reads, wherever they
 * go.
 */
static void fetch_bin_ahead(const struct ptm_walk *walk, size_t arena,
			    unsigned int bin, uint64_t step, size_t len,
			    bool successor)
{
	size_t at = arena * PTM_NBINS + bin, n = 0;
	const struct ptm_bin_chunk *group;
	const uint8_t *views[2 * BIN_AHEAD];
	uint64_t count;

	if (!walk->bin_len || step % BIN_AHEAD || step >= walk->bin_len[at])
		return;
	group = &walk->bin_chunks[walk->bin_first[at] + step];
	count = walk->bin_len[at] - step;
	if (count > BIN_AHEAD)
		count = BIN_AHEAD;
	for (uint64_t k = 0; k < count; k++) {
		views[n] = walk->host->map(walk->host, group[k].address, len);
		n += views[n] != NULL;
		if (!successor)
			continue;
		views[n] = walk->host->map(walk->host,
					   group[k].address + group[k].size,
					   2 * sizeof(uint64_t));
		n += views[n] != NULL;
	}
	for (size_t k = 0; k < n; k++)
		__builtin_prefetch(views[k]);
}

/** A chunk as a bin list sees it. */
struct binned {
	uint64_t prev_size, size, fd, bk;
};

// check() walks the bins again only for what walk() did not look at; the
// damage that stops a bin walk was walk()'s to report.
static void __attribute__((format(printf, 6, 7)))
bin_damage(struct ptm_walk *walk, bool deep, enum coreheap_damage_kind kind,
	   uint32_t region, uint64_t address, const char *format, ...)
{
	va_list ap;

	if (deep)
		return;
	va_start(ap, format);
	ptm_vdamage(walk, kind, region, address, format, ap);
	va_end(ap);
}

static bool check_binned_chunk(struct ptm_walk *walk, size_t arena,
			       unsigned int bin, uint64_t chunk,
			       const struct binned *c, bool deep)
{
	uint32_t region = ptm_arena_region(walk, arena);
	uint64_t size = c->size & ~(uint64_t)PTM_FLAG_BITS;
	uint64_t next[2];

	if (size < PTM_MINSIZE || size % PTM_ALIGN ||
	    !ptm_chunk_in_heaps(walk, chunk, size, arena)) {
		bin_damage(walk, deep, COREHEAP_DAMAGE_BAD_SIZE, region, chunk,
			   "chunk in bin %u has impossible size 0x%llx", bin,
			   (unsigned long long)size);
		return false;
	}
	if (deep) {
		// Bin 1 is the unsorted bin; the others hold one size range.
		if (bin > 1 && ptm_bin_index(size) != bin)
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region,
				   chunk, "chunk of size 0x%llx in bin %u, not %u",
				   (unsigned long long)size, bin,
				   ptm_bin_index(size));
		return true;
	}
	if (walk->host->read(walk->host, chunk + size, next, sizeof(next)))
		return true;
	if (next[1] & PTM_PREV_INUSE)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, chunk,
			   "chunk in bin %u is free, but the next chunk's PREV_INUSE says it is in use",
			   bin);
	else if (next[0] != size)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, chunk,
			   "chunk in bin %u has size 0x%llx, footer 0x%llx",
			   bin, (unsigned long long)size,
			   (unsigned long long)next[0]);
	if (ptm_addrset_find(&walk->listed, chunk, NULL))
		ptm_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, region, chunk,
			   "chunk in bin %u is also on a tcache or fastbin",
			   bin);
	return true;
}

static void check_bin(struct ptm_walk *walk, size_t arena, unsigned int bin,
		      uint64_t max_steps, bool deep)
{
	const struct ptm_arena *a = &walk->arenas[arena];
	uint32_t region = ptm_arena_region(walk, arena);
	uint64_t head = ptm_bin_at(walk->layout, a->address, bin);
	uint64_t prev = head, chunk = a->bins[2 * (bin - 1)];
	uint64_t last = a->bins[2 * (bin - 1) + 1];

	for (uint64_t steps = 0; chunk != head; steps++) {
		struct binned c;

		fetch_bin_ahead(walk, arena, bin, steps, sizeof(c), !deep);
		if (steps > max_steps) {
			bin_damage(walk, deep, COREHEAP_DAMAGE_CYCLE, region,
				   head, "bin %u never returns to its head",
				   bin);
			return;
		}
		if (chunk % PTM_ALIGN ||
		    !ptm_chunk_in_heaps(walk, chunk, PTM_MINSIZE, arena)) {
			bin_damage(walk, deep, COREHEAP_DAMAGE_BAD_POINTER,
				   region, prev,
				   "bin %u link 0x%llx is outside the arena's heaps",
				   bin, (unsigned long long)chunk);
			return;
		}
		if (walk->host->read(walk->host, chunk, &c, sizeof(c))) {
			bin_damage(walk, deep, COREHEAP_DAMAGE_UNREADABLE,
				   region, chunk,
				   "chunk in bin %u not in the core", bin);
			return;
		}
		// A chunk whose fd leads back to itself: the bin never
		// returns to its head, and malloc hands the chunk out forever.
		if (chunk == prev) {
			bin_damage(walk, deep, COREHEAP_DAMAGE_CYCLE, region,
				   chunk, "bin %u chunk's fd points to the chunk itself",
				   bin);
			return;
		}
		// Doubly linked: each chunk's bk names the one before; this
		// also stops any loop that does not pass through the head.
		if (c.bk != prev) {
			bin_damage(walk, deep, COREHEAP_DAMAGE_INCONSISTENT,
				   region, chunk,
				   "bin %u chunk's bk 0x%llx should be 0x%llx",
				   bin, (unsigned long long)c.bk,
				   (unsigned long long)prev);
			return;
		}
		if (!check_binned_chunk(walk, arena, bin, chunk, &c, deep))
			return;
		prev = chunk;
		chunk = c.fd;
	}
	if (last != prev)
		bin_damage(walk, deep, COREHEAP_DAMAGE_INCONSISTENT, region,
			   head, "bin %u's bk 0x%llx is not its last chunk 0x%llx",
			   bin, (unsigned long long)last,
			   (unsigned long long)prev);
}

/** A chunk of a large bin: the header, the bin links, the size links. */
struct large_binned {
	uint64_t prev_size, size, fd, bk, fd_nextsize, bk_nextsize;
};

// Why a size link is wrong, in words, and how bad: pointing at the chunk
// itself or back at a larger chunk makes glibc's size search go round.
static void nextsize_damage(struct ptm_walk *walk, size_t arena,
			    unsigned int bin, uint64_t chunk, uint64_t size,
			    const char *link, uint64_t have, uint64_t want)
{
	uint32_t region = ptm_arena_region(walk, arena), tag;
	uint64_t have_size;

	if (!have) {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, chunk,
			   "large bin %u chunk is the first of its size, but its %s is NULL, not 0x%llx",
			   bin, link, (unsigned long long)want);
	} else if (have == chunk) {
		ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, region, chunk,
			   "large bin %u chunk's %s points to the chunk itself, not to 0x%llx",
			   bin, link, (unsigned long long)want);
	} else if (have % PTM_ALIGN ||
		   !ptm_chunk_in_heaps(walk, have, PTM_MINSIZE, arena)) {
		ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, region, chunk,
			   "large bin %u chunk's %s 0x%llx is outside the arena's heaps, not 0x%llx",
			   bin, link, (unsigned long long)have,
			   (unsigned long long)want);
	} else if (ptm_addrset_find(&walk->binned, have, &tag) &&
		   tag == ptm_bin_tag(arena, bin) &&
		   !ptm_read_u64(walk->host, have + 8, &have_size) &&
		   (link[0] == 'f' ? (have_size & ~(uint64_t)PTM_FLAG_BITS) > size :
				     (have_size & ~(uint64_t)PTM_FLAG_BITS) < size)) {
		ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, region, chunk,
			   "large bin %u chunk's %s 0x%llx goes back over the sizes, not to 0x%llx: a loop",
			   bin, link, (unsigned long long)have,
			   (unsigned long long)want);
	} else {
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region, chunk,
			   "large bin %u chunk's %s is 0x%llx, not 0x%llx", bin,
			   link, (unsigned long long)have,
			   (unsigned long long)want);
	}
}

// A large bin is sorted by size, largest first, and the first chunk of each
// size is also on a ring of sizes (fd_nextsize to the next smaller size, the
// smallest back to the largest; bk_nextsize the other way) that malloc
// searches instead of the bin; the other chunks' fd_nextsize is NULL, which
// is how unlink tells them apart (glibc malloc.c, _int_malloc, unlink_chunk).
// A ring of one size points at itself; anywhere else a self-link or a link
// back to a larger size makes the search loop or skip chunks.
static void check_nextsize(struct ptm_walk *walk, size_t arena,
			   unsigned int bin, uint64_t max_steps)
{
	const struct ptm_arena *a = &walk->arenas[arena];
	uint32_t region = ptm_arena_region(walk, arena);
	uint64_t head = ptm_bin_at(walk->layout, a->address, bin);
	uint64_t prev = head, chunk = a->bins[2 * (bin - 1)];
	uint64_t prev_size = UINT64_MAX;
	struct large_binned first = {0}, node = {0};
	uint64_t first_at = 0, node_at = 0;

	// Only as far as the bin's links hold: check_bin reports the rest.
	for (uint64_t steps = 0; chunk != head && steps <= max_steps; steps++) {
		struct large_binned c;
		uint64_t size;

		fetch_bin_ahead(walk, arena, bin, steps, sizeof(c), false);
		if (chunk % PTM_ALIGN ||
		    !ptm_chunk_in_heaps(walk, chunk, PTM_MINSIZE, arena) ||
		    walk->host->read(walk->host, chunk, &c, sizeof(c)) ||
		    c.bk != prev)
			break;
		size = c.size & ~(uint64_t)PTM_FLAG_BITS;
		if (size > prev_size) {
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, region,
				   chunk,
				   "large bin %u is not sorted: chunk of size 0x%llx after one of 0x%llx",
				   bin, (unsigned long long)size,
				   (unsigned long long)prev_size);
			return;
		}
		if (size == prev_size) {
			if (c.fd_nextsize)
				ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
					   region, chunk,
					   "large bin %u chunk is not the first of its size 0x%llx, but its fd_nextsize is 0x%llx, not NULL",
					   bin, (unsigned long long)size,
					   (unsigned long long)c.fd_nextsize);
		} else if (!first_at) {
			first = node = c;
			first_at = node_at = chunk;
		} else {
			if (node.fd_nextsize != chunk)
				nextsize_damage(walk, arena, bin, node_at,
						node.size & ~(uint64_t)PTM_FLAG_BITS,
						"fd_nextsize", node.fd_nextsize,
						chunk);
			if (c.bk_nextsize != node_at)
				nextsize_damage(walk, arena, bin, chunk, size,
						"bk_nextsize", c.bk_nextsize,
						node_at);
			node = c;
			node_at = chunk;
		}
		prev_size = size;
		prev = chunk;
		chunk = c.fd;
	}
	if (!first_at || chunk != head)
		return;
	// Around the ring: the smallest size leads back to the largest.
	if (node.fd_nextsize != first_at)
		nextsize_damage(walk, arena, bin, node_at,
				node.size & ~(uint64_t)PTM_FLAG_BITS,
				"fd_nextsize", node.fd_nextsize, first_at);
	if (first.bk_nextsize != node_at)
		nextsize_damage(walk, arena, bin, first_at,
				first.size & ~(uint64_t)PTM_FLAG_BITS,
				"bk_nextsize", first.bk_nextsize, node_at);
}

static int record_bin_chunk(struct ptm_walk *walk, uint64_t address,
			    uint64_t size)
{
	int err = ptm_reserve_one((void **)&walk->bin_chunks,
				  &walk->bin_chunks_capacity,
				  walk->num_bin_chunks, sizeof(*walk->bin_chunks));

	if (err)
		return err;
	walk->bin_chunks[walk->num_bin_chunks++] =
		(struct ptm_bin_chunk){ .address = address, .size = size };
	return COREHEAP_OK;
}

// One direction of a bin from its head: a chunk is taken when the link
// that leads to it and its own link back agree, and the walk stops where
// they do not (the chunk named goes to walk->mentioned). A chunk whose one
// link is damaged is still taken from the other direction. Forward, the
// chunks taken are recorded in order (walk->bin_chunks), and *whole_ret
// says whether the walk came back to the head by way of the head's last
// chunk: then each link was checked both ways, and the walk back would take
// the same chunks.
static int collect_bin_direction(struct ptm_walk *walk, size_t arena,
				 unsigned int bin, bool forward,
				 uint64_t max_steps, bool *whole_ret)
{
	const struct ptm_arena *a = &walk->arenas[arena];
	uint64_t head = ptm_bin_at(walk->layout, a->address, bin);
	uint64_t prev = head;
	uint64_t chunk = a->bins[2 * (bin - 1) + !forward];

	*whole_ret = false;
	for (uint64_t steps = 0; chunk != head && steps <= max_steps; steps++) {
		struct binned c;
		uint64_t size;
		int added;

		if (chunk % PTM_ALIGN ||
		    !ptm_chunk_in_heaps(walk, chunk, PTM_MINSIZE, arena) ||
		    walk->host->read(walk->host, chunk, &c, sizeof(c)))
			return COREHEAP_OK;
		size = c.size & ~(uint64_t)PTM_FLAG_BITS;
		if ((forward ? c.bk : c.fd) != prev ||
		    size < PTM_MINSIZE || size % PTM_ALIGN ||
		    !ptm_chunk_in_heaps(walk, chunk, size, arena)) {
			added = ptm_addrset_add(&walk->mentioned, chunk, 0,
						NULL);
			return added < 0 ? COREHEAP_NOMEM : COREHEAP_OK;
		}
		added = ptm_addrset_add(&walk->binned, chunk,
					ptm_bin_tag(arena, bin), NULL);
		// Each chunk is met once, in one bin's walk at most: taken
		// only when its one bk names the chunk before, it can follow
		// only one chunk (or head) of all the walks.
		if (added < 0 ||
		    (forward && record_bin_chunk(walk, chunk, size)))
			return COREHEAP_NOMEM;
		prev = chunk;
		chunk = forward ? c.fd : c.bk;
	}
	*whole_ret = chunk == head && prev == a->bins[2 * (bin - 1) + 1];
	return COREHEAP_OK;
}

static uint64_t arena_heap_bytes(const struct ptm_walk *walk,
				 const struct ptm_arena *arena)
{
	uint64_t bytes = 0;

	for (size_t h = 0; h < arena->num_heaps; h++) {
		const struct ptm_heap *heap = &walk->heaps[arena->first_heap + h];

		bytes += heap->end - heap->start;
	}
	return bytes;
}

int ptm_collect_binned(struct ptm_walk *walk)
{
	walk->bin_first = calloc(walk->num_arenas * PTM_NBINS,
				 sizeof(*walk->bin_first));
	walk->bin_len = calloc(walk->num_arenas * PTM_NBINS,
			       sizeof(*walk->bin_len));
	if (!walk->bin_first || !walk->bin_len)
		return COREHEAP_NOMEM;
	for (size_t a = 0; a < walk->num_arenas; a++) {
		uint64_t max_steps =
			arena_heap_bytes(walk, &walk->arenas[a]) / PTM_MINSIZE + 1;

		for (unsigned int bin = 1; bin < PTM_NBINS; bin++) {
			size_t at = a * PTM_NBINS + bin;
			bool whole;
			int err;

			walk->bin_first[at] = walk->num_bin_chunks;
			err = collect_bin_direction(walk, a, bin, true,
						    max_steps, &whole);
			walk->bin_len[at] = walk->num_bin_chunks -
					    walk->bin_first[at];
			if (!err && !whole)
				err = collect_bin_direction(walk, a, bin, false,
							    max_steps, &whole);
			if (err)
				return err;
		}
	}
	return COREHEAP_OK;
}

void ptm_check_bins(struct ptm_walk *walk, bool deep)
{
	for (size_t a = 0; a < walk->num_arenas; a++) {
		uint64_t max_steps =
			arena_heap_bytes(walk, &walk->arenas[a]) / PTM_MINSIZE + 1;

		for (unsigned int bin = 1; bin < PTM_NBINS; bin++) {
			check_bin(walk, a, bin, max_steps, deep);
			// Bins 64 and up hold chunks of 0x400 bytes and more:
			// the large bins, with their ring of sizes.
			if (!deep && bin >= PTM_FIRST_LARGE_BIN)
				check_nextsize(walk, a, bin, max_steps);
		}
	}
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int push_u64(uint64_t **list, size_t *n, size_t *cap, uint64_t v)
{
	int err = ptm_reserve_one((void **)list, cap, *n, sizeof(**list));

	if (err)
		return err;
	(*list)[(*n)++] = v;
	return COREHEAP_OK;
}

int ptm_free_chunks_between(struct ptm_walk *walk, size_t arena, uint64_t lo,
			    uint64_t hi, uint64_t **ret, size_t *count_ret)
{
	const struct ptm_addrset *sets[] = {&walk->listed, &walk->binned};
	uint64_t *list = NULL;
	size_t n = 0, cap = 0;
	int err = COREHEAP_OK;

	// Both sets hold only chunks inside the heaps, and [lo, hi) is in one
	// heap of the arena: no need to look at the tags.
	(void)arena;
	for (size_t s = 0; s < 2 && !err; s++) {
		const struct ptm_addrset *set = sets[s];

		for (size_t i = 0; set->mask && i <= set->mask && !err; i++) {
			if (set->keys[i] > lo && set->keys[i] < hi)
				err = push_u64(&list, &n, &cap, set->keys[i]);
		}
	}
	if (err) {
		free(list);
		return err;
	}
	if (n)
		qsort(list, n, sizeof(*list), compare_u64);
	*ret = list;
	*count_ret = n;
	return COREHEAP_OK;
}
