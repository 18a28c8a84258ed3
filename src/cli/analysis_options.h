/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The options every retention command (why, leaks, refs, top) takes, as
 * entries for its option table. The options' values live in struct
 * ch_analysis_options, which a command's option context starts with.
 */
#ifndef COREHEAP_CLI_ANALYSIS_OPTIONS_H
#define COREHEAP_CLI_ANALYSIS_OPTIONS_H

#include "cli/options.h"
#include "report/analysis.h"

struct ch_error *ch_analysis_parse_no_interior(const char *value, void *ctx);
struct ch_error *ch_analysis_parse_stats(const char *value, void *ctx);
struct ch_error *ch_analysis_parse_conservative(const char *value, void *ctx);
struct ch_error *ch_analysis_parse_threads(const char *value, void *ctx);

/** The --no-interior entry alone (refs takes only it). */
#define CH_ANALYSIS_NO_INTERIOR_OPTION                                       \
	{ { "no-interior", no_argument, NULL, 0 },                          \
	  ch_analysis_parse_no_interior, NULL,                               \
	  "only a pointer to an allocation's start is a reference" }

#define CH_ANALYSIS_OPTIONS                                                  \
	CH_ANALYSIS_NO_INTERIOR_OPTION,                                      \
	{ { "conservative", no_argument, NULL, 0 },                         \
	  ch_analysis_parse_conservative, NULL,                              \
	  "scan every allocation for pointers, also those whose\n"          \
	  "DWARF type holds none (text, scalar arrays)" },                   \
	{ { "stats", no_argument, NULL, 0 }, ch_analysis_parse_stats, NULL,   \
	  "say on stderr how much was scanned, how fast" },                  \
	{ { "threads", required_argument, NULL, 0 },                         \
	  ch_analysis_parse_threads, "N",                                    \
	  "threads for the scan (default: one per CPU)" }

#endif /* COREHEAP_CLI_ANALYSIS_OPTIONS_H */
