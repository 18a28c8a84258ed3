/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the jemalloc plugin's decoding: the size classes, the
 * version string, the rtree leaf and edata bit fields (against values built
 * the way jemalloc 5.3.0 builds them), and the address set the walk merges
 * with. The exact tests (test_jemalloc_exact) check the whole on real cores.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../allocators/jemalloc/jemalloc.h"

Test(jemalloc, size_classes)
{
	uint64_t sizes[JEM_NSIZES];

	jem_compute_sizes(sizes);
	cr_expect_eq(sizes[0], 8);
	cr_expect_eq(sizes[1], 16);
	cr_expect_eq(sizes[4], 64);
	cr_expect_eq(sizes[5], 80);
	// SC_SMALL_MAXCLASS and SC_LARGE_MINCLASS for 4 KiB pages.
	cr_expect_eq(sizes[JEM_NBINS - 1], 14336);
	cr_expect_eq(sizes[JEM_NBINS], 16384);
	// The tcache stacks' class in Debian's build, as the walk sees it.
	cr_expect_eq(sizes[39], 28672);
	// SC_LARGE_MAXCLASS: 2^62 + 3 * 2^60.
	cr_expect_eq(sizes[JEM_NSIZES - 1], UINT64_C(7) << 60);
	for (size_t i = 1; i < JEM_NSIZES; i++)
		cr_expect_gt(sizes[i], sizes[i - 1], "class %zu", i);
}

extern const struct coreheap_allocator coreheap_jemalloc_allocator;

Test(jemalloc, usable_size_is_the_size_class)
{
	const struct coreheap_allocator *ops = &coreheap_jemalloc_allocator;
	struct jem_state *st = calloc(1, sizeof(*st));
	struct coreheap_block like = { .size = 48 };
	// malloc_usable_size(malloc(n)) in jemalloc 5.3 (sz_s2u()).
	static const uint64_t cases[][2] = {
		{ 0, 8 }, { 1, 8 }, { 8, 8 }, { 9, 16 }, { 17, 32 }, { 33, 48 },
		{ 40, 48 }, { 129, 160 }, { 14336, 14336 }, { 14337, 16384 },
		{ 16385, 20480 }, { 100000, 114688 },
	};
	uint64_t usable;

	cr_assert(st);
	cr_assert(COREHEAP_HAS(ops, usable_size));
	cr_expect_eq(ops->usable_size(NULL, st, &like, 8, &usable),
		     COREHEAP_NOT_FOUND, "before a walk: no classes");
	jem_compute_sizes(st->sizes);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cr_assert_eq(ops->usable_size(NULL, st, &like, cases[i][0],
					      &usable), COREHEAP_OK);
		cr_expect_eq(usable, cases[i][1], "malloc(%lu): want %lu, got %lu",
			     (unsigned long)cases[i][0],
			     (unsigned long)cases[i][1], (unsigned long)usable);
	}
	cr_expect_eq(ops->usable_size(NULL, st, &like, UINT64_MAX, &usable),
		     COREHEAP_NOT_FOUND, "past the largest class");
	free(st);
}

Test(jemalloc, version_string)
{
	static const char good[] =
		"5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c";
	struct jem_state st = { 0 };

	cr_assert(jem_parse_version(good, sizeof(good), &st));
	cr_expect_str_eq(st.version, good);
	cr_expect_eq(st.version_major, 5);
	cr_expect_eq(st.version_minor, 3);
	cr_expect_eq(st.version_patch, 0);

	memset(&st, 0, sizeof(st));
	cr_expect_not(jem_parse_version("5.3.0", 6, &st));
	cr_expect_not(jem_parse_version("5.3.0-0-g54eaed1d", 18, &st),
		      "a short hash");
	cr_expect_not(jem_parse_version(good, 30, &st), "cut short");
	cr_expect_eq(st.version[0], '\0');
}

Test(jemalloc, rtree_leaf_bits)
{
	// rtree.h rtree_leaf_elm_bits_encode(): szind << 48 | edata |
	// state << 2 | is_head << 1 | slab.
	const struct jem_layout *l = jem_layout_find(5, 3, 0);
	uint64_t edata = UINT64_C(0x7f1234567880);
	uint64_t bits = (uint64_t)27 << 48 | edata | 2u << 2 | 1u << 1 | 1u;

	cr_assert_not_null(l);
	cr_expect(l->leaf_has_state);
	cr_expect_eq(jem_leaf_edata(l, bits), edata);
	cr_expect_eq(jem_leaf_szind(bits), 27);
	cr_expect_eq(jem_leaf_state(bits), JEM_STATE_MUZZY);
	cr_expect(jem_leaf_slab(bits));
	// A cleared slot: no edata, the invalid class SC_NSIZES.
	cr_expect_eq(jem_leaf_edata(l, (uint64_t)JEM_NSIZES << 48), 0);
}

Test(jemalloc, rtree_leaf_bits_5_2)
{
	// 5.2 rtree.h: szind << LG_VADDR | extent (cache-line aligned, its
	// low bits clear) | slab; no state.
	const struct jem_layout *l = jem_layout_find(5, 2, 1);
	uint64_t extent = UINT64_C(0x7f12345678c0);
	uint64_t bits = (uint64_t)27 << 48 | extent | 1u;

	cr_assert_not_null(l);
	cr_expect_not(l->leaf_has_state);
	cr_expect_eq(jem_leaf_edata(l, bits), extent);
	cr_expect_eq(jem_leaf_szind(bits), 27);
	cr_expect(jem_leaf_slab(bits));
	cr_expect_eq(jem_leaf_edata(l, (uint64_t)JEM_NSIZES << 48), 0);
	cr_expect_null(jem_layout_find(5, 2, 0), "5.2.0 has no table");
	cr_expect_null(jem_layout_find(5, 3, 1), "5.3.1 has no table");
}

Test(jemalloc, rtree_leaf_not_compact)
{
	// For 57-bit addresses a leaf slot is the edata pointer and a word:
	// 5.3's rtree_leaf_elm_write() puts slab | is_head << 1 | state << 2
	// | szind << 5 in le_metadata; 5.2's has le_szind, then le_slab.
	const struct jem_layout *l53 = jem_layout_find(5, 3, 0);
	const struct jem_layout *l52 = jem_layout_find(5, 2, 1);
	uint64_t edata = UINT64_C(0x7f1234567880);
	uint64_t bits = jem_leaf_compacted(l53, edata,
					   1u | 1u << 1 | 2u << 2 | 27u << 5);

	cr_assert(l53 && l52);
	cr_expect_eq(jem_leaf_edata(l53, bits), edata);
	cr_expect_eq(jem_leaf_szind(bits), 27);
	cr_expect_eq(jem_leaf_state(bits), JEM_STATE_MUZZY);
	cr_expect(jem_leaf_slab(bits));
	// The metadata word's upper half is padding: it changes nothing.
	cr_expect_eq(jem_leaf_compacted(l53, edata,
					UINT64_C(0xdead0000) << 32 | 27u << 5),
		     (uint64_t)27 << 48 | edata);
	bits = jem_leaf_compacted(l52, edata, (uint64_t)1 << 32 | 27u);
	cr_expect_eq(jem_leaf_edata(l52, bits), edata);
	cr_expect_eq(jem_leaf_szind(bits), 27);
	cr_expect(jem_leaf_slab(bits));
	cr_expect_not(jem_leaf_slab(jem_leaf_compacted(l52, edata, 27u)));
}

Test(jemalloc, rtree_shapes)
{
	// rtree.h's rtree_levels[]: for LG_VADDR 48, two levels of 18 bits
	// (a key's slots at bits 47..30 and 29..12); for 57, three of 15
	// (56..42, 41..27, 26..12).
	cr_expect_eq(jem_rtree_slots(&jem_rtree_48), JEM_RTREE_SLOTS);
	cr_expect_eq(jem_rtree_shift(&jem_rtree_48, 0), JEM_RTREE_ROOT_SHIFT);
	cr_expect_eq(jem_rtree_shift(&jem_rtree_48, 1), JEM_RTREE_LEAF_SHIFT);
	cr_expect_eq(jem_rtree_slots(&jem_rtree_57), 1u << 15);
	cr_expect_eq(jem_rtree_shift(&jem_rtree_57, 0), 42);
	cr_expect_eq(jem_rtree_shift(&jem_rtree_57, 1), 27);
	cr_expect_eq(jem_rtree_shift(&jem_rtree_57, 2), 12);
	cr_expect_eq(jem_rtree_57.leaf_slot_size, 16);
	cr_expect_eq(jem_rtree_48.leaf_slot_size, 8);
}

Test(jemalloc, edata_bits)
{
	// edata.h: arena 12 bits @0, slab @12, state 3 bits @17, szind 8 bits
	// @20, nfree 10 bits @28, bin_shard 6 bits @38, is_head @44.
	uint64_t bits = 0xabcu | 1u << 12 | 1u << 13 | (uint64_t)3 << 17 |
			(uint64_t)0xc5 << 20 | (uint64_t)0x201 << 28 |
			(uint64_t)0x3f << 38 | (uint64_t)1 << 44;

	const struct jem_layout *l = jem_layout_find(5, 3, 0);

	cr_expect_eq(jem_edata_arena(bits), 0xabc);
	cr_expect(jem_edata_slab(bits));
	cr_expect_eq(jem_edata_state(l, bits), JEM_STATE_RETAINED);
	cr_expect_eq(jem_edata_szind(l, bits), 0xc5);
	cr_expect_eq(jem_edata_nfree(l, bits), 0x201);
	cr_expect_not(jem_edata_slab(bits & ~((uint64_t)1 << 12)));
	cr_expect_not(jem_edata_hpa(l, bits));
	cr_expect(jem_edata_hpa(l, bits | 1u << 14));
}

Test(jemalloc, extent_bits_5_2)
{
	// 5.2 extent_structs.h: arena 12 bits @0, slab @12, committed @13,
	// dumpable @14, zeroed @15, state 2 bits @16, szind 8 bits @18,
	// nfree 10 bits @26, bin_shard 6 bits @36, is_head @42, sn above.
	uint64_t bits = 0xabcu | 1u << 12 | 1u << 13 | 1u << 14 | 1u << 15 |
			(uint64_t)3 << 16 | (uint64_t)0xc5 << 18 |
			(uint64_t)0x201 << 26 | (uint64_t)0x3f << 36 |
			(uint64_t)1 << 42 | (uint64_t)0x12345 << 43;
	const struct jem_layout *l = jem_layout_find(5, 2, 1);

	cr_expect_eq(jem_edata_arena(bits), 0xabc);
	cr_expect(jem_edata_slab(bits));
	cr_expect_eq(jem_edata_state(l, bits), JEM_STATE_RETAINED);
	cr_expect_eq(jem_edata_szind(l, bits), 0xc5);
	cr_expect_eq(jem_edata_nfree(l, bits), 0x201);
	// Bit 14 is dumpable, not a page allocator: 5.2 has no HPA.
	cr_expect_not(jem_edata_hpa(l, bits));
}

static size_t duplicates;
static uint64_t duplicate_address;

static void on_duplicate(void *arg, const struct jem_ptr *kept,
			 uint32_t dropped_tag)
{
	(void)arg;
	(void)dropped_tag;
	duplicates++;
	duplicate_address = kept->address;
}

Test(jemalloc, ptrset_sorts_and_names_duplicates)
{
	struct jem_ptrset set = { 0 };
	static const uint64_t addrs[] = { 0x3000, 0x1000, 0x2000, 0x1000, 0x5000 };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(*addrs); i++)
		cr_assert_eq(jem_ptrset_add(&set, addrs[i], (uint32_t)i), 0);
	jem_ptrset_sort(&set, on_duplicate, NULL);
	cr_expect_eq(set.count, 4);
	cr_expect_eq(duplicates, 1);
	cr_expect_eq(duplicate_address, 0x1000);
	cr_expect_eq(set.items[0].address, 0x1000);
	cr_expect_eq(set.items[0].tag, 1, "the first found is kept");
	cr_expect_eq(set.items[3].address, 0x5000);
	cr_expect_not_null(jem_ptrset_find(&set, 0x2000));
	cr_expect_null(jem_ptrset_find(&set, 0x4000));
	cr_expect_eq(jem_ptrset_lower_bound(&set, 0x4000), 3);
	cr_expect_eq(jem_ptrset_lower_bound(&set, 0x6000), 4);
	jem_ptrset_deinit(&set);
	cr_expect_eq(set.count, 0);
}

/* A host with mappings only, for jem_collect_ranges(). */
struct mappings_host {
	struct coreheap_host ops;
	const struct coreheap_mapping *mappings;
	size_t count;
};

static size_t host_num_mappings(const struct coreheap_host *ops)
{
	return ((const struct mappings_host *)ops)->count;
}

static int host_mapping(const struct coreheap_host *ops, size_t i,
			struct coreheap_mapping *ret)
{
	const struct mappings_host *host = (const struct mappings_host *)ops;

	if (i >= host->count)
		return COREHEAP_NOT_FOUND;
	*ret = host->mappings[i];
	return COREHEAP_OK;
}

static void host_log(const struct coreheap_host *ops, int level,
		     const char *format, ...)
{
	(void)ops, (void)level, (void)format;
}

// The searches of the module's data read what the core holds of it, and
// no more than JEM_SCAN_MAX_BYTES in all, however large and many the
// writable mappings a (hostile) core gives the module.
Test(jemalloc, module_data_searched_is_bounded)
{
	const uint64_t mib = 1 << 20, base = 0x7f0000000000;
	const struct coreheap_mapping mappings[] = {
		// Text, not writable: not a range.
		{ base, base + mib, COREHEAP_PROT_READ, NULL, mib },
		// Half of it in the core, the rest left out.
		{ base + mib, base + 5 * mib, COREHEAP_PROT_WRITE, NULL, 2 * mib + 4 },
		// Nothing of it in the core.
		{ base + 8 * mib, base + 72 * mib, COREHEAP_PROT_WRITE, NULL, 0 },
		// More than is left to search.
		{ base + 80 * mib, base + 144 * mib, COREHEAP_PROT_WRITE, NULL, 64 * mib },
		{ base + 160 * mib, base + 224 * mib, COREHEAP_PROT_WRITE, NULL, 64 * mib },
		// Outside the module.
		{ base + 512 * mib, base + 513 * mib, COREHEAP_PROT_WRITE, NULL, mib },
	};
	struct mappings_host host = {
		.ops = { .num_mappings = host_num_mappings,
			 .mapping = host_mapping,
			 .log = host_log },
		.mappings = mappings,
		.count = sizeof(mappings) / sizeof(mappings[0]),
	};
	struct jem_state st = { .module_start = base, .module_end = base + 256 * mib };
	struct jem_walk walk = { .host = &host.ops, .st = &st };
	uint64_t searched = 0;

	cr_assert_eq(jem_collect_ranges(&walk), COREHEAP_OK);
	cr_assert_eq(walk.num_ranges, 4);
	cr_expect_eq(walk.ranges[0].end, base + 5 * mib);
	cr_expect_eq(walk.ranges[0].scan_end, base + mib + 2 * mib,
		     "the bytes the core holds, in whole words");
	cr_expect_eq(walk.ranges[1].scan_end, walk.ranges[1].start);
	cr_expect_eq(walk.ranges[2].scan_end, base + 80 * mib + 62 * mib);
	cr_expect_eq(walk.ranges[3].scan_end, walk.ranges[3].start);
	for (size_t i = 0; i < walk.num_ranges; i++)
		searched += walk.ranges[i].scan_end - walk.ranges[i].start;
	cr_expect_eq(searched, JEM_SCAN_MAX_BYTES);
	free(walk.ranges);
}
