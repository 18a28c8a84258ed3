// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "base/radix_sort.h"
#include "base/thread_pair.h"

// Below this many pairs one thread sorts them: a thread costs more.
#define MIN_PARALLEL_PAIRS ((size_t)1 << 15)

/*
 * One thread's part of the stable scatter: from[begin, end) into to, a
 * pair of rank r to next[r]++. With own_starts, next holds where the ranks
 * start for the whole scatter and this part is its last: it takes off its
 * own counts first.
 */
struct scatter {
	const struct ch_sort_pair *from;
	struct ch_sort_pair *to;
	size_t begin, end;
	bool own_starts;
	size_t *next;
};

static void *scatter_part(void *arg)
{
	const struct scatter *s = arg;
	size_t *next = s->next;

	if (s->own_starts) {
		for (size_t i = s->begin; i < s->end; i++)
			next[s->from[i].rank]--;
	}
	for (size_t i = s->begin; i < s->end; i++) {
		struct ch_sort_pair pair = s->from[i];

		s->to[next[pair.rank]++] = pair;
	}
	return NULL;
}

/*
 * Split in two halves of the input, one per thread: the first half's
 * pairs of a rank go before the second's, as a serial pass puts them. The
 * second thread counts its own half's ranks to find where its pairs of
 * each start.
 */
void ch_sort_pairs_counted(const struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *sorted,
			   struct ch_sort_counts *counts, bool two_threads)
{
	size_t split = two_threads && n >= MIN_PARALLEL_PAIRS ? n / 2 : n;
	struct scatter parts[2];
	size_t offset = 0;

	for (size_t r = 0; r < CH_SORT_RANKS; r++) {
		counts->next[0][r] = offset;
		offset += counts->of_rank[r];
		counts->next[1][r] = offset;
	}
	for (int t = 0; t < 2; t++) {
		parts[t] = (struct scatter){
			.from = pairs, .to = sorted,
			.begin = t == 0 ? 0 : split, .end = t == 0 ? split : n,
			.own_starts = t == 1,
			.next = counts->next[t],
		};
	}
	ch_run_pair(scatter_part, &parts[0],
		    parts[1].begin < parts[1].end ? &parts[1] : NULL);
}

void ch_sort_pairs_few(const struct ch_sort_pair *pairs, size_t n,
		       struct ch_sort_pair *sorted)
{
	for (size_t k = 0; k < n; k++) {
		size_t j = k;

		while (j > 0 && sorted[j - 1].rank > pairs[k].rank) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = pairs[k];
	}
}
