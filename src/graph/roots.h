/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The roots of the heap graph: the memory and registers through which the
 * program could still reach an allocation, each with a name a person
 * understands.
 *
 * Roots are every aligned word of writable memory that no allocator owns,
 * named for what it is: for every thread, its registers (NT_PRSTATUS), its
 * stack from the stack pointer less the 128-byte red zone below it (which
 * a leaf function may use) to the end of the stack's mapping, its static
 * TLS blocks, its thread control block and, when the dynamic linker
 * allocated it, its dtv; the writable data of every module (the writable
 * PT_LOAD segments: .data, .bss, the GOT); and the rest of every writable
 * mapping (the dynamic linker's own allocations, an application's mmap'd
 * pools and tables), even where the kernel merged it into one mapping with
 * an allocator's memory.
 *
 * Not roots: what the allocators declared as their own
 * (coreheap_host::add_owned_range: glibc's heaps, runs and mmapped chunks
 * with their headers and free chunks), the control structures of their
 * regions (glibc's main_arena in libc's .data, whose bin and top pointers
 * point at chunk headers, inside the neighbouring allocations), and a stack
 * below its lowest stack pointer less the red zone (dead: words of calls
 * that returned). An allocator that declared nothing (a plugin built before
 * add_owned_range) has every mapping that holds one of its blocks left out
 * whole, as all the host can tell. What an allocator owns but could not
 * explain (COREHEAP_OWNED_UNEXPLAINED) is a root, named
 * "[unexplained ALLOCATOR REGION 0x...]".
 *
 * A managed runtime's plugin names roots of its own (coreheap_allocator::
 * roots: a Python module's globals, a frame's locals): one root of kind
 * CH_ROOT_RUNTIME, first in the order paths prefer, whose references are
 * the objects so named, under their names.
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
	/**
	 * A root a managed runtime names (a Python module's global, a
	 * frame's local): first, since its name is the runtime user's.
	 */
	CH_ROOT_RUNTIME = 0,
	CH_ROOT_GLOBAL = 1,
	CH_ROOT_TLS = 2,
	CH_ROOT_STACK = 3,
	CH_ROOT_REGISTER = 4,
	CH_NUM_ROOT_KINDS,
};

/** "runtime", "global", "tls", "stack", "register". */
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
	/** memory an allocator owns but its walk did not explain */
	CH_ROOT_UNEXPLAINED,
	/** the roots runtimes name (ch_roots::runtime) */
	CH_ROOT_RUNTIME_NAMED,
};

/** A root a runtime's plugin named (coreheap_allocator::roots). */
struct ch_runtime_root {
	char *name;
	/** The object it holds (its identity). */
	uint64_t target;
};

/**
 * One root. Memory roots are [start, end); a thread's registers are one root
 * whose "addresses" are the register numbers [0, CH_NUM_REGS); the roots
 * runtimes name are one root (kind CH_ROOT_RUNTIME) whose "addresses" are
 * the indices in ch_roots::runtime.
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
	 * per thread, then (if a runtime named any) the runtime root.
	 */
	struct ch_root *roots;
	size_t num_roots;
	/** The roots runtimes named, in the order they named them. Owned. */
	struct ch_runtime_root *runtime;
	size_t num_runtime, runtime_capacity;
	/** The core's threads: one register root each, last. */
	size_t num_threads;
	/**
	 * Bytes of memory roots; bytes of writable memory left out as the
	 * allocators' own (metadata, blocks, declared ranges); bytes of
	 * stacks left out below their stack pointers.
	 */
	uint64_t memory_bytes, excluded_bytes, dead_stack_bytes;
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

/**
 * Whether the word at source in root (as for ch_roots_describe()) is one a
 * person knows by name, into *ret: a global or static variable, a
 * thread's TLS variable (a symbol holds it), or a local variable or
 * parameter of a frame that DWARF names; not a stack slot DWARF does not
 * name, a register, a stripped module's data or another mapping. Paths from
 * named roots are the ones shown first (ch_graph_paths()). Errors: out of
 * memory (unwinding the stacks).
 */
struct ch_error *ch_roots_named(struct ch_roots *roots,
				struct ch_program *program, uint32_t root,
				uint64_t source, bool *ret);

#endif /* COREHEAP_ROOTS_H */
