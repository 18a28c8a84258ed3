/* SPDX-License-Identifier: MIT */
/**
 * @file
 * C++ names as people write them, from the C++ runtime's demangler: the
 * one place every report demangles through (roots, frames, describe,
 * vtable classes).
 */
#ifndef COREHEAP_DEMANGLE_H
#define COREHEAP_DEMANGLE_H

/**
 * Demangle a symbol ("_ZN3app6Widget3fooEv") or a type ("N3app6WidgetE").
 * Returns a string the caller frees, or NULL if name is not mangled (or
 * memory ran out).
 */
char *ch_demangle(const char *name);

/**
 * The name a person reads for an ELF symbol: without the version that a
 * .symver directive writes into a .symtab name ("__libc_start_main@@GLIBC_2.34"
 * is "__libc_start_main", as in the .dynsym), then demangled if it is a
 * mangled symbol ("_ZZL4growiiE4keep": "grow(int, int)::keep"), never read
 * as a type (a C variable "i" is not "int"). Returns a string the caller
 * frees, or NULL when that name is the symbol as given (or memory ran out).
 */
char *ch_demangle_symbol(const char *symbol);

#endif /* COREHEAP_DEMANGLE_H */
