// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdlib.h>

#include "base/cleanup.h"
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

static int compare_spans(const void *a, const void *b)
{
	const struct ch_u64_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int compare_u64_descending(const void *a, const void *b)
{
	return ch_compare_u64(b, a);
}

// Sort spans[0..n) and join those that overlap or touch: how many are left.
static size_t join_overlapping(struct ch_u64_span *spans, size_t n)
{
	size_t joined = 0;

	ch_sort(spans, n, sizeof(*spans), compare_spans);
	for (size_t i = 0; i < n; i++) {
		if (joined && spans[i].start <= spans[joined - 1].end) {
			if (spans[i].end > spans[joined - 1].end)
				spans[joined - 1].end = spans[i].end;
		} else {
			spans[joined++] = spans[i];
		}
	}
	return joined;
}

struct ch_error *ch_cover_u64_spans(struct ch_u64_span *spans, size_t n,
				    size_t max, size_t *num_ret)
{
	// The gaps larger than this stay, and ties_kept of those this large
	// (the first ones): max - 1 gaps at most.
	uint64_t least_kept = 0, before_end = 0;
	size_t ties_kept = SIZE_MAX, kept = 0;

	n = join_overlapping(spans, n);
	if (n > max) {
		_cleanup_free_ uint64_t *gaps = malloc((n - 1) * sizeof(*gaps));

		if (!gaps)
			return &ch_enomem;
		for (size_t i = 0; i + 1 < n; i++)
			gaps[i] = spans[i + 1].start - spans[i].end;
		ch_sort(gaps, n - 1, sizeof(*gaps), compare_u64_descending);
		least_kept = max > 1 ? gaps[max - 2] : UINT64_MAX;
		ties_kept = 0;
		for (size_t k = 0; k + 1 < max; k++)
			ties_kept += gaps[k] == least_kept;
	}
	for (size_t i = 0; i < n; i++) {
		struct ch_u64_span span = spans[i];
		uint64_t gap = span.start - before_end;
		bool apart = kept && (gap > least_kept ||
				      (gap == least_kept && ties_kept));

		if (!kept || apart) {
			ties_kept -= apart && gap == least_kept ? 1 : 0;
			spans[kept++] = span;
		} else {
			spans[kept - 1].end = span.end;
		}
		before_end = span.end;
	}
	*num_ret = kept;
	return NULL;
}
