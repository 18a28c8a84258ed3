// SPDX-License-Identifier: MIT
// Finding jemalloc in a core: the module, its version, and its globals (the
// radix tree's root, the size classes, the arenas), by symbol where the
// build has them, else by their contents in the module's writable memory.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

// Known extent addresses used to find and confirm the rtree root.
#define ROOT_PROBES 8
// The version scan reads the module in pieces that overlap by more than
// the string's length.
#define VERSION_CHUNK (256u << 10)
#define VERSION_OVERLAP 128u

static const char *const symbol_prefixes[] = { "je_", "_rjem_je_" };

const char *jem_source_name(enum jem_source source)
{
	switch (source) {
	case JEM_SOURCE_SYMBOL:
		return "symbol";
	case JEM_SOURCE_SCAN:
		return "found by its contents";
	case JEM_SOURCE_LAYOUT:
		return "layout knowledge";
	case JEM_SOURCE_COMPUTED:
		return "computed";
	default:
		return "not found";
	}
}

static bool lookup(const struct coreheap_host *host, struct jem_state *st,
		   const char *name, struct coreheap_symbol *ret)
{
	char full[96];

	snprintf(full, sizeof(full), "%s%s", st->symbol_prefix, name);
	return !host->symbol(host, st->module_prefix, full, ret);
}

// The global that holds the radix tree names the build's namespace: 5.3's
// je_arena_emap_global, 5.2's je_extents_rtree.
static const char *const rtree_symbols[] = { "arena_emap_global",
					     "extents_rtree" };

static void find_symbols(const struct coreheap_host *host, struct jem_state *st)
{
	struct coreheap_symbol sym;

	for (size_t i = 0; i < sizeof(symbol_prefixes) / sizeof(*symbol_prefixes) &&
			   !st->have_symbols;
	     i++) {
		st->symbol_prefix = symbol_prefixes[i];
		for (size_t k = 0;
		     k < sizeof(rtree_symbols) / sizeof(*rtree_symbols); k++) {
			if (!lookup(host, st, rtree_symbols[k], &sym) ||
			    sym.is_tls)
				continue;
			st->have_symbols = true;
			st->emap_global = sym.address;
			st->emap_name = rtree_symbols[k];
			st->emap_size = sym.size;
			break;
		}
		if (st->have_symbols && !st->have_module) {
			struct coreheap_module module;

			if (!host->module(host, sym.module, &module)) {
				st->have_module = true;
				st->module = sym.module;
				st->module_start = module.start;
				st->module_end = module.end;
			}
		}
	}
	if (!st->have_symbols) {
		st->symbol_prefix = "";
		return;
	}
	if (lookup(host, st, "arenas", &sym) && !sym.is_tls)
		st->arenas_symbol = sym.address;
	if (lookup(host, st, "sz_index2size_tab", &sym) && !sym.is_tls)
		st->sz_table_symbol = sym.address;
	if (lookup(host, st, "opt_prof", &sym) && !sym.is_tls)
		st->opt_prof_symbol = sym.address;
	if (lookup(host, st, "tsd_tls", &sym) && sym.is_tls) {
		st->tsd_tls_offset = sym.address;
		st->tsd_source = JEM_SOURCE_SYMBOL;
	}
}

/* "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c": JEMALLOC_VERSION. */
bool jem_parse_version(const char *s, size_t len, struct jem_state *st)
{
	int major, minor, patch, n = 0;
	size_t hex = 0;
	const char *g;

	if (sscanf(s, "%d.%d.%d-%*d-g%n", &major, &minor, &patch, &n) != 3 ||
	    n == 0 || (size_t)n >= len)
		return false;
	g = s + n;
	while ((size_t)(g - s) + hex < len && isxdigit((unsigned char)g[hex]))
		hex++;
	if (hex != 40 || major < 3 || major > 9)
		return false;
	snprintf(st->version, sizeof(st->version), "%.*s", n + 40, s);
	st->version_major = major;
	st->version_minor = minor;
	st->version_patch = patch;
	return true;
}

static bool scan_version(const uint8_t *buf, size_t len, struct jem_state *st)
{
	for (size_t i = 0; i + 50 <= len; i++) {
		const uint8_t *p;

		if (!isdigit(buf[i]) || (i && (isdigit(buf[i - 1]) || buf[i - 1] == '.')))
			continue;
		p = memchr(buf + i, '\0', len - i);
		if (!p)
			return false;
		if (jem_parse_version((const char *)buf + i, (size_t)(p - buf) - i,
				      st))
			return true;
		i = (size_t)(p - buf);
	}
	return false;
}

// A module's range ends where its last segment's memory does, mid-page:
// its .bss mapping runs on to the page's end.
static bool in_module(const struct jem_state *st,
		      const struct coreheap_mapping *m)
{
	return m->start >= st->module_start && m->start < st->module_end;
}

// The version string sits in the module's .rodata, which cores usually
// lack (gcore leaves out whole read-only segments) but the host reads from
// the module's file. Read the module's range piece by piece: there is no
// mapping to say where .rodata is.
static void find_version(const struct coreheap_host *host, struct jem_state *st)
{
	uint64_t len = st->module_end - st->module_start;
	uint8_t *buf;

	if (len > JEM_SCAN_MAX_BYTES)
		len = JEM_SCAN_MAX_BYTES;
	buf = malloc(VERSION_CHUNK + VERSION_OVERLAP + 1);
	if (!buf)
		return;
	for (uint64_t off = 0; off < len && !st->version[0]; off += VERSION_CHUNK) {
		uint64_t n = len - off < VERSION_CHUNK + VERSION_OVERLAP ?
				     len - off :
				     VERSION_CHUNK + VERSION_OVERLAP;
		uint64_t got = 0;

		// Page by page: the text before .rodata may be missing.
		for (uint64_t p = 0; p < n; p += JEM_PAGE) {
			uint64_t piece = n - p < JEM_PAGE ? n - p : JEM_PAGE;

			if (host->read(host, st->module_start + off + p,
				       buf + p, piece))
				memset(buf + p, 0, piece);
			else
				got += piece;
		}
		if (!got)
			continue;
		buf[n] = '\0';
		if (scan_version(buf, n + 1, st))
			st->version_source = JEM_SOURCE_SCAN;
	}
	free(buf);
}

int jem_locate(const struct coreheap_host *host, struct jem_state *st,
	       bool forced, int *confidence_ret)
{
	static const char *const modules[] = { "libjemalloc" };
	struct coreheap_module module;

	*confidence_ret = 0;
	for (size_t i = 0; i < sizeof(modules) / sizeof(*modules); i++) {
		uint32_t idx;

		if (host->find_module(host, modules[i], &idx) ||
		    host->module(host, idx, &module))
			continue;
		st->have_module = true;
		st->module = idx;
		st->module_start = module.start;
		st->module_end = module.end;
		st->module_prefix = modules[i];
		break;
	}
	find_symbols(host, st);
	if (!st->have_module)
		return COREHEAP_OK;
	host->log(host, COREHEAP_LOG_DEBUG, "module 0x%llx..0x%llx",
		  (unsigned long long)st->module_start,
		  (unsigned long long)st->module_end);
	find_version(host, st);
	if (!st->version[0]) {
		st->layout = jem_layout_default();
		*confidence_ret = forced ? 60 : 50;
		return COREHEAP_OK;
	}
	st->layout = jem_layout_find(st->version_major, st->version_minor,
				     st->version_patch);
	*confidence_ret = st->layout ? 95 : 50;
	return COREHEAP_OK;
}

int jem_collect_ranges(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_state *st = walk->st;
	size_t n = host->num_mappings(host);
	uint64_t scan_left = JEM_SCAN_MAX_BYTES;

	for (size_t i = 0; i < n; i++) {
		struct coreheap_mapping m;
		struct jem_range *grown;
		uint64_t scan;

		if (host->mapping(host, i, &m) || !in_module(st, &m) ||
		    !(m.prot & COREHEAP_PROT_WRITE))
			continue;
		jem_log(walk, COREHEAP_LOG_DEBUG,
			  "module data: 0x%llx..0x%llx (%llu bytes available)",
			  (unsigned long long)m.start, (unsigned long long)m.end,
			  (unsigned long long)m.available);
		grown = realloc(walk->ranges,
				(walk->num_ranges + 1) * sizeof(*grown));
		if (!grown)
			return COREHEAP_NOMEM;
		walk->ranges = grown;
		// What the core holds of it, in whole words, within the bytes
		// left to search.
		scan = m.available < m.end - m.start ? m.available :
						       m.end - m.start;
		scan = (scan < scan_left ? scan : scan_left) & ~(uint64_t)7;
		scan_left -= scan;
		walk->ranges[walk->num_ranges++] = (struct jem_range){
			.start = m.start,
			.end = m.end,
			.scan_end = m.start + scan,
		};
	}
	return COREHEAP_OK;
}

bool jem_arena_ind(const struct jem_walk *walk, uint64_t arena,
		   uint32_t *ret)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	uint64_t base;

	if (l->arena_ind)
		return !host->read(host, arena + l->arena_ind, ret, sizeof(*ret));
	// 5.2's arena_ind_get(): base_ind_get(arena->base).
	return !jem_read_u64(host, arena + l->arena_base, &base) && base &&
	       base % 8 == 0 &&
	       !host->read(host, base + l->base_ind, ret, sizeof(*ret));
}

bool jem_is_internal(const struct jem_walk *walk, uint64_t ptr, uint64_t size)
{
	size_t i = jem_ptrset_lower_bound(&walk->internal, ptr);

	return i < walk->internal.count &&
	       walk->internal.items[i].address - ptr < size;
}

bool jem_in_module_data(const struct jem_walk *walk, uint64_t addr)
{
	for (size_t i = 0; i < walk->num_ranges; i++) {
		if (addr >= walk->ranges[i].start && addr < walk->ranges[i].end)
			return true;
	}
	return false;
}

/*
 * A copy (or view) of one writable range up to its scan_end, its unreadable
 * pages zeroed: for searching only, never for decoding. *owned is the
 * buffer to free; *count_ret the words.
 */
static const uint64_t *range_words(struct jem_walk *walk,
				   const struct jem_range *range,
				   uint64_t **owned, size_t *count_ret)
{
	const struct coreheap_host *host = walk->host;
	uint64_t len = range->scan_end - range->start;
	const void *view;
	uint8_t *buf;

	*owned = NULL;
	*count_ret = len / 8;
	if (!len)
		return NULL;
	view = host->map(host, range->start, len);
	if (view && (uintptr_t)view % 8 == 0)
		return view;
	buf = calloc(1, len);
	if (!buf)
		return NULL;
	for (uint64_t off = 0; off < len; off += JEM_PAGE) {
		uint64_t chunk = len - off < JEM_PAGE ? len - off : JEM_PAGE;

		if (host->read(host, range->start + off, buf + off, chunk))
			memset(buf + off, 0, chunk);
	}
	*owned = (uint64_t *)buf;
	return *owned;
}

// sc.c size_classes() for LG_QUANTUM 4, SC_LG_TINY_MIN 3, SC_LG_NGROUP 2:
// 8, 16, then four classes per doubling from 32 on.
void jem_compute_sizes(uint64_t *sizes)
{
	size_t n = 0;

	sizes[n++] = 8;
	sizes[n++] = 16;
	sizes[n++] = 32;
	sizes[n++] = 48;
	sizes[n++] = 64;
	for (unsigned int lg = 6; n < JEM_NSIZES; lg++) {
		for (uint64_t d = 1; d <= 4 && n < JEM_NSIZES; d++)
			sizes[n++] = ((uint64_t)1 << lg) + (d << (lg - 2));
	}
}

void jem_find_size_classes(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint64_t computed[JEM_NSIZES];
	uint64_t table[JEM_NSIZES];
	uint64_t where = 0;

	jem_compute_sizes(computed);
	memcpy(walk->sizes, computed, sizeof(computed));
	walk->sizes_source = JEM_SOURCE_COMPUTED;
	if (walk->st->sz_table_symbol) {
		where = walk->st->sz_table_symbol;
	} else {
		// sz_boot() fills the table in .bss: look for its first classes.
		for (size_t r = 0; r < walk->num_ranges && !where; r++) {
			const struct jem_range *range = &walk->ranges[r];
			uint64_t *owned;
			size_t count;
			const uint64_t *words = range_words(walk, range, &owned,
							    &count);

			for (size_t i = 0; words && i + JEM_NSIZES <= count; i++) {
				if (words[i] == 8 &&
				    !memcmp(words + i, computed, 16 * 8)) {
					where = range->start + 8 * i;
					break;
				}
			}
			free(owned);
		}
	}
	if (!where || host->read(host, where, table, sizeof(table))) {
		jem_log(walk, COREHEAP_LOG_INFO,
			  "size classes: sz_index2size_tab not found; computed as jemalloc 5 does for 4 KiB pages");
		return;
	}
	for (size_t i = 1; i < JEM_NSIZES; i++) {
		if (table[i] <= table[i - 1]) {
			jem_log(walk, COREHEAP_LOG_WARNING,
				  "the size-class table at 0x%llx is not increasing at %zu; using computed classes",
				  (unsigned long long)where, i);
			return;
		}
	}
	if (memcmp(table, computed, sizeof(table)))
		jem_log(walk, COREHEAP_LOG_WARNING,
			  "the size classes at 0x%llx differ from jemalloc 5's defaults; using the core's",
			  (unsigned long long)where);
	memcpy(walk->sizes, table, sizeof(table));
	walk->sizes_source = walk->st->sz_table_symbol ? JEM_SOURCE_SYMBOL :
							 JEM_SOURCE_SCAN;
	jem_log(walk, COREHEAP_LOG_INFO,
		  "size classes: sz_index2size_tab at 0x%llx (%s)",
		  (unsigned long long)where, jem_source_name(walk->sizes_source));
}

/*
 * Does the leaf at @p leaf map @p addr to an extent that holds it? Reads
 * the leaf slot, then the edata it names.
 */
static bool leaf_covers(const struct jem_walk *walk, uint64_t leaf,
			uint64_t addr, bool active)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	uint64_t slot = (addr >> JEM_RTREE_LEAF_SHIFT) & (JEM_RTREE_SLOTS - 1);
	uint64_t bits, edata, e[3], base, size;

	if (!leaf || leaf % 8 || jem_read_u64(host, leaf + 8 * slot, &bits))
		return false;
	edata = jem_leaf_edata(l, bits);
	if (!edata || host->read(host, edata, e, sizeof(e)))
		return false;
	// 5.2's leaves keep no state: the extent's own says.
	if (active && (l->leaf_has_state ? jem_leaf_state(bits) :
					   jem_edata_state(l, e[0])) !=
			      JEM_STATE_ACTIVE)
		return false;
	base = e[1] & ~JEM_PAGE_MASK;
	size = e[2] & ~JEM_PAGE_MASK;
	return addr >= base && addr - base < size;
}

static bool root_covers(const struct jem_walk *walk, uint64_t root,
			uint64_t addr, bool active)
{
	const struct coreheap_host *host = walk->host;
	uint64_t slot = (addr >> JEM_RTREE_ROOT_SHIFT) & (JEM_RTREE_SLOTS - 1);
	uint64_t leaf;

	return !jem_read_u64(host, root + 8 * slot, &leaf) &&
	       leaf_covers(walk, leaf, addr, active);
}

// Addresses that must be inside active extents: the tcaches' stack
// allocations and what their stacks hold.
static size_t known_addresses(const struct jem_walk *walk, uint64_t *ret,
			      size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < walk->num_tcaches && n < max; i++) {
		if (walk->tcaches[i].dyn_alloc)
			ret[n++] = walk->tcaches[i].dyn_alloc;
	}
	for (size_t i = 0; i < walk->cached.count && n < max; i++)
		ret[n++] = walk->cached.items[i].address;
	return n;
}

static bool root_plausible(const struct jem_walk *walk, uint64_t root)
{
	return jem_in_module_data(walk, root) &&
	       jem_in_module_data(walk, root + 8 * JEM_RTREE_SLOTS - 8);
}

/*
 * The extents a leaf maps, at most @p max of them: (page, slot) pairs of
 * the slots that hold the page their extent starts on. Returns how many,
 * 0 if a slot met on the way names no extent that holds its page, or one
 * of an arena that does not exist: what is not a leaf fails soon.
 */
static size_t leaf_heads(const struct jem_walk *walk, uint64_t leaf,
			 uint64_t *pages, size_t max)
{
	const struct coreheap_host *host = walk->host;
	const struct jem_layout *l = walk->layout;
	size_t n = 0;

	for (uint64_t first = 0; first < JEM_RTREE_SLOTS && n < max;
	     first += 512) {
		uint64_t slots[512];

		if (host->read(host, leaf + 8 * first, slots, sizeof(slots)))
			return n;
		for (uint64_t j = 0; j < 512 && n < max; j++) {
			uint64_t edata = jem_leaf_edata(l, slots[j]), e[3];
			uint64_t base, pages_in, offset;
			unsigned int arena;

			if (!edata)
				continue;
			if (host->read(host, edata, e, sizeof(e)))
				return 0;
			base = e[1] & ~JEM_PAGE_MASK;
			pages_in = (e[2] & ~JEM_PAGE_MASK) / JEM_PAGE;
			offset = (first + j - (base >> JEM_RTREE_LEAF_SHIFT)) &
				 (JEM_RTREE_SLOTS - 1);
			arena = jem_edata_arena(e[0]);
			if (!pages_in || offset >= pages_in ||
			    (walk->arenas && !walk->arena_addr[arena]))
				return 0;
			if (!offset)
				pages[n++] = base;
		}
	}
	return n;
}

/*
 * No address known to be in an extent (no symbols, no tcache): take each
 * pointer in the module's memory for a leaf, and keep the one whose slots
 * name extents that start on the very pages the slots stand for, and
 * whose root slot is where the pages' high bits say.
 */
static int root_from_leaves(struct jem_walk *walk)
{

	for (size_t r = 0; r < walk->num_ranges; r++) {
		const struct jem_range *range = &walk->ranges[r];
		uint64_t *owned;
		size_t count;
		const uint64_t *words = range_words(walk, range, &owned, &count);

		for (size_t i = 0; words && i < count; i++) {
			uint64_t pages[ROOT_PROBES], root;
			size_t n, k;

			if (!words[i] || words[i] % 64 ||
			    jem_in_module_data(walk, words[i]))
				continue;
			n = leaf_heads(walk, words[i], pages, ROOT_PROBES);
			if (!n)
				continue;
			root = range->start + 8 * i -
			       8 * ((pages[0] >> JEM_RTREE_ROOT_SHIFT) &
				    (JEM_RTREE_SLOTS - 1));
			if (!root_plausible(walk, root))
				continue;
			for (k = 0; k < n && root_covers(walk, root, pages[k], false);
			     k++)
				;
			if (k < n)
				continue;
			free(owned);
			walk->rtree_root = root;
			walk->root_source = JEM_SOURCE_SCAN;
			jem_log(walk, COREHEAP_LOG_INFO,
				  "radix tree: root at 0x%llx, found by a leaf whose %zu extent%s it maps back (no tcache to start from)",
				  (unsigned long long)root, n, n == 1 ? "" : "s");
			return COREHEAP_OK;
		}
		free(owned);
	}
	jem_log(walk, COREHEAP_LOG_WARNING,
		  "jemalloc's radix tree was not found in its module's memory");
	return COREHEAP_NOT_FOUND;
}

// The root for known[anchor] if the word at @p at (@p leaf, in the module's
// data) is its root's slot for it: leaf maps known[anchor] to an active
// extent, and the root maps most of the other known addresses too (a
// tcache may hold garbage, which must not hide the tree); else 0.
static uint64_t root_through(struct jem_walk *walk, uint64_t at, uint64_t leaf,
			     const uint64_t *known, size_t num_known,
			     size_t anchor, size_t *confirmed_ret)
{
	uint64_t root = at - 8 * ((known[anchor] >> JEM_RTREE_ROOT_SHIFT) &
				  (JEM_RTREE_SLOTS - 1));
	size_t confirmed = 0;

	if (!leaf_covers(walk, leaf, known[anchor], true) ||
	    !root_plausible(walk, root))
		return 0;
	for (size_t k = 0; k < num_known; k++)
		confirmed += k != anchor && root_covers(walk, root, known[k], true);
	if (2 * confirmed < num_known - 1)
		return 0;
	*confirmed_ret = confirmed;
	return root;
}

// The root found by the first known address that leads to one, at the
// first place in the module's data that does; *anchor_ret is that
// address's index. One pass over the data serves all the addresses.
static uint64_t root_for_known(struct jem_walk *walk, const uint64_t *known,
			       size_t num_known, size_t *anchor_ret,
			       size_t *confirmed_ret)
{
	uint64_t found = 0;
	size_t found_anchor = num_known;

	for (size_t r = 0; r < walk->num_ranges && found_anchor; r++) {
		const struct jem_range *range = &walk->ranges[r];
		uint64_t *owned;
		size_t count;
		const uint64_t *words = range_words(walk, range, &owned, &count);

		for (size_t i = 0; words && i < count && found_anchor; i++) {
			// Leaves come from jemalloc's base allocator,
			// cache-line aligned, never from the module itself.
			if (!words[i] || words[i] % 64 ||
			    jem_in_module_data(walk, words[i]))
				continue;
			for (size_t anchor = 0; anchor < found_anchor; anchor++) {
				uint64_t root = root_through(
					walk, range->start + 8 * i, words[i],
					known, num_known, anchor, confirmed_ret);

				if (root) {
					found = root;
					found_anchor = anchor;
				}
			}
		}
		free(owned);
	}
	*anchor_ret = found_anchor;
	return found;
}

/*
 * The radix tree's shape from the size of the global that holds it, whose
 * root is the rest of it (layout.h); the 48-bit one when its symbol gives
 * no size. NULL: neither shape.
 */
static const struct jem_rtree_shape *shape_of_global(const struct jem_walk *walk)
{
	static const struct jem_rtree_shape *const shapes[] = {
		&jem_rtree_48, &jem_rtree_57,
	};
	uint64_t size = walk->st->emap_size;

	if (!size)
		return &jem_rtree_48;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		if (size == walk->layout->rtree_root +
				    8 * jem_rtree_slots(shapes[i]))
			return shapes[i];
	}
	return NULL;
}

int jem_find_rtree_root(struct jem_walk *walk)
{
	uint64_t known[ROOT_PROBES], root;
	size_t num_known, anchor, confirmed = 0;

	if (walk->st->emap_global) {
		walk->rtree_shape = shape_of_global(walk);
		if (!walk->rtree_shape) {
			jem_log(walk, COREHEAP_LOG_WARNING,
				"%s%s is %llu bytes: a radix tree for neither 48- nor 57-bit addresses (jemalloc's LG_VADDR), which coreheap cannot read",
				walk->st->symbol_prefix, walk->st->emap_name,
				(unsigned long long)walk->st->emap_size);
			return COREHEAP_FAILED;
		}
		// 5.3: emap_t { rtree_t rtree; }; 5.2: the rtree_t itself.
		walk->rtree_root = walk->st->emap_global +
				   walk->layout->rtree_root;
		walk->root_source = JEM_SOURCE_SYMBOL;
		if (walk->rtree_shape != &jem_rtree_48)
			jem_log(walk, COREHEAP_LOG_INFO,
				"radix tree: for %u-bit addresses (%u levels)",
				walk->rtree_shape->lg_vaddr,
				walk->rtree_shape->height);
		return COREHEAP_OK;
	}
	// Found by its contents: the scan knows the 48-bit shape only.
	walk->rtree_shape = &jem_rtree_48;
	num_known = known_addresses(walk, known, ROOT_PROBES);
	root = root_for_known(walk, known, num_known, &anchor, &confirmed);
	if (root) {
		walk->rtree_root = root;
		walk->root_source = JEM_SOURCE_SCAN;
		jem_log(walk, COREHEAP_LOG_INFO,
			  "radix tree: root at 0x%llx, found by the leaf that maps 0x%llx (confirmed by %zu of %zu more addresses)",
			  (unsigned long long)root,
			  (unsigned long long)known[anchor], confirmed,
			  num_known - 1);
		return COREHEAP_OK;
	}
	// Nothing known to start from (no symbols, no tcache), or nothing
	// known led anywhere.
	return root_from_leaves(walk);
}
// An arenas array: entry k is 0 or an arena whose ind is k; entry 0 is set.
static size_t arenas_score(const struct jem_walk *walk,
			   const uint64_t *entries)
{
	size_t score = 0;

	if (!entries[0])
		return 0;
	for (size_t k = 0; k < JEM_ARENAS_LEN; k++) {
		uint32_t ind;

		if (!entries[k])
			continue;
		if (entries[k] % 64 || !jem_arena_ind(walk, entries[k], &ind) ||
		    ind != k)
			return 0;
		score++;
	}
	return score;
}

static void use_arenas(struct jem_walk *walk, uint64_t where,
		       const uint64_t *entries, enum jem_source source)
{
	walk->arenas = where;
	walk->arenas_source = source;
	memcpy(walk->arena_addr, entries, sizeof(walk->arena_addr));
}

void jem_find_arenas(struct jem_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	uint64_t *entries = calloc(JEM_MAX_ARENAS, sizeof(*entries));
	uint64_t best = 0;
	size_t best_score = 0;

	if (!entries)
		return;
	if (walk->st->arenas_symbol) {
		if (!host->read(host, walk->st->arenas_symbol, entries,
				JEM_ARENAS_LEN * 8) &&
		    arenas_score(walk, entries))
			use_arenas(walk, walk->st->arenas_symbol, entries,
				   JEM_SOURCE_SYMBOL);
		free(entries);
		return;
	}
	// je_arenas[0] is arena 0, whose ind is 0; the other entries are 0
	// or arenas of their index. The static a0 also points at arena 0,
	// but what follows it does not pass as arenas (or, with one arena
	// only, tells the same).
	for (size_t r = 0; r < walk->num_ranges; r++) {
		const struct jem_range *range = &walk->ranges[r];
		uint64_t *owned;
		size_t count;
		const uint64_t *words = range_words(walk, range, &owned, &count);

		for (size_t i = 0; words && i < count; i++) {
			uint64_t where = range->start + 8 * i;
			uint32_t ind;
			size_t score;

			if (!words[i] || words[i] % 64 ||
			    jem_in_module_data(walk, words[i]) ||
			    !jem_arena_ind(walk, words[i], &ind) || ind != 0 ||
			    host->read(host, where, entries, JEM_ARENAS_LEN * 8))
				continue;
			score = arenas_score(walk, entries);
			if (score > best_score) {
				best_score = score;
				best = where;
			}
		}
		free(owned);
	}
	if (best && !host->read(host, best, entries, JEM_ARENAS_LEN * 8)) {
		use_arenas(walk, best, entries, JEM_SOURCE_SCAN);
		jem_log(walk, COREHEAP_LOG_INFO,
			  "arenas: array at 0x%llx, %zu arena%s, found by its contents",
			  (unsigned long long)best, best_score,
			  best_score == 1 ? "" : "s");
	}
	free(entries);
}
