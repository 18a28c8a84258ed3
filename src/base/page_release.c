// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/large_alloc.h"
#include "base/page_release.h"

/*
 * The process's own pidfd, which process_madvise() names it by, or -1
 * where there is none. Opened once and kept for the life of the process:
 * it costs one descriptor. A child forked after it was opened names its
 * parent with it: for another process the kernel takes only advice that
 * loses nothing (EINVAL here), and the child gives back its pages with
 * madvise().
 */
static int own_pidfd = -1;
static pthread_once_t own_pidfd_once = PTHREAD_ONCE_INIT;
// Cleared for good once the kernel refused a batch.
static bool batches_work = true;

static void open_own_pidfd(void)
{
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
	own_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
#endif
}

// Give back the batch with one call: false when the kernel did not take
// all of it (it may have taken part: giving back twice does no harm).
static bool release_together(const struct ch_page_release *release)
{
#ifdef SYS_process_madvise
	size_t total = 0;
	long advised;

	if (!__atomic_load_n(&batches_work, __ATOMIC_RELAXED))
		return false;
	pthread_once(&own_pidfd_once, open_own_pidfd);
	if (own_pidfd < 0)
		return false;
	for (size_t k = 0; k < release->len; k++)
		total += release->ranges[k].iov_len;
	advised = syscall(SYS_process_madvise, own_pidfd, release->ranges,
			  release->len, MADV_DONTNEED, 0);
	if (advised < 0 && (errno == EINVAL || errno == ENOSYS ||
			    errno == EPERM || errno == EBADF))
		__atomic_store_n(&batches_work, false, __ATOMIC_RELAXED);
	return advised >= 0 && (size_t)advised == total;
#else
	(void)release;
	return false;
#endif
}

void ch_page_release_flush(struct ch_page_release *release)
{
	if (release->len && !release_together(release)) {
		for (size_t k = 0; k < release->len; k++)
			madvise(release->ranges[k].iov_base,
				release->ranges[k].iov_len, MADV_DONTNEED);
	}
	release->len = 0;
}

void ch_page_release_add(struct ch_page_release *release, void *p,
			 size_t size)
{
	uintptr_t start, end;

	if (!ch_whole_pages(p, size, &start, &end))
		return;
	release->ranges[release->len++] = (struct iovec){
		.iov_base = (void *)start,
		.iov_len = end - start,
	};
	if (release->len == CH_PAGE_RELEASE_RANGES)
		ch_page_release_flush(release);
}
