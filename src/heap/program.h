/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A program: one core with its modules and address space, and the heap its
 * allocators describe. The data flows one way: core -> modules -> address
 * space -> allocator plugins -> heap.
 */
#ifndef COREHEAP_PROGRAM_H
#define COREHEAP_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "core/address_space.h"
#include "core/core.h"
#include "core/modules.h"
#include "heap/allocators.h"
#include "heap/heap.h"

/** How to open a core; filled from the command line. */
struct ch_program_options {
	struct ch_module_search search;
	/** --allocator NAME: use only this allocator, or NULL for all found. */
	const char *allocator;
	/** --plugin PATH, repeatable. */
	const char *const *plugins;
	size_t num_plugins;
	/** --verbose: show the plugins' debug and info notes. */
	bool verbose;
	/**
	 * The caller will read the modules' DWARF (the heap's types):
	 * libdwfl loads it on another thread while the heap is walked.
	 */
	bool read_dwarf;
};

/** A note for the user, printed on stderr by the command. */
struct ch_warning {
	char *message;
	/** It makes the results partial (exit status 1). */
	bool partial;
};

struct ch_program {
	struct ch_core *core;
	struct ch_modules *modules;
	struct ch_address_space *address_space;
	/** Allocators found in the core, with their plugin state. */
	struct ch_allocator_set allocators;
	struct ch_heap heap;
	bool heap_loaded;

	struct ch_warning *warnings;
	size_t num_warnings, warnings_capacity;
	bool verbose;

	/** The threads' stacks: NULL until ch_program_stacks() unwinds them. */
	struct ch_stacks *stacks;

	/** TLS block offsets from the thread pointer, per module; see tls.c. */
	int64_t *tls_offsets;
	uint8_t *tls_offset_state;
};

/**
 * Open a core and find its modules. A missing binary is a warning, not an
 * error; a core that cannot be read is an error.
 */
struct ch_error *ch_program_open(const char *core_path,
				 const struct ch_program_options *options,
				 struct ch_program **ret);
void ch_program_destroy(struct ch_program *program);

/** Probe the allocators and walk the heap (once; later calls do nothing). */
struct ch_error *ch_program_load_heap(struct ch_program *program,
				      const struct ch_program_options *options);

/** Add a warning (printf-style). Out of memory drops it silently. */
void ch_program_warn(struct ch_program *program, bool partial,
		     const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/** True if any warning makes the results partial. */
bool ch_program_is_partial(const struct ch_program *program);

/**
 * The stacks of the program's threads (one per core->threads, same order),
 * unwound on the first call and kept with the program: every command sees
 * the same frames. A thread that cannot be unwound at all is a warning,
 * said once, that makes the results partial; its stack has no frames. A
 * stack that ends early (stop_reason with frames) is how most stacks end
 * and only a --verbose note. Errors: out of memory only. *ret stays valid
 * while the program lives.
 */
struct ch_error *ch_program_stacks(struct ch_program *program,
				   const struct ch_stacks **ret);

/**
 * The address of offset in module's TLS block, in the thread at
 * thread_index. CH_ERROR_NOT_FOUND if the block cannot be located.
 */
struct ch_error *ch_program_tls_address(struct ch_program *program,
					size_t thread_index,
					struct ch_module *module,
					uint64_t offset, uint64_t *ret);

/**
 * Find the TLS offset of every module that has a TLS block now, not when
 * ch_program_tls_address() first asks: finding one reads the module's ELF
 * file, which would wait for ch_modules_load_dwarf_beside().
 */
void ch_program_find_tls_offsets(struct ch_program *program);

/**
 * The usable size the allocator of live block like gives a request of
 * request bytes served as like was (its plugin's usable_size operation),
 * into *ret. False when the plugin has no such operation or cannot say:
 * the caller then knows nothing of the allocator's rounding.
 */
bool ch_program_usable_size(struct ch_program *program,
			    const struct ch_block *like, uint64_t request,
			    uint64_t *ret);

/**
 * The managed runtime's object that live block is: the block itself, if a
 * runtime's plugin reported it, or the object nested at its start (one
 * too big for the runtime's arenas, in a native block); NULL if neither.
 * Needs the heap loaded (nested blocks sorted).
 */
const struct ch_block *ch_program_runtime_object(const struct ch_program *program,
						 const struct ch_block *block);

/**
 * What listings call live block: the identity of the runtime object it is
 * (ch_program_runtime_object(): Python's id(), past its GC head), else
 * its address.
 */
uint64_t ch_program_identity(const struct ch_program *program,
			     const struct ch_block *block);

/**
 * Whether an allocator found in the core lists exact references (a
 * runtime's references operation): if not, ch_program_references() never
 * covers a block, and the graph keeps its scan.
 */
bool ch_program_lists_references(const struct ch_program *program);

/**
 * The exact references of the runtime object that live block is
 * (ch_program_runtime_object()), from its plugin's references operation,
 * each passed to fn with arg (names too if names): *covered_ret is true
 * if the plugin gave them all, false if the block is no runtime object or
 * the plugin does not know its layout (scan it then). Errors: out of
 * memory, a plugin that stopped (CH_ERROR_PLUGIN), or what fn returned
 * (CH_ERROR_PLUGIN too).
 */
struct ch_error *ch_program_references(struct ch_program *program,
				       const struct ch_block *block, bool names,
				       coreheap_reference_fn fn, void *arg,
				       bool *covered_ret);

/**
 * Every root the runtimes' plugins name (their roots operation), passed to
 * fn with arg. Errors as for ch_program_references().
 */
struct ch_error *ch_program_runtime_roots(struct ch_program *program,
					  coreheap_root_fn fn, void *arg);

#endif /* COREHEAP_PROGRAM_H */
