// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "addrset.h"

static size_t slot_of(uint64_t key, size_t mask)
{
	// Chunk addresses are 16-aligned: drop the zero bits, then mix.
	return (size_t)(((key >> 4) * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

void ptm_addrset_deinit(struct ptm_addrset *set)
{
	free(set->keys);
	free(set->tags);
	*set = (struct ptm_addrset){0};
}

static void insert(uint64_t *keys, uint32_t *tags, size_t mask, uint64_t key,
		   uint32_t tag)
{
	size_t i = slot_of(key, mask);

	while (keys[i])
		i = (i + 1) & mask;
	keys[i] = key;
	tags[i] = tag;
}

static int grow(struct ptm_addrset *set)
{
	size_t cap = set->mask ? (set->mask + 1) * 2 : 64;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *tags = malloc(cap * sizeof(*tags));

	if (!keys || !tags) {
		free(keys);
		free(tags);
		return -1;
	}
	for (size_t i = 0; set->mask && i <= set->mask; i++) {
		if (set->keys[i])
			insert(keys, tags, cap - 1, set->keys[i], set->tags[i]);
	}
	free(set->keys);
	free(set->tags);
	set->keys = keys;
	set->tags = tags;
	set->mask = cap - 1;
	return 0;
}

bool ptm_addrset_find(const struct ptm_addrset *set, uint64_t key,
		      uint32_t *tag_ret)
{
	if (!set->count)
		return false;
	for (size_t i = slot_of(key, set->mask); set->keys[i];
	     i = (i + 1) & set->mask) {
		if (set->keys[i] == key) {
			if (tag_ret)
				*tag_ret = set->tags[i];
			return true;
		}
	}
	return false;
}

int ptm_addrset_add(struct ptm_addrset *set, uint64_t key, uint32_t tag,
		    uint32_t *old_tag_ret)
{
	if (ptm_addrset_find(set, key, old_tag_ret))
		return 0;
	// Keep the load at most one half so probes stay short.
	if ((set->count + 1) * 2 > set->mask + 1 && grow(set))
		return -1;
	insert(set->keys, set->tags, set->mask, key, tag);
	set->count++;
	return 1;
}

static int compare_keys(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ptm_addrset_sorted_keys(const struct ptm_addrset *set, uint64_t **ret)
{
	uint64_t *keys;
	size_t n = 0;

	*ret = NULL;
	if (!set->count)
		return 0;
	keys = malloc(set->count * sizeof(*keys));
	if (!keys)
		return -1;
	for (size_t i = 0; i <= set->mask && n < set->count; i++) {
		if (set->keys[i])
			keys[n++] = set->keys[i];
	}
	qsort(keys, n, sizeof(*keys), compare_keys);
	*ret = keys;
	return 0;
}

void ptm_key_cursor_seek(struct ptm_key_cursor *cursor, uint64_t from)
{
	size_t lo = 0, hi = cursor->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cursor->keys[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	cursor->next = lo;
}
