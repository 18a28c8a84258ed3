/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Two halves of a piece of work on the two threads a pass can use: the
 * caller's and one made for the second half.
 */
#ifndef COREHEAP_THREAD_PAIR_H
#define COREHEAP_THREAD_PAIR_H

#include <pthread.h>
#include <stddef.h>

/**
 * Run fn(first) on this thread and fn(second) on a thread of its own, at
 * once, and return when both are done. With second NULL, or when no
 * thread can be made, both run here one after the other: the halves are
 * independent, so the result is the same.
 */
static inline void ch_run_pair(void *(*fn)(void *), void *first, void *second)
{
	pthread_t thread;

	if (second && pthread_create(&thread, NULL, fn, second) == 0) {
		fn(first);
		pthread_join(thread, NULL);
		return;
	}
	fn(first);
	if (second)
		fn(second);
}

#endif /* COREHEAP_THREAD_PAIR_H */
