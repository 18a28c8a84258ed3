// SPDX-License-Identifier: MIT
/*
 * A process of many threads (default 4,000), as a server with a large
 * pool has: each thread holds a list of NODES small allocations through a
 * local of its frame only, and waits. What it measures is the cost of the
 * threads themselves (their notes, stacks and frames), not of the heap.
 * Prints "ready" when every thread holds its list, then waits to be
 * dumped with gcore.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_liveset.h"

#define NODES 25
#define STACK_SIZE (64 << 10)

struct node {
	struct node *next;
	size_t payload[5];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_parked = PTHREAD_COND_INITIALIZER;
static size_t parked;
// Never set: it keeps each frame's list alive to the compiler.
static volatile int stop;

// How many blocks the threads hold.
static void write_live_count(size_t count)
{
	char line[64];

	snprintf(line, sizeof(line), "# %zu blocks held by threads\n", count);
	bench_write_liveset(line);
}

// The list is in this frame (slot) while the thread waits.
static __attribute__((noinline)) size_t park(struct node **slot)
{
	size_t length = 0;

	pthread_mutex_lock(&lock);
	parked++;
	pthread_cond_signal(&all_parked);
	pthread_mutex_unlock(&lock);
	while (!stop)
		pause();
	for (struct node *n = *slot; n; n = n->next)
		length++;
	return length;
}

static void *worker(void *arg)
{
	struct node *head = NULL;

	(void)arg;
	for (int i = 0; i < NODES; i++) {
		struct node *n = malloc(sizeof(*n));

		if (!n)
			exit(1);
		n->next = head;
		head = n;
	}
	return (void *)park(&head);
}

int main(int argc, char **argv)
{
	size_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (size_t i = 0; i < count; i++) {
		pthread_t thread;

		if (pthread_create(&thread, &attr, worker, NULL) != 0) {
			fprintf(stderr, "bench_threads: thread %zu not created\n", i);
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (parked < count)
		pthread_cond_wait(&all_parked, &lock);
	pthread_mutex_unlock(&lock);
	write_live_count(count * NODES);
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;)
		pause();
}
