/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The best k of a stream of node numbers, in one pass and k slots: the
 * largest retained sizes for top's rows, a type's largest instances, the
 * treemap's root children that may be listed. The kept ones form a heap
 * whose top is the one ranking last of them, which each newcomer that
 * ranks before it replaces.
 *
 * `before(arg, a, b)` says that a ranks before b; it must be a strict
 * total order (ties broken by node number), so that what is kept does not
 * depend on the order of the stream or on the heap's layout.
 */
#ifndef COREHEAP_KEEP_BEST_H
#define COREHEAP_KEEP_BEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef bool ch_ranks_before_fn(const void *arg, uint32_t a, uint32_t b);

/**
 * Put v in place i of the heap kept[0, len) (whose other entries keep the
 * heap's order), moving down past those that rank last.
 */
static inline void ch_keep_best_sift_down(uint32_t *kept, size_t len,
					  size_t i, uint32_t v,
					  ch_ranks_before_fn *before,
					  const void *arg)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, last = l;

		if (l >= len)
			break;
		if (r < len && before(arg, kept[l], kept[r]))
			last = r;
		if (!before(arg, v, kept[last]))
			break;
		kept[i] = kept[last];
		i = last;
	}
	kept[i] = v;
}

/** Offer v to kept[0, *len), which holds at most cap. */
static inline void ch_keep_best(uint32_t *kept, size_t *len, size_t cap,
				uint32_t v, ch_ranks_before_fn *before,
				const void *arg)
{
	size_t i;

	if (*len < cap) {
		for (i = (*len)++; i > 0 && before(arg, kept[(i - 1) / 2], v);
		     i = (i - 1) / 2)
			kept[i] = kept[(i - 1) / 2];
		kept[i] = v;
	} else if (cap && before(arg, v, kept[0])) {
		ch_keep_best_sift_down(kept, cap, 0, v, before, arg);
	}
}

/** Sort the heap kept[0, len) in place, best first. */
static inline void ch_keep_best_sort(uint32_t *kept, size_t len,
				     ch_ranks_before_fn *before,
				     const void *arg)
{
	for (size_t end = len; end > 1; end--) {
		uint32_t last = kept[0];

		ch_keep_best_sift_down(kept, end - 1, 0, kept[end - 1], before,
				       arg);
		kept[end - 1] = last;
	}
}

#endif /* COREHEAP_KEEP_BEST_H */
