// SPDX-License-Identifier: MIT
#include <string.h>

#include "base/radix_sort.h"

void ch_partition_pairs(const struct ch_sort_pair *pairs, size_t n,
			uint64_t low, unsigned shift, struct ch_sort_pair *out)
{
	size_t starts[CH_PARTITION_BUCKETS] = { 0 }, offset = 0;

	for (size_t i = 0; i < n; i++)
		starts[(pairs[i].key - low) >> shift]++;
	for (size_t b = 0; b < CH_PARTITION_BUCKETS; b++) {
		size_t count = starts[b];

		starts[b] = offset;
		offset += count;
	}
	for (size_t i = 0; i < n; i++)
		out[starts[(pairs[i].key - low) >> shift]++] = pairs[i];
}

unsigned ch_partition_shift(uint64_t low, uint64_t high)
{
	uint64_t span = high > low ? high - low - 1 : 0;
	unsigned shift = 0;

	while (shift < 64 && (span >> shift) >= CH_PARTITION_BUCKETS)
		shift++;
	return shift;
}
