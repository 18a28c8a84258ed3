/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A set of chunk addresses with a 32-bit tag each: open addressing, grows by
 * doubling, so adding n addresses costs n amortised steps and no allocation
 * per address.
 */
#ifndef COREHEAP_GLIBC_ADDRSET_H
#define COREHEAP_GLIBC_ADDRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Zero-initialised is an empty set. Keys must not be 0. */
struct ptm_addrset {
	uint64_t *keys;
	uint32_t *tags;
	size_t mask;   /**< capacity - 1, or 0 when unallocated */
	size_t count;
};

/** Free the tables. */
void ptm_addrset_deinit(struct ptm_addrset *set);

/**
 * Add @p key with @p tag. Returns 1 if added, 0 if it was there already (its
 * old tag goes to *old_tag_ret when not NULL), -1 out of memory.
 */
int ptm_addrset_add(struct ptm_addrset *set, uint64_t key, uint32_t tag,
		    uint32_t *old_tag_ret);

/** True if @p key is in the set; its tag goes to *tag_ret when not NULL. */
bool ptm_addrset_find(const struct ptm_addrset *set, uint64_t key,
		      uint32_t *tag_ret);

/**
 * The keys of @p set, sorted, in *ret (caller frees; NULL when empty), for
 * walks that meet addresses in order. Returns 0, or -1 out of memory.
 */
int ptm_addrset_sorted_keys(const struct ptm_addrset *set, uint64_t **ret);

/** A position in a sorted key array, moved forward only. */
struct ptm_key_cursor {
	const uint64_t *keys;
	size_t count;
	size_t next;   /**< first key not known to be below the last query */
};

/** Point @p cursor at the first key >= @p from (binary search). */
void ptm_key_cursor_seek(struct ptm_key_cursor *cursor, uint64_t from);

/**
 * True if @p key is in the array. Queries must not decrease between seeks:
 * each costs the keys passed over, so a walk in address order costs one
 * step per key overall.
 */
static inline bool ptm_key_cursor_has(struct ptm_key_cursor *cursor,
				      uint64_t key)
{
	while (cursor->next < cursor->count && cursor->keys[cursor->next] < key)
		cursor->next++;
	return cursor->next < cursor->count &&
	       cursor->keys[cursor->next] == key;
}

#endif /* COREHEAP_GLIBC_ADDRSET_H */
