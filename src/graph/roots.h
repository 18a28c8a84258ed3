/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The roots of the heap graph: the memory and registers through which the
 * program could still reach an allocation, each with a name a person
 * understands.
 *
 * Roots are, for every thread: its registers (NT_PRSTATUS), its stack from
 * the stack pointer (less the 128-byte red zone below it, which a leaf
 * function may use) to the end of the stack's mapping, its static TLS blocks,
 * its thread control block and, when the dynamic linker allocated it, its
 * dtv; and the writable data of every module (the writable PT_LOAD segments:
 * .data, .bss, the GOT). Writable mappings that belong to no module, hold no
 * heap block and are no thread's stack (the dynamic linker's own
 * allocations, an application's mmap'd tables) are global roots too: a
 * pointer kept there keeps its target alive.
 *
 * Allocator metadata is never a root: mappings that hold heap blocks are
 * left out, and so are the control structures of the allocator's regions
 * that lie in a module's data (glibc's main_arena in libc's .data), whose
 * bin and top pointers point at chunk headers, inside the neighbouring
 * allocations.
 *
 * Where two kinds of root overlap (a thread's TLS blocks and its control
 * block lie at the top of its stack mapping), the more specific name wins:
 * TLS block, then thread control block, dtv and static TLS area, then stack,
 * then module data, then other mappings.
 */
#ifndef COREHEAP_ROOTS_H
#define COREHEAP_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "core/modules.h"
#include "heap/program.h"

/** What kind of root, in the order shortest paths prefer them. */
enum ch_root_kind {
	CH_ROOT_GLOBAL = 0,
	CH_ROOT_TLS = 1,
	CH_ROOT_STACK = 2,
	CH_ROOT_REGISTER = 3,
	CH_NUM_ROOT_KINDS,
};

/** "global", "tls", "stack", "register". */
extern const char *const ch_root_kind_names[CH_NUM_ROOT_KINDS];

/** What a root's memory is, beyond its kind; decides its name. */
enum ch_root_source {
	CH_ROOT_MODULE_DATA,    /**< a module's writable segment */
	CH_ROOT_MAPPING,        /**< another writable mapping */
	CH_ROOT_THREAD_STACK,
	CH_ROOT_TLS_BLOCK,      /**< a module's static TLS block in a thread */
	CH_ROOT_TLS_AREA,       /**< the rest of a thread's static TLS */
	CH_ROOT_THREAD_CONTROL, /**< the thread control block (struct pthread) */
	CH_ROOT_DTV,            /**< the dynamic thread vector */
	CH_ROOT_REGISTERS,
};

/**
 * One root. Memory roots are [start, end); a thread's registers are one root
 * whose "addresses" are the register numbers [0, CH_NUM_REGS).
 */
struct ch_root {
	uint64_t start, end;
	/** Where this root's naming base is (TLS block start, mapping start). */
	uint64_t base;
	/** For module data and TLS blocks. */
	struct ch_module *module;
	/** Index in core->threads for thread roots, else UINT32_MAX. */
	uint32_t thread;
	uint8_t kind;     /**< enum ch_root_kind */
	uint8_t source;   /**< enum ch_root_source */
};

struct ch_roots {
	/**
	 * Memory roots sorted by start and disjoint, then one register root
	 * per thread.
	 */
	struct ch_root *roots;
	size_t num_roots;
	/** The core's threads: one register root each, last. */
	size_t num_threads;
	/** Bytes of memory roots, and bytes left out as allocator metadata. */
	uint64_t memory_bytes, excluded_bytes;
};

/**
 * Find the roots of program, whose heap must be loaded. Roots that cannot
 * be found (a stack pointer in no mapping) are warnings on the program,
 * partial ones: an allocation they held may then be reported as leaked.
 */
struct ch_error *ch_roots_create(struct ch_program *program,
				 struct ch_roots **ret);
void ch_roots_destroy(struct ch_roots *roots);

/**
 * Append to name a description of the word at source in root: for memory
 * roots source is an address, for registers a register number. Examples:
 * "prog!table+0x10", "[anon 0x7f0000001000]+0x28", "tid 4242 libc.so.6!tcache",
 * "tid 4242 frame 1 worker (local item)", "tid 4242 rbx". Stack roots are
 * named from the program's stacks (ch_program_stacks()), unwound the first
 * time anything needs them. Errors: out of memory.
 */
struct ch_error *ch_roots_describe(struct ch_roots *roots,
				   struct ch_program *program, uint32_t root,
				   uint64_t source, struct ch_strbuf *name);

#endif /* COREHEAP_ROOTS_H */
