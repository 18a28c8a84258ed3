/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The process, its modules, its memory by kind (report/summary.h's map),
 * allocators, arenas and heap damage: the report of `coreheap summary`,
 * which `coreheap report` embeds as it is (--format json).
 */
#ifndef COREHEAP_SUMMARY_REPORT_H
#define COREHEAP_SUMMARY_REPORT_H

#include <stdio.h>

#include "heap/program.h"
#include "report/output.h"

/** Write the summary of program (heap loaded) to stream, text or json. */
struct ch_error *ch_summary_report_write(struct ch_program *program,
					 enum ch_format format, FILE *stream);

#endif /* COREHEAP_SUMMARY_REPORT_H */
