// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "base/hash_map.h"
#include "base/large_alloc.h"

#define INITIAL_CAPACITY 64

static size_t hash_u64(uint64_t key)
{
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return key;
}

void ch_u64_map_deinit(struct ch_u64_map *map)
{
	ch_free_large(map->entries);
	*map = (struct ch_u64_map){ 0 };
}

bool ch_u64_map_get(const struct ch_u64_map *map, uint64_t key,
		    uint64_t *value_ret)
{
	size_t mask = map->capacity - 1;

	if (!map->capacity)
		return false;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		if (map->entries[i].key == key) {
			*value_ret = map->entries[i].value;
			return true;
		}
		if (map->entries[i].key == CH_U64_MAP_EMPTY)
			return false;
	}
}

void ch_u64_map_prefetch(const struct ch_u64_map *map, uint64_t key)
{
	if (map->capacity)
		__builtin_prefetch(&map->entries[hash_u64(key) &
						 (map->capacity - 1)]);
}

static void u64_insert(struct ch_u64_map_entry *entries, size_t capacity,
		       uint64_t key, uint64_t value, size_t *len)
{
	size_t mask = capacity - 1;
	size_t i = hash_u64(key) & mask;

	while (entries[i].key != CH_U64_MAP_EMPTY && entries[i].key != key)
		i = (i + 1) & mask;
	if (entries[i].key == CH_U64_MAP_EMPTY)
		(*len)++;
	entries[i] = (struct ch_u64_map_entry){ .key = key, .value = value };
}

// How many slots of from ahead of the one inserted have theirs fetched.
#define INSERT_AHEAD 16

/*
 * Insert the entries in from[0, count) (empty slots skipped) into entries:
 * in a map larger than the caches each is a miss, fetched ahead so that
 * they overlap.
 */
static void u64_insert_all(struct ch_u64_map_entry *entries, size_t capacity,
			   const struct ch_u64_map_entry *from, size_t count,
			   size_t *len)
{
	size_t mask = capacity - 1;

	for (size_t i = 0; i < count; i++) {
		if (i + INSERT_AHEAD < count &&
		    from[i + INSERT_AHEAD].key != CH_U64_MAP_EMPTY)
			__builtin_prefetch(&entries[hash_u64(from[i + INSERT_AHEAD].key) &
						    mask],
					   1);
		if (from[i].key != CH_U64_MAP_EMPTY)
			u64_insert(entries, capacity, from[i].key,
				   from[i].value, len);
	}
}

// Room for len entries: the capacity doubled until they fill 3/4 at most.
static struct ch_error *u64_reserve(struct ch_u64_map *map, size_t len)
{
	size_t capacity = map->capacity ? map->capacity : INITIAL_CAPACITY;
	struct ch_u64_map_entry *entries;
	size_t kept = 0;

	while (len > capacity / 4 * 3) {
		if (capacity > SIZE_MAX / 2 / sizeof(*entries))
			return &ch_enomem;
		capacity *= 2;
	}
	if (capacity == map->capacity)
		return NULL;
	entries = ch_malloc_large(capacity * sizeof(*entries));
	if (!entries)
		return &ch_enomem;
	for (size_t i = 0; i < capacity; i++)
		entries[i].key = CH_U64_MAP_EMPTY;
	u64_insert_all(entries, capacity, map->entries, map->capacity, &kept);
	ch_free_large(map->entries);
	map->entries = entries;
	map->capacity = capacity;
	map->len = kept;
	return NULL;
}

struct ch_error *ch_u64_map_put(struct ch_u64_map *map, uint64_t key,
				uint64_t value)
{
	struct ch_error *err = u64_reserve(map, map->len + 1);

	if (err)
		return err;
	u64_insert(map->entries, map->capacity, key, value, &map->len);
	return NULL;
}

struct ch_error *ch_u64_map_put_all(struct ch_u64_map *map,
				    const struct ch_u64_map *from)
{
	struct ch_error *err = u64_reserve(map, map->len + from->len);

	if (err)
		return err;
	u64_insert_all(map->entries, map->capacity, from->entries,
		       from->capacity, &map->len);
	return NULL;
}

void ch_u64_map_clear(struct ch_u64_map *map)
{
	for (size_t i = 0; i < map->capacity; i++)
		map->entries[i].key = CH_U64_MAP_EMPTY;
	map->len = 0;
}

// FNV-1a, skipping spaces if asked.
static uint32_t hash_name(const char *s, bool ignore_spaces)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		if (ignore_spaces && *s == ' ')
			continue;
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

bool ch_names_equal_ignoring_spaces(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

static bool names_equal(const char *a, const char *b, bool ignore_spaces)
{
	return ignore_spaces ? ch_names_equal_ignoring_spaces(a, b) :
			       strcmp(a, b) == 0;
}

void ch_name_map_deinit(struct ch_name_map *map)
{
	bool ignore_spaces = map->ignore_spaces;

	free(map->keys);
	free(map->hashes);
	free(map->values);
	*map = (struct ch_name_map){ .ignore_spaces = ignore_spaces };
}

bool ch_name_map_get(const struct ch_name_map *map, const char *key,
		     uint32_t *value_ret)
{
	size_t mask = map->capacity - 1;
	uint32_t h;

	if (!map->capacity)
		return false;
	h = hash_name(key, map->ignore_spaces);
	for (size_t i = h & mask; map->keys[i]; i = (i + 1) & mask) {
		if (map->hashes[i] == h &&
		    names_equal(map->keys[i], key, map->ignore_spaces)) {
			*value_ret = map->values[i];
			return true;
		}
	}
	return false;
}

static struct ch_error *name_map_grow(struct ch_name_map *map)
{
	size_t capacity = map->capacity ? 2 * map->capacity : INITIAL_CAPACITY;
	const char **keys = calloc(capacity, sizeof(*keys));
	uint32_t *hashes = malloc(capacity * sizeof(*hashes));
	uint32_t *values = malloc(capacity * sizeof(*values));

	if (!keys || !hashes || !values) {
		free(keys);
		free(hashes);
		free(values);
		return &ch_enomem;
	}
	for (size_t i = 0; i < map->capacity; i++) {
		size_t j;

		if (!map->keys[i])
			continue;
		for (j = map->hashes[i] & (capacity - 1); keys[j];
		     j = (j + 1) & (capacity - 1))
			;
		keys[j] = map->keys[i];
		hashes[j] = map->hashes[i];
		values[j] = map->values[i];
	}
	free(map->keys);
	free(map->hashes);
	free(map->values);
	map->keys = keys;
	map->hashes = hashes;
	map->values = values;
	map->capacity = capacity;
	return NULL;
}

struct ch_error *ch_name_map_put(struct ch_name_map *map, const char *key,
				 uint32_t value)
{
	uint32_t h = hash_name(key, map->ignore_spaces);
	size_t mask, i;

	if ((map->len + 1) * 4 > map->capacity * 3) {
		struct ch_error *err = name_map_grow(map);

		if (err)
			return err;
	}
	mask = map->capacity - 1;
	for (i = h & mask; map->keys[i]; i = (i + 1) & mask) {
		if (map->hashes[i] == h &&
		    names_equal(map->keys[i], key, map->ignore_spaces)) {
			map->values[i] = value;
			return NULL;
		}
	}
	map->keys[i] = key;
	map->hashes[i] = h;
	map->values[i] = value;
	map->len++;
	return NULL;
}
