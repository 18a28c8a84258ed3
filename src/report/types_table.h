/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The live heap by type: the report of `coreheap types`, in every format,
 * which `coreheap report` embeds as it is (--format json).
 */
#ifndef COREHEAP_TYPES_TABLE_H
#define COREHEAP_TYPES_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "heap/program.h"
#include "report/output.h"
#include "types/types.h"

enum ch_types_sort { CH_TYPES_SORT_BYTES, CH_TYPES_SORT_COUNT };

struct ch_types_options {
	enum ch_types_sort sort;
	/** Only the first rows; 0: all. */
	uint64_t top;
	/** Only types whose name matches this PCRE2 pattern; NULL: all. */
	const char *match;
};

/**
 * Type the heap of program (heap loaded) and write its table by type to
 * stream in format (text, json or csv).
 */
struct ch_error *ch_types_report_write(struct ch_program *program,
				       const struct ch_types_options *options,
				       enum ch_format format, FILE *stream);

/** The same from the tables of a typing already made (ch_types_create()). */
struct ch_error *ch_types_report_write_types(struct ch_types *types,
					     const struct ch_types_options *options,
					     enum ch_format format, FILE *stream);

#endif /* COREHEAP_TYPES_TABLE_H */
