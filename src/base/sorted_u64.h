/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Sorted arrays of 64-bit values (addresses, bounds): sorting with the
 * repeats dropped, where a value falls among them, and a few spans that
 * cover many.
 */
#ifndef COREHEAP_SORTED_U64_H
#define COREHEAP_SORTED_U64_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

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

/** Addresses from start up to, not including, end. */
struct ch_u64_span {
	uint64_t start, end;
};

/**
 * Cover spans[0..n) (each start < end) with at most max spans (max >= 1):
 * sorted, those that overlap or touch joined, then joined across the
 * smallest gaps, so that only the largest gaps are left out. The cover is
 * written over spans; *num_ret says how many. A value in none of the
 * spans given may be in the cover; a value in one of them always is.
 */
struct ch_error *ch_cover_u64_spans(struct ch_u64_span *spans, size_t n,
				    size_t max, size_t *num_ret);

#endif /* COREHEAP_SORTED_U64_H */
