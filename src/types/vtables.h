/* SPDX-License-Identifier: MIT */
/**
 * @file
 * C++ objects named by their vtable.
 *
 * A polymorphic object's first word is its vtable pointer: the address
 * point of the most-derived class's primary vtable, which lies inside that
 * class's `_ZTV<type>` symbol, after the vcall/vbase offsets, the
 * offset-to-top (0 for the primary vtable) and the RTTI pointer. So the
 * class of an object at the start of a block is known from the symbol
 * holding its first word, which needs only the symbol tables of the
 * binaries (.symtab or .dynsym), not DWARF. Binaries stripped of their
 * symbols still name their classes through RTTI: the word before the
 * address point points to a type_info whose vtable is one of libstdc++'s
 * `__cxxabiv1::__*class_type_info` and whose name is the mangled type.
 *
 * Lookups are cached per vtable address, and each class is demangled once.
 */
#ifndef COREHEAP_VTABLES_H
#define COREHEAP_VTABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "heap/program.h"

/** A class some vtable of the core belongs to. */
struct ch_vtable_class {
	/** Demangled name ("app::Widget", "Box<int>"). Owned. */
	char *name;
	/** Its mangled type name ("N3app6WidgetE"). Owned. */
	char *mangled;
	/** The address point of its vtable seen first, for messages. */
	uint64_t vtable;
	/** Its type_info object, or 0 if none was seen (-fno-rtti). */
	uint64_t typeinfo;
	/**
	 * Demangled names of its base classes that sit at offset 0 of it,
	 * from RTTI, transitively; filled by ch_vtables_bases_at_zero().
	 */
	char **bases_at_zero;
	size_t num_bases_at_zero;
	bool bases_known;
};

/** No class: the word is not a vtable pointer of an object's start. */
#define CH_VTABLE_NONE UINT32_MAX

struct ch_vtables;

/**
 * Collect the vtable symbols of every module of program. The result keeps
 * pointers into program, which must outlive it.
 */
struct ch_error *ch_vtables_create(struct ch_program *program,
				   struct ch_vtables **ret);
void ch_vtables_destroy(struct ch_vtables *vtables);

/** True if the core holds no C++ vtables at all: no need to look. */
bool ch_vtables_empty(const struct ch_vtables *vtables);

/**
 * The class of an object whose first word is word, or CH_VTABLE_NONE if
 * word is not the primary vtable pointer of a most-derived object. Errors
 * only for lack of memory.
 */
struct ch_error *ch_vtables_lookup(struct ch_vtables *vtables, uint64_t word,
				   uint32_t *class_ret);

size_t ch_vtables_num_classes(const struct ch_vtables *vtables);
struct ch_vtable_class *ch_vtables_class(struct ch_vtables *vtables,
					 uint32_t index);

/**
 * Fill class's bases_at_zero from its RTTI (once). Without libstdc++'s
 * type_info vtables the list stays empty.
 */
struct ch_error *ch_vtables_bases_at_zero(struct ch_vtables *vtables,
					  uint32_t index);

#endif /* COREHEAP_VTABLES_H */
