/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The live heap grouped by type: the one grouping that types, diff, triage,
 * leaks and top count with, so that their numbers cannot disagree.
 *
 * A group is a type name, or, for allocations of unknown type, a usable
 * size. Groups are numbered in the order of their first allocation in the
 * heap's address order, so a report that sorts them and breaks ties by that
 * order is stable from run to run.
 */
#ifndef COREHEAP_TYPE_GROUPS_H
#define COREHEAP_TYPE_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "heap/program.h"
#include "report/output.h"

/** Group of a block that the grouping left out. */
#define CH_TYPE_GROUP_NONE UINT32_MAX

struct ch_type_group {
	/** The interned type name (the heap's), or NULL for an unknown type. */
	const char *type;
	uint64_t size;       /**< for unknown types: the usable size; else 0 */
	uint64_t count, bytes;
	/** Bit per enum ch_type_source: how its allocations were typed. */
	uint8_t sources;
	/** Free for the caller's sums (unreferenced count, retained...). */
	uint64_t extra;
	/** The index of its first live block. */
	uint32_t first_node;
};

struct ch_type_groups {
	struct ch_type_group *groups;
	size_t num_groups;
	/**
	 * Group of each live block (of each block listed, for
	 * ch_type_groups_init_nodes()), or CH_TYPE_GROUP_NONE if left out.
	 */
	uint32_t *group_of;
	/** The blocks grouped, and their usable bytes. */
	uint64_t total_count, total_bytes;
};

/**
 * Group the program's live blocks for which include (may be NULL: all) is
 * true, in one pass. groups is overwritten; on success the caller frees it
 * with ch_type_groups_deinit(), on error nothing is left to free.
 */
struct ch_error *ch_type_groups_init(struct ch_type_groups *groups,
				     const struct ch_program *program,
				     bool (*include)(uint32_t node, void *arg),
				     void *arg);
/**
 * The same for the n blocks listed in nodes (in address order), for which
 * include is true: group_of[k] is the group of nodes[k]. A report about a
 * few of the blocks (the leaked ones) needs memory for those only.
 */
struct ch_error *ch_type_groups_init_nodes(struct ch_type_groups *groups,
					   const struct ch_program *program,
					   const uint32_t *nodes, size_t n,
					   bool (*include)(uint32_t node,
							   void *arg),
					   void *arg);
/**
 * The groups of all the live blocks, as ch_type_groups_init() makes them,
 * without group_of (NULL): for a table of the groups, which needs no
 * array as large as the heap.
 */
struct ch_error *ch_type_groups_count(struct ch_type_groups *groups,
				      const struct ch_program *program);
void ch_type_groups_deinit(struct ch_type_groups *groups);

/**
 * The groups' indices sorted by compare (qsort_r's comparator, called on
 * two uint32_t group indices and arg), from first-appearance order: a
 * malloc'd array of num_groups entries in *order_ret, which the caller
 * frees.
 */
struct ch_error *ch_type_groups_order(const struct ch_type_groups *groups,
				      int (*compare)(const void *a,
						     const void *b, void *arg),
				      void *arg, uint32_t **order_ret);

/** "struct node", or "unknown (48 bytes)" for a group of unknown type. */
void ch_out_group_name(struct ch_out *out, const struct ch_type_group *group);
/** The group as JSON members "type" (string or null) and "size" (null for a type). */
void ch_json_group(struct ch_json *json, const struct ch_type_group *group);

#endif /* COREHEAP_TYPE_GROUPS_H */
