// SPDX-License-Identifier: MIT
// The heap profiler's own allocations (MALLOC_CONF=prof:true): per
// thread a prof_tdata_t and its bt2tctx table, per sampled backtrace a
// prof_gctx_t, per thread and backtrace a prof_tctx_t, the global
// bt2gctx table, thread names. jemalloc makes them in arena 0's slabs
// like any region (iallocztm with is_internal), but never hands them to
// the program: they join walk->internal, reported as metadata.
//
// Found without symbols: the global bt2gctx table is the ckh_t in
// libjemalloc's data whose every cell maps &gctx->bt to gctx; each gctx
// leads to its tctxs (an rb tree), each tctx to its thread's tdata; each
// live thread's tsd names its tdata too (one that sampled nothing yet).

#include <stdlib.h>
#include <string.h>

#include "jemalloc.h"

// Bounds on what a damaged core can make the pass read: 2^18 buckets of a
// table (16 MiB of cells; 2^20 sampled backtraces), 16 tables in
// libjemalloc's data read whole in search of bt2gctx, 2^22 profiler
// objects in all.
#define MAX_LG_BUCKETS 18
#define MAX_CANDIDATES 16
#define MAX_OBJECTS (1u << 22)
#define CELL_CHUNK 4096

struct prof_pass {
	struct jem_walk *walk;
	struct jem_ptrset gctxs, tdatas;
	size_t objects;
	int err;
};

static void internal(struct prof_pass *pass, uint64_t address)
{
	if (!address || pass->err)
		return;
	if (++pass->objects > MAX_OBJECTS ||
	    jem_ptrset_add(&pass->walk->internal, address, 0))
		pass->err = pass->objects > MAX_OBJECTS ? COREHEAP_CORRUPT :
							  COREHEAP_NOMEM;
}

static void note(struct prof_pass *pass, struct jem_ptrset *set,
		 uint64_t address)
{
	if (!address || address % 8 || pass->err)
		return;
	if (jem_ptrset_add(set, address, 0))
		pass->err = COREHEAP_NOMEM;
}

struct ckh {
	uint64_t count, tab, cells;
};

/* A ckh_t at @p addr, read and checked for shape; false if it is none. */
static bool read_ckh(const struct jem_walk *walk, const uint8_t *raw,
		     struct ckh *ret)
{
	uint32_t lg_min, lg_cur;
	uint64_t hash, keycomp;

	memcpy(&ret->count, raw + JEM_CKH_COUNT, 8);
	memcpy(&lg_min, raw + JEM_CKH_LG_MINBUCKETS, 4);
	memcpy(&lg_cur, raw + JEM_CKH_LG_CURBUCKETS, 4);
	memcpy(&hash, raw + JEM_CKH_HASH, 8);
	memcpy(&keycomp, raw + JEM_CKH_KEYCOMP, 8);
	memcpy(&ret->tab, raw + JEM_CKH_TAB, 8);
	if (!lg_min || lg_min > lg_cur || lg_cur > MAX_LG_BUCKETS ||
	    !ret->tab || ret->tab % 64)
		return false;
	// The hash and comparison functions are jemalloc's code.
	if (hash < walk->st->module_start || hash >= walk->st->module_end ||
	    keycomp < walk->st->module_start || keycomp >= walk->st->module_end)
		return false;
	ret->cells = (uint64_t)1 << (lg_cur + JEM_CKH_LG_BUCKET_CELLS);
	return ret->count <= ret->cells;
}

/*
 * Call @p cell for each used cell of the table; false if a part of it is
 * not in the core or @p cell said no.
 */
static bool each_cell(struct prof_pass *pass, const struct ckh *h,
		      bool (*cell)(struct prof_pass *, uint64_t key,
				   uint64_t data))
{
	const struct coreheap_host *host = pass->walk->host;
	uint64_t buf[2 * CELL_CHUNK];

	for (uint64_t first = 0; first < h->cells; first += CELL_CHUNK) {
		uint64_t n = h->cells - first < CELL_CHUNK ? h->cells - first :
							     CELL_CHUNK;

		if (host->read(host, h->tab + 16 * first, buf, 16 * n))
			return false;
		for (uint64_t i = 0; i < n; i++)
			if (buf[2 * i] && !cell(pass, buf[2 * i], buf[2 * i + 1]))
				return false;
	}
	return true;
}

// bt2gctx's cells: &gctx->bt -> gctx.
static bool gctx_cell(struct prof_pass *pass, uint64_t key, uint64_t data)
{
	return data && data % 8 == 0 &&
	       key == data + pass->walk->layout->gctx_bt_vec;
}

static bool note_gctx_cell(struct prof_pass *pass, uint64_t key,
			   uint64_t data)
{
	(void)key;
	note(pass, &pass->gctxs, data);
	return !pass->err;
}

// A tdata's bt2tctx cells: &gctx->bt -> tctx.
static bool tctx_cell(struct prof_pass *pass, uint64_t key, uint64_t data)
{
	internal(pass, data);
	note(pass, &pass->gctxs, key - pass->walk->layout->gctx_bt_vec);
	return !pass->err;
}

/*
 * The global bt2gctx table, in libjemalloc's data, and its gctxs; and the
 * tables of the allocation log (log_bt_node_set, log_thr_node_set), which
 * 5.2's prof_boot2() makes when profiling is on (5.3: once logging
 * starts): every table in libjemalloc's data is the profiler's own.
 */
static void find_bt2gctx(struct prof_pass *pass)
{
	const struct jem_walk *walk = pass->walk;
	const struct coreheap_host *host = walk->host;
	unsigned int candidates = 0;
	bool found = false;

	for (size_t r = 0; r < walk->num_ranges && !pass->err; r++) {
		const struct jem_range *range = &walk->ranges[r];

		for (uint64_t a = range->start;
		     a + JEM_CKH_SIZE <= range->scan_end; a += 8) {
			uint8_t raw[JEM_CKH_SIZE];
			struct ckh h;

			if (host->read(host, a, raw, sizeof(raw)) ||
			    !read_ckh(walk, raw, &h))
				continue;
			if (++candidates > MAX_CANDIDATES)
				return;
			internal(pass, h.tab);
			if (found || !h.count || !each_cell(pass, &h, gctx_cell))
				continue;
			// Shape and contents agree: this is bt2gctx.
			each_cell(pass, &h, note_gctx_cell);
			found = true;
		}
	}
}

/* The tctxs of a gctx: its rb tree, depth first, bounded. */
static void gctx_tctxs(struct prof_pass *pass, uint64_t gctx)
{
	const struct coreheap_host *host = pass->walk->host;
	uint64_t stack[128], root;
	size_t depth = 0;

	if (jem_read_u64(host, gctx + pass->walk->layout->gctx_tctxs, &root) || !root)
		return;
	stack[depth++] = root;
	while (depth && !pass->err) {
		uint64_t tctx = stack[--depth], link[2], tdata;

		if (tctx % 8 ||
		    host->read(host, tctx + pass->walk->layout->tctx_link, link, sizeof(link)))
			continue;
		internal(pass, tctx);
		if (!jem_read_u64(host, tctx + pass->walk->layout->tctx_tdata, &tdata))
			note(pass, &pass->tdatas, tdata);
		link[1] &= ~(uint64_t)1;        // the red bit
		// A balanced tree of 2^22 nodes is 44 deep: deeper is damage.
		for (int i = 0; i < 2; i++)
			if (link[i] && depth < sizeof(stack) / sizeof(*stack))
				stack[depth++] = link[i];
	}
}

static void tdata_objects(struct prof_pass *pass, uint64_t tdata)
{
	const struct jem_walk *walk = pass->walk;
	const struct jem_layout *l = walk->layout;
	uint8_t raw[256];
	uint64_t name;
	struct ckh h;

	if (l->tdata_bt2tctx + JEM_CKH_SIZE > sizeof(raw) ||
	    walk->host->read(walk->host, tdata, raw,
			     l->tdata_bt2tctx + JEM_CKH_SIZE))
		return;
	internal(pass, tdata);
	memcpy(&name, raw + l->tdata_thread_name, 8);
	internal(pass, name);
	if (read_ckh(walk, raw + l->tdata_bt2tctx, &h)) {
		internal(pass, h.tab);
		each_cell(pass, &h, tctx_cell);
	}
}

/* Each live thread's tdata, from its tsd. */
static void thread_tdatas(struct prof_pass *pass)
{
	const struct coreheap_host *host = pass->walk->host;
	const struct jem_state *st = pass->walk->st;
	size_t n = host->num_threads(host);

	for (size_t i = 0; i < n && !pass->err; i++) {
		uint64_t tsd, tdata;

		if (host->tls_address(host, i, st->module, st->tsd_tls_offset,
				      &tsd) ||
		    jem_read_u64(host, tsd + pass->walk->layout->tsd_prof_tdata, &tdata) ||
		    tdata <= JEM_PROF_TDATA_STATE_MAX)
			continue;
		note(pass, &pass->tdatas, tdata);
	}
}

/* The gctxs noted from @p first on: each, and the tctxs of its tree. */
static void gctx_objects(struct prof_pass *pass, size_t first)
{
	for (size_t i = first; i < pass->gctxs.count && !pass->err; i++) {
		internal(pass, pass->gctxs.items[i].address);
		gctx_tctxs(pass, pass->gctxs.items[i].address);
	}
}

int jem_collect_prof(struct jem_walk *walk)
{
	struct prof_pass pass = { .walk = walk };
	size_t before = walk->internal.count, known_tdatas, known_gctxs;

	find_bt2gctx(&pass);
	thread_tdatas(&pass);
	jem_ptrset_sort(&pass.tdatas, NULL, NULL);
	for (size_t i = 0; i < pass.tdatas.count && !pass.err; i++)
		tdata_objects(&pass, pass.tdatas.items[i].address);
	jem_ptrset_sort(&pass.gctxs, NULL, NULL);
	known_tdatas = pass.tdatas.count;
	known_gctxs = pass.gctxs.count;
	// Their tctxs name the tdatas of threads gone, each once.
	gctx_objects(&pass, 0);
	for (size_t i = known_tdatas; i < pass.tdatas.count && !pass.err; i++) {
		uint64_t tdata = pass.tdatas.items[i].address;
		bool seen = false;

		for (size_t k = 0; k < known_tdatas && !seen; k++)
			seen = pass.tdatas.items[k].address == tdata;
		if (!seen) {
			pass.tdatas.items[known_tdatas++] = pass.tdatas.items[i];
			tdata_objects(&pass, tdata);
		}
	}
	gctx_objects(&pass, known_gctxs);
	jem_ptrset_deinit(&pass.gctxs);
	jem_ptrset_deinit(&pass.tdatas);
	if (pass.err == COREHEAP_NOMEM)
		return pass.err;
	if (pass.err)
		walk->host->log(walk->host, COREHEAP_LOG_WARNING,
				"the heap profiler's tables lead to more than %u objects; the rest are counted as the program's",
				MAX_OBJECTS);
	jem_ptrset_sort(&walk->internal, NULL, NULL);
	if (walk->internal.count != before)
		walk->host->log(walk->host, COREHEAP_LOG_INFO,
				"heap profiler: %zu allocations of its own",
				walk->internal.count - before);
	return COREHEAP_OK;
}
