// SPDX-License-Identifier: MIT
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "base/pattern.h"

struct ch_error *ch_pattern_init(struct ch_pattern *pattern,
				 const char *option, const char *text)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re;
	PCRE2_UCHAR message[256];

	*pattern = (struct ch_pattern){ 0 };
	re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code,
			   &offset, NULL);
	if (!re) {
		pcre2_get_error_message(code, message, sizeof(message));
		return ch_error_create(CH_ERROR_USAGE,
				       "bad regular expression for --%s at offset %zu: %s",
				       option, (size_t)offset, (char *)message);
	}
	// The JIT is only a speed-up: without it, matching still works.
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	pattern->match_data = pcre2_match_data_create_from_pattern(re, NULL);
	if (!pattern->match_data) {
		pcre2_code_free(re);
		return &ch_enomem;
	}
	pattern->code = re;
	return NULL;
}

void ch_pattern_deinit(struct ch_pattern *pattern)
{
	pcre2_match_data_free(pattern->match_data);
	pcre2_code_free(pattern->code);
	*pattern = (struct ch_pattern){ 0 };
}

bool ch_pattern_match(const struct ch_pattern *pattern, const char *s)
{
	return pcre2_match(pattern->code, (PCRE2_SPTR)s, strlen(s), 0, 0,
			   pattern->match_data, NULL) >= 0;
}
