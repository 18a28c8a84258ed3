/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What changed per type between two cores of one program: the report of
 * `coreheap diff`, in every format, which `coreheap report OLD NEW` embeds
 * as it is (--format json). Per type (unknown types by usable size) the
 * count and bytes in each core, largest growth in bytes first; with
 * retained, the growth in retained bytes too, so that the owner of the
 * growth stands out.
 */
#ifndef COREHEAP_DIFF_H
#define COREHEAP_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "heap/program.h"
#include "report/analysis.h"
#include "report/output.h"

enum ch_diff_show { CH_DIFF_SHOW_NONE, CH_DIFF_SHOW_NEW, CH_DIFF_SHOW_GONE };

struct ch_diff_options {
	/** A build-id mismatch is an error, not a warning. */
	bool strict;
	bool retained;
	enum ch_diff_show show;
	/** Only the rows that grew most; 0: all. */
	uint64_t top;
	/** Allocations listed by show at most (--limit); 0: all. */
	uint64_t max_listed;
	/** --type: only the types whose name matches (PCRE2); NULL: all. */
	const char *type;
	/**
	 * With retained: each core's retained bytes per type group, where
	 * they are known already (ch_diff_group_retained()), so that its
	 * graph and dominator tree are not made again; NULL: made here.
	 */
	const uint64_t *group_retained[2];
};

/*
 * The retained sizes of both cores at once, each with its graph and
 * dominator tree on threads of their own, while the two together stay
 * small: up to this many allocations in each (at 2 million, `diff
 * --retained` of a core and itself peaked at 317 MiB so, 233 MiB one
 * after the other, for a quarter less time).
 */
#define CH_DIFF_PAIR_MAX_NODES ((size_t)1 << 22)

/**
 * Whether both cores' graphs and trees are made at once: two small heaps,
 * and not --verbose (each core's notes then stay together, in turn).
 */
static inline bool ch_diff_pair_fits(struct ch_program *const programs[2])
{
	return !programs[0]->verbose && !programs[1]->verbose &&
	       programs[0]->heap.live.len <= CH_DIFF_PAIR_MAX_NODES &&
	       programs[1]->heap.live.len <= CH_DIFF_PAIR_MAX_NODES;
}

/**
 * The retained bytes of each type group of program (its heap typed), as
 * `top` computes them: *ret has an entry per group of
 * ch_type_groups_init(program, NULL, NULL), made from a graph built with
 * analysis (NULL: the defaults) and its dominator tree.
 */
struct ch_error *ch_diff_group_retained(struct ch_program *program,
					const struct ch_analysis_options *analysis,
					uint64_t **ret);

/**
 * Compare programs[0] (OLD) and programs[1] (NEW), both with their heaps
 * and types loaded, and write the report to stream in format (text, json
 * or csv).
 */
struct ch_error *ch_diff_report_write(struct ch_program *programs[2],
				      const struct ch_diff_options *options,
				      enum ch_format format, FILE *stream);

/**
 * Set only[i] (one flag per live block of programs[side], zeroed by the
 * caller) for each block of that core that the other one does not hold at
 * the same address with the same type and size: side 1, the new
 * allocations of NEW; side 0, those gone from OLD.
 */
void ch_diff_mark_only(struct ch_program *programs[2], int side, bool *only);

#endif /* COREHEAP_DIFF_H */
