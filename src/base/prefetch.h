/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Functions that only prefetch. Such a function has no effect that GCC can
 * see: unless it is inlined early, GCC's pure-const analysis finds it
 * "const" and drops its calls, prefetches and all (GCC 12 at -O2 does, for
 * any helper too large for the early inliner). Each is declared
 * CH_PREFETCHER, inlined always, so that its prefetches stay.
 */
#ifndef COREHEAP_PREFETCH_H
#define COREHEAP_PREFETCH_H

#define CH_PREFETCHER static inline __attribute__((always_inline))

#endif /* COREHEAP_PREFETCH_H */
