## The diff and triage reports: a heap at two moments (fixtures/diff_growth)
## for diff, the damaged heaps of fixtures/damage.mk for triage.
check_PROGRAMS += fixtures/diff_growth
fixtures_diff_growth_SOURCES = fixtures/diff_growth.c
fixtures_diff_growth_CFLAGS = $(FIXTURE_CFLAGS)
fixtures_diff_growth_LDFLAGS = $(FIXTURE_LINK_FLAGS)

TESTS += tests/diff-cli.sh tests/triage-cli.sh tests/many-threads.sh \
	tests/jemalloc-damage.sh tests/jemalloc-cli.sh tests/jemalloc-prof.sh tests/jemalloc-source.sh
EXTRA_DIST += tests/diff-cli.sh tests/triage-cli.sh tests/many-threads.sh \
	tests/jemalloc-damage.sh tests/jemalloc-cli.sh tests/jemalloc-prof.sh tests/jemalloc-source.sh
# coreheap report's HTML page, opened in headless Chromium.
TESTS += tests/report-html.sh
EXTRA_DIST += tests/report-html.sh
