/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Ordering millions of pairs by a small rank in two linear passes, for the
 * passes that batch address lookups: pointers ranked by where they point in
 * the heap are looked up in address order, so that the index and the blocks
 * they land in are read in order instead of at random.
 */
#ifndef COREHEAP_RADIX_SORT_H
#define COREHEAP_RADIX_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How many bits a rank has at most. */
#define CH_SORT_RANK_BITS 22

struct ch_sort_pair {
	uint64_t key;
	uint32_t value;
	/** What the pairs are sorted by: below 1 << CH_SORT_RANK_BITS. */
	uint32_t rank;
};

/** A rank is sorted by two digits of this many bits, the low one first. */
#define CH_SORT_DIGIT_BITS (CH_SORT_RANK_BITS / 2)
#define CH_SORT_DIGITS (1u << CH_SORT_DIGIT_BITS)

/**
 * How many pairs have each value of each digit, and the sort's room for
 * its two threads' places in the output.
 */
struct ch_sort_counts {
	size_t low[CH_SORT_DIGITS], high[CH_SORT_DIGITS];
	/** The sort's own: where each thread writes each digit next. */
	size_t next[2][CH_SORT_DIGITS];
	/**
	 * The sort's own: the high digits each thread's first pass wrote
	 * into each half of the scratch room.
	 */
	size_t high_by_half[2][2][CH_SORT_DIGITS];
};

/**
 * Count a pair of this rank, where its rank is set (zero the counts
 * first): a pass that makes the ranks saves the sort its own pass to count
 * them.
 */
static inline void ch_sort_count(struct ch_sort_counts *counts, uint32_t rank)
{
	counts->low[rank & (CH_SORT_DIGITS - 1)]++;
	counts->high[rank >> CH_SORT_DIGIT_BITS & (CH_SORT_DIGITS - 1)]++;
}

/**
 * Sort pairs[0..n) by rank in place, in two linear passes through scratch
 * (room for n pairs, left holding what the first pass wrote), counts
 * holding every pair's ch_sort_count() (and used up). Stable: pairs of one
 * rank keep their order, so the result does not depend on anything but
 * the input. With two_threads, many pairs are sorted on two threads (one
 * when a thread cannot be made: the same result).
 */
void ch_sort_pairs_counted(struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *scratch,
			   struct ch_sort_counts *counts, bool two_threads);

#endif /* COREHEAP_RADIX_SORT_H */
