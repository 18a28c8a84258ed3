// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path.h"

char *ch_path_absolute(const char *path)
{
	_cleanup_free_ char *cwd = NULL;
	char *joined;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&joined, "%s%s%s", cwd, cwd[1] ? "/" : "", path) < 0)
		return NULL;
	return joined;
}
