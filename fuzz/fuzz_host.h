/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The reporting half of the allocator fuzz targets' hosts: the calls
 * through which a plugin reports regions, blocks, damage, owned ranges,
 * statistics and log lines. Each accepts what the real host accepts and
 * aborts on what breaks the interface (plugin.h), so that the fuzzer
 * reports it; what the plugin reported is counted in struct fuzz_reports.
 *
 * A target's host->private_data points to its snapshot, whose first member
 * is a struct fuzz_reports.
 */
#ifndef COREHEAP_FUZZ_HOST_H
#define COREHEAP_FUZZ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "coreheap/plugin.h"

/** A walk that reports more blocks than this is cut off, out of memory. */
#define FUZZ_MAX_BLOCKS (1u << 20)

struct fuzz_reports {
	size_t num_blocks, num_regions;
};

int fuzz_host_add_region(const struct coreheap_host *host,
			 const struct coreheap_region *region, uint32_t *ret);
int fuzz_host_add_block(const struct coreheap_host *host,
			const struct coreheap_block *block);
int fuzz_host_add_damage(const struct coreheap_host *host,
			 const struct coreheap_damage *damage);
int fuzz_host_find_block(const struct coreheap_host *host, uint64_t addr,
			 struct coreheap_block *ret);
void fuzz_host_log(const struct coreheap_host *host, int level,
		   const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int fuzz_host_add_owned_range(const struct coreheap_host *host, uint32_t region,
			      uint64_t start, uint64_t end, uint32_t kind);
int fuzz_host_add_stat(const struct coreheap_host *host, uint32_t region,
		       const char *row, const char *key, uint64_t value);
int fuzz_host_add_alloc_stack(const struct coreheap_host *host,
			      uint64_t address, const uint64_t *pcs,
			      size_t num_pcs);

/** The designated initializers of those calls in a struct coreheap_host. */
#define FUZZ_HOST_REPORTING                                                    \
	.add_region = fuzz_host_add_region, .add_block = fuzz_host_add_block,  \
	.add_damage = fuzz_host_add_damage,                                    \
	.find_block = fuzz_host_find_block, .log = fuzz_host_log,              \
	.add_owned_range = fuzz_host_add_owned_range,                          \
	.add_stat = fuzz_host_add_stat,                                        \
	.add_alloc_stack = fuzz_host_add_alloc_stack

#endif /* COREHEAP_FUZZ_HOST_H */
