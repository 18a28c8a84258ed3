/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A regular expression (PCRE2 syntax) given on the command line, matched
 * against type names: --match and --type.
 */
#ifndef COREHEAP_PATTERN_H
#define COREHEAP_PATTERN_H

#include <stdbool.h>

#include "base/error.h"

struct ch_pattern {
	/** pcre2_code and pcre2_match_data; private to pattern.c. */
	void *code;
	void *match_data;
};

/**
 * Compile pattern; a bad one is a CH_ERROR_USAGE naming option and where
 * the pattern went wrong.
 */
struct ch_error *ch_pattern_init(struct ch_pattern *pattern,
				 const char *option, const char *text);
void ch_pattern_deinit(struct ch_pattern *pattern);

/** True if the pattern matches anywhere in s (search, not full match). */
bool ch_pattern_match(const struct ch_pattern *pattern, const char *s);

#endif /* COREHEAP_PATTERN_H */
