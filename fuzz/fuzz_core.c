// SPDX-License-Identifier: MIT
// Fuzz target: the core reader and its notes (src/core/core.c). The input
// is the core file; every field the reader fills is touched, so that a
// length it got wrong shows up under ASan here rather than in a report.
#include <string.h>

#include "core/core.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	struct ch_core *core;
	struct ch_error *err;
	volatile uint64_t sink = 0;
	uint64_t value;

	if (!path)
		return 0;
	err = ch_core_open(path, &core);
	if (err) {
		ch_error_destroy(err);
		return 0;
	}
	for (size_t i = 0; i < core->num_segments; i++) {
		const struct ch_core_segment *s = &core->segments[i];

		// The first and last byte the reader says it holds.
		if (s->available)
			sink += s->data[0] + s->data[s->available - 1];
		sink += ch_core_file_at(core, s->start) != NULL;
	}
	for (size_t i = 0; i < core->num_threads; i++)
		sink += core->threads[i].regs[CH_REG_RSP];
	for (size_t i = 0; i < core->num_files; i++) {
		sink += strlen(core->files[i].path);
		sink += ch_core_file_at(core, core->files[i].start) != NULL;
	}
	sink += strnlen(core->fname, sizeof(core->fname));
	sink += strnlen(core->psargs, sizeof(core->psargs));
	if (core->auxv_size)
		sink += core->auxv[0] + core->auxv[core->auxv_size - 1];
	if (ch_core_auxv(core, 9 /* AT_ENTRY */, &value))
		sink += value;
	(void)sink;
	ch_core_destroy(core);
	return 0;
}
