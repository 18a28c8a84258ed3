// SPDX-License-Identifier: MIT
// What a Python object holds, exactly, and the roots Python names.
//
// references(): the objects a list, tuple, dict, cell or instance of a
// class refers to, named as Python spells the step ("[3]", "['abc']",
// ".buffer"), read with the version's struct py_layout (3.11, 3.13;
// other versions are left to the host's scan); the buffers an
// object owns (a list's item array, a dict's keys and values) are
// references too, unnamed, so that they stay reachable. An object of a
// layout not known here is left to the host's conservative scan.
//
// roots(): every module's globals ("module __main__ .sessions"), the
// locals of every frame of every thread ("thread 2 (tid 4242) frame
// handle_request() local req", frames as frames.c walks them), the
// interned strings, and the dict of every type met ("type
// __main__.Session .__dict__"; 3.13 keeps a static type's dict and
// subclasses in each interpreter's state).
//
// declare_unrooted(): the runtime's memory that holds stale or internal
// pointers, no reference: the frames' stack above its top, the GC
// generations' heads, the free lists' slots past their count.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython.h"

/** The most items of one container listed: a bound against damage. */
#define PY_MAX_ITEMS (UINT64_C(1) << 27)
/** Longest text of a dict key kept in a step's name. */
#define PY_MAX_KEY_TEXT 64
/** The most frames followed per thread, threads per interpreter. */
#define PY_MAX_FRAMES 4096
#define PY_MAX_THREADS 4096
/** The most entries of one module's dict, and modules, listed. */
#define PY_MAX_GLOBALS (UINT64_C(1) << 20)
/** The most roots named, all told: a bound against a hostile core. */
#define PY_MAX_ROOTS (UINT64_C(1) << 24)

/** Where one call's references go. */
struct ref_sink {
	struct py_walk *walk;
	bool names;
	coreheap_reference_fn fn;
	void *arg;
	int status;
};

static void emit_flags(struct ref_sink *sink, uint64_t target,
		       const char *name, uint32_t flags)
{
	struct coreheap_reference ref = {
		.target = target,
		.name = sink->names ? name : NULL,
		.flags = flags,
	};

	if (!target || sink->status != COREHEAP_OK)
		return;
	if (!sink->walk->refs_budget) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	sink->walk->refs_budget--;
	sink->status = sink->fn(sink->arg, &ref);
}

static void emit(struct ref_sink *sink, uint64_t target, const char *name)
{
	emit_flags(sink, target, name, 0);
}

// A buffer the object owns, whose contents its other references list.
static void emit_owned(struct ref_sink *sink, uint64_t target)
{
	emit_flags(sink, target, NULL, COREHEAP_REFERENCE_OWNED);
}

/*
 * Whether the layouts of this version are known here: 3.11's and 3.13's
 * (struct py_layout). Other versions are left to the host's scan.
 */
static bool layouts_known(const struct py_state *st)
{
	uint64_t minor = st->version_hex >> 16;

	return minor == 0x030b || minor == 0x030d;
}

static void lookup_builtins(struct py_walk *walk, struct py_builtin_types *b)
{
	static const struct {
		const char *symbol;
		size_t offset;
	} names[] = {
		{ "PyBaseObject_Type", offsetof(struct py_builtin_types, object) },
		{ "PyList_Type", offsetof(struct py_builtin_types, list) },
		{ "PyTuple_Type", offsetof(struct py_builtin_types, tuple) },
		{ "PyDict_Type", offsetof(struct py_builtin_types, dict) },
		{ "PyUnicode_Type", offsetof(struct py_builtin_types, str) },
		{ "PyLong_Type", offsetof(struct py_builtin_types, int_) },
		{ "PyBool_Type", offsetof(struct py_builtin_types, bool_) },
		{ "PyFloat_Type", offsetof(struct py_builtin_types, float_) },
		{ "PyBytes_Type", offsetof(struct py_builtin_types, bytes) },
		{ "PyCell_Type", offsetof(struct py_builtin_types, cell) },
		{ "PyModule_Type", offsetof(struct py_builtin_types, module) },
	};

	b->looked_up = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct coreheap_symbol sym;
		uint64_t address = 0;

		if (walk->host->symbol(walk->host, NULL, names[i].symbol, &sym) ==
		    COREHEAP_OK)
			address = sym.address;
		memcpy((char *)b + names[i].offset, &address, sizeof(address));
	}
}

/*
 * A dict key as a step's name: "['abc']" for a str, "[3]" for a small
 * int, "[key 0x...]" for anything else.
 */
static void key_name(struct py_walk *walk, uint64_t key, char *buf,
		     size_t max)
{
	const struct py_builtin_types *b = &walk->st->builtins;
	const struct py_layout *layout = walk->layout;
	char text[PY_MAX_KEY_TEXT * 4 + 1];
	uint64_t type = 0;

	if (py_read_u64(walk, key + layout->ob_type, &type) && type == b->str &&
	    py_read_str(walk, key, text, sizeof(text))) {
		char quoted[PY_MAX_KEY_TEXT + 8];
		size_t out = 0, len = strlen(text);

		// Quotes and backslashes escaped, control bytes as '?', cut.
		for (size_t i = 0; i < len && out + 6 < sizeof(quoted); i++) {
			unsigned char c = text[i];

			if (c == '\'' || c == '\\')
				quoted[out++] = '\\';
			quoted[out++] = c < 0x20 || c == 0x7f ? '?' : c;
		}
		quoted[out] = '\0';
		snprintf(buf, max, "['%s'%s]", quoted,
			 out + 6 >= sizeof(quoted) ? "..." : "");
		return;
	}
	if (type == b->int_) {
		int64_t size = 0;
		uint64_t tag;
		uint32_t digits[2] = { 0, 0 };
		bool known;

		// 3.11: ob_size, the digits' count with the sign; 3.12+:
		// lv_tag, the count above bit 3, the sign in the low bits
		// (0 positive, 1 zero, 2 negative).
		if (layout->long_tag) {
			known = py_read_u64(walk, key + layout->long_tag, &tag) &&
				(tag & 3) != 3;
			if (known)
				size = (int64_t)(tag >> 3) *
				       ((tag & 3) == 2 ? -1 : 1);
		} else {
			known = walk->host->read(walk->host,
						 key + layout->ob_size, &size,
						 sizeof(size)) == COREHEAP_OK;
		}
		if (known && size >= -2 && size <= 2 &&
		    (size == 0 ||
		     walk->host->read(walk->host, key + layout->long_digits,
				      digits, 4 * (size < 0 ? -size : size)) ==
			     COREHEAP_OK)) {
			int64_t value = (int64_t)digits[0] |
					(int64_t)digits[1] << PY_LONG_SHIFT;

			snprintf(buf, max, "[%" PRId64 "]",
				 size < 0 ? -value : value);
			return;
		}
	}
	snprintf(buf, max, "[key 0x%" PRIx64 "]", key);
}

/*
 * The entries of a dict's keys object: each key and (from its entry, or
 * from values for a split table, at most max_values of them: what the
 * object holding them has room for) its value. With values the keys are
 * not listed (a split table's shared keys belong to the class). Values
 * are named "['abc']", or with attributes as an instance's (".buffer").
 */
static void dict_entries(struct ref_sink *sink, uint64_t keys, uint64_t values,
			 uint64_t max_values, bool attributes)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;
	const struct coreheap_host *host = walk->host;
	uint64_t nentries, entries;
	uint8_t head[3];
	size_t entry_size;
	const uint8_t *table;
	const uint64_t *value_words = NULL;

	if (!keys || host->read(host, keys + layout->keys_log2_size, head,
				sizeof(head)) ||
	    !py_read_u64(walk, keys + layout->keys_nentries, &nentries) ||
	    head[0] > 40 || head[1] > 43 || nentries > (UINT64_C(1) << head[0]) ||
	    nentries > PY_MAX_ITEMS) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	if (values && nentries > max_values)
		nentries = max_values;
	if (!nentries)
		return;
	entry_size = head[2] == PY_KEYS_KIND_GENERAL ? 24 : 16;
	entries = keys + layout->keys_indices + (UINT64_C(1) << head[1]);
	table = host->map(host, entries, nentries * entry_size);
	if (values)
		value_words = host->map(host, values, nentries * 8);
	if (!table || (values && !value_words)) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	for (uint64_t i = 0; i < nentries && sink->status == COREHEAP_OK; i++) {
		const uint8_t *entry = table + i * entry_size +
				       (entry_size == 24 ? 8 : 0);
		uint64_t key, value;
		char name[PY_MAX_KEY_TEXT + 32];

		memcpy(&key, entry, 8);
		if (values)
			memcpy(&value, &value_words[i], 8);
		else
			memcpy(&value, entry + 8, 8);
		if (!key || (!value && attributes))
			continue;
		if (sink->names) {
			key_name(walk, key, name, sizeof(name));
			if (attributes && name[1] == '\'') {
				// ['buffer'] -> .buffer
				size_t len = strlen(name);

				memmove(name + 1, name + 2, len - 4);
				name[0] = '.';
				name[len - 3] = '\0';
			}
		}
		if (!values) {
			char key_step[sizeof(name) + 8];

			if (sink->names)
				snprintf(key_step, sizeof(key_step), "(key %s)",
					 name);
			emit(sink, key, key_step);
		}
		emit(sink, value, name);
	}
}

static void dict_references(struct ref_sink *sink, uint64_t dict)
{
	const struct py_layout *layout = sink->walk->layout;
	uint64_t keys, values;
	uint8_t embedded = 0;

	if (!py_read_u64(sink->walk, dict + layout->dict_keys, &keys) ||
	    !py_read_u64(sink->walk, dict + layout->dict_values, &values)) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	// A split table's keys are its class's (shared): not its own. Its
	// values are a block of their own, or (3.13) an instance's inline
	// values, in the instance's block.
	if (values) {
		emit(sink, keys, NULL);
		if (layout->values_embedded &&
		    sink->walk->host->read(sink->walk->host,
					   values + layout->values_embedded,
					   &embedded, 1) != COREHEAP_OK) {
			sink->status = COREHEAP_NOT_FOUND;
			return;
		}
		if (!embedded)
			emit_owned(sink, py_values_block(sink->walk, values));
		values += layout->values_array;
	} else {
		emit_owned(sink, keys);
	}
	dict_entries(sink, keys, values, PY_MAX_ITEMS, false);
}

// n items at items, named "[i]".
static void items_references(struct ref_sink *sink, uint64_t items,
			     uint64_t n)
{
	const uint64_t *words;

	if (!n)
		return;
	words = n <= PY_MAX_ITEMS ?
			sink->walk->host->map(sink->walk->host, items, n * 8) :
			NULL;
	if (!words) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	for (uint64_t i = 0; i < n && sink->status == COREHEAP_OK; i++) {
		char name[32];
		uint64_t item;

		memcpy(&item, &words[i], 8);
		if (sink->names)
			snprintf(name, sizeof(name), "[%" PRIu64 "]", i);
		emit(sink, item, name);
	}
}

static void list_references(struct ref_sink *sink, uint64_t list)
{
	const struct py_layout *layout = sink->walk->layout;
	uint64_t items, size, allocated;

	if (!py_read_u64(sink->walk, list + layout->list_items, &items) ||
	    !py_read_u64(sink->walk, list + layout->ob_size, &size) ||
	    !py_read_u64(sink->walk, list + layout->list_allocated, &allocated) ||
	    size > allocated || (size && !items)) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	emit_owned(sink, items);
	items_references(sink, items, size);
}

/*
 * An instance's own words past its base's (weak references, __slots__)
 * and its managed dict: its attributes, or the dict they moved to. 3.11
 * keeps the attributes in a values array the pre-header points to; 3.13
 * inline, right after the object (Py_TPFLAGS_INLINE_VALUES), valid until
 * they move to a dict of their own, and its weak references in the
 * pre-header.
 */
static void instance_references(struct ref_sink *sink, uint64_t object,
				const struct coreheap_object *memory,
				uint64_t type, const struct py_type *t,
				uint64_t base_size)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;
	uint64_t basicsize, weaklist, dictoffset;

	if (!py_read_u64(walk, type + layout->tp_basicsize, &basicsize) ||
	    !py_read_u64(walk, type + layout->tp_weaklistoffset, &weaklist) ||
	    !py_read_u64(walk, type + layout->tp_dictoffset, &dictoffset) ||
	    basicsize < base_size || basicsize % 8 ||
	    basicsize > memory->size - memory->header) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	for (uint64_t offset = base_size;
	     offset < basicsize && sink->status == COREHEAP_OK; offset += 8) {
		uint64_t word;
		char name[40];

		if (!py_read_u64(walk, object + offset, &word)) {
			sink->status = COREHEAP_NOT_FOUND;
			return;
		}
		if (offset == weaklist)
			snprintf(name, sizeof(name), "(weak references)");
		else if (offset == dictoffset)
			snprintf(name, sizeof(name), ".__dict__");
		else
			snprintf(name, sizeof(name), "(slot +0x%" PRIx64 ")",
				 offset);
		emit(sink, word, name);
	}
	if (layout->managed_weakref && t->flags & PY_TPFLAGS_MANAGED_WEAKREF) {
		uint64_t list;

		if (memory->header < (uint64_t)-layout->managed_weakref ||
		    !py_read_u64(walk, object + layout->managed_weakref, &list)) {
			sink->status = COREHEAP_NOT_FOUND;
			return;
		}
		emit(sink, list, "(weak references)");
	}
	if (t->flags & PY_TPFLAGS_MANAGED_DICT) {
		uint64_t dict, values = 0, keys, max_values = PY_MAX_ITEMS;
		uint8_t valid = 1;

		if (memory->header < (uint64_t)-layout->managed_dict ||
		    !py_read_u64(walk, object + layout->managed_dict, &dict)) {
			sink->status = COREHEAP_NOT_FOUND;
			return;
		}
		if (layout->managed_values >= 0) {
			if (!py_read_u64(walk,
					 object - t->preheader +
						 (uint64_t)layout->managed_values,
					 &values)) {
				sink->status = COREHEAP_NOT_FOUND;
				return;
			}
			if (values)
				emit_owned(sink, py_values_block(walk, values));
		} else if (t->flags & layout->tpflags_inline_values) {
			// After the object, in its own block.
			values = object + basicsize;
			if (basicsize + layout->values_array >
				    memory->size - memory->header ||
			    walk->host->read(walk->host,
					     values + layout->values_valid,
					     &valid, 1) != COREHEAP_OK) {
				sink->status = COREHEAP_NOT_FOUND;
				return;
			}
			if (!valid)
				values = 0;
			// As many as the object's block holds past them.
			max_values = (memory->size - memory->header - basicsize -
				      layout->values_array) / 8;
		}
		emit(sink, dict, ".__dict__");
		if (values) {
			if (!py_read_u64(walk, type + layout->ht_cached_keys, &keys) ||
			    !keys) {
				sink->status = COREHEAP_NOT_FOUND;
				return;
			}
			dict_entries(sink, keys, values + layout->values_array,
				     max_values, true);
		}
	}
}

/*
 * A collections.deque: its items, in blocks of PY_DEQUE_BLOCK_LEN linked
 * from leftblock to rightblock, owned; the spare blocks it keeps, owned
 * too (what they hold is stale); its weak references.
 */
static void deque_references(struct ref_sink *sink, uint64_t deque)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;
	uint64_t left, right, size, index, freeblocks, weaklist;
	int64_t leftindex;

	if (!py_read_u64(walk, deque + layout->ob_size, &size) ||
	    !py_read_u64(walk, deque + layout->deque_leftblock, &left) ||
	    !py_read_u64(walk, deque + layout->deque_rightblock, &right) ||
	    walk->host->read(walk->host, deque + layout->deque_leftindex, &leftindex,
			     sizeof(leftindex)) ||
	    !py_read_u64(walk, deque + layout->deque_numfreeblocks, &freeblocks) ||
	    !py_read_u64(walk, deque + layout->deque_weakreflist, &weaklist) ||
	    size > PY_MAX_ITEMS || leftindex < 0 ||
	    leftindex >= PY_DEQUE_BLOCK_LEN || freeblocks > PY_DEQUE_MAX_FREE ||
	    !left) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	index = (uint64_t)leftindex;
	emit_owned(sink, left);
	for (uint64_t i = 0; i < size && sink->status == COREHEAP_OK; i++) {
		uint64_t item;
		char name[32];

		if (index == PY_DEQUE_BLOCK_LEN) {
			if (!py_read_u64(walk, left + PY_DEQUE_RIGHTLINK, &left) ||
			    !left) {
				sink->status = COREHEAP_NOT_FOUND;
				return;
			}
			emit_owned(sink, left);
			index = 0;
		}
		if (!py_read_u64(walk, left + 8 + 8 * index, &item)) {
			sink->status = COREHEAP_NOT_FOUND;
			return;
		}
		if (sink->names)
			snprintf(name, sizeof(name), "[%" PRIu64 "]", i);
		emit(sink, item, name);
		index++;
	}
	if (sink->status == COREHEAP_OK && left != right && size)
		sink->status = COREHEAP_NOT_FOUND;
	for (uint64_t i = 0; i < freeblocks && sink->status == COREHEAP_OK;
	     i++) {
		uint64_t block;

		if (py_read_u64(walk, deque + layout->deque_freeblocks + 8 * i, &block))
			emit_owned(sink, block);
	}
	emit(sink, weaklist, "(weak references)");
}

// The name of the member of a type object at offset, if it is an object.
static const char *type_member(const struct py_layout *layout, uint64_t offset)
{
	const struct {
		uint32_t offset;
		const char *name;
	} members[] = {
		{ layout->tp_base, ".__base__" },
		{ layout->tp_dict, ".__dict__" },
		{ layout->tp_bases, ".__bases__" },
		{ layout->tp_mro, ".__mro__" },
		{ layout->tp_subclasses, "(subclasses)" },
		{ layout->ht_name, ".__name__" },
		{ layout->ht_qualname, ".__qualname__" },
		{ layout->ht_module, "(module)" },
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (members[i].offset == offset)
			return members[i].name;
	}
	return NULL;
}

/*
 * An object of a layout not known here: every word of its memory that
 * may point to another object, conservatively, but its GC head, whose
 * links are the collector's lists (every tracked object points to the
 * next one), no reference. Each named by its offset from the id()
 * ("+0x10").
 */
static void other_references(struct ref_sink *sink,
			     const struct coreheap_object *memory,
			     const struct py_type *t)
{
	uint64_t start = memory->address - memory->header;
	uint64_t gc = t->flags & PY_TPFLAGS_HAVE_GC &&
				      memory->header >= PY_GC_HEAD_SIZE ?
			      memory->address - PY_GC_HEAD_SIZE :
			      UINT64_MAX;
	const uint64_t *words = sink->walk->host->map(sink->walk->host, start,
						      memory->size & ~7ull);

	if (!words) {
		sink->status = COREHEAP_NOT_FOUND;
		return;
	}
	for (uint64_t i = 0; i < memory->size / 8 && sink->status == COREHEAP_OK;
	     i++) {
		uint64_t at = start + 8 * i, word;
		char name[32];

		if (at >= gc && at < gc + PY_GC_HEAD_SIZE)
			continue;
		memcpy(&word, &words[i], 8);
		// Named by the word's offset from the object's id(), or for
		// a type by its member.
		if (sink->names && at >= memory->address &&
		    t->flags & PY_TPFLAGS_TYPE_SUBCLASS &&
		    type_member(sink->walk->layout, at - memory->address))
			snprintf(name, sizeof(name), "%s",
				 type_member(sink->walk->layout,
					     at - memory->address));
		else if (sink->names)
			snprintf(name, sizeof(name), "%s0x%" PRIx64,
				 at >= memory->address ? "+" : "-",
				 at >= memory->address ? at - memory->address :
							 memory->address - at);
		emit(sink, word, name);
	}
}

int py_references(const struct coreheap_host *host, void *state,
		  const struct coreheap_object *memory, bool names,
		  coreheap_reference_fn fn, void *arg)
{
	struct py_state *st = state;
	struct py_walk *walk;
	struct ref_sink sink = { .names = names, .fn = fn, .arg = arg };
	const struct py_builtin_types *b = &st->builtins;
	uint64_t object = memory->address, type, base, size;
	const struct py_layout *layout;
	// A copy: looking up the bases may grow the cache, which moves its
	// entries.
	const struct py_type *cached;
	struct py_type t;
	bool heap;

	if (!st || !st->walk || !layouts_known(st))
		return COREHEAP_NOT_FOUND;
	walk = st->walk;
	layout = walk->layout;
	walk->host = host;
	walk->status = COREHEAP_OK;
	sink.walk = walk;
	if (!st->builtins.looked_up)
		lookup_builtins(walk, &st->builtins);
	if (!py_read_u64(walk, object + layout->ob_type, &type) ||
	    !(cached = py_type_at(walk, type)))
		return walk->status == COREHEAP_NOMEM ? COREHEAP_NOMEM :
							COREHEAP_NOT_FOUND;
	t = *cached;
	// The builtin type a class derives from: its layout is the base of
	// the instance's.
	base = type;
	heap = t.flags & PY_TPFLAGS_HEAPTYPE;
	for (int depth = 0; depth < 64; depth++) {
		const struct py_type *bt = py_type_at(walk, base);

		if (!bt || !(bt->flags & PY_TPFLAGS_HEAPTYPE))
			break;
		if (!py_read_u64(walk, base + layout->tp_base, &base))
			return COREHEAP_NOT_FOUND;
	}
	if (!base)
		return COREHEAP_NOT_FOUND;
	if (heap)
		emit(&sink, type, ".__class__");
	if (base == b->str || base == b->int_ || base == b->float_ ||
	    base == b->bytes || base == b->bool_) {
		uint64_t utf8;
		uint32_t str_state;

		// Subclasses put a dict after their variable part.
		if (heap)
			return COREHEAP_NOT_FOUND;
		// A str that is not ASCII keeps its UTF-8 form in a buffer.
		if (base == b->str &&
		    host->read(host, object + layout->unicode_state, &str_state,
			       sizeof(str_state)) == COREHEAP_OK &&
		    !(str_state & (1u << 6)) &&
		    py_read_u64(walk, object + layout->compact_utf8, &utf8))
			emit_owned(&sink, utf8);
	} else if (base == b->tuple) {
		if (heap)
			return COREHEAP_NOT_FOUND;
		if (!py_read_u64(walk, object + layout->ob_size, &size) ||
		    size > (memory->size - memory->header) / 8)
			return COREHEAP_NOT_FOUND;
		items_references(&sink, object + layout->tuple_items, size);
	} else if (base == b->list) {
		list_references(&sink, object);
		if (heap && sink.status == COREHEAP_OK)
			instance_references(&sink, object, memory, type, &t,
					    layout->list_basicsize);
	} else if (base == b->dict) {
		dict_references(&sink, object);
		if (heap && sink.status == COREHEAP_OK)
			instance_references(&sink, object, memory, type, &t,
					    layout->dict_basicsize);
	} else if (base == b->cell && !heap) {
		uint64_t contents;

		if (!py_read_u64(walk, object + layout->cell_ref, &contents))
			return COREHEAP_NOT_FOUND;
		emit(&sink, contents, ".cell_contents");
	} else if (!heap && strcmp(t.name, "collections.deque") == 0) {
		deque_references(&sink, object);
	} else if (base == b->object && heap) {
		instance_references(&sink, object, memory, type, &t,
				    layout->object_basicsize);
	} else {
		other_references(&sink, memory, &t);
	}
	if (walk->status == COREHEAP_NOMEM)
		return COREHEAP_NOMEM;
	return sink.status;
}

/** Where roots go, with the name being built. */
struct root_sink {
	struct py_walk *walk;
	coreheap_root_fn fn;
	void *arg;
	int status;
	uint64_t count;
	/**
	 * The id of the interpreter whose roots are being named: a
	 * subinterpreter's (not 0) are told apart from the main one's.
	 */
	int64_t interpreter;
};

static void emit_root(struct root_sink *sink, char *name, uint64_t target)
{
	char named[3 * PY_MAX_NAME];
	struct coreheap_root root = { .name = name, .target = target };

	if (sink->interpreter) {
		snprintf(named, sizeof(named), "interpreter %" PRId64 " %s",
			 sink->interpreter, name);
		root.name = name = named;
	}

	// Names come from the core: no control bytes reach a terminal.
	for (char *c = name; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}

	if (!target || sink->status != COREHEAP_OK)
		return;
	// Enough: the rest are left out (the host scans the memory anyway).
	if (sink->count++ >= PY_MAX_ROOTS) {
		sink->status = COREHEAP_FAILED;
		return;
	}
	sink->status = sink->fn(sink->arg, &root);
}

/*
 * Call fn(sink, key, value, data) for each entry of the combined dict at
 * dict (a module's, sys.modules): bounded, and quiet on damage.
 */
static void each_entry(struct root_sink *sink, uint64_t dict,
		       void (*fn)(struct root_sink *sink, uint64_t key,
				  uint64_t value, void *data),
		       void *data)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;
	const struct coreheap_host *host = walk->host;
	uint64_t keys, values, nentries, entries;
	uint8_t head[3];
	size_t entry_size;
	const uint8_t *table;

	if (!dict || !py_read_u64(walk, dict + layout->dict_keys, &keys) ||
	    !py_read_u64(walk, dict + layout->dict_values, &values) || values ||
	    host->read(host, keys + layout->keys_log2_size, head, sizeof(head)) ||
	    !py_read_u64(walk, keys + layout->keys_nentries, &nentries) ||
	    head[0] > 40 || head[1] > 43 || nentries > (UINT64_C(1) << head[0]) ||
	    nentries > PY_MAX_GLOBALS)
		return;
	entry_size = head[2] == PY_KEYS_KIND_GENERAL ? 24 : 16;
	entries = keys + layout->keys_indices + (UINT64_C(1) << head[1]);
	table = nentries ? host->map(host, entries, nentries * entry_size) :
			   NULL;
	for (uint64_t i = 0; table && i < nentries &&
			     sink->status == COREHEAP_OK;
	     i++) {
		uint64_t key, value;

		memcpy(&key, table + i * entry_size + (entry_size == 24 ? 8 : 0),
		       8);
		memcpy(&value,
		       table + i * entry_size + (entry_size == 24 ? 16 : 8), 8);
		if (key && value)
			fn(sink, key, value, data);
	}
}

static void global_root(struct root_sink *sink, uint64_t key, uint64_t value,
			void *data)
{
	const char *module = data;
	char name[PY_MAX_NAME], root[2 * PY_MAX_NAME + 16];

	if (!py_read_str(sink->walk, key, name, sizeof(name)))
		snprintf(name, sizeof(name), "[key 0x%" PRIx64 "]", key);
	snprintf(root, sizeof(root), "module %s .%s", module, name);
	emit_root(sink, root, value);
}

static void module_root(struct root_sink *sink, uint64_t key, uint64_t value,
			void *data)
{
	struct py_walk *walk = sink->walk;
	char name[PY_MAX_NAME], root[PY_MAX_NAME + 32];
	uint64_t type, dict;

	(void)data;
	if (!py_read_str(walk, key, name, sizeof(name)))
		return;
	snprintf(root, sizeof(root), "sys.modules['%s']", name);
	emit_root(sink, root, value);
	if (!py_read_u64(walk, value + walk->layout->ob_type, &type) ||
	    type != walk->st->builtins.module ||
	    !py_read_u64(walk, value + walk->layout->module_dict, &dict))
		return;
	each_entry(sink, dict, global_root, name);
}

// The host's number (from 1) of the thread whose tid is tid; 0 if none.
static size_t thread_number(struct py_walk *walk, uint64_t tid)
{
	const struct coreheap_host *host = walk->host;
	size_t n = host->num_threads(host);

	for (size_t i = 0; i < n; i++) {
		struct coreheap_thread thread;

		if (host->thread(host, i, &thread) == COREHEAP_OK &&
		    (uint64_t)(int64_t)thread.tid == tid)
			return i + 1;
	}
	return 0;
}

// Each local of each frame of the thread whose state is at tstate.
static void frame_roots(struct root_sink *sink, uint64_t tstate)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;
	uint64_t tid, frame;
	char thread[64];
	size_t number;

	if (!py_read_u64(walk, tstate + layout->ts_native_thread_id, &tid))
		return;
	frame = py_current_frame(walk, tstate);
	number = thread_number(walk, tid);
	if (number)
		snprintf(thread, sizeof(thread), "thread %zu (tid %" PRIu64 ")",
			 number, tid);
	else
		snprintf(thread, sizeof(thread), "thread (tid %" PRIu64 ")",
			 tid);
	for (int depth = 0; frame && depth < PY_MAX_FRAMES &&
			    sink->status == COREHEAP_OK;
	     depth++) {
		uint64_t code = py_frame_code(walk, frame), names, num_names;
		uint64_t qualname, previous;
		int32_t nlocalsplus = 0;
		char function[PY_MAX_NAME];

		// A C entry frame (3.13) has no locals: the next one has.
		if (code &&
		    (walk->host->read(walk->host, code + layout->co_nlocalsplus,
				      &nlocalsplus, sizeof(nlocalsplus)) ||
		     !py_read_u64(walk, code + layout->co_localsplusnames,
				  &names) ||
		     !py_read_u64(walk, names + layout->ob_size, &num_names) ||
		     !py_read_u64(walk, code + layout->co_qualname, &qualname)))
			return;
		if (code && !py_read_str(walk, qualname, function,
					 sizeof(function)))
			snprintf(function, sizeof(function), "?");
		for (int32_t i = 0; code && i >= 0 && i < nlocalsplus &&
				    (uint64_t)i < num_names && i < 65536;
		     i++) {
			uint64_t value, name_object;
			char local[PY_MAX_NAME], root[3 * PY_MAX_NAME];

			if (!py_read_u64(walk,
					 frame + layout->frame_localsplus +
						 8 * (uint64_t)i,
					 &value) ||
			    !value ||
			    !py_read_u64(walk,
					 names + layout->tuple_items +
						 8 * (uint64_t)i,
					 &name_object))
				continue;
			if (!py_read_str(walk, name_object, local, sizeof(local)))
				snprintf(local, sizeof(local), "#%d", i);
			snprintf(root, sizeof(root), "%s frame %s() local %s",
				 thread, function, local);
			emit_root(sink, root, value);
		}
		if (!py_read_u64(walk, frame + layout->frame_previous,
				 &previous) ||
		    previous == frame)
			return;
		frame = previous;
	}
}

/*
 * The dict of every type the walk met: a class's methods and attributes.
 * Not those of the types met after it (by references(), a description):
 * the roots are the same however many times and whenever they are asked.
 */
static void type_dict_roots(struct root_sink *sink)
{
	const struct py_type_cache *cache = &sink->walk->types;

	for (size_t i = 0; i < cache->capacity && sink->status == COREHEAP_OK;
	     i++) {
		const struct py_type *type = &cache->slots[i];
		char root[PY_MAX_NAME + 32];
		uint64_t dict;

		if (!type->address || !type->name || type->after_walk ||
		    !py_read_u64(sink->walk,
				 type->address + sink->walk->layout->tp_dict,
				 &dict))
			continue;
		snprintf(root, sizeof(root), "type %s .__dict__", type->name);
		emit_root(sink, root, dict);
	}
}

/*
 * What 3.13 keeps of the static types per interpreter (count static
 * types, each a managed_static_type_state at states): each one's dict
 * and subclasses, named by the type.
 */
static void static_type_roots(struct root_sink *sink, uint64_t count,
			      uint64_t states)
{
	struct py_walk *walk = sink->walk;
	const struct py_layout *layout = walk->layout;

	for (uint64_t i = 0; i < count && i < PY_MAX_STATIC_TYPES &&
			     sink->status == COREHEAP_OK;
	     i++) {
		uint64_t state = states + i * layout->static_type_state_size;
		uint64_t type, dict, subclasses;
		const struct py_type *t;
		char root[PY_MAX_NAME + 32];

		if (!py_read_u64(walk, state + layout->static_type_type, &type) ||
		    !(t = py_type_at(walk, type)))
			continue;
		if (py_read_u64(walk, state + layout->static_type_dict, &dict)) {
			snprintf(root, sizeof(root), "type %s .__dict__",
				 t->name);
			emit_root(sink, root, dict);
		}
		if (py_read_u64(walk, state + layout->static_type_subclasses,
				&subclasses)) {
			snprintf(root, sizeof(root), "type %s (subclasses)",
				 t->name);
			emit_root(sink, root, subclasses);
		}
	}
}

/*
 * Whether the object at dict is a dict of interned strings: a dict whose
 * first entries (up to PY_INTERNED_SAMPLE) each map a str marked interned
 * to itself, at least PY_INTERNED_MIN of them.
 */
static bool is_interned_dict(struct py_walk *walk, uint64_t dict)
{
	const struct py_layout *layout = walk->layout;
	const struct coreheap_host *host = walk->host;
	uint64_t type, keys, values, nentries, entries, checked = 0;
	uint8_t head[3];
	size_t entry_size;

	if (!py_read_u64(walk, dict + layout->ob_type, &type) ||
	    type != walk->st->builtins.dict ||
	    !py_read_u64(walk, dict + layout->dict_keys, &keys) ||
	    !py_read_u64(walk, dict + layout->dict_values, &values) || values ||
	    host->read(host, keys + layout->keys_log2_size, head, sizeof(head)) ||
	    !py_read_u64(walk, keys + layout->keys_nentries, &nentries) ||
	    head[0] > 40 || head[1] > 43 || nentries < PY_INTERNED_MIN)
		return false;
	entry_size = head[2] == PY_KEYS_KIND_GENERAL ? 24 : 16;
	entries = keys + layout->keys_indices + (UINT64_C(1) << head[1]);
	for (uint64_t i = 0; i < nentries && checked < PY_INTERNED_SAMPLE; i++) {
		uint64_t entry = entries + i * entry_size +
				 (entry_size == 24 ? 8 : 0);
		uint64_t key, value, key_type;
		uint32_t str_state;

		if (!py_read_u64(walk, entry, &key) ||
		    !py_read_u64(walk, entry + 8, &value))
			return false;
		if (!key)
			continue;
		// state.interned: its two lowest bits (mortal 1, immortal 2).
		if (key != value || !py_read_u64(walk, key + layout->ob_type, &key_type) ||
		    key_type != walk->st->builtins.str ||
		    host->read(host, key + layout->unicode_state, &str_state,
			       sizeof(str_state)) ||
		    !(str_state & 3))
			return false;
		checked++;
	}
	return checked >= PY_INTERNED_MIN || checked == nentries;
}

/*
 * The interned strings: 3.11 keeps their dict in a file-static pointer
 * (Objects/unicodeobject.c `interned`), no symbol in a stripped
 * interpreter: found among the words of the writable data of the module
 * that defines _PyRuntime, as the one dict that looks like it.
 */
/*
 * Whether the object at dict, which 3.13's interpreter names as its
 * interned strings, is a dict (no contents test: it can be small).
 */
static bool interned_dict(struct py_walk *walk, uint64_t dict)
{
	uint64_t type;

	return dict &&
	       py_read_u64(walk, dict + walk->layout->ob_type, &type) &&
	       type == walk->st->builtins.dict;
}

static void interned_root(struct root_sink *sink)
{
	struct py_walk *walk = sink->walk;
	const struct coreheap_host *host = walk->host;
	struct coreheap_module module;
	size_t n = host->num_mappings(host);
	uint64_t found = 0;

	if (host->module(host, walk->st->module, &module) != COREHEAP_OK)
		return;
	for (size_t i = 0; i < n && !found; i++) {
		struct coreheap_mapping mapping;
		const uint64_t *words;
		uint64_t len;

		if (host->mapping(host, i, &mapping) != COREHEAP_OK ||
		    !(mapping.prot & COREHEAP_PROT_WRITE) ||
		    mapping.start < module.start || mapping.start >= module.end)
			continue;
		len = mapping.available < PY_INTERNED_SCAN ? mapping.available :
							      PY_INTERNED_SCAN;
		words = host->map(host, mapping.start, len & ~7ull);
		for (uint64_t w = 0; words && w < len / 8 && !found; w++) {
			uint64_t word;

			memcpy(&word, &words[w], 8);
			if (word && !(word & 7) && is_interned_dict(walk, word))
				found = word;
		}
	}
	if (found) {
		char name[] = "interned strings";

		emit_root(sink, name, found);
	}
}

int py_roots(const struct coreheap_host *host, void *state,
	     coreheap_root_fn fn, void *arg)
{
	struct py_state *st = state;
	struct root_sink sink = { .fn = fn, .arg = arg };
	const struct py_layout *layout;
	uint64_t interp, first;

	if (!st || !st->walk || !layouts_known(st))
		return COREHEAP_OK;
	sink.walk = st->walk;
	layout = sink.walk->layout;
	sink.walk->host = host;
	if (!st->builtins.looked_up)
		lookup_builtins(sink.walk, &st->builtins);
	if (!py_read_u64(sink.walk, st->runtime + layout->runtime_interpreters_head,
			 &interp))
		return COREHEAP_OK;
	first = interp;
	for (int n = 0; interp && n < PY_MAX_INTERPRETERS &&
			sink.status == COREHEAP_OK;
	     n++) {
		uint64_t modules, tstate, next, interned, count, id;

		sink.interpreter =
			py_read_u64(sink.walk, interp + layout->interp_id, &id) ?
				(int64_t)id :
				0;
		if (py_read_u64(sink.walk, interp + layout->interp_modules, &modules))
			each_entry(&sink, modules, module_root, NULL);
		if (py_read_u64(sink.walk, interp + layout->interp_threads_head,
				&tstate)) {
			for (int t = 0; tstate && t < PY_MAX_THREADS &&
					sink.status == COREHEAP_OK;
			     t++) {
				frame_roots(&sink, tstate);
				if (!py_read_u64(sink.walk,
						 tstate + layout->ts_next, &tstate))
					break;
			}
		}
		// 3.13: each interpreter's interned strings and the dicts of
		// the static types.
		if (layout->interp_interned &&
		    py_read_u64(sink.walk, interp + layout->interp_interned,
				&interned) &&
		    interned_dict(sink.walk, interned)) {
			char name[] = "interned strings";

			emit_root(&sink, name, interned);
		}
		if (layout->interp_static_types &&
		    py_read_u64(sink.walk,
				interp + layout->interp_static_types_count,
				&count))
			static_type_roots(&sink, count,
					  interp + layout->interp_static_types);
		if (layout->interp_ext_types &&
		    py_read_u64(sink.walk,
				interp + layout->interp_ext_types_count, &count))
			static_type_roots(&sink, count,
					  interp + layout->interp_ext_types);
		if (!py_read_u64(sink.walk, interp + layout->interp_next, &next) ||
		    next == first)
			break;
		interp = next;
	}
	if (sink.status == COREHEAP_OK && !layout->interp_interned)
		interned_root(&sink);
	if (sink.status == COREHEAP_OK)
		type_dict_roots(&sink);
	if (sink.count > PY_MAX_ROOTS) {
		host->log(host, COREHEAP_LOG_WARNING,
			  "CPython: more than %llu named roots, the rest are not named",
			  (unsigned long long)PY_MAX_ROOTS);
		return COREHEAP_OK;
	}
	return sink.status;
}

/*
 * The slots of the interpreter's free lists past their count: pointers to
 * objects taken from the list since and alive elsewhere, or freed; no
 * reference (what is on a list, below its count, stays a root).
 */
static void unrooted_freelists(struct py_walk *walk, uint64_t interp)
{
	const struct py_layout *layout = walk->layout;
	const uint32_t lists[] = {
		layout->freelist_lists,
		layout->freelist_dicts,
		layout->freelist_dictkeys,
		layout->freelist_async_gens,
		layout->freelist_async_gen_asends,
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		uint64_t items = interp + lists[i];
		int32_t numfree;

		if (!lists[i] ||
		    walk->host->read(walk->host, items + 8 * PY_FREELIST_LEN,
				     &numfree, sizeof(numfree)) != COREHEAP_OK ||
		    numfree < 0 || numfree >= PY_FREELIST_LEN)
			continue;
		if (walk->host->add_owned_range(walk->host, walk->arenas_region,
						items + 8 * (uint64_t)numfree,
						items + 8 * PY_FREELIST_LEN,
						COREHEAP_OWNED_HEAP) ==
		    COREHEAP_NOMEM) {
			walk->status = COREHEAP_NOMEM;
			return;
		}
	}
}

void py_declare_unrooted(struct py_walk *walk)
{
	const struct coreheap_host *host = walk->host;
	const struct py_layout *layout = walk->layout;
	uint64_t interp, tstate, top, limit;

	if (!COREHEAP_HOST_HAS(host, add_owned_range) || !layouts_known(walk->st) ||
	    !py_read_u64(walk, walk->st->runtime + layout->runtime_interpreters_head,
			 &interp))
		return;
	for (int n = 0; interp && n < PY_MAX_INTERPRETERS; n++) {
		uint64_t next;

		// The heads of the GC generations link to their first and
		// last objects: the collector's lists, no reference.
		if (host->add_owned_range(host, walk->arenas_region,
					  interp + layout->interp_gc_generations,
					  interp + layout->interp_gc_permanent +
						  layout->gc_generation_size,
					  COREHEAP_OWNED_HEAP) == COREHEAP_NOMEM) {
			walk->status = COREHEAP_NOMEM;
			return;
		}
		// The stale slots of the free lists.
		unrooted_freelists(walk, interp);
		if (walk->status == COREHEAP_NOMEM)
			return;
		if (!py_read_u64(walk, interp + layout->interp_threads_head, &tstate))
			return;
		for (int t = 0; tstate && t < PY_MAX_THREADS; t++) {
			// A chunk is at most a few MiB: a bigger span is damage.
			if (py_read_u64(walk, tstate + layout->ts_datastack_top,
					&top) &&
			    py_read_u64(walk, tstate + layout->ts_datastack_limit,
					&limit) &&
			    top && top < limit && limit - top < (UINT64_C(1) << 30) &&
			    host->add_owned_range(host, walk->arenas_region, top,
						  limit, COREHEAP_OWNED_HEAP) ==
				    COREHEAP_NOMEM) {
				walk->status = COREHEAP_NOMEM;
				return;
			}
			if (!py_read_u64(walk, tstate + layout->ts_next, &tstate))
				break;
		}
		if (!py_read_u64(walk, interp + layout->interp_next, &next) ||
		    next == interp)
			return;
		interp = next;
	}
}
