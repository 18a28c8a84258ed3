/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The host side of the plugin interface: a struct coreheap_host over a
 * program, one per allocator in use (so that what a plugin reports is
 * attributed to it).
 */
#ifndef COREHEAP_HOST_H
#define COREHEAP_HOST_H

#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"
#include "coreheap/plugin.h"

struct ch_program;

struct ch_host {
	struct coreheap_host ops;
	struct ch_program *program;
	/** Index of the allocator this host serves (in ch_allocator_set). */
	uint8_t allocator;
	/** The first error the host itself met (out of memory), or NULL. */
	struct ch_error *err;
	/**
	 * The walk's progress: the bytes of the blocks reported that lie in
	 * no other block (passed on by walk_allocator() at its end).
	 */
	struct ch_progress_batch progress;
};

/** Set up host for the allocator at index allocator of program. */
void ch_host_init(struct ch_host *host, struct ch_program *program,
		  uint8_t allocator);

/** Take the host's own error, if any (the caller owns it). */
struct ch_error *ch_host_take_error(struct ch_host *host);

#endif /* COREHEAP_HOST_H */
