// SPDX-License-Identifier: MIT
// Finding every thread's tcache. `tcache` is a `static __thread` pointer in
// libc: with debug info its TLS offset is a symbol; without, libc's GOT has
// one R_X86_64_TPOFF64 slot per such variable and the right one is the slot
// whose value, in every thread, is NULL or points at a tcache_perthread_struct
// (or, failing that, in most threads). Last resort: tcache structs are found
// in the heaps, where each is an in-use chunk whose every bin checks out.

#include <stdlib.h>
#include <string.h>

#include "glibc.h"

enum verdict {
	VERDICT_NULL,
	VERDICT_GOOD,
	VERDICT_BAD,
};

// 2.42+ without mp_: a bin whose list is empty has all its slots free, so
// the value most empty bins show is tcache_count.
static uint64_t fill_from_empty_bins(const uint16_t *slots,
				     const uint64_t *entries, unsigned int n)
{
	uint64_t best = 0;
	size_t best_count = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (entries[i])
			continue;
		if (!best_count) {
			best = slots[i];
			best_count = 1;
		} else {
			best_count += slots[i] == best ? 1 : -1;
		}
	}
	return best;
}

int ptm_tcache_read(const struct ptm_walk *walk, uint64_t mem,
		    const struct ptm_layout *layout, struct ptm_tcache *ret)
{
	uint8_t buf[2 * PTM_TCACHE_BINS + 8 * PTM_TCACHE_BINS];
	size_t size = layout->tc_entries + 8 * (size_t)layout->tc_bins;
	uint16_t raw[PTM_TCACHE_BINS];
	uint64_t fill;

	memset(ret, 0, sizeof(*ret));
	if (size > sizeof(buf) || layout->tc_bins > PTM_TCACHE_BINS ||
	    walk->host->read(walk->host, mem, buf, size))
		return COREHEAP_FAULT;
	for (unsigned int i = 0; i < layout->tc_bins; i++) {
		// counts[] is char before 2.30, uint16_t from 2.30.
		if (layout->tc_count_width == 1)
			raw[i] = buf[i];
		else
			memcpy(&raw[i], buf + 2 * i, 2);
		memcpy(&ret->entries[i], buf + layout->tc_entries + 8 * i, 8);
		ret->counts[i] = raw[i];
	}
	if (!layout->tc_counts_slots)
		return COREHEAP_OK;
	// 2.42+ counts down from tcache_count: the chunks held are what is
	// missing from it.
	fill = walk->tcache_fill ? walk->tcache_fill :
				   fill_from_empty_bins(raw, ret->entries,
							layout->tc_bins);
	for (unsigned int i = 0; i < layout->tc_bins; i++) {
		ret->slots_over[i] = raw[i] > fill;
		ret->counts[i] = ret->slots_over[i] ? 0 : (uint16_t)(fill - raw[i]);
	}
	return COREHEAP_OK;
}

// How many bins agree with themselves: no entry exactly when the count is 0,
// and the first entry is a chunk of the bin's size inside a heap.
static unsigned int consistent_bins(const struct ptm_walk *walk,
				    const struct ptm_layout *layout,
				    const struct ptm_tcache *tc)
{
	unsigned int good = 0;

	for (unsigned int i = 0; i < layout->tc_bins; i++) {
		uint64_t e = tc->entries[i], size;

		if (!e) {
			good += tc->counts[i] == 0 && !tc->slots_over[i];
			continue;
		}
		if (!tc->counts[i] || e % PTM_ALIGN ||
		    ptm_read_u64(walk->host, e - 8, &size))
			continue;
		good += ptm_tcache_bin(layout, size & ~(uint64_t)PTM_FLAG_BITS) == i &&
			((i >= PTM_TCACHE_SMALL_BINS &&
			  ptm_tcache_mmapped(layout, size)) ||
			 ptm_chunk_in_heaps(walk, e - PTM_CHUNK_HDR,
					    size & ~(uint64_t)PTM_FLAG_BITS,
					    SIZE_MAX));
	}
	return good;
}

// 2.43 never leaves `tcache` NULL: a thread without a cache points at one
// of two all-zero dummies in libc's read-only data (__tcache_dummy).
static bool is_dummy_tcache(const struct ptm_walk *walk, uint64_t mem)
{
	const struct ptm_state *st = walk->st;
	uint64_t words[4];

	if (mem < st->libc_start || mem >= st->libc_end)
		return false;
	if (walk->host->read(walk->host, mem, words, sizeof(words)))
		return true; // read-only data the core does not hold
	return !(words[0] | words[1] | words[2] | words[3]);
}

static enum verdict judge(struct ptm_walk *walk, uint64_t mem,
			  unsigned int *score_ret)
{
	struct ptm_layout layout = *walk->layout;
	struct ptm_tcache tc;
	uint64_t size;

	*score_ret = 0;
	if (!mem || is_dummy_tcache(walk, mem))
		return VERDICT_NULL;
	if (mem % PTM_ALIGN || ptm_read_u64(walk->host, mem - 8, &size))
		return VERDICT_BAD;
	size &= ~(uint64_t)PTM_FLAG_BITS;
	// The struct's own size tells char (< 2.30) from uint16_t counts.
	if (!ptm_layout_set_tcache(&layout, size) ||
	    !ptm_chunk_in_heaps(walk, mem - PTM_CHUNK_HDR, size, SIZE_MAX) ||
	    ptm_tcache_read(walk, mem, &layout, &tc))
		return VERDICT_BAD;
	*score_ret = consistent_bins(walk, &layout, &tc);
	return VERDICT_GOOD;
}

static int add_tcache(struct ptm_walk *walk, uint64_t mem)
{
	uint64_t *tcaches, size;
	int added;

	added = ptm_addrset_add(&walk->tcache_chunks, mem - PTM_CHUNK_HDR, 0,
				NULL);
	if (added < 0)
		return COREHEAP_NOMEM;
	if (!added)
		return COREHEAP_OK;
	tcaches = realloc(walk->tcaches,
			  (walk->num_tcaches + 1) * sizeof(*tcaches));
	if (!tcaches)
		return COREHEAP_NOMEM;
	walk->tcaches = tcaches;
	tcaches[walk->num_tcaches++] = mem;
	if (!ptm_read_u64(walk->host, mem - 8, &size))
		ptm_layout_set_tcache(&walk->st->layout,
				      size & ~(uint64_t)PTM_FLAG_BITS);
	return COREHEAP_OK;
}

/** Where one thread's copy of a libc TLS variable is. */
struct tls_var {
	uint64_t offset;     // in libc's TLS block
	uint64_t got;        // run-time GOT slot holding its TP offset, or 0
	bool use_host;       // ask the host (coreheap_host::tls_address)
};

static int tls_var_address(const struct ptm_walk *walk, size_t thread,
			   const struct tls_var *var, uint64_t *ret)
{
	const struct coreheap_host *host = walk->host;
	struct coreheap_thread t;
	uint64_t tpoff;

	if (var->use_host)
		return host->tls_address(host, thread, walk->st->libc_module,
					 var->offset, ret);
	// Static TLS (libc's always is) sits at a fixed offset from the
	// thread pointer, and the dynamic linker wrote it in the GOT slot.
	if (!var->got || host->thread(host, thread, &t) || !t.thread_pointer ||
	    ptm_read_u64(host, var->got, &tpoff))
		return COREHEAP_NOT_FOUND;
	*ret = t.thread_pointer + tpoff;
	return COREHEAP_OK;
}

/** How well one candidate variable fits in all threads. */
struct rating {
	size_t good, bad, unknown;
	unsigned int score;
};

static void rate_var(struct ptm_walk *walk, const struct tls_var *var,
		     struct rating *ret)
{
	size_t n = walk->host->num_threads(walk->host);

	*ret = (struct rating){0};
	for (size_t i = 0; i < n; i++) {
		uint64_t address, value;
		unsigned int score;

		if (tls_var_address(walk, i, var, &address) ||
		    ptm_read_u64(walk->host, address, &value)) {
			ret->unknown++;
			continue;
		}
		switch (judge(walk, value, &score)) {
		case VERDICT_GOOD:
			ret->good++;
			ret->score += score;
			break;
		case VERDICT_BAD:
			ret->bad++;
			break;
		case VERDICT_NULL:
			break;
		}
	}
}

static int take_var(struct ptm_walk *walk, const struct tls_var *var)
{
	size_t n = walk->host->num_threads(walk->host);

	for (size_t i = 0; i < n; i++) {
		uint64_t address, value;
		unsigned int score;
		int err;

		if (tls_var_address(walk, i, var, &address) ||
		    ptm_read_u64(walk->host, address, &value)) {
			walk->tls_unknown++;
			continue;
		}
		switch (judge(walk, value, &score)) {
		case VERDICT_GOOD:
			break;
		case VERDICT_NULL:
			// 2.43 (no fastbins) never leaves `tcache` NULL: a 0
			// is TLS memory the core does not really hold.
			if (!value && !walk->layout->ms_num_fastbins)
				walk->tls_unknown++;
			continue;
		case VERDICT_BAD:
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
				   UINT32_MAX, value,
				   "thread %zu's tcache pointer 0x%llx is not a tcache",
				   i, (unsigned long long)value);
			continue;
		}
		err = add_tcache(walk, value);
		if (err)
			return err;
	}
	return COREHEAP_OK;
}

static uint64_t got_for_offset(const struct ptm_walk *walk, uint64_t offset)
{
	const struct ptm_libc_file *file = walk->st->file;

	for (size_t i = 0; file && i < file->num_tpoff; i++) {
		if (file->tpoff[i].offset == offset)
			return file->tpoff[i].got + walk->st->libc_bias;
	}
	return 0;
}

static bool fits(const struct rating *r)
{
	return r->good && !r->bad;
}

/** Whether @p r is a better `tcache` candidate than @p best. */
static bool better(const struct rating *r, const struct rating *best)
{
	if (fits(r) != fits(best))
		return fits(r);
	if (r->good != best->good)
		return r->good > best->good;
	return r->score > best->score;
}

/** 1 if found through the symbol, 0 if not, or an error. */
static int by_symbol(struct ptm_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	struct coreheap_symbol sym;
	struct tls_var got, tls;
	struct rating by_got, by_host;
	int err;

	if (host->symbol(host, walk->st->symbol_prefix, "tcache", &sym) ||
	    !sym.is_tls)
		return 0;
	// Two ways to the same variable: the GOT slot the dynamic linker
	// filled, and the host's TLS model. Trust the one whose answers
	// look like tcaches.
	got = (struct tls_var){.offset = sym.address,
			       .got = got_for_offset(walk, sym.address)};
	tls = (struct tls_var){.offset = sym.address, .use_host = true};
	rate_var(walk, &got, &by_got);
	rate_var(walk, &tls, &by_host);
	if (fits(&by_got) && (!fits(&by_host) || by_got.good >= by_host.good))
		err = take_var(walk, &got);
	else if (fits(&by_host))
		err = take_var(walk, &tls);
	else if (by_got.good + by_got.bad + by_host.good + by_host.bad == 0 &&
		 (by_got.unknown == 0 || by_host.unknown == 0))
		// Every thread's tcache is NULL, or (2.43) not in the core:
		// take_var counts those.
		err = take_var(walk, by_got.unknown == 0 ? &got : &tls);
	else if (by_got.good || by_host.good)
		err = take_var(walk, by_got.good >= by_host.good ? &got : &tls);
	else
		return 0;
	return err ? err : 1;
}

/** 1 if one TPOFF64 slot fits as `tcache`, 0 if none does, or an error. */
static int by_relocations(struct ptm_walk *walk)
{
	const struct ptm_libc_file *file = walk->st->file;
	struct rating best = {0};
	struct tls_var best_var = {0};
	size_t fits = 0;
	int err;

	for (size_t i = 0; file && i < file->num_tpoff; i++) {
		struct tls_var var = {
			.offset = file->tpoff[i].offset,
			.got = file->tpoff[i].got + walk->st->libc_bias,
		};
		struct rating r;

		rate_var(walk, &var, &r);
		// The GOT page missing from the core: ask the host instead.
		if (r.unknown == walk->host->num_threads(walk->host)) {
			var.use_host = true;
			rate_var(walk, &var, &r);
		}
		if (!r.good)
			continue;
		if (!r.bad)
			fits++;
		if (better(&r, &best)) {
			best = r;
			best_var = var;
		}
	}
	// One thread whose slot reads as something else (its TLS half
	// written, or damaged) must not lose every other thread's cache: a
	// slot that most threads confirm is taken, and take_var reports the
	// rest as damage.
	if (!fits && best.good <= best.bad)
		return 0;
	if (!fits)
		walk->host->log(walk->host, COREHEAP_LOG_WARNING,
				"the tcache TLS slot at offset 0x%llx fits %zu thread(s) and not %zu",
				(unsigned long long)best_var.offset, best.good,
				best.bad);
	if (fits > 1)
		walk->host->log(walk->host, COREHEAP_LOG_WARNING,
				"%zu TLS variables look like tcache; took the one at offset 0x%llx",
				fits, (unsigned long long)best_var.offset);
	err = take_var(walk, &best_var);
	return err ? err : 1;
}

// libc's file is gone, so its relocations are unknown; but the GOT slots the
// dynamic linker filled are in the core (RELRO pages are written, hence
// dumped): try every word of libc's data that reads as a small negative TP
// offset.
#define MAX_TPOFF (1 << 20)
#define MAX_GOT_SCAN (1u << 20)

static void rate_got_words(struct ptm_walk *walk, const uint64_t *words,
			   size_t n, uint64_t base, struct tls_var *best_var,
			   struct rating *best, size_t *fits_ret)
{
	for (size_t i = 0; i < n; i++) {
		int64_t tpoff = (int64_t)words[i];
		struct tls_var var = {.got = base + 8 * i};
		struct rating r;

		if (tpoff >= 0 || tpoff < -MAX_TPOFF || tpoff % 8)
			continue;
		rate_var(walk, &var, &r);
		if (!fits(&r))
			continue;
		(*fits_ret)++;
		if (better(&r, best)) {
			*best = r;
			*best_var = var;
		}
	}
}

/** 1 if a GOT-looking word in libc's memory fits as `tcache`, else 0. */
static int by_got_scan(struct ptm_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	const struct ptm_state *st = walk->st;
	size_t n = host->num_mappings(host), fits = 0;
	struct tls_var best_var = {0};
	struct rating best = {0};
	int err;

	if (!st->have_libc)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct coreheap_mapping m;
		uint64_t *words;
		size_t len;

		if (host->mapping(host, i, &m) || m.start < st->libc_start ||
		    m.end > st->libc_end || m.prot & COREHEAP_PROT_EXEC ||
		    !(m.prot & COREHEAP_PROT_READ) ||
		    m.end - m.start > MAX_GOT_SCAN)
			continue;
		len = m.end - m.start;
		words = malloc(len);
		if (!words)
			return COREHEAP_NOMEM;
		if (!host->read(host, m.start, words, len))
			rate_got_words(walk, words, len / 8, m.start, &best_var,
				       &best, &fits);
		free(words);
	}
	if (!fits)
		return 0;
	host->log(host, COREHEAP_LOG_WARNING,
		  "libc's file is missing: took the tcache TLS offset from a GOT-like word at 0x%llx (%zu candidate(s) fit)",
		  (unsigned long long)best_var.got, fits);
	err = take_var(walk, &best_var);
	return err ? err : 1;
}

/**
 * 1 if the chunk at @p chunk is an in-use tcache_perthread_struct whose
 * every bin checks out (an all-zero user block of the same size must not
 * pass for one) and was added, 0 if not, or an error.
 */
static int take_if_tcache(struct ptm_walk *walk, uint64_t chunk)
{
	struct ptm_layout layout = *walk->layout;
	uint64_t size, next_size;
	struct ptm_tcache tc;
	int err;

	if (ptm_read_u64(walk->host, chunk + 8, &size))
		return 0;
	size &= ~(uint64_t)PTM_FLAG_BITS;
	if (!ptm_layout_set_tcache(&layout, size) ||
	    !ptm_chunk_in_heaps(walk, chunk, size, SIZE_MAX) ||
	    ptm_read_u64(walk->host, chunk + size + 8, &next_size) ||
	    !(next_size & PTM_PREV_INUSE) ||
	    ptm_tcache_read(walk, chunk + PTM_CHUNK_HDR, &layout, &tc) ||
	    consistent_bins(walk, &layout, &tc) < layout.tc_bins)
		return 0;
	if (ptm_addrset_find(&walk->tcache_chunks, chunk, NULL))
		return 0;
	err = add_tcache(walk, chunk + PTM_CHUNK_HDR);
	return err ? err : 1;
}

// Each thread's tcache is allocated from the arena it is attached to: up
// to 2.41 by its first malloc, the first chunk of the main heap or of a
// thread arena's first heap; 2.42 by its first malloc or calloc below
// tcache_max_bytes, after any larger blocks; 2.43 later (at the first free,
// or when malloc would fill it), anywhere. With @p whole every chunk of
// every heap is looked at, as far as the sizes lead (by_heap_scan does so
// when the first chunks gave fewer caches than threads).
// *found_ret: how many were added.
static int heap_scan(struct ptm_walk *walk, bool whole, size_t *found_ret)
{
	*found_ret = 0;
	for (size_t i = 0; i < walk->num_heaps; i++) {
		const struct ptm_heap *heap = &walk->heaps[i];
		uint64_t chunk = heap->start, size;

		while (chunk >= heap->start && chunk + PTM_CHUNK_HDR <= heap->end) {
			int taken = take_if_tcache(walk, chunk);

			if (taken < 0)
				return taken;
			*found_ret += taken;
			if (!whole ||
			    ptm_read_u64(walk->host, chunk + 8, &size))
				break;
			size &= ~(uint64_t)PTM_FLAG_BITS;
			if (size < PTM_MINSIZE || size % PTM_ALIGN)
				break;
			chunk += size;
		}
	}
	return COREHEAP_OK;
}

static int by_heap_scan(struct ptm_walk *walk)
{
	bool whole = !walk->layout->ms_num_fastbins;
	size_t threads = walk->host->num_threads(walk->host), found;
	int err = heap_scan(walk, whole, &found);

	// Threads that share an arena (more threads than arenas, or an
	// arena taken over from a thread that exited) have their caches
	// further in: look at every chunk while fewer caches than threads
	// were found.
	if (!err && !whole && (!threads || found < threads)) {
		size_t more;

		whole = true;
		err = heap_scan(walk, true, &more);
		found += more;
	}
	if (err)
		return err;
	walk->host->log(walk->host, COREHEAP_LOG_WARNING,
			"tcache TLS variable not found; took %zu tcache(s) from %s",
			found, whole ? "the heaps (in-use chunks whose every bin checks out)" :
				       "the first chunks of heaps: a thread cache elsewhere is missed (its free chunks show as live)");
	return COREHEAP_OK;
}

// Threads whose `tcache` could not be read (2.43: read as NULL, which it
// never is): their TLS is not in the core, as when gdb could not read a
// thread stack that glibc guards with MADV_GUARD_INSTALL. Their caches are
// in the heaps.
static int add_unread_tcaches(struct ptm_walk *walk)
{
	size_t found;
	int err;

	if (!walk->tls_unknown)
		return COREHEAP_OK;
	err = heap_scan(walk, true, &found);
	if (err)
		return err;
	walk->host->log(walk->host, COREHEAP_LOG_WARNING,
			"the tcache pointer of %zu thread(s) is not in the core; took %zu more tcache(s) from the heaps",
			walk->tls_unknown, found);
	return COREHEAP_OK;
}

int ptm_find_tcaches(struct ptm_walk *walk)
{
	uint64_t fill;
	int ret;

	// 2.42+ counts free slots down from mp_.tcache_count (65535 at most).
	if (walk->st->mp &&
	    !ptm_read_u64(walk->host, walk->st->mp + walk->layout->mp_tcache_count,
			  &fill) &&
	    fill <= 65535)
		walk->tcache_fill = fill;

	// Without threads in the core there is no thread pointer to start
	// from: only the heaps can tell.
	if (!walk->host->num_threads(walk->host))
		return by_heap_scan(walk);
	ret = by_symbol(walk);
	if (ret)
		return ret < 0 ? ret : add_unread_tcaches(walk);
	ret = by_relocations(walk);
	if (ret)
		return ret < 0 ? ret : add_unread_tcaches(walk);
	if (!walk->st->file) {
		ret = by_got_scan(walk);
		if (ret)
			return ret < 0 ? ret : COREHEAP_OK;
	}
	return by_heap_scan(walk);
}
