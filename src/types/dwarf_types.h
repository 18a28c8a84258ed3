/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The program's types as DWARF describes them, reduced to what typing the
 * heap needs: a name, a size, and where a value of the type holds pointers
 * and to what ("slots").
 *
 * ch_dwarf_types_create() walks the DWARF of every module once and keeps:
 * its global, static and thread-local variables (those with a fixed
 * address), the definition of every named struct, class and union (to
 * resolve declarations and to find a class named by its vtable), and the
 * qualified name of every type declared inside a namespace or class.
 *
 * Types (struct ch_dtype) are made on demand from DIEs, with typedefs and
 * cv-qualifiers stripped, and are shared: one per distinct name and size
 * (anonymous types: one per DIE), whichever compile unit or module a DIE
 * came from. Their slots are computed on first use and flattened: nested
 * structs, base classes and arrays of them are laid out in place.
 *
 * Names follow C and C++: "struct node", "union u", "enum e" for C;
 * qualified names for C++ ("app::Widget", "Box<int>"); the typedef's name
 * for an anonymous struct reached through it; "T *", "T[4]", "T *[4]",
 * "int (*)(void *)".
 *
 * Unions are handled conservatively: a pointer slot of a union is kept only
 * where every member overlapping it has the very same slot.
 *
 * libstdc++ containers: a std::vector's _M_start is a slot marked
 * CH_SLOT_VECTOR_BEGIN, its _M_finish and _M_end_of_storage none; a
 * node-based container's links are declared as
 * pointers to a node base (std::_Rb_tree_node_base, _List_node_base,
 * _Hash_node_base, _Fwd_list_node_base); inside the container and its
 * nodes those slots are retargeted to the real node type
 * (std::_Rb_tree_node<V>, ...) found by name, and the raw storage
 * __gnu_cxx::__aligned_membuf<T> / __aligned_buffer<T> is typed as T.
 */
#ifndef COREHEAP_DWARF_TYPES_H
#define COREHEAP_DWARF_TYPES_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "heap/program.h"

/** Type ids index the type table; 0 is "no type" (void, unknown). */
#define CH_DTYPE_NONE 0

enum ch_dtype_kind {
	CH_DTYPE_BASE,     /**< integer, float, bool, char */
	CH_DTYPE_ENUM,
	CH_DTYPE_POINTER,  /**< pointers and references */
	CH_DTYPE_STRUCT,   /**< struct and class */
	CH_DTYPE_UNION,
	CH_DTYPE_ARRAY,
	CH_DTYPE_OPAQUE,   /**< declared but never defined: size unknown */
	CH_DTYPE_OTHER,    /**< function pointers' targets and the like */
};

struct ch_dtype {
	/** Owned by the table. */
	char *name;
	/** Bytes; 0 if unknown (opaque types, flexible arrays). */
	uint64_t size;
	uint8_t kind;
	/** char, signed/unsigned char, std::byte: a pointer to it says little. */
	bool is_byte;
	/** A struct whose last member is an array without bounds. */
	bool has_flex;
	/** Defined in C++ (a class: new[] may put a count cookie before it). */
	bool cxx;
	/** Slots were capped (huge arrays): some pointers are not followed. */
	bool layout_truncated;
	uint8_t layout_state;
	/** For pointers: what they point to (CH_DTYPE_NONE for void). */
	uint32_t pointee;
	/** For arrays: the element type and count (0: no bounds). */
	uint32_t element;
	uint64_t count;
	/** Where its DIE is (see ch_dwarf_types_die()); 0 for made-up types. */
	uint64_t die_key;
	uint32_t first_slot, num_slots;
};

/**
 * A pointer in a value of some type: at offset, then every stride bytes,
 * count times (count 0: up to the end of the allocation, for flexible
 * arrays), a pointer to target.
 */
struct ch_dtype_slot {
	uint64_t offset;
	uint64_t stride;
	uint64_t count;
	uint32_t target;
	/** CH_SLOT_* bits. */
	uint32_t flags;
};

/**
 * The slot is a std::vector's _M_start: the word after it is _M_finish,
 * the end of its elements, which gives their count. (_M_finish and
 * _M_end_of_storage point into or past the elements, never to a block's
 * start, and are no slots: past a full vector is the next allocation.)
 */
#define CH_SLOT_VECTOR_BEGIN 1u

/** A variable with a fixed address (or a fixed offset in a TLS block). */
struct ch_dwarf_variable {
	/** Index of its module in program->modules->modules. */
	uint32_t module;
	bool is_tls;
	/** Run-time address, or for TLS the offset in the module's block. */
	uint64_t address;
	uint64_t die_key;
};

struct ch_dwarf_types {
	struct ch_program *program;
	/** Types; [0] is unused (CH_DTYPE_NONE). */
	struct ch_dtype *types;
	size_t num_types;
	struct ch_dtype_slot *slots;
	size_t num_slots;
	struct ch_dwarf_variable *variables;
	size_t num_variables;
	/** Private to dwarf_types.c. */
	struct ch_dwarf_types_private *private;
};

/**
 * Walk the DWARF of every module of program that has it. Modules without
 * DWARF are skipped (then their globals type nothing). program must
 * outlive the result.
 */
struct ch_error *ch_dwarf_types_create(struct ch_program *program,
				       struct ch_dwarf_types **ret);
void ch_dwarf_types_destroy(struct ch_dwarf_types *types);

static inline const struct ch_dtype *ch_dwarf_type(const struct ch_dwarf_types *types,
						   uint32_t id)
{
	return id && id < types->num_types ? &types->types[id] : NULL;
}

/** The type of a DIE (typedefs and qualifiers stripped). */
struct ch_error *ch_dwarf_types_of_die(struct ch_dwarf_types *types,
				       Dwarf_Die *die, uint32_t *ret);

/** The type of variable index (CH_DTYPE_NONE if it has none we know). */
struct ch_error *ch_dwarf_types_variable_type(struct ch_dwarf_types *types,
					      size_t index, uint32_t *ret);

/**
 * Compute the slots of type id (once); *slots_ret points into
 * types->slots, valid until the next call that makes types or slots.
 */
struct ch_error *ch_dwarf_types_slots(struct ch_dwarf_types *types,
				      uint32_t id,
				      const struct ch_dtype_slot **slots_ret,
				      size_t *num_ret);

/**
 * The struct, class or union defined under this name ("struct node",
 * "app::Widget"; spaces do not matter). CH_DTYPE_NONE if none.
 */
struct ch_error *ch_dwarf_types_find(struct ch_dwarf_types *types,
				     const char *name, uint32_t *ret);

/**
 * A pointer type to id, made up if DWARF has none ("T *" with one slot).
 */
struct ch_error *ch_dwarf_types_pointer_to(struct ch_dwarf_types *types,
					   uint32_t id, uint32_t *ret);

/**
 * True if a value of type inner sits at offset 0 of a value of type outer
 * (as its first member or a base class, transitively): a pointer to one
 * may legitimately point to the other.
 */
bool ch_dwarf_types_is_prefix(struct ch_dwarf_types *types, uint32_t inner,
			      uint32_t outer);

/**
 * The DIE of type id (its definition) and the index of its module in
 * program->modules->modules. False for made-up types.
 */
bool ch_dwarf_types_die(struct ch_dwarf_types *types, uint32_t id,
			Dwarf_Die *die_ret, uint32_t *module_ret);

/**
 * Turn a variable's die_key back into its DIE. False if it is gone.
 */
bool ch_dwarf_types_die_of_key(struct ch_dwarf_types *types, uint64_t key,
			       Dwarf_Die *die_ret);

/**
 * Follow typedefs and cv-qualifiers from die to the type they name; false
 * for void (or a chain too long to be sane).
 */
bool ch_dwarf_strip_die(Dwarf_Die *die, Dwarf_Die *ret);

/** The DIE of die's DW_AT_type (through abstract origins); false if none. */
bool ch_dwarf_die_type(Dwarf_Die *die, Dwarf_Die *ret);

/**
 * The name of an array of count elements (0: unknown count) in C syntax:
 * "int[4]", "int[2][3]" (for element "int[3]"), "struct x *[4]",
 * "void (*[4])(int)". snprintf's contract: returns the length it needs.
 */
int ch_format_array_name(char *buf, size_t size, const char *element,
			 uint64_t count);

/**
 * Append to name the member of a value of type id that holds the byte at
 * offset, as DWARF names it: "sessions", "inner.next", "items[3]" (array
 * elements indexed, base classes and anonymous members see-through);
 * nothing if id is no struct, union or array, or no member holds it.
 * Errors: out of memory.
 */
struct ch_error *ch_dwarf_types_member_name(struct ch_dwarf_types *types,
					    uint32_t id, uint64_t offset,
					    struct ch_strbuf *name);

/**
 * A value of type id holds no pointer, by its DWARF layout: a scalar, an
 * array of them, a struct, class or union whose members all hold none
 * (the vtable pointer, which points into a module, aside). False where
 * anything is unknown (opaque types, flexible arrays, layouts cut short).
 */
bool ch_dwarf_types_holds_no_pointers(struct ch_dwarf_types *types,
				      uint32_t id);

/** An unsigned attribute of die (followed through abstract origins), or dflt. */
uint64_t ch_die_udata(Dwarf_Die *die, unsigned int name, uint64_t dflt);

#endif /* COREHEAP_DWARF_TYPES_H */
