// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "base/demangle.h"

// From the C++ runtime (libstdc++'s cxxabi.h, which is C++ only).
extern char *__cxa_demangle(const char *mangled_name, char *output_buffer,
			    size_t *length, int *status);

char *ch_demangle(const char *name)
{
	int status;
	char *demangled;

	if (!name || !*name)
		return NULL;
	demangled = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(demangled);
		return NULL;
	}
	return demangled;
}

// A mangled symbol's name demangled; NULL for any other name.
static char *demangle_mangled(const char *name)
{
	if (name[0] != '_' || name[1] != 'Z')
		return NULL;
	return ch_demangle(name);
}

char *ch_demangle_symbol(const char *symbol)
{
	const char *version;
	char *name, *demangled;

	if (!symbol)
		return NULL;
	// "name@VERSION" (a compatibility symbol) or "name@@VERSION" (the
	// default): no symbol name holds an '@' otherwise.
	version = strchr(symbol, '@');
	if (!version || version == symbol)
		return demangle_mangled(symbol);
	name = strndup(symbol, (size_t)(version - symbol));
	if (!name)
		return NULL;
	demangled = demangle_mangled(name);
	if (!demangled)
		return name;
	free(name);
	return demangled;
}
