// SPDX-License-Identifier: MIT
// Fuzz target: the address space over a core (src/core/address_space.c),
// without modules. The input is the core; reads go to the start, middle
// and end of every mapping, across the gaps between them, and to addresses
// taken from the core itself.
#include "core/address_space.h"
#include "fuzz_common.h"

static void probe(const struct ch_address_space *as, uint64_t addr)
{
	uint8_t buf[64];
	uint64_t word;
	struct ch_error *err;
	const void *p;

	err = ch_address_space_read(as, addr, buf, sizeof(buf));
	ch_error_destroy(err);
	(void)ch_address_space_read_u64(as, addr, &word);
	(void)ch_address_space_read_quiet(as, addr - 3, buf, 17);
	p = ch_address_space_map(as, addr, 16);
	if (p) {
		volatile uint8_t b = ((const uint8_t *)p)[15];

		(void)b;
	}
	(void)ch_address_space_mapping(as, addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	struct ch_address_space *as;
	struct ch_core *core;
	struct ch_error *err;
	size_t off;

	if (!path)
		return 0;
	err = ch_core_open(path, &core);
	if (err) {
		ch_error_destroy(err);
		return 0;
	}
	err = ch_address_space_create(core, NULL, &as);
	if (err) {
		ch_error_destroy(err);
		ch_core_destroy(core);
		return 0;
	}
	for (size_t i = 0; i < as->num_mappings; i++) {
		const struct ch_mapping *m = &as->mappings[i];

		probe(as, m->start);
		probe(as, m->start + (m->end - m->start) / 2);
		probe(as, m->end - 8);
		probe(as, m->end - 1);
	}
	// Words of the input as addresses, as pointers in a heap would be.
	off = size > 512 ? size - 512 : 0;
	while (off < size)
		probe(as, fuzz_u64(data, size, &off));
	ch_address_space_destroy(as);
	ch_core_destroy(core);
	return 0;
}
