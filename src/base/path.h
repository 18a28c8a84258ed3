/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Names from paths, and paths made absolute.
 */
#ifndef COREHEAP_PATH_H
#define COREHEAP_PATH_H

#include <string.h>

/**
 * The last component of path ("libc.so.6" for "/lib/x86_64/libc.so.6"),
 * pointing into path; path itself when it has no slash. Module names are
 * paths or bare names depending on how libdwfl found the file (see
 * STYLE.md), so reports name modules by this.
 */
static inline const char *ch_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/**
 * path made absolute: itself if it starts with '/', else joined to the
 * current directory (not resolved: ".." and symbolic links stay, as the
 * user wrote them). A new string the caller frees; NULL with errno set
 * when the current directory cannot be had or memory runs out.
 */
char *ch_path_absolute(const char *path);

#endif /* COREHEAP_PATH_H */
