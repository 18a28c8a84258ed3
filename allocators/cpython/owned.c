// SPDX-License-Identifier: MIT
// The memory Python objects own that is no object: a list's item array, a
// dict's keys and values. Each object the walk reports notes what it owns
// (by address); the PyMem buffers of pymalloc's pools wait until every
// object was seen, then are reported with the owner's word for them, and
// the native blocks so owned get their type through the host.

#include <stdlib.h>
#include <string.h>

#include "cpython.h"

const char *const py_owned_names[] = {
	[PY_OWNED_NONE] = NULL,
	[PY_OWNED_LIST_ITEMS] = "list items",
	[PY_OWNED_DICT_KEYS] = "dict keys",
	[PY_OWNED_DICT_VALUES] = "dict values",
};

static size_t slot_of(uint64_t address, size_t capacity)
{
	return (size_t)((address >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 17) &
	       (capacity - 1);
}

static void note(struct py_walk *walk, uint64_t address, uint8_t kind)
{
	struct py_owned_table *table = &walk->owned;

	if (!address || address & 7 || table->count >= PY_MAX_OWNED)
		return;
	if (2 * (table->count + 1) > table->capacity) {
		size_t capacity = table->capacity ? 2 * table->capacity : 4096;
		struct py_owned *slots = calloc(capacity, sizeof(*slots));

		if (!slots) {
			walk->status = COREHEAP_NOMEM;
			return;
		}
		for (size_t i = 0; i < table->capacity; i++) {
			struct py_owned *old = &table->slots[i];
			size_t j;

			if (!old->address)
				continue;
			j = slot_of(old->address, capacity);
			while (slots[j].address)
				j = (j + 1) & (capacity - 1);
			slots[j] = *old;
		}
		free(table->slots);
		table->slots = slots;
		table->capacity = capacity;
	}
	for (size_t i = slot_of(address, table->capacity);;
	     i = (i + 1) & (table->capacity - 1)) {
		// One owner's word per address: the first one kept.
		if (table->slots[i].address == address)
			return;
		if (!table->slots[i].address) {
			table->slots[i] = (struct py_owned){ address, kind };
			table->count++;
			return;
		}
	}
}

uint8_t py_owned_kind(const struct py_walk *walk, uint64_t address)
{
	const struct py_owned_table *table = &walk->owned;

	if (!table->capacity)
		return PY_OWNED_NONE;
	for (size_t i = slot_of(address, table->capacity);;
	     i = (i + 1) & (table->capacity - 1)) {
		if (table->slots[i].address == address)
			return table->slots[i].kind;
		if (!table->slots[i].address)
			return PY_OWNED_NONE;
	}
}

/*
 * The block of a dict's values: 3.11 allocates them behind a prefix
 * (the insertion order) whose size, a whole number of words under 256, is
 * the byte just before the values; 3.13 from their start.
 */
uint64_t py_values_block(struct py_walk *walk, uint64_t values)
{
	uint8_t prefix;

	if (!values || !walk->layout->values_prefix ||
	    walk->host->read(walk->host, values - 1, &prefix, 1) ||
	    !prefix || prefix % 8 || prefix > values)
		return values;
	return values - prefix;
}

void py_note_owned(struct py_walk *walk, uint64_t object,
		   const struct py_type *type)
{
	const struct py_layout *layout = walk->layout;
	uint64_t word;

	if (type->flags & PY_TPFLAGS_LIST_SUBCLASS &&
	    py_read_u64(walk, object + layout->list_items, &word))
		note(walk, word, PY_OWNED_LIST_ITEMS);
	if (type->flags & PY_TPFLAGS_DICT_SUBCLASS) {
		if (py_read_u64(walk, object + layout->dict_keys, &word))
			note(walk, word, PY_OWNED_DICT_KEYS);
		if (py_read_u64(walk, object + layout->dict_values, &word))
			note(walk, py_values_block(walk, word),
			     PY_OWNED_DICT_VALUES);
	}
	// An instance's attributes before it has a dict: in 3.11 the values
	// its managed dict pointers hold, the first word of its pre-header
	// (3.13 keeps them inline, in the object's own block).
	if (type->flags & PY_TPFLAGS_MANAGED_DICT &&
	    layout->managed_values >= 0 &&
	    py_read_u64(walk,
			object - type->preheader + (uint64_t)layout->managed_values,
			&word))
		note(walk, py_values_block(walk, word), PY_OWNED_DICT_VALUES);
}

void py_defer_buffer(struct py_walk *walk, uint64_t address, uint32_t size)
{
	struct py_buffers *buffers = &walk->buffers_pending;

	if (buffers->len == buffers->capacity) {
		size_t capacity = buffers->capacity ? 2 * buffers->capacity :
						      4096;
		struct py_buffer *grown =
			realloc(buffers->items, capacity * sizeof(*grown));

		if (!grown) {
			walk->status = COREHEAP_NOMEM;
			return;
		}
		buffers->items = grown;
		buffers->capacity = capacity;
	}
	buffers->items[buffers->len++] = (struct py_buffer){ address, size };
}

void py_report_owned(struct py_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	const struct py_buffers *buffers = &walk->buffers_pending;

	for (size_t i = 0; i < buffers->len && walk->status == COREHEAP_OK;
	     i++) {
		uint8_t kind = py_owned_kind(walk, buffers->items[i].address);
		struct coreheap_block block = {
			.address = buffers->items[i].address,
			.size = buffers->items[i].size,
			.state = COREHEAP_BLOCK_LIVE,
			.region = walk->arenas_region,
			.type_name = py_owned_names[kind],
		};

		if (host->add_block(host, &block) == COREHEAP_NOMEM)
			walk->status = COREHEAP_NOMEM;
		walk->owned_buffers += kind != PY_OWNED_NONE;
	}
	// The native blocks owned: those that start where an owner points
	// (the rest of the table is pymalloc's buffers, no native block).
	for (size_t i = 0; i < walk->owned.capacity &&
			   walk->status == COREHEAP_OK;
	     i++) {
		const struct py_owned *owned = &walk->owned.slots[i];
		int status;

		if (!owned->address)
			continue;
		status = host->type_block(host, owned->address,
					  py_owned_names[owned->kind]);
		if (status == COREHEAP_NOMEM)
			walk->status = COREHEAP_NOMEM;
		walk->owned_native += status == COREHEAP_OK;
	}
}

void py_owned_deinit(struct py_walk *walk)
{
	free(walk->owned.slots);
	free(walk->buffers_pending.items);
	walk->owned = (struct py_owned_table){ 0 };
	walk->buffers_pending = (struct py_buffers){ 0 };
}
