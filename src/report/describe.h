/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What lives at an address, as a model (struct ch_description) that
 * `describe` builds once and renders as text or JSON.
 *
 * The model says whether the address is in a live allocation (its block,
 * the offset, its type and how it was known, the element of an array holding
 * it, the vtable's symbol) or elsewhere (a free block, a module's symbol,
 * the mapping, a global variable or a frame's local there). Then either
 * the fields decoded from the DWARF type, as a flat list in the order a
 * person reads them, or, with no layout, the bytes to dump.
 *
 * Decoding is bounded for a person: CH_DESCRIBE_MAX_DEPTH levels of
 * nesting, CH_DESCRIBE_MAX_ARRAY_SHOWN elements of an array, 64 characters
 * of a string, CH_DESCRIBE_MAX_FIELDS fields in all.
 */
#ifndef COREHEAP_DESCRIBE_H
#define COREHEAP_DESCRIBE_H

#include <stdbool.h>
#include <stdint.h>

#include "heap/program.h"
#include "report/alloc_stack.h"
#include "report/output.h"
#include "types/types.h"

#define CH_DESCRIBE_MAX_DEPTH 12
#define CH_DESCRIBE_MAX_ARRAY_SHOWN 16
#define CH_DESCRIBE_MAX_FIELDS 1024

/** What a pointer's value points to. */
struct ch_pointer_target {
	enum {
		CH_TARGET_NONE,        /**< NULL, or nothing coreheap knows */
		CH_TARGET_ALLOCATION,  /**< a live allocation */
		CH_TARGET_MODULE,      /**< a module's text or data */
		CH_TARGET_STACK,       /**< a thread's stack */
	} kind;
	/** CH_TARGET_ALLOCATION: its address, the offset in it, its type. */
	uint64_t allocation, offset;
	const char *type;
	/**
	 * CH_TARGET_MODULE: module!symbol+offset; CH_TARGET_STACK: the frame
	 * and local ("tid 42 frame 1 main (local x)") or NULL. Owned.
	 */
	char *symbol;
	/** CH_TARGET_STACK: the thread, and how far above its stack pointer. */
	int32_t tid;
	uint64_t above_sp;
};

/** A word of a dump that points somewhere. */
struct ch_dump_pointer {
	/** Its offset in the allocation, and its value. */
	uint64_t offset, value;
	struct ch_pointer_target target;
};

enum ch_field_kind {
	/** A value: a scalar, a pointer, a string, a bit-field, an elided aggregate. */
	CH_FIELD_VALUE,
	/** A struct or an array opens: its fields follow, one level deeper. */
	CH_FIELD_BEGIN,
	/** ...and closes. */
	CH_FIELD_END,
	/** more elements of the array being listed are not shown. */
	CH_FIELD_MORE,
};

/** One line of a decoded value. */
struct ch_field {
	enum ch_field_kind kind;
	/** Nesting level: 0 for the described value itself. */
	int depth;
	/** VALUE, BEGIN: the offset in the allocation (or the variable). */
	uint64_t offset;
	/** VALUE, BEGIN: its type's name, owned by the types. */
	const char *type;
	/** VALUE, BEGIN: its name ("next", "[3]", "<base>"; "" at depth 0). Owned. */
	char *name;
	/** VALUE: its path from the described value ("list.head[3].next"). Owned. */
	char *path;
	/** VALUE: the value as text. Owned. */
	char *value;
	/** VALUE of a pointer that was read: what it points to. */
	bool has_target;
	struct ch_pointer_target target;
	/** MORE: how many elements are not shown. */
	uint64_t more;
	/** BEGIN: when type is made up for this field, its storage. Owned. */
	char *owned_type;
	/**
	 * BEGIN of values that live elsewhere, at address (a vector's
	 * elements): the offsets under it are from address. VALUE: computed
	 * (a vector's size()), at no offset.
	 */
	bool elsewhere;
	uint64_t address;
};

/** The allocation holding the address. */
struct ch_described_allocation {
	/**
	 * Where it starts, or for a managed runtime's object asked about at
	 * or past its identity (object is true), that identity (Python's
	 * id()); its size, header included.
	 */
	uint64_t address, size;
	/** The address's offset from address. */
	uint64_t offset;
	/** Where its memory begins: address, but for a runtime's object. */
	uint64_t start;
	const char *allocator;
	/** A runtime's object, whose allocator names its runtime. */
	bool object;
	/** Its type's name (the heap's) or NULL, and how the type was known. */
	const char *type;
	enum ch_type_source source;
	/** Whether evidence about its type disagreed. */
	bool conflicted;
	/**
	 * Whether the address is in an element of its type: element of count
	 * (count 0: as many as fit), starting at element_start.
	 */
	bool has_element;
	uint64_t element, count, element_start;
	/** For a type known from a vtable: the vtable pointer, and its symbol or NULL (owned). */
	uint64_t vptr;
	char *vtable;
	/** Where it was allocated, if its allocator recorded it (heap profiling). */
	bool has_stack;
	struct ch_named_stack stack;
};

/** Bytes of the allocation, for when its layout is unknown. */
struct ch_described_bytes {
	/** The offset in the allocation of the first byte, and its address. */
	uint64_t offset, address;
	/** The bytes chosen, and how many of them were read (≤ len). */
	uint64_t len, num_read;
	/** The num_read bytes. Owned. */
	uint8_t *bytes;
	/**
	 * Per line of 16 bytes from address: whether the whole line is in
	 * the core (a line that is not shows no byte of it). Owned.
	 */
	bool *line_read;
	/** The aligned words read that point somewhere, in order. Owned. */
	struct ch_dump_pointer *pointers;
	size_t num_pointers;
};

struct ch_description {
	uint64_t address;
	/** Whether address is in a live allocation: allocation; else the rest. */
	bool in_allocation;
	struct ch_described_allocation allocation;

	/** Not in an allocation: the free block holding address, if any. */
	bool in_free_block;
	uint64_t free_address, free_size;
	/** module!symbol+offset (or module+offset), NULL if in no module. Owned. */
	char *symbol;
	/** The process mapping holding address (the program's), or NULL. */
	const struct ch_mapping *mapping;
	/**
	 * No mapping: the file the core's NT_FILE note maps at address, or
	 * NULL (gcore writes no segment for a binary's code, which the process
	 * had mapped all the same).
	 */
	const struct ch_core_file *file_mapping;
	/** A thread's stack holding address: its thread id and the offset above its stack pointer. */
	bool in_stack;
	int32_t stack_tid;
	uint64_t stack_above_sp;
	/** Its frame and local, as the roots name them, or NULL. Owned. */
	char *stack_name;
	/**
	 * A global variable or a frame's local (in_local) holding address: its
	 * address.
	 */
	bool in_variable, in_local;
	uint64_t variable_address;

	/**
	 * The fields of the element holding the address, or of the variable:
	 * has_fields is false when neither has a known layout.
	 */
	bool has_fields;
	struct ch_field *fields;
	size_t num_fields;
	/** In an allocation without fields: its bytes. */
	bool has_bytes;
	struct ch_described_bytes bytes;
	/**
	 * A global variable or local of pointer type that points into a live
	 * allocation: that allocation's description (owned), else NULL.
	 */
	struct ch_description *pointee;
	/** --as: the type the fields were decoded as (owned by the types), or NULL. */
	const char *as_type;
};

struct ch_describe_options {
	/** Bytes to dump at most when the layout is unknown. */
	uint64_t max_bytes;
	/**
	 * Of those, bytes to read at most (UINT64_MAX: all): a JSON string
	 * holds them whole.
	 */
	uint64_t max_read;
	/**
	 * A struct, class or union name: decode the address as that type
	 * whatever lives there (NULL: the type coreheap knows).
	 */
	const char *as_type;
};

/**
 * Describe addr in program, typed by types (from ch_types_create(), which
 * may grow: DWARF types are made for the fields' declared types). On success
 * the caller frees desc with ch_description_deinit(); it points into the
 * program and the types, and is valid while both are. On error (out of
 * memory) nothing is left to free.
 */
struct ch_error *ch_description_init(struct ch_description *desc,
				     struct ch_program *program,
				     struct ch_types *types, uint64_t addr,
				     const struct ch_describe_options *options);
void ch_description_deinit(struct ch_description *desc);

/** The description as a person reads it. */
void ch_description_write_text(struct ch_out *out,
			       const struct ch_description *desc);
/** The description as one pretty JSON object. */
void ch_description_write_json(struct ch_out *out,
			       const struct ch_description *desc);

#endif /* COREHEAP_DESCRIBE_H */
