/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Why an allocation is alive: chains of pointers from roots to it, the
 * report of `coreheap why`, which `coreheap report` embeds per instance.
 */
#ifndef COREHEAP_WHY_H
#define COREHEAP_WHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/analysis.h"
#include "report/output.h"
#include "types/types.h"

/**
 * Write to out (text or json) up to max_paths paths from a root to target
 * (the live block holding addr) in analysis's graph, preferring the root
 * references flagged in named (ch_analysis_named_refs()); types (from
 * ch_types_create()) names the member on each step.
 */
struct ch_error *ch_why_write(struct ch_analysis *analysis,
			      struct ch_types *types, const bool *named,
			      uint64_t addr, uint32_t target, size_t max_paths,
			      enum ch_format format, struct ch_out *out);

/**
 * As ch_why_write() with max_paths 1, writing path, found already for
 * target (ch_graph_first_paths(); num_nodes 0: no root reaches it).
 */
struct ch_error *ch_why_write_path(struct ch_analysis *analysis,
				   struct ch_types *types, uint64_t addr,
				   uint32_t target,
				   const struct ch_graph_path *path,
				   enum ch_format format, struct ch_out *out);

#endif /* COREHEAP_WHY_H */
