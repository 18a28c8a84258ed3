// SPDX-License-Identifier: MIT
// Python types from a core: whether a word is a type object, and its name
// as Python spells it (tp_name for static types, __module__ + '.' +
// __qualname__ for classes), cached by address since every object of a
// type asks again.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython.h"

bool py_read_u64(const struct py_walk *walk, uint64_t addr, uint64_t *ret)
{
	return walk->host->read(walk->host, addr, ret, sizeof(*ret)) ==
	       COREHEAP_OK;
}

void py_type_cache_deinit(struct py_type_cache *cache)
{
	for (size_t i = 0; i < cache->capacity; i++)
		free(cache->slots[i].name);
	free(cache->slots);
	*cache = (struct py_type_cache){ 0 };
}

static size_t slot_of(uint64_t address, size_t capacity)
{
	// Type objects are 8-aligned: the low bits say nothing.
	return (size_t)((address >> 3) * UINT64_C(0x9e3779b97f4a7c15) >> 20) &
	       (capacity - 1);
}

static struct py_type *cache_find(struct py_type_cache *cache,
				  uint64_t address)
{
	if (!cache->capacity)
		return NULL;
	for (size_t i = slot_of(address, cache->capacity);;
	     i = (i + 1) & (cache->capacity - 1)) {
		if (cache->slots[i].address == address)
			return &cache->slots[i];
		if (!cache->slots[i].address)
			return NULL;
	}
}

// A slot for address (not yet in the cache), growing it past half full.
static struct py_type *cache_insert(struct py_type_cache *cache,
				    uint64_t address)
{
	if (2 * (cache->types + cache->not_types + 1) > cache->capacity) {
		size_t capacity = cache->capacity ? 2 * cache->capacity : 1024;
		struct py_type *slots = calloc(capacity, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t i = 0; i < cache->capacity; i++) {
			struct py_type *old = &cache->slots[i];
			size_t j = slot_of(old->address, capacity);

			if (!old->address)
				continue;
			while (slots[j].address)
				j = (j + 1) & (capacity - 1);
			slots[j] = *old;
		}
		free(cache->slots);
		cache->slots = slots;
		cache->capacity = capacity;
	}
	for (size_t i = slot_of(address, cache->capacity);;
	     i = (i + 1) & (cache->capacity - 1)) {
		if (!cache->slots[i].address) {
			cache->slots[i].address = address;
			return &cache->slots[i];
		}
	}
}

/*
 * A str object's text, if it is a compact str of at most max - 1 bytes in
 * UTF-8 (ASCII, or with its UTF-8 form cached, or Latin-1 converted):
 * names are. False otherwise.
 */
bool py_read_str(struct py_walk *walk, uint64_t str, char *buf, size_t max)
{
	const struct coreheap_host *host = walk->host;
	const struct py_layout *layout = walk->layout;
	uint64_t length, utf8, utf8_length;
	uint32_t state;
	unsigned kind;

	if (!str || !max ||
	    !py_read_u64(walk, str + layout->unicode_length, &length) ||
	    host->read(host, str + layout->unicode_state, &state,
		       sizeof(state)))
		return false;
	kind = (state >> 2) & 7;
	// compact (bit 5) and, in 3.11, ready (bit 7): the text follows the
	// header.
	if (!(state & (1u << 5)) ||
	    (layout->unicode_ready_bit && !(state & layout->unicode_ready_bit)))
		return false;
	if (state & (1u << 6)) {
		if (length >= max ||
		    host->read(host, str + layout->ascii_data, buf, length))
			return false;
		buf[length] = '\0';
		return memchr(buf, '\0', length) == NULL;
	}
	if (py_read_u64(walk, str + layout->compact_utf8, &utf8) && utf8 &&
	    py_read_u64(walk, str + layout->compact_utf8_length,
			&utf8_length) &&
	    utf8_length < max && !host->read(host, utf8, buf, utf8_length)) {
		buf[utf8_length] = '\0';
		return memchr(buf, '\0', utf8_length) == NULL;
	}
	if (kind != 1 || 2 * length >= max)
		return false;
	// Latin-1 to UTF-8: at most two bytes a character.
	unsigned char latin1[PY_MAX_NAME];
	size_t out = 0;

	if (length > sizeof(latin1) ||
	    host->read(host, str + layout->compact_data, latin1, length))
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!latin1[i])
			return false;
		if (latin1[i] < 0x80) {
			buf[out++] = latin1[i];
		} else {
			buf[out++] = 0xc0 | (latin1[i] >> 6);
			buf[out++] = 0x80 | (latin1[i] & 0x3f);
		}
	}
	buf[out] = '\0';
	return true;
}

/*
 * The str value of key in the dict at dict (a type's dict: combined, its
 * values in its entries). False if not there or not a str.
 */
static bool dict_str_item(struct py_walk *walk, uint64_t dict,
			  const char *key, char *buf, size_t max)
{
	const struct coreheap_host *host = walk->host;
	const struct py_layout *layout = walk->layout;
	uint64_t keys, values, nentries, entries;
	uint8_t head[3];
	size_t entry_size;

	if (!dict || !py_read_u64(walk, dict + layout->dict_keys, &keys) ||
	    !py_read_u64(walk, dict + layout->dict_values, &values) ||
	    values ||
	    host->read(host, keys + layout->keys_log2_size, &head[0], 1) ||
	    host->read(host, keys + layout->keys_log2_index_bytes, &head[1],
		       1) ||
	    host->read(host, keys + layout->keys_kind, &head[2], 1) ||
	    !py_read_u64(walk, keys + layout->keys_nentries, &nentries))
		return false;
	// A type's dict has tens of entries; a bigger count is damage.
	if (head[0] > 16 || head[1] > 20 || nentries > (UINT64_C(1) << head[0]))
		return false;
	entry_size = head[2] == PY_KEYS_KIND_GENERAL ? 24 : 16;
	entries = keys + layout->keys_indices + (UINT64_C(1) << head[1]);
	for (uint64_t i = 0; i < nentries; i++) {
		uint64_t entry = entries + i * entry_size, k, v;
		char name[32];

		if (entry_size == 24)
			entry += 8;  // past me_hash
		if (!py_read_u64(walk, entry, &k) ||
		    !py_read_u64(walk, entry + 8, &v))
			return false;
		if (k && v && py_read_str(walk, k, name, sizeof(name)) &&
		    strcmp(name, key) == 0)
			return py_read_str(walk, v, buf, max);
	}
	return false;
}

// A class's name: __module__ + '.' + __qualname__ ("builtins" left out,
// as Python's repr leaves it out).
static char *class_name(struct py_walk *walk, uint64_t type,
			const uint8_t *object)
{
	char qualname[PY_MAX_NAME], module[PY_MAX_NAME];
	uint64_t ht_qualname, dict;
	char *name;

	if (walk->host->read(walk->host, type + walk->layout->ht_qualname,
			     &ht_qualname, sizeof(ht_qualname)) ||
	    !py_read_str(walk, ht_qualname, qualname, sizeof(qualname)) ||
	    !qualname[0])
		return NULL;
	memcpy(&dict, object + walk->layout->tp_dict, sizeof(dict));
	if (!dict_str_item(walk, dict, "__module__", module, sizeof(module)) ||
	    strcmp(module, "builtins") == 0)
		return strdup(qualname);
	if (asprintf(&name, "%s.%s", module, qualname) < 0)
		return NULL;
	return name;
}

static bool printable_name(const char *name, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	}
	return true;
}

// Whether meta is `type` or a metatype (a subclass of type), to depth.
static bool is_metatype(struct py_walk *walk, uint64_t meta, int depth)
{
	uint64_t flags, meta_meta;

	if (meta == walk->st->type_type)
		return true;
	if (depth <= 0 || !meta ||
	    !py_read_u64(walk, meta + walk->layout->tp_flags, &flags) ||
	    !(flags & PY_TPFLAGS_TYPE_SUBCLASS) || !(flags & PY_TPFLAGS_READY) ||
	    !py_read_u64(walk, meta + walk->layout->ob_type, &meta_meta))
		return false;
	return is_metatype(walk, meta_meta, depth - 1);
}

// Read the type at address; *name_ret its name (malloc'd) if it is one.
static void examine_type(struct py_walk *walk, uint64_t address,
			 struct py_type *ret)
{
	const struct py_layout *layout = walk->layout;
	uint8_t object[PY_MAX_TYPE_OBJECT_SIZE];
	uint64_t refcnt, meta, tp_name, basicsize, itemsize, flags;
	char name[PY_MAX_NAME];

	if (address & 7 || walk->host->read(walk->host, address, object,
					    layout->type_object_size))
		return;
	memcpy(&refcnt, object + layout->ob_refcnt, 8);
	memcpy(&meta, object + layout->ob_type, 8);
	memcpy(&tp_name, object + layout->tp_name, 8);
	memcpy(&basicsize, object + layout->tp_basicsize, 8);
	memcpy(&itemsize, object + layout->tp_itemsize, 8);
	memcpy(&flags, object + layout->tp_flags, 8);
	// 3.12 and later make static types immortal: their refcount is
	// 2^32 - 1 and stays so, well below the bound.
	if (!refcnt || refcnt >> 40 || !(flags & PY_TPFLAGS_READY) ||
	    basicsize < 16 || basicsize > (1u << 20) || itemsize > (1u << 16) ||
	    !is_metatype(walk, meta, 3))
		return;
	// tp_name: a C string, read up to the first NUL.
	if (walk->host->read(walk->host, tp_name, name, sizeof(name))) {
		size_t len = 0;

		// Near the end of a mapping: byte by byte.
		while (len < sizeof(name) &&
		       !walk->host->read(walk->host, tp_name + len, name + len,
					 1) &&
		       name[len])
			len++;
		if (len == sizeof(name))
			return;
		name[len] = '\0';
	}
	if (!memchr(name, '\0', sizeof(name)) ||
	    !printable_name(name, strlen(name)))
		return;
	ret->flags = flags;
	ret->preheader = (flags & PY_TPFLAGS_HAVE_GC ? PY_GC_HEAD_SIZE : 0) +
			 (flags & layout->tpflags_preheader ?
				  PY_MANAGED_DICT_SIZE :
				  0);
	ret->basicsize = (uint32_t)basicsize;
	if (flags & PY_TPFLAGS_HEAPTYPE)
		ret->name = class_name(walk, address, object);
	if (!ret->name)
		ret->name = strdup(name);
	if (!ret->name)
		walk->status = COREHEAP_NOMEM;
}

const struct py_type *py_type_at(struct py_walk *walk, uint64_t address)
{
	struct py_type_cache *cache = &walk->types;
	struct py_type *found = cache_find(cache, address), examined = { 0 };

	if (!address)
		return NULL;
	if (found)
		return found->name ? found : NULL;
	examine_type(walk, address, &examined);
	// Past the caps, answers are given but not kept.
	if ((examined.name && cache->types >= PY_MAX_TYPES) ||
	    (!examined.name && cache->not_types >= PY_MAX_NOT_TYPES)) {
		free(examined.name);
		return NULL;
	}
	found = cache_insert(cache, address);
	if (!found) {
		free(examined.name);
		walk->status = COREHEAP_NOMEM;
		return NULL;
	}
	found->flags = examined.flags;
	found->after_walk = cache->walk_over;
	found->preheader = examined.preheader;
	found->basicsize = examined.basicsize;
	found->name = examined.name;
	if (found->name)
		cache->types++;
	else
		cache->not_types++;
	return found->name ? found : NULL;
}

const struct py_type *py_object_in_block(struct py_walk *walk,
					 uint64_t address, uint64_t size,
					 uint64_t *object_ret)
{
	// An object begins at the block, or past its GC head, or past its
	// GC head and managed dict: the type it names must agree.
	static const uint32_t offsets[] = {
		0, PY_GC_HEAD_SIZE, PY_GC_HEAD_SIZE + PY_MANAGED_DICT_SIZE
	};
	uint64_t words[8];

	if (size < 16)
		return NULL;
	if (walk->host->read(walk->host, address, words,
			     size < sizeof(words) ? size : sizeof(words)))
		return NULL;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint32_t offset = offsets[i];
		uint64_t refcnt, type_address;
		const struct py_type *type;

		if (offset + 16 > size || offset + 16 > sizeof(words))
			break;
		refcnt = words[offset / 8];
		type_address = words[offset / 8 + 1];
		// A refcount is small; a pointer in its place is no object.
		if (!refcnt || refcnt >> 40 || !type_address)
			continue;
		type = py_type_at(walk, type_address);
		if (type && type->preheader == offset) {
			*object_ret = address + offset;
			return type;
		}
	}
	return NULL;
}
