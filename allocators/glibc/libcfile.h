/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Facts read from libc's own ELF file rather than from the core: the version
 * banner, the TLS relocations that locate per-thread variables, and where
 * the static initialisers of main_arena and mp_ sit in .data.
 *
 * These are what is left to go on when libc's debug info is missing. All
 * addresses here are link-time addresses: add the module's load bias.
 */
#ifndef COREHEAP_GLIBC_LIBCFILE_H
#define COREHEAP_GLIBC_LIBCFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

/** A GOT slot that the dynamic linker fills with a TP-relative offset. */
struct ptm_tpoff_slot {
	uint64_t got;     /**< link-time address of the GOT slot */
	uint64_t offset;  /**< offset of the variable inside libc's TLS block */
};

/** A place in .data that looks like a pristine static initialiser. */
struct ptm_file_candidate {
	uint64_t address;  /**< link-time address */
	int layout;        /**< enum ptm_arena_layout, or enum ptm_par_layout */
};

#define PTM_FILE_MAX_CANDIDATES 8

/** What was learnt from the file; any part may be empty. */
struct ptm_libc_file {
	int version_major, version_minor;  /**< 0.0 if no banner */
	struct ptm_tpoff_slot *tpoff;      /**< local-symbol TPOFF64 slots */
	size_t num_tpoff;
	struct ptm_file_candidate arenas[PTM_FILE_MAX_CANDIDATES];
	size_t num_arenas;
	struct ptm_file_candidate mps[PTM_FILE_MAX_CANDIDATES];
	size_t num_mps;
};

/**
 * Parse the x86-64 libc at @p path. On success *ret is owned by the caller
 * (ptm_libc_file_destroy()). COREHEAP_NOT_FOUND if the file cannot be opened
 * or is not a 64-bit x86-64 ELF, COREHEAP_NOMEM.
 */
int ptm_libc_file_load(const char *path, struct ptm_libc_file **ret);

/** NULL-safe. */
void ptm_libc_file_destroy(struct ptm_libc_file *file);

/**
 * Find "release version X.Y" in @p data (libc's banner). True and the
 * numbers on success.
 */
bool ptm_parse_banner(const char *data, size_t len, int *major_ret,
		      int *minor_ret);

#endif /* COREHEAP_GLIBC_LIBCFILE_H */
