// SPDX-License-Identifier: MIT
#include <string.h>

#include "base/radix_sort.h"

#define DIGIT_BITS (CH_SORT_RANK_BITS / 2)
#define DIGITS (1u << DIGIT_BITS)

// One stable counting pass: from into to, by the digit at shift.
static void sort_by_digit(const struct ch_sort_pair *from, size_t n,
			  unsigned shift, struct ch_sort_pair *to)
{
	size_t starts[DIGITS] = { 0 }, offset = 0;

	for (size_t i = 0; i < n; i++)
		starts[(from[i].rank >> shift) & (DIGITS - 1)]++;
	for (size_t d = 0; d < DIGITS; d++) {
		size_t count = starts[d];

		starts[d] = offset;
		offset += count;
	}
	for (size_t i = 0; i < n; i++)
		to[starts[(from[i].rank >> shift) & (DIGITS - 1)]++] = from[i];
}

void ch_sort_pairs_by_rank(struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *scratch)
{
	sort_by_digit(pairs, n, 0, scratch);
	sort_by_digit(scratch, n, DIGIT_BITS, pairs);
}
