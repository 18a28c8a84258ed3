/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The type of every live allocation, and how it was known.
 *
 * Evidence, most trusted first:
 *  1. runtime: a managed runtime's plugin named the object (no such plugin
 *     yet, and the host does not keep coreheap_block.type_name so far);
 *  2. vtable: the block starts with the vtable pointer of a C++ class
 *     (src/vtables.h): the most-derived class; "T[n]" for new[] with its
 *     count cookie, "T[]" for copies each starting with that vtable
 *     pointer;
 *  3. dwarf: a typed pointer points to the block's first byte (or, for a
 *     new[] of a class, just past a count cookie). The pointers come from
 *     global, static and thread-local variables, then from the locals and
 *     parameters that every thread's unwound frames keep at a DW_OP_fbreg
 *     offset (those of the lexical blocks holding the frame's pc too),
 *     then transitively from the typed blocks' members (vtable-typed ones
 *     included), across the whole heap: a worklist over block indices,
 *     each block visited again only when its type gets stronger, bounded;
 *  4. guess: NUL-terminated text of at least 4 printable characters at the
 *     block's start: "char[] (text)".
 * Anything else is unknown; reports group those by usable size.
 *
 * THE CONFLICT RULE. A block gets the strongest evidence: a higher source
 * above beats a lower one (runtime > vtable > dwarf > guess); among DWARF
 * evidence the larger type wins (a `struct list *` and a `struct item *`
 * to the same block: the larger struct, since the smaller one is usually
 * its first member or base), and between types of equal size the first
 * found (globals in module order, then locals thread by thread, innermost
 * frame first, then breadth-first from them). Evidence
 * that loses is a conflict, counted once per block, unless the loser sits
 * at offset 0 of the winner (first member or base class, by DWARF or by
 * RTTI), or is a pointer to char-like bytes (which may point anywhere).
 * A type larger than the block is impossible: such evidence is a conflict
 * and is dropped.
 *
 * THE T[] RULE. A block's usable size does not say how many elements it
 * holds: malloc rounds. An array's count is known only where the program
 * wrote it down: a new[] count cookie (a class with a non-trivial
 * destructor) or a std::vector that points to the block (_M_finish -
 * _M_start, its elements; past them are stale bytes). Arrays are named
 * "T[4]" then, "T[]" otherwise, and every array of T is in the one group
 * "T[]" (heap.type_groups) that types, diff, top and leaks count by.
 * A block of type T (size s, usable size u) is an array when it holds
 * n = u / s > 1 copies and a request of n * s bytes gets exactly u from
 * its allocator (the plugin's usable_size operation): otherwise it is one
 * T (with something after it: glibc's 472-byte FILE block starts with a
 * 224-byte struct _IO_FILE_plus but is no array of two). A single T that
 * the allocator rounds up to u is one T too (a lone 8-byte struct in
 * glibc's 24-byte block). Without the allocator's rounding, any block of
 * two or more copies is an array. Char-like types are "char[]"; a struct
 * with a flexible array member is one T.
 */
#ifndef COREHEAP_TYPES_H
#define COREHEAP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "heap/heap.h"
#include "heap/program.h"
#include "types/dwarf_types.h"
#include "types/vtables.h"

/** What stands behind heap->type_names[i]. */
struct ch_type_info {
	/** The DWARF type of one element, CH_DTYPE_NONE if none is known. */
	uint32_t dtype;
	/** The vtable class (index in the vtables), CH_VTABLE_NONE if none. */
	uint32_t vtable_class;
	/**
	 * An array: named "T[]", or "T[count]" where the count is known (a
	 * new[] cookie, a std::vector), even of one element.
	 */
	bool array;
	/** Elements: 1 for one object, 0 for an array of unknown count. */
	uint64_t count;
	/** Where element 0 starts: 8 after a new[] count cookie, else 0. */
	uint32_t first_offset;
};

struct ch_type_stats {
	/** Live allocations per enum ch_type_source. */
	uint64_t allocations[CH_TYPE_GUESS + 1];
	uint64_t bytes[CH_TYPE_GUESS + 1];
	/** Allocations that got disagreeing evidence (see the rule above). */
	uint64_t conflicts;
	/** Variables (globals, TLS copies, locals) whose pointers typed a block. */
	uint64_t roots;
	/** Blocks visited by the propagation. */
	uint64_t visits;
	/** The propagation hit its bound: some types may be missing. */
	bool truncated;
};

struct ch_types {
	struct ch_program *program;
	struct ch_vtables *vtables;
	struct ch_dwarf_types *dwarf;
	/** Parallel to program->heap.type_names. */
	struct ch_type_info *infos;
	size_t infos_capacity;
	struct ch_type_stats stats;
	/** A bit per live block: it got conflicting evidence. */
	uint64_t *conflicted;
	/** Private to types.c. */
	struct ch_types_private *private;
};

/**
 * Type every live allocation of program (its heap must be loaded): fill
 * heap.block_types, heap.block_type_sources, heap.type_names and
 * heap.pointer_free, and
 * return the tables behind them (for describe). Recomputes if the heap was
 * typed already.
 */
struct ch_error *ch_types_create(struct ch_program *program,
				 struct ch_types **ret);
/** Free the tables; the heap keeps its types. NULL-safe. */
void ch_types_destroy(struct ch_types *types);

/**
 * Type the heap once, for commands that only need the names
 * (ch_heap_block_type()): does nothing if it is typed already.
 */
struct ch_error *ch_program_load_types(struct ch_program *program);

/**
 * The member of live block index that holds the byte at offset, where its
 * DWARF type says (ch_dwarf_types_member_name(); "[2].next" in an array of
 * structs), into *ret (malloc'd; NULL when no type or member is known).
 * Errors: out of memory.
 */
struct ch_error *ch_types_member_name(struct ch_types *types, size_t index,
				      uint64_t offset, char **ret);

/** Live block index has a DWARF type defined in C++. */
bool ch_types_is_cxx(const struct ch_types *types, size_t index);

/**
 * A bit per live block (bit i % 64 of word i / 64), set where DWARF typed
 * the block (not a guess) with a type that holds no pointers
 * (ch_dwarf_types_holds_no_pointers(): char buffers, scalar arrays,
 * structs without pointer members) and that type covers the whole block:
 * its words are data, not references. The caller frees *bitmap_ret.
 * ch_types_create() keeps one in heap.pointer_free.
 */
struct ch_error *ch_types_pointer_free(struct ch_types *types,
				       uint64_t **bitmap_ret);

/** Block index got conflicting evidence (see the rule above). */
bool ch_types_conflicted(const struct ch_types *types, size_t index);

/**
 * The T[] rule above: live block of program holds an array of elements of
 * element_size (true), or one of them (false).
 */
bool ch_block_holds_array(struct ch_program *program,
			  const struct ch_block *block, uint64_t element_size);

/**
 * The guess rule above: bytes (len of them readable) start with at least 4
 * printable characters (ASCII, tab, newlines, valid UTF-8) and a NUL.
 */
bool ch_looks_like_text(const uint8_t *bytes, size_t len);

/** The name every text guess gets. */
#define CH_TEXT_TYPE_NAME "char[] (text)"

#endif /* COREHEAP_TYPES_H */
