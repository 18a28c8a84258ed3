/* SPDX-License-Identifier: MIT */
/**
 * @file
 * systemd-coredump's store: the directory where it keeps cores, named
 * core.COMM.UID.BOOTID.PID.TIMESTAMP[.zst|.xz|.lz4] (COMM with characters
 * outside [A-Za-z0-9_] escaped as \xNN, TIMESTAMP in microseconds since
 * the epoch). A core is picked by what a user knows of the process.
 */
#ifndef COREHEAP_COREDUMP_STORE_H
#define COREHEAP_COREDUMP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/** Where systemd-coredump keeps cores. */
#define CH_COREDUMP_STORE "/var/lib/systemd/coredump"
/** The environment variable that names another store (for tests). */
#define CH_COREDUMP_STORE_ENV "COREHEAP_COREDUMP_DIR"

/** The fields of a stored core's file name. */
struct ch_coredump_name {
	/** The command name, unescaped (at most 15 bytes, as the kernel's). */
	char comm[64];
	uint32_t uid;
	int32_t pid;
	uint64_t timestamp_us;
};

/**
 * Parse a file name of the store (no directory). False if it is not one
 * systemd-coredump writes.
 */
bool ch_coredump_parse_name(const char *name, struct ch_coredump_name *ret);

/**
 * Pick the newest core in the store (dir, or CH_COREDUMP_STORE_ENV's value,
 * or CH_COREDUMP_STORE when dir is NULL) that matches: a PID (all digits),
 * an executable's PATH (with a '/'; matched against the executable the
 * core's own notes map, among the cores whose COMM is the path's base
 * name), else a COMM (the file name's command name). *path_ret is the
 * core's path, to free.
 *
 * Errors: CH_ERROR_OS (the store cannot be read), CH_ERROR_NOT_FOUND (no
 * core matches), CH_ERROR_NOMEM.
 */
struct ch_error *ch_coredump_find(const char *dir, const char *match,
				  char **path_ret);

#endif /* COREHEAP_COREDUMP_STORE_H */
