// SPDX-License-Identifier: MIT
#include <string.h>

#include "base/radix_sort.h"

// One stable scatter: from into to, by the digit at shift, whose counts
// (one per value) become the values' starts.
static void sort_by_digit(const struct ch_sort_pair *from, size_t n,
			  unsigned shift, size_t *starts,
			  struct ch_sort_pair *to)
{
	size_t offset = 0;

	for (size_t d = 0; d < CH_SORT_DIGITS; d++) {
		size_t count = starts[d];

		starts[d] = offset;
		offset += count;
	}
	for (size_t i = 0; i < n; i++)
		to[starts[(from[i].rank >> shift) & (CH_SORT_DIGITS - 1)]++] =
			from[i];
}

void ch_sort_pairs_counted(struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *scratch,
			   struct ch_sort_counts *counts)
{
	sort_by_digit(pairs, n, 0, counts->low, scratch);
	sort_by_digit(scratch, n, CH_SORT_DIGIT_BITS, counts->high, pairs);
}
