// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <time.h>

#include "base/progress.h"

static struct {
	bool enabled;
	const char *stage;
	uint64_t total, done;
	/** When the line was last written, in ms; a writer holds busy. */
	uint64_t last_ms;
	int last_percent;
	bool busy, shown;
} progress;

static _Thread_local bool thread_muted;

void ch_progress_enable(bool enabled)
{
	progress.enabled = enabled;
}

bool ch_progress_enabled(void)
{
	return progress.enabled && !thread_muted;
}

void ch_progress_mute_thread(bool muted)
{
	thread_muted = muted;
}

bool ch_progress_thread_muted(void)
{
	return thread_muted;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ch_progress_start(const char *stage, uint64_t total)
{
	if (!ch_progress_enabled())
		return;
	progress.stage = stage;
	progress.total = total ? total : 1;
	__atomic_store_n(&progress.done, 0, __ATOMIC_RELAXED);
	progress.last_percent = -1;
	progress.last_ms = 0;
}

void ch_progress_add(uint64_t done)
{
	uint64_t sum, ms;
	int percent;

	if (!ch_progress_enabled() || !progress.stage)
		return;
	sum = __atomic_add_fetch(&progress.done, done, __ATOMIC_RELAXED);
	percent = sum >= progress.total ? 100 : (int)(sum * 100 / progress.total);
	if (percent == __atomic_load_n(&progress.last_percent, __ATOMIC_RELAXED))
		return;
	ms = now_ms();
	if (ms - __atomic_load_n(&progress.last_ms, __ATOMIC_RELAXED) < 100 ||
	    __atomic_exchange_n(&progress.busy, true, __ATOMIC_ACQUIRE))
		return;
	progress.last_ms = ms;
	progress.last_percent = percent;
	progress.shown = true;
	fprintf(stderr, "\rcoreheap: %s %3d%%\033[K", progress.stage, percent);
	fflush(stderr);
	__atomic_store_n(&progress.busy, false, __ATOMIC_RELEASE);
}

void ch_progress_end(void)
{
	if (!ch_progress_enabled())
		return;
	if (progress.shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	progress.stage = NULL;
	progress.shown = false;
}
