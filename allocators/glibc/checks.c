// SPDX-License-Identifier: MIT
// check(): consistency checks beyond what the walk needs, over the state the
// walk built.

#include <stdlib.h>

#include "glibc.h"

/** Most distinct key values tallied. */
#define MAX_KEYS 16

struct key_tally {
	uint64_t value[MAX_KEYS];
	size_t count[MAX_KEYS];
	size_t n;
};

static void tally(struct key_tally *t, uint64_t key)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->value[i] == key) {
			t->count[i]++;
			return;
		}
	}
	if (t->n < MAX_KEYS) {
		t->value[t->n] = key;
		t->count[t->n++] = 1;
	}
}

/** Calls @p fn for every entry on tcache @p t's lists, as the walk found. */
static void for_each_entry(struct ptm_walk *walk, size_t t,
			   void (*fn)(struct ptm_walk *, size_t, uint64_t,
				      void *),
			   void *arg)
{
	struct ptm_tcache tc;
	const uint64_t *entries = tc.entries;

	if (ptm_tcache_read(walk, walk->tcaches[t], walk->layout, &tc))
		return;
	for (unsigned int bin = 0; bin < walk->layout->tc_bins; bin++) {
		uint32_t tag = ptm_list_tag(PTM_LIST_TCACHE, t, bin), have;
		uint64_t e = entries[bin], stored;

		// Follow only what the walk marked as this list's, and no
		// further than it went: it has reported the list's damage.
		for (size_t steps = 0;
		     e && steps < walk->listed.count &&
		     ptm_addrset_find(&walk->listed, e - PTM_CHUNK_HDR, &have) &&
		     have == tag;
		     steps++) {
			fn(walk, t, e, arg);
			if (ptm_read_u64(walk->host, e, &stored))
				break;
			e = ptm_reveal(walk->safe_linking, e, stored);
		}
	}
}

static void tally_entry(struct ptm_walk *walk, size_t t, uint64_t e,
			void *arg)
{
	uint64_t key;

	(void)t;
	if (!ptm_read_u64(walk->host, e + 8, &key))
		tally(arg, key);
}

struct key_expect {
	uint64_t key;   // 0: the owning tcache
};

static void check_entry(struct ptm_walk *walk, size_t t, uint64_t e,
			void *arg)
{
	const struct key_expect *expect = arg;
	uint64_t key, want = expect->key ? expect->key : walk->tcaches[t];
	const struct ptm_heap *heap = ptm_heap_of(walk, e);

	if (!ptm_read_u64(walk->host, e + 8, &key) && key != want)
		ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
			   heap ? ptm_arena_region(walk, heap->arena) :
				  UINT32_MAX,
			   e - PTM_CHUNK_HDR,
			   "tcache entry's key 0x%llx is not 0x%llx (written after free?)",
			   (unsigned long long)key, (unsigned long long)want);
}

void ptm_check_tcache_keys(struct ptm_walk *walk)
{
	const struct ptm_state *st = walk->st;
	struct key_tally t = {0};
	struct key_expect expect = {0};
	size_t best = 0;

	// tcache_entry has had a key only since 2.29.
	if (st->version_major == 2 && st->version_minor < 29)
		return;
	if (st->version_major == 2 && st->version_minor < 34) {
		expect.key = 0;
	} else {
		// 2.34+: one random tcache_key for all; the majority tells it.
		for (size_t i = 0; i < walk->num_tcaches; i++)
			for_each_entry(walk, i, tally_entry, &t);
		for (size_t i = 1; i < t.n; i++) {
			if (t.count[i] > t.count[best])
				best = i;
		}
		if (!t.n || t.count[best] < 2)
			return;
		expect.key = t.value[best];
	}
	for (size_t i = 0; i < walk->num_tcaches; i++)
		for_each_entry(walk, i, check_entry, &expect);
}

/** What system_mem should hold for one heap: at least *low, at most *high. */
static void heap_bytes(struct ptm_walk *walk, const struct ptm_arena *arena,
		       const struct ptm_heap *heap, uint64_t *low,
		       uint64_t *high)
{
	uint64_t size, end;

	// A thread heap's size is in its heap_info.
	if (!arena->is_main) {
		*low = *high = ptm_read_u64(walk->host, heap->owned_start + 16,
					    &size) ? 0 : size;
		return;
	}
	// A run of the main arena ends at the end of top or of its memory.
	// system_mem counts the foreign bytes before a run that followed a
	// foreign sbrk only if the arena was contiguous at the time: always
	// in a contiguous arena, maybe in a non-contiguous one.
	end = heap->has_top ? arena->top + arena->top_size : heap->owned_end;
	*high = end - heap->system_start;
	*low = arena->flags & PTM_NONCONTIGUOUS ? end - heap->start : *high;
}

void ptm_check_system_mem(struct ptm_walk *walk)
{
	for (size_t a = 0; a < walk->num_arenas; a++) {
		const struct ptm_arena *arena = &walk->arenas[a];
		uint64_t low = 0, high = 0;

		if (!arena->top_valid || !arena->num_heaps)
			continue;
		for (size_t h = 0; h < arena->num_heaps; h++) {
			uint64_t l, u;

			heap_bytes(walk, arena,
				   &walk->heaps[arena->first_heap + h], &l, &u);
			low += l;
			high += u;
		}
		if (arena->system_mem < low || arena->system_mem > high)
			ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT,
				   arena->region, arena->address,
				   "arena's system_mem is 0x%llx, its heaps hold 0x%llx",
				   (unsigned long long)arena->system_mem,
				   (unsigned long long)high);
	}
}
