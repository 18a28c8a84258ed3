// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "ptrset.h"

void jem_ptrset_deinit(struct jem_ptrset *set)
{
	free(set->items);
	*set = (struct jem_ptrset){ 0 };
}

int jem_ptrset_add(struct jem_ptrset *set, uint64_t address, uint32_t tag)
{
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? 2 * set->capacity : 64;
		struct jem_ptr *grown;

		if (capacity > SIZE_MAX / sizeof(*grown))
			return -1;
		grown = realloc(set->items, capacity * sizeof(*grown));
		if (!grown)
			return -1;
		set->items = grown;
		set->capacity = capacity;
	}
	set->items[set->count++] = (struct jem_ptr){
		.address = address,
		.tag = tag,
	};
	set->sorted = false;
	return 0;
}

static int compare(const void *a, const void *b)
{
	const struct jem_ptr *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	// Keep the first found (lowest tag: lowest tcache) as the entry.
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

void jem_ptrset_sort(struct jem_ptrset *set,
		     void (*dup)(void *arg, const struct jem_ptr *kept,
				 uint32_t dropped_tag),
		     void *arg)
{
	size_t kept = 0;

	if (set->count > 1)
		qsort(set->items, set->count, sizeof(*set->items), compare);
	for (size_t i = 0; i < set->count; i++) {
		if (kept && set->items[kept - 1].address == set->items[i].address) {
			if (dup)
				dup(arg, &set->items[kept - 1], set->items[i].tag);
			continue;
		}
		set->items[kept++] = set->items[i];
	}
	set->count = kept;
	set->sorted = true;
}

size_t jem_ptrset_lower_bound(const struct jem_ptrset *set, uint64_t address)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->items[mid].address < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct jem_ptr *jem_ptrset_find(struct jem_ptrset *set, uint64_t address)
{
	size_t i = jem_ptrset_lower_bound(set, address);

	return i < set->count && set->items[i].address == address ?
		       &set->items[i] : NULL;
}
