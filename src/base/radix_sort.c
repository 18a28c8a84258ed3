// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "base/radix_sort.h"
#include "base/thread_pair.h"

// Below this many pairs one thread sorts them: a thread costs more.
#define MIN_PARALLEL_PAIRS ((size_t)1 << 15)

/*
 * One thread's part of a stable scatter by the digit at shift: from[begin,
 * end) into to, a pair of digit d to next[d]++. With high_by_half, the
 * pairs' next digit is counted by the half of to (below split or not)
 * they land in: what the second pass's threads need to know where to
 * start. With own_starts, next holds where the digits start for the whole
 * scatter and this part is its last: it takes off its own counts first.
 */
struct scatter {
	const struct ch_sort_pair *from;
	struct ch_sort_pair *to;
	size_t begin, end, split;
	unsigned shift;
	bool own_starts;
	size_t *next;
	size_t (*high_by_half)[CH_SORT_DIGITS];
};

static void *scatter_part(void *arg)
{
	const struct scatter *s = arg;
	const uint32_t mask = CH_SORT_DIGITS - 1;
	size_t *next = s->next;

	if (s->own_starts) {
		for (size_t i = s->begin; i < s->end; i++)
			next[s->from[i].rank >> s->shift & mask]--;
	}
	for (size_t i = s->begin; i < s->end; i++) {
		struct ch_sort_pair pair = s->from[i];
		size_t at = next[pair.rank >> s->shift & mask]++;

		s->to[at] = pair;
		if (s->high_by_half)
			s->high_by_half[at >= s->split]
				       [pair.rank >> (s->shift + CH_SORT_DIGIT_BITS) & mask]++;
	}
	return NULL;
}

// Where each digit's pairs start, from their counts.
static void prefix_sums(const size_t *counts, size_t *starts)
{
	size_t offset = 0;

	for (size_t d = 0; d < CH_SORT_DIGITS; d++) {
		starts[d] = offset;
		offset += counts[d];
	}
}

// Scatter the two parts, the second on a thread of its own.
static void scatter_parts(struct scatter parts[2])
{
	ch_run_pair(scatter_part, &parts[0],
		    parts[1].begin < parts[1].end ? &parts[1] : NULL);
}

/*
 * Each pass is split in two halves of its input, one per thread: the first
 * half's pairs of a digit go before the second's, as a serial pass puts
 * them. The second thread counts its own half's low digits to find where
 * its pairs of each start; the first pass counts the high digits by the
 * half they land in, which tells the second pass the same.
 */
void ch_sort_pairs_counted(struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *scratch,
			   struct ch_sort_counts *counts, bool two_threads)
{
	size_t split = two_threads && n >= MIN_PARALLEL_PAIRS ? n / 2 : n;
	struct scatter parts[2];

	memset(counts->high_by_half, 0, sizeof(counts->high_by_half));
	prefix_sums(counts->low, counts->next[0]);
	for (size_t d = 0; d < CH_SORT_DIGITS; d++)
		counts->next[1][d] = counts->next[0][d] + counts->low[d];
	for (int t = 0; t < 2; t++) {
		parts[t] = (struct scatter){
			.from = pairs, .to = scratch,
			.begin = t == 0 ? 0 : split, .end = t == 0 ? split : n,
			.split = split, .shift = 0, .own_starts = t == 1,
			.next = counts->next[t],
			// Only a second thread needs them.
			.high_by_half = split < n ? counts->high_by_half[t] : NULL,
		};
	}
	scatter_parts(parts);

	prefix_sums(counts->high, counts->next[0]);
	for (size_t d = 0; d < CH_SORT_DIGITS; d++)
		counts->next[1][d] = counts->next[0][d] +
				     counts->high_by_half[0][0][d] +
				     counts->high_by_half[1][0][d];
	for (int t = 0; t < 2; t++) {
		parts[t].from = scratch;
		parts[t].to = pairs;
		parts[t].shift = CH_SORT_DIGIT_BITS;
		parts[t].own_starts = false;
		parts[t].high_by_half = NULL;
	}
	scatter_parts(parts);
}
