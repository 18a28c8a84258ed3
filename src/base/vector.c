// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>

#include "base/vector.h"

struct ch_error *ch_vector_reserve(void **data, size_t *capacity,
				   size_t elem_size, size_t need)
{
	size_t new_capacity;
	void *grown;

	if (need <= *capacity)
		return NULL;
	// Doubling keeps n appends O(n); a capacity of twice a huge one that
	// would wrap falls back to exactly what was asked for.
	new_capacity = *capacity > SIZE_MAX / 2 ? need : 2 * *capacity;
	if (new_capacity < CH_VECTOR_MIN_CAPACITY)
		new_capacity = CH_VECTOR_MIN_CAPACITY;
	if (new_capacity < need)
		new_capacity = need;
	if (elem_size && new_capacity > SIZE_MAX / elem_size)
		return &ch_enomem;
	grown = realloc(*data, new_capacity * elem_size);
	if (!grown)
		return &ch_enomem;
	*data = grown;
	*capacity = new_capacity;
	return NULL;
}
