/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Bitmaps of one bit per node or block, in 64-bit words: the sets the
 * analyses keep over tens of millions of allocations at an eighth of a byte
 * each.
 */
#ifndef COREHEAP_BITMAP_H
#define COREHEAP_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The words a bitmap of n bits takes. */
static inline size_t ch_bitmap_words(size_t n)
{
	return (n + 63) / 64;
}

static inline bool ch_bit_get(const uint64_t *bits, size_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static inline void ch_bit_set(uint64_t *bits, size_t i)
{
	bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void ch_bit_clear(uint64_t *bits, size_t i)
{
	bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static inline void ch_bit_assign(uint64_t *bits, size_t i, bool value)
{
	if (value)
		ch_bit_set(bits, i);
	else
		ch_bit_clear(bits, i);
}

/**
 * The bits set in word, without the POPCNT instruction (not in the
 * baseline x86-64 the build targets, where __builtin_popcountll() is a
 * call).
 */
static inline unsigned ch_count_bits(uint64_t word)
{
	word -= word >> 1 & UINT64_C(0x5555555555555555);
	word = (word & UINT64_C(0x3333333333333333)) +
	       (word >> 2 & UINT64_C(0x3333333333333333));
	word = (word + (word >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (unsigned)((word * UINT64_C(0x0101010101010101)) >> 56);
}

#endif /* COREHEAP_BITMAP_H */
