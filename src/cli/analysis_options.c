// SPDX-License-Identifier: MIT
#include "cli/analysis_options.h"

struct ch_error *ch_analysis_parse_no_interior(const char *value, void *ctx)
{
	((struct ch_analysis_options *)ctx)->no_interior = true;
	return NULL;
}

struct ch_error *ch_analysis_parse_stats(const char *value, void *ctx)
{
	((struct ch_analysis_options *)ctx)->stats = true;
	return NULL;
}

struct ch_error *ch_analysis_parse_conservative(const char *value, void *ctx)
{
	((struct ch_analysis_options *)ctx)->conservative = true;
	return NULL;
}

struct ch_error *ch_analysis_parse_threads(const char *value, void *ctx)
{
	uint64_t threads;
	struct ch_error *err = ch_parse_u64("threads", value, &threads);

	if (err)
		return err;
	if (threads == 0 || threads > 1024)
		return ch_error_create(CH_ERROR_USAGE,
				       "--threads takes a number from 1 to 1024, not '%s'",
				       value);
	((struct ch_analysis_options *)ctx)->threads = threads;
	return NULL;
}
