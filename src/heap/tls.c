// SPDX-License-Identifier: MIT
/*
 * Thread-local storage of the modules loaded at start-up (static TLS).
 *
 * On x86-64 (TLS variant II) a module's static TLS block sits at a fixed
 * negative offset from each thread's thread pointer (fs_base). The dynamic
 * linker keeps that offset in its link_map, whose layout is private to each
 * glibc build; the module's own GOT holds it too, in a form that needs no
 * private layout: every initial-exec access goes through a GOT slot that the
 * dynamic linker filled, for an R_X86_64_TPOFF64 relocation, with
 * S + A - tls_offset. Reading one such slot from the core gives the offset,
 * with or without debug info.
 */
#include <elf.h>
#include <gelf.h>

#include "heap/program.h"

enum tls_offset_state {
	TLS_OFFSET_UNKNOWN = 0,
	TLS_OFFSET_KNOWN = 1,
	TLS_OFFSET_MISSING = 2,
};

// glibc's _dl_determine_tlsoffset for the first module (the executable):
// its block ends at the thread pointer, aligned as its PT_TLS asks.
static bool executable_tls_offset(const struct ch_module *module,
				  int64_t *ret)
{
	uint64_t align = module->tls_align ? module->tls_align : 1;
	uint64_t size = (module->tls_size + align - 1) & ~(align - 1);

	if (align & (align - 1))
		return false;
	*ret = -(int64_t)size;
	return true;
}

static bool symbol_value(Elf *elf, GElf_Shdr *rela_shdr, size_t index,
			 uint64_t *ret)
{
	Elf_Scn *symtab = elf_getscn(elf, rela_shdr->sh_link);
	Elf_Data *data;
	GElf_Sym sym;

	if (index == 0) {
		*ret = 0;
		return true;
	}
	if (!symtab || !(data = elf_getdata(symtab, NULL)) ||
	    !gelf_getsym(data, index, &sym) || sym.st_shndx == SHN_UNDEF)
		return false;
	*ret = sym.st_value;
	return true;
}

static bool offset_from_section(struct ch_program *program,
				struct ch_module *module, Elf *elf,
				Elf_Scn *scn, GElf_Shdr *shdr, int64_t *ret)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count;

	if (!data || shdr->sh_entsize == 0)
		return false;
	count = shdr->sh_size / shdr->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Rela rela;
		uint64_t slot, value, sym_value;

		if (!gelf_getrela(data, i, &rela) ||
		    GELF_R_TYPE(rela.r_info) != R_X86_64_TPOFF64)
			continue;
		// A symbol of another module names that module's block.
		if (!symbol_value(elf, shdr, GELF_R_SYM(rela.r_info),
				  &sym_value))
			continue;
		slot = rela.r_offset + module->bias;
		if (!ch_address_space_read_u64(program->address_space, slot,
					       &value))
			continue;
		*ret = (int64_t)(value - sym_value - rela.r_addend);
		// The block lies below the thread pointer and holds the symbol.
		if (*ret < 0 && (uint64_t)-*ret >= module->tls_size)
			return true;
	}
	return false;
}

static bool library_tls_offset(struct ch_program *program,
			       struct ch_module *module, int64_t *ret)
{
	Elf *elf = ch_module_elf(module);
	Elf_Scn *scn = NULL;

	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_RELA &&
		    offset_from_section(program, module, elf, scn, &shdr, ret))
			return true;
	}
	return false;
}

// The module's TLS offset, found the first time (state says whether it was).
static void find_tls_offset(struct ch_program *program,
			    struct ch_module *module)
{
	size_t index = module - program->modules->modules;
	uint8_t *state = &program->tls_offset_state[index];
	int64_t *tls_offset = &program->tls_offsets[index];

	if (*state == TLS_OFFSET_UNKNOWN) {
		bool found = module->is_executable ?
				     executable_tls_offset(module, tls_offset) :
				     library_tls_offset(program, module,
							tls_offset);

		*state = found ? TLS_OFFSET_KNOWN : TLS_OFFSET_MISSING;
	}
}

void ch_program_find_tls_offsets(struct ch_program *program)
{
	for (size_t i = 0; i < program->modules->num_modules; i++) {
		if (program->modules->modules[i].has_tls)
			find_tls_offset(program, &program->modules->modules[i]);
	}
}

struct ch_error *ch_program_tls_address(struct ch_program *program,
					size_t thread_index,
					struct ch_module *module,
					uint64_t offset, uint64_t *ret)
{
	size_t index = module - program->modules->modules;
	uint64_t thread_pointer;

	if (thread_index >= program->core->num_threads || !module->has_tls)
		return ch_error_create(CH_ERROR_NOT_FOUND,
				       "no TLS block for '%s'", module->name);
	find_tls_offset(program, module);
	if (program->tls_offset_state[index] != TLS_OFFSET_KNOWN)
		return ch_error_create(CH_ERROR_NOT_FOUND,
				       "cannot locate the TLS block of '%s'",
				       module->name);
	thread_pointer = program->core->threads[thread_index].regs[CH_REG_FS_BASE];
	*ret = thread_pointer + program->tls_offsets[index] + offset;
	return NULL;
}
