/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The process's memory as the core and its binaries give it back.
 *
 * Bytes come from the core where it holds them, and otherwise from the
 * mapped binary that the module search verified by build-id (read-only text
 * and data that the kernel's coredump_filter left out). Memory in neither is
 * a fault: never zeroes.
 *
 * Reads never copy the core: ch_address_space_map() returns a pointer into
 * the mapped file. All pointers stay valid while the core and the modules it
 * was built from are open.
 */
#ifndef COREHEAP_ADDRESS_SPACE_H
#define COREHEAP_ADDRESS_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/core.h"
#include "core/modules.h"

/** Where the bytes of a range come from. */
enum ch_range_source {
	CH_RANGE_CORE = 0,
	CH_RANGE_FILE = 1,
};

/** A contiguous range of readable bytes. */
struct ch_range {
	uint64_t start, end;
	const uint8_t *data;
	uint8_t source;     /**< enum ch_range_source */
	bool writable;
	bool executable;
};

/** A mapping of the process: a whole PT_LOAD of the core. */
struct ch_mapping {
	uint64_t start, end;
	uint32_t flags;        /**< PF_R | PF_W | PF_X */
	/** Backing file from NT_FILE, or NULL. Points into the core. */
	const char *file;
	/** Readable bytes from start, from the core or a file. */
	uint64_t available;
};

/** Addresses [start, end). */
struct ch_address_interval {
	uint64_t start, end;
};

struct ch_address_space {
	/** Readable ranges, sorted and disjoint. */
	struct ch_range *ranges;
	size_t num_ranges;
	/**
	 * Memory the core promised (p_filesz) but the file cut off, and no
	 * binary supplies: lost, unlike what the core left out on purpose
	 * (untouched pages, shared memory, MADV_DONTDUMP). Sorted, disjoint.
	 */
	struct ch_address_interval *lost;
	size_t num_lost;
	/** All mappings, sorted and disjoint. */
	struct ch_mapping *mappings;
	size_t num_mappings;
};

/**
 * Build the address space of core, filling the ranges the core left out
 * from the binaries of modules (which may be NULL).
 */
struct ch_error *ch_address_space_create(const struct ch_core *core,
					 struct ch_modules *modules,
					 struct ch_address_space **ret);
void ch_address_space_destroy(struct ch_address_space *as);

/** The first range that ends after addr (holding it or above it), or NULL. */
const struct ch_range *ch_address_space_range_after(const struct ch_address_space *as,
						    uint64_t addr);

/** The range holding addr, or NULL. */
const struct ch_range *ch_address_space_range(const struct ch_address_space *as,
					      uint64_t addr);

/**
 * A pointer to len readable bytes at addr, if they lie in one range; NULL
 * otherwise (then ch_address_space_read() may still succeed across ranges).
 */
static inline const void *ch_address_space_map(const struct ch_address_space *as,
					       uint64_t addr, size_t len)
{
	const struct ch_range *range = ch_address_space_range(as, addr);

	if (!range || len > range->end - addr)
		return NULL;
	return range->data + (addr - range->start);
}

/** Copy len bytes at addr into buf; CH_ERROR_FAULT names the first gap. */
struct ch_error *ch_address_space_read(const struct ch_address_space *as,
				       uint64_t addr, void *buf, size_t len);

/** Copy len bytes at addr into buf; false on any gap. For hot paths. */
bool ch_address_space_read_quiet(const struct ch_address_space *as,
				 uint64_t addr, void *buf, size_t len);

/** Read a 64-bit little-endian word; false if it is not there. */
static inline bool ch_address_space_read_u64(const struct ch_address_space *as,
					     uint64_t addr, uint64_t *ret)
{
	return ch_address_space_read_quiet(as, addr, ret, sizeof(*ret));
}

/** Where the bytes of an address interval come from. */
struct ch_address_bytes {
	/** Saved in the core file. */
	uint64_t in_core;
	/** Left out of the core and read from a verified binary. */
	uint64_t from_files;
	/** Neither, and cut off from the core (ch_address_space::lost). */
	uint64_t lost;
	/** Neither, and left out of the core on purpose. */
	uint64_t left_out;
};

/**
 * Count the bytes of [start, end) by their source into *ret (the four
 * add up to end - start). Linear in the ranges it meets.
 */
void ch_address_space_count(const struct ch_address_space *as, uint64_t start,
			    uint64_t end, struct ch_address_bytes *ret);

/** Bytes of [start, end) that are lost (see ch_address_space::lost). */
uint64_t ch_address_space_lost_bytes(const struct ch_address_space *as,
				     uint64_t start, uint64_t end);

/** The mapping holding addr, or NULL. */
const struct ch_mapping *ch_address_space_mapping(const struct ch_address_space *as,
						  uint64_t addr);

#endif /* COREHEAP_ADDRESS_SPACE_H */
