// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "base/sort.h"
#include "base/sorted_u64.h"

int ch_compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t ch_sort_unique_u64(uint64_t *values, size_t n)
{
	size_t kept = 0;

	ch_sort(values, n, sizeof(*values), ch_compare_u64);
	for (size_t i = 0; i < n; i++) {
		if (kept == 0 || values[kept - 1] != values[i])
			values[kept++] = values[i];
	}
	return kept;
}

size_t ch_count_below_u64(const uint64_t *sorted, size_t n, uint64_t value)
{
	size_t low = 0, high = n;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (sorted[mid] < value)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}
