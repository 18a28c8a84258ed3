// SPDX-License-Identifier: MIT
// Pages given back in batches: a range reads zeroes once its batch is
// flushed (by the call, or by the batch filling up), not before; only the
// whole pages inside a range go, and the bytes around them are kept.
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "all_bytes.h"
#include "base/page_release.h"

static size_t page(void)
{
	return (size_t)getpagesize();
}

// How many of the pages of [p, p + size) are in memory.
static size_t resident_pages(void *p, size_t size)
{
	unsigned char in_core[256];
	size_t pages = size / page(), resident = 0;

	cr_assert(pages <= sizeof(in_core));
	cr_assert(mincore(p, size, in_core) == 0);
	for (size_t i = 0; i < pages; i++)
		resident += in_core[i] & 1;
	return resident;
}

// pages small pages, each written with its number + 1.
static uint8_t *written_pages(size_t pages)
{
	uint8_t *p = mmap(NULL, pages * page(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(p != MAP_FAILED);
	// Small pages: mincore() then counts each page given back.
	madvise(p, pages * page(), MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		memset(p + i * page(), (int)(i + 1), page());
	return p;
}

Test(page_release, a_flushed_range_reads_zeroes_and_leaves_memory)
{
	struct ch_page_release release = { .len = 0 };
	uint8_t *p = written_pages(8);

	// Pages 1 and 2, and 5.
	ch_page_release_add(&release, p + page(), 2 * page());
	ch_page_release_add(&release, p + 5 * page(), page());
	cr_expect_eq(release.len, 2);
	// Not before the flush.
	cr_expect(all_bytes(p + page(), page(), 2));
	ch_page_release_flush(&release);
	cr_expect_eq(release.len, 0);
	cr_expect_eq(resident_pages(p, 8 * page()), 5);
	cr_expect(all_bytes(p + page(), 2 * page(), 0));
	cr_expect(all_bytes(p + 5 * page(), page(), 0));
	for (size_t i = 0; i < 8; i++) {
		if (i != 1 && i != 2 && i != 5)
			cr_expect(all_bytes(p + i * page(), page(),
					    (uint8_t)(i + 1)),
				  "page %zu kept", i);
	}
	munmap(p, 8 * page());
}

Test(page_release, only_whole_pages_go)
{
	struct ch_page_release release = { .len = 0 };
	uint8_t *p = written_pages(4);

	// From the middle of page 0 to the middle of page 3: pages 1 and 2.
	ch_page_release_add(&release, p + page() / 2, 3 * page());
	// Inside one page: nothing.
	ch_page_release_add(&release, p + 3 * page() + 10, page() - 20);
	cr_expect_eq(release.len, 1);
	ch_page_release_flush(&release);
	cr_expect(all_bytes(p, page(), 1));
	cr_expect(all_bytes(p + page(), 2 * page(), 0));
	cr_expect(all_bytes(p + 3 * page(), page(), 4));
	munmap(p, 4 * page());
}

Test(page_release, a_full_batch_gives_itself_back)
{
	struct ch_page_release release = { .len = 0 };
	size_t pages = CH_PAGE_RELEASE_RANGES + 2;
	uint8_t *p = written_pages(pages);

	// Every page but the first and the last, one range each.
	for (size_t i = 1; i + 1 < pages; i++)
		ch_page_release_add(&release, p + i * page(), page());
	cr_expect_eq(release.len, 0);
	cr_expect_eq(resident_pages(p, pages * page()), 2);
	cr_expect(all_bytes(p, page(), 1));
	cr_expect(all_bytes(p + page(), (pages - 2) * page(), 0));
	cr_expect(all_bytes(p + (pages - 1) * page(), page(), (uint8_t)pages));
	munmap(p, pages * page());
}

Test(page_release, nothing_to_give_back_is_no_call)
{
	struct ch_page_release release = { .len = 0 };

	ch_page_release_add(&release, NULL, 4 * page());
	cr_expect_eq(release.len, 0);
	ch_page_release_flush(&release);
	cr_expect_eq(release.len, 0);
}

// A child forked after the parent gave pages back in a batch gives back its
// own pages, never the parent's: the pidfd it inherited names the parent,
// which the kernel refuses such advice for, and the batch falls back to
// madvise().
Test(page_release, a_forked_child_gives_back_its_own_pages)
{
	struct ch_page_release release = { .len = 0 };
	uint8_t *p = written_pages(4);
	pid_t child;
	int status;

	ch_page_release_add(&release, p, page());
	ch_page_release_flush(&release);
	cr_assert(all_bytes(p, page(), 0));
	child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		ch_page_release_add(&release, p + page(), page());
		ch_page_release_flush(&release);
		_exit(all_bytes(p + page(), page(), 0) ? 0 : 1);
	}
	cr_assert(waitpid(child, &status, 0) == child);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	// The parent's page 1 is as it wrote it.
	cr_expect(all_bytes(p + page(), page(), 2));
	munmap(p, 4 * page());
}
