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
 * The same over an analysis already made of the program (its options
 * unused), which is left whole for the caller's other reports.
 */
struct ch_error *ch_top_report_write_analysis(struct ch_analysis *analysis,
					      const struct ch_top_options *options,
					      enum ch_format format, FILE *stream);

#endif /* COREHEAP_TOP_H */
