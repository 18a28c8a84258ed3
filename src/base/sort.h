/* SPDX-License-Identifier: MIT */
/**
 * @file
 * qsort() and qsort_r() for arrays that may be empty. An empty vector's
 * array is NULL, and qsort() must not be given a null pointer even with
 * no elements (C11 7.22.5; UBSan reports it): below two elements an
 * array is sorted already, and these return without calling it, so that
 * no caller has to remember. And the shift that buckets numbers by their
 * high bits.
 */
#ifndef COREHEAP_SORT_H
#define COREHEAP_SORT_H

#include <stddef.h>
#include <stdlib.h>

/** qsort(base, n, size, compare), when there are two elements or more. */
static inline void ch_sort(void *base, size_t n, size_t size,
			   int (*compare)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, compare);
}

/** qsort_r(base, n, size, compare, arg), when there are two elements or more. */
static inline void ch_sort_r(void *base, size_t n, size_t size,
			     int (*compare)(const void *, const void *, void *),
			     void *arg)
{
	if (n > 1)
		qsort_r(base, n, size, compare, arg);
}

/**
 * The least shift that puts each number below n in one of 1 << bits
 * buckets (its bucket: the number >> shift); 0 when n is 0.
 */
static inline unsigned ch_bucket_shift(size_t n, unsigned bits)
{
	unsigned shift = 0;

	while (n && (n - 1) >> shift >= (size_t)1 << bits)
		shift++;
	return shift;
}

#endif /* COREHEAP_SORT_H */
