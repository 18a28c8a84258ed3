// SPDX-License-Identifier: MIT
#include <dwarf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "report/output.h"
#include "types/types.h"

static const char *const describe_usage[] = {
	"coreheap describe [OPTIONS] ADDR CORE",
	"",
	"What lives at an address: the live allocation holding it and the offset",
	"inside it, its type and how the type was known, and its fields decoded",
	"from DWARF where the type is known (pointers annotated with what they",
	"point to), else a hex and text dump. An address inside a module is",
	"named module!symbol+offset (and a global variable there is decoded).",
	"",
	"  --bytes N             bytes to dump at most when the type is unknown",
	"                        (default 256)",
	NULL,
};

#define DESCRIBE_FORMATS (CH_FORMAT_TEXT | CH_FORMAT_JSON)
#define DEFAULT_DUMP_BYTES 256
// Deeper nesting and longer arrays are elided: this is for a person.
#define MAX_DEPTH 12
#define MAX_ARRAY_SHOWN 16
#define MAX_STRING_SHOWN 64
#define MAX_FIELDS_SHOWN 1024
#define MAX_JSON_DUMP (1u << 20)

struct describe_options {
	uint64_t bytes;
};

static struct ch_error *parse_bytes(const char *value, void *ctx)
{
	return ch_parse_u64("bytes", value,
			    &((struct describe_options *)ctx)->bytes);
}

static const struct ch_option describe_options[] = {
	{ { "bytes", required_argument, NULL, 0 }, parse_bytes },
	{ { NULL, 0, NULL, 0 }, NULL },
};

struct describer {
	struct ch_program *program;
	struct ch_types *types;
	struct ch_out *out;
	/** Non-NULL for --format json: fields are written as a flat list. */
	struct ch_json *json;
	/** Fields left to show. */
	uint64_t budget;
};

/*
 * module!symbol+offset (symbol demangled) into buf, or module+offset
 * without a symbol; false if addr is in no module.
 */
static bool name_module_address(struct ch_program *program, uint64_t addr,
				char *buf, size_t size)
{
	struct ch_module *module =
		ch_modules_find_by_address(program->modules, addr);
	const char *symbol;
	uint64_t offset;
	char *demangled;

	if (!module)
		return false;
	symbol = ch_module_symbolize(module, addr, &offset);
	if (!symbol) {
		snprintf(buf, size, "%s+0x%" PRIx64, ch_base_name(module->name),
			 addr - module->start);
		return true;
	}
	demangled = ch_demangle(symbol);
	snprintf(buf, size, "%s!%s+%" PRIu64, ch_base_name(module->name),
		 demangled ? demangled : symbol, offset);
	free(demangled);
	return true;
}

/* What a pointer points to, for annotations. */
struct target {
	enum { TARGET_NONE, TARGET_ALLOCATION, TARGET_MODULE } kind;
	uint64_t allocation, offset;
	const char *type;
	char symbol[512];
};

static void find_target(struct describer *d, uint64_t value,
			struct target *target)
{
	const struct ch_heap *heap = &d->program->heap;
	const struct ch_block *block = ch_heap_find(heap, value);

	target->kind = TARGET_NONE;
	if (!value)
		return;
	if (block) {
		target->kind = TARGET_ALLOCATION;
		target->allocation = block->address;
		target->offset = value - block->address;
		target->type = ch_heap_block_type(heap, block - heap->live.blocks,
						  NULL);
	} else if (name_module_address(d->program, value, target->symbol,
				       sizeof(target->symbol))) {
		target->kind = TARGET_MODULE;
	}
}

static void write_target_text(struct ch_out *out, const struct target *target)
{
	if (target->kind == TARGET_ALLOCATION) {
		ch_out_printf(out, " -> allocation 0x%" PRIx64, target->allocation);
		if (target->offset)
			ch_out_printf(out, "+%" PRIu64, target->offset);
		ch_out_printf(out, " (%s)", target->type ? target->type : "unknown type");
	} else if (target->kind == TARGET_MODULE) {
		ch_out_printf(out, " -> %s", target->symbol);
	}
}

static void write_target_json(struct ch_json *json, const struct target *target)
{
	ch_json_key(json, "points_to");
	if (target->kind == TARGET_ALLOCATION) {
		ch_json_begin_object(json);
		ch_json_member_address(json, "allocation", target->allocation);
		ch_json_member_u64(json, "offset", target->offset);
		ch_json_member_string_or_null(json, "type", target->type);
		ch_json_end_object(json);
	} else if (target->kind == TARGET_MODULE) {
		ch_json_begin_object(json);
		ch_json_member_string(json, "symbol", target->symbol);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
}

static const char *type_name(struct describer *d, Dwarf_Die *type_die)
{
	uint32_t id;
	struct ch_error *err = ch_dwarf_types_of_die(d->types->dwarf, type_die,
						     &id);
	const struct ch_dtype *dtype;

	if (err) {
		ch_error_destroy(err);
		return "?";
	}
	dtype = ch_dwarf_type(d->types->dwarf, id);
	return dtype ? dtype->name : "void";
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
		Dwarf_Die child;

		if (dwarf_child(type, &child) == 0) {
			do {
				Dwarf_Attribute attr;
				Dwarf_Sword value;

				if (dwarf_tag(&child) == DW_TAG_enumerator &&
				    dwarf_attr(&child, DW_AT_const_value, &attr) &&
				    dwarf_formsdata(&attr, &value) == 0 &&
				    (uint64_t)value == u) {
					snprintf(buf, buf_size, "%s (%" PRId64 ")",
						 dwarf_diename(&child), s);
					return;
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		snprintf(buf, buf_size, "%" PRId64, s);
		return;
	}
	switch (encoding) {
	case DW_ATE_boolean:
		snprintf(buf, buf_size, "%s", u ? "true" : "false");
		break;
	case DW_ATE_float:
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

static void indent(struct describer *d, int depth)
{
	for (int i = 0; i < depth; i++)
		ch_out_str(d->out, "  ");
}

// Bytes at addr, or false if they are not all in the core.
static bool read_bytes(struct describer *d, uint64_t addr, void *buf,
		       size_t size)
{
	return ch_address_space_read_quiet(d->program->address_space, addr, buf,
					   size);
}

// Up to MAX_STRING_SHOWN characters at addr, escaped, into buf.
static bool read_string(struct describer *d, uint64_t addr, size_t max,
			char *buf, size_t size)
{
	size_t n = 0;

	if (max > MAX_STRING_SHOWN)
		max = MAX_STRING_SHOWN;
	for (size_t i = 0; i < max && n + 5 < size; i++) {
		uint8_t c;

		if (!read_bytes(d, addr + i, &c, 1))
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

// "int x", "struct node *next" (as C declares them), "struct node" alone.
static const char *separator(const char *type, const char *name)
{
	size_t len = strlen(type);

	if (!*name || (len && (type[len - 1] == '*' || type[len - 1] == '&')))
		return "";
	return " ";
}

static void write_leaf(struct describer *d, int depth, const char *path,
		       const char *name, uint64_t offset, const char *type,
		       const char *value, const struct target *target)
{
	if (d->json) {
		ch_json_begin_object(d->json);
		ch_json_member_string(d->json, "field", path);
		ch_json_member_u64(d->json, "offset", offset);
		ch_json_member_string(d->json, "type", type);
		ch_json_member_string(d->json, "value", value);
		if (target)
			write_target_json(d->json, target);
		ch_json_end_object(d->json);
		return;
	}
	indent(d, depth);
	ch_out_printf(d->out, "[+%" PRIu64 "] %s%s%s = %s", offset, type,
		      separator(type, name), name, value);
	if (target)
		write_target_text(d->out, target);
	ch_out_char(d->out, '\n');
}

static void describe_value(struct describer *d, Dwarf_Die *type_die,
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

static void describe_members(struct describer *d, Dwarf_Die *type,
			     uint64_t addr, uint64_t offset, const char *path,
			     int depth)
{
	Dwarf_Die child, member_type;

	if (dwarf_child(type, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		Dwarf_Attribute attr;
		Dwarf_Word member_offset = 0;
		const char *member_name = dwarf_diename(&child);
		char *member_path;

		if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
			continue;
		if (dwarf_hasattr(&child, DW_AT_declaration) ||
		    dwarf_hasattr(&child, DW_AT_external) ||
		    !ch_dwarf_die_type(&child, &member_type))
			continue;
		if (dwarf_attr(&child, DW_AT_data_member_location, &attr) &&
		    dwarf_formudata(&attr, &member_offset) != 0)
			continue; // a virtual base: no fixed place
		if (tag == DW_TAG_inheritance) {
			member_name = "<base>";
		} else if (!member_name) {
			member_name = "<anonymous>";
		}
		if (dwarf_hasattr(&child, DW_AT_bit_size)) {
			uint64_t bits = ch_die_udata(&child, DW_AT_bit_size, 0);
			uint64_t bit = ch_die_udata(&child, DW_AT_data_bit_offset,
						 UINT64_MAX);
			uint64_t word = 0;
			char value[64];

			if (d->budget == 0)
				return;
			d->budget--;
			if (bit == UINT64_MAX || bits == 0 || bits > 64 ||
			    !read_bytes(d, addr + bit / 8, &word,
					(bit % 8 + bits + 7) / 8))
				snprintf(value, sizeof(value), "<bit-field>");
			else
				snprintf(value, sizeof(value), "%" PRIu64,
					 (word >> (bit % 8)) &
						 (bits == 64 ? UINT64_MAX :
							       (UINT64_C(1) << bits) - 1));
			if (asprintf(&member_path, "%s%s%s", path,
				     *path ? "." : "", member_name) < 0)
				return;
			write_leaf(d, depth, member_path, member_name,
				   offset + (bit == UINT64_MAX ? 0 : bit / 8),
				   type_name(d, &member_type), value, NULL);
			free(member_path);
			continue;
		}
		if (asprintf(&member_path, "%s%s%s", path, *path ? "." : "",
			     member_name) < 0)
			return;
		describe_value(d, &member_type, addr + member_offset,
			       offset + member_offset, member_name, member_path,
			       depth);
		free(member_path);
	} while (dwarf_siblingof(&child, &child) == 0 && d->budget);
}

static void describe_array(struct describer *d, Dwarf_Die *array,
			   uint64_t addr, uint64_t offset, const char *name,
			   const char *path, int depth)
{
	Dwarf_Die element, stripped, child;
	uint64_t count = 0, element_size;
	const char *array_type = type_name(d, array);

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
		char value[4 * MAX_STRING_SHOWN + 8], text[4 * MAX_STRING_SHOWN + 4];

		if (d->budget == 0)
			return;
		d->budget--;
		if (read_string(d, addr, count ? count : MAX_STRING_SHOWN, text,
				sizeof(text)))
			snprintf(value, sizeof(value), "\"%s\"", text);
		else
			snprintf(value, sizeof(value), "<not in the core>");
		write_leaf(d, depth, path, name, offset, array_type, value, NULL);
		return;
	}
	element_size = ch_die_udata(&stripped, DW_AT_byte_size, 0);
	if (dwarf_tag(&stripped) == DW_TAG_pointer_type && !element_size)
		element_size = 8;
	if (!element_size)
		return;
	if (!d->json) {
		indent(d, depth);
		ch_out_printf(d->out, "[+%" PRIu64 "] %s%s%s = {\n", offset,
			      array_type, separator(array_type, name), name);
	}
	for (uint64_t i = 0; i < count && i < MAX_ARRAY_SHOWN && d->budget; i++) {
		char element_name[32], *element_path;

		snprintf(element_name, sizeof(element_name), "[%" PRIu64 "]", i);
		if (asprintf(&element_path, "%s%s", path, element_name) < 0)
			return;
		describe_value(d, &element, addr + i * element_size,
			       offset + i * element_size, element_name,
			       element_path, depth + 1);
		free(element_path);
	}
	if (!d->json) {
		if (count > MAX_ARRAY_SHOWN) {
			indent(d, depth + 1);
			ch_out_printf(d->out, "... %" PRIu64 " more\n",
				      count - MAX_ARRAY_SHOWN);
		}
		indent(d, depth);
		ch_out_str(d->out, "}\n");
	}
}

static void describe_value(struct describer *d, Dwarf_Die *type_die,
			   uint64_t addr, uint64_t offset, const char *name,
			   const char *path, int depth)
{
	Dwarf_Die type;
	uint8_t bytes[16];
	uint64_t size;
	char value[512];
	const char *shown_type = type_name(d, type_die);
	int tag;

	if (!d->budget || !ch_dwarf_strip_die(type_die, &type))
		return;
	tag = dwarf_tag(&type);
	size = ch_die_udata(&type, DW_AT_byte_size, 0);
	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		if (!has_data_members(&type)) {
			// Empty bases (allocators, comparators): one line.
			d->budget--;
			write_leaf(d, depth, path, name, offset, shown_type, "{}",
				   NULL);
			return;
		}
		if (depth >= MAX_DEPTH) {
			d->budget--;
			write_leaf(d, depth, path, name, offset, shown_type,
				   "{...}", NULL);
			return;
		}
		if (!d->json) {
			indent(d, depth);
			ch_out_printf(d->out, "[+%" PRIu64 "] %s%s%s = {\n",
				      offset, shown_type,
				      separator(shown_type, name), name);
		}
		describe_members(d, &type, addr, offset, path, depth + 1);
		if (!d->json) {
			indent(d, depth);
			ch_out_str(d->out, "}\n");
		}
		return;
	case DW_TAG_array_type:
		describe_array(d, &type, addr, offset, name, path, depth);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		uint64_t pointer;
		struct target target;
		Dwarf_Die pointee, stripped;

		d->budget--;
		if (!read_bytes(d, addr, &pointer, 8)) {
			write_leaf(d, depth, path, name, offset, shown_type,
				   "<not in the core>", NULL);
			return;
		}
		find_target(d, pointer, &target);
		if (!pointer)
			snprintf(value, sizeof(value), "NULL");
		else
			snprintf(value, sizeof(value), "0x%" PRIx64, pointer);
		// A char pointer: show the text too.
		if (pointer && ch_dwarf_die_type(&type, &pointee) &&
		    ch_dwarf_strip_die(&pointee, &stripped) &&
		    is_char_type(&stripped)) {
			char text[4 * MAX_STRING_SHOWN + 4];

			if (read_string(d, pointer, MAX_STRING_SHOWN, text,
					sizeof(text)))
				snprintf(value, sizeof(value),
					 "0x%" PRIx64 " \"%s\"", pointer, text);
		}
		write_leaf(d, depth, path, name, offset, shown_type, value,
			   &target);
		return;
	}
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
		d->budget--;
		if (!size || size > sizeof(bytes) || !read_bytes(d, addr, bytes, size))
			snprintf(value, sizeof(value), "<not in the core>");
		else
			format_scalar(&type, bytes, size, value, sizeof(value));
		write_leaf(d, depth, path, name, offset, shown_type, value, NULL);
		return;
	default:
		d->budget--;
		write_leaf(d, depth, path, name, offset, shown_type, "<?>", NULL);
		return;
	}
}

static void hex_dump(struct describer *d, uint64_t start, uint64_t len)
{
	for (uint64_t line = 0; line < len; line += 16) {
		uint8_t bytes[16];
		size_t n = len - line < 16 ? len - line : 16;
		bool ok = read_bytes(d, start + line, bytes, n);

		ch_out_printf(d->out, "  0x%016" PRIx64 ":", start + line);
		for (size_t i = 0; i < 16; i++) {
			if (i < n && ok)
				ch_out_printf(d->out, " %02x", bytes[i]);
			else
				ch_out_str(d->out, i < n ? " ??" : "   ");
		}
		ch_out_str(d->out, "  |");
		for (size_t i = 0; i < n; i++)
			ch_out_char(d->out, ok && bytes[i] >= 0x20 && bytes[i] < 0x7f ?
						    (char)bytes[i] :
						    '.');
		ch_out_str(d->out, "|\n");
	}
}

static void hex_json(struct describer *d, uint64_t start, uint64_t len)
{
	bool ok = true;
	char *hex;

	// The JSON string is built whole: keep it reasonable.
	if (len > MAX_JSON_DUMP)
		len = MAX_JSON_DUMP;
	hex = malloc(2 * len + 1);
	if (!hex)
		return;
	hex[0] = '\0';
	for (uint64_t i = 0; i < len && ok; i++) {
		uint8_t byte;

		ok = read_bytes(d, start + i, &byte, 1);
		if (ok)
			snprintf(hex + 2 * i, 3, "%02x", byte);
	}
	ch_json_key(d->json, "bytes");
	if (ok)
		ch_json_string(d->json, hex);
	else
		ch_json_null(d->json);
	free(hex);
}

// The DWARF type of element index of the allocation's type info, if any.
static bool element_die(struct describer *d, const struct ch_type_info *info,
			Dwarf_Die *ret)
{
	return info->dtype &&
	       ch_dwarf_types_die(d->types->dwarf, info->dtype, ret, NULL);
}

static void describe_allocation(struct describer *d, uint64_t addr,
				size_t index, uint64_t max_bytes)
{
	const struct ch_heap *heap = &d->program->heap;
	const struct ch_block *block = &heap->live.blocks[index];
	enum ch_type_source source;
	const char *type = ch_heap_block_type(heap, index, &source);
	const struct ch_type_info *info = &d->types->infos[heap->block_types[index]];
	const struct ch_dtype *dtype = ch_dwarf_type(d->types->dwarf, info->dtype);
	const char *allocator = d->program->allocators.uses[block->allocator].ops->name;
	uint64_t offset = addr - block->address, element = 0, element_start;
	bool has_element = false;
	Dwarf_Die die;
	char vtable[512] = "";
	uint64_t vptr;

	if (dtype && dtype->size && offset >= info->first_offset) {
		element = (offset - info->first_offset) / dtype->size;
		has_element = info->count != 1 || element == 0;
		if (info->count > 1 && element >= info->count)
			has_element = false;
	}
	element_start = block->address + info->first_offset +
			element * (dtype ? dtype->size : 0);
	if (source == CH_TYPE_VTABLE &&
	    read_bytes(d, element_start, &vptr, 8))
		name_module_address(d->program, vptr, vtable, sizeof(vtable));
	if (d->json) {
		ch_json_key(d->json, "allocation");
		ch_json_begin_object(d->json);
		ch_json_member_address(d->json, "address", block->address);
		ch_json_member_u64(d->json, "size", block->size);
		ch_json_member_string(d->json, "allocator", allocator);
		ch_json_member_u64(d->json, "offset", offset);
		ch_json_member_string_or_null(d->json, "type", type);
		ch_json_member_string(d->json, "type_source", ch_type_source_names[source]);
		ch_json_member_bool(d->json, "conflicting_evidence", ch_types_conflicted(d->types, index));
		if (has_element && info->count != 1) {
			ch_json_member_u64(d->json, "element", element);
		}
		if (*vtable) {
			ch_json_member_string(d->json, "vtable", vtable);
		}
		ch_json_end_object(d->json);
	} else {
		ch_out_printf(d->out, "0x%" PRIx64 " is ", addr);
		if (offset)
			ch_out_printf(d->out, "%" PRIu64 " bytes into", offset);
		else
			ch_out_str(d->out, "the start of");
		ch_out_printf(d->out, " the allocation at 0x%" PRIx64
			      " (%" PRIu64 " usable bytes, %s)\n",
			      block->address, block->size, allocator);
		ch_out_printf(d->out, "type: %s (%s%s)\n",
			      type ? type : "unknown",
			      ch_type_source_names[source],
			      ch_types_conflicted(d->types, index) ?
				      "; other evidence disagreed" :
				      "");
		if (*vtable)
			ch_out_printf(d->out, "vtable: 0x%" PRIx64 " = %s\n", vptr,
				      vtable);
		if (has_element && info->count > 1)
			ch_out_printf(d->out, "element %" PRIu64 " of %" PRIu64
				      ", at 0x%" PRIx64 ":\n",
				      element, info->count, element_start);
	}
	if (has_element && element_die(d, info, &die)) {
		if (d->json) {
			ch_json_key(d->json, "fields");
			ch_json_begin_array(d->json);
		}
		describe_value(d, &die, element_start, element_start - block->address,
			       "", "", 0);
		if (d->json)
			ch_json_end_array(d->json);
		return;
	}
	// No layout: the raw bytes, from the start or around the address.
	uint64_t start = offset < max_bytes / 2 ? 0 : (offset - max_bytes / 4) & ~UINT64_C(15);
	uint64_t len = block->size - start < max_bytes ? block->size - start : max_bytes;

	if (d->json) {
		ch_json_member_u64(d->json, "dump_offset", start);
		hex_json(d, block->address + start, len);
	} else {
		hex_dump(d, block->address + start, len);
		if (start + len < block->size)
			ch_out_printf(d->out, "  ... %" PRIu64 " more bytes\n",
				      block->size - start - len);
	}
}

// A free block of an allocator holding addr (linear: free blocks are not
// sorted, and this runs once).
static const struct ch_block *find_free_block(const struct ch_heap *heap,
					      uint64_t addr)
{
	for (size_t i = 0; i < heap->free.len; i++) {
		const struct ch_block *block = &heap->free.blocks[i];

		if (addr - block->address < block->size)
			return block;
	}
	return NULL;
}

static bool find_variable(struct describer *d, uint64_t addr,
			  const struct ch_dwarf_variable **variable_ret,
			  uint32_t *type_ret)
{
	struct ch_dwarf_types *dwarf = d->types->dwarf;

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

static void describe_elsewhere(struct describer *d, uint64_t addr)
{
	const struct ch_heap *heap = &d->program->heap;
	const struct ch_block *free_block = find_free_block(heap, addr);
	const struct ch_mapping *mapping =
		ch_address_space_mapping(d->program->address_space, addr);
	const struct ch_dwarf_variable *variable;
	char symbol[512];
	bool in_module = name_module_address(d->program, addr, symbol,
					     sizeof(symbol));
	uint32_t type;
	Dwarf_Die die;

	if (d->json) {
		ch_json_key(d->json, "allocation");
		ch_json_null(d->json);
		ch_json_key(d->json, "free_block");
		if (free_block) {
			ch_json_begin_object(d->json);
			ch_json_member_address(d->json, "address", free_block->address);
			ch_json_member_u64(d->json, "size", free_block->size);
			ch_json_end_object(d->json);
		} else {
			ch_json_null(d->json);
		}
		ch_json_member_string_or_null(d->json, "symbol", in_module ? symbol : NULL);
		ch_json_key(d->json, "mapping");
		if (mapping) {
			ch_json_begin_object(d->json);
			ch_json_member_address(d->json, "start", mapping->start);
			ch_json_member_address(d->json, "end", mapping->end);
			ch_json_member_string_or_null(d->json, "file", mapping->file);
			ch_json_end_object(d->json);
		} else {
			ch_json_null(d->json);
		}
	} else {
		ch_out_printf(d->out, "0x%" PRIx64 " is in no live allocation", addr);
		if (free_block)
			ch_out_printf(d->out, "; it is in a free block at 0x%" PRIx64
				      " (%" PRIu64 " bytes)",
				      free_block->address, free_block->size);
		ch_out_char(d->out, '\n');
		if (in_module)
			ch_out_printf(d->out, "symbol: %s\n", symbol);
		if (mapping)
			ch_out_printf(d->out, "mapping: 0x%" PRIx64 "-0x%" PRIx64 " %s\n",
				      mapping->start, mapping->end,
				      mapping->file ? mapping->file : "(anonymous)");
		else
			ch_out_str(d->out, "mapping: none (not in the process)\n");
	}
	if (!find_variable(d, addr, &variable, &type) ||
	    !ch_dwarf_types_die(d->types->dwarf, type, &die, NULL))
		return;
	if (d->json) {
		ch_json_member_address(d->json, "variable_address", variable->address);
		ch_json_key(d->json, "fields");
		ch_json_begin_array(d->json);
	} else {
		ch_out_printf(d->out, "variable at 0x%" PRIx64 ":\n",
			      variable->address);
	}
	describe_value(d, &die, variable->address, 0, "", "", 0);
	if (d->json)
		ch_json_end_array(d->json);
}

int cmd_describe(int argc, char **argv)
{
	struct describe_options describe_opts = { .bytes = DEFAULT_DUMP_BYTES };
	struct ch_command_options options;
	struct ch_program *program = NULL;
	struct ch_types *types = NULL;
	static struct ch_out out;
	struct ch_json json;
	struct describer d;
	uint64_t addr;
	const struct ch_block *block;
	struct ch_error *err;

	err = ch_options_parse(argc, argv, describe_usage, DESCRIBE_FORMATS,
			       describe_options, &describe_opts, &options);
	if (err || options.help)
		return ch_command_finish(NULL, err);
	err = ch_command_open_at_address(&options, "describe", &addr, &program);
	if (!err)
		err = ch_types_create(program, &types);
	if (err) {
		ch_types_destroy(types);
		return ch_command_finish(program, err);
	}
	ch_out_init(&out, stdout);
	d = (struct describer){
		.program = program,
		.types = types,
		.out = &out,
		.budget = MAX_FIELDS_SHOWN,
	};
	if (options.format == CH_FORMAT_JSON) {
		ch_json_init(&json, &out, true);
		d.json = &json;
		ch_json_begin_object(&json);
		ch_json_member_address(&json, "address", addr);
	}
	block = ch_heap_find(&program->heap, addr);
	if (block)
		describe_allocation(&d, addr, block - program->heap.live.blocks,
				    describe_opts.bytes);
	else
		describe_elsewhere(&d, addr);
	if (d.json)
		ch_json_end_object(&json);
	err = ch_out_finish(&out);
	ch_types_destroy(types);
	return ch_command_finish(program, err);
}
