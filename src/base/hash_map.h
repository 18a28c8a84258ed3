/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Two small open-addressing hash maps for the type work: one from 64-bit
 * keys to 64-bit values, one from strings to 32-bit values. No allocation
 * per entry: each map is two or three flat arrays that double when 3/4
 * full. A zeroed map is empty and valid; _deinit frees it.
 */
#ifndef COREHEAP_HASH_MAP_H
#define COREHEAP_HASH_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/** Key that can never be stored: it marks an empty slot. */
#define CH_U64_MAP_EMPTY UINT64_MAX

struct ch_u64_map_entry {
	uint64_t key, value;
};

struct ch_u64_map {
	/** Keys beside their values: a lookup in a large map, one miss. */
	struct ch_u64_map_entry *entries;
	size_t capacity; /**< a power of two, or 0 */
	size_t len;
};

void ch_u64_map_deinit(struct ch_u64_map *map);

/** True and *value_ret set if key is there. */
bool ch_u64_map_get(const struct ch_u64_map *map, uint64_t key,
		    uint64_t *value_ret);

/**
 * Fetch the line where a lookup of key starts into the caches, for a
 * lookup or insert a little later: in a map of millions, each is a miss.
 */
void ch_u64_map_prefetch(const struct ch_u64_map *map, uint64_t key);

/** Insert or replace. key must not be CH_U64_MAP_EMPTY. */
struct ch_error *ch_u64_map_put(struct ch_u64_map *map, uint64_t key,
				uint64_t value);

/**
 * Insert or replace every entry of from, the map grown once and each
 * insert fetched ahead: many entries at once cost less than one by one.
 */
struct ch_error *ch_u64_map_put_all(struct ch_u64_map *map,
				    const struct ch_u64_map *from);

/** Empty the map, keeping its room. */
void ch_u64_map_clear(struct ch_u64_map *map);

/**
 * A map from strings to 32-bit values. The map does not copy keys: each
 * must stay valid and unchanged while it is in the map. With ignore_spaces,
 * keys that differ only in spaces are the same key ("Box<Pair<int> >" and
 * "Box<Pair<int>>"), as template names from different producers differ so.
 */
struct ch_name_map {
	const char **keys;
	uint32_t *hashes;
	uint32_t *values;
	size_t capacity;
	size_t len;
	bool ignore_spaces;
};

void ch_name_map_deinit(struct ch_name_map *map);

bool ch_name_map_get(const struct ch_name_map *map, const char *key,
		     uint32_t *value_ret);

/** Insert or replace; key is kept by pointer. */
struct ch_error *ch_name_map_put(struct ch_name_map *map, const char *key,
				 uint32_t value);

/**
 * Whether two names are equal once spaces are ignored: DWARF and the
 * demangler space template arguments differently ("Box<int*>" and
 * "Box<int *>").
 */
bool ch_names_equal_ignoring_spaces(const char *a, const char *b);

#endif /* COREHEAP_HASH_MAP_H */
