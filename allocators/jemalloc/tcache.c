// SPDX-License-Identifier: MIT
// Every thread's tcache and the pointers its stacks hold.
//
// A thread's tcache lives in its tsd, jemalloc's one TLS variable. With
// stats compiled in (the default, and Debian's), jemalloc also links every
// tcache into its arena's tcache_ql ring (src/tcache.c
// tcache_arena_associate), so one tcache leads to the others of its arena,
// and the arenas lead to all, the explicit tcaches of mallctl
// "tcache.create" included.

#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

// A tcache_t and its tcache_slow_t point at each other: a check that
// needs nothing but the two layouts.
static bool read_tcache(const struct coreheap_host *host, uint64_t tcache,
			struct jem_tcache *ret)
{
	uint8_t slow[JEM_TCACHE_SLOW_SIZE];
	uint64_t slow_addr, back;

	if (!tcache || tcache % 8 ||
	    jem_read_u64(host, tcache + JEM_TCACHE_SLOW_PTR, &slow_addr) ||
	    !slow_addr || slow_addr % 8 ||
	    host->read(host, slow_addr, slow, sizeof(slow)))
		return false;
	memcpy(&back, slow + JEM_TCACHE_SLOW_TCACHE, 8);
	if (back != tcache)
		return false;
	*ret = (struct jem_tcache){ .tcache = tcache, .tcache_slow = slow_addr };
	memcpy(&ret->arena, slow + JEM_TCACHE_SLOW_ARENA, 8);
	memcpy(&ret->dyn_alloc, slow + JEM_TCACHE_SLOW_DYN_ALLOC, 8);
	return true;
}

static bool known(const struct jem_walk *walk, uint64_t tcache)
{
	for (size_t i = 0; i < walk->num_tcaches; i++) {
		if (walk->tcaches[i].tcache == tcache)
			return true;
	}
	return false;
}

static int push(struct jem_walk *walk, const struct jem_tcache *tc)
{
	struct jem_tcache *grown;

	if (walk->num_tcaches >= JEM_MAX_TCACHES || known(walk, tc->tcache))
		return COREHEAP_OK;
	grown = realloc(walk->tcaches, (walk->num_tcaches + 1) * sizeof(*grown));
	if (!grown)
		return COREHEAP_NOMEM;
	walk->tcaches = grown;
	walk->tcaches[walk->num_tcaches++] = *tc;
	return COREHEAP_OK;
}

// The tcache_ql ring through tcache_slow_t.link, from one member.
static int follow_ring(struct jem_walk *walk, uint64_t slow)
{
	const struct coreheap_host *host = walk->host;
	uint64_t start = slow;

	for (size_t steps = 0; steps < JEM_MAX_TCACHES; steps++) {
		struct jem_tcache tc;
		uint64_t tcache;
		int err;

		if (jem_read_u64(host, slow + JEM_TCACHE_SLOW_TCACHE, &tcache) ||
		    !read_tcache(host, tcache, &tc) || tc.tcache_slow != slow) {
			jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, UINT32_MAX,
				   slow,
				   "an arena's tcache list leads to 0x%llx, which is no tcache",
				   (unsigned long long)slow);
			return COREHEAP_OK;
		}
		err = push(walk, &tc);
		if (err)
			return err;
		if (jem_read_u64(host, slow + JEM_TCACHE_SLOW_NEXT, &slow))
			return COREHEAP_OK;
		if (slow == start)
			return COREHEAP_OK;
	}
	jem_damage(walk, COREHEAP_DAMAGE_CYCLE, UINT32_MAX, start,
		   "an arena's tcache list does not come back to its start");
	return COREHEAP_OK;
}

static int from_threads(struct jem_walk *walk, size_t *found_ret)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_state *st = walk->st;
	size_t n = host->num_threads(host);

	*found_ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct coreheap_thread thread;
		struct jem_tcache tc;
		uint64_t tsd;
		int err;

		if (host->thread(host, i, &thread) ||
		    host->tls_address(host, i, st->module, st->tsd_tls_offset,
				      &tsd))
			continue;
		// A thread that never allocated has no tcache_slow yet.
		if (!read_tcache(host, tsd + JEM_TSD_TCACHE, &tc))
			continue;
		if (tc.tcache_slow != tsd + JEM_TSD_TCACHE_SLOW)
			continue;
		// A tcache the thread disabled (mallctl thread.tcache.enabled)
		// was dissociated from its arena (arena NULL) and its stacks
		// freed, though dyn_alloc still names them: their memory may
		// be another allocation's by now.
		if (!tc.arena)
			continue;
		tc.tid = thread.tid;
		err = push(walk, &tc);
		if (err)
			return err;
		(*found_ret)++;
	}
	return COREHEAP_OK;
}

static void on_duplicate(void *arg, const struct jem_ptr *kept,
			 uint32_t dropped_tag)
{
	struct jem_walk *walk = arg;
	size_t a = kept->tag >> 8, b = dropped_tag >> 8;

	jem_damage(walk, COREHEAP_DAMAGE_DOUBLE_FREE, UINT32_MAX, kept->address,
		   "0x%llx is cached twice (tcache bin %u of thread %d and bin %u of thread %d): a double free",
		   (unsigned long long)kept->address, kept->tag & 0xff,
		   a < walk->num_tcaches ? walk->tcaches[a].tid : 0,
		   dropped_tag & 0xff,
		   b < walk->num_tcaches ? walk->tcaches[b].tid : 0);
}

// The pointers one bin's stack holds: stack_head[0 .. n).
static int collect_bin(struct jem_walk *walk, size_t t, unsigned int bin,
		       const uint8_t *raw)
{
	const struct coreheap_host *host = walk->host;
	uint64_t head, items[256];
	uint16_t empty;
	size_t n;

	memcpy(&head, raw + JEM_CACHE_BIN_STACK_HEAD, 8);
	memcpy(&empty, raw + JEM_CACHE_BIN_LOW_BITS_EMPTY, 2);
	if (!head)
		return COREHEAP_OK;
	n = (uint16_t)(empty - (uint16_t)head) / 8;
	if (head % 8 || (uint16_t)(empty - (uint16_t)head) % 8 ||
	    n > JEM_CACHE_BIN_NCACHED_MAX) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, UINT32_MAX,
			   walk->tcaches[t].tcache,
			   "tcache bin %u of thread %d: stack 0x%llx and end 0x%x do not fit",
			   bin, walk->tcaches[t].tid, (unsigned long long)head,
			   empty);
		return COREHEAP_OK;
	}
	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < 256 ? n - done : 256;

		if (host->read(host, head + 8 * done, items, 8 * chunk)) {
			jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
				   head + 8 * done,
				   "tcache bin %u of thread %d: its stack is not in the core",
				   bin, walk->tcaches[t].tid);
			return COREHEAP_OK;
		}
		if (walk->cached.count + chunk > JEM_MAX_CACHED) {
			jem_damage(walk, COREHEAP_DAMAGE_BAD_SIZE, UINT32_MAX,
				   walk->tcaches[t].tcache,
				   "the tcaches hold more than %u pointers; the rest are not read",
				   JEM_MAX_CACHED);
			return COREHEAP_CORRUPT;
		}
		for (size_t i = 0; i < chunk; i++) {
			if (jem_ptrset_add(&walk->cached, items[i],
					   jem_tag(t, bin)))
				return COREHEAP_NOMEM;
		}
		done += chunk;
	}
	return COREHEAP_OK;
}

static int collect_stacks(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint8_t bins[JEM_TCACHE_NBINS_MAX * JEM_CACHE_BIN_SIZE];

	for (size_t t = 0; t < walk->num_tcaches; t++) {
		const struct jem_tcache *tc = &walk->tcaches[t];

		if (tc->dyn_alloc &&
		    jem_ptrset_add(&walk->internal, tc->dyn_alloc, jem_tag(t, 0)))
			return COREHEAP_NOMEM;
		if (host->read(host, tc->tcache + JEM_TCACHE_BINS, bins,
			       sizeof(bins))) {
			jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
				   tc->tcache, "a tcache is not in the core");
			continue;
		}
		for (unsigned int b = 0; b < JEM_TCACHE_NBINS_MAX; b++) {
			int err = collect_bin(walk, t, b,
					      bins + b * JEM_CACHE_BIN_SIZE);

			if (err == COREHEAP_CORRUPT)
				return COREHEAP_OK;
			if (err)
				return err;
		}
	}
	return COREHEAP_OK;
}

int jem_find_tcaches(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	size_t from_tls = 0, threads;
	int err;

	err = from_threads(walk, &from_tls);
	if (err)
		return err;
	threads = walk->num_tcaches;
	for (size_t i = 0; i < threads; i++) {
		bool walked = false;

		// One ring per arena holds all its tcaches: walk it once.
		for (size_t j = 0; j < i && !walked; j++)
			walked = walk->tcaches[j].arena == walk->tcaches[i].arena;
		if (walked)
			continue;
		err = follow_ring(walk, walk->tcaches[i].tcache_slow);
		if (err)
			return err;
	}
	host->log(host, COREHEAP_LOG_INFO,
		  "tcaches: %zu in threads' tsd (%s), %zu more on the arenas' tcache rings",
		  from_tls, jem_source_name(walk->st->tsd_source),
		  walk->num_tcaches - from_tls);
	return COREHEAP_OK;
}

int jem_tcaches_from_arenas(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	size_t before = walk->num_tcaches;
	int err;

	for (size_t a = 0; walk->arenas && a < JEM_MAX_ARENAS; a++) {
		uint64_t first;

		if (!walk->arena_addr[a] ||
		    jem_read_u64(host, walk->arena_addr[a] + JEM_ARENA_TCACHE_QL,
				 &first) ||
		    !first)
			continue;
		err = follow_ring(walk, first);
		if (err)
			return err;
	}
	if (walk->num_tcaches > before)
		host->log(host, COREHEAP_LOG_INFO,
			  "tcaches: %zu more from the arenas' tcache lists",
			  walk->num_tcaches - before);
	return COREHEAP_OK;
}

int jem_collect_cached(struct jem_walk *walk)
{
	int err = collect_stacks(walk);

	if (err)
		return err;
	jem_ptrset_sort(&walk->cached, on_duplicate, walk);
	jem_ptrset_sort(&walk->internal, NULL, NULL);
	return COREHEAP_OK;
}
