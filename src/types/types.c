// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/cleanup.h"
#include "base/hash_map.h"
#include "base/large_alloc.h"
#include "base/prefetch.h"
#include "base/progress.h"
#include "base/radix_sort.h"
#include "base/sort.h"
#include "base/strbuf.h"
#include "base/thread_pair.h"
#include "base/vector.h"
#include "heap/block_index.h"
#include "types/types.h"

#define MIN_TEXT_LENGTH 4
// Text is looked for in the first 64 KiB of a block only: a guess must stay
// cheap on a heap of large buffers.
#define TEXT_SCAN_MAX 65536
// The propagation visits a block again only when its type grows, so a few
// visits per block are plenty; more means a pathological heap.
#define MAX_VISITS_PER_BLOCK 16
#define COOKIE_SIZE 8
// The pointers the propagation follows are looked up in batches, their
// evidence bucketed (or the batch sorted) by where they point: of one
// pointer per BATCH_SPREAD blocks of the heap, so that the blocks a batch
// lands in are close enough to be read in order (36 bytes a pointer with
// the scratch room), and at least BATCH_MIN. At 30 million blocks, one per
// 64 is as fast as one per 16 and holds 48 MiB less at the typing's peak.
#define BATCH_SPREAD 64
#define BATCH_MIN ((size_t)1 << 18)
// An allocator's rounding adds at most a few elements' worth (glibc's
// mmapped chunks: 24 bytes); past that many counts, no count fits.
#define MAX_COUNT_TRIES 64
/*
 * The typing's progress, one stage: the first pass over the blocks and the
 * naming count 1 a block, the propagation PROPAGATION_WEIGHT a visit, about
 * their shares of the time. The passes report PROGRESS_STEP blocks at once.
 */
#define PROPAGATION_WEIGHT 5
#define PROGRESS_STEP ((size_t)1 << 16)

enum {
	UNKNOWN_CLASS_DTYPE = UINT32_MAX,
};

DEFINE_VECTOR(block_list, uint32_t);

/*
 * A level of the propagation: blocks to visit, each once, in address
 * order. Its bitmap says which; while it is small, a list says so too, so
 * that a level of a few blocks in a heap of millions is not found by a
 * sweep of the whole bitmap, and a large level costs an eighth of a byte
 * per block of the heap, not four per block in it.
 */
struct level {
	uint64_t *bits;
	/** Its blocks, in the order queued, while count <= list_limit. */
	struct block_list list;
	size_t count, list_limit;
};

/*
 * A pointer followed to a block's start, or past its new[] count cookie
 * (EVIDENCE_PAST_COOKIE set in type): the block and the DWARF type of the
 * slot it was read from.
 */
struct block_evidence {
	uint32_t block, type;
};

#define EVIDENCE_PAST_COOKIE (UINT32_C(1) << 31)

/*
 * A batch looked up beside the visits (batch_lookup_run()): in the order
 * filled (unsorted), then its evidence, *num_evidence of it, bucketed by
 * block (batch_evidence()); or sorted by where they point (found[k] for
 * sorted[k], where each found block lies in the pairs' room:
 * batch_spans()). Whether unsorted is said once a propagation, by the
 * index and the types (see propagate()).
 */
struct batch_lookup {
	const struct ch_block_index *index;
	struct ch_lookup_batch *batch;
	size_t *num_evidence;
	bool unsorted;
	struct ch_beside thread;
};

struct ch_types_private {
	/** Interned name -> index in heap->type_names (keys: those names). */
	struct ch_name_map names;
	size_t names_capacity, groups_capacity;
	/** (dtype, count, cookie) and (class, count, cookie) -> name index. */
	struct ch_u64_map dtype_names, class_names;
	uint32_t text_type;
	/** Per vtable class: its DWARF type; UNKNOWN_CLASS_DTYPE until looked up. */
	uint32_t *class_dtypes;
	size_t num_class_dtypes;
	/** (class << 32 | dtype) -> 1 incompatible, 2 compatible. */
	struct ch_u64_map class_compat;
	/**
	 * Per live block, bits: its DWARF type starts after a new[] count
	 * cookie; it is in the queue. (While the propagation runs, a block
	 * whose source is CH_TYPE_DWARF holds its DWARF type id in
	 * heap->block_types, not a name: name_blocks() turns it into one.)
	 */
	uint64_t *cookie_bits, *queued_bits;
	/** Per live block, a bit: it starts with text (the guess rule). */
	uint64_t *text_bits;
	/**
	 * The propagation goes level by level: the blocks queued for the
	 * next level (queued_bits: for any level not visited yet).
	 */
	struct level next_level;
	/**
	 * While a level is visited, the pointers it holds, in batches: the
	 * one the visits fill (batches[filling]), and the one before it,
	 * looked up on a thread of its own meanwhile (in_flight:
	 * batches[!filling], by looking_up; unsorted, how much evidence each
	 * has in num_evidence). The second batch's room, as large as the
	 * first's, is made when the first is full before its level ends. A
	 * pair is (address held, DWARF type of the slot).
	 */
	struct ch_lookup_batch batches[2];
	size_t num_evidence[2];
	unsigned filling;
	struct batch_lookup looking_up;
	bool in_flight;
	bool batching;
	/** Address -> block, for every pointer followed: the heap's. */
	const struct ch_block_index *block_index;
	/**
	 * Live block index -> (element type << 32 | count): the elements a
	 * std::vector holding the block says it has (_M_finish - _M_start),
	 * the first vector found.
	 */
	struct ch_u64_map vector_counts;
	/**
	 * The counts found since they were last moved into vector_counts,
	 * a map that stays in the caches: a put into a map of millions is a
	 * miss, which many at once overlap (ch_u64_map_put_all()).
	 */
	struct ch_u64_map recent_vector_counts;
	/** Per live block, a bit: vector_counts has it (most blocks do not). */
	uint64_t *vector_bits;
	uint64_t visit_budget;
};

bool ch_types_conflicted(const struct ch_types *types, size_t index)
{
	return index < types->program->heap.live.len &&
	       ch_bit_get(types->conflicted, index);
}

/* The rules, on their own for the unit tests. */

// request bytes could have been served as block: the allocator gives the
// request the block's usable size (any request that fits, when the
// allocator does not say how it rounds).
static bool request_fits(struct ch_program *program,
			 const struct ch_block *block, uint64_t request)
{
	uint64_t usable;

	if (request > ch_block_size(block))
		return false;
	return !ch_program_usable_size(program, block, request, &usable) ||
	       usable == ch_block_size(block);
}

bool ch_block_holds_array(struct ch_program *program,
			  const struct ch_block *block, uint64_t element_size)
{
	uint64_t n, usable, tries;

	if (!element_size || ch_block_size(block) / element_size < 2)
		return false;
	// A lone T the allocator rounded up to this block.
	if (!ch_program_usable_size(program, block, element_size, &usable))
		return true;
	if (usable == ch_block_size(block))
		return false;
	// n copies would have been allocated as n * size bytes: if no n
	// gives this block, it holds a T and something else (glibc's FILE is
	// a struct _IO_FILE_plus, a lock and wide-character data). Usable
	// sizes grow with the request: the largest n whose request is not
	// rounded past the block is the one to try (below the most that fit
	// when the rounding adds more than an element: glibc's mmapped
	// chunks, where malloc(u) gets more than u).
	for (n = ch_block_size(block) / element_size, tries = 0;
	     n >= 2 && tries < MAX_COUNT_TRIES; n--, tries++) {
		if (!ch_program_usable_size(program, block, n * element_size,
					    &usable))
			return false;
		if (usable <= ch_block_size(block))
			return usable == ch_block_size(block);
	}
	return false;
}

// Length of the UTF-8 sequence at s (at most len bytes), 0 if invalid.
static size_t utf8_length(const uint8_t *s, size_t len)
{
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

// Each byte of the word is printable ASCII, 0x20 to 0x7e (most of text;
// tabs and newlines aside). A byte below 0x20 sets its high bit in
// word - 0x20 per byte, one from 0x80 in word, 0x7f in word + 1 per byte;
// a printable byte in none of them, and neither borrows nor carries. The
// first byte that is not printable is always caught (what it does to the
// bytes above it does not matter).
static bool all_printable_ascii(uint64_t word)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);

	return !(((word - 0x20 * ones) | word | (word + ones)) & highs);
}

bool ch_looks_like_text(const uint8_t *bytes, size_t len)
{
	size_t n = 0;

	if (len > TEXT_SCAN_MAX)
		len = TEXT_SCAN_MAX;
	while (n < len && bytes[n]) {
		uint8_t c = bytes[n];
		uint64_t word;

		// Eight plain characters at once: a text block is read to
		// its end, and byte by byte that was most of this pass.
		if (len - n >= 8) {
			memcpy(&word, bytes + n, 8);
			if (all_printable_ascii(word)) {
				n += 8;
				continue;
			}
		}

		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' ||
		    c == '\r') {
			n++;
		} else {
			size_t step = utf8_length(bytes + n, len - n);

			if (!step)
				return false;
			n += step;
		}
	}
	return n < len && n >= MIN_TEXT_LENGTH;
}

/*
 * Reading the first bytes of every block in address order: the range
 * holding the last block is kept (no search per block), and the next
 * blocks' bytes are prefetched, since these reads are cache misses.
 */
#define PREFETCH_DISTANCE 8

struct block_reader {
	const struct ch_address_space *as;
	const struct ch_range *range;
};

// The range holding addr: the last one found, if it does.
static const struct ch_range *reader_range(struct block_reader *reader,
					   uint64_t addr)
{
	const struct ch_range *range = reader->range;

	if (!range || addr < range->start || addr >= range->end)
		range = reader->range = ch_address_space_range(reader->as, addr);
	return range;
}

static const uint8_t *block_bytes(struct block_reader *reader, uint64_t addr,
				  uint64_t len)
{
	const struct ch_range *range = reader_range(reader, addr);

	if (!range || len > range->end - addr)
		return NULL;
	return range->data + (addr - range->start);
}

CH_PREFETCHER void prefetch_block(const struct block_reader *reader,
				  const struct ch_heap *heap, size_t i)
{
	const struct ch_range *range = reader->range;
	uint64_t addr;

	if (i >= heap->live.len || !range)
		return;
	addr = heap->live.blocks[i].address;
	if (addr >= range->start && addr < range->end)
		__builtin_prefetch(range->data + (addr - range->start));
}

/* Interning names into the heap. */

/*
 * Append name (taken over) with its info as a new type name; its group is
 * group, or the name itself if group is UINT32_MAX. register_name: put it
 * in the name map, for intern() to find.
 */
static struct ch_error *push_name(struct ch_types *types, char *name,
				  const struct ch_type_info *info,
				  uint32_t group, bool register_name,
				  uint32_t *ret)
{
	struct ch_heap *heap = &types->program->heap;
	struct ch_types_private *p = types->private;
	size_t n = heap->num_type_names;
	struct ch_error *err;

	if (n >= UINT32_MAX - 1) {
		free(name);
		return ch_error_create(CH_ERROR_CORRUPT, "too many types");
	}
	// Three arrays indexed alike, each with its own capacity.
	err = ch_vector_reserve_one((void **)&heap->type_names,
				    &p->names_capacity,
				    sizeof(*heap->type_names), n);
	if (!err)
		err = ch_vector_reserve_one((void **)&heap->type_groups,
					    &p->groups_capacity,
					    sizeof(*heap->type_groups), n);
	if (!err)
		err = ch_vector_reserve_one((void **)&types->infos,
					    &types->infos_capacity,
					    sizeof(*types->infos), n);
	if (err) {
		free(name);
		return err;
	}
	heap->type_names[n] = name;
	heap->type_groups[n] = group == UINT32_MAX ? n : group;
	types->infos[n] = *info;
	heap->num_type_names = n + 1;
	*ret = n;
	return name && register_name ? ch_name_map_put(&p->names, name, n) :
				       NULL;
}

// The index of name (taken over, freed if it is there already), in a
// group of its own.
static struct ch_error *intern(struct ch_types *types, char *name,
			       const struct ch_type_info *info, uint32_t *ret)
{
	if (!name)
		return &ch_enomem;
	if (ch_name_map_get(&types->private->names, name, ret)) {
		free(name);
		return NULL;
	}
	return push_name(types, name, info, UINT32_MAX, true, ret);
}

// "T" for one T, else "T[count]", or "T[]" for count 0.
static char *element_name(const char *element, bool array, uint64_t count)
{
	int len;
	char *name;

	if (!array)
		return strdup(element);
	len = ch_format_array_name(NULL, 0, element, count);
	name = len < 0 ? NULL : malloc(len + 1);
	if (name)
		ch_format_array_name(name, len + 1, element, count);
	return name;
}

// The key of type id (a DWARF type or a vtable class) laid out as info.
static uint64_t name_key(uint32_t id, const struct ch_type_info *info)
{
	if (info->count >= (UINT64_C(1) << 29))
		return CH_U64_MAP_EMPTY; // too big to key: interned by name
	return (uint64_t)id << 32 | info->count << 2 |
	       (uint64_t)info->array << 1 | (info->first_offset != 0);
}

static bool same_layout(const struct ch_type_info *a,
			const struct ch_type_info *b)
{
	return a->dtype == b->dtype && a->count == b->count &&
	       a->array == b->array && a->first_offset == b->first_offset;
}

/*
 * The name of info->count elements of type element ("T", "T[]" when the
 * count is unknown, "T[4]" when it is known), in the group "T[]" for every
 * array of T. Two arrays of one name but different layouts (a vector's 3
 * elements, a new[]'s 3 after its cookie) get a name each: the layout is
 * kept per name.
 */
static struct ch_error *intern_keyed(struct ch_types *types,
				     struct ch_u64_map *map, uint64_t key,
				     const char *element,
				     const struct ch_type_info *info,
				     uint32_t *ret)
{
	struct ch_types_private *p = types->private;
	struct ch_type_info group_info = *info;
	uint64_t value;
	uint32_t group = UINT32_MAX, found;
	char *name;
	struct ch_error *err;

	if (key != CH_U64_MAP_EMPTY && ch_u64_map_get(map, key, &value)) {
		*ret = value;
		return NULL;
	}
	if (info->array) {
		group_info.count = 0;
		group_info.first_offset = 0;
		err = intern(types, element_name(element, true, 0), &group_info,
			     &group);
		if (err)
			return err;
	}
	name = element_name(element, info->array, info->count);
	if (!name)
		return &ch_enomem;
	if (ch_name_map_get(&p->names, name, &found) &&
	    same_layout(&types->infos[found], info)) {
		free(name);
		*ret = found;
	} else {
		bool known = ch_name_map_get(&p->names, name, &found);

		// One string, one group: a T of another layout joins T's.
		if (known && group == UINT32_MAX)
			group = types->program->heap.type_groups[found];
		err = push_name(types, name, info, group, !known, ret);
		if (err)
			return err;
	}
	return key != CH_U64_MAP_EMPTY ? ch_u64_map_put(map, key, *ret) : NULL;
}

/* Vtables. */

static void replace_all(char *s, const char *from, const char *to)
{
	size_t from_len = strlen(from), to_len = strlen(to);
	char *hit;

	// Only used to shorten: to is never longer than from.
	while ((hit = strstr(s, from))) {
		memmove(hit + to_len, hit + from_len,
			strlen(hit + from_len) + 1);
		memcpy(hit, to, to_len);
		s = hit + to_len;
	}
}

/*
 * The DWARF definition of a class named by its vtable. The demangler and
 * GCC's DWARF spell template arguments alike, except enum values:
 * "(__gnu_cxx::_Lock_policy)2" is "__gnu_cxx::_S_atomic" in DWARF (every
 * shared_ptr control block has one).
 */
static struct ch_error *class_dtype(struct ch_types *types, uint32_t class,
				    uint32_t *ret)
{
	struct ch_types_private *p = types->private;
	const struct ch_vtable_class *vclass;
	char *name;
	struct ch_error *err;

	*ret = CH_DTYPE_NONE;
	if (class >= p->num_class_dtypes) {
		size_t n = ch_vtables_num_classes(types->vtables);
		uint32_t *grown = realloc(p->class_dtypes, n * sizeof(*grown));

		if (!grown)
			return &ch_enomem;
		for (size_t i = p->num_class_dtypes; i < n; i++)
			grown[i] = UNKNOWN_CLASS_DTYPE;
		p->class_dtypes = grown;
		p->num_class_dtypes = n;
	}
	if (p->class_dtypes[class] != UNKNOWN_CLASS_DTYPE) {
		*ret = p->class_dtypes[class];
		return NULL;
	}
	vclass = ch_vtables_class(types->vtables, class);
	err = ch_dwarf_types_find(types->dwarf, vclass->name, ret);
	if (!err && !*ret && strstr(vclass->name, "(__gnu_cxx::_Lock_policy)")) {
		name = strdup(vclass->name);
		if (!name)
			return &ch_enomem;
		replace_all(name, "(__gnu_cxx::_Lock_policy)2",
			    "__gnu_cxx::_S_atomic");
		replace_all(name, "(__gnu_cxx::_Lock_policy)1",
			    "__gnu_cxx::_S_mutex");
		replace_all(name, "(__gnu_cxx::_Lock_policy)0",
			    "__gnu_cxx::_S_single");
		err = ch_dwarf_types_find(types->dwarf, name, ret);
		free(name);
	}
	if (err)
		return err;
	p->class_dtypes[class] = *ret;
	return NULL;
}

static bool read_word(const struct ch_types *types, uint64_t addr,
		      uint64_t *ret)
{
	return ch_address_space_read_u64(types->program->address_space, addr,
					 ret);
}

// All count copies, stride apart from first, start with vptr.
static bool copies_start_with(const struct ch_types *types, uint64_t first,
			      uint64_t stride, uint64_t count, uint64_t vptr)
{
	for (uint64_t k = 0; k < count; k++) {
		uint64_t word;

		if (!read_word(types, first + k * stride, &word) || word != vptr)
			return false;
	}
	return true;
}

/*
 * new[] of a class with a non-trivial destructor puts the element count
 * in the 8 bytes before the first element. The element size comes from
 * DWARF or, without it, from the count and the usable size; every element
 * must start with the same vtable pointer.
 */
static bool find_cookie_array(const struct ch_types *types,
			      const struct ch_block *block, uint64_t count,
			      uint64_t vptr, uint64_t dwarf_size,
			      uint64_t *size_ret)
{
	uint64_t usable = ch_block_size(block) - COOKIE_SIZE;

	if (count == 0 || count > usable / 8)
		return false;
	if (dwarf_size) {
		*size_ret = dwarf_size;
		return count <= usable / dwarf_size &&
		       request_fits(types->program, block,
				    COOKIE_SIZE + count * dwarf_size) &&
		       copies_start_with(types, block->address + COOKIE_SIZE,
					 dwarf_size, count, vptr);
	}
	if (count == 1) {
		*size_ret = usable;
		return true;
	}
	// Objects with a vtable are 8-aligned: try each size that fits.
	for (uint64_t size = usable / count / 8 * 8; size >= 8; size -= 8) {
		if (!request_fits(types->program, block,
				  COOKIE_SIZE + count * size))
			break;
		if (copies_start_with(types, block->address + COOKIE_SIZE, size,
				      count, vptr)) {
			*size_ret = size;
			return true;
		}
	}
	return false;
}

/*
 * The class of the object at the start of block i, if its first word is a
 * vtable pointer, or of the array after a new[] count cookie. DWARF is not
 * there yet (it is read meanwhile): a cookie's element size is inferred,
 * and arrays without a cookie are found later (find_vtable_arrays()).
 */
static struct ch_error *type_block_by_vtable(struct ch_types *types, size_t i,
					    const uint8_t *bytes)
{
	struct ch_heap *heap = &types->program->heap;
	const struct ch_block *block = &heap->live.blocks[i];
	struct ch_type_info info = { .count = 1 };
	uint64_t words[2], element_size;
	uint32_t class, type;
	struct ch_error *err;

	if (ch_block_size(block) < 8)
		return NULL;
	if (bytes)
		memcpy(&words[0], bytes, 8);
	else if (!read_word(types, block->address, &words[0]))
		return NULL;
	err = ch_vtables_lookup(types->vtables, words[0], &class);
	if (err)
		return err;
	if (class == CH_VTABLE_NONE) {
		// Perhaps a new[] count cookie, then the first element.
		if (ch_block_size(block) < 16 || words[0] == 0 ||
		    words[0] > ch_block_size(block) / 8 ||
		    !read_word(types, block->address + 8, &words[1]))
			return NULL;
		err = ch_vtables_lookup(types->vtables, words[1], &class);
		if (err || class == CH_VTABLE_NONE)
			return err;
		if (!find_cookie_array(types, block, words[0], words[1], 0,
				       &element_size))
			return NULL;
		info.array = true;
		info.count = words[0];
		info.first_offset = COOKIE_SIZE;
	}
	info.vtable_class = class;
	err = intern_keyed(types, &types->private->class_names,
			   name_key(class, &info),
			   ch_vtables_class(types->vtables, class)->name, &info,
			   &type);
	if (err)
		return err;
	heap->block_types[i] = type;
	heap->block_type_sources[i] = CH_TYPE_VTABLE;
	return NULL;
}

/*
 * One pass over the first bytes of every block, in address order: its
 * class if it starts with a vtable pointer, else whether it looks like
 * text (kept for the end: DWARF evidence found later wins over a guess).
 */
static struct ch_error *type_block_by_runtime(struct ch_types *types,
					      size_t i, uint16_t runtime_type)
{
	struct ch_heap *heap = &types->program->heap;
	struct ch_type_info info = {
		.dtype = CH_DTYPE_NONE,
		.vtable_class = CH_VTABLE_NONE,
		.count = 1,
	};
	uint32_t id;
	struct ch_error *err;

	if (runtime_type >= heap->num_runtime_type_names)
		return NULL;
	err = intern(types, strdup(heap->runtime_type_names[runtime_type]),
		     &info, &id);
	if (err)
		return err;
	heap->block_types[i] = id;
	heap->block_type_sources[i] = CH_TYPE_RUNTIME;
	return NULL;
}

static struct ch_error *scan_blocks(struct ch_types *types)
{
	struct ch_types_private *p = types->private;
	const struct ch_heap *heap = &types->program->heap;
	struct block_reader reader = { .as = types->program->address_space };
	bool vtables = !ch_vtables_empty(types->vtables);
	struct ch_error *err = NULL;
	struct ch_progress_batch progress = { .step = PROGRESS_STEP };

	for (size_t i = 0; !err && i < heap->live.len; i++) {
		const struct ch_block *block = &heap->live.blocks[i];
		uint16_t runtime_type =
			ch_block_array_runtime_type(&heap->live, i);
		const uint8_t *bytes;

		ch_progress_count(&progress, 1);
		prefetch_block(&reader, heap, i + PREFETCH_DISTANCE);
		// A runtime's own word is the most trusted evidence there is.
		if (runtime_type) {
			err = type_block_by_runtime(types, i, runtime_type);
			continue;
		}
		bytes = block_bytes(&reader, block->address,
				    ch_block_size(block) < TEXT_SCAN_MAX ?
					    ch_block_size(block) :
					    TEXT_SCAN_MAX);
		if (vtables)
			err = type_block_by_vtable(types, i, bytes);
		if (!err && bytes &&
		    heap->block_type_sources[i] == CH_TYPE_UNKNOWN &&
		    ch_looks_like_text(bytes, ch_block_size(block)))
			ch_bit_set(p->text_bits, i);
	}
	ch_progress_flush(&progress);
	return err;
}

/*
 * With DWARF at hand: the type behind each class, and arrays from new[]
 * without a cookie (a class whose destructor is trivial): n copies, by
 * DWARF's size, each starting with the same vtable pointer.
 */
static struct ch_error *find_vtable_arrays(struct ch_types *types)
{
	struct ch_heap *heap = &types->program->heap;
	struct ch_error *err = NULL;

	for (size_t t = 1; !err && t < heap->num_type_names; t++) {
		if (types->infos[t].vtable_class != CH_VTABLE_NONE)
			err = class_dtype(types, types->infos[t].vtable_class,
					  &types->infos[t].dtype);
	}
	for (size_t i = 0; !err && i < heap->live.len; i++) {
		const struct ch_block *block = &heap->live.blocks[i];
		struct ch_type_info info;
		const struct ch_dtype *dtype;
		uint64_t n, vptr;
		uint32_t type;

		if (heap->block_type_sources[i] != CH_TYPE_VTABLE)
			continue;
		info = types->infos[heap->block_types[i]];
		dtype = ch_dwarf_type(types->dwarf, info.dtype);
		if (info.array || !dtype ||
		    !dtype->size)
			continue;
		if (!ch_block_holds_array(types->program, block, dtype->size))
			continue;
		n = ch_block_size(block) / dtype->size;
		if (!read_word(types, block->address, &vptr) ||
		    !copies_start_with(types, block->address, dtype->size, n,
				       vptr))
			continue;
		// The slack may hold a copy too: the count is not known.
		info.array = true;
		info.count = 0;
		err = intern_keyed(types, &types->private->class_names,
				   name_key(info.vtable_class, &info),
				   ch_vtables_class(types->vtables,
						    info.vtable_class)->name,
				   &info, &type);
		if (!err)
			heap->block_types[i] = type;
	}
	return err;
}

/* DWARF propagation. */

static void note_conflict(struct ch_types *types, size_t i)
{
	if (!ch_bit_get(types->conflicted, i)) {
		ch_bit_set(types->conflicted, i);
		types->stats.conflicts++;
	}
}

static struct ch_error *enqueue(struct ch_types *types, size_t i)
{
	struct ch_types_private *p = types->private;

	if (ch_bit_get(p->queued_bits, i))
		return NULL;
	ch_bit_set(p->queued_bits, i);
	ch_bit_set(p->next_level.bits, i);
	if (++p->next_level.count > p->next_level.list_limit)
		return NULL;
	return block_list_append(&p->next_level.list, &(uint32_t){ (uint32_t)i });
}

// DWARF type id may describe (part of) an object of vtable class class.
static struct ch_error *fits_class(struct ch_types *types, uint32_t class,
				   uint32_t id, bool *ret)
{
	struct ch_types_private *p = types->private;
	const struct ch_dtype *dtype = ch_dwarf_type(types->dwarf, id);
	const struct ch_vtable_class *vclass;
	uint64_t key = (uint64_t)class << 32 | id, value;
	uint32_t class_id;
	struct ch_error *err;

	if (ch_u64_map_get(&p->class_compat, key, &value)) {
		*ret = value == 2;
		return NULL;
	}
	err = class_dtype(types, class, &class_id);
	if (!err)
		err = ch_vtables_bases_at_zero(types->vtables, class);
	if (err)
		return err;
	vclass = ch_vtables_class(types->vtables, class);
	*ret = dtype->is_byte ||
	       ch_names_equal_ignoring_spaces(dtype->name, vclass->name) ||
	       (class_id && ch_dwarf_types_is_prefix(types->dwarf, id, class_id));
	for (size_t i = 0; !*ret && i < vclass->num_bases_at_zero; i++)
		*ret = ch_names_equal_ignoring_spaces(dtype->name,
						      vclass->bases_at_zero[i]);
	return ch_u64_map_put(&p->class_compat, key, *ret ? 2 : 1);
}

// A pointer of DWARF type id points to block i, of block_size bytes (past
// a cookie if cookie).
static struct ch_error *add_evidence(struct ch_types *types, size_t i,
				     uint64_t block_size, uint32_t id,
				     bool cookie)
{
	struct ch_types_private *p = types->private;
	struct ch_heap *heap = &types->program->heap;
	const struct ch_dtype *new = ch_dwarf_type(types->dwarf, id), *cur;
	uint32_t cur_id;
	uint64_t need;
	bool compatible;
	struct ch_error *err;

	if (!new || new->kind == CH_DTYPE_OTHER)
		return NULL;
	need = new->size + (cookie ? COOKIE_SIZE : 0);
	if (need > block_size) {
		note_conflict(types, i);
		return NULL;
	}
	switch (heap->block_type_sources[i]) {
	case CH_TYPE_RUNTIME:
		return NULL;
	case CH_TYPE_VTABLE:
		err = fits_class(types, types->infos[heap->block_types[i]].vtable_class,
				 id, &compatible);
		if (!err && !compatible)
			note_conflict(types, i);
		return err;
	case CH_TYPE_UNKNOWN:
		heap->block_types[i] = id;
		heap->block_type_sources[i] = CH_TYPE_DWARF;
		ch_bit_assign(p->cookie_bits, i, cookie);
		return enqueue(types, i);
	default:
		break;
	}
	cur_id = heap->block_types[i];
	if (cur_id == id)
		return NULL;
	cur = ch_dwarf_type(types->dwarf, cur_id);
	compatible = new->is_byte || cur->is_byte ||
		     ch_dwarf_types_is_prefix(types->dwarf, id, cur_id) ||
		     ch_dwarf_types_is_prefix(types->dwarf, cur_id, id);
	if (!compatible)
		note_conflict(types, i);
	if (new->size > cur->size) {
		heap->block_types[i] = id;
		ch_bit_assign(p->cookie_bits, i, cookie);
		return enqueue(types, i);
	}
	return NULL;
}

static struct ch_error *pass_on_batch(struct ch_types *types);

// word was read from a pointer slot to DWARF type target, and points into
// block index, which lies at span (the lookup's copy: the block itself is
// read only for a new[] cookie).
static struct ch_error *follow_into(struct ch_types *types, uint64_t word,
				    uint32_t index,
				    const struct ch_found_block *span,
				    uint32_t target, bool *typed_ret)
{
	const struct ch_block *block;
	const struct ch_dtype *dtype;
	uint64_t count;

	if (word == span->address) {
		*typed_ret = true;
		return add_evidence(types, index, span->size, target, false);
	}
	// new T[n] returns the address after the count cookie.
	block = &types->program->heap.live.blocks[index];
	dtype = ch_dwarf_type(types->dwarf, target);
	if (word != block->address + COOKIE_SIZE || !dtype || !dtype->cxx ||
	    dtype->kind != CH_DTYPE_STRUCT || !dtype->size ||
	    !read_word(types, block->address, &count) || count == 0 ||
	    count > (ch_block_size(block) - COOKIE_SIZE) / dtype->size ||
	    !request_fits(types->program, block,
			  COOKIE_SIZE + count * dtype->size))
		return NULL;
	*typed_ret = true;
	return add_evidence(types, index, ch_block_size(block), target, true);
}

// word was read from a pointer slot to DWARF type target.
static struct ch_error *follow(struct ch_types *types, uint64_t word,
			       uint32_t target, bool *typed_ret)
{
	struct ch_types_private *p = types->private;
	struct ch_found_block span;
	uint32_t index;

	if (word & 7 || word - p->block_index->low >=
				 p->block_index->high - p->block_index->low)
		return NULL;
	if (p->batching) {
		return ch_lookup_batch_push(&p->batches[p->filling], word,
					    target) ?
			       pass_on_batch(types) :
			       NULL;
	}
	index = ch_block_index_find(p->block_index, word, true);
	if (index == CH_NO_BLOCK)
		return NULL;
	span = ch_found_block_of(&types->program->heap.live.blocks[index]);
	return follow_into(types, word, index, &span, target, typed_ret);
}

// The recent vector counts are moved into the others at this many (4096
// slots of 16 bytes, 64 KiB: an eighth of a core's L2 here).
#define RECENT_VECTOR_COUNTS 2048

/*
 * A std::vector's _M_start (start) and _M_finish (finish) for elements of
 * type target: if start is a block's first byte and the elements fit in
 * it, their count is known.
 */
static struct ch_error *note_vector(struct ch_types *types, uint64_t start,
				    uint64_t finish, uint32_t target)
{
	struct ch_types_private *p = types->private;
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_dtype *dtype = ch_dwarf_type(types->dwarf, target);
	struct ch_error *err;
	uint64_t count;
	uint32_t index;

	if (!dtype || !dtype->size || finish < start ||
	    (finish - start) % dtype->size)
		return NULL;
	count = (finish - start) / dtype->size;
	index = ch_block_index_find(p->block_index, start, true);
	if (index == CH_NO_BLOCK || heap->live.blocks[index].address != start ||
	    finish - start > ch_block_size(&heap->live.blocks[index]) ||
	    count > UINT32_MAX || ch_bit_get(p->vector_bits, index))
		return NULL;
	ch_bit_set(p->vector_bits, index);
	err = ch_u64_map_put(&p->recent_vector_counts, index,
			     (uint64_t)target << 32 | count);
	if (err || p->recent_vector_counts.len < RECENT_VECTOR_COUNTS)
		return err;
	err = ch_u64_map_put_all(&p->vector_counts, &p->recent_vector_counts);
	ch_u64_map_clear(&p->recent_vector_counts);
	return err;
}

// Fetch where vector_count() will look for block i, if a vector gave it
// a count: a miss of its own in a map of millions.
CH_PREFETCHER void prefetch_vector_count(const struct ch_types_private *p,
					 size_t i)
{
	if (ch_bit_get(p->vector_bits, i))
		ch_u64_map_prefetch(&p->vector_counts, i);
}

// The count a vector gave block i for elements of type id, if any.
static bool vector_count(const struct ch_types *types, size_t i, uint32_t id,
			 uint64_t *ret)
{
	const struct ch_types_private *p = types->private;
	uint64_t value;

	if (!ch_bit_get(p->vector_bits, i) ||
	    !(ch_u64_map_get(&p->recent_vector_counts, i, &value) ||
	      ch_u64_map_get(&p->vector_counts, i, &value)) ||
	    value >> 32 != id)
		return false;
	*ret = value & UINT32_MAX;
	return true;
}

/*
 * The pointers in size bytes at address, laid out as count elements of
 * type id from offset first (UINT64_MAX: as many as fit), whose slots are
 * slots[0, num_slots): bytes is the mapped memory, or NULL to read word by
 * word.
 */
static struct ch_error *scan_value(struct ch_types *types, uint64_t address,
				   const uint8_t *bytes, uint64_t size,
				   uint64_t first, uint64_t count, uint32_t id,
				   const struct ch_dtype_slot *slots,
				   size_t num_slots, bool *typed_ret)
{
	uint64_t element_size = types->dwarf->types[id].size;
	struct ch_error *err;

	for (uint64_t k = 0; k < count; k++) {
		uint64_t base = first + k * element_size;

		if (base >= size)
			break;
		// follow() makes types but never slots: slots stays valid.
		for (size_t s = 0; s < num_slots; s++) {
			struct ch_dtype_slot slot = slots[s];
			uint64_t n;

			if (base + slot.offset + 8 > size)
				continue;
			n = slot.count;
			if (!n) // a flexible array: to the end
				n = slot.stride ? (size - base - slot.offset - 8) /
							  slot.stride + 1 :
						  1;
			for (uint64_t j = 0; j < n; j++) {
				uint64_t offset = base + slot.offset +
						  j * slot.stride, word;

				if (offset + 8 > size)
					break;
				if (bytes)
					memcpy(&word, bytes + offset, 8);
				else if (!read_word(types, address + offset,
						    &word))
					continue;
				if ((slot.flags & CH_SLOT_VECTOR_BEGIN) &&
				    offset + 16 <= size) {
					uint64_t finish;

					if (bytes)
						memcpy(&finish, bytes + offset + 8, 8);
					if (bytes || read_word(types, address + offset + 8,
							       &finish)) {
						err = note_vector(types, word, finish,
								  slot.target);
						if (err)
							return err;
					}
				}
				err = follow(types, word, slot.target,
					     typed_ret);
				if (err)
					return err;
			}
		}
		if (!element_size)
			break;
	}
	return NULL;
}

// A root: a variable of type id at address (a global, a TLS copy, a local).
static struct ch_error *scan_variable(struct ch_types *types, uint64_t address,
				      uint32_t id)
{
	const struct ch_dtype *dtype = &types->dwarf->types[id];
	const void *bytes = ch_address_space_map(types->program->address_space,
						 address, dtype->size);
	const struct ch_dtype_slot *slots;
	size_t num_slots;
	bool typed = false;
	struct ch_error *err = ch_dwarf_types_slots(types->dwarf, id, &slots,
						    &num_slots);

	if (!err && num_slots)
		err = scan_value(types, address, bytes, dtype->size, 0, 1, id,
				 slots, num_slots, &typed);

	if (typed)
		types->stats.roots++;
	return err;
}

static struct ch_error *seed_from_variables(struct ch_types *types)
{
	struct ch_program *program = types->program;
	struct ch_dwarf_types *dwarf = types->dwarf;
	struct ch_error *err = NULL;

	for (size_t v = 0; !err && v < dwarf->num_variables; v++) {
		const struct ch_dwarf_variable *variable = &dwarf->variables[v];
		const struct ch_dtype *dtype;
		const struct ch_dtype_slot *slots;
		size_t num_slots;
		uint32_t id;

		err = ch_dwarf_types_variable_type(dwarf, v, &id);
		if (!err)
			err = ch_dwarf_types_slots(dwarf, id, &slots, &num_slots);
		dtype = ch_dwarf_type(dwarf, id);
		if (err || !dtype || !num_slots || !dtype->size)
			continue;
		if (!variable->is_tls) {
			err = scan_variable(types, variable->address, id);
			continue;
		}
		// One copy per thread.
		for (size_t t = 0; !err && t < program->core->num_threads; t++) {
			uint64_t address;
			struct ch_error *tls_err = ch_program_tls_address(
				program, t,
				&program->modules->modules[variable->module],
				variable->address, &address);

			if (tls_err) {
				ch_error_destroy(tls_err);
				continue;
			}
			err = scan_variable(types, address, id);
		}
	}
	return err;
}

struct local_roots {
	struct ch_types *types;
	/** The stack mapping of the frame: a local must lie wholly in it. */
	const struct ch_mapping *stack;
	struct ch_error *err;
};

static bool scan_local(Dwarf_Die *variable, uint64_t address, void *varg)
{
	struct local_roots *arg = varg;
	struct ch_dwarf_types *dwarf = arg->types->dwarf;
	const struct ch_dtype *dtype;
	const struct ch_dtype_slot *slots;
	size_t num_slots;
	Dwarf_Die type_die;
	uint32_t id;

	if (!ch_dwarf_die_type(variable, &type_die))
		return true;
	arg->err = ch_dwarf_types_of_die(dwarf, &type_die, &id);
	if (!arg->err)
		arg->err = ch_dwarf_types_slots(dwarf, id, &slots, &num_slots);
	if (arg->err)
		return false;
	dtype = ch_dwarf_type(dwarf, id);
	// A bad frame base puts a local anywhere: only what the stack holds.
	if (!dtype || !num_slots || !dtype->size ||
	    address < arg->stack->start ||
	    dtype->size > arg->stack->available ||
	    address - arg->stack->start > arg->stack->available - dtype->size)
		return true;
	arg->err = scan_variable(arg->types, address, id);
	return !arg->err;
}

/*
 * The locals of every frame of a thread that has DWARF, as roots. A thread
 * that could not be unwound has no frames: its locals stay unknown, the
 * other roots still count (the program warned about it).
 */
static struct ch_error *seed_from_stack(struct ch_types *types,
					const struct ch_stack *stack)
{
	struct ch_program *program = types->program;
	struct local_roots arg = { .types = types };

	for (size_t k = 0; !arg.err && k < stack->num_frames; k++) {
		const struct ch_frame *frame = &stack->frames[k];

		if (!frame->context.has_sp)
			continue;
		arg.stack = ch_address_space_mapping(program->address_space,
						     frame->context.sp);
		if (!arg.stack || !frame->module || !frame->module->has_dwarf)
			continue;
		ch_module_for_each_local(frame->module, &frame->context,
					 scan_local, &arg);
	}
	return arg.err;
}

static struct ch_error *seed_from_locals(struct ch_types *types)
{
	const struct ch_stacks *stacks;
	struct ch_error *err;

	err = ch_program_stacks(types->program, &stacks);
	for (size_t t = 0; !err && t < stacks->num_threads; t++)
		err = seed_from_stack(types, &stacks->threads[t]);
	return err;
}

static struct ch_error *visit(struct ch_types *types,
			      struct block_reader *reader, size_t i)
{
	struct ch_types_private *p = types->private;
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_block *block = &heap->live.blocks[i];
	const struct ch_dtype_slot *slots;
	const struct ch_dtype *dtype;
	uint64_t first = 0, count = 1;
	size_t num_slots;
	bool vtable = heap->block_type_sources[i] == CH_TYPE_VTABLE;
	uint32_t id = vtable ? types->infos[heap->block_types[i]].dtype :
			       heap->block_types[i];
	bool typed = false;
	struct ch_error *err;

	// A type that holds no pointers (text, numbers) has nothing to
	// follow: its count, which may ask the allocator, is not needed.
	// (Slots may make types, which moves them: a type is looked at after.)
	err = ch_dwarf_types_slots(types->dwarf, id, &slots, &num_slots);
	if (err || !num_slots)
		return err;
	if (vtable) {
		const struct ch_type_info *info =
			&types->infos[heap->block_types[i]];

		count = info->count;
		first = info->first_offset;
	} else {
		dtype = ch_dwarf_type(types->dwarf, id);
		if (ch_bit_get(p->cookie_bits, i)) {
			first = COOKIE_SIZE;
			if (!read_word(types, block->address, &count))
				return NULL;
		} else if (vector_count(types, i, id, &count)) {
			// Past _M_finish are no elements, only stale bytes.
			if (!count)
				return NULL;
		} else if (!dtype->has_flex &&
			   ch_block_holds_array(types->program, block,
						dtype->size)) {
			count = 0;
		}
	}
	// An array of unknown count: every element the block holds.
	if (!count)
		count = UINT64_MAX;
	return scan_value(types, block->address,
			  block_bytes(reader, block->address,
				      ch_block_size(block)),
			  ch_block_size(block), first, count, id, slots, num_slots,
			  &typed);
}

// How far ahead the evidence prefetches a found block.
#define AHEAD_BLOCK 16
// Below this many pointers a batch is looked up on one thread.
#define MIN_PARALLEL_PAIRS 16384

struct lookup_range {
	const struct ch_block_index *index;
	struct ch_lookup_batch *batch;
	size_t from, to;
	bool unsorted;
};

// The spans of the found blocks go in the pairs' room (sorted lookups).
static struct ch_found_block *batch_spans(const struct ch_lookup_batch *batch)
{
	_Static_assert(sizeof(struct ch_found_block) <= sizeof(*batch->pairs),
		       "a found block's span fits in a batched pair's room");
	return (struct ch_found_block *)batch->pairs;
}

// An unsorted lookup's scratch, then its evidence, go in the sorted
// pairs' room.
static uint32_t *batch_inside(const struct ch_lookup_batch *batch)
{
	_Static_assert(sizeof(uint32_t) <= sizeof(*batch->sorted),
		       "a position fits in a sorted pair's room");
	return (uint32_t *)batch->sorted;
}

static struct block_evidence *batch_evidence(const struct ch_lookup_batch *batch)
{
	_Static_assert(sizeof(struct block_evidence) <= sizeof(*batch->sorted),
		       "evidence fits in a sorted pair's room");
	return (struct block_evidence *)batch->sorted;
}

/*
 * Of the pointers of pairs[0, n) found past a block's start (inside,
 * num_inside of them), only one past a new[] count cookie says anything
 * of the block (follow_into()): it is marked in its pair, the others are
 * not found.
 */
static void keep_cookie_pointers(const struct ch_block_index *index,
				 struct ch_sort_pair *pairs, uint32_t *found,
				 const uint32_t *inside, size_t num_inside)
{
	for (size_t j = 0; j < num_inside; j++) {
		uint32_t k = inside[j];

		if (found[k] == CH_NO_BLOCK)
			continue;
		if (pairs[k].key == index->blocks[found[k]].address + COOKIE_SIZE)
			pairs[k].value |= EVIDENCE_PAST_COOKIE;
		else
			found[k] = CH_NO_BLOCK;
	}
}

static void *look_up_range(void *arg)
{
	const struct lookup_range *range = arg;
	struct ch_lookup_batch *batch = range->batch;
	size_t from = range->from, num_inside;

	if (!range->unsorted) {
		ch_lookup_batch_find(range->index, batch, from, range->to, true,
				     batch_spans(batch));
		return NULL;
	}
	ch_block_index_find_unsorted(range->index, batch->pairs + from,
				     range->to - from, true, batch->found + from,
				     batch_inside(batch) + from, &num_inside);
	keep_cookie_pointers(range->index, batch->pairs + from,
			     batch->found + from, batch_inside(batch) + from,
			     num_inside);
	return NULL;
}

// The evidence is bucketed by this many of the block indices' high bits.
#define EVIDENCE_BUCKET_BITS 11

/*
 * The evidence of a batch looked up unsorted, bucketed by block (in the
 * order filled within a bucket, so a block's in the order it came): its
 * blocks' types are then read a few pages at a time, not at random.
 * Returns how much there is.
 */
static size_t bucket_evidence(const struct ch_block_index *index,
			      const struct ch_lookup_batch *batch)
{
	uint32_t starts[(1 << EVIDENCE_BUCKET_BITS) + 1] = { 0 };
	struct block_evidence *evidence = batch_evidence(batch);
	const uint32_t *found = batch->found;
	size_t len = batch->len;
	unsigned shift = ch_bucket_shift(index->num_blocks,
					 EVIDENCE_BUCKET_BITS);

	for (size_t k = 0; k < len; k++) {
		if (found[k] != CH_NO_BLOCK)
			starts[(found[k] >> shift) + 1]++;
	}
	for (size_t b = 1; b <= 1 << EVIDENCE_BUCKET_BITS; b++)
		starts[b] += starts[b - 1];
	for (size_t k = 0; k < len; k++) {
		if (found[k] != CH_NO_BLOCK)
			evidence[starts[found[k] >> shift]++] = (struct block_evidence){
				.block = found[k], .type = batch->pairs[k].value
			};
	}
	return starts[1 << EVIDENCE_BUCKET_BITS];
}

/*
 * Look the batch up: unsorted, in the order filled (a pointer to a block's
 * start, most of them, is one read), its evidence then bucketed
 * (*num_evidence of it), else sorted by where its pointers point; on this
 * thread alone or, with two_threads, half of it on a thread of its own
 * when there are many (the lookups are most of the propagation's time).
 */
static void look_up(const struct ch_block_index *index,
		    struct ch_lookup_batch *batch, bool unsorted,
		    size_t *num_evidence, bool two_threads)
{
	struct lookup_range first = {
		.index = index,
		.batch = batch,
		.to = batch->len,
		.unsorted = unsorted,
	};
	struct lookup_range second;

	two_threads = two_threads && batch->len >= MIN_PARALLEL_PAIRS;
	if (!unsorted)
		ch_lookup_batch_sort(index, batch, two_threads);
	if (two_threads)
		first.to = batch->len / 2;
	second = first;
	second.from = first.to;
	second.to = batch->len;
	ch_run_pair(look_up_range, &first, two_threads ? &second : NULL);
	*num_evidence = unsorted ? bucket_evidence(index, batch) : 0;
}

static void *batch_lookup_run(void *arg)
{
	const struct batch_lookup *lookup = arg;

	look_up(lookup->index, lookup->batch, lookup->unsorted,
		lookup->num_evidence, false);
	return NULL;
}

/*
 * Follow a batch sorted and looked up: its pointers in the order of where
 * they point (a block's evidence in the order it came: that alone decides
 * which comes first), each found block's type prefetched ahead; where each
 * found block lies is read from the batch, in order, not a line of the
 * blocks each.
 */
static struct ch_error *add_sorted_evidence(struct ch_types *types,
					    const struct ch_lookup_batch *batch)
{
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_sort_pair *pairs = batch->sorted;
	const uint32_t *found = batch->found;
	const struct ch_found_block *spans = batch_spans(batch);
	size_t len = batch->len;
	struct ch_error *err = NULL;
	bool typed = false;

	for (size_t k = 0; !err && k < len; k++) {
		uint32_t i = found[k];

		if (k + AHEAD_BLOCK < len && found[k + AHEAD_BLOCK] != CH_NO_BLOCK) {
			uint32_t ahead = found[k + AHEAD_BLOCK];

			__builtin_prefetch(&heap->block_type_sources[ahead]);
			__builtin_prefetch(&heap->block_types[ahead]);
		}
		if (i == CH_NO_BLOCK)
			continue;
		// Most evidence repeats what the block has: another pointer of
		// its type to its start, which add_evidence() would leave as
		// it is (that type passed its size check when it was set).
		if (heap->block_type_sources[i] == CH_TYPE_DWARF &&
		    heap->block_types[i] == pairs[k].value &&
		    pairs[k].key == spans[k].address)
			continue;
		err = follow_into(types, pairs[k].key, i, &spans[k],
				  pairs[k].value, &typed);
	}
	return err;
}

/*
 * Follow a batch's evidence bucketed by block (bucket_evidence()), each
 * block's type prefetched ahead: as add_sorted_evidence(), where a block
 * lies read from the block when the evidence is new.
 */
static struct ch_error *add_bucketed_evidence(struct ch_types *types,
					      const struct ch_lookup_batch *batch,
					      size_t num_evidence)
{
	const struct ch_heap *heap = &types->program->heap;
	const struct block_evidence *evidence = batch_evidence(batch);
	struct ch_error *err = NULL;
	bool typed = false;

	for (size_t e = 0; !err && e < num_evidence; e++) {
		uint32_t i = evidence[e].block;
		uint32_t type = evidence[e].type & ~EVIDENCE_PAST_COOKIE;
		bool past_cookie = evidence[e].type & EVIDENCE_PAST_COOKIE;
		struct ch_found_block span;

		if (e + AHEAD_BLOCK < num_evidence) {
			uint32_t ahead = evidence[e + AHEAD_BLOCK].block;

			__builtin_prefetch(&heap->block_type_sources[ahead]);
			__builtin_prefetch(&heap->block_types[ahead]);
			// Its record too, read when the evidence is new: asked
			// of the type a few ahead, the type was not there yet.
			__builtin_prefetch(&heap->live.blocks[ahead]);
		}
		if (heap->block_type_sources[i] == CH_TYPE_DWARF &&
		    heap->block_types[i] == type && !past_cookie)
			continue;
		span = ch_found_block_of(&heap->live.blocks[i]);
		err = follow_into(types,
				  span.address + (past_cookie ? COOKIE_SIZE : 0),
				  i, &span, type, &typed);
	}
	return err;
}

// Follow batches[which], looked up: see look_up(). It is left empty.
static struct ch_error *add_batch_evidence(struct ch_types *types,
					   unsigned which)
{
	struct ch_types_private *p = types->private;
	struct ch_lookup_batch *batch = &p->batches[which];
	struct ch_error *err;

	// No pointer is batched while the evidence is added.
	p->batching = false;
	err = p->looking_up.unsorted ?
		      add_bucketed_evidence(types, batch,
					    p->num_evidence[which]) :
		      add_sorted_evidence(types, batch);
	batch->len = 0;
	p->batching = true;
	return err;
}

/*
 * The batch being filled is full, its level not over: it is sorted and
 * looked up beside the evidence of the one before it (in flight till now)
 * and the visits that fill the next. Which evidence comes before which
 * visit is the same on every run: a batch's evidence comes when the next
 * is full (or the level ends).
 */
static struct ch_error *pass_on_batch(struct ch_types *types)
{
	struct ch_types_private *p = types->private;
	unsigned full = p->filling, before = !full;
	bool evidence = p->in_flight;
	struct ch_error *err = NULL;

	if (p->in_flight)
		ch_beside_join(&p->looking_up.thread);
	else if (!p->batches[before].pairs)
		err = ch_lookup_batch_init(&p->batches[before],
					   p->batches[full].capacity);
	if (err)
		return err;
	p->looking_up.index = p->block_index;
	p->looking_up.batch = &p->batches[full];
	p->looking_up.num_evidence = &p->num_evidence[full];
	ch_beside_start(&p->looking_up.thread, batch_lookup_run,
			&p->looking_up);
	p->in_flight = true;
	p->filling = before;
	return evidence ? add_batch_evidence(types, before) : NULL;
}

// The batch in flight, if any: its evidence unless err, which is returned.
static struct ch_error *finish_in_flight(struct ch_types *types,
					 struct ch_error *err)
{
	struct ch_types_private *p = types->private;

	if (!p->in_flight)
		return err;
	ch_beside_join(&p->looking_up.thread);
	p->in_flight = false;
	return err ? err : add_batch_evidence(types, !p->filling);
}

/*
 * The level's visits are over: the evidence of the batch in flight, then
 * of the last, sorted and looked up on both threads.
 */
static struct ch_error *follow_batches(struct ch_types *types)
{
	struct ch_types_private *p = types->private;
	unsigned last = p->filling;
	struct ch_error *err = finish_in_flight(types, NULL);

	if (err)
		return err;
	look_up(p->block_index, &p->batches[last], p->looking_up.unsorted,
		&p->num_evidence[last], true);
	return add_batch_evidence(types, last);
}

static int compare_indices(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static struct ch_error *level_init(struct level *level, size_t num_blocks)
{
	*level = (struct level){
		.bits = ch_calloc_large(ch_bitmap_words(num_blocks) + 1,
					sizeof(uint64_t)),
		.list_limit = num_blocks / 64,
	};
	return level->bits ? NULL : &ch_enomem;
}

static void level_deinit(struct level *level)
{
	ch_free_large(level->bits);
	block_list_deinit(&level->list);
	*level = (struct level){ 0 };
}

// Visit block i of a level.
static struct ch_error *visit_queued(struct ch_types *types,
				     struct block_reader *reader, uint32_t i)
{
	struct ch_types_private *p = types->private;

	ch_bit_clear(p->queued_bits, i);
	if (types->stats.visits >= p->visit_budget) {
		types->stats.truncated = true;
		return NULL;
	}
	types->stats.visits++;
	return visit(types, reader, i);
}

/*
 * How far ahead of the visits a block's bytes and type are fetched, and
 * (twice as far) its record: a level is a sparse subset of the heap, and
 * each of these reads was a cache miss of its own.
 */
#define VISIT_AHEAD 16
// A swept bitmap's blocks are visited this many at a time.
#define VISIT_RUN 1024

CH_PREFETCHER void prefetch_visit(const struct ch_types *types,
				  struct block_reader *reader, uint32_t i)
{
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_block *block = &heap->live.blocks[i];
	uint64_t addr = block->address;
	const struct ch_range *range;

	__builtin_prefetch(&heap->block_types[i]);
	__builtin_prefetch(&heap->block_type_sources[i]);
	prefetch_vector_count(types->private, i);
	range = reader_range(reader, addr);
	if (!range)
		return;
	// The first line, and the second of a block that reaches it.
	__builtin_prefetch(range->data + (addr - range->start));
	if (ch_block_size(block) > 64 - addr % 64 && addr + 64 < range->end)
		__builtin_prefetch(range->data + (addr + 64 - range->start));
}

// Visit the blocks indices[0, n), in that order, each fetched ahead.
static struct ch_error *visit_run(struct ch_types *types,
				  struct block_reader *reader,
				  const uint32_t *indices, size_t n)
{
	const struct ch_heap *heap = &types->program->heap;
	struct ch_error *err = NULL;

	for (size_t k = 0; k < n && k < 2 * VISIT_AHEAD; k++)
		__builtin_prefetch(&heap->live.blocks[indices[k]]);
	for (size_t k = 0; k < n && k < VISIT_AHEAD; k++)
		prefetch_visit(types, reader, indices[k]);
	for (size_t k = 0; !err && k < n && !types->stats.truncated; k++) {
		if (k + 2 * VISIT_AHEAD < n)
			__builtin_prefetch(&heap->live.blocks[indices[k + 2 * VISIT_AHEAD]]);
		if (k + VISIT_AHEAD < n)
			prefetch_visit(types, reader, indices[k + VISIT_AHEAD]);
		err = visit_queued(types, reader, indices[k]);
	}
	return err;
}

/*
 * Visit a level's blocks in address order (its list sorted, or its bitmap
 * swept, a run of blocks at a time), then follow what they hold. The level
 * is left empty.
 */
static struct ch_error *visit_level(struct ch_types *types,
				    struct level *level)
{
	size_t num_words = ch_bitmap_words(types->program->heap.live.len);
	struct block_reader reader = { .as = types->program->address_space };
	struct ch_error *err = NULL;

	if (level->count <= level->list_limit) {
		ch_sort(level->list.data, level->list.len,
			sizeof(*level->list.data), compare_indices);
		for (size_t k = 0; k < level->list.len; k++)
			ch_bit_clear(level->bits, level->list.data[k]);
		err = visit_run(types, &reader, level->list.data,
				level->list.len);
		ch_progress_add(PROPAGATION_WEIGHT * level->list.len);
	} else {
		uint32_t run[VISIT_RUN + 64];
		size_t len = 0;

		for (size_t w = 0; w < num_words; w++) {
			uint64_t bits = level->bits[w];

			level->bits[w] = 0;
			for (; bits; bits &= bits - 1)
				run[len++] = (uint32_t)(w * 64 +
							__builtin_ctzll(bits));
			if (len >= VISIT_RUN || w + 1 == num_words) {
				if (!err && !types->stats.truncated)
					err = visit_run(types, &reader, run, len);
				ch_progress_add(PROPAGATION_WEIGHT * len);
				len = 0;
			}
		}
	}
	level->list.len = 0;
	level->count = 0;
	if (err)
		return finish_in_flight(types, err);
	return follow_batches(types);
}

/*
 * Breadth first, a level at a time: the blocks of a level are visited in
 * address order (their memory is read in order) and the pointers they hold
 * are looked up in batches (look_up()). A block whose type grows is
 * queued for the next level. The blocks the roots typed come first, then
 * the objects typed by their vtables: the first found wins ties.
 */
static struct ch_error *propagate(struct ch_types *types)
{
	struct ch_types_private *p = types->private;
	struct ch_heap *heap = &types->program->heap;
	struct level from_roots = p->next_level, from_vtables, level = { 0 };
	struct ch_error *err;

	err = level_init(&p->next_level, heap->live.len);
	for (size_t i = 0; !err && i < heap->live.len; i++) {
		if (heap->block_type_sources[i] == CH_TYPE_VTABLE &&
		    types->infos[heap->block_types[i]].dtype)
			err = enqueue(types, i);
	}
	from_vtables = p->next_level;
	p->next_level = (struct level){ 0 };
	if (!err)
		err = level_init(&p->next_level, heap->live.len);
	if (!err)
		err = ch_lookup_batch_init(&p->batches[0],
					   heap->live.len / BATCH_SPREAD > BATCH_MIN ?
						   heap->live.len / BATCH_SPREAD :
						   BATCH_MIN);
	p->batching = true;
	// The evidence of an unsorted lookup marks a pointer past a cookie
	// in its type's top bit, which the DWARF types' ids leave free.
	p->looking_up.unsorted =
		ch_block_index_has_start_lines(p->block_index) &&
		types->dwarf->num_types <= EVIDENCE_PAST_COOKIE;
	if (!err)
		err = visit_level(types, &from_roots);
	if (!err && !types->stats.truncated)
		err = visit_level(types, &from_vtables);
	// The levels visited are empty: one is the next's next.
	level = from_roots;
	from_roots = (struct level){ 0 };
	while (!err && p->next_level.count && !types->stats.truncated) {
		struct level swap = level;

		level = p->next_level;
		p->next_level = swap;
		err = visit_level(types, &level);
	}
	p->batching = false;
	level_deinit(&from_roots);
	level_deinit(&from_vtables);
	level_deinit(&level);
	return err;
}

/* Names. */

/*
 * What naming a block takes: its DWARF type's name (info says how many
 * elements, from where), the text type, or nothing (typed otherwise, or
 * not at all).
 */
enum naming {
	NAMING_NONE,
	NAMING_DWARF,
	NAMING_TEXT,
};

/*
 * How block i is named: only reads the heap, the core and the evidence, so
 * that two threads can ask it of different blocks at once.
 */
static enum naming block_naming(const struct ch_types *types, size_t i,
				struct ch_type_info *info)
{
	struct ch_types_private *p = types->private;
	struct ch_heap *heap = &types->program->heap;
	const struct ch_block *block = &heap->live.blocks[i];
	const struct ch_dtype *dtype;

	// Untyped, but its bytes looked like text to scan_blocks().
	if (heap->block_type_sources[i] == CH_TYPE_UNKNOWN &&
	    ch_bit_get(p->text_bits, i))
		return NAMING_TEXT;
	if (heap->block_type_sources[i] != CH_TYPE_DWARF)
		return NAMING_NONE;
	*info = (struct ch_type_info){ .vtable_class = CH_VTABLE_NONE,
				       .count = 1,
				       .dtype = heap->block_types[i] };
	dtype = ch_dwarf_type(types->dwarf, info->dtype);
	if (ch_bit_get(p->cookie_bits, i)) {
		info->array = true;
		info->first_offset = COOKIE_SIZE;
		if (!read_word(types, block->address, &info->count))
			info->count = 0;
	} else if (dtype->is_byte) {
		info->array = true;
		info->count = 0;
	} else if (vector_count(types, i, info->dtype, &info->count)) {
		// A vector of 1 is an array of 1; an empty one's block (its
		// room reserved) an array of no known count.
		info->array = true;
	} else if (!dtype->has_flex &&
		   ch_block_holds_array(types->program, block, dtype->size)) {
		info->array = true;
		info->count = 0;
	}
	return NAMING_DWARF;
}

static struct ch_error *intern_dwarf(struct ch_types *types,
				     const struct ch_type_info *info,
				     uint32_t *ret)
{
	return intern_keyed(types, &types->private->dtype_names,
			    name_key(info->dtype, info),
			    ch_dwarf_type(types->dwarf, info->dtype)->name,
			    info, ret);
}

// The one type of every block that looks like text, interned when first
// needed.
static struct ch_error *text_type(struct ch_types *types, uint32_t *ret)
{
	struct ch_types_private *p = types->private;
	struct ch_type_info info = { .vtable_class = CH_VTABLE_NONE };
	struct ch_error *err;

	if (!p->text_type) {
		err = intern(types, strdup(CH_TEXT_TYPE_NAME), &info,
			     &p->text_type);
		if (err)
			return err;
	}
	*ret = p->text_type;
	return NULL;
}

static void count_named(struct ch_type_stats *stats, const struct ch_heap *heap,
			size_t i)
{
	uint8_t source = heap->block_type_sources[i];

	stats->allocations[source]++;
	stats->bytes[source] += ch_block_size(&heap->live.blocks[i]);
}

// How far ahead of the names a block's vector count is fetched.
#define NAME_AHEAD 32
// Fewer blocks than this are named on one thread.
#define NAME_SPLIT_MIN 32

/*
 * The blocks are named on two threads, and the names come out as one
 * thread naming the blocks in order would make them (their numbers are
 * in the order they were first needed, which the reports' ties follow):
 * the first half interns as it goes; the second keeps the names it needs
 * in a list of its own, in the order it first needs each, gives its
 * blocks their place in that list, and leaves the interning to the end,
 * when the first half's is done (finish_second_half()).
 */
struct wanted_name {
	struct ch_type_info info;
	bool text;
};

DEFINE_VECTOR(wanted_name_vector, struct wanted_name);

struct naming_half {
	struct ch_types *types;
	size_t start, end;
	/** The second half: wanted names rather than interned ones. */
	bool deferred;
	/** name_key() -> index in wanted (keyed names only). */
	struct ch_u64_map wanted_keys;
	struct wanted_name_vector wanted;
	/** The text type's index in wanted; UINT32_MAX until one is text. */
	uint32_t wanted_text;
	struct ch_type_stats stats;
	struct ch_error *err;
};

// Block i's place in the half's wanted names (a new one if need be).
static struct ch_error *want_name(struct naming_half *half,
				  const struct wanted_name *name,
				  uint32_t *ret)
{
	uint64_t key = name->text ? CH_U64_MAP_EMPTY :
				    name_key(name->info.dtype, &name->info);
	uint64_t value;
	struct ch_error *err;

	if (name->text && half->wanted_text != UINT32_MAX) {
		*ret = half->wanted_text;
		return NULL;
	}
	if (key != CH_U64_MAP_EMPTY &&
	    ch_u64_map_get(&half->wanted_keys, key, &value)) {
		*ret = value;
		return NULL;
	}
	if (half->wanted.len >= UINT32_MAX)
		return ch_error_create(CH_ERROR_CORRUPT, "too many types");
	*ret = half->wanted.len;
	err = wanted_name_vector_append(&half->wanted, name);
	if (!err && key != CH_U64_MAP_EMPTY)
		err = ch_u64_map_put(&half->wanted_keys, key, *ret);
	if (!err && name->text)
		half->wanted_text = *ret;
	return err;
}

static struct ch_error *name_block(struct naming_half *half, size_t i)
{
	struct ch_types *types = half->types;
	struct ch_heap *heap = &types->program->heap;
	struct wanted_name name = { .text = false };
	uint32_t type = 0;
	struct ch_error *err = NULL;

	// A deferred block holds its name's place in the wanted names until
	// they are numbered.
	switch (block_naming(types, i, &name.info)) {
	case NAMING_NONE:
		return NULL;
	case NAMING_DWARF:
		err = half->deferred ? want_name(half, &name, &type) :
				       intern_dwarf(types, &name.info, &type);
		break;
	case NAMING_TEXT:
		name.text = true;
		err = half->deferred ? want_name(half, &name, &type) :
				       text_type(types, &type);
		if (!err)
			heap->block_type_sources[i] = CH_TYPE_GUESS;
		break;
	}
	if (!err)
		heap->block_types[i] = type;
	return err;
}

// The half's counts and error are its own until it is done: the two
// halves' records share cache lines.
static void *name_half(void *arg)
{
	struct naming_half *half = arg;
	const struct ch_heap *heap = &half->types->program->heap;
	struct ch_progress_batch progress = { .step = PROGRESS_STEP };
	struct ch_type_stats stats = { 0 };
	struct ch_error *err = NULL;

	for (size_t i = half->start; !err && i < half->end; i++) {
		ch_progress_count(&progress, 1);
		if (i + NAME_AHEAD < half->end)
			prefetch_vector_count(half->types->private,
					      i + NAME_AHEAD);
		err = name_block(half, i);
		count_named(&stats, heap, i);
	}
	ch_progress_flush(&progress);
	half->stats = stats;
	half->err = err;
	return NULL;
}

// Intern the second half's wanted names, in its order, after the first
// half's, and give its blocks their numbers.
static struct ch_error *finish_second_half(struct naming_half *half)
{
	struct ch_types *types = half->types;
	struct ch_heap *heap = &types->program->heap;
	_cleanup_free_ uint32_t *numbers =
		malloc((half->wanted.len + 1) * sizeof(*numbers));
	struct ch_error *err = NULL;

	if (!numbers)
		return &ch_enomem;
	for (size_t k = 0; !err && k < half->wanted.len; k++) {
		const struct wanted_name *name = &half->wanted.data[k];

		err = name->text ? text_type(types, &numbers[k]) :
				   intern_dwarf(types, &name->info, &numbers[k]);
	}
	// Only the naming makes guesses: every one here is a wanted name's.
	for (size_t i = half->start; !err && i < half->end; i++) {
		uint8_t source = heap->block_type_sources[i];

		if (source == CH_TYPE_DWARF || source == CH_TYPE_GUESS)
			heap->block_types[i] = numbers[heap->block_types[i]];
	}
	return err;
}

static void add_stats(struct ch_type_stats *to, const struct ch_type_stats *from)
{
	for (size_t s = 0; s <= CH_TYPE_GUESS; s++) {
		to->allocations[s] += from->allocations[s];
		to->bytes[s] += from->bytes[s];
	}
}

static struct ch_error *name_blocks(struct ch_types *types)
{
	size_t n = types->program->heap.live.len;
	size_t middle = n < NAME_SPLIT_MIN ? n : n / 2;
	struct naming_half halves[2] = {
		{ .types = types, .start = 0, .end = middle },
		{ .types = types, .start = middle, .end = n, .deferred = true,
		  .wanted_text = UINT32_MAX },
	};
	struct ch_error *err;

	ch_run_pair(name_half, &halves[0], middle < n ? &halves[1] : NULL);
	err = halves[0].err;
	if (!err)
		err = halves[1].err;
	else
		ch_error_destroy(halves[1].err);
	if (!err && middle < n)
		err = finish_second_half(&halves[1]);
	ch_u64_map_deinit(&halves[1].wanted_keys);
	wanted_name_vector_deinit(&halves[1].wanted);
	if (err)
		return err;
	add_stats(&types->stats, &halves[0].stats);
	add_stats(&types->stats, &halves[1].stats);
	return NULL;
}

/* Set-up. */

static void clear_heap_types(struct ch_heap *heap)
{
	free(heap->block_types);
	free(heap->block_type_sources);
	free(heap->pointer_free);
	for (size_t i = 0; i < heap->num_type_names; i++)
		free(heap->type_names[i]);
	free(heap->type_names);
	free(heap->type_groups);
	heap->type_groups = NULL;
	heap->block_types = NULL;
	heap->block_type_sources = NULL;
	heap->pointer_free = NULL;
	heap->type_names = NULL;
	heap->num_type_names = 0;
}

static struct ch_error *allocate(struct ch_types *types)
{
	struct ch_heap *heap = &types->program->heap;
	struct ch_types_private *p = types->private;
	size_t n = heap->live.len ? heap->live.len : 1;
	struct ch_error *err;

	if (heap->live.len >= UINT32_MAX)
		return ch_error_create(CH_ERROR_CORRUPT,
				       "too many allocations to type (%zu)",
				       heap->live.len);
	heap->block_types = ch_calloc_large(n, sizeof(*heap->block_types));
	heap->block_type_sources = ch_calloc_large(n, sizeof(*heap->block_type_sources));
	types->conflicted = calloc(ch_bitmap_words(n), sizeof(uint64_t));
	p->cookie_bits = calloc(ch_bitmap_words(n), sizeof(uint64_t));
	p->queued_bits = calloc(ch_bitmap_words(n), sizeof(uint64_t));
	p->text_bits = calloc(ch_bitmap_words(n), sizeof(uint64_t));
	p->vector_bits = calloc(ch_bitmap_words(n), sizeof(uint64_t));
	if (!heap->block_types || !heap->block_type_sources ||
	    !types->conflicted || !p->cookie_bits || !p->queued_bits ||
	    !p->text_bits || !p->vector_bits)
		return &ch_enomem;
	err = level_init(&p->next_level, n);
	if (err)
		return err;
	p->visit_budget = (uint64_t)MAX_VISITS_PER_BLOCK * n + 4096;
	// Type 0 is "unknown".
	return push_name(types, NULL,
			 &(struct ch_type_info){ .vtable_class = CH_VTABLE_NONE },
			 UINT32_MAX, true, &(uint32_t){ 0 });
}

// What only the computation needs.
static void release_work(struct ch_types_private *p)
{
	ch_free_large(p->cookie_bits);
	ch_free_large(p->queued_bits);
	ch_free_large(p->text_bits);
	level_deinit(&p->next_level);
	ch_lookup_batch_deinit(&p->batches[0]);
	ch_lookup_batch_deinit(&p->batches[1]);
	ch_u64_map_deinit(&p->vector_counts);
	ch_u64_map_deinit(&p->recent_vector_counts);
	ch_free_large(p->vector_bits);
	p->vector_bits = NULL;
	p->cookie_bits = NULL;
	p->queued_bits = NULL;
	p->text_bits = NULL;
}

/*
 * What the pass over the blocks' first bytes does not need, done beside
 * it: the DWARF types, then the index of the live blocks (unless the
 * heap has it already), which the propagation needs. The pass asks for
 * the index too when it is over: the first of the two to get there makes
 * it (a small heap's pass ends before the DWARF is read).
 */
struct side_job {
	struct ch_program *program;
	struct ch_dwarf_types *dwarf;
	struct ch_error *err;
};

static void *run_side_job(void *arg)
{
	struct side_job *job = arg;
	const struct ch_block_index *index;

	job->err = ch_dwarf_types_create(job->program, &job->dwarf);
	if (!job->err)
		job->err = ch_heap_block_index(&job->program->heap, &index);
	return NULL;
}

static struct ch_error *create_types(struct ch_program *program,
				     struct ch_types **ret)
{
	struct ch_heap *heap = &program->heap;
	struct side_job job = { .program = program };
	struct ch_types *types;
	struct ch_error *err;
	struct ch_beside side = { .threaded = false };

	clear_heap_types(heap);
	types = calloc(1, sizeof(*types));
	if (!types)
		return &ch_enomem;
	types->program = program;
	types->private = calloc(1, sizeof(*types->private));
	if (!types->private) {
		free(types);
		return &ch_enomem;
	}
	err = allocate(types);
	if (!err)
		err = ch_vtables_create(program, &types->vtables);
	ch_progress_start("typing allocations",
			  (2 + PROPAGATION_WEIGHT) * (uint64_t)heap->live.len);
	/*
	 * Reading DWARF (inflating libc's debug sections, walking every
	 * unit) and indexing the blocks take as long as a pass over every
	 * block's first bytes: both at once, the side job in a thread of its
	 * own. Only it uses libdw/libdwfl and the heap's index meanwhile; the
	 * pass reads the core's memory and the vtables, made above.
	 */
	if (!err) {
		ch_beside_start(&side, run_side_job, &job);
		err = scan_blocks(types);
		if (!err)
			err = ch_heap_block_index(heap,
						  &types->private->block_index);
		ch_beside_join(&side);
		types->dwarf = job.dwarf;
		if (!err)
			err = job.err;
		else
			ch_error_destroy(job.err);
	}
	if (!err)
		err = find_vtable_arrays(types);
	if (!err)
		err = seed_from_variables(types);
	// Then the locals of every thread's frames, after the globals: the
	// first found wins ties.
	if (!err)
		err = seed_from_locals(types);
	// Objects typed by their vtable seed the propagation too, after the
	// variables: see propagate().
	if (!err)
		err = propagate(types);
	if (!err)
		err = name_blocks(types);
	if (!err)
		err = ch_types_pointer_free(types, &heap->pointer_free);
	ch_progress_end();
	release_work(types->private);
	if (err) {
		ch_types_destroy(types);
		clear_heap_types(heap);
		return err;
	}
	*ret = types;
	return NULL;
}

struct ch_error *ch_types_create(struct ch_program *program,
				 struct ch_types **ret)
{
	struct ch_error *err;

	// The evidence's maps grow by moving to tables twice as large.
	ch_page_pool_open();
	err = create_types(program, ret);
	ch_page_pool_close();
	return err;
}

void ch_types_destroy(struct ch_types *types)
{
	struct ch_types_private *p;

	if (!types)
		return;
	p = types->private;
	if (p) {
		release_work(p);
		ch_name_map_deinit(&p->names);
		ch_u64_map_deinit(&p->dtype_names);
		ch_u64_map_deinit(&p->class_names);
		ch_u64_map_deinit(&p->class_compat);
		free(p->class_dtypes);
		free(p);
	}
	ch_vtables_destroy(types->vtables);
	ch_dwarf_types_destroy(types->dwarf);
	free(types->infos);
	free(types->conflicted);
	free(types);
}

struct ch_error *ch_program_load_types(struct ch_program *program)
{
	struct ch_types *types;
	struct ch_error *err;

	if (program->heap.block_types)
		return NULL;
	err = ch_types_create(program, &types);
	if (err)
		return err;
	ch_types_destroy(types);
	return NULL;
}

struct ch_error *ch_types_member_name(struct ch_types *types, size_t index,
				      uint64_t offset, char **ret)
{
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_type_info *info;
	const struct ch_dtype *dtype;
	struct ch_strbuf name = { 0 };
	uint64_t within;
	struct ch_error *err = NULL;

	*ret = NULL;
	if (!heap->block_types || index >= heap->live.len ||
	    heap->block_types[index] >= heap->num_type_names)
		return NULL;
	info = &types->infos[heap->block_types[index]];
	dtype = ch_dwarf_type(types->dwarf, info->dtype);
	if (!dtype || !dtype->size || offset < info->first_offset)
		return NULL;
	within = offset - info->first_offset;
	// One element of T[n] or T[]: which one, then the member in it.
	if (info->array) {
		err = ch_strbuf_appendf(&name, "[%" PRIu64 "]",
					within / dtype->size);
		within %= dtype->size;
	}
	if (!err)
		err = ch_dwarf_types_member_name(types->dwarf, info->dtype,
						 within, &name);
	if (err) {
		ch_strbuf_deinit(&name);
		return err;
	}
	if (!name.len) {
		ch_strbuf_deinit(&name);
		return NULL;
	}
	*ret = ch_strbuf_detach(&name);
	return *ret ? NULL : &ch_enomem;
}

bool ch_types_is_cxx(const struct ch_types *types, size_t index)
{
	const struct ch_heap *heap = &types->program->heap;
	const struct ch_dtype *dtype;

	if (!heap->block_types || index >= heap->live.len ||
	    heap->block_types[index] >= heap->num_type_names)
		return false;
	dtype = ch_dwarf_type(types->dwarf,
			      types->infos[heap->block_types[index]].dtype);
	return dtype && dtype->cxx;
}

struct ch_error *ch_types_pointer_free(struct ch_types *types,
				       uint64_t **bitmap_ret)
{
	const struct ch_heap *heap = &types->program->heap;
	size_t n = heap->live.len;
	_cleanup_free_ uint64_t *bitmap = calloc(n / 64 + 1, sizeof(*bitmap));
	// Per type name: 0 not asked yet, 1 holds pointers, 2 holds none.
	_cleanup_free_ uint8_t *known = calloc(heap->num_type_names + 1,
					       sizeof(*known));

	if (!bitmap || !known)
		return &ch_enomem;
	for (size_t i = 0; heap->block_types && i < n; i++) {
		const struct ch_block *block = &heap->live.blocks[i];
		uint32_t t = heap->block_types[i];
		const struct ch_type_info *info;
		const struct ch_dtype *dtype;

		// Only DWARF's word: a guess at text may be a struct whose
		// first bytes are printable.
		if (!t || t >= heap->num_type_names ||
		    heap->block_type_sources[i] != CH_TYPE_DWARF)
			continue;
		info = &types->infos[t];
		dtype = ch_dwarf_type(types->dwarf, info->dtype);
		if (!dtype || !dtype->size)
			continue;
		if (!known[t])
			known[t] = ch_dwarf_types_holds_no_pointers(types->dwarf,
								    info->dtype) ?
					   2 : 1;
		// One T with bytes after it (glibc's FILE block): those bytes
		// are of no type we know. So are those past a vector's end.
		// Asked last: the allocator's request costs a read of the core.
		if (known[t] == 2 &&
		    (info->count == 0 ||
		     request_fits(types->program, block,
				  info->first_offset + info->count * dtype->size)))
			ch_bit_set(bitmap, i);
	}
	*bitmap_ret = no_cleanup_ptr(bitmap);
	return NULL;
}
