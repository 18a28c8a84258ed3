/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Scope guards: a local marked _cleanup_free_ is freed when it goes out of
 * scope; return_ptr() hands it to the caller instead.
 */
#ifndef COREHEAP_CLEANUP_H
#define COREHEAP_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(fn) __attribute__((__cleanup__(fn)))

static inline void ch_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(ch_freep)

static inline void ch_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(ch_closep)

/** Take the pointer out of a guarded local, so the guard does nothing. */
#define no_cleanup_ptr(p) ({ __typeof__(p) __p = (p); (p) = NULL; __p; })
#define return_ptr(p) return no_cleanup_ptr(p)

#endif /* COREHEAP_CLEANUP_H */
