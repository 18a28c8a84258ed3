/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Growable arrays: one growth rule for every array coreheap builds one
 * element at a time.
 *
 * DEFINE_VECTOR(name, type) defines `struct name` and its functions:
 *
 *	DEFINE_VECTOR(u32_vector, uint32_t);
 *
 *	struct u32_vector v;
 *	u32_vector_init(&v);
 *	err = u32_vector_append(&v, &(uint32_t){ 7 });
 *	... v.data[0 .. v.len) ...
 *	u32_vector_deinit(&v);
 *
 * `data` and `len` are for reading (and for writing elements in place);
 * only the functions change `len` or `capacity`. A zeroed vector is empty
 * and valid, as after _init. Pointers into `data` stay valid until the next
 * call that may grow it (_reserve, _append, _append_entry).
 *
 * Growth doubles the capacity (from CH_VECTOR_MIN_CAPACITY elements), so n
 * appends cost O(n) in all; a size that would overflow size_t fails as out
 * of memory, as a malloc of that size would. Failures return &ch_enomem and
 * leave the vector as it was.
 *
 * Arrays that a public struct keeps as three fields of its own (a pointer,
 * a count and a capacity, read under those names across the code base) grow
 * with ch_vector_reserve() directly: the same rule, without a new layout
 * for their readers.
 */
#ifndef COREHEAP_VECTOR_H
#define COREHEAP_VECTOR_H

#include <stddef.h>
#include <stdlib.h>

#include "base/error.h"

/** The capacity of a vector's first allocation, in elements. */
#define CH_VECTOR_MIN_CAPACITY 8

/**
 * Make room for at least need elements of elem_size bytes in the array at
 * *data, whose room is *capacity elements: realloc to the larger of twice
 * *capacity, CH_VECTOR_MIN_CAPACITY and need. Does nothing when need <=
 * *capacity. On success *data and *capacity describe the new array (the
 * first *capacity-before elements kept); on failure (&ch_enomem, also when
 * the size overflows) both are untouched and the old array stays valid.
 *
 * data is a pointer to the caller's typed pointer (`(void **)&a->items`).
 */
struct ch_error *ch_vector_reserve(void **data, size_t *capacity,
				   size_t elem_size, size_t need);

/** ch_vector_reserve() for one more element past len: for appends. */
static inline struct ch_error *ch_vector_reserve_one(void **data,
						     size_t *capacity,
						     size_t elem_size,
						     size_t len)
{
	if (len < *capacity)
		return NULL;
	if (len == SIZE_MAX)
		return &ch_enomem;
	return ch_vector_reserve(data, capacity, elem_size, len + 1);
}

/**
 * Define `struct vector` holding elements of entry_type, with:
 *
 * - vector_init(v), vector_deinit(v): empty it; free its array (a vector
 *   does not free what its elements point to).
 * - vector_reserve(v, n): room for n elements in all, without growing again.
 * - vector_append(v, entry): copy *entry to the end.
 * - vector_append_entry(v, &ret): a new element at the end, uninitialized,
 *   *ret pointing to it.
 * - vector_steal(v, &len_ret): hand the array (NULL when empty) and its
 *   length to the caller, who frees the array; v is left empty.
 *
 * All that can fail return struct ch_error * (NULL on success, &ch_enomem).
 */
#define DEFINE_VECTOR(vector, entry_type)					\
struct vector {									\
	entry_type *data;							\
	size_t len;								\
	size_t capacity;							\
};										\
										\
__attribute__((unused))								\
static inline void vector##_init(struct vector *v)				\
{										\
	*v = (struct vector){ 0 };						\
}										\
										\
__attribute__((unused))								\
static inline void vector##_deinit(struct vector *v)				\
{										\
	free(v->data);								\
	*v = (struct vector){ 0 };						\
}										\
										\
__attribute__((unused))								\
static inline struct ch_error *vector##_reserve(struct vector *v, size_t n)	\
{										\
	return ch_vector_reserve((void **)&v->data, &v->capacity,		\
				 sizeof(*v->data), n);				\
}										\
										\
__attribute__((unused))								\
static inline struct ch_error *vector##_append_entry(struct vector *v,		\
						     entry_type **ret)		\
{										\
	struct ch_error *err = ch_vector_reserve_one((void **)&v->data,	\
						     &v->capacity,		\
						     sizeof(*v->data),		\
						     v->len);			\
										\
	if (err)								\
		return err;							\
	*ret = &v->data[v->len++];						\
	return NULL;								\
}										\
										\
__attribute__((unused))								\
static inline struct ch_error *vector##_append(struct vector *v,		\
					       const entry_type *entry)		\
{										\
	entry_type *slot = NULL;						\
	struct ch_error *err = vector##_append_entry(v, &slot);		\
										\
	if (err)								\
		return err;							\
	*slot = *entry;								\
	return NULL;								\
}										\
										\
__attribute__((unused))								\
static inline entry_type *vector##_steal(struct vector *v, size_t *len_ret)	\
{										\
	entry_type *data = v->data;						\
										\
	*len_ret = v->len;							\
	*v = (struct vector){ 0 };						\
	return data;								\
}										\
struct vector

#endif /* COREHEAP_VECTOR_H */
