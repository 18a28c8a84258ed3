// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/large_alloc.h"
#include "base/prefault.h"

struct ch_prefault {
	pthread_t thread;
	/** Held while the thread touches the mapping, and to change it. */
	pthread_mutex_t lock;
	pthread_cond_t more;
	/** The array's first whole page, and the bytes of the array before it. */
	char *base;
	size_t offset;
	size_t capacity;
	/** Bytes the filling thread wrote, and from base faulted in. */
	size_t filled, faulted;
	size_t page;
	bool stop;
};

// The array at base of capacity bytes: madvise() starts on a page.
static void place(struct ch_prefault *prefault, void *base, size_t capacity)
{
	uintptr_t start = ch_page_up((uintptr_t)base);

	prefault->offset = start - (uintptr_t)base;
	prefault->base = (char *)start;
	prefault->capacity = capacity > prefault->offset ?
				     capacity - prefault->offset : 0;
}

// The array's first bytes as the bytes from its first whole page.
static size_t past_offset(const struct ch_prefault *prefault, size_t bytes)
{
	return bytes > prefault->offset ? bytes - prefault->offset : 0;
}

/*
 * A huge page at a time: the filling thread waits at most that long to
 * pause the thread. A system that cannot populate ends it: the filling
 * thread takes its own faults.
 */
static void *prefault_run(void *arg)
{
	struct ch_prefault *prefault = arg;

	pthread_mutex_lock(&prefault->lock);
	while (!prefault->stop) {
		size_t want = prefault->filled + CH_PREFAULT_LEAD, step;
		size_t written = prefault->filled & ~(CH_HUGE_PAGE_SIZE - 1);

		if (want > prefault->capacity)
			want = prefault->capacity;
		// The mapping ends on a page boundary; madvise starts on one.
		want = (want + prefault->page - 1) & ~(prefault->page - 1);
		if (prefault->faulted < written)
			prefault->faulted = written;
		if (prefault->faulted >= want) {
			pthread_cond_wait(&prefault->more, &prefault->lock);
			continue;
		}
		step = want - prefault->faulted;
		if (step > CH_HUGE_PAGE_SIZE)
			step = CH_HUGE_PAGE_SIZE;
		if (!ch_populate(prefault->base + prefault->faulted, step))
			break;
		prefault->faulted += step;
	}
	pthread_mutex_unlock(&prefault->lock);
	return NULL;
}

struct ch_prefault *ch_prefault_start(void *base, size_t capacity,
				      size_t filled)
{
	struct ch_prefault *prefault = malloc(sizeof(*prefault));

	if (!prefault)
		return NULL;
	*prefault = (struct ch_prefault){
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.more = PTHREAD_COND_INITIALIZER,
		.page = (size_t)sysconf(_SC_PAGESIZE),
	};
	place(prefault, base, capacity);
	prefault->filled = past_offset(prefault, filled);
	if (pthread_create(&prefault->thread, NULL, prefault_run, prefault)) {
		free(prefault);
		return NULL;
	}
	return prefault;
}

void ch_prefault_progress(struct ch_prefault *prefault, size_t filled)
{
	// Busy: it is faulting in, and will see a later call's progress.
	if (!prefault || pthread_mutex_trylock(&prefault->lock))
		return;
	prefault->filled = past_offset(prefault, filled);
	pthread_cond_signal(&prefault->more);
	pthread_mutex_unlock(&prefault->lock);
}

void ch_prefault_pause(struct ch_prefault *prefault)
{
	if (prefault)
		pthread_mutex_lock(&prefault->lock);
}

void ch_prefault_resume(struct ch_prefault *prefault, void *base,
			size_t capacity)
{
	if (!prefault)
		return;
	place(prefault, base, capacity);
	pthread_cond_signal(&prefault->more);
	pthread_mutex_unlock(&prefault->lock);
}

void ch_prefault_stop(struct ch_prefault *prefault, size_t filled)
{
	size_t keep;

	if (!prefault)
		return;
	pthread_mutex_lock(&prefault->lock);
	prefault->stop = true;
	pthread_cond_signal(&prefault->more);
	pthread_mutex_unlock(&prefault->lock);
	pthread_join(prefault->thread, NULL);
	// What was faulted in past the huge page of the last byte written
	// goes back: the lead is not to stay as the array's peak memory.
	keep = ch_huge_page_up((uintptr_t)prefault->base +
			       past_offset(prefault, filled)) -
	       (uintptr_t)prefault->base;
	if (prefault->faulted > keep)
		madvise(prefault->base + keep, prefault->faulted - keep,
			MADV_DONTNEED);
	free(prefault);
}
