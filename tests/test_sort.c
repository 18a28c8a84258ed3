// SPDX-License-Identifier: MIT
// Sorting pairs by rank: every rank in order, pairs of one rank in the
// order they came, whatever the count (none, one, many of few ranks, ranks
// across the whole range), by counting or, for a few pairs, by insertion.
// And ch_sort(), qsort() for arrays that may be empty (a NULL array),
// ch_keep_best(), the best k of a stream, ch_cover_u64_spans(), a few
// spans that cover many, and ch_bucket_shift().
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/keep_best.h"
#include "base/radix_sort.h"
#include "base/sort.h"
#include "base/sorted_u64.h"
#include "error_assertions.h"
#include "rng.h"

enum sorter { COUNTED_ONE_THREAD, COUNTED_TWO_THREADS, FEW };

// Sort n pairs of ranks below max_rank, each keyed by its place in the
// input, with sorter, and check the order and the stability.
static void sort_and_check(size_t n, uint32_t max_rank, enum sorter sorter)
{
	struct ch_sort_pair *pairs = calloc(n + 1, sizeof(*pairs));
	struct ch_sort_pair *sorted = calloc(n + 1, sizeof(*sorted));
	size_t *count = calloc(max_rank, sizeof(*count));
	struct ch_sort_counts *counts = calloc(1, sizeof(*counts));

	cr_assert(pairs && sorted && count && counts);
	for (size_t i = 0; i < n; i++) {
		uint32_t rank = (uint32_t)(rng() % max_rank);

		pairs[i] = (struct ch_sort_pair){ .key = i, .value = ~(uint32_t)i,
						  .rank = rank };
		count[rank]++;
	}
	if (sorter == FEW) {
		ch_sort_pairs_few(pairs, n, sorted);
	} else {
		for (size_t i = 0; i < n; i++)
			ch_sort_count(counts, pairs[i].rank);
		ch_sort_pairs_counted(pairs, n, sorted, counts,
				      sorter == COUNTED_TWO_THREADS);
	}
	free(pairs);
	pairs = sorted;
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(pairs[i].value, ~(uint32_t)pairs[i].key,
			     "pair %zu lost its value", i);
		count[pairs[i].rank]--;
		if (i == 0)
			continue;
		cr_assert_leq(pairs[i - 1].rank, pairs[i].rank,
			      "pair %zu: rank %u after %u", i, pairs[i].rank,
			      pairs[i - 1].rank);
		if (pairs[i - 1].rank == pairs[i].rank)
			cr_assert_lt(pairs[i - 1].key, pairs[i].key,
				     "rank %u: pair from %lu after pair from %lu",
				     pairs[i].rank, pairs[i].key,
				     pairs[i - 1].key);
	}
	for (uint32_t r = 0; r < max_rank; r++)
		cr_assert_eq(count[r], 0, "rank %u: pairs lost or added", r);
	free(pairs);
	free(count);
	free(counts);
}

Test(sort, none_and_one)
{
	rng_state = 1;
	sort_and_check(0, 16, COUNTED_TWO_THREADS);
	sort_and_check(1, 16, COUNTED_TWO_THREADS);
	sort_and_check(0, 16, FEW);
	sort_and_check(1, 16, FEW);
}

Test(sort, many_pairs_of_few_ranks_keep_their_order)
{
	rng_state = 2;
	sort_and_check(100000, 7, COUNTED_TWO_THREADS);
	sort_and_check(100000, 7, COUNTED_ONE_THREAD);
}

Test(sort, ranks_across_the_whole_range)
{
	rng_state = 3;
	sort_and_check(300000, UINT32_C(1) << CH_SORT_RANK_BITS,
		       COUNTED_TWO_THREADS);
	sort_and_check(300000, UINT32_C(1) << CH_SORT_RANK_BITS,
		       COUNTED_ONE_THREAD);
}

Test(sort, a_few_pairs_by_insertion)
{
	rng_state = 4;
	sort_and_check(CH_SORT_FEW - 1, 5, FEW);
	sort_and_check(CH_SORT_FEW - 1, UINT32_C(1) << CH_SORT_RANK_BITS, FEW);
	sort_and_check(2, 2, FEW);
}

static size_t comparisons;

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	comparisons++;
	return (x > y) - (x < y);
}

static int compare_ints_r(const void *a, const void *b, void *arg)
{
	*(size_t *)arg += 1;
	return compare_ints(a, b);
}

// An empty vector's NULL array and a lone element are sorted already:
// qsort() is not called (given NULL it is undefined, which the sanitizer
// build stops at), nor the comparison.
Test(sort, no_qsort_below_two_elements)
{
	int one = 7;
	size_t calls = 0;

	comparisons = 0;
	ch_sort(NULL, 0, sizeof(int), compare_ints);
	ch_sort_r(NULL, 0, sizeof(int), compare_ints_r, &calls);
	ch_sort(&one, 1, sizeof(one), compare_ints);
	ch_sort_r(&one, 1, sizeof(one), compare_ints_r, &calls);
	cr_expect_eq(one, 7);
	cr_expect_eq(comparisons, 0);
	cr_expect_eq(calls, 0);
}

Test(sort, two_or_more_elements_are_sorted)
{
	int values[] = { 5, -1, 9, 0, 5, 3 };
	int sorted[] = { -1, 0, 3, 5, 5, 9 };
	int again[] = { 2, 1 };
	size_t calls = 0;

	ch_sort(values, 6, sizeof(*values), compare_ints);
	cr_expect_arr_eq(values, sorted, sizeof(sorted));
	ch_sort_r(again, 2, sizeof(*again), compare_ints_r, &calls);
	cr_expect(again[0] == 1 && again[1] == 2);
	cr_expect_gt(calls, 0);
}

// ch_keep_best(): the k best of a stream in any order, then sorted best
// first, are the first k of the whole stream sorted; with few distinct
// weights, ties are broken by the node number.
static bool heavier_first(const void *arg, uint32_t a, uint32_t b)
{
	const uint32_t *weight = arg;

	if (weight[a] != weight[b])
		return weight[a] > weight[b];
	return a < b;
}

static int compare_heavier_first(const void *a, const void *b, void *arg)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x == y ? 0 : heavier_first(arg, x, y) ? -1 : 1;
}

Test(sort, keep_best_is_the_first_k_of_the_sorted_stream)
{
	enum { N = 5000 };
	static uint32_t weight[N], stream[N], sorted[N], kept[N];
	size_t caps[] = { 0, 1, 2, 7, 100, N - 1, N };

	rng_state = 12345;
	for (uint32_t v = 0; v < N; v++) {
		weight[v] = (uint32_t)(rng() % 40);
		stream[v] = sorted[v] = v;
	}
	// The stream in a random order.
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = rng() % (i + 1);
		uint32_t swap = stream[i];

		stream[i] = stream[j];
		stream[j] = swap;
	}
	ch_sort_r(sorted, N, sizeof(*sorted), compare_heavier_first, weight);
	for (size_t c = 0; c < sizeof(caps) / sizeof(*caps); c++) {
		size_t len = 0;

		for (size_t i = 0; i < N; i++)
			ch_keep_best(kept, &len, caps[c], stream[i],
				     heavier_first, weight);
		cr_assert_eq(len, caps[c]);
		ch_keep_best_sort(kept, len, heavier_first, weight);
		for (size_t i = 0; i < len; i++)
			cr_assert_eq(kept[i], sorted[i], "cap %zu: place %zu is %u, not %u",
				     caps[c], i, kept[i], sorted[i]);
	}
}

// Cover n spans with at most max; the cover in *cover (n entries of room).
static size_t cover(const struct ch_u64_span *spans, size_t n, size_t max,
		    struct ch_u64_span *cover)
{
	size_t num;

	memcpy(cover, spans, n * sizeof(*spans));
	assert_no_error(ch_cover_u64_spans(cover, n, max, &num));
	return num;
}

// Spans that overlap or touch are one, in the order of their starts.
Test(spans, overlapping_and_touching_spans_are_joined)
{
	static const struct ch_u64_span spans[] = {
		{ 30, 40 }, { 10, 20 }, { 20, 25 }, { 12, 15 }, { 50, 51 },
	};
	struct ch_u64_span got[5];

	cr_assert_eq(cover(spans, 5, 8, got), 3);
	cr_assert(got[0].start == 10 && got[0].end == 25);
	cr_assert(got[1].start == 30 && got[1].end == 40);
	cr_assert(got[2].start == 50 && got[2].end == 51);
	cr_assert_eq(cover(spans, 0, 8, got), 0);
}

// Too many: only the largest gaps stay; with one span, all is one.
Test(spans, the_largest_gaps_stay)
{
	// Gaps of 5, 50, 1, 20 and 7.
	static const struct ch_u64_span spans[] = {
		{ 0, 10 },	 { 15, 20 },   { 70, 80 },
		{ 81, 90 },	 { 110, 120 }, { 127, 130 },
	};
	struct ch_u64_span got[6];

	cr_assert_eq(cover(spans, 6, 3, got), 3);
	cr_assert(got[0].start == 0 && got[0].end == 20);
	cr_assert(got[1].start == 70 && got[1].end == 90);
	cr_assert(got[2].start == 110 && got[2].end == 130);
	cr_assert_eq(cover(spans, 6, 1, got), 1);
	cr_assert(got[0].start == 0 && got[0].end == 130);
	cr_assert_eq(cover(spans, 6, 6, got), 6);
}

// Gaps of one size: exactly max spans, every span inside one of them.
Test(spans, ties_make_no_more_than_max)
{
	struct ch_u64_span spans[10], got[10];

	for (uint64_t i = 0; i < 10; i++)
		spans[i] = (struct ch_u64_span){ 10 * i, 10 * i + 5 };
	cr_assert_eq(cover(spans, 10, 4, got), 4);
	cr_assert_eq(got[0].start, 0);
	cr_assert_eq(got[3].end, 95);
	for (size_t k = 1; k < 4; k++)
		cr_assert_gt(got[k].start, got[k - 1].end);
}

static int compare_starts(const void *a, const void *b)
{
	const struct ch_u64_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

// Random spans: the cover has at most max spans, in order, apart; every
// span given lies in one; no gap between the spans given that the cover
// joins across is larger than one it leaves out.
Test(spans, random_spans_are_covered)
{
	enum { N = 300 };
	struct ch_u64_span spans[N], got[N], merged[N];

	rng_state = 7;
	for (int round = 0; round < 200; round++) {
		size_t n = rng() % N, max = 1 + rng() % 12, num, m = 0, k = 0;
		uint64_t least_left_out = UINT64_MAX, most_joined = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t start = rng() % 100000;

			spans[i] = (struct ch_u64_span){ start,
							 start + 1 + rng() % 300 };
		}
		num = cover(spans, n, max, got);
		cr_assert_leq(num, max);
		cr_assert_eq(num == 0, n == 0);
		for (size_t c = 1; c < num; c++)
			cr_assert_gt(got[c].start, got[c - 1].end);
		for (size_t i = 0; i < n; i++) {
			size_t c = 0;

			while (c < num && got[c].end < spans[i].end)
				c++;
			cr_assert(c < num && got[c].start <= spans[i].start,
				  "round %d: span %zu not covered", round, i);
		}
		// The union of the spans given, by a sort of its own.
		memcpy(merged, spans, n * sizeof(*spans));
		qsort(merged, n, sizeof(*merged), compare_starts);
		for (size_t i = 0; i < n; i++) {
			if (m && merged[i].start <= merged[m - 1].end) {
				if (merged[i].end > merged[m - 1].end)
					merged[m - 1].end = merged[i].end;
			} else {
				merged[m++] = merged[i];
			}
		}
		// Each gap of the union lies inside a cover span or between two.
		for (size_t j = 1; j < m; j++) {
			uint64_t gap = merged[j].start - merged[j - 1].end;

			while (got[k].end <= merged[j - 1].start)
				k++;
			if (got[k].end >= merged[j].end) {
				if (gap > most_joined)
					most_joined = gap;
			} else if (gap < least_left_out) {
				least_left_out = gap;
			}
		}
		cr_assert_leq(most_joined, num > 1 ? least_left_out : UINT64_MAX,
			      "round %d: a gap of %lu joined across, one of %lu left out",
			      round, most_joined, least_left_out);
	}
}

// Every number below n has a bucket below 1 << bits, and a shift one less
// would not do (around the powers of two, where a shift is one too few).
Test(sort, bucket_shift_is_the_least_that_fits)
{
	for (unsigned bits = 1; bits <= 11; bits += 5) {
		for (unsigned p = 0; p < 40; p++) {
			for (size_t d = 0; d < 4; d++) {
				size_t n = ((size_t)1 << p) + d - (d == 3 ? 4 : 0);
				unsigned shift = ch_bucket_shift(n, bits);

				if (!n) {
					cr_expect_eq(shift, 0);
					continue;
				}
				cr_expect_lt((n - 1) >> shift, (size_t)1 << bits,
					     "n %zu, %u bits: shift %u", n, bits,
					     shift);
				cr_expect(shift == 0 ||
						  (n - 1) >> (shift - 1) >=
							  (size_t)1 << bits,
					  "n %zu, %u bits: shift %u", n, bits,
					  shift);
			}
		}
	}
}
