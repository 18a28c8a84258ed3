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
 * Demangle a symbol only ("_ZZL4growiiE4keep": "grow(int, int)::keep"):
 * NULL for a name without the "_Z" prefix, which ch_demangle() could read
 * as a type (a C variable "i" is not "int").
 */
char *ch_demangle_symbol(const char *name);

#endif /* COREHEAP_DEMANGLE_H */
