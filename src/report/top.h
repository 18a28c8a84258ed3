/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Retained sizes from the dominator tree: the report of `coreheap top`, in
 * every format, which `coreheap report` embeds as it is (--format json).
 */
#ifndef COREHEAP_TOP_H
#define COREHEAP_TOP_H

#include <stdint.h>
#include <stdio.h>

#include "graph/dominators.h"
#include "heap/program.h"
#include "report/analysis.h"
#include "report/output.h"

struct ch_top_options {
	struct ch_analysis_options analysis;   // first: see analysis.h
	/** Rows per table; 0: all. */
	uint64_t rows;
};

/**
 * Compute the dominator tree and retained sizes of program (heap loaded)
 * and write the largest to stream in format (text, json, jsonl or csv).
 */
struct ch_error *ch_top_report_write(struct ch_program *program,
				     const struct ch_top_options *options,
				     enum ch_format format, FILE *stream);

/**
 * The report of an analysis already made of program (options->analysis
 * unused), for a caller that goes on to other reports over the analysis
 * and reads the tree (the HTML report): computed once, written with
 * ch_top_report_write_created(), freed with ch_top_report_destroy() before
 * the analysis is.
 */
struct ch_top_report;

struct ch_error *ch_top_report_create(struct ch_analysis *analysis,
				      const struct ch_top_options *options,
				      struct ch_top_report **ret);
struct ch_error *ch_top_report_write_created(struct ch_top_report *report,
					     enum ch_format format,
					     FILE *stream);
/**
 * The report's dominator tree, with the retained size of each node
 * (*retained_ret) and of all that the roots reach (*reachable_bytes_ret):
 * the report's, valid while it is.
 */
const struct ch_dominators *ch_top_report_tree(const struct ch_top_report *report,
					       const uint64_t **retained_ret,
					       uint64_t *reachable_bytes_ret);
void ch_top_report_destroy(struct ch_top_report *report);

#endif /* COREHEAP_TOP_H */
