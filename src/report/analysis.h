/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What the retention commands (why, leaks, refs, top) share: their common
 * options, the roots and graph of an opened program, the statistics line,
 * parsing an address and naming a root reference. Grouping allocations by
 * type is report/type_groups.h.
 */
#ifndef COREHEAP_ANALYSIS_H
#define COREHEAP_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "graph/roots.h"
#include "heap/program.h"
#include "report/output.h"
#include "report/type_groups.h"
#include "types/types.h"

/** Options every retention command takes. */
struct ch_analysis_options {
	bool no_interior;
	/** Scan every allocation, those typed as holding no pointers too. */
	bool conservative;
	bool stats;
	unsigned threads;
};

struct ch_analysis {
	struct ch_program *program;
	struct ch_roots *roots;
	struct ch_graph *graph;
	/**
	 * The typing's tables, when ch_analysis_init_keeping_types() typed
	 * the heap; else NULL.
	 */
	struct ch_types *types;
};

/**
 * Type the heap (if not yet), find the roots of program (heap loaded) and
 * build its graph, in which the allocations whose type holds no pointers
 * (heap.pointer_free) have no edges unless options->conservative; print the
 * statistics line on stderr if options->stats or the program is verbose.
 * On error nothing is left to free.
 */
struct ch_error *ch_analysis_init(struct ch_analysis *analysis,
				  struct ch_program *program,
				  const struct ch_analysis_options *options);
/**
 * The same, keeping the tables of the typing in analysis->types when the
 * heap is typed here (it was not typed before).
 */
struct ch_error *ch_analysis_init_keeping_types(struct ch_analysis *analysis,
						struct ch_program *program,
						const struct ch_analysis_options *options);
/** Free the graph, roots and kept types (not the program). */
void ch_analysis_deinit(struct ch_analysis *analysis);


/**
 * The index of the live allocation holding addr. If none does,
 * CH_ERROR_NOT_FOUND saying what addr is instead (free memory, allocator
 * metadata, or nothing the heap knows).
 */
struct ch_error *ch_analysis_find_block(const struct ch_program *program,
					uint64_t addr, uint32_t *ret);

/** A root reference named: its kind, its name and the word's address. */
struct ch_root_name {
	const char *kind;
	char *name;       /**< malloc'd */
	/** The word's address; 0 for a register. */
	uint64_t address;
};

struct ch_error *ch_analysis_name_root(struct ch_analysis *analysis,
				       const struct ch_root_ref *ref,
				       struct ch_root_name *ret);

/**
 * Which root references of the graph a person knows by name
 * (ch_roots_named()), one flag each, for ch_graph_reach() and
 * ch_graph_paths() to prefer them; the caller frees *ret.
 */
struct ch_error *ch_analysis_named_refs(struct ch_analysis *analysis,
					bool **ret);

/** Write {"kind": ..., "name": ...}. */
void ch_json_root(struct ch_json *json, const struct ch_root_name *name);

/** A type name or NULL (unknown) for a live block. */
const char *ch_analysis_type(const struct ch_program *program, uint32_t node);

/** The allocator's name of a live block. */
const char *ch_analysis_allocator(const struct ch_program *program,
				  uint32_t node);

#endif /* COREHEAP_ANALYSIS_H */
