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
};

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
