// SPDX-License-Identifier: MIT
#include <stdlib.h>

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

char *ch_demangle_symbol(const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	return ch_demangle(name);
}
