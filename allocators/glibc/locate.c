// SPDX-License-Identifier: MIT
// Finding glibc's malloc in a core: libc, its version, main_arena and mp_,
// with debug info (symbols) or without (static initialisers in libc's file,
// and the shape of a malloc_state in libc's writable memory).

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "glibc.h"

// A real main_arena has most of its 127 bins empty or consistently linked;
// garbage or a zeroed area has next to none.
#define ARENA_MIN_SCORE 120
#define ARENA_MIN_SCORE_FORCED 64
// Cheap first filter while scanning: bins that point at themselves.
#define SCAN_MIN_EMPTY_BINS 8
// libc's writable segments are tens of KiB; do not scan more than this.
#define SCAN_MAX_BYTES (4u << 20)

static uint64_t load_u64(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static void decode_arena(const struct ptm_layout *layout, const uint8_t *buf,
			 uint64_t address, struct ptm_arena *ret)
{
	uint32_t flags;

	memset(ret, 0, sizeof(*ret));
	ret->address = address;
	memcpy(&flags, buf + layout->ms_flags, sizeof(flags));
	ret->flags = flags;
	for (unsigned int i = 0; i < layout->ms_num_fastbins; i++)
		ret->fastbins[i] = load_u64(buf, layout->ms_fastbins + 8 * i);
	ret->top = load_u64(buf, layout->ms_top);
	ret->next = load_u64(buf, layout->ms_next);
	ret->system_mem = load_u64(buf, layout->ms_system_mem);
	memcpy(ret->bins, buf + layout->ms_bins, sizeof(ret->bins));
}

int ptm_arena_read(const struct coreheap_host *host,
		   const struct ptm_layout *layout, uint64_t address,
		   struct ptm_arena *ret)
{
	uint8_t buf[4096];

	if (layout->ms_size > sizeof(buf) ||
	    host->read(host, address, buf, layout->ms_size))
		return COREHEAP_FAULT;
	decode_arena(layout, buf, address, ret);
	return COREHEAP_OK;
}

static unsigned int count_empty_bins(const struct ptm_layout *layout,
				     const struct ptm_arena *arena)
{
	unsigned int n = 0;

	for (unsigned int i = 1; i < PTM_NBINS; i++) {
		uint64_t self = ptm_bin_at(layout, arena->address, i);

		if (arena->bins[2 * (i - 1)] == self &&
		    arena->bins[2 * (i - 1) + 1] == self)
			n++;
	}
	return n;
}

unsigned int ptm_arena_bin_score(const struct coreheap_host *host,
				 const struct ptm_layout *layout,
				 const struct ptm_arena *arena)
{
	unsigned int score = 0;

	for (unsigned int i = 1; i < PTM_NBINS; i++) {
		uint64_t self = ptm_bin_at(layout, arena->address, i);
		uint64_t fd = arena->bins[2 * (i - 1)];
		uint64_t bk = arena->bins[2 * (i - 1) + 1];
		uint64_t back, forth;

		if (fd == self && bk == self) {
			score++;
			continue;
		}
		// A listed bin: its first chunk's bk and its last chunk's fd
		// lead back to the bin.
		if (!fd || !bk || fd % PTM_ALIGN || bk % PTM_ALIGN)
			continue;
		if (ptm_read_u64(host, fd + 24, &back) ||
		    ptm_read_u64(host, bk + 16, &forth))
			continue;
		if (back == self && forth == self)
			score++;
	}
	return score;
}

// top is the wilderness chunk: in use before it, ending on a page boundary.
static bool top_is_valid(const struct coreheap_host *host,
			 const struct ptm_arena *arena, uint64_t *size_ret)
{
	uint64_t size;

	if (!arena->top || arena->top % PTM_ALIGN ||
	    ptm_read_u64(host, arena->top + 8, &size))
		return false;
	*size_ret = size & ~(uint64_t)PTM_FLAG_BITS;
	return (size & PTM_PREV_INUSE) && !(size & PTM_IS_MMAPPED) &&
	       (arena->top + *size_ret) % PTM_PAGE_SIZE == 0 &&
	       arena->top + *size_ret > arena->top;
}

// What glibc's static initialiser leaves before the first malloc: all zero
// but next (= itself) and attached_threads (= 1).
static bool arena_is_pristine(const struct coreheap_host *host,
			      const struct ptm_layout *layout,
			      const struct ptm_arena *arena)
{
	uint64_t attached;

	if (arena->top || arena->next != arena->address ||
	    host->read(host, arena->address + layout->ms_attached_threads,
		       &attached, sizeof(attached)) || attached != 1)
		return false;
	for (unsigned int i = 0; i < PTM_NBINS * 2 - 2; i++) {
		if (arena->bins[i])
			return false;
	}
	return true;
}

/** How a main_arena candidate was found, surest first. */
enum source {
	SOURCE_SYMBOL,   // main_arena in libc's debug info
	SOURCE_FILE,     // its static initialiser in libc's file
	SOURCE_SCAN,     // a malloc_state look-alike in libc's memory
};

/** A main_arena candidate and how well it fits. */
struct arena_guess {
	uint64_t address;
	int layout;            // enum ptm_arena_layout
	unsigned int score;    // bins that check out
	bool top_valid;
	bool ring_ok;          // next leads back to it
	bool pristine;
	enum source source;
	const char *how;
};

// The `next` ring of a real arena comes back to it; a look-alike (a window
// shifted by a bin) has a small integer or garbage there.
static bool ring_returns(const struct coreheap_host *host,
			 const struct ptm_layout *layout, uint64_t start,
			 uint64_t next)
{
	for (unsigned int i = 0; i < 64; i++) {
		if (next == start)
			return true;
		if (!next || next % 8 ||
		    ptm_read_u64(host, next + layout->ms_next, &next))
			return false;
	}
	return false;
}

static void rate_guess(const struct coreheap_host *host, struct arena_guess *g)
{
	struct ptm_layout layout;
	struct ptm_arena arena;
	uint64_t top_size;

	ptm_layout_set_arena(&layout, g->layout);
	g->score = 0;
	g->top_valid = g->pristine = g->ring_ok = false;
	if (ptm_arena_read(host, &layout, g->address, &arena))
		return;
	g->pristine = arena_is_pristine(host, &layout, &arena);
	if (g->pristine)
		return;
	g->score = ptm_arena_bin_score(host, &layout, &arena);
	g->top_valid = top_is_valid(host, &arena, &top_size);
	g->ring_ok = ring_returns(host, &layout, g->address, arena.next);
}

static bool better(const struct arena_guess *a, const struct arena_guess *b)
{
	if (a->pristine != b->pristine)
		return !a->pristine;
	if (a->ring_ok != b->ring_ok)
		return a->ring_ok;
	if (a->top_valid != b->top_valid)
		return a->top_valid;
	if (a->score != b->score)
		return a->score > b->score;
	return a->source < b->source;
}

/** Work state of ptm_locate. */
struct locator {
	const struct coreheap_host *host;
	struct ptm_state *st;
	const char *prefix;      // module name prefix for symbol lookups
	struct coreheap_module module;
	struct arena_guess best;
	bool have_best;
};

static void consider(struct locator *loc, uint64_t address, int layout,
		     enum source source, const char *how)
{
	struct arena_guess g = {
		.address = address,
		.layout = layout,
		.source = source,
		.how = how,
	};

	rate_guess(loc->host, &g);
	if (!loc->have_best || better(&g, &loc->best)) {
		loc->best = g;
		loc->have_best = true;
	}
}

// Every malloc_state layout the version leaves possible (all if unknown).
static void consider_layouts(struct locator *loc, uint64_t address,
			     enum source source, const char *how)
{
	int major = loc->st->version_major, minor = loc->st->version_minor;
	bool unknown = !major, old = major == 2 && minor <= 27;
	bool newest = major > 2 || (major == 2 && minor >= 43);

	if (unknown || old)
		consider(loc, address, PTM_ARENA_2_26, source, how);
	if (unknown || !newest)
		consider(loc, address, PTM_ARENA_2_27, source, how);
	if (unknown || newest)
		consider(loc, address, PTM_ARENA_2_43, source, how);
}

static bool find_libc(struct locator *loc)
{
	static const char *const prefixes[] = {"libc.so", "libc-2.", "libc-"};
	const struct coreheap_host *host = loc->host;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		uint32_t idx;

		if (host->find_module(host, prefixes[i], &idx) ||
		    host->module(host, idx, &loc->module))
			continue;
		loc->prefix = prefixes[i];
		loc->st->have_libc = true;
		loc->st->libc_module = idx;
		loc->st->libc_bias = loc->module.bias;
		loc->st->libc_start = loc->module.start;
		loc->st->libc_end = loc->module.end;
		return true;
	}
	return false;
}

static bool parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a = strtol(s, &end, 10), b;

	if (end == s || *end != '.' || a < 2 || a > 99)
		return false;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || b < 0 || b > 999)
		return false;
	*major = a;
	*minor = b;
	return true;
}

static void find_version(struct locator *loc)
{
	const struct coreheap_host *host = loc->host;
	struct ptm_state *st = loc->st;
	struct coreheap_symbol sym;
	const char *base;
	char buf[16];

	// `static const char __libc_version[] = VERSION` (csu/version.c).
	if (!host->symbol(host, loc->prefix, "__libc_version", &sym) &&
	    !sym.is_tls && !host->read(host, sym.address, buf, sizeof(buf))) {
		buf[sizeof(buf) - 1] = '\0';
		if (parse_version(buf, &st->version_major, &st->version_minor))
			return;
	}
	if (st->file && st->file->version_major) {
		st->version_major = st->file->version_major;
		st->version_minor = st->file->version_minor;
		return;
	}
	// Before 2.34 distributions installed libc-X.Y.so.
	base = loc->module.name ? strrchr(loc->module.name, '/') : NULL;
	base = base ? base + 1 : loc->module.name;
	if (base && !strncmp(base, "libc-", 5))
		parse_version(base + 5, &st->version_major, &st->version_minor);
}

static bool mapping_is_libc(const struct locator *loc,
			    const struct coreheap_mapping *m)
{
	if (m->start >= loc->st->libc_start && m->end <= loc->st->libc_end)
		return true;
	return m->file && loc->module.name &&
	       !strcmp(m->file, loc->module.name);
}

static void scan_buffer(struct locator *loc, const uint8_t *buf, size_t len,
			uint64_t base)
{
	for (int which = 0; which < PTM_ARENA_LAYOUTS; which++) {
		struct ptm_layout layout;

		ptm_layout_set_arena(&layout, which);
		for (size_t off = 0; off + layout.ms_size <= len; off += 8) {
			struct ptm_arena arena;

			decode_arena(&layout, buf + off, base + off, &arena);
			if (!arena.next || arena.next % 8 ||
			    count_empty_bins(&layout, &arena) <
				    SCAN_MIN_EMPTY_BINS)
				continue;
			consider(loc, base + off, which, SOURCE_SCAN,
				 "malloc_state signature in libc's memory");
		}
	}
}

// main_arena is a static in libc's .data: look for a malloc_state in
// libc's writable mappings and in the anonymous one that follows them
// (the rest of .bss).
static void scan_libc_memory(struct locator *loc)
{
	const struct coreheap_host *host = loc->host;
	size_t n = host->num_mappings(host);
	bool after_libc = false;

	for (size_t i = 0; i < n; i++) {
		struct coreheap_mapping m;
		uint64_t len;
		uint8_t *buf;
		bool libc;

		if (host->mapping(host, i, &m))
			continue;
		libc = mapping_is_libc(loc, &m);
		if (!libc && !(after_libc && !m.file)) {
			after_libc = false;
			continue;
		}
		after_libc = libc;
		if (!(m.prot & COREHEAP_PROT_WRITE))
			continue;
		len = m.end - m.start;
		if (len > SCAN_MAX_BYTES)
			len = SCAN_MAX_BYTES;
		buf = malloc(len);
		if (!buf)
			return;
		if (!host->read(host, m.start, buf, len))
			scan_buffer(loc, buf, len, m.start);
		free(buf);
	}
}

static void find_main_arena(struct locator *loc)
{
	const struct coreheap_host *host = loc->host;
	struct ptm_state *st = loc->st;
	struct coreheap_symbol sym;

	if (!host->symbol(host, loc->prefix, "main_arena", &sym) && !sym.is_tls)
		consider_layouts(loc, sym.address, SOURCE_SYMBOL,
				 "symbol main_arena");
	if (loc->have_best && loc->best.source == SOURCE_SYMBOL &&
	    (loc->best.top_valid || loc->best.pristine))
		return;
	for (size_t i = 0; st->file && i < st->file->num_arenas; i++) {
		consider(loc, st->file->arenas[i].address + st->libc_bias,
			 st->file->arenas[i].layout, SOURCE_FILE,
			 "main_arena's initialiser in libc's file");
	}
	if (loc->have_best && (loc->best.pristine ||
			       (loc->best.top_valid &&
				loc->best.score >= ARENA_MIN_SCORE)))
		return;
	if (st->have_libc)
		scan_libc_memory(loc);
}

static bool mp_plausible(const struct coreheap_host *host,
			 const struct ptm_layout *layout, uint64_t address)
{
	uint64_t bins, count, max_bytes;

	if (ptm_read_u64(host, address + layout->mp_tcache_bins, &bins) ||
	    ptm_read_u64(host, address + layout->mp_tcache_count, &count) ||
	    ptm_read_u64(host, address + layout->mp_tcache_max_bytes,
			 &max_bytes))
		return false;
	// From 2.42 tcache_max may reach the large bins: 4 MiB chunks.
	return bins <= PTM_TCACHE_SMALL_BINS && count <= 65535 &&
	       max_bytes <= (4u << 20) + PTM_ALIGN;
}

/** Take the malloc_par offsets of @p from into @p layout. */
static void set_malloc_par(struct ptm_layout *layout,
			   const struct ptm_layout *from)
{
	layout->mp_mmap_threshold = from->mp_mmap_threshold;
	layout->mp_hp_pagesize = from->mp_hp_pagesize;
	layout->mp_n_mmaps = from->mp_n_mmaps;
	layout->mp_mmapped_mem = from->mp_mmapped_mem;
	layout->mp_sbrk_base = from->mp_sbrk_base;
	layout->mp_tcache_bins = from->mp_tcache_bins;
	layout->mp_tcache_max_bytes = from->mp_tcache_max_bytes;
	layout->mp_tcache_count = from->mp_tcache_count;
	layout->mp_size = from->mp_size;
	layout->hp_heap_max = from->hp_heap_max;
}

static void find_mp(struct locator *loc)
{
	const struct coreheap_host *host = loc->host;
	struct ptm_state *st = loc->st;
	struct coreheap_symbol sym;

	if (!host->symbol(host, loc->prefix, "mp_", &sym) && !sym.is_tls) {
		st->mp = sym.address;
		st->mp_from_symbol = true;
		// Without a version, the one malloc_par layout that reads
		// sensibly (hp_* fields came in 2.35, thp_mode in 2.43).
		for (int which = 0; !st->version_major &&
				    !mp_plausible(host, &st->layout, st->mp) &&
				    which < PTM_PAR_LAYOUTS;
		     which++) {
			struct ptm_layout other;

			ptm_layout_set_par(&other, which);
			if (mp_plausible(host, &other, st->mp))
				set_malloc_par(&st->layout, &other);
		}
		return;
	}
	for (size_t i = 0; st->file && i < st->file->num_mps; i++) {
		struct ptm_layout layout = st->layout;
		uint64_t address = st->file->mps[i].address + st->libc_bias;

		// The initialiser tells which malloc_par it is.
		ptm_layout_set_par(&layout, st->file->mps[i].layout);
		if (!mp_plausible(host, &layout, address))
			continue;
		set_malloc_par(&st->layout, &layout);
		st->mp = address;
		return;
	}
}

// A damaged top still leaves a heap worth walking (with damage reports); a
// pristine arena means malloc was never called.
static int confidence(const struct arena_guess *g)
{
	if (g->pristine)
		return 10;
	if (g->top_valid)
		return g->source == SOURCE_SYMBOL ? 95 : 90;
	if (g->source != SOURCE_SCAN ||
	    (g->ring_ok && g->score >= ARENA_MIN_SCORE))
		return g->source == SOURCE_SYMBOL ? 70 : 60;
	return 50;
}

int ptm_locate(const struct coreheap_host *host, struct ptm_state *st,
	       bool forced, int *confidence_ret)
{
	struct locator loc = {.host = host, .st = st};
	struct coreheap_symbol sym;
	unsigned int min_score;

	*confidence_ret = 0;
	if (!find_libc(&loc)) {
		// A static executable carries malloc itself: only its symbols
		// can tell where.
		if (host->symbol(host, NULL, "main_arena", &sym) || sym.is_tls ||
		    host->module(host, sym.module, &loc.module))
			return COREHEAP_NOT_FOUND;
		loc.prefix = NULL;
		st->libc_module = sym.module;
		st->libc_bias = loc.module.bias;
		st->libc_start = loc.module.start;
		st->libc_end = loc.module.end;
	}
	if (loc.module.path &&
	    ptm_libc_file_load(loc.module.path, &st->file) == COREHEAP_NOMEM)
		return COREHEAP_NOMEM;
	find_version(&loc);
	// A newer glibc is read with the newest layouts: what it changed may
	// show as damage, or keep its heap from being found at all.
	if (st->version_major > 2 ||
	    (st->version_major == 2 && st->version_minor > PTM_NEWEST_MINOR))
		host->log(host, COREHEAP_LOG_WARNING,
			  "glibc %d.%d is newer than the versions whose structures are known (2.26 through 2.%d): read as 2.%d",
			  st->version_major, st->version_minor,
			  PTM_NEWEST_MINOR, PTM_NEWEST_MINOR);
	ptm_layout_for_version(st->version_major, st->version_minor,
			       &st->layout);
	find_main_arena(&loc);
	if (!loc.have_best)
		return COREHEAP_NOT_FOUND;
	// Symbols and libc's own file name main_arena for sure, damaged or
	// not; a look-alike found by scanning must look the part.
	min_score = forced ? ARENA_MIN_SCORE_FORCED : ARENA_MIN_SCORE;
	if (!loc.best.pristine && loc.best.source == SOURCE_SCAN &&
	    (loc.best.score < min_score || (!loc.best.ring_ok && !forced)))
		return COREHEAP_NOT_FOUND;
	st->symbol_prefix = loc.prefix;
	st->main_arena = loc.best.address;
	st->main_arena_from_symbol = loc.best.source == SOURCE_SYMBOL;
	st->heap_unused = loc.best.pristine;
	ptm_layout_set_arena(&st->layout, loc.best.layout);
	// The arena without fastbins is 2.43's, whose mmapped chunks end a
	// chunk header before their mapping does.
	if (loc.best.layout == PTM_ARENA_2_43) {
		st->layout.mm_tail = 2 * PTM_SIZE_SZ;
		if (!st->version_major)
			ptm_layout_set_par(&st->layout, PTM_PAR_2_43);
	}
	find_mp(&loc);
	// find_mp took a malloc_par layout, whose size the version tells.
	ptm_layout_set_par_size(&st->layout, st->version_major,
				st->version_minor);
	if (loc.best.source != SOURCE_SYMBOL)
		host->log(host, COREHEAP_LOG_INFO,
			  "main_arena at 0x%llx found by %s",
			  (unsigned long long)st->main_arena, loc.best.how);
	if (!st->version_major)
		host->log(host, COREHEAP_LOG_WARNING,
			  "version unknown, struct layouts inferred from the core");
	*confidence_ret = confidence(&loc.best);
	return COREHEAP_OK;
}

static bool arena_known(const struct ptm_walk *walk, uint64_t address)
{
	for (size_t i = 0; i < walk->num_arenas; i++) {
		if (walk->arenas[i].address == address)
			return true;
	}
	return false;
}

static int push_arena(struct ptm_walk *walk, const struct ptm_arena *arena)
{
	struct ptm_arena *arenas;

	arenas = realloc(walk->arenas, (walk->num_arenas + 1) * sizeof(*arenas));
	if (!arenas)
		return COREHEAP_NOMEM;
	walk->arenas = arenas;
	arenas[walk->num_arenas++] = *arena;
	return COREHEAP_OK;
}

int ptm_collect_arenas(struct ptm_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint64_t main_address = walk->st->main_arena;
	struct ptm_arena arena;
	uint64_t address;
	int err;

	if (ptm_arena_read(host, walk->layout, main_address, &arena)) {
		ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE, UINT32_MAX,
			   main_address, "main_arena is not in the core");
		return COREHEAP_CORRUPT;
	}
	arena.is_main = true;
	err = push_arena(walk, &arena);
	if (err)
		return err;
	// Arenas are never freed; every one ever made is on this ring.
	for (address = arena.next; address != main_address;
	     address = arena.next) {
		if (walk->num_arenas >= PTM_MAX_ARENAS) {
			ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, UINT32_MAX,
				   address, "arena ring longer than %d",
				   PTM_MAX_ARENAS);
			break;
		}
		if (!address || address % 8) {
			ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
				   UINT32_MAX, address,
				   "bad arena next pointer 0x%llx",
				   (unsigned long long)address);
			break;
		}
		if (arena_known(walk, address)) {
			ptm_damage(walk, COREHEAP_DAMAGE_CYCLE, UINT32_MAX,
				   address,
				   "arena ring loops without main_arena");
			break;
		}
		if (ptm_arena_read(host, walk->layout, address, &arena)) {
			struct coreheap_mapping m;

			// Mapped but not dumped, or pointing nowhere.
			if (ptm_find_mapping(host, address, &m))
				ptm_damage(walk, COREHEAP_DAMAGE_UNREADABLE,
					   UINT32_MAX, address,
					   "arena 0x%llx not in the core",
					   (unsigned long long)address);
			else
				ptm_damage(walk, COREHEAP_DAMAGE_BAD_POINTER,
					   UINT32_MAX, address,
					   "arena next pointer 0x%llx leads to no mapping",
					   (unsigned long long)address);
			break;
		}
		err = push_arena(walk, &arena);
		if (err)
			return err;
	}
	return COREHEAP_OK;
}

int ptm_add_stray_arena(struct ptm_walk *walk, uint64_t address)
{
	struct ptm_arena arena;

	if (arena_known(walk, address) || walk->num_arenas >= PTM_MAX_ARENAS)
		return COREHEAP_OK;
	if (ptm_arena_read(walk->host, walk->layout, address, &arena) ||
	    ptm_arena_bin_score(walk->host, walk->layout, &arena) <
		    ARENA_MIN_SCORE)
		return COREHEAP_OK;
	ptm_damage(walk, COREHEAP_DAMAGE_INCONSISTENT, UINT32_MAX, address,
		   "arena 0x%llx is not on main_arena's next ring",
		   (unsigned long long)address);
	return push_arena(walk, &arena);
}
