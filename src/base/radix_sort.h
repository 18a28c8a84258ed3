/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Ordering millions of pairs by a small rank in one linear pass, for the
 * passes that batch address lookups: pointers ranked by where they point in
 * the heap are looked up in address order, so that the index and the blocks
 * they land in are read in order instead of at random.
 */
#ifndef COREHEAP_RADIX_SORT_H
#define COREHEAP_RADIX_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * How many bits a rank has at most. One pass of a counting sort orders
 * 2^16 ranks: a rank's granule of the heap is then small enough that its
 * lookups stay in the caches (32 KiB on a heap of 2 GiB), and a second
 * pass over finer ranks cost more than it saved.
 */
#define CH_SORT_RANK_BITS 16
#define CH_SORT_RANKS (1u << CH_SORT_RANK_BITS)

struct ch_sort_pair {
	uint64_t key;
	uint32_t value;
	/** What the pairs are sorted by: below CH_SORT_RANKS. */
	uint32_t rank;
};

/**
 * How many pairs have each rank, and the sort's room for its two threads'
 * places in the output.
 */
struct ch_sort_counts {
	size_t of_rank[CH_SORT_RANKS];
	/** The sort's own: where each thread writes each rank next. */
	size_t next[2][CH_SORT_RANKS];
};

/**
 * Count a pair of this rank, where its rank is set (zero of_rank first): a
 * pass that makes the ranks saves the sort its own pass to count them.
 */
static inline void ch_sort_count(struct ch_sort_counts *counts, uint32_t rank)
{
	counts->of_rank[rank]++;
}

/**
 * Write pairs[0..n) into sorted (room for n pairs) in the order of their
 * ranks, counts holding every pair's ch_sort_count() (and used up).
 * Stable: pairs of one rank keep their order, so the result does not
 * depend on anything but the input. With two_threads, many pairs are
 * sorted on two threads (one when a thread cannot be made: the same
 * result).
 */
void ch_sort_pairs_counted(const struct ch_sort_pair *pairs, size_t n,
			   struct ch_sort_pair *sorted,
			   struct ch_sort_counts *counts, bool two_threads);

/**
 * Below this many pairs, ch_sort_pairs_few() is the cheaper: a counting
 * sort clears and sums all its ranks' counts (about 1.5 MB of memory) for
 * every call, and a long linked list is typed a level of one block at a
 * time, millions of batches of one pointer.
 */
#define CH_SORT_FEW 128

/**
 * Write pairs[0..n) (ranks set) into sorted (room for n pairs) in the order
 * of their ranks, by insertion: stable, the order ch_sort_pairs_counted()
 * gives, in n * n steps at most (for n below CH_SORT_FEW).
 */
void ch_sort_pairs_few(const struct ch_sort_pair *pairs, size_t n,
		       struct ch_sort_pair *sorted);

#endif /* COREHEAP_RADIX_SORT_H */
