// SPDX-License-Identifier: MIT
// Fuzz target: module reporting (src/core/modules.c: libdwfl over the
// core's notes and segments), the address space with the modules' files
// behind it, and the threads unwound through it. The input is the core.
// Debug info is not looked for (a path that does not exist), which keeps
// runs fast; binaries named by the core's NT_FILE are opened, as coreheap
// does.
#include <stdlib.h>

#include "core/address_space.h"
#include "core/modules.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	struct ch_module_search search = {
		.debuginfo_path = "/nonexistent",
	};
	struct ch_address_space *as = NULL;
	struct ch_modules *modules;
	struct ch_core *core;
	struct ch_error *err;

	if (!path)
		return 0;
	err = ch_core_open(path, &core);
	if (err) {
		ch_error_destroy(err);
		return 0;
	}
	err = ch_modules_create(core, &search, &modules);
	if (err) {
		ch_error_destroy(err);
		ch_core_destroy(core);
		return 0;
	}
	for (size_t i = 0; i < modules->num_modules; i++) {
		struct ch_module *m = &modules->modules[i];
		struct ch_module_symbol sym;
		uint64_t offset;
		char hex[129];

		ch_module_build_id_hex(m, hex);
		(void)ch_module_symbolize(m, m->start, &offset);
		ch_error_destroy(ch_module_find_symbol(m, "main_arena", &sym));
		(void)ch_modules_find_by_address(modules, m->end - 1);
	}
	(void)ch_modules_find_by_prefix(modules, "libc.so");
	err = ch_address_space_create(core, modules, &as);
	// Unwinding reads the stacks through the address space, every thread
	// in one pass, as the program does.
	if (!err && core->num_threads) {
		struct ch_stacks *stacks = NULL;

		err = ch_stacks_create(modules, core, as, &stacks);
		ch_stacks_destroy(stacks);
	}
	ch_error_destroy(err);
	ch_address_space_destroy(as);
	ch_modules_destroy(modules);
	ch_core_destroy(core);
	return 0;
}
