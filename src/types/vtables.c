// SPDX-License-Identifier: MIT
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/demangle.h"
#include "base/hash_map.h"
#include "base/sort.h"
#include "base/sorted_u64.h"
#include "base/vector.h"
#include "types/vtables.h"

#define VTABLE_PREFIX "_ZTV"
#define CACHE_SIZE 4096
// Longest mangled type name read from a core's RTTI.
#define MAX_MANGLED 1024
// Bound on RTTI base-class walks (a damaged core may loop).
#define MAX_BASE_DEPTH 16
#define MAX_VMI_BASES 64

// The vtables of libstdc++'s type_info classes: a type_info object's first
// word is one of their address points, which tells RTTI apart from data.
static const char *const typeinfo_vtable_names[] = {
	"_ZTVN10__cxxabiv117__class_type_infoE",
	"_ZTVN10__cxxabiv120__si_class_type_infoE",
	"_ZTVN10__cxxabiv121__vmi_class_type_infoE",
};

enum typeinfo_kind { TI_CLASS, TI_SI_CLASS, TI_VMI_CLASS, NUM_TI_KINDS };

struct vtable_range {
	uint64_t start, end;
	uint32_t class_index;
};

struct cache_entry {
	uint64_t word;
	uint32_t class_index;
};

/*
 * At most this many spans hold every vtable range and, when RTTI can name a
 * class, every module: a word outside them all (a heap pointer, most
 * blocks' first word) is told apart by a few comparisons instead of a
 * binary search over the ranges and another over the modules.
 */
#define MAX_CANDIDATE_SPANS 8

struct ch_vtables {
	struct ch_program *program;
	struct vtable_range *ranges;
	size_t num_ranges, ranges_capacity;
	/** Bounds of all ranges: most words fall outside. */
	uint64_t lo, hi;
	/** Where a vtable's word can be (see MAX_CANDIDATE_SPANS), by start. */
	struct ch_u64_span candidate_spans[MAX_CANDIDATE_SPANS];
	size_t num_candidate_spans;
	struct ch_vtable_class *classes;
	size_t num_classes, classes_capacity;
	/** Mangled type name -> class index. */
	struct ch_name_map by_mangled;
	/** Address points of the type_info vtables, 0 if unknown. */
	uint64_t typeinfo_vtables[NUM_TI_KINDS];
	bool have_rtti_vtables;
	struct cache_entry cache[CACHE_SIZE];
};

static struct ch_error *intern_class(struct ch_vtables *vtables,
				    const char *mangled, uint32_t *ret)
{
	struct ch_vtable_class *class;
	uint32_t index;
	struct ch_error *err;

	if (ch_name_map_get(&vtables->by_mangled, mangled, &index)) {
		*ret = index;
		return NULL;
	}
	err = ch_vector_reserve_one((void **)&vtables->classes,
				    &vtables->classes_capacity,
				    sizeof(*vtables->classes),
				    vtables->num_classes);
	if (err)
		return err;
	class = &vtables->classes[vtables->num_classes];
	*class = (struct ch_vtable_class){ .mangled = strdup(mangled) };
	if (!class->mangled)
		return &ch_enomem;
	// The map keeps the key by pointer: the class's own copy.
	index = vtables->num_classes++;
	*ret = index;
	return ch_name_map_put(&vtables->by_mangled, class->mangled, index);
}

struct collect_arg {
	struct ch_vtables *vtables;
	struct ch_error *err;
};

static bool collect_symbol(const char *name,
			   const struct ch_module_symbol *symbol, int elf_type,
			   void *varg)
{
	struct collect_arg *arg = varg;
	struct ch_vtables *vtables = arg->vtables;
	struct vtable_range *range;
	uint32_t class_index;

	if (strncmp(name, VTABLE_PREFIX, strlen(VTABLE_PREFIX)) != 0 ||
	    elf_type != STT_OBJECT || symbol->size < 16)
		return true;
	for (int kind = 0; kind < NUM_TI_KINDS; kind++) {
		if (strcmp(name, typeinfo_vtable_names[kind]) == 0) {
			// The address point: past offset-to-top and RTTI.
			vtables->typeinfo_vtables[kind] = symbol->address + 16;
			vtables->have_rtti_vtables = true;
		}
	}
	arg->err = intern_class(vtables, name + strlen(VTABLE_PREFIX),
				&class_index);
	if (arg->err)
		return false;
	arg->err = ch_vector_reserve_one((void **)&vtables->ranges,
					 &vtables->ranges_capacity,
					 sizeof(*vtables->ranges),
					 vtables->num_ranges);
	if (arg->err)
		return false;
	range = &vtables->ranges[vtables->num_ranges++];
	*range = (struct vtable_range){
		.start = symbol->address,
		.end = symbol->address + symbol->size,
		.class_index = class_index,
	};
	return true;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct vtable_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static struct ch_error *make_candidate_spans(struct ch_vtables *vtables)
{
	const struct ch_modules *modules = vtables->program->modules;
	size_t n = 0, most = vtables->num_ranges +
			    (vtables->have_rtti_vtables ? modules->num_modules : 0);
	_cleanup_free_ struct ch_u64_span *spans =
		malloc((most + 1) * sizeof(*spans));
	struct ch_error *err;

	if (!spans)
		return &ch_enomem;
	// A range whose end wrapped matches no word (find_range()).
	for (size_t i = 0; i < vtables->num_ranges; i++) {
		if (vtables->ranges[i].start < vtables->ranges[i].end)
			spans[n++] = (struct ch_u64_span){
				vtables->ranges[i].start, vtables->ranges[i].end
			};
	}
	for (size_t i = 0; vtables->have_rtti_vtables &&
			   i < modules->num_modules; i++) {
		const struct ch_module *module = &modules->modules[i];

		if (module->start < module->end)
			spans[n++] = (struct ch_u64_span){ module->start,
							   module->end };
	}
	err = ch_cover_u64_spans(spans, n, MAX_CANDIDATE_SPANS, &n);
	if (err)
		return err;
	memcpy(vtables->candidate_spans, spans, n * sizeof(*spans));
	vtables->num_candidate_spans = n;
	return NULL;
}

struct ch_error *ch_vtables_create(struct ch_program *program,
				   struct ch_vtables **ret)
{
	struct ch_vtables *vtables = calloc(1, sizeof(*vtables));
	struct collect_arg arg = { .vtables = vtables };
	const struct ch_modules *modules = program->modules;

	if (!vtables)
		return &ch_enomem;
	vtables->program = program;
	for (size_t i = 0; i < modules->num_modules && !arg.err; i++) {
		if (modules->modules[i].has_binary)
			ch_module_for_each_symbol(&modules->modules[i],
						  collect_symbol, &arg);
	}
	if (arg.err) {
		ch_vtables_destroy(vtables);
		return arg.err;
	}
	ch_sort(vtables->ranges, vtables->num_ranges, sizeof(*vtables->ranges),
		compare_ranges);
	if (vtables->num_ranges) {
		vtables->lo = vtables->ranges[0].start;
		for (size_t i = 0; i < vtables->num_ranges; i++) {
			if (vtables->ranges[i].end > vtables->hi)
				vtables->hi = vtables->ranges[i].end;
		}
	}
	arg.err = make_candidate_spans(vtables);
	if (arg.err) {
		ch_vtables_destroy(vtables);
		return arg.err;
	}
	*ret = vtables;
	return NULL;
}

void ch_vtables_destroy(struct ch_vtables *vtables)
{
	if (!vtables)
		return;
	for (size_t i = 0; i < vtables->num_classes; i++) {
		struct ch_vtable_class *class = &vtables->classes[i];

		free(class->name);
		free(class->mangled);
		for (size_t j = 0; j < class->num_bases_at_zero; j++)
			free(class->bases_at_zero[j]);
		free(class->bases_at_zero);
	}
	free(vtables->classes);
	free(vtables->ranges);
	ch_name_map_deinit(&vtables->by_mangled);
	free(vtables);
}

bool ch_vtables_empty(const struct ch_vtables *vtables)
{
	return vtables->num_ranges == 0 && !vtables->have_rtti_vtables;
}

size_t ch_vtables_num_classes(const struct ch_vtables *vtables)
{
	return vtables->num_classes;
}

struct ch_vtable_class *ch_vtables_class(struct ch_vtables *vtables,
					 uint32_t index)
{
	return index < vtables->num_classes ? &vtables->classes[index] : NULL;
}

static bool in_candidate_spans(const struct ch_vtables *vtables,
			       uint64_t word)
{
	for (size_t i = 0; i < vtables->num_candidate_spans; i++) {
		const struct ch_u64_span *span = &vtables->candidate_spans[i];

		if (word - span->start < span->end - span->start)
			return true;
	}
	return false;
}

static const struct vtable_range *find_range(const struct ch_vtables *vtables,
					     uint64_t addr)
{
	size_t lo = 0, hi = vtables->num_ranges;

	if (addr < vtables->lo || addr >= vtables->hi)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vtables->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	// Symbols may nest (aliases); the nearest start is checked only.
	if (lo == 0 || addr >= vtables->ranges[lo - 1].end)
		return NULL;
	return &vtables->ranges[lo - 1];
}

static bool read_word(const struct ch_vtables *vtables, uint64_t addr,
		      uint64_t *ret)
{
	return ch_address_space_read_u64(vtables->program->address_space, addr,
					 ret);
}

/*
 * The NUL-terminated string at addr, if it lies in one readable range and
 * is shorter than MAX_MANGLED: a pointer into the core, valid while the
 * program is open. A type_info's name may carry a leading '*' (GCC marks
 * types local to a translation unit so); it is skipped.
 */
static const char *read_mangled(const struct ch_vtables *vtables,
				uint64_t addr)
{
	const struct ch_range *range =
		ch_address_space_range(vtables->program->address_space, addr);
	const char *s, *nul;
	uint64_t avail;

	if (!range)
		return NULL;
	s = (const char *)range->data + (addr - range->start);
	avail = range->end - addr;
	nul = memchr(s, '\0', avail < MAX_MANGLED ? avail : MAX_MANGLED);
	if (!nul || nul == s)
		return NULL;
	return *s == '*' ? s + 1 : s;
}

static bool is_typeinfo_vtable(const struct ch_vtables *vtables, uint64_t word,
			       enum typeinfo_kind *kind_ret)
{
	for (int kind = 0; kind < NUM_TI_KINDS; kind++) {
		if (word && word == vtables->typeinfo_vtables[kind]) {
			if (kind_ret)
				*kind_ret = kind;
			return true;
		}
	}
	return false;
}

static struct ch_error *demangle_class(struct ch_vtable_class *class)
{
	if (!class->name) {
		class->name = ch_demangle(class->mangled);
		// Not demangleable: keep the mangled name, still a name.
		if (!class->name)
			class->name = strdup(class->mangled);
		if (!class->name)
			return &ch_enomem;
	}
	return NULL;
}

/*
 * word lies in the vtable symbol of class: it is an object's vtable pointer
 * at the object's start only if it is an address point whose offset-to-top
 * is 0, and whose RTTI, if any and readable, names that class.
 */
static bool is_primary_address_point(const struct ch_vtables *vtables,
				     const struct vtable_range *range,
				     uint64_t word, uint64_t *typeinfo_ret)
{
	const struct ch_vtable_class *class =
		&vtables->classes[range->class_index];
	uint64_t offset_to_top, typeinfo, name_addr;
	const char *name;

	*typeinfo_ret = 0;
	if (word - range->start < 16 || (word - range->start) % 8 != 0)
		return false;
	if (!read_word(vtables, word - 16, &offset_to_top) || offset_to_top)
		return false;
	if (!read_word(vtables, word - 8, &typeinfo))
		return false;
	if (!typeinfo)
		return true; // built with -fno-rtti
	if (!read_word(vtables, typeinfo + 8, &name_addr))
		return true; // RTTI not in the core: the symbol says enough
	name = read_mangled(vtables, name_addr);
	if (!name || strcmp(name, class->mangled) != 0)
		return false;
	*typeinfo_ret = typeinfo;
	return true;
}

// A word with no vtable symbol around it: try it as a stripped binary's.
static struct ch_error *lookup_by_rtti(struct ch_vtables *vtables,
				       uint64_t word, uint32_t *class_ret)
{
	uint64_t offset_to_top, typeinfo, typeinfo_vtable, name_addr;
	const char *mangled;
	char *demangled;
	struct ch_error *err;

	*class_ret = CH_VTABLE_NONE;
	if (!read_word(vtables, word - 16, &offset_to_top) || offset_to_top ||
	    !read_word(vtables, word - 8, &typeinfo) || !typeinfo ||
	    typeinfo % 8 ||
	    !ch_modules_find_by_address(vtables->program->modules, typeinfo) ||
	    !read_word(vtables, typeinfo, &typeinfo_vtable) ||
	    !is_typeinfo_vtable(vtables, typeinfo_vtable, NULL) ||
	    !read_word(vtables, typeinfo + 8, &name_addr))
		return NULL;
	mangled = read_mangled(vtables, name_addr);
	if (!mangled)
		return NULL;
	// Only a name the demangler takes is a type name.
	demangled = ch_demangle(mangled);
	if (!demangled)
		return NULL;
	free(demangled);
	err = intern_class(vtables, mangled, class_ret);
	if (err)
		return err;
	if (!vtables->classes[*class_ret].typeinfo)
		vtables->classes[*class_ret].typeinfo = typeinfo;
	return NULL;
}

struct ch_error *ch_vtables_lookup(struct ch_vtables *vtables, uint64_t word,
				   uint32_t *class_ret)
{
	const struct vtable_range *range;
	struct cache_entry *entry;
	uint32_t class_index = CH_VTABLE_NONE;
	struct ch_error *err;

	*class_ret = CH_VTABLE_NONE;
	if (!word || word % 8 || !in_candidate_spans(vtables, word))
		return NULL;
	range = find_range(vtables, word);
	// Most words are data or heap pointers: reject them before the cache.
	if (!range && (!vtables->have_rtti_vtables ||
		       !ch_modules_find_by_address(vtables->program->modules,
						   word)))
		return NULL;
	entry = &vtables->cache[(word >> 3) % CACHE_SIZE];
	if (entry->word == word) {
		*class_ret = entry->class_index;
		return NULL;
	}
	if (range) {
		uint64_t typeinfo;

		if (is_primary_address_point(vtables, range, word, &typeinfo)) {
			class_index = range->class_index;
			if (typeinfo && !vtables->classes[class_index].typeinfo)
				vtables->classes[class_index].typeinfo = typeinfo;
		}
	} else {
		err = lookup_by_rtti(vtables, word, &class_index);
		if (err)
			return err;
	}
	if (class_index != CH_VTABLE_NONE) {
		struct ch_vtable_class *class = &vtables->classes[class_index];

		err = demangle_class(class);
		if (err)
			return err;
		if (!class->vtable)
			class->vtable = word;
	}
	entry->word = word;
	entry->class_index = class_index;
	*class_ret = class_index;
	return NULL;
}

static struct ch_error *add_base(struct ch_vtable_class *class,
				 const char *mangled)
{
	char **grown, *name = ch_demangle(mangled);

	if (!name)
		return NULL;
	grown = realloc(class->bases_at_zero,
			(class->num_bases_at_zero + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return &ch_enomem;
	}
	class->bases_at_zero = grown;
	class->bases_at_zero[class->num_bases_at_zero++] = name;
	return NULL;
}

/*
 * The Itanium C++ ABI's type_info layouts: __si_class_type_info is
 * {vptr, name, base}; __vmi_class_type_info is {vptr, name, u32 flags,
 * u32 base_count, {base, long offset_flags}[]}, where offset_flags holds
 * the base's offset above 8 bits and 1 for a virtual base.
 */
static struct ch_error *walk_bases(struct ch_vtables *vtables,
				   struct ch_vtable_class *class,
				   uint64_t typeinfo, int depth)
{
	enum typeinfo_kind kind;
	uint64_t vptr, base, name_addr, counts;
	uint32_t num_bases;
	struct ch_error *err;

	if (depth > MAX_BASE_DEPTH || !read_word(vtables, typeinfo, &vptr) ||
	    !is_typeinfo_vtable(vtables, vptr, &kind))
		return NULL;
	if (kind == TI_SI_CLASS) {
		if (!read_word(vtables, typeinfo + 16, &base) ||
		    !read_word(vtables, base + 8, &name_addr))
			return NULL;
		err = add_base(class, read_mangled(vtables, name_addr));
		if (err)
			return err;
		return walk_bases(vtables, class, base, depth + 1);
	}
	if (kind != TI_VMI_CLASS || !read_word(vtables, typeinfo + 16, &counts))
		return NULL;
	num_bases = counts >> 32;
	for (uint32_t i = 0; i < num_bases && i < MAX_VMI_BASES; i++) {
		uint64_t offset_flags;

		if (!read_word(vtables, typeinfo + 24 + 16 * i, &base) ||
		    !read_word(vtables, typeinfo + 32 + 16 * i, &offset_flags))
			return NULL;
		if ((offset_flags & 1) || ((int64_t)offset_flags >> 8) != 0 ||
		    !read_word(vtables, base + 8, &name_addr))
			continue;
		err = add_base(class, read_mangled(vtables, name_addr));
		if (!err)
			err = walk_bases(vtables, class, base, depth + 1);
		if (err)
			return err;
	}
	return NULL;
}

struct ch_error *ch_vtables_bases_at_zero(struct ch_vtables *vtables,
					  uint32_t index)
{
	struct ch_vtable_class *class = ch_vtables_class(vtables, index);

	if (!class || class->bases_known)
		return NULL;
	class->bases_known = true;
	if (!class->typeinfo || !vtables->have_rtti_vtables)
		return NULL;
	return walk_bases(vtables, class, class->typeinfo, 0);
}
