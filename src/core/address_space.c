// SPDX-License-Identifier: MIT
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "base/vector.h"
#include "core/address_space.h"

struct range_list {
	struct ch_range *ranges;
	size_t len, capacity;
};

static struct ch_error *range_list_add(struct range_list *list,
				       const struct ch_range *range)
{
	struct ch_error *err = ch_vector_reserve_one((void **)&list->ranges,
						     &list->capacity,
						     sizeof(*list->ranges),
						     list->len);

	if (err)
		return err;
	list->ranges[list->len++] = *range;
	return NULL;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct ch_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Add the part of a file-backed range that no core range covers. core is
 * sorted and disjoint; the pieces between core ranges are added.
 */
static struct ch_error *add_uncovered(struct range_list *out,
				      const struct ch_range *core_ranges,
				      size_t num_core, struct ch_range piece)
{
	struct ch_error *err;

	for (size_t i = 0; i < num_core && piece.start < piece.end; i++) {
		const struct ch_range *covered = &core_ranges[i];

		if (covered->end <= piece.start)
			continue;
		if (covered->start >= piece.end)
			break;
		if (covered->start > piece.start) {
			struct ch_range before = piece;

			before.end = covered->start;
			err = range_list_add(out, &before);
			if (err)
				return err;
		}
		if (covered->end >= piece.end)
			return NULL;
		piece.data += covered->end - piece.start;
		piece.start = covered->end;
	}
	if (piece.start < piece.end)
		return range_list_add(out, &piece);
	return NULL;
}

// The file part of each PT_LOAD of a module's binary, at run-time addresses.
static struct ch_error *add_module_file(struct range_list *out,
					const struct ch_range *core_ranges,
					size_t num_core,
					struct ch_module *module)
{
	Elf *elf = ch_module_elf(module);
	const uint8_t *image;
	size_t image_size, phnum;
	struct ch_error *err;

	if (!elf || elf_getphdrnum(elf, &phnum) != 0)
		return NULL;
	image = (const uint8_t *)elf_rawfile(elf, &image_size);
	if (!image)
		return NULL;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;
		struct ch_range piece;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD ||
		    phdr.p_filesz == 0 || phdr.p_offset >= image_size ||
		    phdr.p_filesz > image_size - phdr.p_offset)
			continue;
		piece = (struct ch_range){
			.start = phdr.p_vaddr + module->bias,
			.end = phdr.p_vaddr + module->bias + phdr.p_filesz,
			.data = image + phdr.p_offset,
			.source = CH_RANGE_FILE,
			.writable = phdr.p_flags & PF_W,
			.executable = phdr.p_flags & PF_X,
		};
		if (piece.end < piece.start)
			continue;
		err = add_uncovered(out, core_ranges, num_core, piece);
		if (err)
			return err;
	}
	return NULL;
}

const struct ch_range *ch_address_space_range_after(const struct ch_address_space *as,
						    uint64_t addr)
{
	size_t lo = 0, hi = as->num_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (as->ranges[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < as->num_ranges ? &as->ranges[lo] : NULL;
}

static struct ch_error *build_mappings(const struct ch_core *core,
				       struct ch_address_space *as)
{
	as->mappings = calloc(core->num_segments + 1, sizeof(*as->mappings));
	if (!as->mappings)
		return &ch_enomem;
	for (size_t i = 0; i < core->num_segments; i++) {
		const struct ch_core_segment *seg = &core->segments[i];
		const struct ch_core_file *file = ch_core_file_at(core, seg->start);
		struct ch_mapping *mapping = &as->mappings[as->num_mappings];
		uint64_t addr = seg->start;

		if (seg->size == 0)
			continue;
		mapping->start = seg->start;
		mapping->end = seg->start + seg->size;
		mapping->flags = seg->flags;
		mapping->file = file ? file->path : NULL;
		// Count the readable bytes from the start, whatever their source.
		while (addr < mapping->end) {
			const struct ch_range *range =
				ch_address_space_range(as, addr);

			if (!range)
				break;
			addr = range->end;
		}
		mapping->available = (addr < mapping->end ? addr : mapping->end) -
				     mapping->start;
		as->num_mappings++;
	}
	return NULL;
}

/*
 * What a truncated core promised and lacks, less what the binaries give
 * back: segments are sorted, ranges sorted and disjoint; overlapping
 * segments (a hostile core) are clipped to what an earlier one left.
 */
static struct ch_error *build_lost(const struct ch_core *core,
				   struct ch_address_space *as)
{
	size_t capacity = 0;
	uint64_t covered = 0;

	for (size_t i = 0; i < core->num_segments; i++) {
		const struct ch_core_segment *seg = &core->segments[i];
		uint64_t addr = seg->start + seg->available;
		uint64_t end = seg->start + seg->promised;

		if (addr < covered)
			addr = covered;
		while (addr < end) {
			const struct ch_range *range =
				ch_address_space_range_after(as, addr);
			uint64_t piece_end = end;
			struct ch_error *err;

			if (range && range->start <= addr) {
				addr = range->end;
				continue;
			}
			if (range && range->start < end)
				piece_end = range->start;
			err = ch_vector_reserve_one((void **)&as->lost, &capacity,
						    sizeof(*as->lost),
						    as->num_lost);
			if (err)
				return err;
			as->lost[as->num_lost++] = (struct ch_address_interval){
				addr, piece_end
			};
			addr = piece_end;
		}
		if (end > covered)
			covered = end;
	}
	return NULL;
}

struct ch_error *ch_address_space_create(const struct ch_core *core,
					 struct ch_modules *modules,
					 struct ch_address_space **ret)
{
	struct range_list core_list = { 0 }, all = { 0 };
	struct ch_address_space *as;
	struct ch_error *err = NULL;

	as = calloc(1, sizeof(*as));
	if (!as)
		return &ch_enomem;
	for (size_t i = 0; !err && i < core->num_segments; i++) {
		const struct ch_core_segment *seg = &core->segments[i];

		if (seg->available == 0)
			continue;
		err = range_list_add(&core_list, &(struct ch_range){
			.start = seg->start,
			.end = seg->start + seg->available,
			.data = seg->data,
			.source = CH_RANGE_CORE,
			.writable = seg->flags & PF_W,
			.executable = seg->flags & PF_X,
		});
	}
	// Segments are sorted; overlapping ones (a hostile core) are clipped
	// so that lookups stay a binary search.
	for (size_t i = 1; !err && i < core_list.len; i++) {
		struct ch_range *prev = &core_list.ranges[i - 1];
		struct ch_range *cur = &core_list.ranges[i];

		if (cur->start < prev->end) {
			uint64_t skip = prev->end - cur->start;

			if (skip >= cur->end - cur->start) {
				cur->data += cur->end - cur->start;
				cur->start = cur->end = prev->end;
			} else {
				cur->data += skip;
				cur->start = prev->end;
			}
		}
	}
	for (size_t i = 0; !err && i < core_list.len; i++) {
		if (core_list.ranges[i].start < core_list.ranges[i].end)
			err = range_list_add(&all, &core_list.ranges[i]);
	}
	for (size_t i = 0; !err && modules && i < modules->num_modules; i++)
		err = add_module_file(&all, core_list.ranges, core_list.len,
				      &modules->modules[i]);
	free(core_list.ranges);
	if (err) {
		free(all.ranges);
		free(as);
		return err;
	}
	ch_sort(all.ranges, all.len, sizeof(*all.ranges), compare_ranges);
	// Two binaries claiming the same addresses: keep the first.
	size_t kept = 0;

	for (size_t i = 0; i < all.len; i++) {
		if (kept && all.ranges[i].start < all.ranges[kept - 1].end)
			continue;
		all.ranges[kept++] = all.ranges[i];
	}
	as->ranges = all.ranges;
	as->num_ranges = kept;
	err = build_mappings(core, as);
	if (!err)
		err = build_lost(core, as);
	if (err) {
		ch_address_space_destroy(as);
		return err;
	}
	*ret = as;
	return NULL;
}

void ch_address_space_destroy(struct ch_address_space *as)
{
	if (!as)
		return;
	free(as->ranges);
	free(as->mappings);
	free(as->lost);
	free(as);
}

uint64_t ch_address_space_lost_bytes(const struct ch_address_space *as,
				     uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = as->num_lost;
	uint64_t bytes = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (as->lost[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < as->num_lost && as->lost[i].start < end; i++) {
		uint64_t a = as->lost[i].start > start ? as->lost[i].start : start;
		uint64_t b = as->lost[i].end < end ? as->lost[i].end : end;

		bytes += b - a;
	}
	return bytes;
}

void ch_address_space_count(const struct ch_address_space *as, uint64_t start,
			    uint64_t end, struct ch_address_bytes *ret)
{
	const struct ch_range *range = ch_address_space_range_after(as, start);
	const struct ch_range *last;
	uint64_t readable;

	*ret = (struct ch_address_bytes){ 0 };
	if (end <= start)
		return;
	// No ranges, no array to point past (NULL + 0 is undefined in C).
	last = as->num_ranges ? as->ranges + as->num_ranges : NULL;
	for (; range && range < last && range->start < end; range++) {
		uint64_t a = range->start > start ? range->start : start;
		uint64_t b = range->end < end ? range->end : end;

		if (range->source == CH_RANGE_CORE)
			ret->in_core += b - a;
		else
			ret->from_files += b - a;
	}
	readable = ret->in_core + ret->from_files;
	ret->lost = ch_address_space_lost_bytes(as, start, end);
	// Lost bytes are never readable; the rest was left out on purpose.
	if (ret->lost > end - start - readable)
		ret->lost = end - start - readable;
	ret->left_out = end - start - readable - ret->lost;
}

const struct ch_range *ch_address_space_range(const struct ch_address_space *as,
					      uint64_t addr)
{
	size_t lo = 0, hi = as->num_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ch_range *range = &as->ranges[mid];

		if (addr < range->start)
			hi = mid;
		else if (addr >= range->end)
			lo = mid + 1;
		else
			return range;
	}
	return NULL;
}

static bool read_pieces(const struct ch_address_space *as, uint64_t addr,
			void *buf, size_t len, uint64_t *fault_ret)
{
	uint8_t *out = buf;

	while (len > 0) {
		const struct ch_range *range = ch_address_space_range(as, addr);
		size_t n;

		if (!range) {
			*fault_ret = addr;
			return false;
		}
		n = range->end - addr < len ? range->end - addr : len;
		memcpy(out, range->data + (addr - range->start), n);
		out += n;
		addr += n;
		len -= n;
		if (len && addr == 0) {
			*fault_ret = 0;
			return false;
		}
	}
	return true;
}

bool ch_address_space_read_quiet(const struct ch_address_space *as,
				 uint64_t addr, void *buf, size_t len)
{
	uint64_t fault;

	return read_pieces(as, addr, buf, len, &fault);
}

struct ch_error *ch_address_space_read(const struct ch_address_space *as,
				       uint64_t addr, void *buf, size_t len)
{
	uint64_t fault;

	if (read_pieces(as, addr, buf, len, &fault))
		return NULL;
	return ch_error_fault(fault, ch_address_space_mapping(as, fault) ?
					     "not saved in the core" :
					     "not mapped in the process");
}

const struct ch_mapping *ch_address_space_mapping(const struct ch_address_space *as,
						  uint64_t addr)
{
	size_t lo = 0, hi = as->num_mappings;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ch_mapping *mapping = &as->mappings[mid];

		if (addr < mapping->start)
			hi = mid;
		else if (addr >= mapping->end)
			lo = mid + 1;
		else
			return mapping;
	}
	return NULL;
}
