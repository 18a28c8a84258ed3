// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "report/output.h"
#include "report/page.h"

// The template's placeholders, each on a line of its own.
#define DATA_MARK "@@DATA@@"
#define SCRIPT_MARK "@@SCRIPT@@"

static void write_json_escaped(struct ch_out *out, const char *json, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (json[i] != '<')
			continue;
		ch_out_write(out, json + start, i - start);
		ch_out_str(out, "\\u003c");
		start = i + 1;
	}
	ch_out_write(out, json + start, len - start);
}

struct ch_error *ch_page_write(FILE *stream, const char *json, size_t len)
{
	static struct ch_out out;
	const char *data = strstr(ch_page_html, DATA_MARK);
	const char *script = strstr(ch_page_html, SCRIPT_MARK);

	if (!data || !script || script < data)
		return ch_error_create(CH_ERROR_FORMAT,
				       "the page template lacks its placeholders");
	ch_out_init(&out, stream);
	ch_out_write(&out, ch_page_html, (size_t)(data - ch_page_html));
	write_json_escaped(&out, json, len);
	data += strlen(DATA_MARK);
	ch_out_write(&out, data, (size_t)(script - data));
	ch_out_str(&out, ch_page_js);
	ch_out_str(&out, script + strlen(SCRIPT_MARK));
	return ch_out_finish(&out);
}
