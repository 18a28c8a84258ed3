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

// 5.3: a tcache_t and its tcache_slow_t point at each other, a check that
// needs nothing but the two layouts.
static bool read_tcache_slow(const struct jem_walk *walk, uint64_t tcache,
			     struct jem_tcache *ret)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	uint8_t slow[256];
	uint64_t slow_addr, back;

	if (l->slow_size > sizeof(slow) || !tcache || tcache % 8 ||
	    jem_read_u64(host, tcache, &slow_addr) || !slow_addr ||
	    slow_addr % 8 || host->read(host, slow_addr, slow, l->slow_size))
		return false;
	memcpy(&back, slow + l->slow_tcache, 8);
	if (back != tcache)
		return false;
	*ret = (struct jem_tcache){ .tcache = tcache, .tcache_slow = slow_addr };
	memcpy(&ret->arena, slow + l->slow_arena, 8);
	memcpy(&ret->dyn_alloc, slow + l->slow_dyn_alloc, 8);
	return true;
}

// 5.2: the tcache_t's cache_bin_array_descriptor points at its own bins
// (tcache_arena_associate), a check of the same kind. The stacks are one
// allocation that bin 0's ends in: the word below its avail is in it.
static bool read_tcache_avail(const struct jem_walk *walk, uint64_t tcache,
			      struct jem_tcache *ret)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	uint64_t small, large, avail;

	if (!tcache || tcache % 8 ||
	    jem_read_u64(host, tcache + l->tcache_desc_small, &small) ||
	    jem_read_u64(host, tcache + l->tcache_desc_large, &large) ||
	    small != tcache + l->tcache_bins ||
	    large != tcache + l->tcache_bins_large ||
	    jem_read_u64(host, tcache + l->tcache_bins + 16, &avail))
		return false;
	*ret = (struct jem_tcache){ .tcache = tcache };
	if (jem_read_u64(host, tcache + l->tcache_arena, &ret->arena))
		return false;
	ret->dyn_alloc = avail && avail % 8 == 0 ? avail - 8 : 0;
	return true;
}

static bool read_tcache(const struct jem_walk *walk, uint64_t tcache,
			struct jem_tcache *ret)
{
	if (walk->layout->cache_bin == JEM_CACHE_BIN_AVAIL)
		return read_tcache_avail(walk, tcache, ret);
	return read_tcache_slow(walk, tcache, ret);
}

// What the arenas' tcache_ql rings link: tcache_slow_t (5.3) or tcache_t.
static uint64_t ring_member(const struct jem_walk *walk,
			    const struct jem_tcache *tc)
{
	return walk->layout->tsd_tcache_slow ? tc->tcache_slow : tc->tcache;
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

// The tcache_ql ring through tcache_slow_t.link (5.3) or tcache_t.link
// (5.2), from one member.
static int follow_ring(struct jem_walk *walk, uint64_t member)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	uint64_t start = member;

	for (size_t steps = 0; steps < JEM_MAX_TCACHES; steps++) {
		struct jem_tcache tc;
		uint64_t tcache = member;
		int err;

		if ((l->tsd_tcache_slow &&
		     jem_read_u64(host, member + l->slow_tcache, &tcache)) ||
		    !read_tcache(walk, tcache, &tc) ||
		    ring_member(walk, &tc) != member) {
			jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, UINT32_MAX,
				   member,
				   "an arena's tcache list leads to 0x%llx, which is no tcache",
				   (unsigned long long)member);
			return COREHEAP_OK;
		}
		err = push(walk, &tc);
		if (err)
			return err;
		if (jem_read_u64(host,
				 member + (l->tsd_tcache_slow ? l->slow_next :
								l->tcache_link),
				 &member))
			return COREHEAP_OK;
		if (member == start)
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
	const struct jem_layout *l = walk->layout;
	size_t n = host->num_threads(host);

	*found_ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct coreheap_thread thread;
		struct jem_tcache tc;
		uint64_t tsd, tdata;
		int err;

		if (host->thread(host, i, &thread) ||
		    host->tls_address(host, i, st->module, st->tsd_tls_offset,
				      &tsd))
			continue;
		// 5.2: the thread's arenas_tdata, which a0malloc() gave,
		// tcache or not (arena_tdata_get_hard).
		if (l->tsd_arenas_tdata && !jem_read_u64(host, tsd +
				l->tsd_arenas_tdata, &tdata) && tdata &&
		    tdata % 8 == 0 &&
		    jem_ptrset_add(&walk->internal, tdata, jem_tag(0, 0)))
			return COREHEAP_NOMEM;
		// A thread that never allocated has no tcache (5.3: no
		// tcache_slow) yet.
		if (!read_tcache(walk, tsd + l->tsd_tcache, &tc))
			continue;
		if (l->tsd_tcache_slow &&
		    tc.tcache_slow != tsd + l->tsd_tcache_slow)
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

size_t jem_count_thread_tcaches(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	size_t n = host->num_threads(host), found = 0;

	for (size_t i = 0; i < n; i++) {
		struct jem_tcache tc;
		uint64_t tsd;

		if (host->tls_address(host, i, walk->st->module,
				      walk->st->tsd_tls_offset, &tsd) ||
		    !read_tcache(walk, tsd + l->tsd_tcache, &tc) ||
		    (l->tsd_tcache_slow &&
		     tc.tcache_slow != tsd + l->tsd_tcache_slow))
			continue;
		found++;
	}
	return found;
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

// n pointers from @p first into walk->cached, tagged with the bin.
static int collect_pointers(struct jem_walk *walk, size_t t, unsigned int bin,
			    uint64_t first, size_t n)
{
	const struct coreheap_host *host = walk->host;
	uint64_t items[256];

	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < 256 ? n - done : 256;

		if (host->read(host, first + 8 * done, items, 8 * chunk)) {
			jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
				   first + 8 * done,
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

// 5.3: the pointers one bin's stack holds: stack_head[0 .. n).
static int collect_bin_stack(struct jem_walk *walk, size_t t, unsigned int bin,
			     const uint8_t *raw)
{
	uint64_t head;
	uint16_t empty;
	size_t n;

	// cache_bin_t: stack_head @0, low_bits_empty @20.
	memcpy(&head, raw, 8);
	memcpy(&empty, raw + 20, 2);
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
	return collect_pointers(walk, t, bin, head, n);
}

// 5.2: the pointers one bin holds: avail[-ncached .. -1].
static int collect_bin_avail(struct jem_walk *walk, size_t t, unsigned int bin,
			     const uint8_t *raw)
{
	uint64_t avail;
	int32_t ncached;

	// cache_bin_t: ncached @4, avail @16.
	memcpy(&ncached, raw + 4, 4);
	memcpy(&avail, raw + 16, 8);
	if (!ncached)
		return COREHEAP_OK;
	if (ncached < 0 || ncached > JEM_CACHE_BIN_NCACHED_MAX || !avail ||
	    avail % 8 || avail < 8 * (uint64_t)ncached) {
		jem_damage(walk, COREHEAP_DAMAGE_BAD_POINTER, UINT32_MAX,
			   walk->tcaches[t].tcache,
			   "tcache bin %u of thread %d: stack 0x%llx and count %d do not fit",
			   bin, walk->tcaches[t].tid, (unsigned long long)avail,
			   ncached);
		return COREHEAP_OK;
	}
	return collect_pointers(walk, t, bin, avail - 8 * (uint64_t)ncached,
				(size_t)ncached);
}

// Bins [first, first + count) of a tcache from @p at.
static int collect_bins(struct jem_walk *walk, size_t t, uint64_t at,
			unsigned int first, unsigned int count)
{
	const struct coreheap_host *host = walk->host;
	uint8_t raw[JEM_NSIZES * JEM_CACHE_BIN_SIZE];

	if (first >= JEM_NSIZES || count > JEM_NSIZES - first)
		count = first < JEM_NSIZES ? JEM_NSIZES - first : 0;
	if (host->read(host, at, raw, count * JEM_CACHE_BIN_SIZE)) {
		jem_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
			   walk->tcaches[t].tcache, "a tcache is not in the core");
		return COREHEAP_OK;
	}
	for (unsigned int b = 0; b < count; b++) {
		const uint8_t *bin = raw + b * JEM_CACHE_BIN_SIZE;
		int err = walk->layout->cache_bin == JEM_CACHE_BIN_AVAIL ?
				  collect_bin_avail(walk, t, first + b, bin) :
				  collect_bin_stack(walk, t, first + b, bin);

		if (err)
			return err;
	}
	return COREHEAP_OK;
}

static int collect_stacks(struct jem_walk *walk)
{
	const struct jem_layout *l = walk->layout;

	for (size_t t = 0; t < walk->num_tcaches; t++) {
		const struct jem_tcache *tc = &walk->tcaches[t];
		int err;

		if (tc->dyn_alloc &&
		    jem_ptrset_add(&walk->internal, tc->dyn_alloc, jem_tag(t, 0)))
			return COREHEAP_NOMEM;
		err = collect_bins(walk, t, tc->tcache + l->tcache_bins, 0,
				   l->tcache_bins_count);
		if (!err && l->tcache_bins_large)
			err = collect_bins(walk, t,
					   tc->tcache + l->tcache_bins_large,
					   l->tcache_bins_count,
					   JEM_NSIZES - l->tcache_bins_count);
		if (err == COREHEAP_CORRUPT)
			return COREHEAP_OK;
		if (err)
			return err;
	}
	return COREHEAP_OK;
}

// 5.2: the tsd whose own tcache_t is at @p tcache, or 0: its tsd_link is
// in the ring of nominal tsds (the next one's prev is it).
static uint64_t tsd_of(const struct jem_walk *walk, uint64_t tcache)
{
	const struct jem_layout *l = walk->layout;
	uint64_t tsd = tcache - l->tsd_tcache, next, back;

	if (tcache < l->tsd_tcache ||
	    jem_read_u64(walk->host, tcache + l->tcache_tsd_link, &next) ||
	    !next || next % 8 ||
	    jem_read_u64(walk->host,
			 next + l->tsd_tcache + l->tcache_tsd_link + 8, &back))
		return 0;
	return back == tsd ? tsd : 0;
}

/*
 * 5.2, threads whose TLS the core lacks (or that the host cannot place):
 * every nominal thread's tsd is on a ring through its tcache_t.tsd_link,
 * which any tsd's own tcache on an arena's ring leads to; each tsd's
 * arenas_tdata is jemalloc's (a0malloc).
 */
static int tsds_from_tcaches(struct jem_walk *walk)
{
	const struct jem_layout *l = walk->layout;
	uint64_t start = 0, tsd;
	size_t found = 0;

	for (size_t t = 0; t < walk->num_tcaches && !start; t++)
		start = tsd_of(walk, walk->tcaches[t].tcache);
	tsd = start;
	for (size_t steps = 0; tsd && steps < JEM_MAX_TCACHES; steps++) {
		uint64_t tdata;

		if (!jem_read_u64(walk->host, tsd + l->tsd_arenas_tdata,
				  &tdata) &&
		    tdata && tdata % 8 == 0) {
			if (jem_ptrset_add(&walk->internal, tdata, jem_tag(0, 0)))
				return COREHEAP_NOMEM;
			found++;
		}
		if (jem_read_u64(walk->host,
				 tsd + l->tsd_tcache + l->tcache_tsd_link, &tsd) ||
		    tsd == start)
			break;
	}
	jem_log(walk, COREHEAP_LOG_INFO,
		"threads' tsd: %zu arenas_tdata on the ring of tsds", found);
	return COREHEAP_OK;
}

int jem_find_tcaches(struct jem_walk *walk)
{
	size_t from_tls = 0, threads;
	int err;

	err = from_threads(walk, &from_tls);
	if (err)
		return err;
	walk->tls_tsds = from_tls;
	threads = walk->num_tcaches;
	for (size_t i = 0; i < threads; i++) {
		bool walked = false;

		// One ring per arena holds all its tcaches: walk it once.
		for (size_t j = 0; j < i && !walked; j++)
			walked = walk->tcaches[j].arena == walk->tcaches[i].arena;
		if (walked)
			continue;
		err = follow_ring(walk, ring_member(walk, &walk->tcaches[i]));
		if (err)
			return err;
	}
	jem_log(walk, COREHEAP_LOG_INFO,
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
		    jem_read_u64(host,
				 walk->arena_addr[a] +
					 walk->layout->arena_tcache_ql,
				 &first) ||
		    !first)
			continue;
		err = follow_ring(walk, first);
		if (err)
			return err;
	}
	if (walk->num_tcaches > before)
		jem_log(walk, COREHEAP_LOG_INFO,
			  "tcaches: %zu more from the arenas' tcache lists",
			  walk->num_tcaches - before);
	// 5.2's arenas_tdata come from the threads' tsd: without their TLS,
	// from the ring of tsds (twice in walk->internal is harmless).
	if (walk->layout->tcache_tsd_link && !walk->tls_tsds)
		return tsds_from_tcaches(walk);
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
