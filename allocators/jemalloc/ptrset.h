/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A set of addresses with a tag and a "met" flag each, built by appending
 * and then sorted once: the extent walk goes through memory in address
 * order and meets the set's members in the same order.
 */
#ifndef COREHEAP_JEMALLOC_PTRSET_H
#define COREHEAP_JEMALLOC_PTRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jem_ptr {
	uint64_t address;
	uint32_t tag;
	/** Set by the walk when an extent accounted for this address. */
	bool met;
};

/** Zero-initialised is an empty set. */
struct jem_ptrset {
	struct jem_ptr *items;
	size_t count, capacity;
	bool sorted;
};

void jem_ptrset_deinit(struct jem_ptrset *set);

/** Append; 0, or -1 out of memory. Duplicates are kept until sorted. */
int jem_ptrset_add(struct jem_ptrset *set, uint64_t address, uint32_t tag);

/**
 * Sort and drop duplicates. For each dropped duplicate, @p dup (if not
 * NULL) is called with the kept entry and the dropped one's tag.
 */
void jem_ptrset_sort(struct jem_ptrset *set,
		     void (*dup)(void *arg, const struct jem_ptr *kept,
				 uint32_t dropped_tag),
		     void *arg);

/** The entry at @p address (set sorted), or NULL. */
struct jem_ptr *jem_ptrset_find(struct jem_ptrset *set, uint64_t address);

/** The first entry at or after @p address (set sorted); count if none. */
size_t jem_ptrset_lower_bound(const struct jem_ptrset *set, uint64_t address);

#endif /* COREHEAP_JEMALLOC_PTRSET_H */
