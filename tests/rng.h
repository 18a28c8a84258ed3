/* SPDX-License-Identifier: MIT */
/*
 * A small deterministic generator for the unit tests (xorshift64*), so
 * that a failure reproduces: set rng_state, then call rng().
 */
#ifndef COREHEAP_TESTS_RNG_H
#define COREHEAP_TESTS_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

#endif /* COREHEAP_TESTS_RNG_H */
