/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The allocations no root reaches: the report of `coreheap leaks`, in every
 * format, which `coreheap report` embeds as it is (--format json).
 */
#ifndef COREHEAP_LEAKS_H
#define COREHEAP_LEAKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "heap/program.h"
#include "report/analysis.h"
#include "report/output.h"

struct ch_leaks_options {
	struct ch_analysis_options analysis;   // first: see analysis.h
	/** Group by allocation stack instead of by type. */
	bool by_stack;
	/** json, jsonl, csv: list at most this many allocations; 0: all. */
	uint64_t max_allocations;
};

/**
 * Find the leaks of program (heap loaded) and write them to stream in
 * format (text, json, jsonl or csv).
 */
struct ch_error *ch_leaks_report_write(struct ch_program *program,
				       const struct ch_leaks_options *options,
				       enum ch_format format, FILE *stream);

/** The same over an analysis already made of the program (its options unused). */
struct ch_error *ch_leaks_report_write_analysis(struct ch_analysis *analysis,
						const struct ch_leaks_options *options,
						enum ch_format format, FILE *stream);

#endif /* COREHEAP_LEAKS_H */
