/* SPDX-License-Identifier: MIT */
// Whether memory holds one byte value throughout (the pages tests: given
// back reads zeroes, kept reads what was written).
#ifndef COREHEAP_TESTS_ALL_BYTES_H
#define COREHEAP_TESTS_ALL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool all_bytes(const uint8_t *p, size_t size, uint8_t value)
{
	for (size_t i = 0; i < size; i++) {
		if (p[i] != value)
			return false;
	}
	return true;
}

#endif /* COREHEAP_TESTS_ALL_BYTES_H */
