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
