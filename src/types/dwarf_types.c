// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <dwarf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash_map.h"
#include "base/strbuf.h"
#include "base/vector.h"
#include "types/dwarf_types.h"

// DWARF trees are shallow (17 levels in glibc); deeper means damage.
#define MAX_WALK_DEPTH 64
// Type chains (pointer to pointer to array of ...), and nesting of members.
#define MAX_TYPE_DEPTH 32
// Slots one type may have: a global `struct x *table[1 << 20]` is one
// strided slot, but arrays of arrays of structs are spelled out.
#define MAX_SLOTS_PER_TYPE 4096
#define MAX_ARRAY_DIMENSIONS 8
#define ARENA_CHUNK 65536

#ifndef DW_TAG_immutable_type
#define DW_TAG_immutable_type 0x4b
#endif

enum layout_state { LAYOUT_NONE, LAYOUT_BUSY, LAYOUT_DONE };

// Die keys: module (+1) above bit 41, "in the alternate (dwz) file" at bit
// 40, the DIE's section offset below.
#define KEY_MODULE_SHIFT 41
#define KEY_ALT_BIT (UINT64_C(1) << 40)
#define KEY_OFFSET_MASK (KEY_ALT_BIT - 1)

struct dwarf_module {
	uint32_t module_index;
	Dwarf *dwarf;
	Dwarf *alt;
	uint64_t bias;
};

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	char data[];
};

struct ch_dwarf_types_private {
	struct dwarf_module *modules;
	size_t num_modules;
	size_t types_capacity, slots_capacity, variables_capacity;
	/** DIE key -> type id. */
	struct ch_u64_map type_of_die;
	/** Canonical name -> type id, for named types. */
	struct ch_name_map type_by_name;
	/** DIE key -> qualified name (in the arena), for scoped C++ types. */
	struct ch_u64_map qualified_names;
	/** Name -> index in definition_keys: struct/class/union definitions. */
	struct ch_name_map definitions;
	uint64_t *definition_keys;
	size_t num_definitions, definitions_capacity;
	/** Global variable addresses seen, to drop duplicate definitions. */
	struct ch_u64_map variable_addresses;
	/** (inner << 32 | outer) -> ch_dwarf_types_is_prefix() + 1. */
	struct ch_u64_map prefix_cache;
	struct arena_chunk *arena;
};

static char *arena_alloc(struct ch_dwarf_types_private *p, size_t len)
{
	struct arena_chunk *chunk = p->arena;

	if (!chunk || chunk->size - chunk->used < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		chunk = malloc(sizeof(*chunk) + size);
		if (!chunk)
			return NULL;
		chunk->next = p->arena;
		chunk->used = 0;
		chunk->size = size;
		p->arena = chunk;
	}
	chunk->used += len;
	return chunk->data + chunk->used - len;
}

static char *arena_printf(struct ch_dwarf_types_private *p, const char *format,
			  ...) __attribute__((format(printf, 2, 3)));

static char *arena_printf(struct ch_dwarf_types_private *p, const char *format,
			  ...)
{
	va_list ap;
	int len;
	char *s;

	va_start(ap, format);
	len = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	s = arena_alloc(p, len + 1);
	if (!s)
		return NULL;
	va_start(ap, format);
	vsnprintf(s, len + 1, format, ap);
	va_end(ap);
	return s;
}

/* DIE keys and modules. */

static uint32_t module_of_die(const struct ch_dwarf_types *types,
			      Dwarf_Die *die, bool *alt_ret)
{
	Dwarf *dwarf = dwarf_cu_getdwarf(die->cu);
	const struct ch_dwarf_types_private *p = types->private;

	for (size_t i = 0; i < p->num_modules; i++) {
		if (p->modules[i].dwarf == dwarf || p->modules[i].alt == dwarf) {
			*alt_ret = p->modules[i].dwarf != dwarf;
			return i;
		}
	}
	return UINT32_MAX;
}

static uint64_t die_key(const struct ch_dwarf_types *types, Dwarf_Die *die)
{
	bool alt;
	uint32_t dwmod = module_of_die(types, die, &alt);

	if (dwmod == UINT32_MAX)
		return 0;
	return ((uint64_t)(dwmod + 1) << KEY_MODULE_SHIFT) |
	       (alt ? KEY_ALT_BIT : 0) | (dwarf_dieoffset(die) & KEY_OFFSET_MASK);
}

bool ch_dwarf_types_die_of_key(struct ch_dwarf_types *types, uint64_t key,
			       Dwarf_Die *die_ret)
{
	const struct ch_dwarf_types_private *p = types->private;
	uint64_t dwmod = (key >> KEY_MODULE_SHIFT);
	Dwarf *dwarf;

	if (dwmod == 0 || dwmod > p->num_modules)
		return false;
	dwarf = key & KEY_ALT_BIT ? p->modules[dwmod - 1].alt :
				    p->modules[dwmod - 1].dwarf;
	return dwarf && dwarf_offdie(dwarf, key & KEY_OFFSET_MASK, die_ret);
}

bool ch_dwarf_types_die(struct ch_dwarf_types *types, uint32_t id,
			Dwarf_Die *die_ret, uint32_t *module_ret)
{
	const struct ch_dtype *type = ch_dwarf_type(types, id);
	uint64_t dwmod;

	if (!type || !type->die_key ||
	    !ch_dwarf_types_die_of_key(types, type->die_key, die_ret))
		return false;
	dwmod = (type->die_key >> KEY_MODULE_SHIFT) - 1;
	if (module_ret)
		*module_ret = types->private->modules[dwmod].module_index;
	return true;
}

/* Small DIE helpers. */

static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;

	return dwarf_attr_integrate(die, DW_AT_type, &attr) &&
	       dwarf_formref_die(&attr, ret);
}

static bool has_flag(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;
	bool flag = false;

	return dwarf_attr(die, name, &attr) && dwarf_formflag(&attr, &flag) == 0 &&
	       flag;
}

uint64_t ch_die_udata(Dwarf_Die *die, unsigned int name, uint64_t dflt)
{
	Dwarf_Attribute attr;
	Dwarf_Word value;

	if (!dwarf_attr_integrate(die, name, &attr) ||
	    dwarf_formudata(&attr, &value) != 0)
		return dflt;
	return value;
}

static bool is_cxx_die(Dwarf_Die *die)
{
	Dwarf_Die cudie;
	int lang;

	if (!dwarf_diecu(die, &cudie, NULL, NULL))
		return false;
	lang = dwarf_srclang(&cudie);
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

// A member's or base's offset: a constant, or DW_OP_plus_uconst (DWARF 2).
static bool member_offset(Dwarf_Die *die, uint64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word value;
	Dwarf_Op *ops;
	size_t nops;

	if (!dwarf_attr(die, DW_AT_data_member_location, &attr)) {
		*ret = 0;
		return true;
	}
	if (dwarf_formudata(&attr, &value) == 0) {
		*ret = value;
		return true;
	}
	// A virtual base's location is an expression of the object: no
	// fixed offset.
	if (dwarf_getlocation(&attr, &ops, &nops) == 0 && nops == 1 &&
	    ops[0].atom == DW_OP_plus_uconst) {
		*ret = ops[0].number;
		return true;
	}
	return false;
}

static const char *qualified_name(struct ch_dwarf_types *types, Dwarf_Die *die)
{
	uint64_t value;

	if (ch_u64_map_get(&types->private->qualified_names,
			   die_key(types, die), &value))
		return (const char *)(uintptr_t)value;
	return dwarf_diename(die);
}

/*
 * GCC names integer types "long int", "long unsigned int", ... in DWARF,
 * also inside template arguments ("Box<long int>"), where the demangler
 * (and so the names of classes found by their vtables) says "long",
 * "unsigned long". Use the demangler's spelling, in place (it is shorter).
 */
static void normalize_integer_names(char *name)
{
	static const char *const from[] = {
		"long long unsigned int", "long long int", "long unsigned int",
		"long int", "short unsigned int", "short int",
	};
	static const char *const to[] = {
		"unsigned long long", "long long", "unsigned long",
		"long", "unsigned short", "short",
	};

	if (!name || (!strstr(name, "long") && !strstr(name, "short")))
		return;
	for (size_t i = 0; i < sizeof(from) / sizeof(*from); i++) {
		size_t from_len = strlen(from[i]), to_len = strlen(to[i]);
		char *hit = name;

		while ((hit = strstr(hit, from[i]))) {
			char before = hit == name ? ' ' : hit[-1];
			char after = hit[from_len];

			if ((before == '_' || isalnum((unsigned char)before)) ||
			    (after == '_' || isalnum((unsigned char)after))) {
				hit += from_len;
				continue;
			}
			memcpy(hit, to[i], to_len);
			memmove(hit + to_len, hit + from_len,
				strlen(hit + from_len) + 1);
			hit += to_len;
		}
	}
}

/* The walk: variables, definitions and qualified names. */

struct walk {
	struct ch_dwarf_types *types;
	uint32_t dwmod;
	bool cxx;
	struct ch_strbuf scope;
};

static struct ch_error *note_type(struct walk *walk, Dwarf_Die *die, int tag)
{
	struct ch_dwarf_types_private *p = walk->types->private;
	const char *name = dwarf_diename(die), *key;
	struct ch_error *err;
	uint32_t existing;

	if (!name)
		return NULL;
	key = name;
	if (walk->cxx && (walk->scope.len || strstr(name, "long") ||
			  strstr(name, "short"))) {
		char *qualified = walk->scope.len ?
					  arena_printf(p, "%s::%s",
						       walk->scope.buf, name) :
					  arena_printf(p, "%s", name);

		if (!qualified)
			return &ch_enomem;
		normalize_integer_names(qualified);
		key = qualified;
		err = ch_u64_map_put(&p->qualified_names,
				     die_key(walk->types, die),
				     (uintptr_t)key);
		if (err)
			return err;
	}
	if (tag == DW_TAG_typedef || tag == DW_TAG_enumeration_type ||
	    has_flag(die, DW_AT_declaration))
		return NULL;
	if (!walk->cxx) {
		key = arena_printf(p, "%s %s",
				   tag == DW_TAG_union_type ? "union" : "struct",
				   name);
		if (!key)
			return &ch_enomem;
	}
	if (ch_name_map_get(&p->definitions, key, &existing))
		return NULL;
	err = ch_vector_reserve((void **)&p->definition_keys,
				&p->definitions_capacity,
				sizeof(*p->definition_keys),
				p->num_definitions + 1);
	if (err)
		return err;
	p->definition_keys[p->num_definitions] = die_key(walk->types, die);
	return ch_name_map_put(&p->definitions, key, p->num_definitions++);
}

static struct ch_error *note_variable(struct walk *walk, Dwarf_Die *die)
{
	struct ch_dwarf_types *types = walk->types;
	struct ch_dwarf_types_private *p = types->private;
	const struct dwarf_module *m = &p->modules[walk->dwmod];
	struct ch_dwarf_variable variable = {
		.module = m->module_index,
		.die_key = die_key(types, die),
	};
	Dwarf_Attribute attr;
	Dwarf_Op *ops;
	size_t nops;
	uint64_t seen;
	struct ch_error *err;

	if (!dwarf_attr(die, DW_AT_location, &attr) ||
	    dwarf_getlocation(&attr, &ops, &nops) != 0)
		return NULL;
	if (nops == 1 && ops[0].atom == DW_OP_addr) {
		variable.address = ops[0].number + m->bias;
		// COMDAT definitions (inline variables, template statics)
		// repeat in every unit that uses them.
		if (ch_u64_map_get(&p->variable_addresses, variable.address,
				   &seen))
			return NULL;
		err = ch_u64_map_put(&p->variable_addresses, variable.address,
				     1);
		if (err)
			return err;
	} else if (nops == 2 &&
		   (ops[1].atom == DW_OP_form_tls_address ||
		    ops[1].atom == DW_OP_GNU_push_tls_address) &&
		   (ops[0].atom == DW_OP_const8u || ops[0].atom == DW_OP_const4u ||
		    ops[0].atom == DW_OP_constu)) {
		variable.is_tls = true;
		variable.address = ops[0].number;
	} else {
		return NULL;
	}
	err = ch_vector_reserve((void **)&types->variables,
				&p->variables_capacity,
				sizeof(*types->variables),
				types->num_variables + 1);
	if (err)
		return err;
	types->variables[types->num_variables++] = variable;
	return NULL;
}

static struct ch_error *walk_children(struct walk *walk, Dwarf_Die *parent,
				      int depth);

static struct ch_error *walk_scope(struct walk *walk, Dwarf_Die *die,
				   const char *name, int depth)
{
	size_t saved = walk->scope.len;
	struct ch_error *err;

	err = ch_strbuf_appendf(&walk->scope, "%s%s", saved ? "::" : "", name);
	if (!err)
		err = walk_children(walk, die, depth + 1);
	walk->scope.len = saved;
	if (walk->scope.buf)
		walk->scope.buf[saved] = '\0';
	return err;
}

static struct ch_error *walk_children(struct walk *walk, Dwarf_Die *parent,
				      int depth)
{
	Dwarf_Die die;
	struct ch_error *err = NULL;

	if (depth > MAX_WALK_DEPTH || dwarf_child(parent, &die) != 0)
		return NULL;
	do {
		int tag = dwarf_tag(&die);
		const char *name;

		switch (tag) {
		case DW_TAG_namespace:
			name = dwarf_diename(&die);
			err = walk_scope(walk, &die,
					 name ? name : "(anonymous namespace)",
					 depth);
			break;
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type:
			err = note_type(walk, &die, tag);
			// Nested types and static members of C++ classes.
			name = dwarf_diename(&die);
			if (!err && walk->cxx && name && dwarf_haschildren(&die))
				err = walk_scope(walk, &die, name, depth);
			break;
		case DW_TAG_enumeration_type:
		case DW_TAG_typedef:
			err = note_type(walk, &die, tag);
			break;
		case DW_TAG_variable:
			err = note_variable(walk, &die);
			break;
		case DW_TAG_subprogram:
		case DW_TAG_lexical_block:
			// Function-local statics live in here.
			err = walk_children(walk, &die, depth + 1);
			break;
		default:
			break;
		}
	} while (!err && dwarf_siblingof(&die, &die) == 0);
	return err;
}

static struct ch_error *walk_units(struct ch_dwarf_types *types,
				   uint32_t dwmod, Dwarf *dwarf)
{
	struct walk walk = { .types = types, .dwmod = dwmod };
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	struct ch_error *err = NULL;

	while (!err && dwarf_get_units(dwarf, cu, &cu, &version, &unit_type,
				       &cudie, &subdie) == 0) {
		int lang;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		lang = dwarf_srclang(&cudie);
		walk.cxx = lang == DW_LANG_C_plus_plus ||
			   lang == DW_LANG_C_plus_plus_03 ||
			   lang == DW_LANG_C_plus_plus_11 ||
			   lang == DW_LANG_C_plus_plus_14;
		walk.scope.len = 0;
		if (walk.scope.buf)
			walk.scope.buf[0] = '\0';
		err = walk_children(&walk, &cudie, 0);
	}
	ch_strbuf_deinit(&walk.scope);
	return err;
}

/* Making types. */

static struct ch_error *new_type(struct ch_dwarf_types *types,
				 const struct ch_dtype *type, uint32_t *ret)
{
	struct ch_dwarf_types_private *p = types->private;
	struct ch_error *err;

	if (types->num_types >= UINT32_MAX - 1)
		return ch_error_create(CH_ERROR_CORRUPT, "too many types");
	err = ch_vector_reserve((void **)&types->types, &p->types_capacity,
				sizeof(*types->types), types->num_types + 1);
	if (err)
		return err;
	types->types[types->num_types] = *type;
	*ret = types->num_types++;
	return NULL;
}

// The type named name, if any, with this kind and size; else a new one,
// which becomes the one of its name unless it is anonymous.
static struct ch_error *named_type(struct ch_dwarf_types *types,
				   const struct ch_dtype *type, bool unique,
				   uint32_t *ret)
{
	struct ch_dwarf_types_private *p = types->private;
	uint32_t id;
	struct ch_error *err;

	if (!type->name)
		return &ch_enomem;
	if (unique && ch_name_map_get(&p->type_by_name, type->name, &id) &&
	    types->types[id].kind == type->kind &&
	    types->types[id].size == type->size) {
		*ret = id;
		return NULL;
	}
	err = new_type(types, type, &id);
	if (!err && unique && !ch_name_map_get(&p->type_by_name, type->name,
						&(uint32_t){ 0 }))
		err = ch_name_map_put(&p->type_by_name, types->types[id].name,
				      id);
	if (!err)
		*ret = id;
	return err;
}

static struct ch_error *type_from_die(struct ch_dwarf_types *types,
				      Dwarf_Die *die, int depth, uint32_t *ret);

// For names and hints, where a type that cannot be made is just unknown.
static uint32_t type_or_none(struct ch_dwarf_types *types, Dwarf_Die *die,
			     int depth)
{
	uint32_t id;
	struct ch_error *err = type_from_die(types, die, depth, &id);

	if (err) {
		ch_error_destroy(err);
		return CH_DTYPE_NONE;
	}
	return id;
}

static bool ends_with(const char *s, char c)
{
	size_t len = strlen(s);

	return len && s[len - 1] == c;
}

int ch_format_array_name(char *buf, size_t size, const char *element,
			 uint64_t count)
{
	char dim[24];
	const char *insert = strstr(element, "(*");

	if (count)
		snprintf(dim, sizeof(dim), "[%llu]", (unsigned long long)count);
	else
		snprintf(dim, sizeof(dim), "[]");
	if (insert)
		insert += 2;
	else
		insert = strchr(element, '[');
	if (!insert)
		return snprintf(buf, size, "%s%s", element, dim);
	return snprintf(buf, size, "%.*s%s%s", (int)(insert - element), element,
			dim, insert);
}

static char *array_name(struct ch_dwarf_types_private *p, const char *element,
			uint64_t count)
{
	int len = ch_format_array_name(NULL, 0, element, count);
	char *name = len < 0 ? NULL : arena_alloc(p, len + 1);

	if (name)
		ch_format_array_name(name, len + 1, element, count);
	return name;
}

static struct ch_error *array_of(struct ch_dwarf_types *types,
				 uint32_t element, uint64_t count,
				 uint32_t *ret)
{
	const struct ch_dtype *elem = &types->types[element];
	uint64_t size = 0;
	struct ch_dtype type = {
		.kind = CH_DTYPE_ARRAY,
		.element = element,
		.count = count,
		.is_byte = false,
	};

	if (count && elem->size && count <= UINT64_MAX / elem->size)
		size = count * elem->size;
	type.size = size;
	type.name = array_name(types->private, elem->name, count);
	return named_type(types, &type, true, ret);
}

static struct ch_error *make_array(struct ch_dwarf_types *types,
				   Dwarf_Die *die, int depth, uint32_t *ret)
{
	uint64_t counts[MAX_ARRAY_DIMENSIONS];
	size_t num_dims = 0;
	Dwarf_Die element_die, child;
	uint32_t id = CH_DTYPE_NONE;
	struct ch_error *err;

	*ret = CH_DTYPE_NONE;
	if (!type_of(die, &element_die))
		return NULL;
	err = type_from_die(types, &element_die, depth + 1, &id);
	if (err || !id)
		return err;
	if (dwarf_child(die, &child) == 0) {
		do {
			if (dwarf_tag(&child) != DW_TAG_subrange_type ||
			    num_dims == MAX_ARRAY_DIMENSIONS)
				continue;
			uint64_t count = ch_die_udata(&child, DW_AT_count, 0);

			if (!count && dwarf_hasattr(&child, DW_AT_upper_bound)) {
				Dwarf_Attribute attr;
				Dwarf_Word upper;

				// A non-constant bound (a VLA) is unknown: 0.
				if (dwarf_attr(&child, DW_AT_upper_bound, &attr) &&
				    dwarf_formudata(&attr, &upper) == 0 &&
				    upper < UINT64_MAX)
					count = upper + 1 -
						ch_die_udata(&child, DW_AT_lower_bound, 0);
			}
			counts[num_dims++] = count;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (num_dims == 0)
		counts[num_dims++] = 0;
	for (size_t i = num_dims; i-- > 0;) {
		err = array_of(types, id, counts[i], &id);
		if (err)
			return err;
	}
	*ret = id;
	return NULL;
}

static const char *type_name_or(struct ch_dwarf_types *types, uint32_t id,
				const char *dflt)
{
	const struct ch_dtype *type = ch_dwarf_type(types, id);

	return type ? type->name : dflt;
}

static char *function_pointer_name(struct ch_dwarf_types *types,
				   Dwarf_Die *function, const char *declarator,
				   int depth)
{
	struct ch_strbuf params = { 0 };
	Dwarf_Die die, child;
	uint32_t id = CH_DTYPE_NONE;
	const char *ret_name = "void";
	char *name = NULL;
	bool any = false;

	if (type_of(function, &die) &&
	    (id = type_or_none(types, &die, depth + 1)))
		ret_name = types->types[id].name;
	if (dwarf_child(function, &child) == 0) {
		do {
			int tag = dwarf_tag(&child);
			const char *param = NULL;

			if (tag == DW_TAG_formal_parameter) {
				id = CH_DTYPE_NONE;
				if (type_of(&child, &die))
					id = type_or_none(types, &die,
							  depth + 1);
				param = type_name_or(types, id, "void *");
			} else if (tag == DW_TAG_unspecified_parameters) {
				param = "...";
			}
			if (param &&
			    ch_strbuf_appendf(&params, "%s%s", any ? ", " : "",
					      param))
				goto out;
			any |= param != NULL;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	name = arena_printf(types->private, "%s (%s)(%s)", ret_name, declarator,
			    any ? params.buf : "void");
out:
	ch_strbuf_deinit(&params);
	return name;
}

// Through typedefs and qualifiers; false for void.
static bool strip_die(Dwarf_Die *die, Dwarf_Die *ret,
		      const char **typedef_name_ret,
		      struct ch_dwarf_types *types)
{
	Dwarf_Die cur = *die;

	for (int steps = 0; steps < MAX_TYPE_DEPTH; steps++) {
		switch (dwarf_tag(&cur)) {
		case DW_TAG_typedef:
			if (typedef_name_ret && types)
				*typedef_name_ret = qualified_name(types, &cur);
			// fallthrough
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
		case DW_TAG_immutable_type:
			if (!type_of(&cur, &cur))
				return false;
			break;
		default:
			*ret = cur;
			return true;
		}
	}
	return false;
}

bool ch_dwarf_strip_die(Dwarf_Die *die, Dwarf_Die *ret)
{
	return strip_die(die, ret, NULL, NULL);
}

bool ch_dwarf_die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	return type_of(die, ret);
}

static struct ch_error *make_pointer(struct ch_dwarf_types *types,
				     Dwarf_Die *die, int tag, int depth,
				     uint32_t *ret)
{
	const char *op = tag == DW_TAG_pointer_type ? "*" :
			 tag == DW_TAG_reference_type ? "&" : "&&";
	struct ch_dtype type = {
		.kind = CH_DTYPE_POINTER,
		.size = ch_die_udata(die, DW_AT_byte_size, 8),
	};
	Dwarf_Die target, stripped;
	struct ch_error *err;

	if (!type_of(die, &target) || !strip_die(&target, &stripped, NULL, NULL)) {
		type.name = arena_printf(types->private, "void %s", op);
	} else if (dwarf_tag(&stripped) == DW_TAG_subroutine_type) {
		char declarator[4];

		snprintf(declarator, sizeof(declarator), "%s", op);
		type.name = function_pointer_name(types, &stripped, declarator,
						  depth);
	} else {
		const struct ch_dtype *pointee;

		err = type_from_die(types, &target, depth + 1, &type.pointee);
		if (err)
			return err;
		pointee = ch_dwarf_type(types, type.pointee);
		if (!pointee) {
			type.name = arena_printf(types->private, "void %s", op);
		} else if (pointee->kind == CH_DTYPE_ARRAY) {
			// int (*)[10]
			const char *bracket = strchr(pointee->name, '[');

			type.name = arena_printf(types->private, "%.*s(%s)%s",
						 (int)(bracket - pointee->name),
						 pointee->name, op, bracket);
		} else {
			type.name = arena_printf(types->private, "%s%s%s",
						 pointee->name,
						 ends_with(pointee->name, '*') ||
								 ends_with(pointee->name, '&') ?
							 "" :
							 " ",
						 op);
		}
	}
	return named_type(types, &type, true, ret);
}

static bool is_byte_name(const char *name)
{
	return strcmp(name, "char") == 0 || strcmp(name, "signed char") == 0 ||
	       strcmp(name, "unsigned char") == 0 ||
	       strcmp(name, "std::byte") == 0 || strcmp(name, "char8_t") == 0;
}

static struct ch_error *make_base(struct ch_dwarf_types *types, Dwarf_Die *die,
				  int tag, uint32_t *ret)
{
	const char *name = tag == DW_TAG_enumeration_type ?
				   qualified_name(types, die) :
				   dwarf_diename(die);
	uint64_t encoding = ch_die_udata(die, DW_AT_encoding, 0);
	struct ch_dtype type = {
		.kind = tag == DW_TAG_enumeration_type ? CH_DTYPE_ENUM :
							 CH_DTYPE_BASE,
		.size = ch_die_udata(die, DW_AT_byte_size, 0),
	};

	if (tag == DW_TAG_enumeration_type) {
		if (!name)
			type.name = arena_printf(types->private, "enum <anonymous>");
		else if (is_cxx_die(die))
			type.name = arena_printf(types->private, "%s", name);
		else
			type.name = arena_printf(types->private, "enum %s", name);
	} else {
		type.name = arena_printf(types->private, "%s",
					 name ? name : "<unnamed>");
		normalize_integer_names(type.name);
	}
	type.is_byte = encoding == DW_ATE_signed_char ||
		       encoding == DW_ATE_unsigned_char ||
		       (type.size == 1 && name && is_byte_name(name));
	return named_type(types, &type, name != NULL, ret);
}

static struct ch_error *find_definition(struct ch_dwarf_types *types,
					const char *name, Dwarf_Die *ret)
{
	struct ch_dwarf_types_private *p = types->private;
	uint32_t index;

	if (!ch_name_map_get(&p->definitions, name, &index) ||
	    !ch_dwarf_types_die_of_key(types, p->definition_keys[index], ret))
		return ch_error_create(CH_ERROR_NOT_FOUND, "no definition");
	return NULL;
}

static struct ch_error *make_struct(struct ch_dwarf_types *types,
				    Dwarf_Die *die, int tag,
				    const char *typedef_name, int depth,
				    uint32_t *ret)
{
	const char *name = qualified_name(types, die);
	bool cxx = is_cxx_die(die);
	struct ch_dtype type = {
		.kind = tag == DW_TAG_union_type ? CH_DTYPE_UNION :
						   CH_DTYPE_STRUCT,
		.size = ch_die_udata(die, DW_AT_byte_size, 0),
		.die_key = die_key(types, die),
		.cxx = cxx,
	};
	bool unique = true;

	if (name && cxx) {
		type.name = arena_printf(types->private, "%s", name);
		normalize_integer_names(type.name);
	}
	else if (name)
		type.name = arena_printf(types->private, "%s %s",
					 tag == DW_TAG_union_type ? "union" :
								    "struct",
					 name);
	else if (typedef_name)
		type.name = arena_printf(types->private, "%s", typedef_name);
	else {
		type.name = arena_printf(types->private, "<anonymous %s>",
					 tag == DW_TAG_union_type ? "union" :
								    "struct");
		unique = false;
	}
	if (!type.name)
		return &ch_enomem;
	if (has_flag(die, DW_AT_declaration) && name) {
		Dwarf_Die definition;
		struct ch_error *err = find_definition(types, type.name,
						       &definition);

		if (!err)
			return type_from_die(types, &definition, depth + 1, ret);
		ch_error_destroy(err);
		type.kind = CH_DTYPE_OPAQUE;
		type.size = 0;
		type.die_key = 0;
	}
	return named_type(types, &type, unique, ret);
}

static struct ch_error *type_from_die(struct ch_dwarf_types *types,
				      Dwarf_Die *die, int depth, uint32_t *ret)
{
	struct ch_dwarf_types_private *p = types->private;
	uint64_t key = die_key(types, die), stripped_key, value;
	const char *typedef_name = NULL;
	Dwarf_Die stripped;
	struct ch_error *err;
	uint32_t id = CH_DTYPE_NONE;
	int tag;

	*ret = CH_DTYPE_NONE;
	if (!key || depth > MAX_TYPE_DEPTH)
		return NULL;
	if (ch_u64_map_get(&p->type_of_die, key, &value)) {
		*ret = value;
		return NULL;
	}
	if (!strip_die(die, &stripped, &typedef_name, types))
		return ch_u64_map_put(&p->type_of_die, key, CH_DTYPE_NONE);
	stripped_key = die_key(types, &stripped);
	if (stripped_key != key &&
	    ch_u64_map_get(&p->type_of_die, stripped_key, &value)) {
		*ret = value;
		return ch_u64_map_put(&p->type_of_die, key, value);
	}
	tag = dwarf_tag(&stripped);
	switch (tag) {
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
		err = make_base(types, &stripped, tag, &id);
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		err = make_pointer(types, &stripped, tag, depth, &id);
		break;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		err = make_struct(types, &stripped, tag, typedef_name, depth,
				  &id);
		break;
	case DW_TAG_array_type:
		err = make_array(types, &stripped, depth, &id);
		break;
	case DW_TAG_unspecified_type:
	case DW_TAG_ptr_to_member_type: {
		struct ch_dtype type = {
			.kind = CH_DTYPE_OTHER,
			.size = ch_die_udata(&stripped, DW_AT_byte_size, 8),
			.name = arena_printf(p, "%s",
					     tag == DW_TAG_unspecified_type &&
							     dwarf_diename(&stripped) ?
						     dwarf_diename(&stripped) :
						     "<member pointer>"),
		};

		err = named_type(types, &type, true, &id);
		break;
	}
	default:
		// Function types and what else: never the type of a block.
		err = NULL;
		break;
	}
	if (err)
		return err;
	err = ch_u64_map_put(&p->type_of_die, stripped_key, id);
	if (!err && key != stripped_key)
		err = ch_u64_map_put(&p->type_of_die, key, id);
	if (!err)
		*ret = id;
	return err;
}

struct ch_error *ch_dwarf_types_of_die(struct ch_dwarf_types *types,
				       Dwarf_Die *die, uint32_t *ret)
{
	return type_from_die(types, die, 0, ret);
}

struct ch_error *ch_dwarf_types_variable_type(struct ch_dwarf_types *types,
					      size_t index, uint32_t *ret)
{
	Dwarf_Die die, type_die;

	*ret = CH_DTYPE_NONE;
	if (index >= types->num_variables ||
	    !ch_dwarf_types_die_of_key(types, types->variables[index].die_key,
				       &die) ||
	    !type_of(&die, &type_die))
		return NULL;
	return type_from_die(types, &type_die, 0, ret);
}

struct ch_error *ch_dwarf_types_find(struct ch_dwarf_types *types,
				     const char *name, uint32_t *ret)
{
	Dwarf_Die die;
	struct ch_error *err;

	*ret = CH_DTYPE_NONE;
	if (ch_name_map_get(&types->private->type_by_name, name, ret) &&
	    (types->types[*ret].kind == CH_DTYPE_STRUCT ||
	     types->types[*ret].kind == CH_DTYPE_UNION))
		return NULL;
	*ret = CH_DTYPE_NONE;
	err = find_definition(types, name, &die);
	if (err) {
		ch_error_destroy(err);
		return NULL;
	}
	return type_from_die(types, &die, 0, ret);
}

struct ch_error *ch_dwarf_types_pointer_to(struct ch_dwarf_types *types,
					   uint32_t id, uint32_t *ret)
{
	const char *pointee = types->types[id].name;
	struct ch_dtype type = {
		.kind = CH_DTYPE_POINTER,
		.size = 8,
		.pointee = id,
	};

	type.name = arena_printf(types->private, "%s%s*", pointee,
				 ends_with(pointee, '*') ? "" : " ");
	return named_type(types, &type, true, ret);
}

/* Slots. */

struct slot_buf {
	struct ch_dtype_slot *slots;
	size_t len, capacity;
	bool truncated;
};

static struct ch_error *slot_push(struct slot_buf *buf,
				  const struct ch_dtype_slot *slot)
{
	struct ch_error *err;

	if (buf->len >= MAX_SLOTS_PER_TYPE) {
		buf->truncated = true;
		return NULL;
	}
	err = ch_vector_reserve((void **)&buf->slots, &buf->capacity,
				sizeof(*buf->slots), buf->len + 1);
	if (err)
		return err;
	buf->slots[buf->len++] = *slot;
	return NULL;
}

static struct ch_error *compute_slots(struct ch_dwarf_types *types,
				      uint32_t id, int depth);

// Copy type id's slots into buf, shifted by offset.
static struct ch_error *push_slots_of(struct ch_dwarf_types *types,
				      struct slot_buf *buf, uint32_t id,
				      uint64_t offset, int depth)
{
	struct ch_error *err = compute_slots(types, id, depth + 1);
	const struct ch_dtype *type;

	if (err)
		return err;
	type = &types->types[id];
	buf->truncated |= type->layout_truncated;
	for (uint32_t i = 0; i < type->num_slots; i++) {
		struct ch_dtype_slot slot = types->slots[type->first_slot + i];

		slot.offset += offset;
		err = slot_push(buf, &slot);
		if (err)
			return err;
	}
	return NULL;
}

static bool name_has_prefix(const char *name, const char *prefix)
{
	// Spaces do not count: "Box<Pair<int> >" is "Box<Pair<int>>".
	while (*prefix) {
		while (*name == ' ')
			name++;
		if (*name != *prefix)
			return false;
		name++;
		prefix++;
	}
	return true;
}

// __gnu_cxx::__aligned_membuf<T> and __aligned_buffer<T>: raw bytes that
// hold a T (the value in a map, list or hash node).
static uint32_t aligned_buffer_content(struct ch_dwarf_types *types,
				       uint32_t id, int depth)
{
	const struct ch_dtype *type = &types->types[id];
	Dwarf_Die die, child, content;
	uint32_t content_id;

	if (type->kind != CH_DTYPE_STRUCT ||
	    (!name_has_prefix(type->name, "__gnu_cxx::__aligned_membuf<") &&
	     !name_has_prefix(type->name, "__gnu_cxx::__aligned_buffer<")) ||
	    !ch_dwarf_types_die(types, id, &die, NULL) ||
	    dwarf_child(&die, &child) != 0)
		return id;
	do {
		if (dwarf_tag(&child) == DW_TAG_template_type_parameter &&
		    type_of(&child, &content) &&
		    (content_id = type_or_none(types, &content, depth + 1)) &&
		    types->types[content_id].size <= types->types[id].size)
			return content_id;
	} while (dwarf_siblingof(&child, &child) == 0);
	return id;
}

/*
 * libstdc++'s node-based containers link nodes through pointers to a node
 * base class; the nodes are a template derived from it, holding the value.
 */
static const struct container_rule {
	/** The container's (or node's) name starts so (spaces ignored). */
	const char *prefix;
	/** Its template parameter naming the value type. */
	const char *param;
	/** The type its links are declared to point to. */
	const char *node_base;
	/** The node type's name from the value type's; NULL: itself. */
	const char *node_format;
	/** Try the name with ", false>" and ", true>" (cached hash). */
	bool hash_node;
} container_rules[] = {
	{ "std::_Rb_tree<", "_Val", "std::_Rb_tree_node_base",
	  "std::_Rb_tree_node<%s>", false },
	{ "std::_Rb_tree_node<", "_Val", "std::_Rb_tree_node_base", NULL,
	  false },
	{ "std::__cxx11::_List_base<", "_Tp", "std::__detail::_List_node_base",
	  "std::_List_node<%s>", false },
	{ "std::_List_base<", "_Tp", "std::__detail::_List_node_base",
	  "std::_List_node<%s>", false },
	{ "std::_List_node<", "_Tp", "std::__detail::_List_node_base", NULL,
	  false },
	{ "std::_Hashtable<", "_Value", "std::__detail::_Hash_node_base",
	  "std::__detail::_Hash_node<%s, %s>", true },
	{ "std::__detail::_Hash_node<", "_Value",
	  "std::__detail::_Hash_node_base", NULL, false },
	{ "std::_Fwd_list_base<", "_Tp", "std::_Fwd_list_node_base",
	  "std::_Fwd_list_node<%s>", false },
	{ "std::_Fwd_list_node<", "_Tp", "std::_Fwd_list_node_base", NULL,
	  false },
};

static uint32_t template_param(struct ch_dwarf_types *types, uint32_t id,
			       const char *param, int depth)
{
	Dwarf_Die die, child, param_type;

	if (!ch_dwarf_types_die(types, id, &die, NULL) ||
	    dwarf_child(&die, &child) != 0)
		return CH_DTYPE_NONE;
	do {
		const char *name = dwarf_diename(&child);

		if (dwarf_tag(&child) == DW_TAG_template_type_parameter && name &&
		    strcmp(name, param) == 0 && type_of(&child, &param_type))
			return type_or_none(types, &param_type, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
	return CH_DTYPE_NONE;
}

static struct ch_error *retarget_nodes(struct ch_dwarf_types *types,
				       uint32_t id, struct slot_buf *buf,
				       int depth)
{
	const struct container_rule *rule = NULL;
	uint32_t node = CH_DTYPE_NONE, base, base_ptr = CH_DTYPE_NONE,
		 node_ptr = CH_DTYPE_NONE;
	char *pointer_name;
	struct ch_error *err;

	for (size_t i = 0; i < sizeof(container_rules) / sizeof(*container_rules);
	     i++) {
		if (name_has_prefix(types->types[id].name,
				    container_rules[i].prefix)) {
			rule = &container_rules[i];
			break;
		}
	}
	if (!rule || !buf->len)
		return NULL;
	if (!rule->node_format) {
		node = id;
	} else {
		uint32_t value = template_param(types, id, rule->param, depth);
		const char *flags[] = { "false", "true" };

		if (!value)
			return NULL;
		for (int i = 0; i < (rule->hash_node ? 2 : 1) && !node; i++) {
			char *name = arena_printf(types->private,
						  rule->node_format,
						  types->types[value].name,
						  flags[i]);

			if (!name)
				return &ch_enomem;
			err = ch_dwarf_types_find(types, name, &node);
			if (err)
				return err;
		}
	}
	err = ch_dwarf_types_find(types, rule->node_base, &base);
	if (err || !node || !base)
		return err;
	pointer_name = arena_printf(types->private, "%s *",
				    types->types[base].name);
	if (!pointer_name)
		return &ch_enomem;
	ch_name_map_get(&types->private->type_by_name, pointer_name, &base_ptr);
	for (size_t i = 0; i < buf->len; i++) {
		if (buf->slots[i].target == base) {
			buf->slots[i].target = node;
		} else if (base_ptr && buf->slots[i].target == base_ptr) {
			if (!node_ptr) {
				err = ch_dwarf_types_pointer_to(types, node,
								&node_ptr);
				if (err)
					return err;
			}
			buf->slots[i].target = node_ptr;
		}
	}
	return NULL;
}

struct member {
	uint64_t offset;
	uint32_t type;
};

// The data members and bases with a fixed offset, in order.
static struct ch_error *list_members(struct ch_dwarf_types *types, uint32_t id,
				     int depth, struct member **members_ret,
				     size_t *num_ret)
{
	struct member *members = NULL;
	size_t num = 0, capacity = 0;
	Dwarf_Die die, child, member_type;
	struct ch_error *err = NULL;

	*members_ret = NULL;
	*num_ret = 0;
	if (!ch_dwarf_types_die(types, id, &die, NULL) ||
	    dwarf_child(&die, &child) != 0)
		return NULL;
	do {
		int tag = dwarf_tag(&child);
		uint64_t offset;
		uint32_t member_id = CH_DTYPE_NONE;

		if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
			continue;
		// Static members (DWARF 4), bit-fields, the vtable pointer.
		if (has_flag(&child, DW_AT_declaration) ||
		    has_flag(&child, DW_AT_external) ||
		    dwarf_hasattr(&child, DW_AT_bit_size) ||
		    has_flag(&child, DW_AT_artificial) ||
		    !member_offset(&child, &offset) ||
		    !type_of(&child, &member_type))
			continue;
		err = type_from_die(types, &member_type, depth + 1, &member_id);
		if (err)
			break;
		if (!member_id)
			continue;
		member_id = aligned_buffer_content(types, member_id, depth);
		err = ch_vector_reserve((void **)&members, &capacity,
					sizeof(*members), num + 1);
		if (err)
			break;
		members[num++] = (struct member){ offset, member_id };
	} while (dwarf_siblingof(&child, &child) == 0);
	if (err) {
		free(members);
		return err;
	}
	*members_ret = members;
	*num_ret = num;
	return NULL;
}

static bool name_has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), suffix_len = strlen(suffix);

	return len >= suffix_len &&
	       strcmp(name + len - suffix_len, suffix) == 0;
}

/*
 * libstdc++'s std::vector keeps three pointers of one type in
 * _Vector_base<T, A>::_Vector_impl_data (GCC 8 on; _Vector_impl itself
 * before): _M_start, _M_finish, _M_end_of_storage. The first is the
 * elements' block; the others point into it or just past it (the next
 * allocation, when the vector is full).
 */
static void mark_vector(const struct ch_dwarf_types *types, uint32_t id,
			struct slot_buf *buf)
{
	const char *name = types->types[id].name;
	struct ch_dtype_slot *start = NULL;
	uint32_t target;
	size_t kept = 0;

	if (!name || !name_has_prefix(name, "std::_Vector_base<") ||
	    (!name_has_suffix(name, "::_Vector_impl_data") &&
	     !name_has_suffix(name, "::_Vector_impl")))
		return;
	for (size_t i = 0; i < buf->len; i++) {
		if (buf->slots[i].offset == 0 && buf->slots[i].count == 1)
			start = &buf->slots[i];
	}
	// Already marked in _Vector_impl_data, or not the layout we know.
	if (!start || (start->flags & CH_SLOT_VECTOR_BEGIN))
		return;
	for (size_t i = 0; i < buf->len; i++) {
		const struct ch_dtype_slot *slot = &buf->slots[i];

		if ((slot->offset == 8 || slot->offset == 16) &&
		    slot->count == 1 && slot->target == start->target)
			kept++;
	}
	if (kept != 2)
		return;
	start->flags |= CH_SLOT_VECTOR_BEGIN;
	target = start->target;
	kept = 0;
	for (size_t i = 0; i < buf->len; i++) {
		const struct ch_dtype_slot *slot = &buf->slots[i];

		if ((slot->offset == 8 || slot->offset == 16) &&
		    slot->count == 1 && slot->target == target)
			continue;
		buf->slots[kept++] = *slot;
	}
	buf->len = kept;
}

static struct ch_error *struct_slots(struct ch_dwarf_types *types, uint32_t id,
				     struct slot_buf *buf, int depth)
{
	struct member *members;
	size_t num;
	struct ch_error *err = list_members(types, id, depth, &members, &num);

	for (size_t i = 0; !err && i < num; i++) {
		const struct ch_dtype *member = &types->types[members[i].type];

		if ((member->kind == CH_DTYPE_ARRAY && member->count == 0) ||
		    member->has_flex)
			types->types[id].has_flex = true;
		err = push_slots_of(types, buf, members[i].type,
				    members[i].offset, depth);
	}
	free(members);
	if (!err)
		mark_vector(types, id, buf);
	if (!err)
		err = retarget_nodes(types, id, buf, depth);
	return err;
}

static bool slot_equal(const struct ch_dtype_slot *a,
		       const struct ch_dtype_slot *b)
{
	return a->offset == b->offset && a->stride == b->stride &&
	       a->count == b->count && a->target == b->target &&
	       a->flags == b->flags;
}

static bool type_has_slot(const struct ch_dwarf_types *types, uint32_t id,
			  uint64_t base, const struct ch_dtype_slot *slot)
{
	const struct ch_dtype *type = &types->types[id];

	for (uint32_t i = 0; i < type->num_slots; i++) {
		struct ch_dtype_slot s = types->slots[type->first_slot + i];

		s.offset += base;
		if (slot_equal(&s, slot))
			return true;
	}
	return false;
}

/*
 * A union's slot is kept only if every member overlapping its 8 bytes has
 * the same slot: otherwise the word may hold anything else.
 */
static struct ch_error *union_slots(struct ch_dwarf_types *types, uint32_t id,
				    struct slot_buf *buf, int depth)
{
	struct member *members;
	size_t num;
	struct ch_error *err = list_members(types, id, depth, &members, &num);

	for (size_t i = 0; !err && i < num; i++)
		err = compute_slots(types, members[i].type, depth + 1);
	for (size_t i = 0; !err && i < num; i++) {
		const struct ch_dtype *member = &types->types[members[i].type];

		for (uint32_t s = 0; !err && s < member->num_slots; s++) {
			struct ch_dtype_slot slot =
				types->slots[member->first_slot + s];
			bool keep = slot.count == 1;

			slot.offset += members[i].offset;
			for (size_t j = 0; keep && j < num; j++) {
				const struct ch_dtype *other =
					&types->types[members[j].type];
				uint64_t start = members[j].offset;
				bool overlaps = !other->size ||
						(start < slot.offset + 8 &&
						 slot.offset < start + other->size);

				if (j == i || !overlaps)
					continue;
				// Kept once, from the first member having it.
				keep = type_has_slot(types, members[j].type,
						     start, &slot) &&
				       j > i;
			}
			if (keep)
				err = slot_push(buf, &slot);
		}
	}
	free(members);
	return err;
}

static struct ch_error *array_slots(struct ch_dwarf_types *types, uint32_t id,
				    struct slot_buf *buf, int depth)
{
	uint32_t element_id = types->types[id].element;
	uint64_t count = types->types[id].count;
	const struct ch_dtype *element;
	struct ch_error *err = compute_slots(types, element_id, depth + 1);

	if (err)
		return err;
	element = &types->types[element_id];
	buf->truncated |= element->layout_truncated;
	if (!element->size)
		return NULL;
	for (uint32_t i = 0; i < element->num_slots; i++) {
		struct ch_dtype_slot e = types->slots[element->first_slot + i];

		if (e.count == 1) {
			struct ch_dtype_slot slot = {
				.offset = e.offset,
				.stride = element->size,
				.count = count,
				.target = e.target,
				.flags = e.flags,
			};

			err = slot_push(buf, &slot);
		} else if (count == 0 || e.count == 0) {
			// A flexible array of arrays: not followed.
			buf->truncated = true;
		} else {
			for (uint64_t k = 0; !err && k < count; k++) {
				struct ch_dtype_slot slot = e;

				if (buf->len >= MAX_SLOTS_PER_TYPE) {
					buf->truncated = true;
					break;
				}
				slot.offset += k * element->size;
				err = slot_push(buf, &slot);
			}
		}
		if (err)
			return err;
	}
	return NULL;
}

static struct ch_error *compute_slots(struct ch_dwarf_types *types,
				      uint32_t id, int depth)
{
	struct ch_dwarf_types_private *p = types->private;
	struct slot_buf buf = { 0 };
	struct ch_dtype *type = &types->types[id];
	struct ch_error *err = NULL;

	if (type->layout_state != LAYOUT_NONE)
		return NULL; // done, or a cycle (damaged DWARF): no slots
	if (depth > MAX_TYPE_DEPTH) {
		type->layout_truncated = true;
		return NULL;
	}
	type->layout_state = LAYOUT_BUSY;
	switch (type->kind) {
	case CH_DTYPE_POINTER:
		if (type->pointee)
			err = slot_push(&buf, &(struct ch_dtype_slot){
						      .count = 1,
						      .target = type->pointee });
		break;
	case CH_DTYPE_STRUCT:
		err = struct_slots(types, id, &buf, depth);
		break;
	case CH_DTYPE_UNION:
		err = union_slots(types, id, &buf, depth);
		break;
	case CH_DTYPE_ARRAY:
		err = array_slots(types, id, &buf, depth);
		break;
	default:
		break;
	}
	if (!err)
		err = ch_vector_reserve((void **)&types->slots, &p->slots_capacity,
					sizeof(*types->slots),
					types->num_slots + buf.len);
	type = &types->types[id];
	if (!err) {
		type->first_slot = types->num_slots;
		type->num_slots = buf.len;
		type->layout_truncated |= buf.truncated;
		if (buf.len)
			memcpy(types->slots + types->num_slots, buf.slots,
			       buf.len * sizeof(*buf.slots));
		types->num_slots += buf.len;
	}
	type->layout_state = LAYOUT_DONE;
	free(buf.slots);
	return err;
}

struct ch_error *ch_dwarf_types_slots(struct ch_dwarf_types *types,
				      uint32_t id,
				      const struct ch_dtype_slot **slots_ret,
				      size_t *num_ret)
{
	struct ch_error *err;

	*slots_ret = NULL;
	*num_ret = 0;
	if (!ch_dwarf_type(types, id))
		return NULL;
	err = compute_slots(types, id, 0);
	if (err)
		return err;
	// No slots at all yet: slots may still be NULL, no base to add to.
	if (!types->types[id].num_slots)
		return NULL;
	*slots_ret = types->slots + types->types[id].first_slot;
	*num_ret = types->types[id].num_slots;
	return NULL;
}

static bool is_prefix(struct ch_dwarf_types *types, uint32_t inner,
		      uint32_t outer, int depth)
{
	struct member *members;
	size_t num;
	bool found = false;
	struct ch_error *err;

	if (inner == outer)
		return true;
	if (depth > 8 || (types->types[outer].kind != CH_DTYPE_STRUCT &&
			  types->types[outer].kind != CH_DTYPE_UNION))
		return false;
	err = list_members(types, outer, depth, &members, &num);
	if (err) {
		ch_error_destroy(err);
		return false;
	}
	for (size_t i = 0; i < num && !found; i++) {
		if (members[i].offset == 0)
			found = is_prefix(types, inner, members[i].type,
					  depth + 1);
	}
	free(members);
	return found;
}

bool ch_dwarf_types_is_prefix(struct ch_dwarf_types *types, uint32_t inner,
			      uint32_t outer)
{
	struct ch_dwarf_types_private *p = types->private;
	uint64_t key = (uint64_t)inner << 32 | outer, value;
	bool result;

	if (!ch_dwarf_type(types, inner) || !ch_dwarf_type(types, outer))
		return false;
	if (inner == outer)
		return true;
	if (ch_u64_map_get(&p->prefix_cache, key, &value))
		return value == 2;
	result = is_prefix(types, inner, outer, 0);
	// Out of memory only loses the cache entry.
	ch_error_destroy(ch_u64_map_put(&p->prefix_cache, key, result ? 2 : 1));
	return result;
}

/* Creation. */

struct ch_error *ch_dwarf_types_create(struct ch_program *program,
				       struct ch_dwarf_types **ret)
{
	struct ch_dwarf_types *types = calloc(1, sizeof(*types));
	struct ch_dwarf_types_private *p;
	const struct ch_modules *modules = program->modules;
	struct ch_error *err = NULL;

	if (!types)
		return &ch_enomem;
	types->program = program;
	p = types->private = calloc(1, sizeof(*p));
	if (!p) {
		free(types);
		return &ch_enomem;
	}
	p->type_by_name.ignore_spaces = true;
	p->definitions.ignore_spaces = true;
	// Type id 0 is "none".
	err = new_type(types,
		       &(struct ch_dtype){ .name = NULL, .kind = CH_DTYPE_OTHER },
		       &(uint32_t){ 0 });
	p->modules = calloc(modules->num_modules + 1, sizeof(*p->modules));
	if (!p->modules && !err)
		err = &ch_enomem;
	for (size_t i = 0; !err && i < modules->num_modules; i++) {
		struct ch_module *module = &modules->modules[i];
		uint64_t bias;
		Dwarf *dwarf;

		if (!module->has_dwarf)
			continue;
		dwarf = ch_module_dwarf(module, &bias);
		if (!dwarf)
			continue;
		p->modules[p->num_modules++] = (struct dwarf_module){
			.module_index = i,
			.dwarf = dwarf,
			.alt = dwarf_getalt(dwarf),
			.bias = bias,
		};
	}
	// The executable first: its definitions win over a library's.
	for (size_t pass = 0; !err && pass < 2; pass++) {
		for (size_t i = 0; !err && i < p->num_modules; i++) {
			struct dwarf_module *m = &p->modules[i];
			bool exe = modules->modules[m->module_index].is_executable;

			if (exe != (pass == 0))
				continue;
			err = walk_units(types, i, m->dwarf);
			if (!err && m->alt)
				err = walk_units(types, i, m->alt);
		}
	}
	if (err) {
		ch_dwarf_types_destroy(types);
		return err;
	}
	*ret = types;
	return NULL;
}

void ch_dwarf_types_destroy(struct ch_dwarf_types *types)
{
	struct ch_dwarf_types_private *p;

	if (!types)
		return;
	p = types->private;
	if (p) {
		ch_u64_map_deinit(&p->type_of_die);
		ch_name_map_deinit(&p->type_by_name);
		ch_u64_map_deinit(&p->qualified_names);
		ch_name_map_deinit(&p->definitions);
		free(p->definition_keys);
		ch_u64_map_deinit(&p->variable_addresses);
		ch_u64_map_deinit(&p->prefix_cache);
		while (p->arena) {
			struct arena_chunk *next = p->arena->next;

			free(p->arena);
			p->arena = next;
		}
		free(p->modules);
		free(p);
	}
	free(types->types);
	free(types->slots);
	free(types->variables);
	free(types);
}

// Nested members deeper than this are not named (a sane type never is).
#define MAX_MEMBER_DEPTH 16

static struct ch_error *member_at(struct ch_dwarf_types *types, uint32_t id,
				  uint64_t offset, int depth,
				  struct ch_strbuf *name)
{
	const struct ch_dtype *type = ch_dwarf_type(types, id);
	Dwarf_Die die, child, member_type;

	if (!type || depth > MAX_MEMBER_DEPTH)
		return NULL;
	if (type->kind == CH_DTYPE_ARRAY) {
		const struct ch_dtype *element = ch_dwarf_type(types, type->element);
		struct ch_error *err;

		if (!element || !element->size)
			return NULL;
		err = ch_strbuf_appendf(name, "[%" PRIu64 "]",
					offset / element->size);
		return err ? err : member_at(types, type->element,
					     offset % element->size, depth + 1,
					     name);
	}
	if ((type->kind != CH_DTYPE_STRUCT && type->kind != CH_DTYPE_UNION) ||
	    !ch_dwarf_types_die(types, id, &die, NULL) ||
	    dwarf_child(&die, &child) != 0)
		return NULL;
	do {
		int tag = dwarf_tag(&child);
		const struct ch_dtype *member;
		const char *member_name;
		uint64_t member_offset_value;
		uint32_t member_id;
		struct ch_error *err;

		if ((tag != DW_TAG_member && tag != DW_TAG_inheritance) ||
		    has_flag(&child, DW_AT_declaration) ||
		    has_flag(&child, DW_AT_external) ||
		    dwarf_hasattr(&child, DW_AT_bit_size) ||
		    !member_offset(&child, &member_offset_value) ||
		    !type_of(&child, &member_type))
			continue;
		member_id = type_or_none(types, &member_type, depth + 1);
		member = ch_dwarf_type(types, member_id);
		if (!member || offset < member_offset_value ||
		    offset - member_offset_value >= member->size)
			continue;
		// A base class's members are named as the class's own; so are
		// those of an anonymous struct or union.
		member_name = tag == DW_TAG_member ? dwarf_diename(&child) : NULL;
		if (member_name) {
			err = ch_strbuf_appendf(name, "%s%s",
						name->len ? "." : "",
						member_name);
			if (err)
				return err;
		}
		return member_at(types, member_id, offset - member_offset_value,
				 depth + 1, name);
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

struct ch_error *ch_dwarf_types_member_name(struct ch_dwarf_types *types,
					    uint32_t id, uint64_t offset,
					    struct ch_strbuf *name)
{
	return member_at(types, id, offset, 0, name);
}

static bool holds_no_pointers(struct ch_dwarf_types *types, uint32_t id,
			      int depth)
{
	const struct ch_dtype *type = ch_dwarf_type(types, id);
	struct member *members;
	size_t num;
	bool none = true;
	struct ch_error *err;

	if (!type || depth > MAX_MEMBER_DEPTH)
		return false;
	switch (type->kind) {
	case CH_DTYPE_BASE:
	case CH_DTYPE_ENUM:
		return true;
	case CH_DTYPE_ARRAY:
		return type->element != id &&
		       holds_no_pointers(types, type->element, depth + 1);
	case CH_DTYPE_STRUCT:
	case CH_DTYPE_UNION:
		break;
	default:
		return false;
	}
	// Every member, a union's too: its slots keep only the pointers all
	// its members agree on, which says nothing of a tagged union's.
	err = list_members(types, id, depth, &members, &num);
	if (err) {
		ch_error_destroy(err);
		return false;
	}
	for (size_t i = 0; none && i < num; i++)
		none = members[i].type != id &&
		       holds_no_pointers(types, members[i].type, depth + 1);
	free(members);
	return none;
}

bool ch_dwarf_types_holds_no_pointers(struct ch_dwarf_types *types,
				      uint32_t id)
{
	const struct ch_dtype *type = ch_dwarf_type(types, id);

	// A layout cut short, or one ending in an array without bounds,
	// is not all known.
	return type && type->size && !type->has_flex &&
	       !type->layout_truncated && holds_no_pointers(types, id, 0);
}
