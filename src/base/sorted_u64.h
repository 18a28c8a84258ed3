/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Sorted arrays of 64-bit values (addresses, bounds): sorting with the
 * repeats dropped, and where a value falls among them.
 */
#ifndef COREHEAP_SORTED_U64_H
#define COREHEAP_SORTED_U64_H

#include <stddef.h>
#include <stdint.h>

/** qsort()'s comparison of two uint64_t, in increasing order. */
int ch_compare_u64(const void *a, const void *b);

/** Sort values[0..n) and drop the repeats; returns how many are left. */
size_t ch_sort_unique_u64(uint64_t *values, size_t n);

/** How many of sorted[0..n) are below value: the first place it could go. */
size_t ch_count_below_u64(const uint64_t *sorted, size_t n, uint64_t value);

/** How many of sorted[0..n) are value or below. */
static inline size_t ch_count_at_most_u64(const uint64_t *sorted, size_t n,
					  uint64_t value)
{
	return value == UINT64_MAX ? n : ch_count_below_u64(sorted, n, value + 1);
}

#endif /* COREHEAP_SORTED_U64_H */
