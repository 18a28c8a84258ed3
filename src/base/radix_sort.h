/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Grouping millions of (key, value) pairs by key in one linear pass, for the
 * passes that batch address lookups: pointers grouped by the address they
 * hold are looked up a slice of the heap at a time, so the index and the
 * blocks they land in are read from the cache instead of from memory.
 */
#ifndef COREHEAP_RADIX_SORT_H
#define COREHEAP_RADIX_SORT_H

#include <stddef.h>
#include <stdint.h>

struct ch_sort_pair {
	uint64_t key;
	uint64_t value;
};

/** How many buckets ch_partition_pairs() makes at most. */
#define CH_PARTITION_BUCKETS 2048

/**
 * Copy pairs[0..n) into out, ordered by the bucket of their key:
 * (key - low) >> shift, which the caller keeps below CH_PARTITION_BUCKETS
 * for every key (ch_partition_shift()). Stable: pairs of one bucket keep
 * their order, so the result does not depend on anything but the input.
 */
void ch_partition_pairs(const struct ch_sort_pair *pairs, size_t n,
			uint64_t low, unsigned shift, struct ch_sort_pair *out);

/** The smallest shift that puts every key of [low, high) in a bucket. */
unsigned ch_partition_shift(uint64_t low, uint64_t high);

#endif /* COREHEAP_RADIX_SORT_H */
