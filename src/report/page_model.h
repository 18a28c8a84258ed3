/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The data of `coreheap report`'s page: one JSON document made of the very
 * documents the commands write with --format json (summary, types, top,
 * leaks; why and describe per instance), so that the page shows the CLI's
 * numbers, plus what only the page needs: the dominator tree for the
 * treemap and the largest instances of each type.
 *
 * Large heaps stay small on the page: each view holds its first `limit`
 * rows (top's allocations, leaks' allocations, the tree's largest nodes,
 * the types that list instances), and the documents' totals count the rest.
 *
 * {"schema": 1, "generator": "coreheap 0.1", "limit": 20,
 *  "summary": {...}, "types": {...}, "top": {...}, "leaks": {...},
 *  "tree": {"count": C, "bytes": B, "rest": R, "rest_types": [...],
 *           "nodes": [{"parent": -1, "address":
 *           "0x..", "size": S, "retained": R, "type": T|null,
 *           "rest": bytes of the node's children not listed,
 *           "rest_types": [{"type": T|null, "size": S|null, "count": C,
 *                           "retained": R}...]}...]},
 *  "instances": [{"type": T|null, "size": S|null, "allocations":
 *                 [{"address": "0x..", "size": S, "retained": R,
 *                   "why": {...}, "describe": {...}}...]}...],
 *  "warnings": ["...", ...]}
 * where "rest_types" breaks the largest part of "rest" down by the type
 * of the children not listed (CH_PAGE_REST_TYPES types at most, largest
 * first), so that the treemap shows what a heap of many small nodes holds;
 * every instance has "describe", only some "why" (see below); "warnings"
 * are every warning the program had once the page was made (the summary's
 * are those it had before the analysis), OLD's too, as "old core: ...".
 *
 * With two cores, ch_page_model_write_diff() writes the model of NEW with
 * "old_summary" (OLD's summary), "diff" (diff --retained --format json),
 * "new_instances" (as "instances", of NEW's allocations that OLD does
 * not hold) and "gone_instances" (of OLD's allocations that NEW does not
 * hold, by type, each with its "address" and "size" only: OLD has no graph).
 */
#ifndef COREHEAP_PAGE_MODEL_H
#define COREHEAP_PAGE_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "heap/program.h"
#include "report/analysis.h"

/** Largest nodes of the dominator tree on the page at most, by default. */
#define CH_PAGE_TREE_NODES 2000
/**
 * What a node (or the super-root) retains in children not listed, by
 * type: its largest types at most.
 */
#define CH_PAGE_REST_TYPES 8

struct ch_page_options {
	struct ch_analysis_options analysis;   // first: see analysis.h
	/** Rows per view (0: all). */
	uint64_t limit;
	/** Nodes of the dominator tree listed (0: all; CH_PAGE_TREE_NODES). */
	uint64_t tree_nodes;
};

/** Write the page's data for program (heap loaded) to stream. */
struct ch_error *ch_page_model_write(struct ch_program *program,
				     const struct ch_page_options *options,
				     FILE *stream);

/** The same for two cores of one program: programs[0] OLD, programs[1] NEW. */
struct ch_error *ch_page_model_write_diff(struct ch_program *programs[2],
					  const struct ch_page_options *options,
					  FILE *stream);

#endif /* COREHEAP_PAGE_MODEL_H */
