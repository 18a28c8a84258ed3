// SPDX-License-Identifier: MIT
/*
 * A tiny allocator plugin, built as a shared object and loaded with
 * --plugin by test_plugins.c: it proves that an outside allocator can be
 * added through include/coreheap/plugin.h alone.
 *
 * The "toy" allocator keeps a table at the start of a writable mapping:
 * the magic "TOYHEAP1", a count, then count records of
 * (address, size, state), all 64-bit. It names every block's type
 * "toy::object", as a managed runtime names its objects. State 3 is a live
 * object nested in the live block before it, as a runtime's objects live
 * inside malloc'd blocks.
 *
 * TOY_PLUGIN_TABLE chooses the table it hands the host, for the tests of
 * how the interface grows: unset, the table of this header; "older", one
 * whose size ends with walk, as a plugin built against an older header
 * (its check, past that size, must never be called); "newer", one larger
 * than this header's, as a plugin built for a newer coreheap; "abi1", one
 * of ABI version 1; "unsized", one whose size was left 0.
 */
#include <stdlib.h>
#include <string.h>

#include "coreheap/plugin.h"

#define TOY_MAGIC "TOYHEAP1"
#define TOY_MAX_RECORDS 4096

struct toy_state {
	uint64_t table;
};

static int toy_probe(const struct coreheap_host *host, bool forced,
		     int *confidence_ret, void **state_ret)
{
	static struct toy_state state;

	*confidence_ret = 0;
	for (size_t i = 0; i < host->num_mappings(host); i++) {
		struct coreheap_mapping mapping;
		char magic[8];

		if (host->mapping(host, i, &mapping) != COREHEAP_OK ||
		    !(mapping.prot & COREHEAP_PROT_WRITE) ||
		    host->read(host, mapping.start, magic, 8) != COREHEAP_OK ||
		    memcmp(magic, TOY_MAGIC, 8) != 0)
			continue;
		state.table = mapping.start;
		*state_ret = &state;
		*confidence_ret = 100;
		return COREHEAP_OK;
	}
	return COREHEAP_OK;
}

static int toy_walk(const struct coreheap_host *host, void *opaque)
{
	struct toy_state *state = opaque;
	uint64_t count;
	uint32_t region;
	int status;

	if (host->read(host, state->table + 8, &count, 8) != COREHEAP_OK)
		return COREHEAP_CORRUPT;
	if (count > TOY_MAX_RECORDS) {
		host->add_damage(host, &(struct coreheap_damage){
			.kind = COREHEAP_DAMAGE_BAD_SIZE, .region = UINT32_MAX,
			.address = state->table + 8,
			.message = "toy table count is impossible" });
		return COREHEAP_CORRUPT;
	}
	status = host->add_region(host, &(struct coreheap_region){
		.name = "toy table", .address = state->table }, &region);
	if (status)
		return status;
	uint64_t holder = 0;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t record[3];
		bool nested;

		if (host->read(host, state->table + 16 + 24 * i, record,
			       sizeof(record)) != COREHEAP_OK)
			return COREHEAP_CORRUPT;
		nested = record[2] == 3;
		// As a managed runtime would, the toy names its objects.
		status = host->add_block(host, &(struct coreheap_block){
			.address = record[0], .size = record[1],
			.state = nested ? COREHEAP_BLOCK_LIVE : (uint32_t)record[2],
			.region = region, .type_name = "toy::object",
			.parent = nested ? holder : 0 });
		if (record[2] == COREHEAP_BLOCK_LIVE)
			holder = record[0];
		if (status)
			return status;
	}
	return COREHEAP_OK;
}

static const struct coreheap_allocator toy_allocator = {
	COREHEAP_ALLOCATOR_INIT,
	.name = "toy",
	.description = "a test allocator with a table of its blocks",
	.probe = toy_probe,
	.walk = toy_walk,
};

// Past the older table's size: the host must take it for NULL. Were it
// called, the damage would show.
static int toy_check_past_size(const struct coreheap_host *host, void *state)
{
	(void)state;
	return host->add_damage(host, &(struct coreheap_damage){
		.kind = COREHEAP_DAMAGE_INCONSISTENT, .region = UINT32_MAX,
		.message = "check called past the table's size" });
}

static const struct coreheap_allocator toy_older = {
	.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
	.size = COREHEAP_ALLOCATOR_MIN_SIZE,
	.name = "toy",
	.description = "the toy, as built against an older header",
	.probe = toy_probe,
	.walk = toy_walk,
	.check = toy_check_past_size,
};

// A table with one operation this header does not have.
static const struct {
	struct coreheap_allocator ops;
	int (*future)(const struct coreheap_host *host, void *state);
} toy_newer = {
	.ops = {
		.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
		.size = sizeof(toy_newer),
		.name = "toy",
		.description = "the toy, as built for a newer coreheap",
		.probe = toy_probe,
		.walk = toy_walk,
	},
	.future = toy_check_past_size,
};

static const struct coreheap_allocator toy_abi1 = {
	.abi_version = 1,
	.size = sizeof(struct coreheap_allocator),
	.name = "toy",
	.probe = toy_probe,
	.walk = toy_walk,
};

static const struct coreheap_allocator toy_unsized = {
	.abi_version = COREHEAP_PLUGIN_ABI_VERSION,
	.name = "toy",
	.probe = toy_probe,
	.walk = toy_walk,
};

const struct coreheap_allocator *coreheap_allocator_entry(void);

const struct coreheap_allocator *coreheap_allocator_entry(void)
{
	const char *table = getenv("TOY_PLUGIN_TABLE");

	if (!table || !table[0])
		return &toy_allocator;
	if (strcmp(table, "older") == 0)
		return &toy_older;
	if (strcmp(table, "newer") == 0)
		return &toy_newer.ops;
	if (strcmp(table, "abi1") == 0)
		return &toy_abi1;
	if (strcmp(table, "unsized") == 0)
		return &toy_unsized;
	return NULL;
}
