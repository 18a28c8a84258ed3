// SPDX-License-Identifier: MIT
// The glibc malloc (ptmalloc2) plugin: glibc 2.26 through 2.44, x86-64.
//
// probe() finds main_arena; walk() follows the arena ring, each arena's
// heaps and every thread's tcache, classifies every chunk and scans for
// mmapped chunks; check() adds the slower consistency checks.

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc.h"

void ptm_vdamage(struct ptm_walk *walk, enum coreheap_damage_kind kind,
		 uint32_t region, uint64_t address, const char *format,
		 va_list ap)
{
	struct coreheap_damage damage = {
		.kind = kind,
		.region = region,
		.address = address,
	};
	char message[256];

	if (walk->damage_count++ >= PTM_MAX_DAMAGE)
		return;
	vsnprintf(message, sizeof(message), format, ap);
	damage.message = message;
	walk->host->add_damage(walk->host, &damage);
}

void ptm_damage(struct ptm_walk *walk, enum coreheap_damage_kind kind,
		uint32_t region, uint64_t address, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	ptm_vdamage(walk, kind, region, address, format, ap);
	va_end(ap);
}

void ptm_block(struct ptm_walk *walk, uint64_t address, uint64_t size,
	       enum coreheap_block_state state, uint32_t region)
{
	struct coreheap_block block = {
		.address = address,
		.size = size,
		.state = state,
		.region = region,
	};

	if (walk->host->add_block(walk->host, &block))
		walk->status = COREHEAP_NOMEM;
}

bool ptm_mapping_is_anonymous(const struct coreheap_mapping *mapping)
{
	const char *base;

	if (!mapping->file)
		return true;
	base = strrchr(mapping->file, '/');
	base = base ? base + 1 : mapping->file;
	return !strncmp(base, "anon_hugepage", 13);
}

uint32_t ptm_arena_region(const struct ptm_walk *walk, size_t arena)
{
	return arena < walk->num_arenas ? walk->arenas[arena].region :
					  UINT32_MAX;
}

static void walk_destroy(struct ptm_walk *walk)
{
	if (!walk)
		return;
	free(walk->arenas);
	free(walk->heaps);
	free(walk->heap_order);
	free(walk->tcaches);
	free(walk->past_count);
	ptm_addrset_deinit(&walk->tcache_chunks);
	ptm_addrset_deinit(&walk->listed);
	ptm_addrset_deinit(&walk->binned);
	ptm_addrset_deinit(&walk->mentioned);
	free(walk->bin_chunks);
	free(walk->bin_first);
	free(walk->bin_len);
	free(walk->listed_keys);
	free(walk->binned_keys);
	free(walk->tcache_keys);
	ptm_reader_deinit(&walk->reader);
	free(walk);
}

static int declare_regions(struct ptm_walk *walk)
{
	for (size_t i = 0; i < walk->num_arenas; i++) {
		struct ptm_arena *arena = &walk->arenas[i];
		struct coreheap_region region = {
			.name = "main_arena",
			.address = arena->address,
			.control_size = walk->st->layout.ms_size,
			.system_bytes = arena->system_mem,
			.top_address = arena->top_valid ? arena->top : 0,
			.top_size = arena->top_valid ? arena->top_size : 0,
		};
		char name[64];

		if (!arena->is_main) {
			snprintf(name, sizeof(name), "arena 0x%llx",
				 (unsigned long long)arena->address);
			region.name = name;
		}
		if (walk->host->add_region(walk->host, &region, &arena->region))
			return COREHEAP_NOMEM;
	}
	return COREHEAP_OK;
}

// Everything the chunk walk needs, in dependency order: arenas, their
// regions (so later damage names them), heaps, tcaches, the free lists and
// the bins.
static int build(struct ptm_walk *walk, bool regions)
{
	int err;

	err = ptm_collect_arenas(walk);
	if (!err)
		err = ptm_find_stray_arenas(walk);
	if (err)
		return err;
	ptm_settle_tops(walk);
	for (size_t i = 0; i < walk->num_arenas; i++)
		walk->arenas[i].region = UINT32_MAX;
	if (regions) {
		err = declare_regions(walk);
		if (err)
			return err;
	}
	err = ptm_collect_heaps(walk);
	if (err)
		return err;
	err = ptm_find_tcaches(walk);
	if (err)
		return err;
	ptm_decide_safe_linking(walk);
	err = ptm_collect_free_lists(walk);
	if (!err)
		err = ptm_settle_tcache_keys(walk);
	if (!err)
		err = ptm_collect_binned(walk);
	if (err)
		return err;
	if (ptm_addrset_sorted_keys(&walk->listed, &walk->listed_keys) ||
	    ptm_addrset_sorted_keys(&walk->binned, &walk->binned_keys) ||
	    ptm_addrset_sorted_keys(&walk->tcache_chunks, &walk->tcache_keys))
		return COREHEAP_NOMEM;
	return COREHEAP_OK;
}

static int walk_create(const struct coreheap_host *host, struct ptm_state *st,
		       bool regions, struct ptm_walk **ret)
{
	struct ptm_walk *walk = calloc(1, sizeof(*walk));
	int err;

	if (!walk)
		return COREHEAP_NOMEM;
	walk->host = host;
	walk->st = st;
	walk->layout = &st->layout;
	walk->resume_steps_left = PTM_RESUME_STEPS;
	ptm_reader_init(&walk->reader, host);
	err = build(walk, regions);
	if (err) {
		walk_destroy(walk);
		return err;
	}
	*ret = walk;
	return COREHEAP_OK;
}

static void log_guesses(const struct coreheap_host *host,
			const struct ptm_state *st,
			const struct ptm_walk *walk)
{
	if (st->main_arena_from_symbol)
		return;
	host->log(host, COREHEAP_LOG_WARNING,
		  "no debug info for libc: main_arena, mp_ and the thread caches were found without symbols (%zu arena(s), %zu tcache(s)%s)",
		  walk->num_arenas, walk->num_tcaches,
		  st->mp ? "" : "; mp_ not found: the main heap's start and the mmapped-chunk count are not cross-checked");
}

static int glibc_probe(const struct coreheap_host *host, bool forced,
		       int *confidence_ret, void **state_ret)
{
	struct ptm_state *st;
	int err;

	*confidence_ret = 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return COREHEAP_NOMEM;
	err = ptm_locate(host, st, forced, confidence_ret);
	if (err || !*confidence_ret) {
		ptm_libc_file_destroy(st->file);
		free(st);
		*confidence_ret = 0;
		return err == COREHEAP_NOMEM ? err : COREHEAP_OK;
	}
	*state_ret = st;
	return COREHEAP_OK;
}

static int glibc_walk(const struct coreheap_host *host, void *state)
{
	struct ptm_state *st = state;
	struct ptm_walk *walk;
	int err;

	if (!st)
		return COREHEAP_FAILED;
	if (st->heap_unused) {
		host->log(host, COREHEAP_LOG_INFO,
			  "malloc was never called; nothing to walk");
		return COREHEAP_OK;
	}
	walk_destroy(st->walk);
	st->walk = NULL;
	err = walk_create(host, st, true, &walk);
	if (err)
		return err;
	log_guesses(host, st, walk);
	ptm_declare_owned(walk);
	for (size_t i = 0; i < walk->num_arenas && !walk->status; i++)
		ptm_walk_arena_chunks(walk, i);
	if (!walk->status)
		ptm_check_bins(walk, false);
	if (!walk->status)
		ptm_walk_mmapped(walk);
	if (!walk->status)
		ptm_report_mallinfo(walk);
	err = walk->status;
	if (walk->damage_count > PTM_MAX_DAMAGE)
		host->log(host, COREHEAP_LOG_WARNING,
			  "%zu damage reports, only the first %d shown",
			  walk->damage_count, PTM_MAX_DAMAGE);
	st->walk = walk;
	return err;
}

static int glibc_check(const struct coreheap_host *host, void *state)
{
	struct ptm_state *st = state;
	struct ptm_walk *walk = st ? st->walk : NULL;
	int err;

	if (!st || st->heap_unused)
		return COREHEAP_OK;
	if (!walk) {
		err = walk_create(host, st, false, &walk);
		if (err)
			return err;
		st->walk = walk;
	}
	// The host handed to walk() is not ours to keep past it.
	walk->host = host;
	walk->reader.host = host;
	ptm_check_bins(walk, true);
	ptm_check_tcache_keys(walk);
	ptm_check_system_mem(walk);
	return walk->status;
}

static void glibc_destroy(void *state)
{
	struct ptm_state *st = state;

	if (!st)
		return;
	walk_destroy(st->walk);
	ptm_libc_file_destroy(st->file);
	free(st);
}

/*
 * malloc's rounding (checked_request2size, sysmalloc_mmap): a chunk is the
 * request plus the size word, rounded up to 16 bytes, at least 32; in a
 * heap the next chunk's prev_size word is usable too (usable = chunk - 8),
 * while an mmapped chunk is the chunk plus that word rounded up to pages,
 * less its 16-byte header. Which of the two like is, its usable size says:
 * 8 past a multiple of 16 in a heap, a multiple of 16 when mmapped.
 */
static int glibc_usable_size(const struct coreheap_host *host, void *state,
			     const struct coreheap_block *like,
			     uint64_t request, uint64_t *ret)
{
	uint64_t chunk;

	(void)host;
	(void)state;
	// malloc refuses anything past PTRDIFF_MAX.
	if (request > (UINT64_MAX >> 1) - 2 * PTM_PAGE_SIZE)
		return COREHEAP_NOT_FOUND;
	chunk = (request + PTM_SIZE_SZ + PTM_ALIGN - 1) & ~(uint64_t)(PTM_ALIGN - 1);
	if (chunk < PTM_MINSIZE)
		chunk = PTM_MINSIZE;
	switch (like->size % PTM_ALIGN) {
	case PTM_SIZE_SZ:
		*ret = chunk - PTM_SIZE_SZ;
		return COREHEAP_OK;
	case 0:
		*ret = ((chunk + PTM_SIZE_SZ + PTM_PAGE_SIZE - 1) &
			~(PTM_PAGE_SIZE - 1)) -
		       PTM_CHUNK_HDR;
		return COREHEAP_OK;
	default:
		return COREHEAP_NOT_FOUND;
	}
}

const struct coreheap_allocator coreheap_glibc_allocator = {
	COREHEAP_ALLOCATOR_INIT,
	.name = "glibc",
	.description = "glibc malloc (ptmalloc2), glibc 2.26 through 2.44, x86-64",
	.is_runtime = false,
	.probe = glibc_probe,
	.walk = glibc_walk,
	.check = glibc_check,
	.destroy = glibc_destroy,
	.usable_size = glibc_usable_size,
};
