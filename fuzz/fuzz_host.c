// SPDX-License-Identifier: MIT
// The reporting half of the allocator fuzz targets' hosts (fuzz_host.h).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"

int fuzz_host_add_region(const struct coreheap_host *host,
			 const struct coreheap_region *region, uint32_t *ret)
{
	struct fuzz_reports *s = host->private_data;

	// The host copies the name: read all of it.
	if (!region->name || strlen(region->name) > 4096)
		abort();
	*ret = s->num_regions++;
	return COREHEAP_OK;
}

int fuzz_host_add_block(const struct coreheap_host *host,
			const struct coreheap_block *block)
{
	struct fuzz_reports *s = host->private_data;

	// The host's table grows with the blocks; a plugin that reports
	// more blocks than memory holds bytes loops.
	if (++s->num_blocks > FUZZ_MAX_BLOCKS)
		return COREHEAP_NOMEM;
	if (block->state > COREHEAP_BLOCK_METADATA ||
	    (block->region != UINT32_MAX && block->region >= s->num_regions))
		abort();
	return COREHEAP_OK;
}

int fuzz_host_add_damage(const struct coreheap_host *host,
			 const struct coreheap_damage *damage)
{
	if (!damage->message || strlen(damage->message) > 4096 ||
	    damage->kind > COREHEAP_DAMAGE_UNREADABLE)
		abort();
	return COREHEAP_OK;
}

int fuzz_host_find_block(const struct coreheap_host *host, uint64_t addr,
			 struct coreheap_block *ret)
{
	return COREHEAP_NOT_FOUND;
}

void fuzz_host_log(const struct coreheap_host *host, int level,
		   const char *format, ...)
{
	char line[512];
	va_list ap;

	// Format every message, as the real host does.
	va_start(ap, format);
	vsnprintf(line, sizeof(line), format, ap);
	va_end(ap);
}

int fuzz_host_add_owned_range(const struct coreheap_host *host, uint32_t region,
			      uint64_t start, uint64_t end, uint32_t kind)
{
	const struct fuzz_reports *s = host->private_data;

	// The plugin declares only what it took, and only proper ranges.
	if (end <= start || kind > COREHEAP_OWNED_UNEXPLAINED ||
	    (region != UINT32_MAX && region >= s->num_regions))
		abort();
	return COREHEAP_OK;
}

int fuzz_host_add_stat(const struct coreheap_host *host, uint32_t region,
		       const char *row, const char *key, uint64_t value)
{
	const struct fuzz_reports *s = host->private_data;

	// The host copies both, one line each.
	if (region >= s->num_regions || !row || !*row || !key || !*key ||
	    strlen(row) > 4096 || strlen(key) > 4096 || strchr(row, '\n') ||
	    strchr(key, '\n'))
		abort();
	return COREHEAP_OK;
}

int fuzz_host_add_alloc_stack(const struct coreheap_host *host,
			      uint64_t address, const uint64_t *pcs,
			      size_t num_pcs)
{
	uint64_t copy[COREHEAP_MAX_STACK_PCS];

	// The host copies them: read every one, as it does.
	if (!pcs || !num_pcs || num_pcs > COREHEAP_MAX_STACK_PCS)
		abort();
	memcpy(copy, pcs, num_pcs * sizeof(*pcs));
	return COREHEAP_OK;
}
