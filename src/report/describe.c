// SPDX-License-Identifier: MIT
#include <dwarf.h>
#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "base/strbuf.h"
#include "base/vector.h"
#include "graph/roots.h"
#include "report/describe.h"

#define MAX_STRING_SHOWN 64

DEFINE_VECTOR(field_vector, struct ch_field);

struct builder {
	const struct ch_describe_options *options;
	struct ch_program *program;
	struct ch_types *types;
	struct field_vector fields;
	/** Fields left to show. */
	uint64_t budget;
	/** The first failure (out of memory): building stops there. */
	struct ch_error *err;
	/** The roots, to name stack addresses; made the first time one is seen. */
	struct ch_roots *roots;
	bool roots_made;
};

static void fail(struct builder *b, struct ch_error *err)
{
	if (!b->err)
		b->err = err;
	else
		ch_error_destroy(err);
	b->budget = 0;
}

/*
 * module!symbol+0xoffset (symbol demangled), or module+0xoffset without a
 * symbol, malloc'd (ch_modules_name_address()); NULL if addr is in no
 * module (or out of memory).
 */
static char *name_module_address(struct ch_program *program, uint64_t addr)
{
	struct ch_strbuf name = { 0 };
	struct ch_error *err;

	if (!ch_modules_find_by_address(program->modules, addr))
		return NULL;
	err = ch_modules_name_address(program->modules, addr,
				      CH_NAME_MODULE | CH_NAME_OFFSET, &name);
	if (err) {
		ch_error_destroy(err);
		ch_strbuf_deinit(&name);
		return NULL;
	}
	return ch_strbuf_detach(&name);
}

// Names were cut at 511 bytes when they were built in a buffer: keep that.
static char *cut_name(char *name)
{
	if (name && strlen(name) > 511)
		name[511] = '\0';
	return name;
}

/*
 * The thread whose stack holds addr: the mapping holding its stack pointer
 * holds addr, at or above the stack pointer (below it is dead space).
 */
static bool find_stack(struct ch_program *program, uint64_t addr,
		       int32_t *tid_ret, uint64_t *above_sp_ret)
{
	const struct ch_core *core = program->core;
	const struct ch_mapping *mapping =
		ch_address_space_mapping(program->address_space, addr);

	if (!mapping)
		return false;
	for (size_t i = 0; i < core->num_threads; i++) {
		uint64_t sp = core->threads[i].regs[CH_REG_RSP];

		if (sp >= mapping->start && sp < mapping->end && addr >= sp) {
			*tid_ret = core->threads[i].tid;
			*above_sp_ret = addr - sp;
			return true;
		}
	}
	return false;
}

/*
 * A stack address as the roots name it: "tid 4242 frame 1 worker (local
 * item)", or "... (sp+0x10)" where DWARF names no local there. NULL if no
 * live stack holds addr (or out of memory: the builder failed).
 */
static char *name_stack_address(struct builder *b, uint64_t addr)
{
	struct ch_strbuf name = { 0 };
	struct ch_error *err;

	if (!b->roots_made) {
		b->roots_made = true;
		err = ch_roots_create(b->program, &b->roots);
		// A core too damaged for roots: its stacks go unnamed, the rest
		// of the description stands.
		if (err && err->code != CH_ERROR_NOMEM) {
			ch_program_warn(b->program, true,
					"stack addresses are not named: %s",
					err->message);
			ch_error_destroy(err);
			b->roots = NULL;
		} else if (err) {
			fail(b, err);
			b->roots = NULL;
		}
	}
	if (!b->roots)
		return NULL;
	for (size_t i = 0; i < b->roots->num_roots; i++) {
		const struct ch_root *root = &b->roots->roots[i];

		if (root->kind != CH_ROOT_STACK ||
		    root->source != CH_ROOT_THREAD_STACK ||
		    addr < root->start || addr >= root->end)
			continue;
		err = ch_roots_describe(b->roots, b->program, i, addr, &name);
		if (err) {
			fail(b, err);
			ch_strbuf_deinit(&name);
			return NULL;
		}
		return ch_strbuf_detach(&name);
	}
	return NULL;
}

static void find_target(struct builder *b, uint64_t value,
			struct ch_pointer_target *target)
{
	const struct ch_heap *heap = &b->program->heap;
	const struct ch_block *block = ch_heap_find(heap, value);

	*target = (struct ch_pointer_target){ .kind = CH_TARGET_NONE };
	if (!value)
		return;
	if (block) {
		target->kind = CH_TARGET_ALLOCATION;
		target->allocation = block->address;
		target->offset = value - block->address;
		target->type = ch_heap_block_type(heap, block - heap->live.blocks,
						  NULL);
	} else {
		target->symbol = cut_name(name_module_address(b->program, value));
		if (target->symbol)
			target->kind = CH_TARGET_MODULE;
		else if (find_stack(b->program, value, &target->tid,
				    &target->above_sp)) {
			target->kind = CH_TARGET_STACK;
			target->symbol = cut_name(name_stack_address(b, value));
		}
	}
}

static const char *type_name(struct builder *b, Dwarf_Die *type_die)
{
	uint32_t id;
	struct ch_error *err = ch_dwarf_types_of_die(b->types->dwarf, type_die,
						     &id);
	const struct ch_dtype *dtype;

	if (err) {
		ch_error_destroy(err);
		return "?";
	}
	dtype = ch_dwarf_type(b->types->dwarf, id);
	return dtype ? dtype->name : "void";
}

// An enumerator's value as "NAME (n)", if the enumeration names u.
static bool format_enumerator(Dwarf_Die *type, uint64_t u, int64_t s,
			      char *buf, size_t buf_size)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child) != 0)
		return false;
	do {
		Dwarf_Attribute attr;
		Dwarf_Sword value;

		if (dwarf_tag(&child) == DW_TAG_enumerator &&
		    dwarf_attr(&child, DW_AT_const_value, &attr) &&
		    dwarf_formsdata(&attr, &value) == 0 &&
		    (uint64_t)value == u) {
			snprintf(buf, buf_size, "%s (%" PRId64 ")",
				 dwarf_diename(&child), s);
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static void format_float(const uint8_t *bytes, size_t size, char *buf,
			 size_t buf_size)
{
	if (size == 4) {
		float f;

		memcpy(&f, bytes, 4);
		snprintf(buf, buf_size, "%g", f);
	} else if (size == 8) {
		double f;

		memcpy(&f, bytes, 8);
		snprintf(buf, buf_size, "%g", f);
	} else {
		snprintf(buf, buf_size, "<%zu-byte float>", size);
	}
}

// A scalar's value as text: integers, floats, bools, chars, enumerators.
static void format_scalar(Dwarf_Die *type, const uint8_t *bytes, size_t size,
			  char *buf, size_t buf_size)
{
	uint64_t encoding = ch_die_udata(type, DW_AT_encoding, DW_ATE_unsigned);
	uint64_t u = 0;
	int64_t s;

	memcpy(&u, bytes, size < 8 ? size : 8);
	s = size && size < 8 && (u >> (8 * size - 1)) & 1 ?
		    (int64_t)(u | ~((UINT64_C(1) << (8 * size)) - 1)) :
		    (int64_t)u;
	if (dwarf_tag(type) == DW_TAG_enumeration_type) {
		if (!format_enumerator(type, u, s, buf, buf_size))
			snprintf(buf, buf_size, "%" PRId64, s);
		return;
	}
	switch (encoding) {
	case DW_ATE_boolean:
		snprintf(buf, buf_size, "%s", u ? "true" : "false");
		break;
	case DW_ATE_float:
		format_float(bytes, size, buf, buf_size);
		break;
	case DW_ATE_signed:
		snprintf(buf, buf_size, "%" PRId64, s);
		break;
	case DW_ATE_signed_char:
	case DW_ATE_unsigned_char:
		if (u >= 0x20 && u < 0x7f)
			snprintf(buf, buf_size, "%" PRId64 " '%c'",
				 encoding == DW_ATE_signed_char ? s : (int64_t)u,
				 (int)u);
		else
			snprintf(buf, buf_size, "%" PRId64,
				 encoding == DW_ATE_signed_char ? s : (int64_t)u);
		break;
	default:
		if (size > 8)
			snprintf(buf, buf_size, "<%zu bytes>", size);
		else
			snprintf(buf, buf_size, "%" PRIu64, u);
		break;
	}
}

// Bytes at addr, or false if they are not all in the core.
static bool read_bytes(struct builder *b, uint64_t addr, void *buf,
		       size_t size)
{
	return ch_address_space_read_quiet(b->program->address_space, addr, buf,
					   size);
}

/*
 * Up to MAX_STRING_SHOWN characters at addr, escaped, into buf. A string in
 * a live allocation ends at the allocation's end at the latest: past it
 * lie the allocator's header of the next block and another object's bytes,
 * not more of the string.
 */
static bool read_string(struct builder *b, uint64_t addr, size_t max,
			char *buf, size_t size)
{
	const struct ch_block *block = ch_heap_find(&b->program->heap, addr);
	size_t n = 0;

	if (max > MAX_STRING_SHOWN)
		max = MAX_STRING_SHOWN;
	if (block && block->address + ch_block_size(block) - addr < max)
		max = block->address + ch_block_size(block) - addr;
	for (size_t i = 0; i < max && n + 5 < size; i++) {
		uint8_t c;

		if (!read_bytes(b, addr + i, &c, 1))
			return false;
		if (!c)
			break;
		if (c == '"' || c == '\\')
			n += snprintf(buf + n, size - n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			n += snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = c;
	}
	buf[n] = '\0';
	return true;
}

/* The fields, in the order they are shown. */

static struct ch_field *push_field(struct builder *b, enum ch_field_kind kind,
				   int depth, uint64_t offset,
				   const char *type, const char *name)
{
	struct ch_field *field;
	struct ch_error *err;

	if (b->err)
		return NULL;
	err = field_vector_append_entry(&b->fields, &field);
	if (err) {
		fail(b, err);
		return NULL;
	}
	*field = (struct ch_field){
		.kind = kind,
		.depth = depth,
		.offset = offset,
		.type = type,
	};
	if (name) {
		field->name = strdup(name);
		if (!field->name) {
			fail(b, &ch_enomem);
			return NULL;
		}
	}
	return field;
}

// A value; it takes target's symbol (freed here if it cannot be kept).
static void push_value(struct builder *b, int depth, const char *path,
		       const char *name, uint64_t offset, const char *type,
		       const char *value, struct ch_pointer_target *target)
{
	struct ch_field *field = push_field(b, CH_FIELD_VALUE, depth, offset,
					    type, name);

	if (!field) {
		if (target)
			free(target->symbol);
		return;
	}
	if (target) {
		field->has_target = true;
		field->target = *target;
	}
	field->path = strdup(path);
	field->value = strdup(value);
	if (!field->path || !field->value)
		fail(b, &ch_enomem);
}

static void push_end(struct builder *b, int depth)
{
	push_field(b, CH_FIELD_END, depth, 0, NULL, NULL);
}

// "path.name", or name at the top; NULL (and the builder failed) without memory.
static char *member_path(struct builder *b, const char *path, const char *sep,
			 const char *name)
{
	char *joined;

	if (asprintf(&joined, "%s%s%s", path, *path ? sep : "", name) < 0) {
		fail(b, &ch_enomem);
		return NULL;
	}
	return joined;
}

static void describe_value(struct builder *b, Dwarf_Die *type_die,
			   uint64_t addr, uint64_t offset, const char *name,
			   const char *path, int depth);

static bool is_char_type(Dwarf_Die *die)
{
	uint64_t encoding = ch_die_udata(die, DW_AT_encoding, 0);

	return dwarf_tag(die) == DW_TAG_base_type &&
	       ch_die_udata(die, DW_AT_byte_size, 0) == 1 &&
	       (encoding == DW_ATE_signed_char || encoding == DW_ATE_unsigned_char);
}

static bool has_data_members(Dwarf_Die *type)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);

		if ((tag == DW_TAG_member || tag == DW_TAG_inheritance) &&
		    !dwarf_hasattr(&child, DW_AT_declaration) &&
		    !dwarf_hasattr(&child, DW_AT_external))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static void describe_bit_field(struct builder *b, Dwarf_Die *member,
			       Dwarf_Die *member_type, const char *name,
			       uint64_t addr, uint64_t offset, const char *path,
			       int depth)
{
	uint64_t bits = ch_die_udata(member, DW_AT_bit_size, 0);
	uint64_t bit = ch_die_udata(member, DW_AT_data_bit_offset, UINT64_MAX);
	uint64_t word = 0;
	char value[64], *field_path;

	b->budget--;
	if (bit == UINT64_MAX || bits == 0 || bits > 64 ||
	    !read_bytes(b, addr + bit / 8, &word, (bit % 8 + bits + 7) / 8))
		snprintf(value, sizeof(value), "<bit-field>");
	else
		snprintf(value, sizeof(value), "%" PRIu64,
			 (word >> (bit % 8)) &
				 (bits == 64 ? UINT64_MAX :
					       (UINT64_C(1) << bits) - 1));
	field_path = member_path(b, path, ".", name);
	if (!field_path)
		return;
	push_value(b, depth, field_path, name,
		   offset + (bit == UINT64_MAX ? 0 : bit / 8),
		   type_name(b, member_type), value, NULL);
	free(field_path);
}

// One data member of a struct, or a base class; false to stop listing.
static bool describe_member(struct builder *b, Dwarf_Die *member,
			    uint64_t addr, uint64_t offset, const char *path,
			    int depth)
{
	int tag = dwarf_tag(member);
	Dwarf_Die member_type;
	Dwarf_Attribute attr;
	Dwarf_Word member_offset = 0;
	const char *name = dwarf_diename(member);
	char *field_path;

	if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
		return true;
	if (dwarf_hasattr(member, DW_AT_declaration) ||
	    dwarf_hasattr(member, DW_AT_external) ||
	    !ch_dwarf_die_type(member, &member_type))
		return true;
	if (dwarf_attr(member, DW_AT_data_member_location, &attr) &&
	    dwarf_formudata(&attr, &member_offset) != 0)
		return true; // a virtual base: no fixed place
	if (tag == DW_TAG_inheritance)
		name = "<base>";
	else if (!name)
		name = "<anonymous>";
	if (dwarf_hasattr(member, DW_AT_bit_size)) {
		if (b->budget == 0)
			return false;
		describe_bit_field(b, member, &member_type, name, addr, offset,
				   path, depth);
		return !b->err;
	}
	field_path = member_path(b, path, ".", name);
	if (!field_path)
		return false;
	describe_value(b, &member_type, addr + member_offset,
		       offset + member_offset, name, field_path, depth);
	free(field_path);
	return true;
}

static void describe_members(struct builder *b, Dwarf_Die *type,
			     uint64_t addr, uint64_t offset, const char *path,
			     int depth)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child) != 0)
		return;
	do {
		if (!describe_member(b, &child, addr, offset, path, depth))
			return;
	} while (dwarf_siblingof(&child, &child) == 0 && b->budget);
}

// A char array: its text, as far as the core has it.
static void describe_char_array(struct builder *b, uint64_t count,
				uint64_t addr, uint64_t offset,
				const char *name, const char *path,
				const char *array_type, int depth)
{
	char value[4 * MAX_STRING_SHOWN + 8], text[4 * MAX_STRING_SHOWN + 4];

	if (b->budget == 0)
		return;
	b->budget--;
	if (read_string(b, addr, count ? count : MAX_STRING_SHOWN, text,
			sizeof(text)))
		snprintf(value, sizeof(value), "\"%s\"", text);
	else
		snprintf(value, sizeof(value), "<not in the core>");
	push_value(b, depth, path, name, offset, array_type, value, NULL);
}

/*
 * The first elements of an array whose BEGIN was pushed (at depth), how
 * many more there are, and its END.
 */
static void describe_elements(struct builder *b, Dwarf_Die *element,
			      uint64_t element_size, uint64_t count,
			      uint64_t addr, uint64_t offset, const char *path,
			      int depth)
{
	for (uint64_t i = 0;
	     i < count && i < CH_DESCRIBE_MAX_ARRAY_SHOWN && b->budget; i++) {
		char element_name[32], *element_path;

		snprintf(element_name, sizeof(element_name), "[%" PRIu64 "]", i);
		element_path = member_path(b, path, "", element_name);
		if (!element_path)
			return;
		describe_value(b, element, addr + i * element_size,
			       offset + i * element_size, element_name,
			       element_path, depth + 1);
		free(element_path);
	}
	if (count > CH_DESCRIBE_MAX_ARRAY_SHOWN) {
		struct ch_field *more = push_field(b, CH_FIELD_MORE, depth + 1,
						   0, NULL, NULL);

		if (more)
			more->more = count - CH_DESCRIBE_MAX_ARRAY_SHOWN;
	}
	push_end(b, depth);
}

static void describe_array(struct builder *b, Dwarf_Die *array,
			   uint64_t addr, uint64_t offset, const char *name,
			   const char *path, int depth)
{
	Dwarf_Die element, stripped, child;
	uint64_t count = 0, element_size;
	const char *array_type = type_name(b, array);

	if (!ch_dwarf_die_type(array, &element) ||
	    !ch_dwarf_strip_die(&element, &stripped))
		return;
	if (dwarf_child(array, &child) == 0 &&
	    dwarf_tag(&child) == DW_TAG_subrange_type) {
		count = ch_die_udata(&child, DW_AT_count, 0);
		if (!count && dwarf_hasattr(&child, DW_AT_upper_bound))
			count = ch_die_udata(&child, DW_AT_upper_bound, 0) + 1;
	}
	if (is_char_type(&stripped)) {
		describe_char_array(b, count, addr, offset, name, path,
				    array_type, depth);
		return;
	}
	element_size = ch_die_udata(&stripped, DW_AT_byte_size, 0);
	if (dwarf_tag(&stripped) == DW_TAG_pointer_type && !element_size)
		element_size = 8;
	if (!element_size)
		return;
	push_field(b, CH_FIELD_BEGIN, depth, offset, array_type, name);
	describe_elements(b, &element, element_size, count, addr, offset, path,
			  depth);
}

// The type of type's first template type parameter (T of X<T, ...>).
static bool template_type(Dwarf_Die *type, Dwarf_Die *ret)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) == DW_TAG_template_type_parameter)
			return ch_dwarf_die_type(&child, ret);
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool name_starts(Dwarf_Die *die, const char *prefix)
{
	const char *name = dwarf_diename(die);

	return name && strncmp(name, prefix, strlen(prefix)) == 0;
}

/*
 * libstdc++ keeps the value of a node (map, set, unordered_map, list) and
 * the object of a make_shared control block in raw storage:
 * __gnu_cxx::__aligned_membuf<T> or __aligned_buffer<T>, an array of
 * unsigned char. That storage holds a T: T is what a person wants to read.
 */
static bool aligned_storage_type(Dwarf_Die *type, Dwarf_Die *ret)
{
	return (name_starts(type, "__aligned_membuf<") ||
		name_starts(type, "__aligned_buffer<")) &&
	       template_type(type, ret);
}

static uint64_t value_size(Dwarf_Die *type)
{
	Dwarf_Die stripped;
	int tag;

	if (!ch_dwarf_strip_die(type, &stripped))
		return 0;
	tag = dwarf_tag(&stripped);
	if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type ||
	    tag == DW_TAG_rvalue_reference_type)
		return ch_die_udata(&stripped, DW_AT_byte_size, 8);
	return ch_die_udata(&stripped, DW_AT_byte_size, 0);
}

/*
 * A libstdc++ std::vector<T> (three pointers: start, finish, end of
 * storage): its size and its first elements, decoded where they live. The
 * pointers come from the core: a count that does not fit the storage, or
 * storage not in one live allocation, shows no element.
 */
static void describe_vector_elements(struct builder *b, Dwarf_Die *vector,
				     uint64_t addr, const char *path, int depth)
{
	uint64_t pointers[3], element_size, count;
	Dwarf_Die element;
	const struct ch_block *block;
	struct ch_field *field;
	char value[32], array_name[512], *element_path;

	if (ch_die_udata(vector, DW_AT_byte_size, 0) != 24 ||
	    !template_type(vector, &element) ||
	    !(element_size = value_size(&element)) ||
	    !read_bytes(b, addr, pointers, sizeof(pointers)) ||
	    pointers[1] < pointers[0] || pointers[2] < pointers[1] ||
	    (pointers[1] - pointers[0]) % element_size)
		return;
	count = (pointers[1] - pointers[0]) / element_size;
	snprintf(value, sizeof(value), "%" PRIu64, count);
	b->budget--;
	element_path = member_path(b, path, ".", "size()");
	if (!element_path)
		return;
	push_value(b, depth, element_path, "size()", 0, "size_t", value, NULL);
	free(element_path);
	if (!b->err)
		b->fields.data[b->fields.len - 1].elsewhere = true;
	block = ch_heap_find(&b->program->heap, pointers[0]);
	if (!count || !block ||
	    pointers[1] - block->address > ch_block_size(block) ||
	    !b->budget)
		return;
	ch_format_array_name(array_name, sizeof(array_name),
			     type_name(b, &element), count);
	field = push_field(b, CH_FIELD_BEGIN, depth, 0, NULL, "<elements>");
	if (!field)
		return;
	field->owned_type = strdup(array_name);
	if (!field->owned_type) {
		fail(b, &ch_enomem);
		return;
	}
	field->type = field->owned_type;
	field->elsewhere = true;
	field->address = pointers[0];
	describe_elements(b, &element, element_size, count, pointers[0], 0,
			  path, depth);
}

static void describe_aggregate(struct builder *b, Dwarf_Die *type,
			       const char *shown_type, uint64_t addr,
			       uint64_t offset, const char *name,
			       const char *path, int depth)
{
	Dwarf_Die stored;

	if (aligned_storage_type(type, &stored)) {
		describe_value(b, &stored, addr, offset, name, path, depth);
		return;
	}
	if (!has_data_members(type)) {
		// Empty bases (allocators, comparators): one line.
		b->budget--;
		push_value(b, depth, path, name, offset, shown_type, "{}", NULL);
		return;
	}
	if (depth >= CH_DESCRIBE_MAX_DEPTH) {
		b->budget--;
		push_value(b, depth, path, name, offset, shown_type, "{...}",
			   NULL);
		return;
	}
	push_field(b, CH_FIELD_BEGIN, depth, offset, shown_type, name);
	describe_members(b, type, addr, offset, path, depth + 1);
	if (strncmp(shown_type, "std::vector<", 12) == 0 &&
	    strncmp(shown_type, "std::vector<bool", 16) != 0)
		describe_vector_elements(b, type, addr, path, depth + 1);
	push_end(b, depth);
}

static void describe_pointer(struct builder *b, Dwarf_Die *type,
			     const char *shown_type, uint64_t addr,
			     uint64_t offset, const char *name,
			     const char *path, int depth)
{
	uint64_t pointer;
	struct ch_pointer_target target;
	Dwarf_Die pointee, stripped;
	char value[512];

	b->budget--;
	if (!read_bytes(b, addr, &pointer, 8)) {
		push_value(b, depth, path, name, offset, shown_type,
			   "<not in the core>", NULL);
		return;
	}
	find_target(b, pointer, &target);
	if (!pointer)
		snprintf(value, sizeof(value), "NULL");
	else
		snprintf(value, sizeof(value), "0x%" PRIx64, pointer);
	// A char pointer: show the text too.
	if (pointer && ch_dwarf_die_type(type, &pointee) &&
	    ch_dwarf_strip_die(&pointee, &stripped) && is_char_type(&stripped)) {
		char text[4 * MAX_STRING_SHOWN + 4];

		if (read_string(b, pointer, MAX_STRING_SHOWN, text, sizeof(text)))
			snprintf(value, sizeof(value), "0x%" PRIx64 " \"%s\"",
				 pointer, text);
	}
	push_value(b, depth, path, name, offset, shown_type, value, &target);
}

static void describe_scalar(struct builder *b, Dwarf_Die *type,
			    const char *shown_type, uint64_t addr,
			    uint64_t offset, const char *name,
			    const char *path, int depth)
{
	uint64_t size = ch_die_udata(type, DW_AT_byte_size, 0);
	uint8_t bytes[16];
	char value[512];

	b->budget--;
	if (!size || size > sizeof(bytes) || !read_bytes(b, addr, bytes, size))
		snprintf(value, sizeof(value), "<not in the core>");
	else
		format_scalar(type, bytes, size, value, sizeof(value));
	push_value(b, depth, path, name, offset, shown_type, value, NULL);
}

static void describe_value(struct builder *b, Dwarf_Die *type_die,
			   uint64_t addr, uint64_t offset, const char *name,
			   const char *path, int depth)
{
	Dwarf_Die type;
	const char *shown_type = type_name(b, type_die);

	if (!b->budget || !ch_dwarf_strip_die(type_die, &type))
		return;
	switch (dwarf_tag(&type)) {
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		describe_aggregate(b, &type, shown_type, addr, offset, name,
				   path, depth);
		return;
	case DW_TAG_array_type:
		describe_array(b, &type, addr, offset, name, path, depth);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		describe_pointer(b, &type, shown_type, addr, offset, name, path,
				 depth);
		return;
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
		describe_scalar(b, &type, shown_type, addr, offset, name, path,
				depth);
		return;
	default:
		b->budget--;
		push_value(b, depth, path, name, offset, shown_type, "<?>", NULL);
		return;
	}
}

// Decode the value of DWARF type die at addr as the description's fields.
static void describe_fields(struct builder *b, struct ch_description *desc,
			    Dwarf_Die *die, uint64_t addr, uint64_t offset)
{
	desc->has_fields = true;
	describe_value(b, die, addr, offset, "", "", 0);
}

/* An allocation. */

// Which element of the allocation's type holds the address, if any.
static void locate_element(struct ch_described_allocation *allocation,
			   const struct ch_type_info *info,
			   const struct ch_dtype *dtype)
{
	uint64_t offset = allocation->offset + (allocation->address -
						allocation->start);
	uint64_t element = 0;

	if (dtype && dtype->size && offset >= info->first_offset) {
		element = (offset - info->first_offset) / dtype->size;
		allocation->has_element = info->array || element == 0;
		// Past a known count: stale bytes, no element.
		if (info->array && info->count && element >= info->count)
			allocation->has_element = false;
	}
	allocation->element = element;
	allocation->count = info->array ? info->count : 1;
	allocation->element_start = allocation->start + info->first_offset +
				    element * (dtype ? dtype->size : 0);
}

DEFINE_VECTOR(dump_pointer_vector, struct ch_dump_pointer);

/*
 * Each aligned word of the dump (the allocation is aligned) that points
 * into an allocation, a module or a stack: a person reading an untyped
 * block sees its links without decoding hex.
 */
static struct ch_error *annotate_dump(struct builder *b,
				      struct ch_described_bytes *dump)
{
	struct dump_pointer_vector pointers;
	struct ch_error *err = NULL;

	dump_pointer_vector_init(&pointers);
	for (uint64_t at = (8 - dump->address % 8) % 8; at + 8 <= dump->num_read;
	     at += 8) {
		struct ch_dump_pointer pointer = { .offset = dump->offset + at };

		if (!dump->line_read[at / 16])
			continue;
		memcpy(&pointer.value, dump->bytes + at, 8);
		find_target(b, pointer.value, &pointer.target);
		if (pointer.target.kind == CH_TARGET_NONE)
			continue;
		err = dump_pointer_vector_append(&pointers, &pointer);
		if (err) {
			free(pointer.target.symbol);
			break;
		}
	}
	dump->pointers = dump_pointer_vector_steal(&pointers, &dump->num_pointers);
	return err;
}

/*
 * No layout: the raw bytes, from the start or around the address, read a
 * line of 16 at a time as they are shown.
 */
static struct ch_error *read_dump(struct builder *b,
				  struct ch_description *desc,
				  const struct ch_describe_options *options)
{
	const struct ch_described_allocation *allocation = &desc->allocation;
	struct ch_described_bytes *dump = &desc->bytes;
	uint64_t offset = desc->address - allocation->start;
	uint64_t max = options->max_bytes;
	uint64_t start = offset < max / 2 ? 0 : (offset - max / 4) & ~UINT64_C(15);
	uint64_t len = allocation->size - start < max ?
			       allocation->size - start :
			       max;

	desc->has_bytes = true;
	*dump = (struct ch_described_bytes){
		.offset = start,
		.address = allocation->start + start,
		.len = len,
		.num_read = len < options->max_read ? len : options->max_read,
	};
	dump->bytes = malloc(dump->num_read + 1);
	dump->line_read = malloc(dump->num_read / 16 + 1);
	if (!dump->bytes || !dump->line_read)
		return &ch_enomem;
	for (uint64_t line = 0; line < dump->num_read; line += 16) {
		size_t n = dump->num_read - line < 16 ? dump->num_read - line : 16;

		dump->line_read[line / 16] = read_bytes(b, dump->address + line,
							dump->bytes + line, n);
	}
	return annotate_dump(b, dump);
}

static struct ch_error *describe_allocation(struct builder *b,
					    struct ch_description *desc,
					    size_t index,
					    const struct ch_describe_options *options)
{
	const struct ch_heap *heap = &b->program->heap;
	const struct ch_block *block = &heap->live.blocks[index];
	struct ch_described_allocation *allocation = &desc->allocation;
	const struct ch_type_info *info = &b->types->infos[heap->block_types[index]];
	const struct ch_dtype *dtype = ch_dwarf_type(b->types->dwarf, info->dtype);
	Dwarf_Die die;

	const struct ch_block *object =
		ch_program_runtime_object(b->program, block);

	desc->in_allocation = true;
	*allocation = (struct ch_described_allocation){
		.address = block->address,
		.size = ch_block_size(block),
		.offset = desc->address - block->address,
		.start = block->address,
		.allocator = b->program->allocators.uses[block->allocator].ops->name,
		.conflicted = ch_types_conflicted(b->types, index),
	};
	// A runtime's object is known by its id(), past its header.
	if (object && desc->address >= ch_block_identity(object)) {
		allocation->object = true;
		allocation->address = ch_block_identity(object);
		allocation->offset = desc->address - allocation->address;
		allocation->allocator =
			b->program->allocators.uses[object->allocator].ops->name;
	}
	allocation->type = ch_heap_block_type(heap, index, &allocation->source);
	locate_element(allocation, info, dtype);
	if (allocation->source == CH_TYPE_VTABLE &&
	    read_bytes(b, allocation->element_start, &allocation->vptr, 8))
		allocation->vtable = cut_name(name_module_address(b->program,
								  allocation->vptr));
	if (b->options->as_type)
		return NULL; // the fields are the type's the user named
	if (allocation->has_element && info->dtype &&
	    ch_dwarf_types_die(b->types->dwarf, info->dtype, &die, NULL)) {
		describe_fields(b, desc, &die, allocation->element_start,
				allocation->element_start - block->address);
		return NULL;
	}
	return read_dump(b, desc, options);
}

/* An address in no live allocation. */

// A free block of an allocator holding addr (linear: free blocks are not
// sorted, and this runs once).
static const struct ch_block *find_free_block(const struct ch_heap *heap,
					      uint64_t addr)
{
	for (size_t i = 0; i < heap->free.len; i++) {
		const struct ch_block *block = &heap->free.blocks[i];

		if (addr - block->address < ch_block_size(block))
			return block;
	}
	return NULL;
}

static bool find_variable(struct builder *b, uint64_t addr,
			  const struct ch_dwarf_variable **variable_ret,
			  uint32_t *type_ret)
{
	struct ch_dwarf_types *dwarf = b->types->dwarf;

	for (size_t i = 0; i < dwarf->num_variables; i++) {
		const struct ch_dwarf_variable *variable = &dwarf->variables[i];
		const struct ch_dtype *dtype;
		uint32_t id;
		struct ch_error *err;

		if (variable->is_tls || addr < variable->address)
			continue;
		err = ch_dwarf_types_variable_type(dwarf, i, &id);
		if (err) {
			ch_error_destroy(err);
			continue;
		}
		dtype = ch_dwarf_type(dwarf, id);
		if (dtype && addr - variable->address < dtype->size) {
			*variable_ret = variable;
			*type_ret = id;
			return true;
		}
	}
	return false;
}

/*
 * A variable that is a pointer to a live allocation: that allocation is
 * described too (one level: its own pointers are annotated, not followed),
 * as `p *var` would show it.
 */
static void follow_pointer_variable(struct builder *b,
				    struct ch_description *desc,
				    Dwarf_Die *type_die, uint64_t address)
{
	struct ch_describe_options options = {
		.max_bytes = b->options->max_bytes,
		.max_read = b->options->max_read,
	};
	Dwarf_Die stripped;
	uint64_t pointer;
	struct ch_error *err;

	if (!ch_dwarf_strip_die(type_die, &stripped) ||
	    dwarf_tag(&stripped) != DW_TAG_pointer_type ||
	    !read_bytes(b, address, &pointer, 8) ||
	    !ch_heap_find(&b->program->heap, pointer))
		return;
	desc->pointee = calloc(1, sizeof(*desc->pointee));
	if (!desc->pointee) {
		fail(b, &ch_enomem);
		return;
	}
	err = ch_description_init(desc->pointee, b->program, b->types, pointer,
				  &options);
	if (err) {
		free(desc->pointee);
		desc->pointee = NULL;
		fail(b, err);
	}
}

/* The search for the local variable of a frame whose storage holds addr. */
struct local_search {
	uint64_t addr;
	bool found;
	Dwarf_Die type;
	uint64_t address;
};

static bool match_local(Dwarf_Die *variable, uint64_t address, void *arg)
{
	struct local_search *search = arg;
	Dwarf_Die type;
	Dwarf_Word size;

	if (search->addr < address || !ch_dwarf_die_type(variable, &type) ||
	    dwarf_aggregate_size(&type, &size) != 0 ||
	    search->addr - address >= size)
		return true;
	search->found = true;
	search->type = type;
	search->address = address;
	return false;
}

/*
 * A local variable or parameter of the thread tid's frames that holds
 * addr: its type's DIE and address into *search. The innermost frame's
 * first, as roots name a stack word (frames do not overlap).
 */
static void find_local(struct builder *b, int32_t tid,
		       struct local_search *search)
{
	const struct ch_core *core = b->program->core;
	const struct ch_stacks *stacks;
	struct ch_error *err = ch_program_stacks(b->program, &stacks);

	if (err) {
		// Unwinding failed: the stack address stays unnamed, as roots
		// leave it (the program warned).
		if (err->code == CH_ERROR_NOMEM)
			fail(b, err);
		else
			ch_error_destroy(err);
		return;
	}
	for (size_t t = 0; t < stacks->num_threads && t < core->num_threads; t++) {
		const struct ch_stack *stack = &stacks->threads[t];

		if (core->threads[t].tid != tid)
			continue;
		for (size_t k = 0; k < stack->num_frames && !search->found; k++) {
			struct ch_frame *frame = &stack->frames[k];

			if (frame->module)
				ch_module_for_each_local(frame->module,
							 &frame->context,
							 match_local, search);
		}
		return;
	}
}

static void describe_elsewhere(struct builder *b, struct ch_description *desc)
{
	uint64_t addr = desc->address;
	const struct ch_block *free_block =
		find_free_block(&b->program->heap, addr);
	const struct ch_dwarf_variable *variable;
	uint32_t type;
	Dwarf_Die variable_die, die;

	if (free_block) {
		desc->in_free_block = true;
		desc->free_address = free_block->address;
		desc->free_size = ch_block_size(free_block);
	}
	desc->symbol = cut_name(name_module_address(b->program, addr));
	desc->mapping = ch_address_space_mapping(b->program->address_space,
						 addr);
	if (!desc->mapping)
		desc->file_mapping = ch_core_file_at(b->program->core, addr);
	desc->in_stack = find_stack(b->program, addr, &desc->stack_tid,
				    &desc->stack_above_sp);
	if (desc->in_stack)
		desc->stack_name = cut_name(name_stack_address(b, addr));
	if (b->options->as_type)
		return;
	// A local of a frame, decoded as a global is (where the roots name
	// it, this is its value).
	if (desc->in_stack) {
		struct local_search search = { .addr = addr };

		find_local(b, desc->stack_tid, &search);
		if (!search.found)
			return;
		desc->in_variable = true;
		desc->in_local = true;
		desc->variable_address = search.address;
		describe_fields(b, desc, &search.type, search.address, 0);
		follow_pointer_variable(b, desc, &search.type, search.address);
		return;
	}
	// The type's DIE from the variable's own: made-up types (pointers)
	// have no DIE of their own in the table.
	if (!find_variable(b, addr, &variable, &type) ||
	    !ch_dwarf_types_die_of_key(b->types->dwarf, variable->die_key,
				       &variable_die) ||
	    !ch_dwarf_die_type(&variable_die, &die))
		return;
	desc->in_variable = true;
	desc->variable_address = variable->address;
	describe_fields(b, desc, &die, variable->address, 0);
	follow_pointer_variable(b, desc, &die, variable->address);
}

/*
 * --as TYPE: the value at the address decoded as the struct, class or
 * union of that name, whatever lives there (gdb's p *(T *)addr).
 */
static struct ch_error *describe_as(struct builder *b,
				    struct ch_description *desc,
				    const char *name)
{
	uint32_t id;
	Dwarf_Die die;
	struct ch_error *err = ch_dwarf_types_find(b->types->dwarf, name, &id);

	if (err)
		return err;
	if (id == CH_DTYPE_NONE ||
	    !ch_dwarf_types_die(b->types->dwarf, id, &die, NULL))
		return ch_error_create(CH_ERROR_NOT_FOUND,
				       "--as: no struct, class or union named '%s' in the program's DWARF",
				       name);
	desc->as_type = ch_dwarf_type(b->types->dwarf, id)->name;
	describe_fields(b, desc, &die, desc->address, 0);
	return NULL;
}

struct ch_error *ch_description_init(struct ch_description *desc,
				     struct ch_program *program,
				     struct ch_types *types, uint64_t addr,
				     const struct ch_describe_options *options)
{
	struct builder b = {
		.options = options,
		.program = program,
		.types = types,
		.budget = CH_DESCRIBE_MAX_FIELDS,
	};
	const struct ch_block *block = ch_heap_find(&program->heap, addr);
	struct ch_error *err = NULL;

	*desc = (struct ch_description){ .address = addr };
	if (block) {
		err = describe_allocation(&b, desc, block - program->heap.live.blocks,
					  options);
		if (!err)
			err = ch_named_stack_of_block(&desc->allocation.stack,
						      program, block->address,
						      &desc->allocation.has_stack);
	} else
		describe_elsewhere(&b, desc);
	if (!err && options->as_type)
		err = describe_as(&b, desc, options->as_type);
	if (!err)
		err = b.err;
	else
		ch_error_destroy(b.err);
	desc->fields = field_vector_steal(&b.fields, &desc->num_fields);
	ch_roots_destroy(b.roots);
	if (err) {
		ch_description_deinit(desc);
		return err;
	}
	return NULL;
}

void ch_description_deinit(struct ch_description *desc)
{
	for (size_t i = 0; i < desc->num_fields; i++) {
		struct ch_field *field = &desc->fields[i];

		free(field->name);
		free(field->path);
		free(field->value);
		free(field->owned_type);
		free(field->target.symbol);
	}
	free(desc->fields);
	free(desc->allocation.vtable);
	ch_named_stack_deinit(&desc->allocation.stack);
	free(desc->symbol);
	free(desc->stack_name);
	free(desc->bytes.bytes);
	free(desc->bytes.line_read);
	for (size_t i = 0; i < desc->bytes.num_pointers; i++)
		free(desc->bytes.pointers[i].target.symbol);
	free(desc->bytes.pointers);
	if (desc->pointee) {
		ch_description_deinit(desc->pointee);
		free(desc->pointee);
	}
	*desc = (struct ch_description){ 0 };
}

/* Text. */

static void indent(struct ch_out *out, int depth)
{
	for (int i = 0; i < depth; i++)
		ch_out_str(out, "  ");
}

// "int x", "struct node *next" (as C declares them), "struct node" alone.
static const char *separator(const char *type, const char *name)
{
	size_t len = strlen(type);

	if (!*name || (len && (type[len - 1] == '*' || type[len - 1] == '&')))
		return "";
	return " ";
}

static void write_target_text(struct ch_out *out,
			      const struct ch_pointer_target *target)
{
	if (target->kind == CH_TARGET_ALLOCATION) {
		ch_out_printf(out, " -> allocation 0x%" PRIx64, target->allocation);
		if (target->offset)
			ch_out_printf(out, "+%" PRIu64, target->offset);
		ch_out_printf(out, " (%s)", target->type ? target->type : "unknown type");
	} else if (target->kind == CH_TARGET_MODULE) {
		ch_out_printf(out, " -> %s", target->symbol);
	} else if (target->kind == CH_TARGET_STACK && target->symbol) {
		ch_out_printf(out, " -> stack: %s", target->symbol);
	} else if (target->kind == CH_TARGET_STACK) {
		ch_out_printf(out, " -> stack of thread %" PRId32 " (sp+%" PRIu64 ")",
			      target->tid, target->above_sp);
	}
}

static void write_field_text(struct ch_out *out, const struct ch_field *field)
{
	indent(out, field->depth);
	switch (field->kind) {
	case CH_FIELD_VALUE:
		// A value computed, not read at an offset: no offset shown.
		if (!field->elsewhere)
			ch_out_printf(out, "[+%" PRIu64 "] ", field->offset);
		ch_out_printf(out, "%s%s%s = %s", field->type,
			      separator(field->type, field->name),
			      field->name, field->value);
		if (field->has_target)
			write_target_text(out, &field->target);
		ch_out_char(out, '\n');
		break;
	case CH_FIELD_BEGIN:
		if (field->elsewhere)
			ch_out_printf(out, "%s%s%s at 0x%" PRIx64 " = {\n",
				      field->type,
				      separator(field->type, field->name),
				      field->name, field->address);
		else
			ch_out_printf(out, "[+%" PRIu64 "] %s%s%s = {\n",
				      field->offset, field->type,
				      separator(field->type, field->name),
				      field->name);
		break;
	case CH_FIELD_END:
		ch_out_str(out, "}\n");
		break;
	case CH_FIELD_MORE:
		ch_out_printf(out, "... %" PRIu64 " more\n", field->more);
		break;
	}
}

static void write_dump_text(struct ch_out *out,
			    const struct ch_described_bytes *dump,
			    uint64_t allocation_size)
{
	for (uint64_t line = 0; line < dump->num_read; line += 16) {
		const uint8_t *bytes = dump->bytes + line;
		size_t n = dump->num_read - line < 16 ? dump->num_read - line : 16;
		bool ok = dump->line_read[line / 16];

		ch_out_printf(out, "  0x%016" PRIx64 ":", dump->address + line);
		for (size_t i = 0; i < 16; i++) {
			if (i < n && ok)
				ch_out_printf(out, " %02x", bytes[i]);
			else
				ch_out_str(out, i < n ? " ??" : "   ");
		}
		ch_out_str(out, "  |");
		for (size_t i = 0; i < n; i++)
			ch_out_char(out, ok && bytes[i] >= 0x20 && bytes[i] < 0x7f ?
						 (char)bytes[i] :
						 '.');
		ch_out_str(out, "|\n");
	}
	if (dump->offset + dump->len < allocation_size)
		ch_out_printf(out, "  ... %" PRIu64 " more bytes\n",
			      allocation_size - dump->offset - dump->len);
	if (dump->num_pointers)
		ch_out_str(out, "pointers:\n");
	for (size_t i = 0; i < dump->num_pointers; i++) {
		ch_out_printf(out, "  [+%" PRIu64 "] 0x%" PRIx64,
			      dump->pointers[i].offset, dump->pointers[i].value);
		write_target_text(out, &dump->pointers[i].target);
		ch_out_char(out, '\n');
	}
}

static void write_allocation_text(struct ch_out *out,
				  const struct ch_description *desc)
{
	const struct ch_described_allocation *allocation = &desc->allocation;

	ch_out_printf(out, "0x%" PRIx64 " is ", desc->address);
	if (allocation->offset)
		ch_out_printf(out, "%" PRIu64 " bytes into", allocation->offset);
	else
		ch_out_str(out, "the start of");
	if (allocation->object)
		ch_out_printf(out, " the %s object at 0x%" PRIx64
			      " (%" PRIu64 " bytes with its header)\n",
			      allocation->allocator, allocation->address,
			      allocation->size);
	else
		ch_out_printf(out, " the allocation at 0x%" PRIx64
			      " (%" PRIu64 " usable bytes, %s)\n",
			      allocation->address, allocation->size,
			      allocation->allocator);
	ch_out_printf(out, "type: %s (%s%s)\n",
		      allocation->type ? allocation->type : "unknown",
		      ch_type_source_names[allocation->source],
		      allocation->conflicted ? "; other evidence disagreed" : "");
	if (allocation->vtable)
		ch_out_printf(out, "vtable: 0x%" PRIx64 " = %s\n",
			      allocation->vptr, allocation->vtable);
	if (allocation->has_stack) {
		ch_out_printf(out, "allocated at (the stack %s recorded):\n",
			      allocation->allocator);
		ch_named_stack_write_text(out, &allocation->stack, "  ",
					  SIZE_MAX);
	}
	if (allocation->has_element && allocation->count > 1)
		ch_out_printf(out, "element %" PRIu64 " of %" PRIu64
			      ", at 0x%" PRIx64 ":\n",
			      allocation->element, allocation->count,
			      allocation->element_start);
	else if (allocation->has_element && allocation->count == 0)
		ch_out_printf(out, "element %" PRIu64 " (of a count not known), at 0x%" PRIx64 ":\n",
			      allocation->element, allocation->element_start);
}

static void write_elsewhere_text(struct ch_out *out,
				 const struct ch_description *desc)
{
	const struct ch_mapping *mapping = desc->mapping;

	ch_out_printf(out, "0x%" PRIx64 " is in no live allocation",
		      desc->address);
	if (desc->in_free_block)
		ch_out_printf(out, "; it is in a free block at 0x%" PRIx64
			      " (%" PRIu64 " bytes)",
			      desc->free_address, desc->free_size);
	ch_out_char(out, '\n');
	if (desc->symbol)
		ch_out_printf(out, "symbol: %s\n", desc->symbol);
	if (mapping)
		ch_out_printf(out, "mapping: 0x%" PRIx64 "-0x%" PRIx64 " %s\n",
			      mapping->start, mapping->end,
			      mapping->file ? mapping->file : "(anonymous)");
	else if (desc->file_mapping)
		ch_out_printf(out, "mapping: 0x%" PRIx64 "-0x%" PRIx64
			      " %s (mapped from the file, not in the core)\n",
			      desc->file_mapping->start, desc->file_mapping->end,
			      desc->file_mapping->path);
	else
		ch_out_str(out, "mapping: none (not in the process)\n");
	if (desc->in_stack && desc->stack_name)
		ch_out_printf(out, "stack: %s\n", desc->stack_name);
	else if (desc->in_stack)
		ch_out_printf(out, "stack: thread %" PRId32 ", sp+%" PRIu64 "\n",
			      desc->stack_tid, desc->stack_above_sp);
	if (desc->in_variable)
		ch_out_printf(out, "%s at 0x%" PRIx64 ":\n",
			      desc->in_local ? "local" : "variable",
			      desc->variable_address);
}

void ch_description_write_text(struct ch_out *out,
			       const struct ch_description *desc)
{
	if (desc->in_allocation)
		write_allocation_text(out, desc);
	else
		write_elsewhere_text(out, desc);
	if (desc->as_type)
		ch_out_printf(out, "as %s at 0x%" PRIx64 ":\n", desc->as_type,
			      desc->address);
	for (size_t i = 0; i < desc->num_fields; i++)
		write_field_text(out, &desc->fields[i]);
	if (desc->has_bytes)
		write_dump_text(out, &desc->bytes, desc->allocation.size);
	if (desc->pointee) {
		ch_out_str(out, "\npoints to:\n");
		ch_description_write_text(out, desc->pointee);
	}
}

/* JSON: the fields as a flat list, each with its path. */

static void write_target_json(struct ch_json *json,
			      const struct ch_pointer_target *target)
{
	ch_json_key(json, "points_to");
	if (target->kind == CH_TARGET_ALLOCATION) {
		ch_json_begin_object(json);
		ch_json_member_address(json, "allocation", target->allocation);
		ch_json_member_u64(json, "offset", target->offset);
		ch_json_member_string_or_null(json, "type", target->type);
		ch_json_end_object(json);
	} else if (target->kind == CH_TARGET_MODULE) {
		ch_json_begin_object(json);
		ch_json_member_string(json, "symbol", target->symbol);
		ch_json_end_object(json);
	} else if (target->kind == CH_TARGET_STACK) {
		ch_json_begin_object(json);
		ch_json_member_i64(json, "stack_of_thread", target->tid);
		ch_json_member_u64(json, "above_sp", target->above_sp);
		ch_json_member_string_or_null(json, "name", target->symbol);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
}

static void write_fields_json(struct ch_json *json,
			      const struct ch_description *desc)
{
	ch_json_key(json, "fields");
	ch_json_begin_array(json);
	for (size_t i = 0; i < desc->num_fields; i++) {
		const struct ch_field *field = &desc->fields[i];

		if (field->kind != CH_FIELD_VALUE)
			continue;
		ch_json_begin_object(json);
		ch_json_member_string(json, "field", field->path);
		ch_json_member_u64(json, "offset", field->offset);
		ch_json_member_string(json, "type", field->type);
		ch_json_member_string(json, "value", field->value);
		if (field->has_target)
			write_target_json(json, &field->target);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

// The bytes as one hex string; null unless every one is in the core.
static void write_dump_json(struct ch_json *json,
			    const struct ch_described_bytes *dump)
{
	bool ok = true;
	char *hex;

	ch_json_member_u64(json, "dump_offset", dump->offset);
	for (uint64_t line = 0; line < dump->num_read && ok; line += 16)
		ok = dump->line_read[line / 16];
	hex = malloc(2 * dump->num_read + 1);
	if (!hex) {
		json->out->failed = true;
		return;
	}
	for (uint64_t i = 0; ok && i < dump->num_read; i++)
		snprintf(hex + 2 * i, 3, "%02x", dump->bytes[i]);
	hex[ok ? 2 * dump->num_read : 0] = '\0';
	ch_json_key(json, "bytes");
	if (ok)
		ch_json_string(json, hex);
	else
		ch_json_null(json);
	free(hex);
	ch_json_key(json, "pointers");
	ch_json_begin_array(json);
	for (size_t i = 0; i < dump->num_pointers; i++) {
		ch_json_begin_object(json);
		ch_json_member_u64(json, "offset", dump->pointers[i].offset);
		ch_json_member_address(json, "value", dump->pointers[i].value);
		write_target_json(json, &dump->pointers[i].target);
		ch_json_end_object(json);
	}
	ch_json_end_array(json);
}

static void write_allocation_json(struct ch_json *json,
				  const struct ch_described_allocation *allocation)
{
	ch_json_key(json, "allocation");
	ch_json_begin_object(json);
	ch_json_member_address(json, "address", allocation->address);
	ch_json_member_u64(json, "size", allocation->size);
	ch_json_member_string(json, "allocator", allocation->allocator);
	ch_json_member_bool(json, "runtime_object", allocation->object);
	ch_json_member_u64(json, "offset", allocation->offset);
	ch_json_member_string_or_null(json, "type", allocation->type);
	ch_json_member_string(json, "type_source",
			      ch_type_source_names[allocation->source]);
	ch_json_member_bool(json, "conflicting_evidence", allocation->conflicted);
	if (allocation->has_element && allocation->count != 1)
		ch_json_member_u64(json, "element", allocation->element);
	if (allocation->vtable)
		ch_json_member_string(json, "vtable", allocation->vtable);
	ch_json_key(json, "allocation_stack");
	if (allocation->has_stack)
		ch_named_stack_write_json(json, &allocation->stack);
	else
		ch_json_null(json);
	ch_json_end_object(json);
}

static void write_elsewhere_json(struct ch_json *json,
				 const struct ch_description *desc)
{
	const struct ch_mapping *mapping = desc->mapping;

	ch_json_key(json, "allocation");
	ch_json_null(json);
	ch_json_key(json, "free_block");
	if (desc->in_free_block) {
		ch_json_begin_object(json);
		ch_json_member_address(json, "address", desc->free_address);
		ch_json_member_u64(json, "size", desc->free_size);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
	ch_json_member_string_or_null(json, "symbol", desc->symbol);
	ch_json_key(json, "mapping");
	if (mapping) {
		ch_json_begin_object(json);
		ch_json_member_address(json, "start", mapping->start);
		ch_json_member_address(json, "end", mapping->end);
		ch_json_member_string_or_null(json, "file", mapping->file);
		ch_json_member_bool(json, "core_segment", true);
		ch_json_end_object(json);
	} else if (desc->file_mapping) {
		ch_json_begin_object(json);
		ch_json_member_address(json, "start", desc->file_mapping->start);
		ch_json_member_address(json, "end", desc->file_mapping->end);
		ch_json_member_string(json, "file", desc->file_mapping->path);
		ch_json_member_bool(json, "core_segment", false);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
	if (desc->in_stack) {
		ch_json_key(json, "stack");
		ch_json_begin_object(json);
		ch_json_member_i64(json, "thread", desc->stack_tid);
		ch_json_member_u64(json, "above_sp", desc->stack_above_sp);
		ch_json_member_string_or_null(json, "name", desc->stack_name);
		ch_json_end_object(json);
	}
	if (desc->in_variable) {
		ch_json_member_address(json, "variable_address",
				       desc->variable_address);
		ch_json_member_bool(json, "local", desc->in_local);
	}
}

static void write_description_json(struct ch_json *json,
				   const struct ch_description *desc)
{
	ch_json_begin_object(json);
	ch_json_member_address(json, "address", desc->address);
	if (desc->in_allocation)
		write_allocation_json(json, &desc->allocation);
	else
		write_elsewhere_json(json, desc);
	if (desc->as_type)
		ch_json_member_string(json, "as_type", desc->as_type);
	if (desc->has_fields)
		write_fields_json(json, desc);
	if (desc->has_bytes)
		write_dump_json(json, &desc->bytes);
	if (desc->pointee) {
		ch_json_key(json, "pointee");
		write_description_json(json, desc->pointee);
	}
	ch_json_end_object(json);
}

void ch_description_write_json(struct ch_out *out,
			       const struct ch_description *desc)
{
	struct ch_json json;

	ch_json_init(&json, out, true);
	write_description_json(&json, desc);
}
